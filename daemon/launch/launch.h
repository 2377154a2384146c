/*
 * launch.h - launchers: where an exec worker that dials back is started.
 *
 * A run's worker runs either as the daemon's child over pipes
 * (worker_start, worker/worker.h) or, with a spec's placement, as a job of
 * a cluster's scheduler that connects back (ignited --worker-listen).  A
 * launcher is what the scheduler needs: submit the worker, ask how its
 * job stands, cancel it.  Each runs the scheduler's command (sbatch,
 * scontrol, scancel; kubectl for a Kubernetes twin) off the loop through
 * launch_command, so one launcher is one file.
 *
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

/* Who submits and what: the run's owner, its worker's argv, environment
 * (with IGNITE_WORKER_ADDR, _RUN and _SECRET) and working directory. */
struct launch_req {
	const ig_spec *spec;
	int64_t run;
	char *const *env;
	const char *cwd;
	bool setid; /* run the commands as uid/gid (the daemon is root) */
	uid_t uid;
	gid_t gid;
};

/* job is the new job's id, or NULL with err. */
typedef void launch_submitted_fn(void *arg, const char *job, const char *err);
/* st, or NULL with err when the scheduler could not be asked. */
typedef void launch_status_fn(
    void *arg, const struct launch_status *st, const char *err);

struct launcher {
	const char *name;
	int (*submit)(uv_loop_t *loop, const struct launch_req *req,
	    launch_submitted_fn *done, void *arg, ig_err *err);
	int (*status)(uv_loop_t *loop, const char *job, launch_status_fn *done,
	    void *arg, ig_err *err);
	/* Fire and forget: a job that has ended is no error. */
	int (*cancel)(uv_loop_t *loop, const struct launch_req *req,
	    const char *job, ig_err *err);
};

extern const struct launcher launch_slurm;

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
