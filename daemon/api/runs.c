/*
 * runs.c - the methods over runs (docs/PROTOCOL.md, "Methods"):
 * run, list, status, state_dict, terminate, terminate_epoch, pause, resume,
 * metrics, logs, spec, delete (watch and unwatch: watch.c).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "api/api_int.h"
#include "runs/run.h"

/* At most this many points a page: while the client takes one page in,
 * the next is read and packed, so that a long read costs about its
 * store's part alone; a frame's worth would make the first page and the
 * last wait for each other whole. */
#define PAGE_MAX (1u << 16)

/* Points of metric history one answer may carry: 8 bytes a point a
 * column (PROTOCOL.md) within the frame limit, less room for names and
 * framing, and PAGE_MAX at most. */
static size_t
page_points(const struct server *srv, unsigned columns)
{
	size_t frame = server_max_frame(srv);
	size_t point = 8 * (size_t)__builtin_popcount(columns);
	size_t n =
	    frame > 2 * 65536 ? (frame - 65536) / point : frame / (2 * point);

	return n < PAGE_MAX ? n : PAGE_MAX;
}

/* ---- small results -------------------------------------------------------------- */

struct id_status {
	int64_t id;
	const char *name;
	int status; /* -1: leave out */
};

static void
pack_id_status(msgpack_packer *pk, void *arg)
{
	const struct id_status *r = arg;

	msgpack_pack_map(
	    pk, r->status >= 0 ? 2 : 1 + (r->name != NULL || r->status == -2));
	ig_pack_str(pk, "id");
	msgpack_pack_int64(pk, r->id);
	if (r->status >= 0) {
		ig_pack_str(pk, "status");
		ig_pack_str(pk, ig_status_name(r->status));
	} else if (r->status == -2) {
		ig_pack_str(pk, "name");
		ig_pack_str(pk, r->name);
	}
}

static void
reply_id(
    struct server_conn *conn, uint32_t msgid, const struct run *run, int status)
{
	struct id_status r = { run->id, NULL, status };

	server_reply(conn, msgid, pack_id_status, &r);
}

/* ---- run -------------------------------------------------------------------------- */

/* An answer that waits: the connection stays referenced until it is given. */
struct answer {
	struct server_conn *conn;
	uint32_t msgid;
};

static struct answer *
answer_new(struct server_conn *conn, uint32_t msgid)
{
	struct answer *a = malloc(sizeof(*a));

	if (a == NULL)
		return NULL;
	server_conn_ref(conn);
	*a = (struct answer){ conn, msgid };
	return a;
}

static void
answer_free(struct answer *a)
{
	server_conn_unref(a->conn);
	free(a);
}

/* A run's answer waits for its record to commit. */
static void
on_created(void *arg, struct run *run, const ig_err *err)
{
	struct answer *a = arg;

	if (!server_conn_closed(a->conn)) {
		if (run != NULL) {
			struct id_status r = { run->id,
				run->name[0] != '\0' ? run->name : NULL, -2 };
			server_reply(a->conn, a->msgid, pack_id_status, &r);
		} else {
			server_error(
			    a->conn, a->msgid, err->code, "%s", err->message);
		}
	}
	answer_free(a);
}

/*
 * run's `from: {id, iteration?}`, taken out of the params (the rest is the
 * spec, in *spec, whose entries point into params: free spec->via.map.ptr).
 * Only the source's owner and root may start from it: its checkpoint is
 * as private as its state_dict.  Errors in order: from's shape, no such
 * run, not permitted; the spec's are runs_create's.
 */
