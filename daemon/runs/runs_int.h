/*
 * runs_int.h - what the run manager's files share (daemon/runs/).
 *
 * The run manager: runs accepted, stepped in time slices on the loop,
 * checkpointed to the store, finished, and resumed when the daemon starts
 * again.  It knows jobs and the store; its news (notifications, a run
 * accepted, resumed or gone) goes out through one function the RPC side
 * gives it (runs_set_rpc), which alone knows who watches: it does not know
 * connections, the socket or the methods.
 *
 * Checkpoints are taken only where the engine's state is clean, so that a
 * resumed run is the same run: at ITERATION_COMPLETED (not the last of an
 * epoch, whose EPOCH_COMPLETED is still to come) and at EPOCH_COMPLETED,
 * after the job's own handlers have updated metrics and reported points.
 * Pause and shutdown wait for such a point, checkpoint, and interrupt.
 * An exec worker's state comes asynchronously, and the store commits on
 * its own thread: the run waits off the run queue at its clean point until
 * the worker has answered and the store has committed (checkpoint()), and
 * the loop never waits for either.
 *
 * One section a file, as tmux.h and bgpd's rde.h are sectioned.
 */
#ifndef IGNITED_RUNS_INT_H
#define IGNITED_RUNS_INT_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "runs/run.h"
#include "runs/runs.h"

/* table.c */
int runs_add(struct runs *mgr, struct run *run);
void runs_remove(struct runs *mgr, struct run *run);

/* record.c */
void set_reason(struct run *run, const char *reason);
void set_status(struct run *run, int status, const char *reason);
void set_paused(struct run *run, const char *reason);
void flush_points(struct run *run);
/* "store" while watchers were told that a running run is throttled. */
char *run_throttled(const struct run *run);
struct store_progress progress_of(struct run *run);
void hook_point(
    void *ud, const char *name, int64_t epoch, int64_t iteration, double value);

/* runlog.c */
void log_window_end(struct run *run, bool force);
void hook_log(void *ud, const char *line);

/* notify.c */
void tell_rpc(struct run *run, enum run_news what, const struct run_note *note);
void broadcast_to(struct run *run, const char *method, run_pack_fn *pack,
    void *arg, run_pack_fn *public, void *parg);
void broadcast(
    struct run *run, const char *method, run_pack_fn *pack, void *arg);
void notify_status(struct run *run);
void notify_progress(struct run *run);
void pack_event_note(msgpack_packer *pk, void *arg);
void notify_metrics(struct run *run, ig_engine *e);

/* run.c */
void run_dir(const struct run *run, char *buf, size_t len);
int build_job(struct run *run, struct job **out, ig_err *err);
int on_epoch_completed(ig_engine *e, int event, void *ud);
int add_run_handlers(struct run *run);
void run_free(struct run *run);
struct run *run_alloc(struct runs *mgr, ig_spec *spec, uid_t owner);
void pack_spec(msgpack_sbuffer *sb, const ig_spec *spec);
int64_t fresh_seed(void);
int start_engine(struct run *run, int64_t max_epochs, ig_err *err);
void snapshot(struct run *run);
void load_last_metrics(struct run *run);
int load_checkpoint(struct run *run, const struct store_checkpoint *c,
    const void *file_bytes, size_t file_len, ig_err *err);
int restore_checkpoint(
    struct run *run, const struct store_checkpoint *c, ig_err *err);
int load_state_dict(struct run *run, const void *buf, size_t len, ig_err *err);
int spec_from_bytes(const void *buf, size_t len, ig_spec **spec, ig_err *err);

/* checkpoint.c */
void checkpoint(struct run *run, int then);
uint64_t to_count_point(const struct run *run, ig_engine *e);
bool checkpoint_due(const struct run *run, ig_engine *e);
bool checkpoint_due_now(const struct run *run);
void suspend_now(struct run *run);
void after_checkpoint(struct run *run, int then);

/* ckfile.c: blocking, for the threadpool (and the start) */
#define SETUP_STATE_MAX (8 << 20) /* a file's bytes given in setup */
struct ckfile {
	char path[PATH_MAX]; /* the sealed .bin */
	int64_t size;
	uint64_t sum; /* XXH3-64 */
};
/* The daemon's --checkpoint-dir, made 0711 when missing. */
int ckfile_base(const char *dir, ig_err *err);
/* The run's directory path, the owner's, mode 0700: made by the daemon and
 * given to the owner, or (shared: a spec's checkpoint.dir) as the owner. */
int ckfile_mkdir(const char *path, uid_t owner, bool shared, ig_err *err);
/* The run's directory dir, made as ckfile_mkdir does, and its parent,
 * the daemon's --checkpoint-dir, as ckfile_base does unless shared. */
int ckfile_run_dir(const char *dir, uid_t owner, bool shared, ig_err *err);
/* dir/ckpt-ITERATION-TAG.ext: TAG is drawn afresh for each checkpoint, so
 * no record ever names a file written again later (a run resumed from an
 * older checkpoint reaches the same iterations again). */
void ckfile_name(char *buf, size_t len, const char *dir, int64_t iteration,
    uint64_t tag, const char *ext);
uint64_t ckfile_tag(void);
/* Seal dir/ckpt-ITERATION-TAG.part (written first from bytes, when given):
 * a regular file of the owner's, summed, fsynced, renamed to .bin, the
 * directory fsynced; or a directory of them (shards), each summed and
 * fsynced, a manifest of them written inside, renamed to .dir (size: the
 * files' total, sum: the manifest's).  On failure the .part is removed. */
