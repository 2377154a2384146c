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
 * queue start.  A run that stops running without ending (a pause that
 * frees the machine, a preemption) is to do the same and come back through
 * queue_start.
 */
#include "runs/runs_int.h"

#define DISPATCH_BATCH 64

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
	}
	if (run->spec != NULL)
		e->priority = run->spec->priority;
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
	if (run->status != IG_STATUS_RUNNING)
		set_status(run, IG_STATUS_RUNNING, NULL);
	make_runnable(run);
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
		if (run->status == IG_STATUS_RUNNING)
			go(run);
		else
			queue_place(run);
		return;
	}
	if (run->status != IG_STATUS_RUNNING)
		return; /* paused: its resume queues it */
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

/* Terminated while it waits: it ends where it stands, never started. */
int
queue_terminate(struct run *run, run_done_fn *ended, void *arg, bool *later)
{
	queue_forget(run);
	run_log(run, LOG_INFO, "terminated while queued");
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
	if (e->pos != 0) {
		sched_waiting_for(run->mgr->sched, e, run->waiting_for,
		    sizeof(run->waiting_for));
		s->queue_position = (int64_t)e->pos;
		s->waiting_for = run->waiting_for;
	}
}