static int
read_from(const struct api_call *c, msgpack_object *spec, struct run_from *from,
    bool *given, ig_err *err)
{
	const msgpack_object *p = c->params, *f = NULL;
	ig_run_ref ref = { 0 };
	int64_t iteration = IG_NONE;
	ig_fdef defs[] = {
		{ .key = "id",
		    .type = IG_F_RUN,
		    .required = true,
		    .out = &ref },
		{ .key = "iteration", .type = IG_F_UINT, .out = &iteration },
	};
	msgpack_object_kv *kv;
	uint32_t n = 0;

	*spec = *p;
	*given = false;
	if (p->type != MSGPACK_OBJECT_MAP)
		return 0; /* runs_create says what a spec is */
	if ((kv = malloc((p->via.map.size + 1) * sizeof(*kv))) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	for (uint32_t i = 0; i < p->via.map.size; i++) {
		const msgpack_object *k = &p->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 4 &&
		    memcmp(k->via.str.ptr, "from", 4) == 0)
			f = &p->via.map.ptr[i].val;
		else
			kv[n++] = p->via.map.ptr[i];
	}
	spec->via.map.ptr = kv;
	spec->via.map.size = n;
	if (f == NULL)
		return 0;
	*given = true;
	if (f->type != MSGPACK_OBJECT_MAP)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "from: expected a map {id, iteration?}");
	if (ig_map_read(f, "from", defs, 2, 0, err) != 0 ||
	    (from->run = api_resolve(c->mgr, &ref, c->peer, err)) == NULL)
		return err->code;
	if (!run_owned_by(from->run, c->peer))
		return ig_err_set(err, IG_PROTO_PERMISSION_DENIED,
		    "from: run %lld belongs to uid %lu; only it and root may "
		    "start a run from its checkpoints",
		    (long long)from->run->id, (unsigned long)from->run->owner);
	from->iteration = iteration;
	return 0;
}

void
api_run(struct api_call *c)
{
	struct answer *a = answer_new(c->conn, c->msgid);
	struct run_from from;
	msgpack_object spec;
	ig_err err = { 0 };
	bool given;

	if (a == NULL) {
		server_error(
		    c->conn, c->msgid, IG_PROTO_INTERNAL, "out of memory");
		return;
	}
	if (read_from(c, &spec, &from, &given, &err) != 0 ||
	    runs_create(c->mgr, &spec, c->peer, given ? &from : NULL,
	        on_created, a, &err) != 0) {
		answer_free(a);
		server_error(c->conn, c->msgid, err.code, "%s", err.message);
	}
	if (spec.type == MSGPACK_OBJECT_MAP &&
	    spec.via.map.ptr != c->params->via.map.ptr)
		free(spec.via.map.ptr);
}

/* ---- list and status ------------------------------------------------------------ */

/* The summary of run as peer may see it: without the reason unless it is
 * peer's (see run_owned_by). */
static void
summary_for(struct run *run, uid_t peer, ig_summary *s)
{
	run_summary(run, s);
	if (!run_owned_by(run, peer))
		s->reason = NULL;
}

/* Runs a list answer holds at most (fewer when a smaller limit is asked). */
#define LIST_PAGE 1000
/* Room left in a frame for the answer's map, the array header and next. */
#define LIST_SLACK 64

/* A page of summaries, already packed: n of them in sb, then next. */
struct summaries {
	msgpack_sbuffer sb;
	size_t n;
	int64_t next; /* id to pass as from for the rest, or IG_NONE */
};

static void
pack_summaries(msgpack_packer *pk, void *arg)
{
	const struct summaries *l = arg;

	msgpack_pack_map(pk, 2);
	ig_pack_str(pk, "runs");
	msgpack_pack_array(pk, l->n);
	pk->callback(pk->data, l->sb.data, l->sb.size);
	ig_pack_str(pk, "next");
	ig_pack_opt_int(pk, l->next);
}

/* Status names to a mask of 1 << status; 0 for none given. */
static int
status_mask(const ig_strv *status, unsigned *mask, ig_err *err)
{
	*mask = 0;
	for (size_t i = 0; i < status->n; i++) {
		int st = -1;
		for (int k = 0; k < IG_STATUS_COUNT; k++)
			if (strcmp(status->v[i], ig_status_name(k)) == 0)
				st = k;
		if (st < 0)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "status[%zu]: no status \"%s\"", i, status->v[i]);
		*mask |= 1u << st;
	}
	return 0;
}

