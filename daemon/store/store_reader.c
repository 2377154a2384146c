/*
 * store_reader.c - read connections, and what they read of runs and
 * checkpoints, as plain arrays the caller owns (store_series.c reads
 * metric history, events and logs through the same connection).
 *
 * Statements are prepared once per connection and reset after each call,
 * so a reader never holds a snapshot between calls (a held snapshot would
 * stop WAL checkpoints).  Calls that read several tables do it in one read
 * transaction, so they see one committed state.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define RUN_COLUMNS \
	"SELECT id, name, owner_uid, spec, status, reason," \
	" created, started, finished, epoch, iteration, epoch_length," \
	" max_epochs, tag, queue_seq FROM runs"
#define CKPT_COLUMNS \
	"SELECT seq, epoch, iteration, state_dict," \
	" data_pass, data_pos, process_state, wall, file, file_size," \
	" file_sum, score FROM checkpoints"

/* By iteration, from the chunk holding ?2 on (a series' chunks do not
 * overlap): a seek, where last >= ?2 alone would walk every chunk before
 * it, each page of a long read again. */
#define FROM_CHUNK \
	" AND first >= coalesce((SELECT max(first) FROM chunks" \
	" WHERE series_id = ?1 AND first <= ?2), ?2)"

static const char *const rstmt_sql[RS_COUNT] = {
	[RS_BEGIN] = "BEGIN",
	[RS_COMMIT] = "COMMIT",
	[RS_RUN_NAMED] =
	    "SELECT id FROM runs WHERE owner_uid = ?1 AND name = ?2",
	[RS_SERIES_NAMED] = "SELECT id FROM series WHERE run_id = ?1"
	                    " AND name = ?2",
	[RS_MAX_IDS] = "SELECT"
	               " max(coalesce((SELECT seq FROM sqlite_sequence"
	               "   WHERE name = 'runs'), 0),"
	               "   coalesce((SELECT max(id) FROM runs), 0)),"
	               " max(coalesce((SELECT seq FROM sqlite_sequence"
	               "   WHERE name = 'series'), 0),"
	               "   coalesce((SELECT max(id) FROM series), 0))",
	[RS_RUNS] = RUN_COLUMNS " ORDER BY id",
	[RS_RUN_BY_ID] = RUN_COLUMNS " WHERE id = ?1",
	[RS_RUN_BY_NAME] = RUN_COLUMNS " WHERE owner_uid = ?1 AND name = ?2",
	[RS_LATEST_CKPT] = CKPT_COLUMNS " WHERE run_id = ?1 ORDER BY seq DESC"
	                                " LIMIT ?2",
	[RS_SERIES] = "SELECT id, name FROM series WHERE run_id = ?1"
	              " ORDER BY name",
	/* a series' chunks (store_chunks.c) in a range */
	[RS_CHUNKS_BY_ITERATION] =
	    "SELECT data FROM chunks"
	    " WHERE series_id = ?1 AND first <= ?3"
	    " AND last >= ?2" FROM_CHUNK " ORDER BY first",
	[RS_CHUNKS_BY_EPOCH] = "SELECT data FROM chunks"
	                       " WHERE series_id = ?1 AND epoch_first <= ?3"
	                       " AND epoch_last >= ?2 ORDER BY first",
	/* and the last point, when within the range */
	[RS_LAST_CHUNK_BY_ITERATION] = "SELECT data, epoch_last, last,"
	                               " wall_last, vlast FROM chunks"
	                               " WHERE series_id = ?1 AND first <= ?3"
	                               " AND last >= ?2"
	                               " ORDER BY first DESC LIMIT 1",
	[RS_LAST_CHUNK_BY_EPOCH] = "SELECT data, epoch_last, last,"
	                           " wall_last, vlast FROM chunks"
	                           " WHERE series_id = ?1"
	                           " AND epoch_first <= ?3"
	                           " AND epoch_last >= ?2"
	                           " ORDER BY first DESC LIMIT 1",
	/* the points of each chunk a read decodes, to size its array once
	 * (summed up to the read's limit) */
	[RS_COUNT_BY_ITERATION] =
	    "SELECT n FROM chunks"
	    " WHERE series_id = ?1 AND first <= ?3"
	    " AND last >= ?2" FROM_CHUNK " ORDER BY first",
	[RS_COUNT_BY_EPOCH] = "SELECT n FROM chunks"
	                      " WHERE series_id = ?1 AND epoch_first <= ?3"
	                      " AND epoch_last >= ?2 ORDER BY first",
	[RS_CHUNK_RANGE] = "SELECT min(first), max(last) FROM chunks"
	                   " WHERE series_id = ?1 AND first <= ?3"
	                   " AND last >= ?2",
	/* without data: a chunk's row holds its summary before its data,
	 * which spills to overflow pages SQLite would read for nothing */
	[RS_CHUNK_SUMMARIES] = "SELECT first, last, n, vmin, vmax, vlast"
	                       " FROM chunks"
	                       " WHERE series_id = ?1 AND first <= ?3"
	                       " AND last >= ?2 ORDER BY first",
	[RS_CHUNK_DATA] = "SELECT data FROM chunks"
	                  " WHERE series_id = ?1 AND first = ?2",
	[RS_EVENTS] =
	    "SELECT id, time, kind, epoch, iteration, detail"
	    " FROM events WHERE run_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
	[RS_LOG_TAIL] =
	    "SELECT seq, time, line FROM (SELECT seq, time, line"
	    " FROM logs WHERE run_id = ?1 ORDER BY seq DESC LIMIT ?2)"
	    " ORDER BY seq",
};

