/*
 * queue.c - runs waiting for the machine's GPUs and CPU slots: the run
 * manager's side of sched.c.
 *
 * A run ready to run (accepted, resumed, taken back at start) goes through
 * queue_start: it starts at once when what it asks is free and no run
 * before it waits for the same kind, else it waits "queued", its job built
 * and its engine set but not stepped (an exec worker starts only at the
 * first step, so a queued run has no process).  What a run holds is
 * released when its job goes (queue_release): then the runs next in the
 * queue start.  A run that stops running without ending (a pause, a
 * preemption) lets its job go too (queue_park: an exec worker's process
 * exits, its GPU memory with it), and comes back built again from the
 * checkpoint it stopped at (rebuild.c) through queue_start.
 *
 * Preemption: when the queue cannot start its first runs, the first of
 * them that running preemptible runs of lower priority could make room
 * for has those stop at their next clean point (SUSPEND_PREEMPT), each
 * checkpointed, and wait queued again (preempted).  One preemption at a
 * time: while its runs stop, no other is decided, so that no run is
 * stopped for what a stop under way frees anyway.
 */
#include "runs/runs_int.h"

#define DISPATCH_BATCH 64
#define PREEMPTED_BY "preempted by run "

void
queue_entry_init(struct run *run, int64_t seq)
{
	struct sched_entry *e = &run->sched;

	memset(e, 0, sizeof(*e));
	e->owner = run->owner;
	e->seq = seq;
	e->ud = run;
	/* a run placed on a cluster holds none of this machine's */
	if (run->spec != NULL && !run->spec->slurm.set) {
		e->gpus = run->spec->resources.gpus;
		e->cpus = run->spec->resources.cpus;
		e->preemptible = run->spec->preemptible;
	}
	if (run->spec != NULL)
		e->priority = run->spec->priority;
	/* who preempted it, as its reason says after a restart */
	run->preempted_by = IG_NONE;
	if (run->status == IG_STATUS_QUEUED && run->reason != NULL &&
	    strncmp(run->reason, PREEMPTED_BY, strlen(PREEMPTED_BY)) == 0)
		run->preempted_by =
		    strtoll(run->reason + strlen(PREEMPTED_BY), NULL, 10);
}

void
queue_place(struct run *run)
{
	const struct sched *s = run->mgr->sched;
	char cpus[SCHED_MAX_CPUS * 5];

	sched_devices(s, &run->sched, run->devices, sizeof(run->devices));
	sched_cpus(s, &run->sched, cpus, sizeof(cpus));
	if (run->job != NULL &&
	    job_set_placement(run->job, run->devices, cpus) != 0)
		run_log(run, LOG_WARN,
		    "out of memory: its worker starts without its GPUs "
		    "and CPUs set");
}

/* It holds what it asked: on with it. */
static void
go(struct run *run)
{
	queue_place(run);
	run->preempted_by = IG_NONE;
	if (run->status != IG_STATUS_RUNNING)
		set_status(run, IG_STATUS_RUNNING, NULL);
	/* one taken back at the start steps once its job is built */
	if (live(run))
		make_runnable(run);
}

/* Is run's preemption, under way, still wanted?  Not once the run it is
 * for no longer waits (it started on what another run freed, or ended):
 * then run goes on, unless it has begun its checkpoint. */
static bool
still_wanted(struct run *run)
{
	struct run *by = runs_find(run->mgr, run->preempted_by);

	if ((by != NULL && by->status == IG_STATUS_QUEUED) || run->ckpt_out ||
	    run->ckpt_done)
		return true;
	run_log(run, LOG_INFO,
	    "preemption called off: run %lld no longer waits",
	    (long long)run->preempted_by);
	run->suspend = SUSPEND_NONE;
	run->preempted_by = IG_NONE;
	return false;
}

/* Running runs that may be preempted now, into v (room for mgr->n; NULL:
 * none is collected); how many.  None while a preemption is under way. */