/*
 * Runs from id `from` on, at most `limit` of them and no more than fit in
 * a frame: a list is paged so that no number of runs makes it too large.
 */
void
api_list(struct api_call *c)
{
	struct runs *mgr = c->mgr;
	ig_strv status = { 0 };
	int64_t from = 1, limit = LIST_PAGE;
	ig_fdef defs[] = {
		{ .key = "status", .type = IG_F_STRV, .out = &status },
		{ .key = "from", .type = IG_F_POS, .out = &from },
		{ .key = "limit", .type = IG_F_POS, .out = &limit },
	};
	size_t budget = server_max_frame(c->srv) - LIST_SLACK;
	struct summaries l = { .next = IG_NONE };
	msgpack_packer pk;
	unsigned mask = 0;
	ig_err err = { 0 };

	if ((!api_no_params(c) &&
	        ig_map_read(c->params, "params", defs, 3, 0, &err) != 0) ||
	    status_mask(&status, &mask, &err) != 0) {
		ig_strv_free(&status);
		server_error(c->conn, c->msgid, err.code, "%s", err.message);
		return;
	}
	ig_strv_free(&status);
	if (limit > LIST_PAGE)
		limit = LIST_PAGE;
	msgpack_sbuffer_init(&l.sb);
	msgpack_packer_init(&pk, &l.sb, msgpack_sbuffer_write);
	for (size_t i = 0; i < mgr->n; i++) {
		struct run *run = mgr->v[i];
		size_t before = l.sb.size;
		ig_summary s;

		if (run->id < from ||
		    (mask != 0 && !(mask & (1u << run->status))))
			continue;
		if (l.n == (size_t)limit) {
			l.next = run->id;
			break;
		}
		summary_for(run, c->peer, &s);
		ig_summary_pack(&pk, &s);
		run_summary_clear_metrics(&s);
		if (l.sb.size > budget && l.n > 0) {
			l.sb.size = before;
			l.next = run->id;
			break;
		}
		l.n++;
	}
	server_reply(c->conn, c->msgid, pack_summaries, &l);
	msgpack_sbuffer_destroy(&l.sb);
}

struct summary_of {
	struct run *run;
	uid_t peer;
};

static void
pack_summary(msgpack_packer *pk, void *arg)
{
	const struct summary_of *a = arg;
	ig_summary s;

	summary_for(a->run, a->peer, &s);
	ig_summary_pack(pk, &s);
	run_summary_clear_metrics(&s);
}

void
api_status(struct api_call *c)
{
	struct summary_of a = { api_find_run(c, NULL, 0), c->peer };

	if (a.run != NULL)
		server_reply(c->conn, c->msgid, pack_summary, &a);
}

/* ---- state_dict ------------------------------------------------------------------- */

struct raw {
	const void *buf;
	size_t len;
};

/* Append bytes that already are one msgpack object. */
static void
pack_raw(msgpack_packer *pk, void *arg)
{
	const struct raw *r = arg;

	pk->callback(pk->data, r->buf, r->len);
}

static void
pack_state_dict(msgpack_packer *pk, void *arg)
{
	ig_state_dict_pack(arg, pk);
}

void
api_state_dict(struct api_call *c)
{
	struct run *run = api_find_run(c, NULL, 0);
	struct store_checkpoint ck;
	ig_state_dict d;

	if (run == NULL)
		return;
	if (run->job != NULL) {
		if (ig_engine_state_dict(job_engine(run->job), &d) != 0) {
			server_error(c->conn, c->msgid, IG_PROTO_INTERNAL,
			    "out of memory");
			return;
		}
		server_reply(c->conn, c->msgid, pack_state_dict, &d);
		ig_state_dict_clear(&d);
		return;
	}
	if (store_latest_checkpoint(
	        store_loop_reader(c->mgr->store), run->id, &ck) != 0) {
		server_error(c->conn, c->msgid, IG_PROTO_NOT_FOUND,
		    "run %lld has no checkpoint", (long long)run->id);
		return;
	}
	struct raw r = { ck.state_dict, ck.state_dict_len };
	server_reply(c->conn, c->msgid, pack_raw, &r);
	store_checkpoint_clear(&ck);
}

