/*
 * launch_slurm.c - the Slurm launcher: sbatch, scontrol show job, scancel.
 *
 * The worker's command goes to sbatch as a script on its stdin, and the
 * address and secret in sbatch's environment, which sbatch hands to the
 * job (--export=ALL, its default): never on a command line, which every
 * user of the machine can read.  Accounting (sacct) needs slurmdbd, which
 * many clusters lack for their users, so a job is followed with
 * `scontrol show job`, which slurmctld answers for a while (MinJobAge)
 * after the job ended and then forgets it: an ended job either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launch/launch.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define ARGS_MAX 32

/* ---- commands run as the daemon ------------------------------------------- */

/* PATH and SLURM_CONF, the daemon's: what scontrol needs to find slurmctld. */
struct daemon_env {
	char path[4096], conf[4096];
	char *v[3];
};

static void
daemon_env(struct daemon_env *e)
{
	const char *path = getenv("PATH"), *conf = getenv("SLURM_CONF");
	size_t n = 0;

	snprintf(e->path, sizeof(e->path), "PATH=%s",
	    path != NULL ? path : DEFAULT_PATH);
	e->v[n++] = e->path;
	if (conf != NULL) {
		snprintf(e->conf, sizeof(e->conf), "SLURM_CONF=%s", conf);
		e->v[n++] = e->conf;
	}
	e->v[n] = NULL;
}

/* ---- submit ------------------------------------------------------------- */

/* s quoted for sh: 'it'\''s'. */
static int
put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s != '\0'; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	return fputc('\'', f) == EOF ? -1 : 0;
}

