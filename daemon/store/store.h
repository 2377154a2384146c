/*
 * store.h - ignited's SQLite store: runs, checkpoints, metric history,
 * lifecycle events and worker logs, in one database file.
 *
 * Two halves:
 *
 * - struct store, the writer, belongs to the daemon's libuv loop.  Its functions
 *   are called on the loop thread only.  They copy their arguments into an
 *   operation and return at once; a dedicated writer thread commits the
 *   operations in order, in batched transactions, on its own connection.
 *   Done callbacks run back on the loop thread, in enqueue order.  The loop
 *   never waits on the disk.
 *
 * - struct store_reader, a read connection, usable from any one thread at a
 *   time.  It sees what is committed.
 *
 * Ordering and atomicity: operations commit in the order they were
 * enqueued.  Everything enqueued during one turn of the loop is handed to
 * the writer at once and commits in one transaction, so metric points
 * enqueued before a checkpoint in the same turn become visible exactly when
 * the checkpoint does, and no checkpoint is ever visible without the points
 * enqueued before it.
 *
 * Errors: functions return 0 or an IG_PROTO_* code (protocol.h), the
 * daemon's one family: NOT_FOUND (no such run, checkpoint or series),
 * CONFLICT (a name taken; a run whose earlier write was lost; a
 * constraint), UNAVAILABLE (closing, the WAL gone, the disk full or the
 * database busy), INVALID_PARAMS (a bad argument), INTERNAL (out of
 * memory, an I/O error, anything else).  Every error comes with a message
 * naming the database path and SQLite's own words, fit to show to a user:
 * in an ig_err, except store_open's (see there).
 */
#ifndef IGNITED_STORE_H
#define IGNITED_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "hist.h"
#include "ignite/protocol.h"

/* "Unknown" for max_epochs and epoch_length; stored as NULL. */
#define STORE_NONE INT64_C(-1)

/* Masks for store_list_runs(). */
#define STORE_MASK(status) (1u << (status))
#define STORE_ANY_STATUS 0u
#define STORE_UNFINISHED \
	(STORE_MASK(IG_STATUS_QUEUED) | STORE_MASK(IG_STATUS_RUNNING) | \
	    STORE_MASK(IG_STATUS_PAUSED))

/* The status called name, or -1. */
int store_status_parse(const char *name);
/* The wall clock, in seconds since the epoch, that times are stored in
 * (a run's created, started, finished; points; log lines). */
double store_now(void);

/*
 * Records.  After a read, every pointer in a record belongs to the record
 * and is freed by the matching *_clear / *_free function.  When a record is
 * passed to a write, the store copies what it needs and keeps no pointer.
 */

struct store_progress {
	int64_t epoch;
	int64_t iteration;
	int64_t epoch_length; /* STORE_NONE: unknown */
	int64_t max_epochs; /* STORE_NONE: unknown */
};

struct store_run {
	int64_t id;
	const char *name; /* NULL: unnamed */
	uint32_t owner_uid;
	const void *spec; /* msgpack run spec */
	size_t spec_len;
	const void *tag; /* read only: see store_run_trusted() */
	size_t tag_len;
	enum ig_status status;
	const char *reason; /* NULL: none */
	double created; /* unix times; 0: not yet */
	double started;
	double finished;
	struct store_progress progress;
	int64_t queue_seq; /* its place in submission order (runs/sched.h) */
};

struct store_checkpoint {
	int64_t run_id;
	int64_t seq; /* 1, 2, ... per run; assigned by the store */
	int64_t epoch;
	int64_t iteration;
	const void *state_dict; /* msgpack, opaque to the store */
	size_t state_dict_len;
	int64_t data_pass; /* the engine's ig_data_cursor */
	int64_t data_pos;
	const void
	    *process_state; /* the process function's own state; may be NULL */
	size_t process_state_len;
	double wall; /* unix time; 0 on write: now */
	/* the state's file, sealed before the commit; NULL: inline only */
	const char *file;
	int64_t file_size;
	uint64_t file_sum; /* XXH3-64 */
	double score; /* checkpoint.best's metric then; NaN: none */
	/* on write, retention: the newest keep_last (0: the store's
	 * keep_checkpoints) and the keep_best best by score (best_sign 1:
	 * highest, -1: lowest) stay; the files of the others are unlinked
	 * once that has committed */
	int64_t keep_last;
	int64_t keep_best;
	int best_sign;
};

/* NaN values are stored as NULL and read back as NaN. */
struct store_point {
	int64_t series_id; /* from store_series() */
	int64_t epoch;
	int64_t iteration;
	double wall;
	double value;
};

