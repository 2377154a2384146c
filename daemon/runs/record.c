/*
 * record.c - a run's record in the store: its status and reason, its metric points and series.
 */
#include "runs/runs_int.h"

#define POINTS_FLUSH 4096 /* points buffered before a hand-off */
/* Throttled runs are shown so until they go this long unheld. */
#define THROTTLE_CALM_MS 500

/* Reasons quote what workers wrote: kept as valid UTF-8 (PROTOCOL.md). */
void
set_reason(struct run *run, const char *reason)
{
	char *copy =
	    reason != NULL ? ig_utf8_repair(reason, strlen(reason)) : NULL;

	free(run->reason);
	run->reason = copy;
}

/* Its status changed: watchers, notify commands and a cluster's job. */
static void
tell_status(struct run *run)
{
	notify_status(run);
	alert_status(run);
	remote_status(run);
}

void
set_status(struct run *run, int status, const char *reason)
{
	run->status = status;
	if (status != IG_STATUS_RUNNING)
		run->throttle_shown = false; /* shown of a running run only */
	set_reason(run, reason);
	if (status == IG_STATUS_RUNNING && run->started == 0)
		run->started = store_now();
	if (status >= IG_STATUS_COMPLETED)
		run->finished = store_now();
	/* reason may have been run->reason, which set_reason replaced */
	if (store_set_status(
	        run->mgr->store, run->id, status, run->reason, NULL, NULL) != 0)
		log_msg(LOG_ERROR, run->id, "cannot record status %s",
		    ig_status_name(status));
	tell_status(run);
}

static void
on_pause_committed(void *arg, const ig_err *err)
{
	struct run *run = arg;

	if (err != NULL)
		log_msg(LOG_ERROR, run->id, "recording its pause: %s",
		    err->message);
	run->pausing = false;
	run->status = IG_STATUS_PAUSED;
	tell_status(run);
}

/*
 * A pause is shown (status, its note, pause's answer) only once the store
 * has committed it, as a checkpoint is waited for: a crash before would
 * bring the run back running, after a client was told it is paused.
 * Until then it shows running, holding nothing (pausing).
 */
void
set_paused(struct run *run, const char *reason)
{
	set_reason(run, reason);
	run->pausing = true;
	if (store_set_status(run->mgr->store, run->id, IG_STATUS_PAUSED,
	        run->reason, on_pause_committed, run) != 0) {
		log_msg(LOG_ERROR, run->id, "cannot record status paused");
		on_pause_committed(run, NULL);
	}
}

char *
run_throttled(const struct run *run)
{
	return run->throttle_shown && run->status == IG_STATUS_RUNNING ?
	    (char *)"store" :
	    NULL;
}

/*
 * Tell watchers when the run is throttled, and when it is no longer,
 * once it went THROTTLE_CALM_MS without being held: a run at the store's
 * pace is held and let go many times a second, and a status note is
 * never dropped.
 */
static void
show_throttled(struct run *run)
{
	uint64_t now = uv_now(run->mgr->loop);
	bool on = run->throttled ||
	    (run->throttle_shown && now - run->throttled_at < THROTTLE_CALM_MS);

	if (on == run->throttle_shown)
		return;
	run->throttle_shown = on;
	if (run->status == IG_STATUS_RUNNING)
		notify_status(run);
}

void
flush_points(struct run *run)
{
	if (run->npoints > 0) {
		if (store_points(run->mgr->store, run->id, run->points,
		        run->npoints) != 0)
			log_msg(LOG_ERROR, run->id,
			    "cannot hand %zu metric points to the store",
			    run->npoints);
		run->npoints = 0;
		/* its points outpace the writer: it waits for the queue to
		 * drain rather than grow it (schedule.c) */
		if (store_full(run->mgr->store)) {
			run->throttled = true;
			run->throttled_at = uv_now(run->mgr->loop);
		}
	}
	show_throttled(run);
}

static int
series_cmp(const void *a, const void *b)
{
	return strcmp(((const struct run_series *)a)->name,
	    ((const struct run_series *)b)->name);
}

/* run->series is kept sorted by name: a run may write a thousand series,
 * and each point looks its own up. */
static int
series_id(struct run *run, const char *name, int64_t *id)
{
	struct run_series key = { (char *)name, 0 }, *found;
	ig_err err;
	char *copy;

	/* bsearch may not be given a NULL array, even of none */
	found = run->nseries > 0 ?
	    bsearch(&key, run->series, run->nseries, sizeof(key), series_cmp) :
	    NULL;
	if (found != NULL) {
		*id = found->id;
		return 0;
	}
	struct run_series *v =
	    realloc(run->series, (run->nseries + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	run->series = v;
	if (store_series(run->mgr->store, run->id, name, id, &err) != 0) {
		log_msg(LOG_ERROR, run->id, "metric %s: %s", name, err.message);
		return -1;
	}
	if ((copy = strdup(name)) == NULL)
		return -1;
	v[run->nseries++] = (struct run_series){ copy, *id };
	/* once per series: a sort of a sorted array with one more */
	qsort(v, run->nseries, sizeof(*v), series_cmp);
	return 0;
}

struct store_progress
progress_of(struct run *run)
{
	const ig_state *s = ig_engine_state(job_engine(run->job));

	return (struct store_progress){ s->epoch, s->iteration, s->epoch_length,
		s->max_epochs };
}

void
hook_point(
    void *ud, const char *name, int64_t epoch, int64_t iteration, double value)
{
	struct run *run = ud;
	int64_t id;

	alert_point(run, name, value);
	if (series_id(run, name, &id) != 0)
		return;
	if (run->npoints == run->cappoints) {
		size_t cap = run->cappoints ? run->cappoints * 2 : 64;
		struct store_point *v = realloc(run->points, cap * sizeof(*v));
		if (v == NULL) {
			log_msg(LOG_ERROR, run->id,
			    "out of memory for metric points");
			return;
		}
		run->points = v;
		run->cappoints = cap;
	}
	run->points[run->npoints++] =
	    (struct store_point){ id, epoch, iteration, store_now(), value };
	if (run->npoints >= POINTS_FLUSH)
		flush_points(run);
}
