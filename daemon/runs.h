/*
 * runs.h - the run manager, as main.c sees it.
 */
#ifndef IGNITED_RUNS_H
#define IGNITED_RUNS_H

#include <stddef.h>

#include <uv.h>

#include "server.h"
#include "store.h"

struct runs;

/* Load every stored run, resume the unfinished ones from their last
 * checkpoint and register the run methods on srv.  Returns NULL with a
 * message in err. */
struct runs *runs_open(uv_loop_t *loop, ig_store *store, struct server *srv,
                       char *err, size_t errlen);
/* Stop every run after its current iteration, checkpoint it (it stays
 * "running", to be resumed at the next start), flush the store, then call
 * done(arg, status) on the loop. */
void runs_shutdown(struct runs *mgr, void (*done)(void *arg, int status), void *arg);
/* Free everything; the loop must run once more to close its handle. */
void runs_close(struct runs *mgr);

#endif
