/*
 * history.c - metric history read on the threadpool (history.h).
 *
 * One read connection, so one read on the threadpool at a time; the others
 * wait in a queue, in order.  A read ahead is an ordinary read that nobody
 * waits for yet: the read that asks for the same query takes it over, be it
 * waiting, running or done.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/history.h"

#define AHEAD_KEEP_MS 5000 /* a page read ahead, kept for its reader */

struct read {
	uv_work_t work;
	struct history *h;
	struct store_query q; /* q.names points at names */
	struct history_pack pack;
	char **names; /* owned copies */
	history_done_fn *done; /* NULL: read ahead, nobody waits yet */
	void *arg;
	bool stale; /* forgotten while on the threadpool */
	bool finished;
	ig_err err; /* the result, owned until handed over */
	struct store_series_data *series;
	size_t n;
	struct history_packed packed;
	struct read *next; /* in the queue */
};

struct history {
	uv_loop_t *loop;
	struct store_reader *reader; /* used by one read at a time */
	struct read *head, *tail; /* waiting their turn */
	struct read *running; /* on the threadpool */
	struct read *ahead; /* read ahead: waiting, running or done */
	uv_timer_t expire; /* drops a read ahead nobody took */
	bool closing, timer_closed;
};

static void start_next(struct history *h);
static void on_expire(uv_timer_t *t);

/* ---- reads ---------------------------------------------------------------- */

static void
read_free(struct read *r)
{
	for (size_t i = 0; i < r->q.nnames; i++)
		free(r->names[i]);
	free(r->names);
	store_series_free(r->series, r->n);
	free(r->packed.bytes);
	free(r);
}

static struct read *
read_new(struct history *h, const struct store_query *q,
    const struct history_pack *pack)
{
	struct read *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->h = h;
	r->q = *q;
	r->q.names = NULL;
	r->q.nnames = 0;
	if (pack != NULL)
		r->pack = *pack;
	if (q->names != NULL) {
		if ((r->names = calloc(
		         q->nnames ? q->nnames : 1, sizeof(char *))) == NULL) {
			free(r);
			return NULL;
		}
		r->q.names = (const char *const *)r->names;
		for (size_t i = 0; i < q->nnames; i++, r->q.nnames++)
			if ((r->names[i] = strdup(q->names[i])) == NULL) {
				read_free(r);
				return NULL;
			}
	}
	r->work.data = r;
	return r;
}

static bool
same_query(const struct read *r, const struct store_query *b,
    const struct history_pack *pack)
{
	const struct store_query *a = &r->q;
	struct history_pack none = { 0 };

	if (pack == NULL)
		pack = &none;
	if (r->pack.fn != pack->fn || r->pack.page != pack->page ||
	    r->pack.started != pack->started || a->columns != b->columns)
		return false;
	if (a->run_id != b->run_id || a->axis != b->axis ||
	    a->from != b->from || a->to != b->to ||
	    a->max_points != b->max_points || a->limit != b->limit ||
	    a->downsample != b->downsample ||
	    (a->names == NULL) != (b->names == NULL) || a->nnames != b->nnames)
		return false;
	for (size_t i = 0; a->names != NULL && i < a->nnames; i++)
		if (strcmp(a->names[i], b->names[i]) != 0)
			return false;
	return true;
}

/* Hand r's result to whoever waits, and free r. */
static void
answer(struct read *r)
{
	r->done(r->arg, r->err.code != 0 ? &r->err : NULL, r->series, r->n,
	    &r->packed);
	r->series = NULL;
	r->n = 0;
	r->packed.bytes = NULL;
	read_free(r);
}

static void
fail(struct read *r, int code, const char *msg)
{
	ig_err_set(&r->err, code, "%s", msg);
	store_series_free(r->series, r->n);
	r->series = NULL;
	r->n = 0;
	free(r->packed.bytes);
	r->packed.bytes = NULL;
	answer(r);
}

static void
enqueue(struct history *h, struct read *r)
{
	if (h->tail != NULL)
		h->tail->next = r;
	else
		h->head = r;
	h->tail = r;
	start_next(h);
}

/* Take r out of the queue; false when it is not there. */
static bool
dequeue(struct history *h, struct read *r)
{
	struct read **pp, *prev = NULL;

	for (pp = &h->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp != r)
			continue;
		*pp = r->next;
		if (h->tail == r)
			h->tail = prev;
		r->next = NULL;
		return true;
	}
	return false;
}

/* ---- the threadpool ------------------------------------------------------- */

/* Threadpool: touches only r and the reader, which no one else uses now. */
static void
work_cb(uv_work_t *req)
{
	struct read *r = req->data;

	int rc = store_history(r->h->reader, &r->q, &r->series, &r->n);

	r->err.code = 0; /* a read taken over is read again */
	if (rc != 0)
		ig_err_set(&r->err, rc, "%s", store_reader_error(r->h->reader));
	else if (r->pack.fn != NULL)
		r->pack.fn(
		    &r->q, &r->pack, r->series, r->n, &r->packed, &r->err);
}

