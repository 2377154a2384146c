/*
 * cmd_runs.c - the commands about existing runs: ls, status, state, logs,
 * checkpoints, and the actions terminate, terminate-epoch, pause, resume,
 * rm.
 */
#include <string.h>
#include <time.h>

#include "output.h"

/* A result that is not what the protocol promises. */
static int
bad_reply(struct ctl *ctl, const char *method, const ig_err *why)
{
	return ig_err_set(&ctl->e, CTL_EUNAVAILABLE,
	    "the daemon's answer to "
	    "%s makes no sense: %s",
	    method, why != NULL ? why->message : "");
}

typedef int row_fn(struct ctl *, void *list, const ig_summary *);

/* Add the summaries of one page of list to out, the output's list. */
static int
ls_page(struct ctl *ctl, const msgpack_object *list, row_fn *row, void *out)
{
	ig_err e;
	int rc = CTL_OK;

	for (uint32_t k = 0; k < list->via.array.size && rc == CTL_OK; k++) {
		ig_summary s;

		if (ig_summary_unpack(&list->via.array.ptr[k], &s, &e) != 0)
			return bad_reply(ctl, "list", &e);
		if (row(ctl, out, &s) != 0)
			rc = ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
		ig_summary_clear(&s);
	}
	return rc;
}

/* Every run in one of the statuses want (none: all), page by page, each
 * from where the last one ended, through row. */
static int
list_runs(struct ctl *ctl, const char *const *want, size_t nwant, row_fn *row,
    void *out)
{
	const msgpack_object *res, *list, *next;
	msgpack_packer *pk;
	int64_t from = IG_NONE;
	int rc;

	do {
		pk = conn_begin(ctl->conn, "list");
		msgpack_pack_map(pk, (nwant > 0) + (from != IG_NONE));
		if (nwant > 0) {
			ig_pack_str(pk, "status");
			msgpack_pack_array(pk, nwant);
			for (size_t k = 0; k < nwant; k++)
				ig_pack_str(pk, want[k]);
		}
		if (from != IG_NONE) {
			ig_pack_str(pk, "from");
			msgpack_pack_int64(pk, from);
		}
		if ((rc = conn_call(ctl->conn, &res, &ctl->e)) != CTL_OK)
			break;
		list = ig_map_get(res, "runs");
		next = ig_map_get(res, "next");
		if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY ||
		    (next != NULL && next->type != MSGPACK_OBJECT_NIL &&
		        (next->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		            (int64_t)next->via.u64 <= from ||
		            next->via.u64 > INT64_MAX))) {
			rc = bad_reply(ctl, "list", NULL);
			break;
		}
		rc = ls_page(ctl, list, row, out);
		from = next != NULL && next->type != MSGPACK_OBJECT_NIL ?
		    (int64_t)next->via.u64 :
		    IG_NONE;
	} while (rc == CTL_OK && from != IG_NONE);
	return rc;
}