/* ---- terminate, terminate_epoch, pause, resume, delete ------------------------------ */

/* A control request answered later (a paused run's terminate, a resume
 * that builds the run's job again): with the run's status, or the error. */
static void
on_controlled(void *arg, struct run *run, const ig_err *err)
{
	struct answer *a = arg;

	if (!server_conn_closed(a->conn)) {
		if (run != NULL)
			reply_id(a->conn, a->msgid, run, run->status);
		else
			server_error(
			    a->conn, a->msgid, err->code, "%s", err->message);
	}
	answer_free(a);
}

/* A control verb done, answered now; "asked by" goes to the run's log. */
static void
controlled(struct api_call *c, struct run *run, int status)
{
	run_log(run, LOG_INFO, "%s asked by uid %lu", c->method->name,
	    (unsigned long)c->peer);
	reply_id(c->conn, c->msgid, run, status);
}

/* terminate and resume may answer later (a paused run's end, a job built
 * again): then ig_err is kept for the answer. */
static void
control_later(struct api_call *c, struct run *run, int64_t max_epochs)
{
	bool resume = c->method->fn == api_resume, later = false;
	struct answer *a;
	ig_err err = { 0 };
	int rc;

	if ((a = answer_new(c->conn, c->msgid)) == NULL) {
		server_error(
		    c->conn, c->msgid, IG_PROTO_INTERNAL, "out of memory");
		return;
	}
	rc = resume ?
	    run_resume(run, max_epochs, on_controlled, a, &later, &err) :
	    run_terminate(run, false, on_controlled, a, &later, &err);
	if (later) {
		run_log(run, LOG_INFO, "%s asked by uid %lu", c->method->name,
		    (unsigned long)c->peer);
		return;
	}
	answer_free(a);
	if (rc != 0)
		server_error(c->conn, c->msgid, err.code, "%s", err.message);
	else
		controlled(c, run, run->status);
}

void
api_terminate(struct api_call *c)
{
	struct run *run = api_find_run(c, NULL, 0);

	if (run != NULL)
		control_later(c, run, IG_NONE);
}

void
api_resume(struct api_call *c)
{
	int64_t max_epochs = IG_NONE;
	ig_fdef extra[] = {
		{ .key = "max_epochs", .type = IG_F_POS, .out = &max_epochs }
	};

	/* read with the id: a bad max_epochs is INVALID_PARAMS first */
	struct run *run = api_find_run(c, extra, 1);

	if (run != NULL)
		control_later(c, run, max_epochs);
}

void
api_terminate_epoch(struct api_call *c)
{
	struct run *run = api_find_run(c, NULL, 0);
	bool later;
	ig_err err = { 0 };

	if (run == NULL)
		return;
	if (run_terminate(run, true, NULL, NULL, &later, &err) != 0)
		server_error(c->conn, c->msgid, err.code, "%s", err.message);
	else
		controlled(c, run, -1);
}

void
api_pause(struct api_call *c)
{
	struct run *run = api_find_run(c, NULL, 0);
	ig_err err = { 0 };

	if (run == NULL)
		return;
	if (run_pause(run, &err) != 0)
		server_error(c->conn, c->msgid, err.code, "%s", err.message);
	else
		controlled(c, run, run->status);
}

void
api_delete(struct api_call *c)
{
	struct run *run = api_find_run(c, NULL, 0);
	ig_err err = { 0 };

	if (run == NULL)
		return;
	struct id_status r = { run->id, NULL, -1 };
	if (runs_delete(c->mgr, run, &err) != 0)
		server_error(c->conn, c->msgid, err.code, "%s", err.message);
	else
		server_reply(c->conn, c->msgid, pack_id_status, &r);
}

/* ---- metrics -------------------------------------------------------------------------- */

