/*
 * cmd_run.c - ignitectl run: build the spec, start the run, print its id,
 * and with --follow watch it to the end.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"

/* Options are numbered from OPT_BASE so that a val names its entry. */
#define OPT_BASE 256
static const struct option opts[] = {
	{ "spec", required_argument, NULL, OPT_BASE + 0 },
	{ "from-state", required_argument, NULL, OPT_BASE + 1 },
	{ "follow", no_argument, NULL, OPT_BASE + 2 },
	/* The rest shape the spec (spec.c). */
	{ "engine", required_argument, NULL, OPT_BASE + 3 },
	{ "name", required_argument, NULL, OPT_BASE + 4 },
	{ "data", required_argument, NULL, OPT_BASE + 5 },
	{ "max-epochs", required_argument, NULL, OPT_BASE + 6 },
	{ "epoch-length", required_argument, NULL, OPT_BASE + 7 },
	{ "seed", required_argument, NULL, OPT_BASE + 8 },
	{ "checkpoint-every", required_argument, NULL, OPT_BASE + 9 },
	{ "checkpoint-seconds", required_argument, NULL, OPT_BASE + 10 },
	{ "param", required_argument, NULL, OPT_BASE + 11 },
	{ "metric", required_argument, NULL, OPT_BASE + 12 },
	{ "handler", required_argument, NULL, OPT_BASE + 13 },
	{ "batch-size", required_argument, NULL, OPT_BASE + 14 },
	{ "shuffle", no_argument, NULL, OPT_BASE + 15 },
	{ "no-header", no_argument, NULL, OPT_BASE + 16 },
	{ "split", required_argument, NULL, OPT_BASE + 17 },
	{ "label", required_argument, NULL, OPT_BASE + 18 },
	{ "gpus", required_argument, NULL, OPT_BASE + 19 },
	{ "cpus", required_argument, NULL, OPT_BASE + 20 },
	{ "priority", required_argument, NULL, OPT_BASE + 21 },
	{ "preemptible", no_argument, NULL, OPT_BASE + 22 },
	{ "tag", required_argument, NULL, OPT_BASE + 23 },
	{ "from", required_argument, NULL, OPT_BASE + 24 },
	{ "slurm", required_argument, NULL, OPT_BASE + 25 },
	{ NULL, 0, NULL, 0 },
};
#define NOPTS (sizeof opts / sizeof opts[0] - 1)

/* --from RUN[@ITERATION] as run's from: {id, iteration?}; RUN is an id or
 * a name. */
static int
set_from(json_t *spec, const char *arg, ig_err *err)
{
	const char *at = strrchr(arg, '@');
	size_t len = at != NULL ? (size_t)(at - arg) : strlen(arg);
	char run[IG_NAME_MAX + 1], *end;
	json_t *from;
	long long v;

	if (len == 0 || len > IG_NAME_MAX)
		return ig_err_set(err, CTL_EUSAGE,
		    "--from %s: expected RUN or RUN@ITERATION", arg);
	memcpy(run, arg, len);
	run[len] = '\0';
	errno = 0;
	v = strtoll(run, &end, 10);
	from = *end == '\0' && errno == 0 && v > 0 ?
	    json_pack("{s:I}", "id", (json_int_t)v) :
	    json_pack("{s:s}", "id", run);
	if (from == NULL)
		return ig_err_set(err, CTL_ELOCAL, "out of memory");
	if (at != NULL) {
		errno = 0;
		v = strtoll(at + 1, &end, 10);
		if (at[1] == '\0' || *end != '\0' || errno != 0 || v < 0) {
			json_decref(from);
			return ig_err_set(err, CTL_EUSAGE,
			    "--from %s: ITERATION must be a number >= 0 "
			    "(ignitectl checkpoints RUN lists them)",
			    arg);
		}
		json_object_set_new(from, "iteration", json_integer(v));
	}
	if (json_object_set_new(spec, "from", from) != 0)
		return ig_err_set(err, CTL_ELOCAL, "out of memory");
	return CTL_OK;
}

/* Send the spec, and print the answer; *id from it. */
static int
start(struct ctl *ctl, const json_t *spec, int64_t *id)
{
	const msgpack_object *res, *o;
	int rc;

	if ((rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	json_to_msgpack(conn_begin(ctl->conn, "run"), spec);
	if ((rc = conn_call(ctl->conn, &res, &ctl->e)) != CTL_OK)
		return rc;
	if ((o = ig_map_get(res, "id")) == NULL ||
	    o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return ig_err_set(&ctl->e, CTL_EUNAVAILABLE,
		    "the daemon's "
		    "answer to run has no id");
	*id = (int64_t)o->via.u64;
	rc = ctl->output->started(ctl, res, *id);
	fflush(ctl->out);
	return rc;
}

int
cmd_run(struct ctl *ctl, int argc, char **argv)
{
	struct spec_flag *flags;
	const char *spec_path = NULL, *state_path = NULL, *from = NULL;
	char cwd[PATH_MAX], idtext[32];
	bool follow = false;
	size_t nflags = 0;
	json_t *spec;
	int64_t id = 0;
	int c, rc;

	/* At most one flag per argument. */
	if ((flags = calloc((size_t)argc, sizeof *flags)) == NULL)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	while ((c = ctl_getopt(ctl, argc, argv, opts, &rc)) != -1) {
		if (c == CTL_OPT_DONE)
			goto out;
		switch (c - OPT_BASE) {
		case 0:
			spec_path = optarg;
			break;
		case 1:
			state_path = optarg;
			break;
		case 2:
			follow = true;
			break;
		case 24:
			from = optarg;
			break;
		default:
			flags[nflags++] =
			    (struct spec_flag){ opts[c - OPT_BASE].name,
				    optarg };
			break;
		}
	}
	if ((rc = ctl_operands(ctl, argc, argv, 0)) != CTL_OK)
		goto out;
	if (spec_path == NULL && nflags == 0) {
		rc = ctl_usage(ctl,
		    "give --spec FILE.json or --engine and "
		    "friends; see ignitectl run --help");
		goto out;
	}
	if (getcwd(cwd, sizeof cwd) == NULL) {
		rc = ig_err_set(
		    &ctl->e, CTL_ELOCAL, "getcwd: %s", strerror(errno));
		goto out;
	}
	if ((rc = spec_build(spec_path, flags, nflags, state_path, cwd, &spec,
	         &ctl->e)) != CTL_OK)
		goto out;
	if (from != NULL && (rc = set_from(spec, from, &ctl->e)) != CTL_OK) {
		json_decref(spec);
		goto out;
	}
	rc = start(ctl, spec, &id);
	json_decref(spec);
	if (rc == CTL_OK && follow) {
		snprintf(idtext, sizeof idtext, "%lld", (long long)id);
		rc = watch_run(ctl, idtext);
	}
out:
	free(flags);
	return rc;
}
