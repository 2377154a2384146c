/*
 * store_ops.c - the operations the daemon enqueues (create a run, record
 * its status, progress, points, checkpoints, events and log lines, delete
 * or truncate it, flush), each checked and copied into one store_op that
 * the writer thread applies in the turn's transaction (store.c hands them
 * over; store_writer.c applies them).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* ---- the operations ---------------------------------------------------- */

static int
closed(const struct store *s, ig_err *err)
{
	if (!s->closing)
		return 0;
	return ig_err_set(err, IG_PROTO_UNAVAILABLE,
	    "database %s: the store is closing", s->path);
}

int
store_writable(struct store *s, ig_err *err)
{
	int rc;

	if ((rc = closed(s, err)) != 0)
		return rc;
	if (!s->wal_lost && store_wal_gone(s))
		store_lose_wal(s);
	if (!s->wal_lost)
		return 0;
	return ig_err_set(
	    err, IG_PROTO_UNAVAILABLE, STORE_WAL_LOST, s->path, s->wal_path);
}

static int
nomem(const struct store *s, ig_err *err)
{
	return ig_err_set(
	    err, IG_PROTO_INTERNAL, "database %s: out of memory", s->path);
}

int
store_create_run(struct store *s, const struct store_run *run, int64_t *id,
    store_done_cb *cb, void *arg, ig_err *err)
{
	store_op *op;
	size_t used = 0;
	int64_t other;
	int rc;

	if ((rc = closed(s, err)) != 0)
		return rc;
	if ((unsigned)run->status >= IG_STATUS_COUNT)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "invalid run status %d", (int)run->status);
	if (run->name != NULL) {
		/* The name is free for its owner if neither committed nor
		 * on its way. */
		if (store_pending_find(s, 0, run->owner_uid, run->name) !=
		        NULL ||
		    (rc = store_reader_run_named(
		         s->reader, run->owner_uid, run->name, &other)) == 0)
			return ig_err_set(err, IG_PROTO_CONFLICT,
			    "uid %lu has a run named '%s' already",
			    (unsigned long)run->owner_uid, run->name);
		if (rc != IG_PROTO_NOT_FOUND)
			return ig_err_set(
			    err, rc, "%s", store_reader_error(s->reader));
	}
	op = store_op_new(OP_CREATE_RUN, s->next_run_id, cb, arg,
	    store_str_size(run->name) + run->spec_len);
	if (op == NULL ||
	    (run->name != NULL &&
	        store_pending_add(
	            s, op->run_id, 0, run->owner_uid, run->name))) {
		free(op);
		return nomem(s, err);
	}
	op->u.create.name = store_op_put_str(op, &used, run->name);
	op->u.create.spec = store_op_put(
	    op, &used, run->spec ? run->spec : "", run->spec_len, false);
	op->u.create.spec_len = run->spec_len;
	op->u.create.owner_uid = run->owner_uid;
	op->u.create.status = run->status;
	op->u.create.created = store_now();
	op->u.create.progress = run->progress;
	op->u.create.queue_seq = run->queue_seq;
	*id = s->next_run_id++;
	return store_enqueue(s, op);
}

int
store_set_status(struct store *s, int64_t run_id, enum ig_status status,
    const char *reason, store_done_cb *cb, void *arg)
{
	store_op *op;
	size_t used = 0;

	if (s->closing)
		return IG_PROTO_UNAVAILABLE;
	if ((unsigned)status >= IG_STATUS_COUNT)
		return IG_PROTO_INVALID_PARAMS;
	if ((op = store_op_new(
	         OP_STATUS, run_id, cb, arg, store_str_size(reason))) == NULL)
		return IG_PROTO_INTERNAL;
	op->u.status.status = status;
	op->u.status.reason = store_op_put_str(op, &used, reason);
	op->u.status.time = store_now();
	return store_enqueue(s, op);
}

