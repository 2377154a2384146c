/*
 * store_int.h - shared by the store's files only: the struct store structure,
 * the operations the loop hands to the writer thread, and small helpers.
 *
 * Threads: fields marked [loop] are touched by the loop thread only,
 * [writer] by the writer thread only, [lock] under struct store.lock.  Fields
 * set before the writer starts and never changed after are unmarked.
 */
#ifndef IGNITED_STORE_INT_H
#define IGNITED_STORE_INT_H

#include <sys/types.h>

#include <sqlite3.h>
#include <uv.h>

#include "store/store.h"

/* PRAGMA application_id of an ignite database: "IGNT". */
#define STORE_APPLICATION_ID 0x49474e54

/* The key in <db>.key and the HMAC-SHA256 tag of a run (store_files.c). */
#define STORE_KEY_LEN 32
#define STORE_TAG_LEN 32

enum store_op_type {
	OP_CREATE_RUN,
	OP_STATUS,
	OP_PROGRESS,
	OP_SERIES,
	OP_POINTS,
	OP_CHECKPOINT,
	OP_EVENT,
	OP_LOG,
	OP_DELETE_RUN,
	OP_TRUNCATE,
	OP_LIMIT_SIZE,
	OP_LAUNCH,
	OP_FLUSH,
};

/*
 * One write.  Strings and blobs live in data[] after the struct, except a
 * points array, which grows and is separately allocated.  Owned by the loop
 * until handed over, then by the writer, then by the loop again for its
 * completion, which frees it.
 */
typedef struct store_op {
	struct store_op *next;
	enum store_op_type type;
	int64_t run_id;
	store_done_cb *cb;
	void *arg;
	int code; /* IG_PROTO_*: set by the writer when this op alone failed */
	char *errmsg; /* owned; set with code */
	size_t bytes; /* what it holds, counted in struct store.queued_bytes */
	union {
		struct {
			const char *name;
			uint32_t owner_uid;
			const void *spec;
			size_t spec_len;
			enum ig_status status;
			double created;
			struct store_progress progress;
			int64_t queue_seq;
		} create;
		struct {
			enum ig_status status;
			const char *reason;
			double time;
		} status;
		struct store_progress progress;
		struct {
			int64_t id;
			const char *name;
		} series;
		struct {
			struct store_point *v; /* owned */
			size_t n, cap;
		} points;
		struct {
			struct store_checkpoint c;
			struct store_progress progress;
		} ckpt;
		struct store_event event;
		struct {
			double time;
			const char *line;
			size_t len;
		} log;
		int64_t iteration; /* OP_TRUNCATE */
		int64_t max_bytes; /* OP_LIMIT_SIZE */
		struct {
			const void *secret;
			const char *job;
		} launch;
	} u;
	unsigned char data[];
} store_op;

/* What one transaction did, on its way back to the loop. */
typedef struct store_batch {
	struct store_batch *next;
	store_op *ops;
	int code; /* IG_PROTO_*: the whole transaction failed */
	char *errmsg; /* owned; set with code */
	bool wal_lost; /* it failed because the WAL is gone */
	double commit_s; /* the transaction's time, on its first batch */
} store_batch;

/* A name reserved but not yet committed: a run's, or a run's series'. */
typedef struct store_pending {
	struct store_pending *next;
	int64_t id;
	int64_t run_id; /* 0 for a run's own name */
	int64_t owner; /* a run name's owner (names are per owner) */
	char name[];
} store_pending;

struct store_writer_stmts;

struct store {
	uv_loop_t *loop;
	char *path;
	struct store_options opt;
	int lock_fd;
	unsigned char key[STORE_KEY_LEN];
	/* The WAL as opened: removed or replaced, what commits there is lost
	 * in a crash, so writes stop (wal_gone()). */
	char *wal_path;
	dev_t wal_dev;
	ino_t wal_ino;

