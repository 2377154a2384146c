/*
 * output_json.c - --json: one JSON document per answer, one line per
 * notification of watch, in ASCII (output.h).
 *
 * The keys printed here are an interface for scripts: add, never rename.
 */
#include "output.h"

/* Print one document (and a newline) and drop the reference. */
static int
json_print(struct ctl *ctl, json_t *j)
{
	int rc;

	if (j == NULL)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	/* ASCII only: what a worker wrote cannot reach a terminal raw, not
	 * even a C1 control, which JSON itself need not escape */
	rc = json_dumpf(
	    j, ctl->out, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
	json_decref(j);
	if (rc != 0 || fputc('\n', ctl->out) == EOF || fflush(ctl->out) != 0)
		return ig_err_set(
		    &ctl->e, CTL_ELOCAL, "cannot write the output");
	return CTL_OK;
}

/* ---- documents ---------------------------------------------------------- */

static json_t *
json_opt_int(int64_t v)
{
	return v == IG_NONE ? json_null() : json_integer(v);
}

static json_t *
json_opt_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
json_summary(const ig_summary *s)
{
	json_t *m = json_object(), *queue = json_null(), *tags = json_object();
	const char *status = ig_status_name(s->status);

	if (s->queue_position > 0)
		queue = json_pack_ex(NULL, 0, "{sI s:o}", "position",
		    (json_int_t)s->queue_position, "waiting_for",
		    json_opt_str(s->waiting_for));

	for (size_t i = 0; m != NULL && i < s->nmetrics; i++)
		if (json_object_set_new(m, s->metrics[i].name,
		        json_number(s->metrics[i].value)) != 0) {
			json_decref(m);
			m = NULL;
		}
	for (size_t i = 0; tags != NULL && i < s->ntags; i++)
		if (json_object_set_new(tags, s->tags[i].key,
		        json_string(s->tags[i].value)) != 0) {
			json_decref(tags);
			tags = NULL;
		}
	/* json_pack steals "o" references and fails whole on NULL. */
	return json_pack_ex(NULL, 0,
	    "{sI s:o sI s:o s:s sI s:o sI s:o s:o"
	    " s:o s:o s:o s:o s:o s:{sI sI s:o} sI s:o s:o s:o s:o}",
	    "id", (json_int_t)s->id, "name", json_opt_str(s->name), "owner",
	    (json_int_t)s->owner, "owner_name",
	    json_opt_str(owner_name(s->owner)), "status",
	    status != NULL ? status : "unknown", "epoch", (json_int_t)s->epoch,
	    "max_epochs", json_opt_int(s->max_epochs), "iteration",
	    (json_int_t)s->iteration, "epoch_length",
	    json_opt_int(s->epoch_length), "rate", json_real(s->rate),
	    "metrics", m, "reason", json_opt_str(s->reason), "created",
	    json_opt_int(s->created), "started", json_opt_int(s->started),
	    "finished", json_opt_int(s->finished), "resources", "gpus",
	    (json_int_t)s->gpus, "cpus", (json_int_t)s->cpus, "devices",
	    json_opt_str(s->devices), "priority", (json_int_t)s->priority,
	    "queue", queue, "tags", tags, "preempted_by",
	    json_opt_int(s->preempted_by > 0 ? s->preempted_by : IG_NONE),
	    "throttled", json_opt_str(s->throttled));
}

static json_t *
json_series(const ig_series *s, size_t n)
{
	json_t *o = json_object(), *a, *p;

	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if ((a = json_array()) == NULL ||
		    json_object_set_new(o, s[i].name, a) != 0)
			goto fail;
		for (size_t j = 0; j < s[i].n; j++) {
			const ig_point *pt = &s[i].points[j];
			p = json_pack_ex(NULL, 0, "{sI sI s:o s:o}", "epoch",
			    (json_int_t)pt->epoch, "iteration",
			    (json_int_t)pt->iteration, "time",
			    json_number(pt->time), "value",
			    json_number(pt->value));
			if (json_array_append_new(a, p) != 0)
				goto fail;
		}
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *
json_log_line(const ig_log_line *l)
{
	return json_pack_ex(NULL, 0, "{sI s:o s:s}", "id", (json_int_t)l->id,
	    "time", json_number(l->time), "message", l->message);
}

/* ---- the daemon --------------------------------------------------------- */

static int
json_ping(struct ctl *ctl, double ms)
{
	return json_print(ctl, json_pack("{sbsf}", "ok", 1, "latency_ms", ms));
}

static int
json_version(struct ctl *ctl)
{
	return json_print(ctl,
	    json_pack("{sssssi}", "client", "ignitectl " IGNITE_VERSION,
	        "daemon", conn_daemon(ctl->conn), "protocol",
	        IG_PROTO_VERSION));
}

static int
json_shutdown(struct ctl *ctl)
{
	return json_print(ctl, json_pack("{sb}", "ok", 1));
}

/* ---- runs --------------------------------------------------------------- */

/* The daemon's answer as it is. */
static int
json_answer(struct ctl *ctl, const msgpack_object *res)
{
	return json_print(ctl, json_from_msgpack(res));
}

static int
json_started(struct ctl *ctl, const msgpack_object *res, int64_t id)
{
	(void)id;
	return json_answer(ctl, res);
}

/* ls and logs gather an array, printed whole at the end. */
static int
json_list_start(struct ctl *ctl, void **list)
{
	(void)ctl;
	return (*list = json_array()) != NULL ? 0 : -1;
}

static int
json_ls_start(struct ctl *ctl, void **list, const struct ls_cols *cols)
{
	(void)cols;
	return json_list_start(ctl, list);
}

/* A summary, and with --metric its statistics: "stats" {last, min, min_at,
 * max, max_at, points}, null when the run has no points. */
static int
json_ls_row(
    struct ctl *ctl, void *list, const ig_summary *s, const struct mstats *st)
{
	json_t *j = json_summary(s), *stats;

	(void)ctl;
	if (j != NULL && st != NULL) {
		stats = st->n == 0 ?
		    json_null() :
		    json_pack_ex(NULL, 0, "{s:o s:o s:o s:o s:o s:I}", "last",
		        json_number(st->last), "min", json_number(st->min),
		        "min_at", json_opt_int(st->min_at), "max",
		        json_number(st->max), "max_at",
		        json_opt_int(st->max_at), "points", (json_int_t)st->n);
		if (json_object_set_new(j, "stats", stats) != 0) {
			json_decref(j);
			j = NULL;
		}
	}
	return json_array_append_new(list, j);
}

static int
json_ls_end(struct ctl *ctl, void *list, int status)
{
	if (status == CTL_OK)
		return json_print(ctl, json_pack("{so}", "runs", list));
	json_decref(list);
	return status;
}

/* top: the machine method's answer, with the running and queued runs'
 * summaries; a live top prints one such line a second. */
static json_t *
json_summaries(const ig_summary *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_summary(&v[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

static int
json_top(struct ctl *ctl, const struct top_frame *f)
{
	json_t *gpus = json_array();

	for (size_t i = 0; gpus != NULL && i < f->ngpus; i++) {
		const struct top_gpu *g = &f->gpus[i];
		json_t *run = g->run == IG_NONE ?
		    json_null() :
		    json_pack_ex(NULL, 0, "{sI s:o sI s:o}", "id",
		        (json_int_t)g->run, "name", json_opt_str(g->name),
		        "owner", (json_int_t)g->owner, "owner_name",
		        json_opt_str(owner_name(g->owner)));
		if (json_array_append_new(gpus,
		        json_pack_ex(NULL, 0, "{sI s:o s:o s:o s:o}", "index",
		            (json_int_t)g->index, "run", run, "utilization",
		            json_opt_int(g->util), "memory_used",
		            json_opt_int(g->mem_used), "memory_total",
		            json_opt_int(g->mem_total))) != 0) {
			json_decref(gpus);
			gpus = NULL;
		}
	}
	return json_print(ctl,
	    json_pack("{s:o s:{sI sI} s:o s:o}", "gpus", gpus, "cpus", "used",
	        (json_int_t)f->cpus_used, "total", (json_int_t)f->cpus_total,
	        "running", json_summaries(f->running, f->nrunning), "queued",
	        json_summaries(f->queued, f->nqueued)));
}

/* queue: ls's summaries, printed in their order. */
static int
json_queue_row(struct ctl *ctl, void *list, const ig_summary *s)
{
	return json_ls_row(ctl, list, s, NULL);
}

static int64_t
place_of(json_t *run)
{
	json_t *p = json_object_get(json_object_get(run, "queue"), "position");

	return json_is_integer(p) ? json_integer_value(p) : INT64_MAX;
}

static int
by_place(const void *a, const void *b)
{
	int64_t x = place_of(*(json_t *const *)a),
	        y = place_of(*(json_t *const *)b);

	return (x > y) - (x < y);
}

static int
json_queue_end(struct ctl *ctl, void *list, int status)
{
	size_t n = json_array_size(list);
	json_t **v, *sorted;

	if (status != CTL_OK) {
		json_decref(list);
		return status;
	}
	if ((v = calloc(n + 1, sizeof(*v))) == NULL ||
	    (sorted = json_array()) == NULL) {
		free(v);
		json_decref(list);
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(list, i);
	qsort(v, n, sizeof(*v), by_place);
	for (size_t i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(list);
	return json_print(ctl, json_pack("{so}", "queue", sorted));
}

static int
json_status(struct ctl *ctl, const ig_summary *s)
{
	return json_print(ctl, json_summary(s));
}

/* The state itself is the document: run --from-state takes it. */
static int
json_state(struct ctl *ctl, json_t *state)
{
	return json_print(ctl, state);
}

static int
json_logs_line(struct ctl *ctl, void *list, const ig_log_line *l)
{
	(void)ctl;
	return json_array_append_new(list, json_log_line(l));
}

/* {id, KEY: list}: logs' lines, checkpoints' checkpoints. */
static int
json_run_list(struct ctl *ctl, void *list, const msgpack_object *id,
    const char *key, int status)
{
	if (status == CTL_OK)
		return json_print(ctl,
		    json_pack(
		        "{s:o s:o}", "id", json_from_msgpack(id), key, list));
	json_decref(list);
	return status;
}

static int
json_logs_end(struct ctl *ctl, void *list, const msgpack_object *id, int status)
{
	return json_run_list(ctl, list, id, "lines", status);
}

static int
json_ckpts_row(struct ctl *ctl, void *list, const ig_ckpt_info *c)
{
	json_t *o = json_pack_ex(NULL, 0, "{sI sI sI s:o s:o s:o sb sb}",
	    "iteration", (json_int_t)c->iteration, "epoch",
	    (json_int_t)c->epoch, "size", (json_int_t)c->size, "time",
	    json_number(c->time), "score", json_number(c->score), "file",
	    c->file != NULL ? json_string(c->file) : json_null(), "last",
	    c->last, "best", c->best);

	(void)ctl;
	return json_array_append_new(list, o);
}

static int
json_ckpts_end(
    struct ctl *ctl, void *list, const msgpack_object *id, int status)
{
	return json_run_list(ctl, list, id, "checkpoints", status);
}

static int
json_action(struct ctl *ctl, const char *run, const char *done,
    const msgpack_object *res)
{
	(void)run;
	(void)done;
	return json_answer(ctl, res);
}

/* The spec as the daemon keeps it: run --spec takes it back. */
static int
json_spec(struct ctl *ctl, json_t *spec)
{
	return json_print(ctl, spec);
}

/* --csv and --plot are refused with --json (cmd_metrics.c).  One run: its
 * {id, axis, series}; several: {axis, runs: [{run, id, series}...]}. */
static int
json_metrics(struct ctl *ctl, const struct history *h, size_t n, enum maxis ax,
    enum mformat format)
{
	const char *axis = ax == AX_EPOCH ? "epoch" :
	    ax == AX_WALL                 ? "wall" :
	                                    "iteration";
	json_t *runs;

	(void)format;
	if (n == 1)
		return json_print(ctl,
		    json_pack("{s:I s:s s:o}", "id", (json_int_t)h->id, "axis",
		        axis, "series", json_series(h->s, h->n)));
	if ((runs = json_array()) == NULL)
		return json_print(ctl, NULL);
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(runs,
		        json_pack("{s:s s:I s:o}", "run", h[i].run, "id",
		            (json_int_t)h[i].id, "series",
		            json_series(h[i].s, h[i].n))) != 0) {
			json_decref(runs);
			return json_print(ctl, NULL);
		}
	return json_print(
	    ctl, json_pack("{s:s s:o}", "axis", axis, "runs", runs));
}

/* ---- watch: a line per notification ------------------------------------- */

static int
json_watch_quiet(struct ctl *ctl, struct view *v)
{
	(void)ctl;
	(void)v;
	return CTL_OK;
}

json_t *
json_note(const char *method, const msgpack_object *params,
    const ig_series *series, size_t nseries)
{
	json_t *j = json_from_msgpack(params);

	/* A metric batch's columns are binary: give them as points. */
	if (j != NULL && series != NULL &&
	    json_object_set_new(j, "series", json_series(series, nseries)) !=
	        0) {
		json_decref(j);
		j = NULL;
	}
	if (j != NULL &&
	    json_object_set_new(j, "type", json_string(method)) != 0) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static int
json_watch_note(struct ctl *ctl, struct view *v, enum note kind,
    const char *method, const msgpack_object *params, const ig_series *series,
    size_t nseries)
{
	(void)v;
	(void)kind;
	return json_print(ctl, json_note(method, params, series, nseries));
}

/* Asking found the run over: its final status, as the notification
 * would have said it. */
static int
json_watch_ended(struct ctl *ctl, struct view *v)
{
	return json_print(ctl,
	    json_pack("{s:s s:I s:s s:o}", "type", "status", "id",
	        (json_int_t)v->s.id, "status", ig_status_name(v->s.status),
	        "reason",
	        v->s.reason != NULL ? json_string(v->s.reason) : json_null()));
}

static int
json_dashboard(struct ctl *ctl, const char *url, int port)
{
	return json_print(
	    ctl, json_pack("{s:s s:i}", "url", url, "port", port));
}

const struct output output_json = {
	.ping = json_ping,
	.version = json_version,
	.shutdown = json_shutdown,
	.started = json_started,
	.ls_start = json_ls_start,
	.ls_row = json_ls_row,
	.ls_end = json_ls_end,
	.queue_start = json_list_start,
	.queue_row = json_queue_row,
	.queue_end = json_queue_end,
	.top = json_top,
	.status = json_status,
	.state = json_state,
	.spec = json_spec,
	.logs_start = json_list_start,
	.logs_line = json_logs_line,
	.logs_end = json_logs_end,
	.ckpts_start = json_list_start,
	.ckpts_row = json_ckpts_row,
	.ckpts_end = json_ckpts_end,
	.action = json_action,
	.metrics = json_metrics,
	.watch_begin = json_watch_quiet,
	.watch_show = json_watch_quiet,
	.watch_note = json_watch_note,
	.watch_ended = json_watch_ended,
	.dashboard = json_dashboard,
};