/* Record why the last call failed: rc is an SQLite code, SQLITE_NOMEM
 * also for our own allocations and SQLITE_NOTFOUND for no such row.
 * Returns its IG_PROTO_* code. */
int
reader_fail(struct store_reader *r, int rc, const char *what)
{
	/* a code of ours (a chunk that does not decode) has no message of
	 * SQLite's: its errmsg would say "not an error" */
	const char *why = rc == SQLITE_NOMEM ? "out of memory" :
	    rc == SQLITE_NOTFOUND            ? "not found" :
	    sqlite3_errcode(r->db) == rc     ? sqlite3_errmsg(r->db) :
	                                       sqlite3_errstr(rc);

	return ig_err_set(&r->err, store_code(rc), "database %s: cannot %s: %s",
	    r->path, what, why);
}

/* The statement, reset and ready to bind; NULL on error. */
sqlite3_stmt *
reader_stmt(struct store_reader *r, enum rstmt_id id)
{
	return store_stmt(r->db, &r->st[id], rstmt_sql[id]);
}

/* End a step loop: SQLITE_DONE is success. */
int
reader_finish(sqlite3_stmt *st, int rc)
{
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Grow an array to hold need elements; NULL (v untouched) without memory. */
void *
reader_grow(void *v, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;

	if (need <= *cap)
		return v;
	while (c < need)
		c *= 2;
	if ((v = realloc(v, c * size)) != NULL) {
		*cap = c;
		ig_mem_advise_huge(v, c * size); /* large: a history page */
	}
	return v;
}

char *
reader_text(sqlite3_stmt *st, int i, bool *nomem)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t len = (size_t)sqlite3_column_bytes(st, i);
	char *copy;

	if (t == NULL)
		return NULL;
	if ((copy = malloc(len + 1)) == NULL) {
		*nomem = true;
		return NULL;
	}
	memcpy(copy, t, len + 1);
	return copy;
}

static void *
column_blob(sqlite3_stmt *st, int i, size_t *len, bool *nomem)
{
	const void *b = sqlite3_column_blob(st, i);
	void *copy;

	*len = (size_t)sqlite3_column_bytes(st, i);
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	if ((copy = malloc(*len ? *len : 1)) == NULL) {
		*nomem = true;
		return NULL;
	}
	if (*len)
		memcpy(copy, b, *len);
	return copy;
}

static double
column_time(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ?
	    0 :
	    sqlite3_column_double(st, i);
}

