/*
 * cmd_runs.c - the commands about existing runs: ls (filtered, sorted, with
 * a metric's statistics), queue, status, state, spec, logs, checkpoints,
 * and the actions terminate, terminate-epoch, pause, resume, rm.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* ---- ls ------------------------------------------------------------------ */

#define MAX_WHERE 16

struct ls_opts {
	const char *status[IG_STATUS_COUNT];
	size_t nstatus;
	struct ls_cols cols;
	const char *sort; /* a metric name, or NULL */
	size_t sort_len;
	bool desc;
	const char *where[MAX_WHERE]; /* KEY=VALUE, borrowed from argv */
	size_t nwhere;
};

/* A run as ls gathers it: sorted and filtered before it is shown. */
struct ls_run {
	ig_summary s;
	struct mstats st;
	json_t *spec; /* read once, when a --where needs its params */
	bool spec_read;
};

struct ls_list {
	struct ls_run *v;
	size_t n, cap;
};

static void
ls_list_free(struct ls_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		ig_summary_clear(&l->v[i].s);
		json_decref(l->v[i].spec);
	}
	free(l->v);
}

/* NAME[:SUFFIX] with SUFFIX one of a or b: *len is NAME's length, *second
 * whether SUFFIX is b.  -1 for another suffix. */
static int
name_suffix(
    const char *arg, const char *a, const char *b, size_t *len, bool *second)
{
	const char *colon = strrchr(arg, ':');

	*len = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
	*second = colon != NULL && strcmp(colon + 1, b) == 0;
	if (*len == 0)
		return -1;
	return colon == NULL || *second || strcmp(colon + 1, a) == 0 ? 0 : -1;
}

/* Returns CTL_CONTINUE, or the exit status (after --help too). */
static int
ls_parse(struct ctl *ctl, int argc, char **argv, struct ls_opts *o,
    char *metric, size_t metric_size)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "tags", no_argument, NULL, 'T' },
		{ "metric", required_argument, NULL, 'm' },
		{ "sort", required_argument, NULL, 'o' },
		{ "where", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	size_t len;
	int c, i, rc;

	memset(o, 0, sizeof *o);
	while ((c = ctl_getopt(ctl, argc, argv, opts, &rc)) != -1) {
		switch (c) {
		case CTL_OPT_DONE:
			return rc;
		case 's':
			for (i = 0; i < IG_STATUS_COUNT; i++)
				if (strcmp(optarg, ig_status_names[i]) == 0)
					break;
			if (i == IG_STATUS_COUNT)
				return ctl_usage(ctl,
				    "--status %s: expected queued, running, "
				    "paused, completed, terminated or failed",
				    optarg);
			if (o->nstatus < IG_STATUS_COUNT)
				o->status[o->nstatus++] = ig_status_names[i];
			break;
		case 'T':
			o->cols.tags = true;
			break;
		case 'm':
			if (name_suffix(optarg, "max", "min", &len,
			        &o->cols.lowest_best) != 0 ||
			    len >= metric_size)
				return ctl_usage(ctl,
				    "--metric %s: expected NAME, NAME:max or "
				    "NAME:min",
				    optarg);
			memcpy(metric, optarg, len);
			metric[len] = '\0';
			o->cols.metric = metric;
			break;
		case 'o':
			if (name_suffix(optarg, "asc", "desc", &o->sort_len,
			        &o->desc) != 0)
				return ctl_usage(ctl,
				    "--sort %s: expected NAME, NAME:asc or "
				    "NAME:desc",
				    optarg);
			o->sort = optarg;
			break;
		case 'w':
			if (strchr(optarg, '=') == NULL || optarg[0] == '=')
				return ctl_usage(ctl,
				    "--where %s: expected KEY=VALUE", optarg);
			if (o->nwhere == MAX_WHERE)
				return ctl_usage(
				    ctl, "more than %d --where", MAX_WHERE);
			o->where[o->nwhere++] = optarg;
			break;
		}
	}
	/* what is filtered on is shown */
	o->cols.tags |= o->nwhere > 0;
	rc = ctl_operands(ctl, argc, argv, 0);
	return rc == CTL_OK ? CTL_CONTINUE : rc;
}

