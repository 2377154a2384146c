/*
 * shutdown.c - shutdown: every run stopped at a clean point and checkpointed, then the store flushed.
 */
#include "runs/runs_int.h"

/* At shutdown, how long a checkpoint waits for its worker's state: well
 * within systemd's TimeoutStopSec (120 s in ignited.service). */
#define SHUTDOWN_GRACE_MS 30000

static void
on_flushed(void *arg, const ig_err *err)
{
	struct runs *mgr = arg;

	if (err != NULL)
		log_error("flushing the store: %s", err->message);
	mgr->stopped(mgr->stopped_arg, err != NULL ? err->code : 0);
}

/* Once no run steps or waits (a worker's state for a checkpoint only
 * until the grace is over): flush the store, then report. */
void
check_stopped(struct runs *mgr)
{
	if (mgr->building > 0)
		return;
	for (size_t i = 0; i < mgr->n; i++) {
		struct run *run = mgr->v[i];
		/* one waiting for its worker to dial back has nothing to
		 * save: it resumes from its last checkpoint; a plugin's
		 * save_file holds its job until it returns */
		if (run->runnable || (run->waiting && !remote_waiting(run)) ||
		    (run->ckpt_out && (!mgr->grace_over || job_busy(run->job))))
			return;
	}
	for (size_t i = 0; i < mgr->n; i++)
		if (mgr->v[i]->ckpt_out)
			log_msg(LOG_WARN, mgr->v[i]->id,
			    "its worker did not give its state "
			    "within %d s of the shutdown: the run resumes from its previous "
			    "checkpoint",
			    SHUTDOWN_GRACE_MS / 1000);
	uv_idle_stop(&mgr->idle);
	uv_timer_stop(&mgr->grace);
	if (store_flush(mgr->store, on_flushed, mgr) != 0)
		mgr->stopped(mgr->stopped_arg, -1);
}

void
on_stop_idle(uv_idle_t *idle)
{
	struct runs *mgr = idle->data;

	on_idle(idle);
	if (mgr->stopping)
		check_stopped(mgr);
}

static void
on_grace_over(uv_timer_t *t)
{
	struct runs *mgr = t->data;

	mgr->grace_over = true;
	check_stopped(mgr);
}

void
runs_shutdown(struct runs *mgr, void (*done)(void *arg, int status), void *arg)
{
	mgr->stopping = true;
	mgr->stopped = done;
	mgr->stopped_arg = arg;
	for (size_t i = 0; i < mgr->n; i++) {
		struct run *run = mgr->v[i];
		/* a pause asked for and not yet reached stays a pause:
		 * the run comes back paused, as its owner was told */
		if ((run->runnable || run->waiting || run->ckpt_out ||
		        run->rebuilding) &&
		    run->suspend != SUSPEND_PAUSE)
			run->suspend = SUSPEND_SHUTDOWN;
	}
	uv_timer_start(&mgr->grace, on_grace_over, SHUTDOWN_GRACE_MS, 0);
	uv_idle_stop(&mgr->idle);
	uv_idle_start(&mgr->idle, on_stop_idle);
}

/* The manager goes with the last of its two handles. */
static void
free_on_close(uv_handle_t *h)
{
	struct runs *mgr = h->data;

	if (--mgr->open_handles == 0)
		free(mgr);
}

void
runs_close(struct runs *mgr)
{
	alerts_close(mgr);
	for (size_t i = 0; i < mgr->n; i++)
		run_free(mgr->v[i]);
	free(mgr->v);
	sched_free(mgr->sched);
	mgr->sched = NULL;
	history_close(mgr->history);
	uv_close((uv_handle_t *)&mgr->idle, free_on_close);
	uv_close((uv_handle_t *)&mgr->grace, free_on_close);
}