struct store_event {
	int64_t id; /* assigned by the store; increasing */
	int64_t run_id;
	double time; /* 0 on write: now */
	const char *kind; /* "started", "paused", "checkpoint", ... */
	int64_t epoch;
	int64_t iteration;
	const char *detail; /* NULL: none */
};

struct store_logline {
	int64_t seq; /* 1, 2, ... per run */
	double time;
	const char *line; /* not NUL-terminated in general: use len */
	size_t len;
};

void store_run_clear(struct store_run *run);
void store_runs_free(struct store_run *runs, size_t n);
void store_checkpoint_clear(struct store_checkpoint *ckpt);
void store_events_free(struct store_event *events, size_t n);
void store_logs_free(struct store_logline *lines, size_t n);

/* A checkpoint's file, or its directory of shards whole, removed without
 * following links (store_files.c): name in the directory open as dfd, at
 * most depth directories deep, or a path.  -1 with errno when not. */
#define STORE_REMOVE_DEPTH 8
int store_remove_at(int dfd, const char *name, int depth);
int store_remove(const char *path);

/* ---- the writer (loop thread) ----------------------------------------- */

struct store_options {
	bool synchronous_full; /* survive power loss, not just a crash */
	int busy_timeout_ms; /* 0: 5000 */
	int keep_checkpoints; /* latest N kept per run; 0: 1 */
	int keep_log_lines; /* latest N kept per run; 0: 1000 */
	int wal_truncate_commits; /* WAL TRUNCATE every N commits; 0: 256 */
	size_t queue_bytes; /* the queue's bound (store_full); 0: 16 MiB */
};

/* The default bound of the queue of writes not yet committed. */
#define STORE_QUEUE_BYTES_DEFAULT ((size_t)16 << 20)

/*
 * err is NULL on success, else the error, valid only during the call.
 * Runs on the loop thread.
 */
typedef void store_done_cb(void *arg, const ig_err *err);
/* Told about every failed operation that concerns a run (run_id), once per
 * run and failed transaction, so the daemon can pause or fail it; and,
 * with run_id 0 and IG_PROTO_UNAVAILABLE, once, that the store refuses
 * every write from now on. */
typedef void store_error_cb(void *arg, int64_t run_id, const ig_err *err);

/*
 * Open or create the database at path, run forward migrations, lock it
 * against a second ignited and start the writer thread.  opt may be NULL.
 * A file that is not an ignite database, or is from a newer ignite, or is
 * damaged (PRAGMA quick_check), is refused and left untouched; so is a
 * database whose directory, file, -wal, -shm, .lock or .key is not the
 * daemon's uid's alone (another owner, writable by group or others, a
 * symbolic link, not a regular file).  Returns NULL with a message in err.
 *
 * Its messages are text, not an ig_err: they name up to three paths and
 * what to do (move a file aside, recover a damaged database), more than
 * IG_ERR_MAX holds, and ig_err's size is libignite_proto's ABI.  They go to
 * ignited's stderr as they are.
 *
 * Beside the database, <path>.key holds the key that signs each run's id,
 * owner and spec (store_run_trusted()); it is created on first use.
 *
 * Should the database's -wal be removed or replaced while the store is
 * open, everything that commits from then on would be lost in a crash: no
 * write commits any more; each fails with IG_PROTO_UNAVAILABLE.
 */
struct store *store_open(uv_loop_t *loop, const char *path,
    const struct store_options *opt, char *err, size_t errlen);
/*
 * Commit everything enqueued, run the pending callbacks, stop the writer,
 * checkpoint the WAL and release the lock.  Blocks until the writer is done
 * (shutdown only).  The store's memory is freed once the loop has run its
 * close callbacks: run the loop again after this.
 */
void store_close(struct store *s);

void store_on_error(struct store *s, store_error_cb *cb, void *arg);
/* The store's read connection for quick lookups on the loop thread.  Owned
 * by the store.  Long reads (metric history) belong on another thread with
 * a reader of their own. */
struct store_reader *store_loop_reader(struct store *s);
/*
 * Backpressure.  The writes enqueued and not yet committed (or failed) are
 * bounded in bytes by store_options.queue_bytes; nothing is refused past
 * it, but store_full() says so, from the moment the queue holds more until
 * it has drained to half the bound, when the drain callback runs (on the
 * loop): whoever writes faster than the writer commits waits until then.
 */