/* Add the summaries of one page of list to l. */
static int
ls_page(struct ctl *ctl, const msgpack_object *list, struct ls_list *l)
{
	ig_err e;

	for (uint32_t k = 0; k < list->via.array.size; k++) {
		if (l->n == l->cap) {
			size_t cap = l->cap == 0 ? 64 : 2 * l->cap;
			struct ls_run *v = realloc(l->v, cap * sizeof *v);
			if (v == NULL)
				return ig_err_set(
				    &ctl->e, CTL_ELOCAL, "out of memory");
			l->v = v;
			l->cap = cap;
		}
		memset(&l->v[l->n], 0, sizeof l->v[l->n]);
		if (ig_summary_unpack(
		        &list->via.array.ptr[k], &l->v[l->n].s, &e) != 0)
			return bad_reply(ctl, "list", &e);
		l->n++;
	}
	return CTL_OK;
}

/* Every run the list method gives, page by page. */
static int
ls_fetch(struct ctl *ctl, const struct ls_opts *o, struct ls_list *l)
{
	const msgpack_object *res, *list, *next;
	msgpack_packer *pk;
	int64_t from = IG_NONE;
	int rc;

	do {
		pk = conn_begin(ctl->conn, "list");
		msgpack_pack_map(pk, (o->nstatus > 0) + (from != IG_NONE));
		if (o->nstatus > 0) {
			ig_pack_str(pk, "status");
			msgpack_pack_array(pk, o->nstatus);
			for (size_t k = 0; k < o->nstatus; k++)
				ig_pack_str(pk, o->status[k]);
		}
		if (from != IG_NONE) {
			ig_pack_str(pk, "from");
			msgpack_pack_int64(pk, from);
		}
		if ((rc = conn_call(ctl->conn, &res, &ctl->e)) != CTL_OK)
			return rc;
		list = ig_map_get(res, "runs");
		next = ig_map_get(res, "next");
		if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY ||
		    (next != NULL && next->type != MSGPACK_OBJECT_NIL &&
		        (next->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		            (int64_t)next->via.u64 <= from ||
		            next->via.u64 > INT64_MAX)))
			return bad_reply(ctl, "list", NULL);
		if ((rc = ls_page(ctl, list, l)) != CTL_OK)
			return rc;
		from = next != NULL && next->type != MSGPACK_OBJECT_NIL ?
		    (int64_t)next->via.u64 :
		    IG_NONE;
	} while (from != IG_NONE);
	return CTL_OK;
}

int
runs_in(struct ctl *ctl, const char *const *status, size_t nstatus,
    ig_summary **out, size_t *n)
{
	struct ls_opts o = { .nstatus = nstatus };
	struct ls_list l = { 0 };
	int rc;

	*out = NULL;
	*n = 0;
	memcpy(o.status, status, nstatus * sizeof(*status));
	if ((rc = ls_fetch(ctl, &o, &l)) == CTL_OK &&
	    (*out = calloc(l.n + 1, sizeof(**out))) == NULL)
		rc = ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	for (size_t i = 0; rc == CTL_OK && i < l.n; i++) {
		(*out)[i] = l.v[i].s;
		memset(&l.v[i].s, 0, sizeof(l.v[i].s));
	}
	if (rc == CTL_OK)
		*n = l.n;
	ls_list_free(&l);
	return rc;
}

/* Does a spec's param (JSON) hold the value text?  Numbers compare as
 * numbers (lr=0.1 matches 0.1 and 1e-1), booleans as true and false. */
static bool
param_is(const json_t *p, const char *text)
{
	char *end;
	double d;

	switch (json_typeof(p)) {
	case JSON_STRING:
		return strcmp(json_string_value(p), text) == 0;
	case JSON_TRUE:
	case JSON_FALSE:
		return strcmp(text, json_is_true(p) ? "true" : "false") == 0;
	case JSON_INTEGER:
	case JSON_REAL:
		d = strtod(text, &end);
		return end != text && *end == '\0' && d == json_number_value(p);
	default:
		return false;
	}
}

/* The run's spec, read once; *spec NULL when the daemon has none for it
 * (the run was deleted since the list). */
