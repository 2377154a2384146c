/*
 * api.h - the methods of the control protocol (docs/PROTOCOL.md): handlers
 * that read their params, act through the run manager and answer through
 * the server; they never touch a socket.
 */
#ifndef IGNITED_API_H
#define IGNITED_API_H

#include "runs/runs.h"
#include "server/server.h"

/* Register them on srv.  Each returns 0 or -1 when out of memory. */
/* daemon.c: hello, ping and shutdown. */
int api_daemon_register(struct server *srv);
/* runs.c: run, list, status, state_dict, the control verbs, metrics,
 * watch, unwatch, logs, delete, over the run manager mgr. */
int api_runs_register(struct server *srv, struct runs *mgr);

#endif
