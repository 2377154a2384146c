/*
 * store.c - the store's loop side: open and close, the operations the
 * daemon enqueues, and their completions.
 *
 * Operations enqueued during one loop turn collect in a local list that
 * needs no lock; a prepare handle hands the whole list to the writer just
 * before the loop polls.  One mutex round trip per turn instead of one per
 * metric point, and a turn's operations always share a transaction.  The
 * writer posts finished batches to a locked list and wakes the loop with
 * uv_async, which coalesces wake-ups: each wake-up drains the whole list.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int
store_status_parse(const char *name)
{
	int i;

	for (i = 0; i < IG_STATUS_COUNT; i++)
		if (strcmp(ig_status_names[i], name) == 0)
			return i;
	return -1;
}

/* ---- operations -------------------------------------------------------- */

/* A new operation with extra bytes for the strings and blobs it copies. */
store_op *
store_op_new(enum store_op_type type, int64_t run_id, store_done_cb *cb,
    void *arg, size_t extra)
{
	store_op *op = calloc(1, sizeof(*op) + extra);

	if (op != NULL) {
		op->bytes = sizeof(*op) + extra;
		op->type = type;
		op->run_id = run_id;
		op->cb = cb;
		op->arg = arg;
	}
	return op;
}

/* Copy len bytes of src into op's data at *used; NULL stays NULL.  A
 * string (nul) gets its terminator. */
const void *
store_op_put(store_op *op, size_t *used, const void *src, size_t len, bool nul)
{
	unsigned char *dst = op->data + *used;

	if (src == NULL)
		return NULL;
	memcpy(dst, src, len);
	if (nul)
		dst[len++] = '\0';
	*used += len;
	return dst;
}

size_t
store_str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

const char *
store_op_put_str(store_op *op, size_t *used, const char *s)
{
	return store_op_put(op, used, s, s ? strlen(s) : 0, true);
}

/* n more bytes in the queue. */
static void
count(struct store *s, size_t n)
{
	s->queued_bytes += n;
	if (s->queued_bytes > s->opt.queue_bytes)
		s->full = true;
}

int
store_enqueue(struct store *s, store_op *op)
{
	if (s->local_tail != NULL)
		s->local_tail->next = op;
	else
		s->local_head = op;
	s->local_tail = op;
	/* The async handle keeps the loop alive while work is in flight. */
	if (s->outstanding++ == 0)
		uv_ref((uv_handle_t *)&s->done_async);
	count(s, op->bytes);
	return 0;
}

void
store_charge(struct store *s, store_op *op, size_t n)
{
	op->bytes += n;
	count(s, n);
}

bool
store_full(const struct store *s)
{
	return s->full;
}

void
store_on_drain(struct store *s, store_drain_cb *cb, void *arg)
{
	s->drain_cb = cb;
	s->drain_arg = arg;
}

/* Hand this turn's operations to the writer.  Without memory for the batch
 * they stay local and go next turn. */
void
store_handoff(struct store *s)
{
	store_batch *b;

	if (s->local_head == NULL || (b = calloc(1, sizeof(*b))) == NULL)
		return;
	b->ops = s->local_head;
	s->local_head = s->local_tail = NULL;
	uv_mutex_lock(&s->lock);
	if (s->queue_tail != NULL)
		s->queue_tail->next = b;
	else
		s->queue_head = b;
	s->queue_tail = b;
	uv_cond_signal(&s->wake);
	uv_mutex_unlock(&s->lock);
}

static void
on_prepare(uv_prepare_t *h)
{
	store_handoff(h->data);
}

/* ---- names reserved but not committed ---------------------------------- */

int
store_pending_add(struct store *s, int64_t id, int64_t run_id, int64_t owner,
    const char *name)
{
	size_t len = strlen(name) + 1;
	store_pending *p = malloc(sizeof(*p) + len);

	if (p == NULL)
		return IG_PROTO_INTERNAL;
	p->id = id;
	p->run_id = run_id;
	p->owner = owner;
	memcpy(p->name, name, len);
	p->next = s->pending;
	s->pending = p;
	return 0;
}