int ckfile_seal(const char *dir, int64_t iteration, uint64_t tag, uid_t owner,
    const void *bytes, size_t len, struct ckfile *f, ig_err *err);
/* Another run's sealed checkpoint file src, linked (link_ok: the same
 * owner; on another filesystem it is copied) or copied into dir as the
 * owner, sealed as ckfile_seal does, and checked against size and sum. */
int ckfile_branch(const char *src, int64_t size, uint64_t sum, bool link_ok,
    const char *dir, int64_t iteration, uint64_t tag, uid_t owner,
    struct ckfile *f, ig_err *err);
/* Is path the file its record describes (a directory: its manifest, and
 * every file the manifest lists, no other)?  A file's bytes in *keep
 * (free) when at most keep_max. */
int ckfile_verify(const char *path, int64_t size, uint64_t sum, uid_t owner,
    size_t keep_max, void **keep, size_t *keep_len, ig_err *err);
/* Remove the files of dir no record of keep names: what a crash left (a
 * .part half-written, a .bin sealed but not committed, one whose record
 * was deleted but not yet unlinked).  Only where nothing is in flight. */
void ckfile_sweep(const char *dir, uid_t owner,
    const struct store_checkpoint *keep, size_t nkeep);
/* Remove what a worker that failed to save left at the part's name. */
void ckfile_drop(const char *dir, int64_t iteration, uint64_t tag, uid_t owner);
void ckfile_remove_dir(const char *dir, uid_t owner);

/* schedule.c */
void make_runnable(struct run *run);
void stepped(struct run *run, ig_run_status st);
void step_run(struct run *run, uint64_t share_ns);
void on_idle(uv_idle_t *idle);
void unthrottle(struct run *run);
void on_store_drained(void *arg);

/* finish.c */
void tell_ended(struct run *run);
void finish(struct run *run, ig_run_status st);
void finish_end(struct run *run);
bool live(const struct run *run);

/* rebuild.c */
/*
 * Rebuilding a run's job from its spec and its last checkpoint: a worker's
 * restart, the resume of an ended run, a requeue, the daemon's start.
 * Three steps: the checkpoints' records are read (on the loop: the store's
 * reader is the loop's), the job built and the checkpoint's file checked
 * (on the threadpool: a data file or a state may be gigabytes), then
 * installed with the checkpoint loaded, on the loop, but for a plugin's
 * state file, read on the threadpool (load_file_later).  Meanwhile the
 * run is held (rebuilding): not stepped, its verbs UNAVAILABLE.
 */
struct rebuild {
	uv_work_t work;
	struct run *run;
	bool start_over; /* no checkpoint: from the start */
	bool sweep; /* at the start: what a crash left in its directory goes */
	struct store_checkpoint *ckpts; /* newest first */
	size_t nckpts;
	size_t use; /* the one resumed from: its file checked */
	void *file_bytes; /* its file's bytes when small, for setup */
	size_t file_len;
	char *skipped; /* why newer ones were not used, or NULL */
	struct job *job; /* built, not yet the run's */
	int rc;
	ig_err err;
	void (*then)(struct rebuild *rb); /* rb->rc says how it went */
	run_done_fn *done; /* resume's answer */
	void *arg;
	int64_t max_epochs;
};
/* A paused run at the start is not built (it holds nothing), but what a
 * crash left in its directory goes, as a live run's rebuild (rb->sweep)
 * has it go. */
void sweep_now(struct run *run);
int rebuild_later(struct run *run, struct rebuild *rb, ig_err *err);
int rebuild_start(struct rebuild *rb);
int resume_engine(struct run *run, int64_t max_epochs, ig_err *err);
void resumed(struct rebuild *rb);
/* Its log's "WHAT at epoch E, iteration I AFTER" once it goes on. */
void log_resumed(struct run *run, const char *what, const char *after);
/* After a checkpoint's load and the run's start: a plugin's state file is
 * read off the loop, the run held until then. */
void load_file_later(struct run *run);

/* queue.c */
void queue_entry_init(struct run *run, int64_t seq);
void queue_start(struct run *run);
void queue_restore(struct run *run);
void queue_dispatch(struct runs *mgr);
void queue_place(struct run *run);
void queue_release(struct run *run);
void queue_forget(struct run *run);
/* It stops running without ending: its job goes, what it holds too. */
void queue_park(struct run *run);
/* Its preemption reached its checkpoint: queued again, holding nothing. */
void queue_preempted(struct run *run);
int queue_terminate(
    struct run *run, run_done_fn *ended, void *arg, bool *later);
void queue_summary(struct run *run, ig_summary *s);

/* alert.c */
/* A spec's notify entries (PROTOCOL.md): at a status change, and at each
 * metric point (nan); alerts_close kills what still runs at the end. */
void alert_status(struct run *run);
void alert_point(struct run *run, const char *name, double value);
void alerts_close(struct runs *mgr);

/* remote.c: runs placed on a cluster (spec placement.slurm), whose
 * workers dial back; see there. */
int remote_check(struct runs *mgr, const ig_spec *spec, ig_err *err);
void remote_setup(struct run *run, bool stored);
void remote_free(struct run *run);
void remote_want(void *ud);
void remote_status(struct run *run);
bool remote_waiting(struct run *run);
int remote_shown_status(struct run *run);
char *remote_reason(struct run *run);
void remote_told(struct run *run, int status, const char *why);
bool remote_hold_failure(struct run *run);
const char *remote_failure_note(const struct run *run);
void remote_summary(struct run *run, ig_summary *s);

/* shutdown.c */
void check_stopped(struct runs *mgr);
void on_stop_idle(uv_idle_t *idle);

#endif