	/* [loop] */
	struct store_reader *reader;
	store_op *local_head, *local_tail; /* enqueued this loop turn */
	size_t outstanding; /* enqueued, not yet completed */
	/* The byte bound (opt.queue_bytes): full once the operations not yet
	 * completed hold more, until they drain to half of it, when drain_cb
	 * says so. */
	size_t queued_bytes;
	bool full;
	store_drain_cb *drain_cb;
	void *drain_arg;
	int64_t next_run_id;
	int64_t next_series_id;
	store_pending *pending;
	store_error_cb *error_cb;
	void *error_arg;
	bool closing;
	bool wal_lost; /* writes refused: see wal_path */
	int open_handles;
	uv_prepare_t handoff; /* hands local ops to the writer */
	uv_async_t done_async; /* writer -> loop: batches done */
	struct hist commit_seconds; /* from the batches' commit_s */

	/* [lock] */
	uv_mutex_t lock;
	uv_cond_t wake;
	store_batch *queue_head, *queue_tail; /* handed over, not taken */
	store_batch *done_head, *done_tail; /* committed or failed */
	bool stop;

	/* [writer] */
	sqlite3 *db;
	struct store_writer_stmts *stmts;
	/* Runs whose writes were lost in a failed transaction: their later
	 * data would leave a gap in the history, so it is refused until a
	 * truncate (the run resuming from what is stored) or a delete. */
	int64_t *poisoned;
	size_t npoisoned;
	bool writer_wal_lost; /* every commit fails from now on */
	/* checkpoint files whose records this transaction drops: unlinked
	 * once it has committed */
	struct store_retired *retired;
	size_t nretired;
	uv_thread_t thread;
};

struct store_retired {
	char *file;
	uint32_t owner;
};

/* The message for writes refused once the WAL is gone. */
#define STORE_WAL_LOST \
	"database %s: its write-ahead log %s was removed " \
	"or replaced while ignited ran; writes are refused from now on, so " \
	"that nothing acknowledged can be lost in a crash: restart ignited"

/* store.c: the WAL at wal_path is no longer the one SQLite has open. */
bool store_wal_gone(const struct store *s);

/* store_writer.c */
int store_writer_start(struct store *s, char *err, size_t errlen);
/* Let the writer drain the queue, commit, checkpoint the WAL and exit;
 * then close the write connection. */
void store_writer_stop(struct store *s);
void store_op_free(store_op *op);

/* store_schema.c: open the write connection, refuse foreign or newer files
 * and damaged ones, migrate (tagging the runs with key, which must outlive
 * the connection).  Returns NULL with a message in err. */
sqlite3 *store_schema_open(const char *path, const struct store_options *opt,
    const unsigned char *key, char *err, size_t errlen);
/* Check that db, open read-only, is an ignite database of this version. */
int store_schema_check(sqlite3 *db, const char *path, ig_err *err);

/* store_launch.c: OP_LAUNCH on the writer */
int store_apply_launch(struct store *s, const store_op *op);

/* store_files.c: the files beside the database (see there).  0 or an
 * IG_PROTO_* code with a message in err: text, as store_open's (store.h),
 * which they are part of. */
/* The database's directory is ours and writable by us alone. */
int store_check_dir(const char *dbpath, char *err, size_t errlen);
/* path is absent, or a regular file of ours that no one else may write. */
int store_check_path(const char *path, char *err, size_t errlen);
/* Open path (O_NOFOLLOW) with flags, creating it 0600 (O_EXCL) when absent
 * (*created set), and check the file opened like store_check_path: the fd,
 * or -1 with a message in err. */
int store_open_own(
    const char *path, int flags, bool *created, char *err, size_t errlen);
/* path still names fd's file. */
int store_same_file(int fd, const char *path, char *err, size_t errlen);
/* Read <db>.key into key, or create it. */
int store_key_load(
    const char *dbpath, unsigned char *key, char *err, size_t errlen);