const store_pending *
store_pending_find(
    const struct store *s, int64_t run_id, int64_t owner, const char *name)
{
	const store_pending *p;

	for (p = s->pending; p != NULL; p = p->next)
		if (p->run_id == run_id && p->owner == owner &&
		    strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static void
pending_remove(struct store *s, int64_t id, int64_t run_id)
{
	store_pending **pp, *p;

	for (pp = &s->pending; (p = *pp) != NULL; pp = &p->next)
		if (p->id == id && p->run_id == run_id) {
			*pp = p->next;
			free(p);
			return;
		}
}

/* ---- the write-ahead log ------------------------------------------------ */

bool
store_wal_gone(const struct store *s)
{
	struct stat st;

	return lstat(s->wal_path, &st) == -1 || st.st_dev != s->wal_dev ||
	    st.st_ino != s->wal_ino;
}

/* Refuse writes from now on, and say so once: the daemon logs it. */
void
store_lose_wal(struct store *s)
{
	ig_err err;

	if (s->wal_lost)
		return;
	s->wal_lost = true;
	ig_err_set(
	    &err, IG_PROTO_UNAVAILABLE, STORE_WAL_LOST, s->path, s->wal_path);
	if (s->error_cb != NULL)
		s->error_cb(s->error_arg, 0, &err);
}

/* Remember the WAL SQLite has open (the readers opened it by now). */
static int
find_wal(struct store *s, char *err, size_t errlen)
{
	size_t len = strlen(s->path) + sizeof("-wal");
	struct stat st;

	if ((s->wal_path = malloc(len)) == NULL) {
		store_errf(err, errlen, "database %s: out of memory", s->path);
		return IG_PROTO_INTERNAL;
	}
	snprintf(s->wal_path, len, "%s-wal", s->path);
	if (lstat(s->wal_path, &st) == -1) {
		store_errf(err, errlen,
		    "database %s: no write-ahead log %s after "
		    "opening it",
		    s->path, s->wal_path);
		return IG_PROTO_INTERNAL;
	}
	s->wal_dev = st.st_dev;
	s->wal_ino = st.st_ino;
	return 0;
}

/* ---- completions ------------------------------------------------------- */

typedef struct reported {
	int64_t *runs;
	size_t n, cap;
} reported;

/* Has run_id's failure in this batch been told already?  Remembers it. */
static bool
already_reported(reported *r, int64_t run_id)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->runs[i] == run_id)
			return true;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		int64_t *v = realloc(r->runs, cap * sizeof(*v));

		if (v == NULL)
			return false; /* tell again rather than not at all */
		r->runs = v;
		r->cap = cap;
	}
	r->runs[r->n++] = run_id;
	return false;
}

static void
complete_op(struct store *s, store_op *op, const store_batch *b, reported *rep)
{
	int code = op->code ? op->code : b->code;
	const char *msg = op->code ? op->errmsg : b->errmsg;
	ig_err err;

	/* the writer keeps a code and a string, not an ig_err, on every
	 * operation: a failure is rare, an operation is not */
	if (code != 0)
		ig_err_set(&err, code, "%s",
		    msg != NULL ?
		        msg :
		        "out of memory while reporting a store error");
	if (op->type == OP_CREATE_RUN && op->u.create.name != NULL)
		pending_remove(s, op->run_id, 0);
	else if (op->type == OP_SERIES)
		pending_remove(s, op->u.series.id, op->run_id);
	if (code != 0 && op->run_id != 0 && s->error_cb != NULL &&
	    !already_reported(rep, op->run_id))
		s->error_cb(s->error_arg, op->run_id, &err);
	if (op->cb != NULL)
		op->cb(op->arg, code != 0 ? &err : NULL);
	s->queued_bytes -= op->bytes;
	store_op_free(op);
	if (--s->outstanding == 0)
		uv_unref((uv_handle_t *)&s->done_async);
}

static void
on_done(uv_async_t *h)
{
	struct store *s = h->data;
	store_batch *b, *next_batch;
	store_op *op, *next_op;

	uv_mutex_lock(&s->lock);
	b = s->done_head;
	s->done_head = s->done_tail = NULL;
	uv_mutex_unlock(&s->lock);
	for (; b != NULL; b = next_batch) {
		reported rep = { NULL, 0, 0 };

		next_batch = b->next;
		if (b->wal_lost)
			store_lose_wal(s);
		if (b->commit_s > 0)
			hist_add(&s->commit_seconds, b->commit_s);
		for (op = b->ops; op != NULL; op = next_op) {
			next_op = op->next;
			complete_op(s, op, b, &rep);
		}
		free(rep.runs);
		free(b->errmsg);
		free(b);
	}
	/* half the bound: those held back go on for a while before the
	 * queue fills again */
	if (s->full && s->queued_bytes <= s->opt.queue_bytes / 2) {
		s->full = false;
		if (s->drain_cb != NULL)
			s->drain_cb(s->drain_arg);
	}
}

/* ---- open and close ---------------------------------------------------- */

static void
options(struct store_options *o, const struct store_options *in)
{
	if (in != NULL)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (o->busy_timeout_ms <= 0)
		o->busy_timeout_ms = 5000;
	if (o->keep_checkpoints <= 0)
		o->keep_checkpoints = 1;
	if (o->keep_log_lines <= 0)
		o->keep_log_lines = 1000;
	if (o->wal_truncate_commits <= 0)
		o->wal_truncate_commits = 256;
	if (o->queue_bytes == 0)
		o->queue_bytes = STORE_QUEUE_BYTES_DEFAULT;
}