static int
ls_spec(struct ctl *ctl, struct ls_run *r, json_t **spec)
{
	const msgpack_object *res;
	char id[32];
	int rc;

	*spec = NULL;
	if (!r->spec_read) {
		r->spec_read = true;
		snprintf(id, sizeof id, "%lld", (long long)r->s.id);
		rc = conn_call_run(ctl->conn, "spec", id, &res, &ctl->e);
		if (rc == CTL_EDAEMON) {
			memset(&ctl->e, 0, sizeof ctl->e);
			return CTL_OK;
		}
		if (rc != CTL_OK)
			return rc;
		if (res->type != MSGPACK_OBJECT_MAP)
			return bad_reply(ctl, "spec", NULL);
		if ((r->spec = json_from_msgpack(res)) == NULL)
			return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	}
	*spec = r->spec;
	return CTL_OK;
}

/*
 * Does r match KEY=VALUE: its tag KEY is VALUE, or its param KEY equals
 * VALUE?  A param is read from the spec, which only its owner and root may
 * read: *hidden is set for another user's run that no tag matched.
 */
static int
ls_where(struct ctl *ctl, struct ls_run *r, const char *cond, bool *match,
    bool *hidden)
{
	const char *eq = strchr(cond, '='), *value = eq + 1;
	size_t klen = (size_t)(eq - cond);
	uid_t me = geteuid();
	json_t *spec, *p;
	int rc;

	*match = false;
	for (size_t i = 0; i < r->s.ntags; i++)
		if (strlen(r->s.tags[i].key) == klen &&
		    memcmp(r->s.tags[i].key, cond, klen) == 0 &&
		    strcmp(r->s.tags[i].value, value) == 0)
			return *match = true, CTL_OK;
	if (me != 0 && (int64_t)me != r->s.owner) {
		*hidden = true;
		return CTL_OK;
	}
	if ((rc = ls_spec(ctl, r, &spec)) != CTL_OK)
		return rc;
	json_t *params = json_object_get(spec, "params");
	p = json_object_getn(params, cond, klen);
	*match = p != NULL && param_is(p, value);
	return CTL_OK;
}

/* Keep the runs that match every --where; say how many others' runs could
 * not be searched by params. */
static int
ls_filter(struct ctl *ctl, const struct ls_opts *o, struct ls_list *l)
{
	size_t kept = 0, hidden = 0;
	int rc = CTL_OK;

	for (size_t i = 0; i < l->n; i++) {
		bool match = true, unseen = false;

		for (size_t w = 0; rc == CTL_OK && match && w < o->nwhere; w++)
			rc = ls_where(
			    ctl, &l->v[i], o->where[w], &match, &unseen);
		if (rc != CTL_OK)
			return rc;
		if (match) {
			l->v[kept++] = l->v[i];
			continue;
		}
		hidden += unseen;
		ig_summary_clear(&l->v[i].s);
		json_decref(l->v[i].spec);
	}
	l->n = kept;
	if (hidden > 0)
		fprintf(ctl->err,
		    "ignitectl: --where left out %zu run%s of other users "
		    "whose params it may not read: a spec is its owner's "
		    "(and root's) to read; their tags were searched\n",
		    hidden, hidden == 1 ? "" : "s");
	return CTL_OK;
}

/* Fold a page of the metric's history into the statistics at arg. */
static int
stats_page(struct ctl *ctl, void *arg, int64_t id, ig_series *s, size_t n)
{
	struct mstats *st = arg;

	(void)ctl;
	(void)id;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < s[i].n; j++) {
			const ig_point *p = &s[i].points[j];

			st->last = p->value;
			st->n++;
			if (isnan(p->value))
				continue;
			if (isnan(st->min) || p->value < st->min) {
				st->min = p->value;
				st->min_at = p->iteration;
			}
			if (isnan(st->max) || p->value > st->max) {
				st->max = p->value;
				st->max_at = p->iteration;
			}
		}
	return CTL_OK;
}

/* Each run's --metric over its whole history, a page at a time. */
static int
ls_stats(struct ctl *ctl, const struct ls_opts *o, struct ls_list *l)
{
	const char *names[] = { o->cols.metric };
	char id[32];
	int rc = CTL_OK;

	for (size_t i = 0; i < l->n && rc == CTL_OK; i++) {
		struct mstats *st = &l->v[i].st;
		/* iterations and values: half the bytes of every column */
		struct mquery q = { id, names, 1, AX_ITERATION, IG_NONE,
			IG_NONE, IG_NONE, false, NULL,
			IG_COL_ITERATION | IG_COL_VALUE };

		*st = (struct mstats){ 0, NAN, NAN, NAN, IG_NONE, IG_NONE };
		snprintf(id, sizeof id, "%lld", (long long)l->v[i].s.id);
		rc = history_pages(ctl, q, stats_page, st);
	}
	return rc;
}