/* HMAC-SHA256 of a run's id, owner and spec under key. */
void store_tag(const unsigned char *key, int64_t id, uint32_t owner,
    const void *spec, size_t len, unsigned char *tag);
bool store_tag_ok(const unsigned char *key, int64_t id, uint32_t owner,
    const void *spec, size_t len, const void *tag, size_t tag_len);

/* store_lock.c: the sidecar <db>.lock holding the owner's pid. */
int store_lock_acquire(const char *dbpath, char *err, size_t errlen);
void store_lock_release(int fd);

/* store_reader.c, for the loop's lookups.  0 or an IG_PROTO_* code:
 * IG_PROTO_NOT_FOUND without a message, else with one in
 * store_reader_error. */
int store_reader_run_named(
    struct store_reader *r, uint32_t owner, const char *name, int64_t *id);
int store_reader_series_named(
    struct store_reader *r, int64_t run_id, const char *name, int64_t *id);
/* The largest run and series ids ever assigned. */
int store_reader_max_ids(struct store_reader *r, int64_t *run, int64_t *series);

/* ---- store_writer.c and store_apply.c: the writer thread's statements -- */

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_CREATE_RUN,
	ST_STATUS,
	ST_PROGRESS,
	ST_SERIES,
	ST_CKPT_INSERT,
	ST_CKPT_TRIM,
	ST_CKPT_USED,
	ST_TRUNC_CKPTS,
	ST_EVENT,
	ST_LOG_INSERT,
	ST_LOG_TRIM,
	ST_DELETE_RUN,
	ST_TRUNC_EVENTS,
	ST_OPEN_GET,
	ST_OPEN_SET,
	ST_OPEN_READ,
	ST_OPEN_CLEAR,
	ST_OPEN_RECOUNT,
	ST_CHUNK_INSERT,
	ST_CHUNK_LAST,
	ST_CHUNK_STRADDLE,
	ST_CHUNK_DELETE,
	ST_TRUNC_CHUNKS,
	ST_RUN_SERIES,
	ST_COUNT
};

/* The statement, reset, ready to bind; NULL on error. */
sqlite3_stmt *writer_stmt(struct store *s, enum stmt_id id);
/* Run a statement that binds nothing. */
int writer_run(struct store *s, enum stmt_id id);
/* Apply one operation; an SQLite code. */
int store_apply(struct store *s, const store_op *op);
void store_unretire(struct store *s, size_t n);
void store_unlink_retired(struct store *s);

/* ---- store_chunks.c: metric history as chunks (chunk.h) --------------- */

/* One chunk row: the codec's bytes and what a downsampling read or one
 * of the last point takes without them (values as float64 bits; min and
 * max NULL when all NaN). */
#define STORE_CHUNK_INSERT \
	"INSERT INTO chunks (series_id, first, last, epoch_first," \
	" epoch_last, n, vmin, vmax, vlast, data, wall_last)" \
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"

/* SQL: a series' open part, (open_n, open_first), from its chunks: those
 * after its last full one (CHUNK_MAX, chunk.h, points). */
#define STORE_OPEN_PART(series) \
	"(SELECT coalesce(sum(n), 0), min(first) FROM chunks" \
	" WHERE series_id = " series " AND first > coalesce((SELECT" \
	" max(first) FROM chunks WHERE series_id = " series \
	" AND n >= 4096), -9223372036854775807 - 1))"

/* A float64's bits as stored, and back. */
int64_t store_bits(double v);
double store_unbits(int64_t b);
/* Append a run's points (any series, any order within the operation). */
int store_chunks_append(struct store *s, const struct store_point *v, size_t n);
/* Seal the open tails of run_id's series into chunks (the run ended). */
int store_chunks_seal_run(struct store *s, int64_t run_id);
/* Drop run_id's chunked points past iteration; after ST_TRUNC_POINTS. */
int store_chunks_truncate(struct store *s, int64_t run_id, int64_t iteration);
/* Migration 5 -> 6: the rows of points_v5 into chunks, then drop it. */
int store_chunks_migrate(sqlite3 *db);

