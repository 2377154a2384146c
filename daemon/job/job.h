/*
 * job.h - a run spec wired onto an engine: the process function (builtin
 * or plugin), the data, the metrics, the declarative handlers and the
 * evaluator.  The run manager (run.c) owns jobs and drives their engines;
 * a job knows nothing of the store, the socket or other runs.
 *
 * Threading: everything here runs on the loop thread.  A process function
 * flagged IG_PLUGIN_BLOCKING is called on libuv's threadpool; its engine
 * then reports IG_RUN_WAITING until the call returns, and the job calls
 * hooks->wake so the run manager steps it again.
 */
#ifndef IGNITED_JOB_H
#define IGNITED_JOB_H

#include <stdbool.h>
#include <sys/types.h>

#include <uv.h>

#include "ignite/engine.h"
#include "ignite/protocol.h"
#include "ignite/spec.h"
#include "worker/plugin_load.h"

/* What a job tells its run.  ud is passed back to each. */
struct job_hooks {
	/* A metric value to record: epoch-wise metrics (and val_* from
	 * evaluate) at EPOCH_COMPLETED, iteration-wise ones (output,
	 * running_average) at every ITERATION_COMPLETED. */
	void (*point)(void *ud, const char *name, int64_t epoch,
	    int64_t iteration, double value);
	/* The checkpoint action fired.  Take it once the current event's
	 * handlers have all run (after the step), so that the points this
	 * event reports are in it. */
	void (*checkpoint)(void *ud);
	/* The log action fired; line is NUL-terminated, borrowed. */
	void (*log)(void *ud, const char *line);
	/* A blocking process call finished, or an exec worker answered:
	 * step the engine again. */
	void (*wake)(void *ud);
	/* The run's id, for the exec worker's setup. */
	int64_t (*run_id)(void *ud);
	void *ud;
	/* An exec worker placed on a cluster (spec placement) is wanted: it
	 * is to be launched, or found running, and will dial back.  NULL:
	 * nobody launches it. */
	void (*want_worker)(void *ud);
};

/* What the daemon's options say about jobs; borrowed for job_new's call. */
struct job_config {
	struct plugin_dirs plugin_dirs; /* where non-root may load plugins */
	const char *checkpoint_dir; /* --checkpoint-dir: runs' directories */
	/* the default, not given: made at the first checkpoint file (when
	 * missing at start), so a daemon that never writes one leaves
	 * nothing beside its database */
	bool checkpoint_dir_later;
	/* --worker-listen's address as workers dial it ("node1:7070");
	 * NULL: runs cannot be placed on a cluster */
	const char *worker_addr;
};

struct job;
struct worker;
struct passwd;

/* The environment of a program started for the owner pw (NULL: unknown),
 * an exec worker or an alert: PATH from the daemon, HOME, USER and LOGNAME
 * of the owner, then extra's "KEY=VALUE" entries, which win.  Nothing else
 * of the daemon's environment.  NULL without memory; free with
 * job_env_free(). */
char **job_env(const ig_strv *extra, const struct passwd *pw);
void job_env_free(char **env);
/* A copy of src into dst (free it with ig_strv_free, also after a
 * failure): 0, or -1 without memory. */
int job_argv_copy(ig_strv *dst, const ig_strv *src);

/*
 * Check spec against the world and build the job: resolve the engine
 * (builtin:NAME; plugin:PATH loaded as plugin_load.h says, with cfg's
 * directories, NULL for none; exec:ARGV, whose worker starts with the
 * run, see job_exec.c), open the data as the owner could (a file the owner
 * cannot read is refused even when the daemon could), check columns, fill
 * defaults the process function needs (softmax's classes from the data),
 * attach metrics and handlers.  Nothing is left allocated on error; the
 * message names the spec field ("data.path: cannot open ...: No such file").
 * The hooks struct is copied.
 */
int job_new(uv_loop_t *loop, const struct job_config *cfg, const ig_spec *spec,
    uid_t owner, const struct job_hooks *hooks, struct job **out, ig_err *err);
