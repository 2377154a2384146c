/*
 * finish.c - a run's end: recorded with its last checkpoint, or a worker restarted.
 */
#include "runs/runs_int.h"

static void fail_run(struct run *run);

/* The end is in the store, checkpoint and points before it: only now do
 * status, state_dict and metrics show the run as ended. */
/* The terminate of a paused run is answered now: it has ended, or the
 * daemon stops before it could. */
void
tell_ended(struct run *run)
{
	run_done_fn *fn = run->ended;

	run->ended = NULL;
	if (fn != NULL)
		fn(run->ended_arg, run, NULL);
}

static void
on_end_committed(void *arg, const ig_err *err)
{
	struct run *run = arg;

	if (err != NULL)
		log_msg(
		    LOG_ERROR, run->id, "recording its end: %s", err->message);
	run->status = run->ending;
	run->ending = -1;
	run->finished = store_now();
	notify_status(run);
	alert_status(run);
	tell_ended(run);
	/* watchers of one run are done with it */
	tell_rpc(run, RUN_GONE, NULL);
}

static void
restarted(struct rebuild *rb)
{
	struct run *run = rb->run;

	if (rebuild_start(rb) != 0) {
		run_log(run, LOG_ERROR, "cannot restart: %s", rb->err.message);
		fail_run(run);
		return;
	}
	run->restarts++;
	run->mgr->stats.worker_restarts++;
	make_runnable(run);
	log_resumed(run, "resumed", " after the worker's restart");
}

static bool
restart_worker(struct run *run)
{
	struct job *old = run->job;
	int64_t max = run->spec->worker.max_restarts;
	struct rebuild *rb;
	ig_err err;

	if (!job_worker_lost(old) || max == IG_NONE || run->restarts >= max)
		return false;
	run_log(run, LOG_WARN,
	    "restart %lld of %lld from the last checkpoint: %s",
	    (long long)run->restarts + 1, (long long)max,
	    ig_engine_error(job_engine(old)));
	flush_points(run);
	if ((rb = calloc(1, sizeof(*rb))) == NULL) {
		run_log(run, LOG_ERROR, "cannot restart: out of memory");
		return false;
	}
	*rb = (struct rebuild){ .start_over = true, .then = restarted };
	if (rebuild_later(run, rb, &err) != 0) {
		run_log(run, LOG_ERROR, "cannot restart: %s", err.message);
		return false;
	}
	return true;
}

void
finish(struct run *run, ig_run_status st)
{
	if (st == IG_RUN_FAILED && restart_worker(run))
		return;
	/* placed on a cluster: its job's state first, for the reason */
	if (st == IG_RUN_FAILED && remote_hold_failure(run))
		return;
	if (st != IG_RUN_FAILED) {
		log_window_end(run, true);
		checkpoint(run, THEN_FINISH);
		return;
	}
	fail_run(run);
}

/* Its engine failed, and no restart helps: end it with the error. */
static void
fail_run(struct run *run)
{
	ig_engine *e = job_engine(run->job);
	char why[IG_ERR_MAX * 4 + 64];

	log_window_end(run, true);
	/* a reason without the restarts would read as the first failure */
	if (run->restarts > 0)
		snprintf(why, sizeof(why),
		    "after %lld restart%s of its worker: %s%s",
		    (long long)run->restarts, run->restarts == 1 ? "" : "s",
		    ig_engine_error(e), remote_failure_note(run));
	else
		snprintf(why, sizeof(why), "%s%s", ig_engine_error(e),
		    remote_failure_note(run));
	run_log(run, LOG_ERROR, "failed at epoch %lld, iteration %lld: %s",
	    (long long)ig_engine_state(e)->epoch,
	    (long long)ig_engine_state(e)->iteration, why);
	flush_points(run);
	set_reason(run, why);
	run->ending = IG_STATUS_FAILED;
	finish_end(run);
}

/* The end checkpointed (or failed): record it and let the job go.  A run
 * without a job (paused: it holds nothing) comes with its ending set. */
void
finish_end(struct run *run)
{
	if (run->ending < 0) {
		ig_engine *e = job_engine(run->job);
		const ig_state *s = ig_engine_state(e);
		run->ending = ig_engine_terminated(e) ? IG_STATUS_TERMINATED :
		                                        IG_STATUS_COMPLETED;
		run_log(run, LOG_INFO, "%s at epoch %lld, iteration %lld",
		    ig_status_name(run->ending), (long long)s->epoch,
		    (long long)s->iteration);
	}
	queue_park(run);
	if (store_set_progress(
	        run->mgr->store, run->id, &run->last, NULL, NULL) != 0 ||
	    store_set_status(run->mgr->store, run->id, run->ending, run->reason,
	        on_end_committed, run) != 0) {
		log_msg(LOG_ERROR, run->id, "cannot record its end");
		on_end_committed(run, NULL);
	}
}

bool
live(const struct run *run)
{
	return run->job != NULL;
}

bool
run_ended(const struct run *run)
{
	return run->status >= IG_STATUS_COMPLETED;
}

bool
run_settled(const struct run *run)
{
	/* a run being built again (resumed, preempted) is about to change */
	return !live(run) && run->ending < 0 && !run->rebuilding &&
	    !run->pausing;
}
