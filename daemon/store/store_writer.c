/*
 * store_writer.c - the writer thread: commits the loop's operations in
 * order, one transaction per wake-up, on its own connection.
 *
 * Each wake-up takes every batch queued so far and commits them in one
 * BEGIN IMMEDIATE transaction; each operation runs in a savepoint.  An
 * error that belongs to one operation (a constraint, a missing run) rolls
 * back that operation only and the rest commit.  Any other error (disk
 * full, I/O, busy) rolls back the whole transaction: every operation in it
 * fails with that message, and what committed before stays.
 */
#include <sys/fsuid.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_int.h"

/* Idle this long after a commit: checkpoint the WAL. */
#define IDLE_NS (UINT64_C(1000) * 1000 * 1000)

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT op",
	[ST_RELEASE] = "RELEASE op",
	[ST_ROLLBACK_TO] = "ROLLBACK TO op",
	[ST_CREATE_RUN] =
	    "INSERT INTO runs (id, name, owner_uid, spec, status,"
	    " created, started, epoch, iteration, epoch_length, max_epochs,"
	    " tag, queue_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
	    " CASE WHEN ?5 = 'running' THEN ?6 END, ?7, ?8, ?9, ?10,"
	    " ignite_tag(?1, ?3, ?4), ?11)",
	[ST_STATUS] =
	    "UPDATE runs SET status = ?2, reason = ?3,"
	    " started = CASE WHEN ?2 = 'running'"
	    "   THEN coalesce(started, ?4) ELSE started END,"
	    " finished = CASE WHEN ?2 IN ('completed', 'terminated', 'failed')"
	    "   THEN ?4 END"
	    " WHERE id = ?1",
	[ST_PROGRESS] = "UPDATE runs SET epoch = ?2, iteration = ?3,"
	                " epoch_length = ?4, max_epochs = ?5 WHERE id = ?1",
	[ST_SERIES] =
	    "INSERT INTO series (id, run_id, name) VALUES (?1, ?2, ?3)",
	/* a series' open part (store_chunks.c) */
	[ST_OPEN_GET] = "SELECT open_n, open_first FROM series WHERE id = ?1",
	[ST_OPEN_SET] = "UPDATE series SET open_n = ?2, open_first = ?3"
	                " WHERE id = ?1",
	[ST_OPEN_READ] = "SELECT data FROM chunks WHERE series_id = ?1"
	                 " AND first >= ?2 ORDER BY first",
	[ST_OPEN_CLEAR] = "DELETE FROM chunks WHERE series_id = ?1"
	                  " AND first >= ?2",
	[ST_OPEN_RECOUNT] =
	    "UPDATE series SET (open_n, open_first) = " STORE_OPEN_PART(
	        "?1") " WHERE id = ?1",
	[ST_CHUNK_INSERT] = STORE_CHUNK_INSERT,
	[ST_CHUNK_LAST] = "SELECT last FROM chunks WHERE series_id = ?1"
	                  " ORDER BY first DESC LIMIT 1",
	[ST_CHUNK_STRADDLE] = "SELECT first, data FROM chunks"
	                      " WHERE series_id = ?1 AND first <= ?2"
	                      " AND last > ?2",
	[ST_CHUNK_DELETE] = "DELETE FROM chunks WHERE series_id = ?1"
	                    " AND first = ?2",
	[ST_TRUNC_CHUNKS] =
	    "DELETE FROM chunks WHERE series_id IN"
	    " (SELECT id FROM series WHERE run_id = ?1) AND first > ?2",
	[ST_RUN_SERIES] = "SELECT id FROM series WHERE run_id = ?1",
	[ST_CKPT_INSERT] =
	    "INSERT INTO checkpoints (run_id, seq, epoch,"
	    " iteration, state_dict, data_pass, data_pos, process_state, wall,"
	    " file, file_size, file_sum, score)"
	    " VALUES (?1, coalesce((SELECT max(seq) FROM checkpoints"
	    "   WHERE run_id = ?1), 0) + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
	    " ?9, ?10, ?11, ?12)",
	/* all but the newest ?2 and the ?3 best by score * ?4 */
	[ST_CKPT_TRIM] =
	    "DELETE FROM checkpoints WHERE run_id = ?1"
	    " AND seq NOT IN (SELECT seq FROM checkpoints WHERE run_id = ?1"
	    "   ORDER BY seq DESC LIMIT ?2)"
	    " AND seq NOT IN (SELECT seq FROM checkpoints WHERE run_id = ?1"
	    "   AND score IS NOT NULL AND ?4 != 0"
	    "   ORDER BY score * ?4 DESC, seq DESC LIMIT ?3)"
	    " RETURNING file, (SELECT owner_uid FROM runs WHERE id = ?1)",
	[ST_CKPT_USED] = "SELECT 1 FROM checkpoints WHERE file = ?1",
	[ST_TRUNC_CKPTS] =
	    "DELETE FROM checkpoints WHERE run_id = ?1 AND iteration > ?2"
	    " RETURNING file, (SELECT owner_uid FROM runs WHERE id = ?1)",
	[ST_EVENT] = "INSERT INTO events (run_id, time, kind, epoch, iteration,"
	             " detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_LOG_INSERT] = "INSERT INTO logs (run_id, seq, time, line)"
	                  " VALUES (?1, coalesce((SELECT max(seq) FROM logs"
	                  "   WHERE run_id = ?1), 0) + 1, ?2, ?3)",
	[ST_LOG_TRIM] = "DELETE FROM logs WHERE run_id = ?1 AND seq <="
	                " (SELECT max(seq) FROM logs WHERE run_id = ?1) - ?2",
	[ST_DELETE_RUN] = "DELETE FROM runs WHERE id = ?1",
	[ST_TRUNC_EVENTS] = "DELETE FROM events WHERE run_id = ?1"
	                    " AND iteration > ?2",
};