static void
maybe_free(struct history *h)
{
	if (!h->closing || h->running != NULL || !h->timer_closed)
		return;
	store_reader_close(h->reader);
	free(h);
}

static void
after_work_cb(uv_work_t *req, int status)
{
	struct read *r = req->data;
	struct history *h = r->h;

	h->running = NULL;
	r->finished = true;
	if (status != 0)
		ig_err_set(
		    &r->err, IG_PROTO_INTERNAL, "the read was cancelled");
	if (h->closing) {
		if (r->done != NULL)
			fail(r, IG_PROTO_UNAVAILABLE,
			    "the daemon is shutting down");
		else
			read_free(r);
		maybe_free(h);
		return;
	}
	if (r->stale && r->done != NULL) {
		/* a reader took it over before it was forgotten: read again */
		store_series_free(r->series, r->n);
		r->series = NULL;
		r->n = 0;
		free(r->packed.bytes);
		r->packed.bytes = NULL;
		r->stale = r->finished = false;
		enqueue(h, r);
	} else if (r->stale) {
		read_free(r);
	} else if (r->done != NULL) {
		answer(r);
	} else {
		uv_timer_start(&h->expire, on_expire, AHEAD_KEEP_MS, 0);
	}
	start_next(h);
}

static void
start_next(struct history *h)
{
	struct read *r = h->head;
	int rc;

	if (h->running != NULL || r == NULL)
		return;
	dequeue(h, r);
	h->running = r;
	if ((rc = uv_queue_work(h->loop, &r->work, work_cb, after_work_cb)) !=
	    0) {
		h->running = NULL;
		if (h->ahead == r)
			h->ahead = NULL;
		if (r->done != NULL)
			fail(r, IG_PROTO_INTERNAL, uv_strerror(rc));
		else
			read_free(r);
		start_next(h);
	}
}

/* ---- reading ahead -------------------------------------------------------- */

/* Forget the read ahead: free it, or let it finish into nothing. */
static void
drop_ahead(struct history *h)
{
	struct read *r = h->ahead;

	if (r == NULL)
		return;
	h->ahead = NULL;
	uv_timer_stop(&h->expire);
	if (r->finished || dequeue(h, r))
		read_free(r);
	else
		r->stale = true; /* running */
}

static void
on_expire(uv_timer_t *t)
{
	drop_ahead(t->data);
}

void
history_read_ahead(struct history *h, const struct store_query *q,
    const struct history_pack *pack)
{
	struct read *r;

	if (h->closing)
		return;
	drop_ahead(h);
	if ((r = read_new(h, q, pack)) == NULL)
		return; /* only a hint */
	h->ahead = r;
	enqueue(h, r);
}

void
history_forget(struct history *h, int64_t run_id)
{
	if (h->ahead != NULL && h->ahead->q.run_id == run_id)
		drop_ahead(h);
}

void
history_read(struct history *h, const struct store_query *q,
    const struct history_pack *pack, history_done_fn *done, void *arg)
{
	ig_err err;

	struct read *r = h->ahead;

	if (r != NULL && same_query(r, q, pack)) {
		h->ahead = NULL;
		uv_timer_stop(&h->expire);
		r->done = done;
		r->arg = arg;
		if (r->finished)
			answer(r);
		return;
	}
	if ((r = read_new(h, q, pack)) == NULL) {
		ig_err_set(&err, IG_PROTO_INTERNAL, "out of memory");
		done(arg, &err, NULL, 0, NULL);
		return;
	}
	r->done = done;
	r->arg = arg;
	if (h->closing) {
		fail(r, IG_PROTO_UNAVAILABLE, "the daemon is shutting down");
		return;
	}
	enqueue(h, r);
}

/* ---- open and close ------------------------------------------------------- */

struct history *
history_open(uv_loop_t *loop, const char *path, ig_err *err)
{
	struct history *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		return NULL;
	}
	if ((h->reader = store_reader_open(path, err)) == NULL) {
		free(h);
		return NULL;
	}
	h->loop = loop;
	uv_timer_init(loop, &h->expire);
	h->expire.data = h;
	return h;
}

static void
on_timer_closed(uv_handle_t *handle)
{
	struct history *h = handle->data;

	h->timer_closed = true;
	maybe_free(h);
}

void
history_close(struct history *h)
{
	struct read *r;

	if (h == NULL)
		return;
	h->closing = true;
	drop_ahead(h);
	while ((r = h->head) != NULL) {
		dequeue(h, r);
		if (r->done != NULL)
			fail(r, IG_PROTO_UNAVAILABLE,
			    "the daemon is shutting down");
		else
			read_free(r);
	}
	uv_close((uv_handle_t *)&h->expire, on_timer_closed);
}