/* The batch script: the worker's argv, exec'd. */
static char *
script(const struct launch_req *req)
{
	const ig_strv *argv = &req->spec->engine.argv;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	fprintf(f, "#!/bin/sh\n# ignite run %lld: its worker dials back\nexec",
	    (long long)req->run);
	for (size_t i = 0; i < argv->n; i++) {
		fputc(' ', f);
		put_quoted(f, argv->v[i]);
	}
	fputc('\n', f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

struct submit {
	launch_submitted_fn *done;
	void *arg;
};

static void
on_sbatch(void *arg, int status, const char *out, const char *errout)
{
	struct submit *s = arg;
	char job[LAUNCH_JOB_MAX], why[512];
	size_t n = strspn(out, "0123456789");

	/* --parsable: "JOBID" or "JOBID;CLUSTER" */
	if (status == 0 && n > 0 && n < sizeof(job) &&
	    (out[n] == '\n' || out[n] == ';' || out[n] == '\0')) {
		snprintf(job, sizeof(job), "%.*s", (int)n, out);
		s->done(s->arg, job, NULL);
	} else {
		snprintf(why, sizeof(why), "sbatch %s: %.400s",
		    status < 0 ? "did not finish" : "failed",
		    errout[0] != '\0' ? errout : out);
		why[strcspn(why, "\n")] = '\0';
		s->done(s->arg, NULL, why);
	}
	free(s);
}

/* "--name=value" into buf, one of the argv's. */
static void
opt_str(
    char **v, size_t *n, char (*buf)[256], const char *name, const char *value)
{
	if (value == NULL)
		return;
	snprintf(buf[*n], sizeof(buf[0]), "--%s=%s", name, value);
	v[*n] = buf[*n];
	(*n)++;
}

static void
opt_int(char **v, size_t *n, char (*buf)[256], const char *name, int64_t value)
{
	char num[24];

	if (value == IG_NONE)
		return;
	snprintf(num, sizeof(num), "%lld", (long long)value);
	opt_str(v, n, buf, name, num);
}

static int
slurm_submit(uv_loop_t *loop, const struct launch_req *req,
    launch_submitted_fn *done, void *arg, ig_err *err)
{
	const ig_spec_slurm *sl = &req->spec->slurm;
	char buf[ARGS_MAX][256];
	char *v[ARGS_MAX + 1] = { "sbatch", "--parsable" }, **argv = v;
	size_t n = 2;
	struct submit *s;
	char *text;
	int rc;

	snprintf(buf[n], sizeof(buf[0]), "--job-name=ignite-run-%lld",
	    (long long)req->run);
	v[n] = buf[n];
	n++;
	snprintf(buf[n], sizeof(buf[0]), "--output=ignite-run-%lld-%%j.out",
	    (long long)req->run);
	v[n] = buf[n];
	n++;
	v[n++] = "--open-mode=append"; /* a requeued job adds to its file */
	opt_str(v, &n, buf, "partition", sl->partition);
	opt_str(v, &n, buf, "gres", sl->gres);
	opt_int(v, &n, buf, "nodes", sl->nodes);
	opt_int(v, &n, buf, "ntasks-per-node", sl->ntasks_per_node);
	opt_int(v, &n, buf, "cpus-per-task", sl->cpus_per_task);
	opt_str(v, &n, buf, "mem", sl->mem);
	opt_str(v, &n, buf, "time", sl->time);
	opt_str(v, &n, buf, "account", sl->account);
	opt_str(v, &n, buf, "qos", sl->qos);
	opt_str(v, &n, buf, "constraint", sl->constraint);
	v[n] = NULL;
	/* extra_args are any number: argv grows past the fixed ones */
	if (sl->extra_args.n > 0) {
		if ((argv = calloc(n + sl->extra_args.n + 1, sizeof(*argv))) ==
		    NULL)
			return ig_err_set(
			    err, IG_PROTO_INTERNAL, "out of memory");
		memcpy(argv, v, n * sizeof(*argv));
		memcpy(argv + n, sl->extra_args.v,
		    sl->extra_args.n * sizeof(*argv));
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (text = script(req)) == NULL) {
		free(s);
		if (argv != v)
			free(argv);
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	}
	s->done = done;
	s->arg = arg;
	rc = launch_command(loop, req, argv, req->env, text, on_sbatch, s, err);
	free(text);
	if (argv != v)
		free(argv);
	if (rc != 0)
		free(s);
	return rc;
}

/* ---- status ------------------------------------------------------------- */

struct status {
	launch_status_fn *done;
	void *arg;
};

/* The value of KEY= in scontrol's one-line record, up to the next space. */
static void
field(const char *rec, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = rec;

	buf[0] = '\0';
	while ((p = strstr(p, key)) != NULL) {
		if ((p == rec || p[-1] == ' ') && p[klen] == '=') {
			p += klen + 1;
			snprintf(buf, len, "%.*s", (int)strcspn(p, " \n"), p);
			return;
		}
		p += klen;
	}
}

static enum launch_phase
phase_of(const char *state)
{
	static const char *const waiting[] = { "PENDING", "REQUEUED",
		"REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED",
		"STOPPED", "SPECIAL_EXIT", NULL };
	/* COMPLETING may be a requeue on its way: not ended yet */
	static const char *const running[] = { "RUNNING", "CONFIGURING",
		"COMPLETING", "RESIZING", "SIGNALING", "STAGE_OUT", NULL };

	for (size_t i = 0; waiting[i] != NULL; i++)
		if (strcmp(state, waiting[i]) == 0)
			return LAUNCH_PENDING;
	for (size_t i = 0; running[i] != NULL; i++)
		if (strcmp(state, running[i]) == 0)
			return LAUNCH_RUNNING;
	return LAUNCH_ENDED;
}

static void
on_scontrol(void *arg, int status, const char *out, const char *errout)
{
	struct status *s = arg;
	struct launch_status st = { 0 };
	char why[512];

	if (status != 0 && strstr(errout, "Invalid job id") != NULL) {
		/* forgotten: it ended more than MinJobAge ago */
		st.phase = LAUNCH_ENDED;
		snprintf(st.state, sizeof(st.state), "UNKNOWN");
		snprintf(st.reason, sizeof(st.reason),
		    "slurmctld no longer knows the job");
		s->done(s->arg, &st, NULL);
	} else if (status != 0) {
		snprintf(why, sizeof(why), "scontrol show job: %.400s",
		    errout[0] != '\0' ? errout : "failed");
		why[strcspn(why, "\n")] = '\0';
		s->done(s->arg, NULL, why);
	} else {
		field(out, "JobState", st.state, sizeof(st.state));
		field(out, "Reason", st.reason, sizeof(st.reason));
		if (strcmp(st.reason, "None") == 0)
			st.reason[0] = '\0';
		st.phase = phase_of(st.state);
		s->done(s->arg, &st, NULL);
	}
	free(s);
}

static int
slurm_status(uv_loop_t *loop, const char *job, launch_status_fn *done,
    void *arg, ig_err *err)
{
	const struct launch_req req = { .cwd = "/" };
	char *argv[] = { "scontrol", "show", "job", "-o", (char *)job, NULL };
	struct daemon_env env;
	struct status *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	s->done = done;
	s->arg = arg;
	daemon_env(&env);
	if ((rc = launch_command(
	         loop, &req, argv, env.v, NULL, on_scontrol, s, err)) != 0)
		free(s);
	return rc;
}

/* ---- cancel ------------------------------------------------------------- */

static void
on_scancel(void *arg, int status, const char *out, const char *errout)
{
	(void)arg;
	(void)status;
	(void)out;
	(void)errout;
}

static int
slurm_cancel(
    uv_loop_t *loop, const struct launch_req *req, const char *job, ig_err *err)
{
	char *argv[] = { "scancel", (char *)job, NULL };

	return launch_command(
	    loop, req, argv, req->env, NULL, on_scancel, NULL, err);
}

const struct launcher launch_slurm = {
	.name = "slurm",
	.submit = slurm_submit,
	.status = slurm_status,
	.cancel = slurm_cancel,
};