static void
free_store(struct store *s)
{
	store_pending *p;

	while ((p = s->pending) != NULL) {
		s->pending = p->next;
		free(p);
	}
	uv_cond_destroy(&s->wake);
	uv_mutex_destroy(&s->lock);
	free(s->wal_path);
	free(s->path);
	free(s);
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct store *s = h->data;

	if (--s->open_handles == 0)
		free_store(s);
}

/* Release what open set up; the memory goes with the last handle, or now
 * when there is none. */
static void
release(struct store *s)
{
	store_reader_close(s->reader);
	sqlite3_close(s->db);
	store_lock_release(s->lock_fd);
	if (s->open_handles == 0) {
		free_store(s);
		return;
	}
	uv_close((uv_handle_t *)&s->handoff, on_handle_closed);
	if (s->open_handles == 2)
		uv_close((uv_handle_t *)&s->done_async, on_handle_closed);
}

/* The loop's read connection; its error, short, joins store_open's text. */
static int
open_reader(struct store *s, char *err, size_t errlen)
{
	ig_err e;

	if ((s->reader = store_reader_open(s->path, &e)) != NULL)
		return 0;
	store_errf(err, errlen, "%s", e.message);
	return e.code;
}

/* The loop side: a prepare handle for hand-offs, an async for completions.
 * Neither keeps the loop alive on its own (see enqueue). */
static int
init_handles(struct store *s, char *err, size_t errlen)
{
	int rc;

	s->handoff.data = s->done_async.data = s;
	uv_prepare_init(s->loop, &s->handoff);
	uv_prepare_start(&s->handoff, on_prepare);
	uv_unref((uv_handle_t *)&s->handoff);
	s->open_handles = 1;
	if ((rc = uv_async_init(s->loop, &s->done_async, on_done)) != 0) {
		store_errf(
		    err, errlen, "database %s: %s", s->path, uv_strerror(rc));
		return rc;
	}
	uv_unref((uv_handle_t *)&s->done_async);
	s->open_handles = 2;
	return 0;
}

struct store *
store_open(uv_loop_t *loop, const char *path, const struct store_options *opt,
    char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	int64_t max_run, max_series;

	if (s == NULL || (s->path = store_strdup(path)) == NULL ||
	    uv_mutex_init(&s->lock) != 0) {
		store_errf(err, errlen, "database %s: out of memory", path);
		if (s != NULL)
			free(s->path);
		free(s);
		return NULL;
	}
	if (uv_cond_init(&s->wake) != 0) {
		store_errf(err, errlen, "database %s: out of memory", path);
		uv_mutex_destroy(&s->lock);
		free(s->path);
		free(s);
		return NULL;
	}
	s->loop = loop;
	s->lock_fd = -1;
	hist_init(&s->commit_seconds, HIST_SECONDS);
	options(&s->opt, opt);
	/* the directory first: every file in it is then ours to open */
	if (store_check_dir(path, err, errlen) != 0 ||
	    (s->lock_fd = store_lock_acquire(path, err, errlen)) == -1 ||
	    store_key_load(path, s->key, err, errlen) != 0 ||
	    (s->db = store_schema_open(path, &s->opt, s->key, err, errlen)) ==
	        NULL ||
	    open_reader(s, err, errlen) != 0 || find_wal(s, err, errlen) != 0)
		goto fail;
	if (store_reader_max_ids(s->reader, &max_run, &max_series) != 0) {
		store_errf(err, errlen, "%s", store_reader_error(s->reader));
		goto fail;
	}
	s->next_run_id = max_run + 1;
	s->next_series_id = max_series + 1;
	if (init_handles(s, err, errlen) != 0 ||
	    store_writer_start(s, err, errlen) != 0)
		goto fail;
	return s;
fail:
	release(s);
	return NULL;
}

void
store_close(struct store *s)
{
	s->closing = true;
	store_handoff(s);
	store_writer_stop(s);
	on_done(&s->done_async);
	release(s);
}

void
store_on_error(struct store *s, store_error_cb *cb, void *arg)
{
	s->error_cb = cb;
	s->error_arg = arg;
}

struct store_reader *
store_loop_reader(struct store *s)
{
	return s->reader;
}

const char *
store_path(const struct store *s)
{
	return s->path;
}

void
store_stats(const struct store *s, struct store_stats *st)
{
	st->queued = s->outstanding;
	st->queued_bytes = s->queued_bytes;
	st->commit_seconds = &s->commit_seconds;
}

bool
store_run_trusted(const struct store *s, const struct store_run *run)
{
	return store_tag_ok(s->key, run->id, run->owner_uid, run->spec,
	    run->spec_len, run->tag, run->tag_len);
}