int
store_set_progress(struct store *s, int64_t run_id,
    const struct store_progress *p, store_done_cb *cb, void *arg)
{
	store_op *op;

	if (s->closing)
		return IG_PROTO_UNAVAILABLE;
	if ((op = store_op_new(OP_PROGRESS, run_id, cb, arg, 0)) == NULL)
		return IG_PROTO_INTERNAL;
	op->u.progress = *p;
	return store_enqueue(s, op);
}

int
store_series(
    struct store *s, int64_t run_id, const char *name, int64_t *id, ig_err *err)
{
	const store_pending *p;
	store_op *op;
	size_t used = 0;
	int rc;

	if ((rc = closed(s, err)) != 0)
		return rc;
	if ((p = store_pending_find(s, run_id, 0, name)) != NULL) {
		*id = p->id;
		return 0;
	}
	rc = store_reader_series_named(s->reader, run_id, name, id);
	if (rc != IG_PROTO_NOT_FOUND) {
		if (rc != 0)
			ig_err_set(
			    err, rc, "%s", store_reader_error(s->reader));
		return rc;
	}
	op = store_op_new(OP_SERIES, run_id, NULL, NULL, store_str_size(name));
	if (op == NULL ||
	    store_pending_add(s, s->next_series_id, run_id, 0, name)) {
		free(op);
		return nomem(s, err);
	}
	op->u.series.id = s->next_series_id;
	op->u.series.name = store_op_put_str(op, &used, name);
	*id = s->next_series_id++;
	return store_enqueue(s, op);
}

int
store_points(
    struct store *s, int64_t run_id, const struct store_point *p, size_t n)
{
	store_op *op = s->local_tail;

	if (s->closing)
		return IG_PROTO_UNAVAILABLE;
	/* Consecutive points of one run share an operation. */
	if (op == NULL || op->type != OP_POINTS || op->run_id != run_id) {
		if ((op = store_op_new(OP_POINTS, run_id, NULL, NULL, 0)) ==
		    NULL)
			return IG_PROTO_INTERNAL;
		store_enqueue(s, op);
	}
	if (op->u.points.cap - op->u.points.n < n) {
		size_t cap = op->u.points.cap ? 2 * op->u.points.cap : 64;
		struct store_point *v;

		while (cap - op->u.points.n < n)
			cap *= 2;
		if ((v = realloc(op->u.points.v, cap * sizeof(*v))) == NULL)
			return IG_PROTO_INTERNAL;
		store_charge(s, op, (cap - op->u.points.cap) * sizeof(*v));
		op->u.points.v = v;
		op->u.points.cap = cap;
	}
	memcpy(op->u.points.v + op->u.points.n, p, n * sizeof(*p));
	op->u.points.n += n;
	return 0;
}

/*
 * A run that checkpoints often (a fast engine, every 1000 iterations) may
 * take several checkpoints in one loop turn.  Everything a turn enqueues
 * commits in one transaction, so only the last of them can ever be seen:
 * the new one takes the place of one still in this turn's queue, and the
 * writer stores one checkpoint per run and turn.  Only when neither has a
 * callback, which would otherwise never hear of its checkpoint.
 */
static bool
replace_checkpoint(struct store *s, store_op *op)
{
	store_op **pp;

	for (pp = &s->local_head; *pp != NULL; pp = &(*pp)->next) {
		store_op *old = *pp;
		/* a sealed file's record is never dropped: the file would
		 * stay on disk with nothing to name it or delete it */
		if (old->type != OP_CHECKPOINT || old->run_id != op->run_id ||
		    old->cb != NULL || old->u.ckpt.c.file != NULL)
			continue;
		op->next = old->next;
		*pp = op;
		s->queued_bytes += op->bytes - old->bytes;
		if (s->local_tail == old)
			s->local_tail = op;
		store_op_free(old);
		return true;
	}
	return false;
}