typedef void store_drain_cb(void *arg);
bool store_full(const struct store *s);
void store_on_drain(struct store *s, store_drain_cb *cb, void *arg);
/* What the metrics endpoint shows of the store. */
struct store_stats {
	size_t queued; /* writes enqueued, not yet committed or failed */
	size_t queued_bytes; /* what they hold */
	const struct hist *commit_seconds; /* the writer's transactions */
};
void store_stats(const struct store *s, struct store_stats *st);
/* The database's path, as opened; owned by s. */
const char *store_path(const struct store *s);
/* 0 when writes are taken; else IG_PROTO_UNAVAILABLE (closing, or the
 * WAL is gone; checked now) with a message a user can act on in err. */
int store_writable(struct store *s, ig_err *err);
/* Was run, as read, stored by an ignited holding this database's key, with
 * its id, owner and spec unchanged since?  Nothing else may start its code:
 * a record changed outside ignited could name any owner and any program. */
bool store_run_trusted(const struct store *s, const struct store_run *run);

/*
 * Create a run from run->name, owner_uid, spec, status and progress.  The
 * id is reserved at once (ids are never reused) and written to *id; the row
 * commits later, and cb (may be NULL) says when.  A name the owner has
 * given another run fails at once with IG_PROTO_CONFLICT (names are unique
 * per owner).
 */
int store_create_run(struct store *s, const struct store_run *run, int64_t *id,
    store_done_cb *cb, void *arg, ig_err *err);
/* Set status and reason (may be NULL); stamps started/finished times. */
int store_set_status(struct store *s, int64_t run_id, enum ig_status status,
    const char *reason, store_done_cb *cb, void *arg);
int store_set_progress(struct store *s, int64_t run_id,
    const struct store_progress *p, store_done_cb *cb, void *arg);
/*
 * The id of run_id's metric series name, created if new.  Looks the name
 * up synchronously (a few microseconds); callers keep the id for the run's
 * lifetime.  Returns 0 or an error code with *id unset.
 */
int store_series(struct store *s, int64_t run_id, const char *name, int64_t *id,
    ig_err *err);
/* Append n points of run_id's series.  Failures go to the error callback. */
int store_points(
    struct store *s, int64_t run_id, const struct store_point *p, size_t n);
/*
 * Save a checkpoint, update the run's progress from p and drop the
 * checkpoints its retention does not keep, all in one transaction together
 * with every point enqueued before it; a record of the same file is
 * replaced.  The files of those dropped are unlinked after the commit (by
 * the writer thread, as their run's owner), unless a record still names
 * them.  ckpt->seq is ignored.
 */
int store_save_checkpoint(struct store *s, const struct store_checkpoint *ckpt,
    const struct store_progress *p, store_done_cb *cb, void *arg);
int store_add_event(struct store *s, const struct store_event *ev,
    store_done_cb *cb, void *arg);
/* A run placed on a cluster (runs/remote.c): the secret (STORE_SECRET_LEN
 * bytes) its workers dial back with and its scheduler's job id ("": none
 * yet), replacing what was recorded. */
#define STORE_SECRET_LEN 32
#define STORE_JOB_MAX 64
int store_set_launch(
    struct store *s, int64_t run_id, const void *secret, const char *job);
/* What store_set_launch recorded for run_id: 0, IG_PROTO_NOT_FOUND, or
 * another code (store_reader_error says why). */
int store_get_launch(struct store_reader *r, int64_t run_id,
    unsigned char *secret, char *job, size_t joblen);
/* One line of a worker's stderr; the run keeps its last keep_log_lines. */
int store_log(struct store *s, int64_t run_id, const char *line, size_t len);
/* Delete a run with its checkpoints, series, points, events and logs. */
int store_delete_run(
    struct store *s, int64_t run_id, store_done_cb *cb, void *arg);
/*
 * Resume support: delete run_id's points, events and checkpoints past
 * iteration (its checkpoint's), in one transaction; the files of those
 * checkpoints are unlinked after the commit.  Enqueue it before the resumed engine
 * writes anything: later points then never meet a stale one.
 *
 * A run some of whose writes were lost in a failed transaction (disk full,
 * I/O error) has its later points, checkpoints, progress and events
 * refused (IG_PROTO_CONFLICT), since they would leave a gap in its history; a
 * truncate (it resumes from its last checkpoint) or a delete lifts that.
 */
int store_truncate(struct store *s, int64_t run_id, int64_t iteration,
    store_done_cb *cb, void *arg);
/* Cap the database file at about max_bytes (0: no cap).  Writes past it
 * fail with IG_PROTO_UNAVAILABLE, "database or disk is full". */
int store_limit_size(
    struct store *s, int64_t max_bytes, store_done_cb *cb, void *arg);
/* Barrier: cb runs once everything enqueued before it has committed or
 * failed.  Hands the pending operations to the writer at once. */
int store_flush(struct store *s, store_done_cb *cb, void *arg);