/* For messages: "cannot <what> <run id>". */
static const char *const op_what[] = {
	[OP_CREATE_RUN] = "create run",
	[OP_STATUS] = "set the status of run",
	[OP_PROGRESS] = "set the progress of run",
	[OP_SERIES] = "create a metric series of run",
	[OP_POINTS] = "append metric points of run",
	[OP_CHECKPOINT] = "save a checkpoint of run",
	[OP_EVENT] = "record an event of run",
	[OP_LOG] = "append a log line of run",
	[OP_DELETE_RUN] = "delete run",
	[OP_TRUNCATE] = "truncate the history of run",
	[OP_LIMIT_SIZE] = "limit the database size",
	[OP_LAUNCH] = "record the launch of run",
	[OP_FLUSH] = "flush",
};

struct store_writer_stmts {
	sqlite3_stmt *st[ST_COUNT];
};

sqlite3_stmt *
writer_stmt(struct store *s, enum stmt_id id)
{
	return store_stmt(s->db, &s->stmts->st[id], stmt_sql[id]);
}

/* Run a statement that binds nothing. */
int
writer_run(struct store *s, enum stmt_id id)
{
	sqlite3_stmt *st = writer_stmt(s, id);

	return st ? store_step_done(st) : sqlite3_errcode(s->db);
}

/* Errors that concern one operation's data, not the database. */
static bool
op_level(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
	case SQLITE_NOTFOUND:
		return true;
	}
	return false;
}

/* "database PATH: cannot WHAT [RUN]: WHY"; NULL when out of memory. */
static char *
op_error(struct store *s, const store_op *op, int rc)
{
	char msg[1024], run[32] = "";

	if (op->run_id != 0)
		snprintf(run, sizeof(run), " %lld", (long long)op->run_id);
	snprintf(msg, sizeof(msg), "database %s: cannot %s%s: %s", s->path,
	    op_what[op->type], run,
	    rc == SQLITE_NOTFOUND ? "no such run" : sqlite3_errmsg(s->db));
	return store_strdup(msg);
}

/* ---- poisoned runs --------------------------------------------------------- */

static bool
poisoned(const struct store *s, int64_t run_id)
{
	for (size_t i = 0; i < s->npoisoned; i++)
		if (s->poisoned[i] == run_id)
			return true;
	return false;
}

static void
poison(struct store *s, int64_t run_id)
{
	int64_t *v;

	if (run_id == 0 || poisoned(s, run_id))
		return;
	/* out of memory: the run is not held back, as before this existed */
	if ((v = realloc(s->poisoned, (s->npoisoned + 1) * sizeof(*v))) == NULL)
		return;
	s->poisoned = v;
	v[s->npoisoned++] = run_id;
}