static size_t
preemptible(struct runs *mgr, struct sched_entry **v)
{
	size_t n = 0;

	for (size_t i = 0; i < mgr->n; i++) {
		struct run *run = mgr->v[i];
		if (!live(run))
			continue;
		if (run->suspend == SUSPEND_PREEMPT && still_wanted(run))
			return 0;
		if (run->status == IG_STATUS_RUNNING && run->sched.held &&
		    run->sched.preemptible && run->suspend == SUSPEND_NONE &&
		    !run->rebuilding && run->ending < 0 && v != NULL)
			v[n++] = &run->sched;
	}
	return n;
}

static void
preempt(struct runs *mgr)
{
	struct sched_entry **held = NULL, **out;
	size_t n, k = 0;
	int64_t lowest = INT64_MAX;
	struct run *by = NULL;

	if (sched_queued(mgr->sched) > 0 &&
	    (held = calloc(mgr->n * 2, sizeof(*held))) == NULL)
		return;
	/* with nobody waiting, only what is under way is looked at */
	n = preemptible(mgr, held);
	if (held == NULL)
		return;
	out = held + mgr->n;
	for (size_t i = 0; i < n; i++)
		if (held[i]->priority < lowest)
			lowest = held[i]->priority;
	/* For the first run the queue waits on: those held back only by
	 * their user's limit wait whatever is freed, and the runs behind
	 * the first would not get what is freed before it (sched_next).
	 * The queue is by priority: past the lowest victim's, none may. */
	for (size_t i = 0; n > 0; i++) {
		struct sched_entry *e = sched_at(mgr->sched, i);
		if (e == NULL || e->priority <= lowest)
			break;
		if (sched_user_full(mgr->sched, e))
			continue;
		by = e->ud;
		k = sched_victims(mgr->sched, e, held, n, out);
		break;
	}
	for (size_t i = 0; i < k; i++) {
		struct run *run = out[i]->ud;
		run->suspend = SUSPEND_PREEMPT;
		run->preempted_by = by->id;
		run_log(run, LOG_INFO,
		    "preempted by run %lld (priority %lld, uid %u): it stops "
		    "at its next checkpoint and waits queued",
		    (long long)by->id, (long long)by->sched.priority,
		    (unsigned)by->owner);
		run_log(by, LOG_INFO,
		    "preempts run %lld (priority %lld, uid %u) for its %lld "
		    "GPU%s and %lld CPU slot%s",
		    (long long)run->id, (long long)run->sched.priority,
		    (unsigned)run->owner, (long long)run->sched.gpus,
		    run->sched.gpus == 1 ? "" : "s", (long long)run->sched.cpus,
		    run->sched.cpus == 1 ? "" : "s");
	}
	free(held);
}

void
queue_dispatch(struct runs *mgr)
{
	struct sched_entry *v[DISPATCH_BATCH];
	size_t n;

	if (mgr->opening || mgr->stopping)
		return;
	do {
		n = sched_next(mgr->sched, v, DISPATCH_BATCH);
		for (size_t i = 0; i < n; i++) {
			struct run *run = v[i]->ud;
			go(run);
			if (run->waited || run->sched.gpus > 0)
				run_log(run, LOG_INFO,
				    "started on GPUs [%s], %lld CPU slot%s",
				    run->devices, (long long)run->sched.cpus,
				    run->sched.cpus == 1 ? "" : "s");
			run->waited = false;
		}
	} while (n == DISPATCH_BATCH);
	preempt(mgr);
}

void
queue_start(struct run *run)
{
	struct runs *mgr = run->mgr;
	bool was = run->sched.pos != 0;

	if (run->sched.held) {
		go(run);
		return;
	}
	if (!was && sched_enqueue(mgr->sched, &run->sched) != 0) {
		run_log(run, LOG_ERROR, "out of memory for the queue");
		set_reason(run, "out of memory for the queue");
		run->ending = IG_STATUS_FAILED;
		finish_end(run);
		return;
	}
	queue_dispatch(mgr);
	if (run->sched.pos == 0)
		return;
	if (run->status != IG_STATUS_QUEUED)
		set_status(run, IG_STATUS_QUEUED, NULL);
	if (!was)
		run_log(
		    run, LOG_INFO, "queued, %zu in the queue", run->sched.pos);
	run->waited = true;
}