/* ---- readers (any one thread) ----------------------------------------- */

/* Open a read connection on an ignite database that exists.  NULL with
 * the error in err on failure. */
struct store_reader *store_reader_open(const char *path, ig_err *err);
void store_reader_close(struct store_reader *r);
/* The message of the last failed call on r (reads return its code). */
const char *store_reader_error(const struct store_reader *r);

/* Runs whose status is in mask (STORE_ANY_STATUS: all), by id. */
int store_list_runs(
    struct store_reader *r, unsigned mask, struct store_run **runs, size_t *n);
/* Fill *run (clear with store_run_clear); IG_PROTO_NOT_FOUND if none. */
int store_get_run(struct store_reader *r, int64_t id, struct store_run *run);
/* The run owner calls name (names are unique per owner). */
int store_get_run_by_name(struct store_reader *r, uint32_t owner,
    const char *name, struct store_run *run);
/* The newest checkpoint; IG_PROTO_NOT_FOUND if the run has none. */
int store_latest_checkpoint(
    struct store_reader *r, int64_t run_id, struct store_checkpoint *ckpt);
/* Every checkpoint of the run, newest first (free each with
 * store_checkpoint_clear, then the array); *n 0 when it has none. */
int store_list_checkpoints(struct store_reader *r, int64_t run_id,
    struct store_checkpoint **v, size_t *n);

/* A run to resume at start: its record and newest checkpoint, if any. */
struct store_resume {
	struct store_run run;
	bool has_checkpoint;
	struct store_checkpoint checkpoint;
};
/* Every queued, running or paused run, by id. */
int store_unfinished(
    struct store_reader *r, struct store_resume **runs, size_t *n);
void store_resume_free(struct store_resume *runs, size_t n);

/*
 * One metric series and, from store_history(), its points by iteration as
 * four columns of n, in one block of memory at epoch: as the chunks hold
 * them, so that decoding writes each column straight, and packing an
 * answer is a byte swap of each (time is the point's wall clock).  A
 * column the query leaves out holds garbage.
 */
struct store_series_data {
	int64_t id;
	char *name;
	int64_t *epoch, *iteration; /* epoch: the block, to free */
	double *time, *value;
	struct store_bucket *buckets; /* instead, for STORE_DS_MINMAX */
	size_t n;
};

/* One bucket of a STORE_DS_MINMAX read: min and max over its values that
 * are not NaN (NaN when none), and its last point's iteration and value. */
struct store_bucket {
	int64_t iteration;
	double min, max, last;
};
void store_series_free(struct store_series_data *series, size_t n);

/* run_id's series, by name, without points. */
int store_series_list(struct store_reader *r, int64_t run_id,
    struct store_series_data **series, size_t *n);

enum store_axis {
	STORE_AXIS_ITERATION,
	STORE_AXIS_EPOCH,
};

/*
 * Downsampling: the axis range [first, last] of the selected points is cut
 * into max_points buckets of equal width (at least 1); each non-empty
 * bucket gives one point with the epoch, iteration and wall time of its
 * last point and, as value, that point's (LAST) or the bucket's mean (MEAN).
 * MINMAX (by iteration only) gives buckets instead of points, the range
 * being the series' first and last iteration within from and to; a
 * stored chunk narrower than a bucket and within from and to goes whole
 * to the bucket of its last point, read from its row without decoding.
 */
enum store_downsample {
	STORE_DS_LAST,
	STORE_DS_MEAN,
	STORE_DS_MINMAX,
};

struct store_query {
	int64_t run_id;
	const char *const *names; /* NULL: every series */
	size_t nnames;
	enum store_axis axis;
	int64_t from, to; /* inclusive, on the axis; INT64_MIN/MAX: open */
	size_t max_points; /* per series; 0: every point */
	size_t limit; /* without max_points: read at most this many
	                             * points of each series, from the start of
	                             * the range (0: all); for paging */
	enum store_downsample downsample;
	unsigned columns; /* IG_COL_* to read (0: all); the axis's own and
	                   * the iterations are read whatever it says */
};

/* The selected series (a name that does not exist is skipped), by name. */
int store_history(struct store_reader *r, const struct store_query *q,
    struct store_series_data **series, size_t *n);

/* Up to limit (0: all) events of run_id with id > after_id, oldest first. */
int store_events(struct store_reader *r, int64_t run_id, int64_t after_id,
    size_t limit, struct store_event **events, size_t *n);
/* The last n log lines of run_id, oldest first. */
int store_log_tail(struct store_reader *r, int64_t run_id, size_t n,
    struct store_logline **lines, size_t *count);

#endif