/* Where its exec worker is to run, before it starts: CUDA_VISIBLE_DEVICES
 * ("0,1"; "" for no GPU) and the CPUs of its affinity ("0,2"; "" for
 * ignited's own).  Copied; -1 without memory.  Builtin and plugin engines
 * run on the loop and ignore it. */
int job_set_placement(struct job *job, const char *gpus, const char *cpus);
/* Must not be called while job_busy(). */
void job_free(struct job *job);
/* A blocking process call is in flight. */
bool job_busy(const struct job *job);
/* The run failed because its exec worker did (exited, killed, timed out,
 * garbage), not because its code raised: a restart from the last
 * checkpoint may help (spec worker.max_restarts). */
bool job_worker_lost(const struct job *job);
/* A remote exec worker (spec placement) waiting for its connection, for
 * worker_attach; NULL when the job has none waiting. */
struct worker *job_remote_worker(struct job *job);
/* Has its remote exec worker a live connection? */
bool job_remote_connected(const struct job *job);
/* The daemon stops: its remote worker is let go without shutdown, to dial
 * the next daemon. */
void job_remote_leave(struct job *job);
/* Fail the remote worker waiting for its connection, with reason: its
 * job ended before it connected. */
void job_remote_fail(struct job *job, const char *reason);

ig_engine *job_engine(struct job *job);
/* The train data to hand to ig_engine_start (NULL for none). */
ig_data *job_data(struct job *job);
/* max_epochs, epoch_length and seed from the spec. */
ig_run_args job_run_args(const struct job *job);

/*
 * What a checkpoint needs beyond the engine's state_dict and data cursor:
 * the process function's state, the metrics' accumulators and last values,
 * the handlers' state (early stopping's best and count).  job_save packs it
 * as one msgpack object; job_load restores it into a job built from the
 * same spec, before its engine runs again, such that the run continues as
 * if it had never stopped (metrics reset by STARTED / EPOCH_STARTED on the
 * resumed run get their saved accumulators back).
 */
int job_save(struct job *job, msgpack_packer *pk, ig_err *err);
int job_load(struct job *job, const void *buf, size_t len, ig_err *err);

/*
 * An exec worker's state comes asynchronously: the loop never waits for a
 * worker.  job_state_async says whether job_save would have to ask a
 * running worker; then job_request_state asks it (one request at a time)
 * to write its state into path (a fresh file in the run's directory), and
 * fn gets saved true when it did, or the state it answered instead,
 * borrowed for the call, or err when the worker refused, failed or timed
 * out.  fn is never called after job_free.  The engine must not move
 * between the request and fn: job_save_given then packs what job_save
 * would have with that state (NULL: it is in the checkpoint's file).
 */
typedef void job_state_fn(
    void *arg, const void *state, size_t len, bool saved, const char *err);
bool job_state_async(const struct job *job);
int job_request_state(struct job *job, const char *path, job_state_fn *fn,
    void *arg, ig_err *err);
void job_save_given(
    struct job *job, msgpack_packer *pk, const void *state, size_t len);
/* Before job_load: the checkpoint's file an exec worker resumes from, and
 * its bytes when small (NULL: the worker reads the file).  Both copied. */
int job_set_checkpoint_file(struct job *job, const char *path,
    const void *bytes, size_t len, ig_err *err);
/*
 * A plugin whose state is in the checkpoint's file (load_file) has not
 * read it after job_load, which never blocks on a file of any size:
 * job_file_pending says so, and job_load_file has the plugin read it on
 * the threadpool as the owner (the file set as above), then fn(arg, NULL),
 * or fn(arg, why) when it failed.  The engine must not step meanwhile
 * (job_busy), and until it has, the job has no state to save.
 */
typedef void job_loaded_fn(void *arg, const char *err);
bool job_file_pending(const struct job *job);
int job_load_file(struct job *job, job_loaded_fn *fn, void *arg, ig_err *err);

#endif
