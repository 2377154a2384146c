/*
 * store_apply.c - what each operation does to the database, on the writer
 * thread inside the turn's transaction (store_writer.c): the SQL of
 * creating a run, recording its status, progress, points, checkpoints,
 * events and log lines, deleting and truncating it, and the checkpoint
 * files a dropped record leaves to unlink after the commit.
 */
#include <sys/fsuid.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_int.h"

/* An UPDATE or DELETE of one run that changed nothing: no such run
 * (SQLITE_NOTFOUND, see store_code()). */
static int
changed(struct store *s, int rc)
{
	if (rc == SQLITE_OK && sqlite3_changes(s->db) == 0)
		return SQLITE_NOTFOUND;
	return rc;
}

static int
bind_progress(sqlite3_stmt *st, int64_t run_id, const struct store_progress *p)
{
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, p->epoch);
	sqlite3_bind_int64(st, 3, p->iteration);
	store_bind_opt(st, 4, p->epoch_length);
	return store_bind_opt(st, 5, p->max_epochs);
}

static int
apply_create(struct store *s, const store_op *op)
{
	sqlite3_stmt *st = writer_stmt(s, ST_CREATE_RUN);

	if (st == NULL)
		return sqlite3_errcode(s->db);
	sqlite3_bind_int64(st, 1, op->run_id);
	store_bind_text(st, 2, op->u.create.name);
	sqlite3_bind_int64(st, 3, op->u.create.owner_uid);
	sqlite3_bind_blob64(
	    st, 4, op->u.create.spec, op->u.create.spec_len, SQLITE_STATIC);
	sqlite3_bind_text(
	    st, 5, ig_status_name(op->u.create.status), -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 6, op->u.create.created);
	sqlite3_bind_int64(st, 7, op->u.create.progress.epoch);
	sqlite3_bind_int64(st, 8, op->u.create.progress.iteration);
	store_bind_opt(st, 9, op->u.create.progress.epoch_length);
	store_bind_opt(st, 10, op->u.create.progress.max_epochs);
	sqlite3_bind_int64(st, 11, op->u.create.queue_seq);
	return store_step_done(st);
}

static int
apply_status(struct store *s, const store_op *op)
{
	sqlite3_stmt *st = writer_stmt(s, ST_STATUS);
	int rc;

	if (st == NULL)
		return sqlite3_errcode(s->db);
	sqlite3_bind_int64(st, 1, op->run_id);
	sqlite3_bind_text(
	    st, 2, ig_status_name(op->u.status.status), -1, SQLITE_STATIC);
	store_bind_text(st, 3, op->u.status.reason);
	sqlite3_bind_double(st, 4, op->u.status.time);
	if ((rc = changed(s, store_step_done(st))) != SQLITE_OK)
		return rc;
	/* an ended run's history is all sealed: nothing of it stays rows */
	return op->u.status.status >= IG_STATUS_COMPLETED ?
	    store_chunks_seal_run(s, op->run_id) :
	    SQLITE_OK;
}

static int
apply_progress(struct store *s, int64_t run_id, const struct store_progress *p)
{
	sqlite3_stmt *st = writer_stmt(s, ST_PROGRESS);

	if (st == NULL)
		return sqlite3_errcode(s->db);
	bind_progress(st, run_id, p);
	return changed(s, store_step_done(st));
}

static int
apply_series(struct store *s, const store_op *op)
{
	sqlite3_stmt *st = writer_stmt(s, ST_SERIES);

	if (st == NULL)
		return sqlite3_errcode(s->db);
	sqlite3_bind_int64(st, 1, op->u.series.id);
	sqlite3_bind_int64(st, 2, op->run_id);
	store_bind_text(st, 3, op->u.series.name);
	return store_step_done(st);
}

