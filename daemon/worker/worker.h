/*
 * worker.h - an exec worker process: spawned with its stdin and stdout as
 * the worker channel (docs/PROTOCOL.md, "The worker protocol") and its
 * stderr read line by line into the run's log.
 *
 * Requests are pipelined: the daemon may send the next one (an event, then
 * process) before the answer to the previous one; answers come back in
 * order and each goes to the callback given with its request.  A request
 * without an answer within its timeout, a frame the decoder refuses, an
 * answer nobody asked for, or the process ending fails the worker: the
 * process is killed and reaped, every pending callback is dropped, and
 * fail() says which, with the last stderr lines.
 *
 * Ownership: the caller owns the worker until worker_free(); the struct
 * itself lives on until libuv has closed its handles and reaped the
 * process, so worker_free may be called at any time, callbacks never fire
 * after it.  Everything runs on the loop thread.
 */
#ifndef IGNITED_WORKER_H
#define IGNITED_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "ignite/protocol.h"
#include "ignite/spec.h"

struct worker;
struct launcher;
struct launch_req;

struct worker_cb {
	/* A line of the worker's stderr, or a log notification; NUL-terminated,
	 * borrowed. */
	void (*log)(void *ud, const char *line);
	/* The worker failed; reason is borrowed.  Called once. */
	void (*fail)(void *ud, const char *reason);
	void *ud;
};

/* An answer: msg is a response, borrowed for the call. */
typedef void worker_reply_fn(void *arg, const ig_msg *msg);
/* Packs a request's params. */
typedef void worker_pack_fn(msgpack_packer *pk, void *arg);

/* Start the worker as launcher l's child (l->spawn, launch/launch.h: the
 * local launcher, through ignited --exec-worker) as req says, timeout_ms
 * its requests' default.  Returns 0, or an IG_PROTO_* code with err saying
 * why the daemon could not start it (cannot set uid, fork).  What only
 * the owner can find out (no such program, a cwd it may not enter, a
 * limit refused) fails the worker through fail() with the reason, as its
 * exit would. */
int worker_start(uv_loop_t *loop, const struct launcher *l,
    const struct launch_req *req, uint64_t timeout_ms,
    const struct worker_cb *cb, struct worker **out, ig_err *err);

/* A remote worker (PROTOCOL.md, "Workers that dial back"): requests are
 * queued until a connection is attached, and no deadline runs meanwhile.
 * Its failure reasons say the connection dropped. */
int worker_remote(uv_loop_t *loop, uint64_t timeout_ms,
    const struct worker_cb *cb, struct worker **out, ig_err *err);

/* Hand remote worker w the connection tcp (malloc'd, taken over: closed
 * and freed by w), after the worker's hello: first (len bytes, the
 * answer to hello) goes out before the requests held, rest (bytes read
 * past the hello) is read as the worker's.  -1 when w is not waiting for
 * a connection (local, attached, failed): tcp stays the caller's. */
int worker_attach(struct worker *w, uv_tcp_t *tcp, const void *first,
    size_t len, const char *rest, size_t nrest);

/* At its free, a remote worker's connection is closed without shutdown:
 * the worker dials again (the daemon stops, to start again). */
void worker_leave(struct worker *w);

/* Has a remote worker its connection?  (A local one always has.) */
bool worker_attached(const struct worker *w);

/* Send request method with params from pack(arg); reply(rarg, msg) gets the
 * answer.  timeout_ms 0: the worker's own.  Fails (the worker stays as it
 * is) when it has failed or the frame cannot be built. */
int worker_request(struct worker *w, const char *method, uint64_t timeout_ms,
    worker_pack_fn *pack, void *arg, worker_reply_fn *reply, void *rarg,
    ig_err *err);

/* Fail the worker with reason, as its own failure would. */
void worker_fail(struct worker *w, const char *reason);

/* Has the worker failed (the reason went to fail())? */
bool worker_failed(const struct worker *w);

/* Ask the worker to shut down, close its stdin and let it go: killed if it
 * has not exited within a grace period, reaped, then freed.  NULL is fine. */
void worker_free(struct worker *w);

#endif