struct store_reader *
store_reader_open(const char *path, ig_err *err)
{
	struct store_reader *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL || (r->path = store_strdup(path)) == NULL) {
		ig_err_set(
		    err, IG_PROTO_INTERNAL, "database %s: out of memory", path);
		free(r);
		return NULL;
	}
	if ((rc = sqlite3_open_v2(path, &r->db,
	         SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW |
	             SQLITE_OPEN_NOMUTEX,
	         NULL)) != SQLITE_OK) {
		ig_err_set(err, store_code(rc), "cannot open database %s: %s",
		    path, sqlite3_errmsg(r->db));
		goto fail;
	}
	sqlite3_busy_timeout(r->db, 5000);
	if (store_schema_check(r->db, path, err) != 0)
		goto fail;
	/* Reading pages in place instead of copying them saves about a
	 * third of a long history read.  The file never shrinks (no VACUUM),
	 * which is what makes a mapping safe. */
	sqlite3_exec(r->db, "PRAGMA mmap_size = 1073741824", NULL, NULL, NULL);
	return r;
fail:
	store_reader_close(r);
	return NULL;
}

void
store_reader_close(struct store_reader *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < RS_COUNT; i++)
		sqlite3_finalize(r->st[i]);
	sqlite3_close(r->db);
	free(r->path);
	free(r);
}

const char *
store_reader_error(const struct store_reader *r)
{
	return r->err.message;
}

/* ---- lookups for the loop ---------------------------------------------- */

/* The single integer a one-row query gives. */
static int
lookup(struct store_reader *r, sqlite3_stmt *st, int64_t *id, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? IG_PROTO_NOT_FOUND :
	                           reader_fail(r, rc, what);
}

int
store_reader_run_named(
    struct store_reader *r, uint32_t owner, const char *name, int64_t *id)
{
	sqlite3_stmt *st = reader_stmt(r, RS_RUN_NAMED);

	if (st == NULL)
		return reader_fail(
		    r, sqlite3_errcode(r->db), "look up a run name");
	sqlite3_bind_int64(st, 1, owner);
	store_bind_text(st, 2, name);
	return lookup(r, st, id, "look up a run name");
}

int
store_reader_series_named(
    struct store_reader *r, int64_t run_id, const char *name, int64_t *id)
{
	sqlite3_stmt *st = reader_stmt(r, RS_SERIES_NAMED);

	if (st == NULL)
		return reader_fail(
		    r, sqlite3_errcode(r->db), "look up a series");
	sqlite3_bind_int64(st, 1, run_id);
	store_bind_text(st, 2, name);
	return lookup(r, st, id, "look up a series");
}

int
store_reader_max_ids(struct store_reader *r, int64_t *run, int64_t *series)
{
	sqlite3_stmt *st = reader_stmt(r, RS_MAX_IDS);
	int rc;

	if (st == NULL)
		return reader_fail(
		    r, sqlite3_errcode(r->db), "read the largest ids");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*run = sqlite3_column_int64(st, 0);
		*series = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 :
	                          reader_fail(r, rc, "read the largest ids");
}

/* ---- runs and checkpoints ---------------------------------------------- */

void
store_run_clear(struct store_run *run)
{
	free((void *)run->name);
	free((void *)run->spec);
	free((void *)run->tag);
	free((void *)run->reason);
	memset(run, 0, sizeof(*run));
}

void
store_runs_free(struct store_run *runs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_run_clear(&runs[i]);
	free(runs);
}

void
store_checkpoint_clear(struct store_checkpoint *c)
{
	free((void *)c->state_dict);
	free((void *)c->process_state);
	free((void *)c->file);
	memset(c, 0, sizeof(*c));
}