struct history_page {
	int64_t id;
	int axis;
	int64_t next; /* IG_NONE: complete */
	double started; /* the run's start; 0: not yet */
	bool minmax; /* buckets of b, n of them */
	const struct store_series_data *b;
	size_t n;
	const ig_columns *s; /* else: points, ns series of them */
	size_t ns;
	unsigned columns;
};

/* The most buckets a minmax read folds a series into (a chart's columns
 * are a few hundred). */
#define MINMAX_MAX 100000

/* A minmax answer's buckets: per series, arrays of one element a bucket. */
static void
pack_buckets(msgpack_packer *pk, const struct history_page *h)
{
	static const char *const keys[] = { "min", "max", "last" };

	msgpack_pack_array(pk, h->n);
	for (size_t i = 0; i < h->n; i++) {
		const struct store_series_data *d = &h->b[i];

		msgpack_pack_map(pk, 5);
		ig_pack_str(pk, "name");
		ig_pack_str(pk, d->name);
		ig_pack_str(pk, "iteration");
		msgpack_pack_array(pk, d->n);
		for (size_t j = 0; j < d->n; j++)
			msgpack_pack_int64(pk, d->buckets[j].iteration);
		for (size_t k = 0; k < 3; k++) {
			ig_pack_str(pk, keys[k]);
			msgpack_pack_array(pk, d->n);
			for (size_t j = 0; j < d->n; j++) {
				const struct store_bucket *b = &d->buckets[j];

				msgpack_pack_double(pk,
				    k == 0     ? b->min :
				        k == 1 ? b->max :
				                 b->last);
			}
		}
	}
}

static void
pack_history(msgpack_packer *pk, void *arg)
{
	const struct history_page *h = arg;

	msgpack_pack_map(pk, 5 + h->minmax);
	ig_pack_str(pk, "id");
	msgpack_pack_int64(pk, h->id);
	ig_pack_str(pk, "axis");
	ig_pack_str(pk, h->axis == STORE_AXIS_EPOCH ? "epoch" : "iteration");
	ig_pack_str(pk, "series");
	ig_columns_pack(pk, h->s, h->ns, h->columns);
	ig_pack_str(pk, "next");
	ig_pack_opt_int(pk, h->next);
	ig_pack_str(pk, "started");
	if (h->started > 0)
		msgpack_pack_double(pk, h->started);
	else
		msgpack_pack_nil(pk);
	if (h->minmax) {
		ig_pack_str(pk, "buckets");
		pack_buckets(pk, h);
	}
}

/* The column of d the axis is. */
static const int64_t *
axis_col(const struct store_series_data *d, int axis)
{
	return axis == STORE_AXIS_EPOCH ? d->epoch : d->iteration;
}