void
queue_restore(struct run *run)
{
	if (sched_take(run->mgr->sched, &run->sched)) {
		go(run);
		return;
	}
	run_log(run, LOG_WARN,
	    "what it held before the restart is not free (ignited's --gpus "
	    "or --cpus changed): it waits in the queue");
	queue_start(run);
}

void
queue_forget(struct run *run)
{
	struct sched *s = run->mgr->sched;

	if (s == NULL)
		return;
	sched_dequeue(s, &run->sched);
	sched_release(s, &run->sched);
	run->devices[0] = '\0';
}

void
queue_release(struct run *run)
{
	queue_forget(run);
	queue_dispatch(run->mgr);
}

void
queue_park(struct run *run)
{
	if (live(run)) {
		snapshot(run);
		job_free(run->job);
		run->job = NULL;
	}
	run->rate = 0;
	/* its resume is from what the store holds */
	run->store_failed = false;
	queue_release(run);
}

/* A preempted run that cannot be built again to wait: paused, with why,
 * for its owner to resume. */
static void
not_requeued(struct run *run, const ig_err *err)
{
	char why[IG_ERR_MAX + 64];

	snprintf(why, sizeof(why),
	    "preempted, but it cannot wait queued: %s; resume it",
	    err->message);
	run_log(run, LOG_ERROR, "%s", why);
	set_paused(run, why);
}

static void
requeued(struct rebuild *rb)
{
	if (rebuild_start(rb) == 0)
		queue_start(rb->run);
	else
		not_requeued(rb->run, &rb->err);
}

void
queue_preempted(struct run *run)
{
	struct run *by = runs_find(run->mgr, run->preempted_by);
	const ig_state *s = ig_engine_state(job_engine(run->job));
	struct rebuild *rb;
	char why[IG_NAME_MAX + 128];
	ig_err err;

	snprintf(why, sizeof(why), PREEMPTED_BY "%lld (%s) at iteration %lld",
	    (long long)run->preempted_by,
	    by != NULL && by->name[0] != '\0' ? by->name : "unnamed",
	    (long long)s->iteration);
	run_log(run, LOG_INFO,
	    "preempted at epoch %lld, iteration %lld: queued again",
	    (long long)s->epoch, (long long)s->iteration);
	set_status(run, IG_STATUS_QUEUED, why);
	queue_park(run);
	/* its job is built again from that checkpoint, with no worker
	 * started, and it waits */
	if ((rb = calloc(1, sizeof(*rb))) == NULL) {
		ig_err_set(&err, IG_PROTO_INTERNAL, "out of memory");
	} else {
		*rb = (struct rebuild){ .start_over = true, .then = requeued };
		if (rebuild_later(run, rb, &err) == 0)
			return;
	}
	not_requeued(run, &err);
}

/* Terminated while it waits (queued) or stands paused: it ends where it
 * stands. */
int
queue_terminate(struct run *run, run_done_fn *ended, void *arg, bool *later)
{
	if (run->status == IG_STATUS_QUEUED)
		run_log(run, LOG_INFO, "terminated while queued");
	else
		run_log(run, LOG_INFO,
		    "terminated at epoch %lld, iteration %lld",
		    (long long)run->last.epoch, (long long)run->last.iteration);
	run->ending = IG_STATUS_TERMINATED;
	run->ended = ended;
	run->ended_arg = arg;
	*later = true;
	finish_end(run);
	return 0;
}

void
queue_summary(struct run *run, ig_summary *s)
{
	const struct sched_entry *e = &run->sched;

	s->gpus = e->gpus;
	s->cpus = e->cpus;
	s->priority = e->priority;
	s->devices = e->held ? run->devices : NULL;
	s->queue_position = IG_NONE;
	s->waiting_for = NULL;
	s->preempted_by =
	    run->status == IG_STATUS_QUEUED ? run->preempted_by : IG_NONE;
	if (e->pos != 0) {
		sched_waiting_for(run->mgr->sched, e, run->waiting_for,
		    sizeof(run->waiting_for));
		s->queue_position = (int64_t)e->pos;
		s->waiting_for = run->waiting_for;
	}
}
