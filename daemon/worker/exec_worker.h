/*
 * exec_worker.h - how an exec worker's program is started: through ignited
 * itself.
 *
 * libuv enters the working directory before it drops privileges, and sets
 * no resource limits, so the daemon does not start a worker's program
 * directly.  It starts its own binary (/proc/self/exe: the very file it
 * runs from, even after an upgrade replaced it) in a hidden mode,
 *
 *     ignited --exec-worker CWD [cpus=N,N...] [LIMIT=N]... -- PROGRAM [ARG]...
 *
 * already as the run's owner (libuv's setuid and setgid, supplementary
 * groups dropped), with the worker's environment and pipes.  That process
 * closes every descriptor above 2, sets its CPU affinity to the CPUs its
 * slots name (runs/sched.h), enters CWD with the owner's rights,
 * sets each limit as soft and hard limit on itself (lowering needs no
 * privilege, and the limits cover the program's own start-up) and
 * executes PROGRAM, searched in the environment's PATH.
 *
 * When a step fails it writes one line to stderr ("engine: cannot start
 * PROGRAM in CWD: why" or "worker.rlimits.NAME: why") and exits with
 * EXEC_WORKER_FAILED; worker.c makes that line the run's reason.
 */
#ifndef IGNITED_EXEC_WORKER_H
#define IGNITED_EXEC_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#define EXEC_WORKER_FLAG "--exec-worker"
#define EXEC_WORKER_SELF "/proc/self/exe"
#define EXEC_WORKER_FAILED 122

/* The trampoline's argv for the worker's argv, cwd, limits (by enum
 * ig_rlimit, IG_NONE: inherited) and CPUs ("0,2"; NULL or "": inherited):
 * one allocation, free() it.  NULL when memory runs out. */
char **exec_worker_argv(char *const *argv, const char *cwd,
    const int64_t *rlimits, const char *cpus);

/* Spawn args (exec_worker_argv's) as proc with env; its stdin, stdout and
 * stderr are the pipes io[0], io[1], io[2] (initialised, not yet open);
 * as uid and gid when setid (libuv drops the supplementary groups).
 * uv_spawn's result: on failure proc must still be closed. */
int exec_worker_spawn(uv_loop_t *loop, uv_process_t *proc, uv_exit_cb exit_cb,
    char **args, char **env, uv_pipe_t *const io[3], bool setid, uid_t uid,
    gid_t gid);

/* ignited --exec-worker ...: returns only on failure, with the exit
 * status.  Called first thing in main, before any of the daemon's set-up. */
int exec_worker_main(int argc, char **argv);

/* Mark every descriptor above 2 close-on-exec: what the daemon inherited
 * must never reach a worker, not even the trampoline. */
void exec_worker_cloexec_inherited(void);

#endif