/* Run a statement that binds a run id and one number. */
static int
run_for(struct store *s, enum stmt_id id, int64_t run_id, int64_t v)
{
	sqlite3_stmt *st = writer_stmt(s, id);

	if (st == NULL)
		return sqlite3_errcode(s->db);
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, v);
	return store_step_done(st);
}

/* Step a DELETE ... RETURNING file, owner to its end; the files are
 * unlinked once the transaction has committed (unlink_retired). */
static int
retire(struct store *s, sqlite3_stmt *st)
{
	struct store_retired *v;
	const char *file;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((file = (const char *)sqlite3_column_text(st, 0)) == NULL)
			continue;
		v = realloc(s->retired, (s->nretired + 1) * sizeof(*v));
		if (v == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		s->retired = v;
		v[s->nretired].owner = (uint32_t)sqlite3_column_int64(st, 1);
		if ((v[s->nretired].file = store_strdup(file)) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		s->nretired++;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Forget the retired files past n (their deletes rolled back). */
void
store_unretire(struct store *s, size_t n)
{
	while (s->nretired > n)
		free(s->retired[--s->nretired].file);
}

/*
 * After a commit: unlink the retired files no record names any more, as
 * their run's owner (a shared checkpoint.dir may squash root, and a path
 * an owner controls is never followed as root).  setfsuid is this
 * thread's alone.
 */
void
store_unlink_retired(struct store *s)
{
	sqlite3_stmt *st = writer_stmt(s, ST_CKPT_USED);
	bool root = geteuid() == 0;

	for (size_t i = 0; i < s->nretired; i++) {
		const struct store_retired *r = &s->retired[i];
		bool used = false;

		if (st != NULL) {
			sqlite3_bind_text(st, 1, r->file, -1, SQLITE_STATIC);
			used = sqlite3_step(st) == SQLITE_ROW;
			sqlite3_reset(st);
		}
		if (used)
			continue;
		if (root)
			setfsuid(r->owner);
		store_remove(r->file);
		if (root)
			setfsuid(0);
	}
	store_unretire(s, 0);
}

static int
apply_checkpoint(struct store *s, const store_op *op)
{
	const struct store_checkpoint *c = &op->u.ckpt.c;
	sqlite3_stmt *st = writer_stmt(s, ST_CKPT_INSERT);
	sqlite3_stmt *trim = writer_stmt(s, ST_CKPT_TRIM);
	int rc;

	if (st == NULL || trim == NULL)
		return sqlite3_errcode(s->db);
	sqlite3_bind_int64(st, 1, op->run_id);
	sqlite3_bind_int64(st, 2, c->epoch);
	sqlite3_bind_int64(st, 3, c->iteration);
	sqlite3_bind_blob64(
	    st, 4, c->state_dict, c->state_dict_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, c->data_pass);
	sqlite3_bind_int64(st, 6, c->data_pos);
	if (c->process_state != NULL)
		sqlite3_bind_blob64(st, 7, c->process_state,
		    c->process_state_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_double(st, 8, c->wall);
	if (c->file != NULL) {
		sqlite3_bind_text(st, 9, c->file, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 10, c->file_size);
		sqlite3_bind_int64(st, 11, (int64_t)c->file_sum);
	} else {
		sqlite3_bind_null(st, 9);
		sqlite3_bind_null(st, 10);
		sqlite3_bind_null(st, 11);
	}
	if (isnan(c->score))
		sqlite3_bind_null(st, 12);
	else
		sqlite3_bind_double(st, 12, c->score);
	if ((rc = store_step_done(st)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(trim, 1, op->run_id);
	sqlite3_bind_int64(
	    trim, 2, c->keep_last > 0 ? c->keep_last : s->opt.keep_checkpoints);
	sqlite3_bind_int64(trim, 3, c->keep_best);
	sqlite3_bind_int64(trim, 4, c->best_sign);
	if ((rc = retire(s, trim)) != SQLITE_OK)
		return rc;
	return apply_progress(s, op->run_id, &op->u.ckpt.progress);
}

static int
apply_event(struct store *s, const store_op *op)
{
	const struct store_event *ev = &op->u.event;
	sqlite3_stmt *st = writer_stmt(s, ST_EVENT);

	if (st == NULL)
		return sqlite3_errcode(s->db);
	sqlite3_bind_int64(st, 1, op->run_id);
	sqlite3_bind_double(st, 2, ev->time);
	store_bind_text(st, 3, ev->kind);
	sqlite3_bind_int64(st, 4, ev->epoch);
	sqlite3_bind_int64(st, 5, ev->iteration);
	store_bind_text(st, 6, ev->detail);
	return store_step_done(st);
}

static int
apply_log(struct store *s, const store_op *op)
{
	sqlite3_stmt *st = writer_stmt(s, ST_LOG_INSERT);
	int rc;

	if (st == NULL)
		return sqlite3_errcode(s->db);
	sqlite3_bind_int64(st, 1, op->run_id);
	sqlite3_bind_double(st, 2, op->u.log.time);
	sqlite3_bind_text64(
	    st, 3, op->u.log.line, op->u.log.len, SQLITE_STATIC, SQLITE_UTF8);
	if ((rc = store_step_done(st)) != SQLITE_OK)
		return rc;
	return run_for(s, ST_LOG_TRIM, op->run_id, s->opt.keep_log_lines);
}

static int
apply_delete(struct store *s, const store_op *op)
{
	sqlite3_stmt *st = writer_stmt(s, ST_DELETE_RUN);

	if (st == NULL)
		return sqlite3_errcode(s->db);
	sqlite3_bind_int64(st, 1, op->run_id);
	return changed(s, store_step_done(st));
}

static int
apply_truncate(struct store *s, const store_op *op)
{
	sqlite3_stmt *st = writer_stmt(s, ST_TRUNC_CKPTS);
	int rc = store_chunks_truncate(s, op->run_id, op->u.iteration);

	if (rc != SQLITE_OK ||
	    (rc = run_for(s, ST_TRUNC_EVENTS, op->run_id, op->u.iteration)) !=
	        SQLITE_OK)
		return rc;
	if (st == NULL)
		return sqlite3_errcode(s->db);
	sqlite3_bind_int64(st, 1, op->run_id);
	sqlite3_bind_int64(st, 2, op->u.iteration);
	return retire(s, st);
}

static int
apply_limit(struct store *s, const store_op *op)
{
	char sql[64];
	int64_t pages = 2147483646; /* SQLite clamps to its maximum */

	if (op->u.max_bytes > 0) {
		sqlite3_stmt *st = NULL;
		int64_t page_size = 4096;

		if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st,
		        NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			page_size = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		pages = op->u.max_bytes / page_size;
		if (pages < 1)
			pages = 1;
	}
	snprintf(
	    sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)pages);
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

int
store_apply(struct store *s, const store_op *op)
{
	switch (op->type) {
	case OP_CREATE_RUN:
		return apply_create(s, op);
	case OP_STATUS:
		return apply_status(s, op);
	case OP_PROGRESS:
		return apply_progress(s, op->run_id, &op->u.progress);
	case OP_SERIES:
		return apply_series(s, op);
	case OP_POINTS:
		return store_chunks_append(s, op->u.points.v, op->u.points.n);
	case OP_CHECKPOINT:
		return apply_checkpoint(s, op);
	case OP_EVENT:
		return apply_event(s, op);
	case OP_LOG:
		return apply_log(s, op);
	case OP_DELETE_RUN:
		return apply_delete(s, op);
	case OP_TRUNCATE:
		return apply_truncate(s, op);
	case OP_LIMIT_SIZE:
		return apply_limit(s, op);
	case OP_LAUNCH:
		return store_apply_launch(s, op);
	case OP_FLUSH:
		break;
	}
	return SQLITE_OK;
}
