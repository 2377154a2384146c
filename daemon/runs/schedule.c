/*
 * schedule.c - stepping runnable runs in time slices on the loop.
 */
#include "runs/runs_int.h"

/* One turn of stepping, between two looks at the sockets: short enough
 * that a request waits well under a millisecond, long enough that the
 * loop's own cost stays a few percent. */
#define SLICE_NS 200000
/* After a loop turn that served requests, clients are waiting on us: the
 * next turn is SLICE_BUSY_NS, so a stream of requests is answered several
 * times as often while the engines still get most of the time. */
#define SLICE_BUSY_NS 50000
#define PROGRESS_MS 100 /* watchers get progress at most 10/s */

/* Is run held back until the store's queue drains?  Not on its way to a
 * pause, a shutdown or past its checkpoint: those take a step or two, and
 * a writer that is stuck must not keep them waiting. */
static bool
held(const struct run *run)
{
	/* a plugin reading its state file steps once it has (rebuild.c) */
	if (run->rebuilding)
		return true;
	return run->throttled && run->suspend == SUSPEND_NONE &&
	    !run->ckpt_done;
}

static size_t
runnable_count(const struct runs *mgr)
{
	size_t n = 0;

	for (size_t i = 0; i < mgr->n; i++)
		n += mgr->v[i]->runnable && !held(mgr->v[i]);
	return n;
}

/* Step run again, throttled or not: the idle handle stops while every
 * runnable run is held. */
void
unthrottle(struct run *run)
{
	run->throttled = false;
	if (run->runnable)
		make_runnable(run);
}

/* The store's queue is under its low-water mark again: the runs it held
 * back step on. */
void
on_store_drained(void *arg)
{
	struct runs *mgr = arg;

	for (size_t i = 0; i < mgr->n; i++)
		if (mgr->v[i]->throttled)
			unthrottle(mgr->v[i]);
}

void
make_runnable(struct run *run)
{
	run->runnable = true;
	if (!uv_is_active((uv_handle_t *)&run->mgr->idle))
		uv_idle_start(&run->mgr->idle,
		    run->mgr->stopping ? on_stop_idle : on_idle);
}

static void
update_rate(struct run *run)
{
	const ig_state *s = ig_engine_state(job_engine(run->job));
	double now = (double)uv_now(run->mgr->loop) / 1e3,
	       dt = now - run->rate_time;

	if (dt < 0.25)
		return;
	double r = (double)(s->iteration - run->rate_iteration) / dt;
	run->rate = run->rate > 0 ? 0.5 * run->rate + 0.5 * r : r;
	run->rate_time = now;
	run->rate_iteration = s->iteration;
}

/* Act on what a step returned. */
void
stepped(struct run *run, ig_run_status st)
{
	switch (st) {
	case IG_RUN_YIELD:
		break;
	case IG_RUN_WAITING:
		run->runnable = false;
		run->waiting = true;
		break;
	case IG_RUN_SUSPENDED: {
		const ig_state *s = ig_engine_state(job_engine(run->job));
		run->runnable = false;
		if (run->suspend == SUSPEND_PREEMPT) {
			queue_preempted(run);
			break;
		}
		run_log(run, LOG_INFO, "%s at epoch %lld, iteration %lld",
		    run->suspend == SUSPEND_PAUSE ?
		        "paused" :
		        "stopped for the daemon's shutdown",
		    (long long)s->epoch, (long long)s->iteration);
		if (run->suspend == SUSPEND_PAUSE) {
			/* it frees the machine: resume builds it again */
			set_paused(run, run->reason);
			queue_park(run);
		}
		break;
	}
	default:
		run->runnable = false;
		finish(run, st);
		break;
	}
}

/*
 * One slice of one run; adapts the slice to about share_ns.  A slice that
 * reaches an iteration where a checkpoint by count falls ends on the last
 * such iteration it can, and the checkpoint, if due, is taken there: the
 * ones it crossed would each have held the run until the store committed
 * them, for a state the next one replaces at once.
 */
void
step_run(struct run *run, uint64_t share_ns)
{
	ig_engine *e = job_engine(run->job);
	const ig_spec_checkpoint *p = &run->spec->checkpoint;
	uint64_t budget = run->slice;

	if (run->ckpt_done) {
		run->ckpt_done = false;
		run->runnable =
		    false; /* as when it was asked: what follows says */
		after_checkpoint(run, run->ckpt_then);
		return;
	}
	if (run->suspend != SUSPEND_NONE) {
		if (ig_engine_clean(e)) {
			suspend_now(run);
			return;
		}
		budget = 1; /* to the next clean point */
	} else if (!ig_engine_clean(e) && checkpoint_due_now(run)) {
		budget = 1; /* where the iteration in flight ends */
	} else if (p->every != IG_NONE) {
		uint64_t left = to_count_point(run, e),
		         every = (uint64_t)p->every;
		if (!ig_engine_clean(e) && left < budget)
			budget = left; /* it waits again after each iteration */
		else if (left < budget)
			budget = left + (budget - left) / every * every;
	}
	uint64_t t0 = uv_hrtime();
	ig_run_status st = ig_engine_step(e, budget);
	uint64_t dt = uv_hrtime() - t0;

	if (st == IG_RUN_YIELD && budget * 2 > run->slice) {
		/* aim for share_ns; grow gently, shrink at once */
		uint64_t want =
		    dt > 0 ? budget * share_ns / dt : run->slice * 2;
		if (want > run->slice * 2)
			want = run->slice * 2;
		run->slice = want < 1 ? 1 : want > 1000000 ? 1000000 : want;
	}
	if (st == IG_RUN_YIELD && ig_engine_clean(e) &&
	    run->suspend == SUSPEND_NONE && checkpoint_due(run, e))
		checkpoint(run, THEN_CONTINUE);
	flush_points(run);
	update_rate(run);
	log_window_end(run, false);
	if (run->watchers != NULL &&
	    (double)uv_now(run->mgr->loop) - run->progress_sent >= PROGRESS_MS)
		notify_progress(run);
	stepped(run, st);
}

void
on_idle(uv_idle_t *idle)
{
	struct runs *mgr = idle->data;
	size_t n = runnable_count(mgr);
	uint64_t start = uv_hrtime();

	if (n == 0) {
		uv_idle_stop(idle);
		return;
	}
	uint64_t served =
	    mgr->rpc.requests != NULL ? mgr->rpc.requests(mgr->rpc.ud) : 0;
	uint64_t slice = served != mgr->served ? SLICE_BUSY_NS : SLICE_NS;
	mgr->served = served;
	/* Round robin over the runnable runs within about one slice, so a
	 * control request waits at most that long. */
	uint64_t share = slice / n > 20000 ? slice / n : 20000;
	for (size_t k = 0; k < mgr->n && uv_hrtime() - start < slice; k++) {
		mgr->cursor = (mgr->cursor + 1) % mgr->n;
		struct run *run = mgr->v[mgr->cursor];
		if (run->runnable && !held(run))
			step_run(run, share);
	}
	/* every run waits (an exec worker's answer): stopped now, the loop
	 * blocks for it at once rather than polling once more first */
	if (runnable_count(mgr) == 0)
		uv_idle_stop(idle);
}
