/*
 * store_int.h - shared by the store's files only: the ig_store structure,
 * the operations the loop hands to the writer thread, and small helpers.
 *
 * Threads: fields marked [loop] are touched by the loop thread only,
 * [writer] by the writer thread only, [lock] under ig_store.lock.  Fields
 * set before the writer starts and never changed after are unmarked.
 */
#ifndef IGNITED_STORE_INT_H
#define IGNITED_STORE_INT_H

#include <sqlite3.h>
#include <uv.h>

#include "store.h"

/* PRAGMA application_id of an ignite database: "IGNT". */
#define STORE_APPLICATION_ID 0x49474e54

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
	ig_store_done_cb *cb;
	void *arg;
	int status;             /* set by the writer when this op alone failed */
	char *errmsg;           /* owned; set with status */
	union {
		struct {
			const char *name;
			uint32_t owner_uid;
			const void *spec;
			size_t spec_len;
			ig_store_status status;
			double created;
			ig_store_progress progress;
		} create;
		struct {
			ig_store_status status;
			const char *reason;
			double time;
		} status;
		ig_store_progress progress;
		struct {
			int64_t id;
			const char *name;
		} series;
		struct {
			ig_store_point *v; /* owned */
			size_t n, cap;
		} points;
		struct {
			ig_store_checkpoint c;
			ig_store_progress progress;
		} ckpt;
		ig_store_event event;
		struct {
			double time;
			const char *line;
			size_t len;
		} log;
		int64_t iteration;      /* OP_TRUNCATE */
		int64_t max_bytes;      /* OP_LIMIT_SIZE */
	} u;
	unsigned char data[];
} store_op;

/* What one transaction did, on its way back to the loop. */
typedef struct store_batch {
	struct store_batch *next;
	store_op *ops;
	int status;             /* the whole transaction failed */
	char *errmsg;           /* owned; set with status */
} store_batch;

/* A name reserved but not yet committed: a run's, or a run's series'. */
typedef struct store_pending {
	struct store_pending *next;
	int64_t id;
	int64_t run_id;         /* 0 for a run's own name */
	int64_t owner;          /* a run name's owner (names are per owner) */
	char name[];
} store_pending;

struct store_writer_stmts;

struct ig_store {
	uv_loop_t *loop;
	char *path;
	ig_store_options opt;
	int lock_fd;

	/* [loop] */
	ig_store_reader *reader;
	store_op *local_head, *local_tail;  /* enqueued this loop turn */
	size_t outstanding;                 /* enqueued, not yet completed */
	int64_t next_run_id;
	int64_t next_series_id;
	store_pending *pending;
	ig_store_error_cb *error_cb;
	void *error_arg;
	bool closing;
	int open_handles;
	uv_prepare_t handoff;               /* hands local ops to the writer */
	uv_async_t done_async;              /* writer -> loop: batches done */

	/* [lock] */
	uv_mutex_t lock;
	uv_cond_t wake;
	store_batch *queue_head, *queue_tail;   /* handed over, not taken */
	store_batch *done_head, *done_tail;     /* committed or failed */
	bool stop;

	/* [writer] */
	sqlite3 *db;
	struct store_writer_stmts *stmts;
	/* Runs whose writes were lost in a failed transaction: their later
	 * data would leave a gap in the history, so it is refused until a
	 * truncate (the run resuming from what is stored) or a delete. */
	int64_t *poisoned;
	size_t npoisoned;
	uv_thread_t thread;
};

/* store_writer.c */
int store_writer_start(ig_store *s, char *err, size_t errlen);
/* Let the writer drain the queue, commit, checkpoint the WAL and exit;
 * then close the write connection. */
void store_writer_stop(ig_store *s);
void store_op_free(store_op *op);

/* store_schema.c: open the write connection, refuse foreign or newer files,
 * migrate.  Returns NULL with a message in err. */
sqlite3 *store_schema_open(const char *path, const ig_store_options *opt,
                           char *err, size_t errlen);
/* Check that db, open read-only, is an ignite database of this version. */
int store_schema_check(sqlite3 *db, const char *path, char *err,
                       size_t errlen);

/* store_lock.c: the sidecar <db>.lock holding the owner's pid. */
int store_lock_acquire(const char *dbpath, char *err, size_t errlen);
void store_lock_release(int fd);

/* store_reader.c, for the loop's lookups.  0, IG_STORE_ENOTFOUND or an
 * SQLite code (message in ig_store_reader_error). */
int store_reader_run_named(ig_store_reader *r, uint32_t owner, const char *name,
                           int64_t *id);
int store_reader_series_named(ig_store_reader *r, int64_t run_id,
                              const char *name, int64_t *id);
/* The largest run and series ids ever assigned. */
int store_reader_max_ids(ig_store_reader *r, int64_t *run, int64_t *series);

/* store_util.c */
double store_now(void);
void store_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
char *store_strdup(const char *s);
/* Prepare sql into *slot unless done already; NULL on error. */
sqlite3_stmt *store_stmt(sqlite3 *db, sqlite3_stmt **slot, const char *sql);
/* Step a statement that returns no row and reset it: SQLITE_OK or error. */
int store_step_done(sqlite3_stmt *st);
/* Bind v, or NULL for IG_STORE_NONE / for a NULL pointer. */
int store_bind_opt(sqlite3_stmt *st, int i, int64_t v);
int store_bind_text(sqlite3_stmt *st, int i, const char *s);
int64_t store_column_opt(sqlite3_stmt *st, int i);

#endif
