/*
 * launch.h - launchers: where and how a run's exec worker is started.
 *
 * A launcher is one placement: local (launch_local.c: the worker is the
 * daemon's child, speaking over pipes) or a cluster's scheduler
 * (launch_slurm.c: the worker is a job that connects back, ignited
 * --worker-listen).  launch_for() picks a spec's.  One launcher is one
 * file, and fills what its placement needs:
 *
 *   - spawn: start the worker now as the daemon's child, its stdin,
 *     stdout and stderr pipes handed to the worker channel (worker.c),
 *     which reaps it and kills it when it must.  Local only.
 *   - submit, status, cancel: hand the worker to the scheduler, ask how
 *     its job stands, cancel it; the worker dials back by itself, and
 *     runs/remote.c follows the job.  Each runs the scheduler's command
 *     (sbatch, scontrol, scancel; kubectl for a Kubernetes twin) off the
 *     loop through launch_command.
 *
 * A launcher has spawn, or submit, status and cancel, not both.
 * Everything runs on the loop thread.  A callback's arg must outlive the
 * command: the caller keeps count of its commands in flight.
 */
#ifndef IGNITED_LAUNCH_H
#define IGNITED_LAUNCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "ignite/protocol.h"
#include "ignite/spec.h"

#define LAUNCH_JOB_MAX 64 /* a job id */
#define LAUNCH_STATE_MAX 32
#define LAUNCH_REASON_MAX 160

/* How a job stands, as the scheduler says. */
enum launch_phase {
	LAUNCH_PENDING, /* waiting in the scheduler's queue */
	LAUNCH_RUNNING, /* started (its worker may not have connected yet) */
	LAUNCH_ENDED, /* ended, or unknown to the scheduler */
};

struct launch_status {
	enum launch_phase phase;
	char state[LAUNCH_STATE_MAX]; /* the scheduler's word: PENDING */
	char reason[LAUNCH_REASON_MAX]; /* why it waits or ended, or "" */
};

/* Who starts and what: the run's owner, its worker's argv (the spec's
 * engine), environment (with IGNITE_WORKER_ADDR, _RUN and _SECRET for a
 * worker that dials back) and working directory. */
struct launch_req {
	const ig_spec *spec; /* submit only: the placement, the engine's argv */
	int64_t run; /* submit only: the job's name */
	char *const *env;
	const char *cwd;
	bool setid; /* run the commands as uid/gid (the daemon is root) */
	uid_t uid;
	gid_t gid;
	/* spawn only: argv (NULL-terminated, argv[0] searched in env's
	 * PATH); the limits by enum ig_rlimit (IG_NONE: inherited);
	 * CUDA_VISIBLE_DEVICES over env's ("" hides every GPU; NULL: env's);
	 * the CPUs of its affinity ("0,2"; NULL or "": inherited) */
	char *const *argv;
	const int64_t *rlimits;
	const char *gpus;
	const char *cpus;
};

/* job is the new job's id, or NULL with err. */
typedef void launch_submitted_fn(void *arg, const char *job, const char *err);
/* st, or NULL with err when the scheduler could not be asked. */
typedef void launch_status_fn(
    void *arg, const struct launch_status *st, const char *err);

struct launcher {
	const char *name;
	/* Start the worker as proc (exit_cb once it ended; the caller
	 * closes proc then), its stdin, stdout and stderr the pipes io[]
	 * (initialised, not yet open).  On failure, with err: proc is to be
	 * closed if it was spawned (uv_spawn's failure), else left as the
	 * caller gave it (zeroed: no handle).  What only the owner can find
	 * out (no such program, a cwd it may not enter) the worker says on
	 * stderr and exits EXEC_WORKER_FAILED. */
	int (*spawn)(uv_loop_t *loop, const struct launch_req *req,
	    uv_process_t *proc, uv_exit_cb exit_cb, uv_pipe_t *const io[3],
	    ig_err *err);
	int (*submit)(uv_loop_t *loop, const struct launch_req *req,
	    launch_submitted_fn *done, void *arg, ig_err *err);
	int (*status)(uv_loop_t *loop, const char *job, launch_status_fn *done,
	    void *arg, ig_err *err);
	/* Fire and forget: a job that has ended is no error. */
	int (*cancel)(uv_loop_t *loop, const struct launch_req *req,
	    const char *job, ig_err *err);
};

extern const struct launcher launch_local, launch_slurm;

/* The launcher of spec's placement: local without one. */
const struct launcher *launch_for(const ig_spec *spec);

/* What a command wrote and how it ended: status its exit status, or -1
 * when it was killed or could not run (err says why).  out and errout
 * are NUL-terminated, cut at 64 KiB. */
typedef void launch_command_fn(
    void *arg, int status, const char *out, const char *errout);

/* Run argv (argv[0] searched in env's PATH) with env, stdin the bytes of
 * input (NULL: nothing), as the request's owner when req->setid, in
 * req's cwd (NULL: "/"), through ignited --exec-worker (no descriptor of
 * the daemon's).  Killed after 60 s.  done is called once unless this
 * fails. */
int launch_command(uv_loop_t *loop, const struct launch_req *req,
    char *const *argv, char *const *env, const char *input,
    launch_command_fn *done, void *arg, ig_err *err);

#endif