static void
cure(struct store *s, int64_t run_id)
{
	for (size_t i = 0; i < s->npoisoned; i++)
		if (s->poisoned[i] == run_id) {
			s->poisoned[i] = s->poisoned[--s->npoisoned];
			return;
		}
}

/* Does op add to a run's history or state, which a poisoned run must not? */
static bool
history_op(const store_op *op)
{
	switch (op->type) {
	case OP_POINTS:
	case OP_CHECKPOINT:
	case OP_PROGRESS:
	case OP_EVENT:
		return true;
	default:
		return false;
	}
}

/* Apply op in a savepoint.  0 when it committed to the transaction or
 * failed alone (op->code set); else the error that sinks the batch. */
static int
apply_in_savepoint(struct store *s, store_op *op)
{
	int rc;

	if (history_op(op) && poisoned(s, op->run_id)) {
		char msg[512];
		snprintf(msg, sizeof(msg),
		    "database %s: cannot %s %lld: an earlier write of this "
		    "run was lost; it must resume from its last checkpoint",
		    s->path, op_what[op->type], (long long)op->run_id);
		op->code = IG_PROTO_CONFLICT;
		op->errmsg = store_strdup(msg);
		return SQLITE_OK;
	}
	if (op->type == OP_TRUNCATE || op->type == OP_DELETE_RUN)
		cure(s, op->run_id);
	if ((rc = writer_run(s, ST_SAVEPOINT)) != SQLITE_OK)
		return rc;
	size_t nretired = s->nretired;
	rc = store_apply(s, op);
	if (rc != SQLITE_OK && op_level(rc)) {
		op->code = store_code(rc);
		op->errmsg = op_error(s, op, rc);
		store_unretire(s, nretired);
		rc = writer_run(s, ST_ROLLBACK_TO);
	}
	if (rc == SQLITE_OK)
		rc = writer_run(s, ST_RELEASE);
	return rc;
}

static void
fail_batches(store_batch *batches, int code, bool wal_lost, const char *msg)
{
	store_batch *b;

	for (b = batches; b != NULL; b = b->next) {
		b->code = code;
		b->wal_lost = wal_lost;
		b->errmsg = msg ? store_strdup(msg) : NULL;
	}
}

/* Commit every operation of batches in one transaction. */
static void
commit(struct store *s, store_batch *batches)
{
	store_batch *b;
	store_op *op = NULL;
	char *msg = NULL;
	bool wal_lost = false;
	int rc = SQLITE_OK;

	if (s->writer_wal_lost) {
		wal_lost = true;
		goto fail;
	}
	if ((rc = writer_run(s, ST_BEGIN)) != SQLITE_OK)
		goto fail;
	for (b = batches; b != NULL; b = b->next)
		for (op = b->ops; op != NULL; op = op->next)
			if ((rc = apply_in_savepoint(s, op)) != SQLITE_OK)
				goto fail;
	/* Once per transaction, last: a stat, not a cost per point.  What
	 * would commit to a removed WAL is lost in a crash. */
	if (store_wal_gone(s)) {
		wal_lost = true;
		goto fail;
	}
	if ((rc = writer_run(s, ST_COMMIT)) == SQLITE_OK) {
		store_unlink_retired(s);
		return;
	}
fail:
	store_unretire(s, 0);
	if (op != NULL)
		msg = op_error(s, op, rc);
	else {
		char buf[PATH_MAX * 2 + 256];

		if (wal_lost)
			snprintf(buf, sizeof(buf), STORE_WAL_LOST, s->path,
			    s->wal_path);
		else
			snprintf(buf, sizeof(buf),
			    "database %s: cannot commit: "
			    "%s",
			    s->path, sqlite3_errmsg(s->db));
		msg = store_strdup(buf);
	}
	if (!sqlite3_get_autocommit(s->db))
		writer_run(s, ST_ROLLBACK);
	if (wal_lost && !s->writer_wal_lost) {
		/* What committed before the WAL went is still in the file
		 * SQLite holds open: copy it into the database, where a crash
		 * cannot lose it.  Nothing commits after. */
		s->writer_wal_lost = true;
		sqlite3_wal_checkpoint_v2(
		    s->db, NULL, SQLITE_CHECKPOINT_FULL, NULL, NULL);
	}
	for (b = batches; b != NULL; b = b->next)
		for (op = b->ops; op != NULL; op = op->next)
			poison(s, op->run_id);
	fail_batches(batches, wal_lost ? IG_PROTO_UNAVAILABLE : store_code(rc),
	    wal_lost, msg);
	free(msg);
}