/* Fill run from a RUN_COLUMNS row. */
static int
read_run(sqlite3_stmt *st, struct store_run *run)
{
	const char *status = (const char *)sqlite3_column_text(st, 4);
	bool nomem = false;

	memset(run, 0, sizeof(*run));
	run->id = sqlite3_column_int64(st, 0);
	run->name = reader_text(st, 1, &nomem);
	run->owner_uid = (uint32_t)sqlite3_column_int64(st, 2);
	run->spec = column_blob(st, 3, &run->spec_len, &nomem);
	run->status = (enum ig_status)store_status_parse(status ? status : "");
	run->reason = reader_text(st, 5, &nomem);
	run->created = column_time(st, 6);
	run->started = column_time(st, 7);
	run->finished = column_time(st, 8);
	run->progress.epoch = sqlite3_column_int64(st, 9);
	run->progress.iteration = sqlite3_column_int64(st, 10);
	run->progress.epoch_length = store_column_opt(st, 11);
	run->progress.max_epochs = store_column_opt(st, 12);
	run->tag = column_blob(st, 13, &run->tag_len, &nomem);
	run->queue_seq = sqlite3_column_int64(st, 14);
	if (nomem) {
		store_run_clear(run);
		return SQLITE_NOMEM;
	}
	return 0;
}

int
store_list_runs(
    struct store_reader *r, unsigned mask, struct store_run **runs, size_t *n)
{
	sqlite3_stmt *st = reader_stmt(r, RS_RUNS);
	struct store_run *v = NULL, *nv, run;
	size_t cap = 0, count = 0;
	int rc;

	if (st == NULL)
		return reader_fail(r, sqlite3_errcode(r->db), "list runs");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = read_run(st, &run)) != 0)
			break;
		if (mask != STORE_ANY_STATUS &&
		    !(mask & STORE_MASK(run.status))) {
			store_run_clear(&run);
			continue;
		}
		if ((nv = reader_grow(v, &cap, count + 1, sizeof(*v))) ==
		    NULL) {
			store_run_clear(&run);
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		v[count++] = run;
	}
	if ((rc = reader_finish(st, rc)) != 0) {
		store_runs_free(v, count);
		return reader_fail(r, rc, "list runs");
	}
	*runs = v;
	*n = count;
	return 0;
}

static int
get_run(struct store_reader *r, sqlite3_stmt *st, struct store_run *run)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		rc = read_run(st, run);
	else if (rc == SQLITE_DONE)
		rc = SQLITE_NOTFOUND;
	sqlite3_reset(st);
	return rc == 0 ? 0 : reader_fail(r, rc, "read a run");
}

int
store_get_run(struct store_reader *r, int64_t id, struct store_run *run)
{
	sqlite3_stmt *st = reader_stmt(r, RS_RUN_BY_ID);

	if (st == NULL)
		return reader_fail(r, sqlite3_errcode(r->db), "read a run");
	sqlite3_bind_int64(st, 1, id);
	return get_run(r, st, run);
}

int
store_get_run_by_name(struct store_reader *r, uint32_t owner, const char *name,
    struct store_run *run)
{
	sqlite3_stmt *st = reader_stmt(r, RS_RUN_BY_NAME);

	if (st == NULL)
		return reader_fail(r, sqlite3_errcode(r->db), "read a run");
	sqlite3_bind_int64(st, 1, owner);
	store_bind_text(st, 2, name);
	return get_run(r, st, run);
}

/* Fill c from a CKPT_COLUMNS row. */
static void
read_checkpoint(
    sqlite3_stmt *st, int64_t run_id, struct store_checkpoint *c, bool *nomem)
{
	const char *file = (const char *)sqlite3_column_text(st, 8);

	memset(c, 0, sizeof(*c));
	c->run_id = run_id;
	c->seq = sqlite3_column_int64(st, 0);
	c->epoch = sqlite3_column_int64(st, 1);
	c->iteration = sqlite3_column_int64(st, 2);
	c->state_dict = column_blob(st, 3, &c->state_dict_len, nomem);
	c->data_pass = sqlite3_column_int64(st, 4);
	c->data_pos = sqlite3_column_int64(st, 5);
	c->process_state = column_blob(st, 6, &c->process_state_len, nomem);
	c->wall = sqlite3_column_double(st, 7);
	if (file != NULL && (c->file = store_strdup(file)) == NULL)
		*nomem = true;
	c->file_size = sqlite3_column_int64(st, 9);
	c->file_sum = (uint64_t)sqlite3_column_int64(st, 10);
	c->score = sqlite3_column_type(st, 11) == SQLITE_NULL ?
	    NAN :
	    sqlite3_column_double(st, 11);
}