/* Points of d with an axis value below v (points are in axis order). */
static size_t
count_below(const struct store_series_data *d, int axis, int64_t v)
{
	const int64_t *ax = axis_col(d, axis);
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ax[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The axis value to stop before so that at most limit points go in one
 * answer, or IG_NONE when all fit.  The cut is between two axis values, so
 * the rest can be asked for with from = the value returned.
 */
static int64_t
history_cut(const struct store_series_data *d, size_t n, int axis, size_t limit)
{
	size_t total = 0;
	int64_t lo = INT64_MAX, hi = INT64_MIN;

	for (size_t i = 0; i < n; i++) {
		total += d[i].n;
		if (d[i].n > 0) {
			const int64_t *ax = axis_col(&d[i], axis);

			lo = ax[0] < lo ? ax[0] : lo;
			hi = ax[d[i].n - 1] > hi ? ax[d[i].n - 1] : hi;
		}
	}
	if (total <= limit)
		return IG_NONE;
	/* the largest v in (lo, hi] with fewer than limit points below it */
	int64_t a = lo + 1, b = hi;
	while (a < b) {
		int64_t mid = a + (b - a + 1) / 2;
		size_t below = 0;
		for (size_t i = 0; i < n; i++)
			below += count_below(&d[i], axis, mid);
		if (below <= limit)
			a = mid;
		else
			b = mid - 1;
	}
	return a;
}

/*
 * history_pack_fn, on the threadpool: the page of d that fits one answer
 * (pack->page points), the whole result packed in a buffer of its size
 * after SERVER_HEAD bytes for the frame's header, so that the loop only
 * writes it.
 */
static int
pack_page(const struct store_query *q, const struct history_pack *pack,
    const struct store_series_data *d, size_t n, struct history_packed *out,
    ig_err *err)
{
	int axis = q->axis;
	ig_columns *s = calloc(n + 1, sizeof(*s));
	struct history_page h = { q->run_id, axis, IG_NONE, pack->started,
		false, NULL, 0, s, n,
		q->columns != 0 ? q->columns : IG_COL_ALL };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t bytes;

	if (s == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	h.next = history_cut(d, n, axis, pack->page);
	/* A series cut short by the limit is complete only below its last
	 * axis value; the page ends there at the latest. */
	for (size_t i = 0; i < n && q->limit > 0 && q->max_points == 0; i++) {
		if (d[i].n < q->limit)
			continue;
		int64_t last = axis_col(&d[i], axis)[d[i].n - 1];
		if (last > q->from && (h.next == IG_NONE || last < h.next))
			h.next = last;
	}
	for (size_t i = 0; i < n; i++)
		s[i] = (ig_columns){ d[i].name, d[i].epoch, d[i].iteration,
			d[i].time, d[i].value,
			h.next != IG_NONE ? count_below(&d[i], axis, h.next) :
			                    d[i].n };
	/* the buffer at its size at once: a page grown by doubling would be
	 * copied and faulted in again at each step */
	bytes = SERVER_HEAD + 128 + ig_columns_packed_size(s, n, h.columns);
	sb = (msgpack_sbuffer){ SERVER_HEAD, ig_mem_alloc_large(bytes), bytes };
	if (sb.data == NULL) {
		free(s);
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	}
	msgpack_packer_init(&pk, &sb, ig_sbuffer_write);
	pack_history(&pk, &h);
	free(s);
	out->bytes = sb.data;
	out->head = SERVER_HEAD;
	out->len = sb.size - SERVER_HEAD;
	out->next = h.next;
	return 0;
}

/* A metrics request waiting for its history (history.h). */
struct metrics_call {
	struct runs *mgr;
	struct server *srv;
	struct server_conn *conn; /* referenced until answered */
	uint32_t msgid;
	ig_strv names; /* owned; q.names points into it */
	struct store_query q;
	struct history_pack pack;
	double started;
};

/* The answer: the buckets, or the page packed off the loop; then read
 * the next page ahead when the run's history no longer changes. */
static void
answer_history(struct metrics_call *call, struct store_series_data *d, size_t n,
    struct history_packed *packed)
{
	struct runs *mgr = call->mgr;
	const struct store_query *q = &call->q;
	struct history_page h = { q->run_id, q->axis, IG_NONE, call->started,
		true, d, n, NULL, 0, 0 };
	size_t bytes = 256;

	if (q->downsample == STORE_DS_MINMAX) {
		/* a few buckets: one answer, 4 numbers of 9 bytes each */
		for (size_t i = 0; i < n; i++)
			bytes += strlen(d[i].name) + 64 + 40 * d[i].n;
		server_reserve(call->conn, bytes);
		server_reply(call->conn, call->msgid, pack_history, &h);
		return;
	}
	server_reply_buffer(
	    call->conn, call->msgid, packed->bytes, packed->head, packed->len);
	packed->bytes = NULL; /* taken */

	struct run *run = runs_find(mgr, q->run_id);
	if (packed->next != IG_NONE && run != NULL && run_settled(run)) {
		struct store_query ahead = *q;
		ahead.from = packed->next;
		history_read_ahead(mgr->history, &ahead, &call->pack);
	}
}

static void
metrics_done(void *arg, const ig_err *err, struct store_series_data *d,
    size_t n, struct history_packed *packed)
{
	struct metrics_call *call = arg;

	/* INTERNAL whatever the store's code: what the protocol has said */
	if (err != NULL)
		server_error(call->conn, call->msgid, IG_PROTO_INTERNAL,
		    "reading the history: %s", err->message);
	else
		answer_history(call, d, n, packed);
	store_series_free(d, n);
	if (packed != NULL)
		free(packed->bytes);
	server_conn_unref(call->conn);
	ig_strv_free(&call->names);
	free(call);
}

/* The mask of the columns named (PROTOCOL.md, metrics); 0 with an
 * INVALID_PARAMS error sent. */
static unsigned
read_columns(struct api_call *c, const ig_strv *names)
{
	unsigned mask = 0;

	if (names->n == 0) {
		server_error(c->conn, c->msgid, IG_PROTO_INVALID_PARAMS,
		    "columns: expected one or more of \"epoch\", "
		    "\"iteration\", \"time\", \"value\", got none");
		return 0;
	}
	for (size_t i = 0; i < names->n; i++) {
		unsigned bit = ig_series_column(names->v[i]);

		if (bit == 0 || (mask & bit) != 0) {
			server_error(c->conn, c->msgid, IG_PROTO_INVALID_PARAMS,
			    "columns[%zu]: %s \"%.64s\": give each of "
			    "\"epoch\", \"iteration\", \"time\", \"value\" "
			    "at most once",
			    i, bit == 0 ? "no such column" : "repeated",
			    names->v[i]);
			return 0;
		}
		mask |= bit;
	}
	return mask;
}

void
api_metrics(struct api_call *c)
{
	static const char *const axes[] = { "iteration", "epoch", NULL };
	struct runs *mgr = c->mgr;
	struct server_conn *conn = c->conn;
	uint32_t msgid = c->msgid;
	ig_strv names = { 0 }, colv = { 0 };
	int axis = STORE_AXIS_ITERATION;
	int64_t from = IG_NONE, to = IG_NONE, max_points = IG_NONE;
	bool minmax = false, has_cols;
	unsigned columns = IG_COL_ALL;
	ig_fdef extra[] = {
		{ .key = "names", .type = IG_F_STRV, .out = &names },
		{ .key = "axis",
		    .type = IG_F_ENUM,
		    .names = axes,
		    .out = &axis },
		{ .key = "from", .type = IG_F_UINT, .out = &from },
		{ .key = "to", .type = IG_F_UINT, .out = &to },
		{ .key = "max_points", .type = IG_F_POS, .out = &max_points },
		{ .key = "minmax", .type = IG_F_BOOL, .out = &minmax },
		{ .key = "columns", .type = IG_F_STRV, .out = &colv },
	};
	/* columns: [] reads as absent; asked for, it must name some */
	const msgpack_object *cp = ig_map_get(c->params, "columns");
	struct run *run;
	struct metrics_call *call;

	has_cols = cp != NULL && cp->type != MSGPACK_OBJECT_NIL;
	run = api_find_run(c, extra, 7);
	if (run == NULL)
		goto out;
	if (has_cols && (columns = read_columns(c, &colv)) == 0)
		goto out;
	if (has_cols && minmax) {
		server_error(conn, msgid, IG_PROTO_INVALID_PARAMS,
		    "columns: not with minmax, whose buckets have columns "
		    "of their own: leave one of them out");
		goto out;
	}
	if (minmax && (max_points == IG_NONE || axis != STORE_AXIS_ITERATION)) {
		server_error(conn, msgid, IG_PROTO_INVALID_PARAMS,
		    "minmax: buckets are of iterations and need max_points: "
		    "give max_points and leave axis \"iteration\"");
		goto out;
	}
	if (minmax && max_points > MINMAX_MAX) {
		server_error(conn, msgid, IG_PROTO_INVALID_PARAMS,
		    "max_points: at most %d buckets with minmax, not %lld",
		    MINMAX_MAX, (long long)max_points);
		goto out;
	}
	if ((call = calloc(1, sizeof(*call))) == NULL) {
		server_error(conn, msgid, IG_PROTO_INTERNAL, "out of memory");
		goto out;
	}
	*call = (struct metrics_call){ mgr, c->srv, conn, msgid, names,
		{
		    .run_id = run->id,
		    .names = names.n > 0 ? (const char *const *)names.v : NULL,
		    .nnames = names.n,
		    .axis = axis,
		    .from = from != IG_NONE ? from : INT64_MIN,
		    .to = to != IG_NONE ? to : INT64_MAX,
		    .max_points =
		        max_points != IG_NONE ? (size_t)max_points : 0,
		    .downsample = minmax ? STORE_DS_MINMAX : STORE_DS_LAST,
		    /* a page's worth of each series, not the whole rest; by
		 * iteration only, where a series has one point per value
		 * and so can be cut between any two of them */
		    .limit = axis == STORE_AXIS_ITERATION ?
		        page_points(c->srv, columns) :
		        0,
		    .columns = columns,
		},
		{ minmax ? NULL : pack_page, page_points(c->srv, columns),
		    run->started },
		run->started };
	names = (ig_strv){ 0 };
	server_conn_ref(conn);
	history_read(mgr->history, &call->q, &call->pack, metrics_done, call);
out:
	ig_strv_free(&names);
	ig_strv_free(&colv);
}

/* ---- logs ------------------------------------------------------------------------- */

struct log_lines {
	int64_t id;
	struct store_logline *v;
	size_t n;
};

static void
pack_logs(msgpack_packer *pk, void *arg)
{
	const struct log_lines *l = arg;

	msgpack_pack_map(pk, 2);
	ig_pack_str(pk, "id");
	msgpack_pack_int64(pk, l->id);
	ig_pack_str(pk, "lines");
	msgpack_pack_array(pk, l->n);
	for (size_t i = 0; i < l->n; i++) {
		/* lines are stored valid UTF-8; one stored by an older daemon
		 * may not be, and would make the client drop the answer */
		char *line = ig_utf8_repair(l->v[i].line, l->v[i].len);

		msgpack_pack_map(pk, 3);
		ig_pack_str(pk, "id");
		msgpack_pack_int64(pk, l->id);
		ig_pack_str(pk, "time");
		msgpack_pack_double(pk, l->v[i].time);
		ig_pack_str(pk, "message");
		if (line != NULL)
			msgpack_pack_str_with_body(pk, line, strlen(line));
		else
			ig_pack_str(pk, "(out of memory)");
		free(line);
	}
}

void
api_logs(struct api_call *c)
{
	int64_t tail = 1000;
	ig_fdef extra[] = { { .key = "tail", .type = IG_F_POS, .out = &tail } };
	struct run *run = api_find_run(c, extra, 1);
	struct store_reader *r = store_loop_reader(c->mgr->store);
	struct log_lines l = { 0 };

	if (run == NULL)
		return;
	l.id = run->id;
	if (store_log_tail(r, run->id, (size_t)tail, &l.v, &l.n) != 0) {
		server_error(c->conn, c->msgid, IG_PROTO_INTERNAL,
		    "reading the log: %s", store_reader_error(r));
		return;
	}
	server_reply(c->conn, c->msgid, pack_logs, &l);
	store_logs_free(l.v, l.n);
}

/* ---- spec ------------------------------------------------------------------------- */

static void
pack_run_spec(msgpack_packer *pk, void *arg)
{
	ig_spec_pack(pk, arg);
}

/* The canonical spec the run was started with: its owner's, as its log is
 * (worker.env may hold secrets). */
void
api_spec(struct api_call *c)
{
	struct run *run = api_find_run(c, NULL, 0);

	if (run == NULL)
		return;
	if (run->spec == NULL) {
		server_error(c->conn, c->msgid, IG_PROTO_NOT_FOUND,
		    "run %lld has no readable spec", (long long)run->id);
		return;
	}
	server_reply(c->conn, c->msgid, pack_run_spec, run->spec);
}