/*
 * Reset the WAL to zero length when no reader holds it.  Readers would make
 * a TRUNCATE checkpoint wait; with no busy timeout it does what it can and
 * returns SQLITE_BUSY, and the next one finishes the job.  Its errors are
 * not the operations' business: a real I/O error shows at the next commit.
 */
static void
wal_truncate(struct store *s, bool wait)
{
	if (!wait)
		sqlite3_busy_timeout(s->db, 0);
	sqlite3_wal_checkpoint_v2(
	    s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (!wait)
		sqlite3_busy_timeout(s->db, s->opt.busy_timeout_ms);
}

/* Wait for batches.  NULL when stopping with nothing left, or when idle
 * after dirty commits (*idle set). */
static store_batch *
take(struct store *s, bool dirty, bool *idle)
{
	store_batch *work;

	*idle = false;
	uv_mutex_lock(&s->lock);
	while (s->queue_head == NULL && !s->stop) {
		if (!dirty)
			uv_cond_wait(&s->wake, &s->lock);
		else if (uv_cond_timedwait(&s->wake, &s->lock, IDLE_NS) ==
		        UV_ETIMEDOUT &&
		    s->queue_head == NULL) {
			*idle = true;
			break;
		}
	}
	work = s->queue_head;
	s->queue_head = s->queue_tail = NULL;
	uv_mutex_unlock(&s->lock);
	return work;
}

static void
deliver(struct store *s, store_batch *batches)
{
	store_batch *last = batches;

	while (last->next != NULL)
		last = last->next;
	uv_mutex_lock(&s->lock);
	if (s->done_tail != NULL)
		s->done_tail->next = batches;
	else
		s->done_head = batches;
	s->done_tail = last;
	uv_mutex_unlock(&s->lock);
	uv_async_send(&s->done_async);
}

static void
writer_main(void *arg)
{
	struct store *s = arg;
	unsigned commits = 0;
	store_batch *work;
	bool idle;

	for (;;) {
		work = take(s, commits > 0, &idle);
		if (work != NULL) {
			uint64_t t0 = uv_hrtime();
			commit(s, work);
			work->commit_s = (double)(uv_hrtime() - t0) / 1e9;
			deliver(s, work);
			if (++commits >=
			    (unsigned)s->opt.wal_truncate_commits) {
				wal_truncate(s, false);
				commits = 0;
			}
		} else if (idle) {
			wal_truncate(s, false);
			commits = 0;
		} else {
			break;
		}
	}
	wal_truncate(s, true);
}

int
store_writer_start(struct store *s, char *err, size_t errlen)
{
	int rc;

	s->stmts = calloc(1, sizeof(*s->stmts));
	if (s->stmts == NULL) {
		store_errf(err, errlen, "database %s: out of memory", s->path);
		return IG_PROTO_INTERNAL;
	}
	if ((rc = uv_thread_create(&s->thread, writer_main, s)) != 0) {
		store_errf(err, errlen,
		    "database %s: cannot start the writer "
		    "thread: %s",
		    s->path, uv_strerror(rc));
		free(s->stmts);
		s->stmts = NULL;
		return IG_PROTO_INTERNAL;
	}
	return 0;
}

void
store_writer_stop(struct store *s)
{
	size_t i;

	uv_mutex_lock(&s->lock);
	s->stop = true;
	uv_cond_signal(&s->wake);
	uv_mutex_unlock(&s->lock);
	uv_thread_join(&s->thread);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmts->st[i]);
	free(s->stmts);
	s->stmts = NULL;
	free(s->poisoned);
	free(s->retired);
	s->poisoned = NULL;
	s->npoisoned = 0;
	sqlite3_close(s->db);
	s->db = NULL;
}

void
store_op_free(store_op *op)
{
	if (op->type == OP_POINTS)
		free(op->u.points.v);
	free(op->errmsg);
	free(op);
}