/* The summary's latest value of the --sort metric; false when it has
 * none (or NaN): such runs come last. */
static bool
sort_value(const struct ls_run *r, const char *name, size_t len, double *v)
{
	for (size_t i = 0; i < r->s.nmetrics; i++)
		if (strlen(r->s.metrics[i].name) == len &&
		    memcmp(r->s.metrics[i].name, name, len) == 0) {
			*v = r->s.metrics[i].value;
			return !isnan(*v);
		}
	return false;
}

static const struct ls_opts *sorting; /* qsort has no argument */

static int
by_metric(const void *a, const void *b)
{
	const struct ls_run *x = a, *y = b;
	double u = 0, v = 0; /* set when sort_value says so */
	bool hu = sort_value(x, sorting->sort, sorting->sort_len, &u);
	bool hv = sort_value(y, sorting->sort, sorting->sort_len, &v);

	if (hu != hv)
		return hu ? -1 : 1;
	if (hu && u != v)
		return (u < v) != sorting->desc ? -1 : 1;
	return x->s.id < y->s.id ? -1 : x->s.id > y->s.id;
}

int
cmd_ls(struct ctl *ctl, int argc, char **argv)
{
	char metric[IG_NAME_MAX + 1];
	struct ls_list l = { 0 };
	struct ls_opts o;
	void *out;
	int rc;

	if ((rc = ls_parse(ctl, argc, argv, &o, metric, sizeof metric)) !=
	    CTL_CONTINUE)
		return rc;
	if ((rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	if ((rc = ls_fetch(ctl, &o, &l)) == CTL_OK &&
	    (rc = ls_filter(ctl, &o, &l)) == CTL_OK && o.cols.metric != NULL)
		rc = ls_stats(ctl, &o, &l);
	if (rc == CTL_OK && o.sort != NULL) {
		sorting = &o;
		qsort(l.v, l.n, sizeof *l.v, by_metric);
	}
	if (rc == CTL_OK && ctl->output->ls_start(ctl, &out, &o.cols) != 0)
		rc = ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	else if (rc == CTL_OK) {
		for (size_t i = 0; i < l.n && rc == CTL_OK; i++)
			if (ctl->output->ls_row(ctl, out, &l.v[i].s,
			        o.cols.metric != NULL ? &l.v[i].st : NULL) != 0)
				rc = ig_err_set(
				    &ctl->e, CTL_ELOCAL, "out of memory");
		rc = ctl->output->ls_end(ctl, out, rc);
	}
	ls_list_free(&l);
	return rc;
}

int
cmd_queue(struct ctl *ctl, int argc, char **argv)
{
	struct ls_opts o = { .status = { "queued" }, .nstatus = 1 };
	struct ls_list l = { 0 };
	void *out;
	int rc;

	if ((rc = ctl_args(ctl, argc, argv, 0)) != CTL_CONTINUE ||
	    (rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	if ((rc = ls_fetch(ctl, &o, &l)) == CTL_OK &&
	    ctl->output->queue_start(ctl, &out) != 0)
		rc = ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	else if (rc == CTL_OK) {
		for (size_t i = 0; i < l.n && rc == CTL_OK; i++)
			if (ctl->output->queue_row(ctl, out, &l.v[i].s) != 0)
				rc = ig_err_set(
				    &ctl->e, CTL_ELOCAL, "out of memory");
		rc = ctl->output->queue_end(ctl, out, rc);
	}
	ls_list_free(&l);
	return rc;
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
cmd_spec(struct ctl *ctl, int argc, char **argv)
{
	const msgpack_object *res;
	json_t *spec;
	int rc;

	if ((rc = ctl_args(ctl, argc, argv, 1)) != CTL_CONTINUE)
		return rc;
	if ((rc = ctl_connect(ctl)) != CTL_OK ||
	    (rc = conn_call_run(
	         ctl->conn, "spec", argv[optind], &res, &ctl->e)) != CTL_OK)
		return rc;
	if (res->type != MSGPACK_OBJECT_MAP)
		return bad_reply(ctl, "spec", NULL);
	if ((spec = json_from_msgpack(res)) == NULL)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	return ctl->output->spec(ctl, spec);
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