int
store_save_checkpoint(struct store *s, const struct store_checkpoint *ckpt,
    const struct store_progress *p, store_done_cb *cb, void *arg)
{
	struct store_checkpoint *c;
	store_op *op;
	size_t used = 0;

	if (s->closing)
		return IG_PROTO_UNAVAILABLE;
	op = store_op_new(OP_CHECKPOINT, ckpt->run_id, cb, arg,
	    ckpt->state_dict_len + ckpt->process_state_len +
	        store_str_size(ckpt->file));
	if (op == NULL)
		return IG_PROTO_INTERNAL;
	c = &op->u.ckpt.c;
	*c = *ckpt;
	c->state_dict =
	    store_op_put(op, &used, ckpt->state_dict ? ckpt->state_dict : "",
	        ckpt->state_dict_len, false);
	c->process_state = store_op_put(
	    op, &used, ckpt->process_state, ckpt->process_state_len, false);
	c->file = store_op_put_str(op, &used, ckpt->file);
	if (c->wall == 0)
		c->wall = store_now();
	op->u.ckpt.progress = *p;
	if (cb == NULL && replace_checkpoint(s, op))
		return 0;
	return store_enqueue(s, op);
}

int
store_add_event(
    struct store *s, const struct store_event *ev, store_done_cb *cb, void *arg)
{
	store_op *op;
	size_t used = 0;

	if (s->closing)
		return IG_PROTO_UNAVAILABLE;
	if (ev->kind == NULL)
		return IG_PROTO_INVALID_PARAMS;
	op = store_op_new(OP_EVENT, ev->run_id, cb, arg,
	    store_str_size(ev->kind) + store_str_size(ev->detail));
	if (op == NULL)
		return IG_PROTO_INTERNAL;
	op->u.event = *ev;
	op->u.event.kind = store_op_put_str(op, &used, ev->kind);
	op->u.event.detail = store_op_put_str(op, &used, ev->detail);
	if (op->u.event.time == 0)
		op->u.event.time = store_now();
	return store_enqueue(s, op);
}

int
store_log(struct store *s, int64_t run_id, const char *line, size_t len)
{
	store_op *op;
	size_t used = 0;

	if (s->closing)
		return IG_PROTO_UNAVAILABLE;
	if ((op = store_op_new(OP_LOG, run_id, NULL, NULL, len + 1)) == NULL)
		return IG_PROTO_INTERNAL;
	op->u.log.line = store_op_put(op, &used, line ? line : "", len, true);
	op->u.log.len = len;
	op->u.log.time = store_now();
	return store_enqueue(s, op);
}

/* An operation that carries a run id and at most one number. */
static int
enqueue_simple(struct store *s, enum store_op_type type, int64_t run_id,
    int64_t v, store_done_cb *cb, void *arg)
{
	store_op *op;

	if (s->closing)
		return IG_PROTO_UNAVAILABLE;
	if ((op = store_op_new(type, run_id, cb, arg, 0)) == NULL)
		return IG_PROTO_INTERNAL;
	if (type == OP_TRUNCATE)
		op->u.iteration = v;
	else if (type == OP_LIMIT_SIZE)
		op->u.max_bytes = v;
	return store_enqueue(s, op);
}

int
store_delete_run(struct store *s, int64_t run_id, store_done_cb *cb, void *arg)
{
	return enqueue_simple(s, OP_DELETE_RUN, run_id, 0, cb, arg);
}

int
store_truncate(struct store *s, int64_t run_id, int64_t iteration,
    store_done_cb *cb, void *arg)
{
	return enqueue_simple(s, OP_TRUNCATE, run_id, iteration, cb, arg);
}

int
store_limit_size(
    struct store *s, int64_t max_bytes, store_done_cb *cb, void *arg)
{
	return enqueue_simple(s, OP_LIMIT_SIZE, 0, max_bytes, cb, arg);
}

int
store_flush(struct store *s, store_done_cb *cb, void *arg)
{
	int rc = enqueue_simple(s, OP_FLUSH, 0, 0, cb, arg);

	if (rc == 0)
		store_handoff(s);
	return rc;
}