int
cmd_ls(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *want[IG_STATUS_COUNT];
	void *out;
	size_t nwant = 0;
	int c, i, rc;

	while ((c = ctl_getopt(ctl, argc, argv, opts, &rc)) != -1) {
		if (c == CTL_OPT_DONE)
			return rc;
		for (i = 0; i < IG_STATUS_COUNT; i++)
			if (strcmp(optarg, ig_status_names[i]) == 0)
				break;
		if (i == IG_STATUS_COUNT)
			return ctl_usage(ctl,
			    "--status %s: expected queued, "
			    "running, paused, completed, terminated or failed",
			    optarg);
		if (nwant < IG_STATUS_COUNT)
			want[nwant++] = ig_status_names[i];
	}
	if ((rc = ctl_operands(ctl, argc, argv, 0)) != CTL_OK ||
	    (rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	if (ctl->output->ls_start(ctl, &out) != 0)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	rc = list_runs(ctl, want, nwant, ctl->output->ls_row, out);
	return ctl->output->ls_end(ctl, out, rc);
}

int
cmd_queue(struct ctl *ctl, int argc, char **argv)
{
	const char *want[] = { "queued" };
	void *out;
	int rc;

	if ((rc = ctl_args(ctl, argc, argv, 0)) != CTL_CONTINUE ||
	    (rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	if (ctl->output->queue_start(ctl, &out) != 0)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	rc = list_runs(ctl, want, 1, ctl->output->queue_row, out);
	return ctl->output->queue_end(ctl, out, rc);
}

int
cmd_status(struct ctl *ctl, int argc, char **argv)
{
	const msgpack_object *res;
	ig_summary s;
	ig_err e;
	int rc;

	if ((rc = ctl_args(ctl, argc, argv, 1)) != CTL_CONTINUE)
		return rc;
	if ((rc = ctl_connect(ctl)) != CTL_OK ||
	    (rc = conn_call_run(
	         ctl->conn, "status", argv[optind], &res, &ctl->e)) != CTL_OK)
		return rc;
	if (ig_summary_unpack(res, &s, &e) != 0)
		return bad_reply(ctl, "status", &e);
	rc = ctl->output->status(ctl, &s);
	ig_summary_clear(&s);
	return rc;
}

int
cmd_state(struct ctl *ctl, int argc, char **argv)
{
	const msgpack_object *res;
	json_t *state;
	int rc;

	if ((rc = ctl_args(ctl, argc, argv, 1)) != CTL_CONTINUE)
		return rc;
	if ((rc = ctl_connect(ctl)) != CTL_OK ||
	    (rc = conn_call_run(ctl->conn, "state_dict", argv[optind], &res,
	         &ctl->e)) != CTL_OK)
		return rc;
	if (res->type != MSGPACK_OBJECT_MAP)
		return bad_reply(ctl, "state_dict", NULL);
	if ((state = json_from_msgpack(res)) == NULL)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	return ctl->output->state(ctl, state);
}

int
cmd_logs(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tail", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const msgpack_object *res, *lines;
	int64_t tail = 0;
	msgpack_packer *pk;
	void *out;
	int c, rc;
	ig_err e;

	while ((c = ctl_getopt(ctl, argc, argv, opts, &rc)) != -1) {
		if (c == CTL_OPT_DONE)
			return rc;
		if ((rc = ctl_number(
		         ctl, "--tail", optarg, 1, INT64_MAX, &tail)) != CTL_OK)
			return rc;
	}
	if ((rc = ctl_operands(ctl, argc, argv, 1)) != CTL_OK ||
	    (rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	pk = conn_begin(ctl->conn, "logs");
	msgpack_pack_map(pk, tail > 0 ? 2 : 1);
	ig_pack_str(pk, "id");
	conn_pack_run(pk, argv[optind]);
	if (tail > 0) {
		ig_pack_str(pk, "tail");
		msgpack_pack_int64(pk, tail);
	}
	if ((rc = conn_call(ctl->conn, &res, &ctl->e)) != CTL_OK)
		return rc;
	if ((lines = ig_map_get(res, "lines")) == NULL ||
	    lines->type != MSGPACK_OBJECT_ARRAY ||
	    ig_map_get(res, "id") == NULL)
		return bad_reply(ctl, "logs", NULL);
	if (ctl->output->logs_start(ctl, &out) != 0)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	for (uint32_t i = 0; i < lines->via.array.size && rc == CTL_OK; i++) {
		ig_log_line l;

		if (ig_log_line_unpack(&lines->via.array.ptr[i], &l, &e) != 0) {
			rc = bad_reply(ctl, "logs", &e);
			break;
		}
		if (ctl->output->logs_line(ctl, out, &l) != 0)
			rc = ig_err_set(&ctl->e, CTL_ELOCAL,
			    "out of memory, or "
			    "the output failed");
		ig_log_line_clear(&l);
	}
	return ctl->output->logs_end(ctl, out, ig_map_get(res, "id"), rc);
}

int
cmd_checkpoints(struct ctl *ctl, int argc, char **argv)
{
	const msgpack_object *res, *v;
	void *out;
	int rc;
	ig_err e;

	if ((rc = ctl_args(ctl, argc, argv, 1)) != CTL_CONTINUE)
		return rc;
	if ((rc = ctl_connect(ctl)) != CTL_OK ||
	    (rc = conn_call_run(ctl->conn, "checkpoints", argv[optind], &res,
	         &ctl->e)) != CTL_OK)
		return rc;
	if ((v = ig_map_get(res, "checkpoints")) == NULL ||
	    v->type != MSGPACK_OBJECT_ARRAY || ig_map_get(res, "id") == NULL)
		return bad_reply(ctl, "checkpoints", NULL);
	if (ctl->output->ckpts_start(ctl, &out) != 0)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	for (uint32_t i = 0; i < v->via.array.size && rc == CTL_OK; i++) {
		ig_ckpt_info ck;

		if (ig_ckpt_info_unpack(&v->via.array.ptr[i], &ck, &e) != 0) {
			rc = bad_reply(ctl, "checkpoints", &e);
			break;
		}
		if (ctl->output->ckpts_row(ctl, out, &ck) != 0)
			rc = ig_err_set(&ctl->e, CTL_ELOCAL,
			    "out of memory, or "
			    "the output failed");
		ig_ckpt_info_clear(&ck);
	}
	return ctl->output->ckpts_end(ctl, out, ig_map_get(res, "id"), rc);
}

/* ---- actions ------------------------------------------------------------ */

struct action {
	const char *method;
	const char *done; /* what happens now, for people */
	const char *ended; /* what happened, once waited for (NULL: no wait) */
};

static const struct action act_terminate = { "terminate",
	"stops after its current iteration",
	"stopped after its current iteration" },
                           act_terminate_epoch = { "terminate_epoch",
	                           "ends its epoch after the current iteration",
	                           NULL },
                           act_pause = { "pause",
	                           "pauses after its current iteration",
	                           "paused after its current iteration" },
                           act_resume = { "resume", "resumes", NULL },
                           act_rm = { "delete", "is deleted", NULL };

/* Whether res says the run is still running. */
static bool
still_running(const msgpack_object *res)
{
	const msgpack_object *st = ig_map_get(res, "status");

	return st != NULL && st->type == MSGPACK_OBJECT_STR &&
	    st->via.str.size == 7 && memcmp(st->via.str.ptr, "running", 7) == 0;
}

/*
 * Wait until the run named in res has stopped running: the daemon answers
 * terminate and pause at once, and the run stops after its current
 * iteration, which may be long with a worker.  Polls its status, a few
 * milliseconds apart at first.
 */
static int
wait_stopped(struct ctl *ctl, const msgpack_object **res)
{
	const msgpack_object *id = ig_map_get(*res, "id");
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	msgpack_packer *pk;
	int rc;

	if (id == NULL || id->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return CTL_OK;
	for (uint64_t n = id->via.u64; still_running(*res);) {
		nanosleep(&ts, NULL);
		if (ts.tv_nsec < 100 * 1000 * 1000)
			ts.tv_nsec *= 2;
		pk = conn_begin(ctl->conn, "status");
		msgpack_pack_map(pk, 1);
		ig_pack_str(pk, "id");
		msgpack_pack_uint64(pk, n);
		if ((rc = conn_call(ctl->conn, res, &ctl->e)) != CTL_OK)
			return rc;
	}
	return CTL_OK;
}

/* Send the action with params {id, max_epochs?} and say what it did; wait
 * for the run to stop first unless told not to. */
static int
act(struct ctl *ctl, const struct action *a, const char *run,
    int64_t max_epochs, bool wait)
{
	const msgpack_object *res;
	msgpack_packer *pk;
	int rc;

	if ((rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	pk = conn_begin(ctl->conn, a->method);
	msgpack_pack_map(pk, max_epochs > 0 ? 2 : 1);
	ig_pack_str(pk, "id");
	conn_pack_run(pk, run);
	if (max_epochs > 0) {
		ig_pack_str(pk, "max_epochs");
		msgpack_pack_int64(pk, max_epochs);
	}
	if ((rc = conn_call(ctl->conn, &res, &ctl->e)) != CTL_OK)
		return rc;
	if (wait && a->ended != NULL) {
		if ((rc = wait_stopped(ctl, &res)) != CTL_OK)
			return rc;
		return ctl->output->action(ctl, run, a->ended, res);
	}
	return ctl->output->action(ctl, run, a->done, res);
}

static int
simple_action(struct ctl *ctl, int argc, char **argv, const struct action *a)
{
	int rc;

	if ((rc = ctl_args(ctl, argc, argv, 1)) != CTL_CONTINUE)
		return rc;
	return act(ctl, a, argv[optind], 0, false);
}

/* terminate and pause: [--no-wait] RUN */
static int
stop_action(struct ctl *ctl, int argc, char **argv, const struct action *a)
{
	static const struct option opts[] = {
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	bool wait = true;
	int c, rc;

	while ((c = ctl_getopt(ctl, argc, argv, opts, &rc)) != -1) {
		if (c == CTL_OPT_DONE)
			return rc;
		wait = false;
	}
	if ((rc = ctl_operands(ctl, argc, argv, 1)) != CTL_OK)
		return rc;
	return act(ctl, a, argv[optind], 0, wait);
}

int
cmd_terminate(struct ctl *ctl, int argc, char **argv)
{
	return stop_action(ctl, argc, argv, &act_terminate);
}

int
cmd_terminate_epoch(struct ctl *ctl, int argc, char **argv)
{
	return simple_action(ctl, argc, argv, &act_terminate_epoch);
}

int
cmd_pause(struct ctl *ctl, int argc, char **argv)
{
	return stop_action(ctl, argc, argv, &act_pause);
}

int
cmd_rm(struct ctl *ctl, int argc, char **argv)
{
	return simple_action(ctl, argc, argv, &act_rm);
}

int
cmd_resume(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-epochs", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t max_epochs = 0;
	int c, rc;

	while ((c = ctl_getopt(ctl, argc, argv, opts, &rc)) != -1) {
		if (c == CTL_OPT_DONE)
			return rc;
		if ((rc = ctl_number(ctl, "--max-epochs", optarg, 1, INT64_MAX,
		         &max_epochs)) != CTL_OK)
			return rc;
	}
	if ((rc = ctl_operands(ctl, argc, argv, 1)) != CTL_OK)
		return rc;
	return act(ctl, &act_resume, argv[optind], max_epochs, false);
}
