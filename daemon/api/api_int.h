/*
 * api_int.h - what the methods' files share (daemon/api/).
 *
 * Every method is a line of the table in table.c: its name, its handler,
 * who may call it and whether it may come before hello.  api_dispatch
 * checks the rule before the handler runs, as Redis's processCommand does
 * from a command's table entry; a method on one run finds it with
 * api_find_run, which applies the entry's rule to that run.  Handlers
 * answer through the server and never touch a socket.
 */
#ifndef IGNITED_API_INT_H
#define IGNITED_API_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/api.h"
#include "runs/run.h"
#include "server/server.h"

/* Who may call a method (PROTOCOL.md, "Who may do what"). */
enum api_access {
	API_ANYONE, /* whoever can connect */
	API_READER, /* {id}: anyone; private parts to its owner and root */
	API_OWNER, /* {id}: the run's owner and root */
	API_ROOT, /* root and the daemon's own uid */
};

#define API_BEFORE_HELLO 0x1 /* may come before hello (hello itself) */
#define API_WRITES 0x2 /* refused while the database takes no writes */

struct api_call;
typedef void api_fn(struct api_call *c);

struct api_method {
	const char *name;
	api_fn *fn;
	enum api_access access;
	unsigned flags;
};

/* One request, as the handler sees it. */
struct api_call {
	const struct api_method *method; /* its table entry */
	struct runs *mgr;
	struct server
	    *srv; /* outlives conn, which a late answer may find closed */
	struct server_conn *conn;
	uint32_t msgid;
	const msgpack_object *params;
	uid_t peer;
};

/* table.c */
/* The run {id} names (params read with the extra defs, in that order),
 * found and checked against the method's rule; NULL when it may not be,
 * with the error answered.  Errors in order: params, no such run, not
 * permitted, no writes taken. */
struct run *api_find_run(struct api_call *c, ig_fdef *extra, size_t nextra);
/* A run by id, or by name as runs_find_name() resolves it (PROTOCOL.md,
 * Runs): the caller's own first.  NULL with err NOT_FOUND. */
struct run *api_resolve(
    struct runs *mgr, const ig_run_ref *ref, uid_t peer, ig_err *err);
/* Params {} or [] (how msgpack-RPC clients often say "none"). */
bool api_no_params(const struct api_call *c);

/* daemon.c */
void api_hello(struct api_call *c);
void api_ping(struct api_call *c);
void api_shutdown(struct api_call *c);
/* Params that must be empty: {} or [] (how msgpack-RPC clients often say
 * "none"); anything else is refused, as PROTOCOL.md says of unknown keys.
 * Replies with the error itself and returns false. */
bool api_params_empty(struct api_call *c);

/* machine.c */
void api_machine(struct api_call *c);

/* runs.c */
void api_run(struct api_call *c);
void api_list(struct api_call *c);
void api_status(struct api_call *c);
void api_state_dict(struct api_call *c);
void api_terminate(struct api_call *c);
void api_terminate_epoch(struct api_call *c);
void api_pause(struct api_call *c);
void api_resume(struct api_call *c);
void api_delete(struct api_call *c);
void api_metrics(struct api_call *c);
void api_logs(struct api_call *c);
void api_checkpoints(struct api_call *c);
void api_spec(struct api_call *c);

/* watch.c */
/* Take the run manager's news from now on: srv is asked how busy it is. */
void api_watch_open(struct server *srv, struct runs *mgr);
void api_watch(struct api_call *c);
void api_unwatch(struct api_call *c);

#endif
