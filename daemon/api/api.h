/*
 * api.h - the methods of the control protocol (docs/PROTOCOL.md), as
 * main.c sees them.
 */
#ifndef IGNITED_API_H
#define IGNITED_API_H

#include "runs/runs.h"
#include "server/server.h"

/* Register every method on srv, over the run manager mgr, whose news the
 * methods' side sends to the connections that watch (watch.c).  Returns 0
 * or -1 when out of memory. */
int api_register(struct server *srv, struct runs *mgr);
/* Let go of the connections that watch every run (after runs_close). */
void api_close(void);

#endif
