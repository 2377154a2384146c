/*
 * runs.h - the run manager, as main.c sees it.
 */
#ifndef IGNITED_RUNS_H
#define IGNITED_RUNS_H

#include <stddef.h>

#include <uv.h>

#include "job/job.h"
#include "runs/sched.h"
#include "store/store.h"
#include "worker/listen.h"

struct runs;

/* Load every stored run and resume the unfinished ones from their last
 * checkpoint, those that ran first, then the queue in its stored order.
 * cfg is borrowed for the manager's life, sched copied.  Returns NULL with a
 * message in err. */
struct runs *runs_open(uv_loop_t *loop, const struct job_config *cfg,
    const struct sched_config *sched, struct store *store, ig_err *err);
/* Stop every run after its current iteration, checkpoint it (it stays
 * "running", to be resumed at the next start), flush the store, then call
 * done(arg, status) on the loop. */
void runs_shutdown(
    struct runs *mgr, void (*done)(void *arg, int status), void *arg);
/* The run a worker dialing back names (worker/listen.h's claim): its
 * secret compared in constant time. */
enum worker_claim runs_worker_claim(void *mgr, int64_t run,
    const unsigned char *secret, struct worker **w, char *why, size_t whylen);
/* How many runs have status (enum ig_status), e.g. IG_STATUS_RUNNING. */
size_t runs_count(const struct runs *mgr, int status);
/* Free everything; the loop must run once more to close its handle. */
void runs_close(struct runs *mgr);

#endif