/* ---- store.c: building and handing over operations, for store_ops.c ---- */

store_op *store_op_new(enum store_op_type type, int64_t run_id,
    store_done_cb *cb, void *arg, size_t extra);
const void *store_op_put(
    store_op *op, size_t *used, const void *src, size_t len, bool nul);
const char *store_op_put_str(store_op *op, size_t *used, const char *s);
size_t store_str_size(const char *s);
int store_enqueue(struct store *s, store_op *op);
/* Count n more bytes held by op, enqueued already, against the bound. */
void store_charge(struct store *s, store_op *op, size_t n);
void store_handoff(struct store *s);
int store_pending_add(struct store *s, int64_t id, int64_t run_id,
    int64_t owner, const char *name);
const store_pending *store_pending_find(
    const struct store *s, int64_t run_id, int64_t owner, const char *name);
void store_lose_wal(struct store *s);

/* ---- store_reader.c: the read connection, shared with store_series.c --- */

enum rstmt_id {
	RS_BEGIN,
	RS_COMMIT,
	RS_RUN_NAMED,
	RS_SERIES_NAMED,
	RS_MAX_IDS,
	RS_RUNS,
	RS_RUN_BY_ID,
	RS_RUN_BY_NAME,
	RS_LATEST_CKPT,
	RS_SERIES,
	RS_CHUNKS_BY_ITERATION,
	RS_CHUNKS_BY_EPOCH,
	RS_LAST_CHUNK_BY_ITERATION,
	RS_LAST_CHUNK_BY_EPOCH,
	RS_CHUNK_RANGE,
	RS_COUNT_BY_ITERATION,
	RS_COUNT_BY_EPOCH,
	RS_CHUNK_SUMMARIES,
	RS_CHUNK_DATA,
	RS_EVENTS,
	RS_LOG_TAIL,
	RS_COUNT
};

struct store_reader {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *st[RS_COUNT];
	ig_err err; /* the last failed call's */
};

/* Record why the last call failed (rc an SQLite code; SQLITE_NOMEM also
 * for our own allocations, SQLITE_NOTFOUND for no such row); returns its
 * IG_PROTO_* code. */
int reader_fail(struct store_reader *r, int rc, const char *what);
/* The statement, reset and ready to bind; NULL on error. */
sqlite3_stmt *reader_stmt(struct store_reader *r, enum rstmt_id id);
/* End a step loop: SQLITE_DONE is success. */
int reader_finish(sqlite3_stmt *st, int rc);
/* Grow an array to hold need elements; NULL (v untouched) without memory. */
void *reader_grow(void *v, size_t *cap, size_t need, size_t size);
/* A copy of a text column (NULL for NULL; *nomem set without memory). */
char *reader_text(sqlite3_stmt *st, int i, bool *nomem);
/* Run fn inside one read transaction, so it sees one committed state. */
int reader_snapshot(struct store_reader *r,
    int (*fn)(struct store_reader *, void *), void *arg);

/* store_util.c */
/* The IG_PROTO_* code for an SQLite result code.  Inside the store,
 * SQLITE_NOTFOUND stands for "no such row" (IG_PROTO_NOT_FOUND). */
int store_code(int rc);
void store_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
char *store_strdup(const char *s);
/* Prepare sql into *slot unless done already; NULL on error. */
sqlite3_stmt *store_stmt(sqlite3 *db, sqlite3_stmt **slot, const char *sql);
/* Step a statement that returns no row and reset it: SQLITE_OK or error. */
int store_step_done(sqlite3_stmt *st);
/* Bind v, or NULL for STORE_NONE / for a NULL pointer. */
int store_bind_opt(sqlite3_stmt *st, int i, int64_t v);
int store_bind_text(sqlite3_stmt *st, int i, const char *s);
int64_t store_column_opt(sqlite3_stmt *st, int i);

#endif