int
store_list_checkpoints(struct store_reader *r, int64_t run_id,
    struct store_checkpoint **out, size_t *n)
{
	sqlite3_stmt *st = reader_stmt(r, RS_LATEST_CKPT);
	struct store_checkpoint *v = NULL, *nv;
	bool nomem = false;
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return reader_fail(
		    r, sqlite3_errcode(r->db), "read a checkpoint");
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nv = realloc(v, (*n + 1) * sizeof(*v))) == NULL) {
			nomem = true;
			break;
		}
		v = nv;
		read_checkpoint(st, run_id, &v[(*n)++], &nomem);
		if (nomem)
			break;
	}
	sqlite3_reset(st);
	if (nomem || rc != SQLITE_DONE) {
		for (size_t i = 0; i < *n; i++)
			store_checkpoint_clear(&v[i]);
		free(v);
		*n = 0;
		return reader_fail(
		    r, nomem ? SQLITE_NOMEM : rc, "read a checkpoint");
	}
	*out = v;
	return 0;
}

int
store_latest_checkpoint(
    struct store_reader *r, int64_t run_id, struct store_checkpoint *c)
{
	sqlite3_stmt *st = reader_stmt(r, RS_LATEST_CKPT);
	bool nomem = false;
	int rc;

	if (st == NULL)
		return reader_fail(
		    r, sqlite3_errcode(r->db), "read a checkpoint");
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, 1);
	memset(c, 0, sizeof(*c));
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_checkpoint(st, run_id, c, &nomem);
		rc = nomem ? SQLITE_NOMEM : 0;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_NOTFOUND;
	}
	sqlite3_reset(st);
	if (rc != 0) {
		store_checkpoint_clear(c);
		return reader_fail(r, rc, "read a checkpoint");
	}
	return 0;
}

/* Run fn inside one read transaction, so it sees one committed state. */
int
reader_snapshot(
    struct store_reader *r, int (*fn)(struct store_reader *, void *), void *arg)
{
	sqlite3_stmt *begin = reader_stmt(r, RS_BEGIN),
	             *commit = reader_stmt(r, RS_COMMIT);
	int rc;

	if (begin == NULL || commit == NULL)
		return reader_fail(r, sqlite3_errcode(r->db), "begin a read");
	if ((rc = store_step_done(begin)) != SQLITE_OK)
		return reader_fail(r, rc, "begin a read");
	rc = fn(r, arg);
	store_step_done(commit); /* ending a read cannot lose anything */
	return rc;
}

void
store_resume_free(struct store_resume *runs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		store_run_clear(&runs[i].run);
		store_checkpoint_clear(&runs[i].checkpoint);
	}
	free(runs);
}

struct unfinished {
	struct store_resume *v;
	size_t n;
};

static int
read_unfinished(struct store_reader *r, void *arg)
{
	struct unfinished *u = arg;
	struct store_run *runs;
	size_t n, i;
	int rc;

	if ((rc = store_list_runs(r, STORE_UNFINISHED, &runs, &n)) != 0)
		return rc;
	if (n > 0 && (u->v = calloc(n, sizeof(*u->v))) == NULL) {
		store_runs_free(runs, n);
		return reader_fail(r, SQLITE_NOMEM, "list unfinished runs");
	}
	for (i = 0; i < n; i++) {
		u->v[i].run = runs[i];
		u->n = i + 1;
		rc =
		    store_latest_checkpoint(r, runs[i].id, &u->v[i].checkpoint);
		if (rc == 0)
			u->v[i].has_checkpoint = true;
		else if (rc != IG_PROTO_NOT_FOUND)
			break;
		rc = 0;
	}
	for (i = u->n; i < n; i++)
		store_run_clear(&runs[i]);
	free(runs);
	return rc;
}

int
store_unfinished(struct store_reader *r, struct store_resume **runs, size_t *n)
{
	struct unfinished u = { NULL, 0 };
	int rc = reader_snapshot(r, read_unfinished, &u);

	if (rc != 0) {
		store_resume_free(u.v, u.n);
		return rc;
	}
	*runs = u.v;
	*n = u.n;
	return 0;
}
