/*
 * loop.c - the run loop (rules 1-5, 10-19, 24, 25): run() and its checks,
 * the state machine that steps it, a process call's completion.
 *
 * Ignite writes the loop as nested generators; here it is a state machine
 * so that it can stop anywhere: when a step's budget is spent, when an
 * asynchronous process function is pending, or when interrupted.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Does the step end here: its budget spent, or a yield asked and this a
 * clean point? */
static bool
step_over(ig_engine *e, uint64_t *done, uint64_t max_iterations)
{
	bool spent = max_iterations != 0 && ++*done >= max_iterations;
	bool yield = e->should_yield && ig_engine_clean(e);

	if (yield)
		e->should_yield = false;
	return spent || yield;
}

/* ---- run() (rule 17) ------------------------------------------------------ */

bool
ig_state_done(const ig_state *s)
{
	if (s->max_epochs == IG_NONE)
		return false;
	if (s->epoch >= s->max_epochs)
		return true;
	return s->epoch_length != IG_NONE &&
	    s->iteration >= s->epoch_length * s->max_epochs;
}

static int
check_args(ig_engine *e, ig_data *data, const ig_run_args *a)
{
	if (a->max_epochs != IG_NONE && a->max_epochs < 1)
		return engine_set_error(e, IG_EINVAL,
		    "run: max_epochs must be a positive integer, not %lld",
		    (long long)a->max_epochs);
	if (a->epoch_length != IG_NONE && a->epoch_length < 1)
		return engine_set_error(e, IG_EINVAL,
		    "run: epoch_length must be a positive integer, not %lld",
		    (long long)a->epoch_length);
	if (a->seed < IG_NONE)
		return engine_set_error(
		    e, IG_EINVAL, "run: seed must not be negative");
	if (data != NULL && ig_data_size(data) == 0)
		return engine_set_error(e, IG_EINVAL,
		    "run: the data has zero size; give non-empty data");
	return 0;
}

int
ig_engine_start(ig_engine *e, ig_data *data, const ig_run_args *args)
{
	static const ig_run_args none = IG_RUN_ARGS_INIT;
	const ig_run_args *a = args != NULL ? args : &none;
	ig_state *s = &e->state;
	int rc;

	if (e->running && !e->suspended)
		return engine_set_error(
		    e, IG_ESTATE, "run: a run is already in progress");
	if ((rc = check_args(e, data, a)) != 0)
		return rc;
	if (s->max_epochs != IG_NONE && a->max_epochs != IG_NONE &&
	    a->max_epochs < s->epoch)
		return engine_set_error(e, IG_EINVAL,
		    "run: max_epochs %lld is below the epoch the state "
		    "has reached (%lld)",
		    (long long)a->max_epochs, (long long)s->epoch);

	/* Ignite applies a new max_epochs before asking whether the state is
	 * finished, so a larger one extends a finished run (rule 17). */
	if (s->max_epochs != IG_NONE && a->max_epochs != IG_NONE)
		s->max_epochs = a->max_epochs;
	bool fresh =
	    s->max_epochs == IG_NONE || (ig_state_done(s) && !e->suspended);
	int64_t len = a->epoch_length;
	if (fresh) {
		if (len == IG_NONE && data != NULL)
			len = ig_data_size(data);
		if (len == IG_NONE && data == NULL)
			len = s->epoch_length;
		if (len == IG_NONE && data == NULL)
			return engine_set_error(e, IG_EINVAL,
			    "run: epoch_length must be given when there is no data");
		s->iteration = 0;
		s->epoch = 0;
		s->max_epochs = a->max_epochs != IG_NONE ? a->max_epochs : 1;
		s->epoch_length = len;
		e->cursor = (ig_data_cursor){ 0, 0 };
		e->cursor_valid = true;
		e->init_iter = IG_NONE;
		e->suspended = false;
	} else {
		if (s->epoch_length != IG_NONE) {
			if (len != IG_NONE && len != s->epoch_length)
				return engine_set_error(e, IG_EINVAL,
				    "run: epoch_length %lld differs from the "
				    "state's %lld",
				    (long long)len, (long long)s->epoch_length);
		} else {
			if (len == IG_NONE && data != NULL)
				len = ig_data_size(data);
			if (len == IG_NONE && data == NULL)
				return engine_set_error(e, IG_EINVAL,
				    "run: epoch_length must be given when there is no data");
			s->epoch_length = len;
		}
		if (e->suspended) {
			/* rule 13: continue exactly where it stopped */
		} else if (e->should_terminate != FLAG_OFF) {
			e->init_iter =
			    0; /* rule 18: the cut epoch is abandoned */
		}
		/* Rule 18, after an error: STARTED sees the (epoch, iteration)
		 * the error left, and the next epoch runs only the iterations
		 * the cut one had left (setup_engine's init_iter). */
	}
	if (a->seed != IG_NONE)
		s->seed = a->seed;
	if (!e->iter_live)
		engine_use_data(e, data);

	free(e->error);
	e->error = NULL;
	e->running = true;
	e->status = IG_RUN_YIELD;
	if (e->suspended) {
		e->suspended = false; /* rule 13: continue where it stopped */
		return 0;
	}
	e->should_terminate = FLAG_OFF;
	e->should_terminate_epoch = FLAG_OFF;
	e->should_interrupt = false;
	e->should_yield = false;
	s->time_epoch = 0;
	s->time_total = 0;
	e->t_run = engine_now();
	e->phase = PH_STARTED;
	return 0;
}

/* ---- the loop --------------------------------------------------------------- */

/* What a check after an event's handlers decided (Ignite's
 * _maybe_terminate_or_interrupt). */
enum check {
	GO,
	TERMINATE,
	TERMINATE_EPOCH,
	INTERRUPT
};

static enum check
check_flags(ig_engine *e)
{
	if (e->should_terminate)
		return TERMINATE;
	if (e->should_terminate_epoch)
		return TERMINATE_EPOCH;
	if (e->should_interrupt)
		return INTERRUPT;
	return GO;
}

static void
end_run(ig_engine *e, ig_run_status st)
{
	e->iter_live = false;
	e->running = false;
	e->phase = PH_IDLE;
	e->status = st;
}

/*
 * An error outside the epoch's iterations (rule 15), or one that the
 * iterations could not swallow: EXCEPTION_RAISED handlers may swallow it,
 * and either way the run is over without COMPLETED.
 */
static ig_run_status
fail_outer(ig_engine *e)
{
	e->iter_live = false;
	if (engine_has_live_handlers(e, IG_EVENT_EXCEPTION_RAISED) &&
	    engine_fire(e, IG_EVENT_EXCEPTION_RAISED) == 0) {
		end_run(e, IG_RUN_DONE);
		return IG_RUN_DONE;
	}
	end_run(e, IG_RUN_FAILED);
	return IG_RUN_FAILED;
}

/* An error inside the iterations (rule 14): swallowed by EXCEPTION_RAISED
 * handlers, the epoch ends and the run goes on; otherwise the run ends. */
static bool
fail_inner(ig_engine *e)
{
	if (!engine_has_live_handlers(e, IG_EVENT_EXCEPTION_RAISED))
		return false;
	if (engine_fire(e, IG_EVENT_EXCEPTION_RAISED) != 0)
		return false;
	e->phase = PH_EPOCH_END;
	return true;
}

/* Ignite's _setup_engine: a fresh iterator and where this epoch starts. */
static int
setup_engine(ig_engine *e, char *err, size_t errlen)
{
	ig_state *s = &e->state;

	e->iter_live = true;
	memset(&e->batch, 0, sizeof(e->batch));
	if (e->data == NULL) {
		e->none_left = s->epoch_length;
	} else {
		int64_t n = e->data_n;
		/* Rule 18: with a seed, resume the data where an uninterrupted
		 * run would be; without one, restart at item 0 as Ignite does. */
		if (s->seed == IG_NONE || n <= 0 || !e->data_ra) {
			e->cursor.pos = 0;
		} else if (!e->cursor_valid) {
			e->cursor.pass = s->iteration / n;
			e->cursor.pos = s->iteration % n;
		}
		e->cursor_valid = true;
		if (engine_data_restart(e->data, err, errlen) != 0)
			return -1;
	}
	if (e->init_iter == IG_NONE)
		e->init_iter = s->epoch_length != IG_NONE ?
		    s->iteration % s->epoch_length :
		    s->iteration;
	return 0;
}

/* One fetch: 1 got a batch, 0 exhausted, -1 error (message set). */
static int
fetch(ig_engine *e)
{
	char err[512];
	int rc;

	/* not "= {0}": zeroing the buffer on every fetch costs more than the
	 * rest of an iteration */
	err[0] = '\0';
	memset(&e->batch, 0, sizeof(e->batch));
	if (e->data == NULL) {
		if (e->none_left <= 0)
			return 0;
		e->none_left--;
		return 1;
	}
	if (e->data_ra) {
		ig_fetch f = { e->state.seed, e->cursor.pass, e->cursor.pos };
		rc = e->cursor.pos >= e->data_n ? 0 :
		    engine_data_get(e->data, &f, &e->batch, err, sizeof(err)) ==
		        0 ?
		                                  1 :
		                                  -1;
	} else {
		rc = engine_data_next(e->data, &e->batch, err, sizeof(err));
	}
	if (rc == 1)
		e->cursor.pos++;
	else if (rc < 0)
		ig_engine_raise(e, "data: %s", err[0] ? err : "fetch failed");
	return rc;
}

/* Epoch-level check: after STARTED, EPOCH_STARTED, EPOCH_COMPLETED. */
static ig_run_status
outer_check(ig_engine *e, enum phase next, bool *stop)
{
	*stop = false;
	switch (check_flags(e)) {
	case GO:
		e->phase = next;
		return IG_RUN_YIELD;
	case TERMINATE:
		e->phase = PH_TERMINATE;
		return IG_RUN_YIELD;
	case TERMINATE_EPOCH:
		*stop = true;
		ig_engine_raise(e,
		    "terminate_epoch() must not be called on STARTED or EPOCH_STARTED");
		return fail_outer(e);
	case INTERRUPT:
		break;
	}
	e->should_interrupt = false;
	e->phase = next;
	*stop = true;
	if (engine_fire(e, IG_EVENT_INTERRUPT) != 0)
		return fail_outer(e);
	e->suspended = true;
	e->status = IG_RUN_SUSPENDED;
	return IG_RUN_SUSPENDED;
}

/* Iteration-level check: after GET_BATCH_*, DATALOADER_STOP_ITERATION,
 * ITERATION_*.  Returns 0 to go on to next, 1 to stop stepping with *st. */
static int
inner_check(ig_engine *e, enum phase next, ig_run_status *st)
{
	if (e->should_terminate == FLAG_OFF &&
	    e->should_terminate_epoch == FLAG_OFF && !e->should_interrupt) {
		e->phase = next;
		return 0;
	}
	switch (check_flags(e)) {
	case GO:
		e->phase = next;
		return 0;
	case TERMINATE:
		e->phase = PH_TERMINATE;
		return 0;
	case TERMINATE_EPOCH: {
		char err[512];

		err[0] = '\0';
		if (engine_fire(e, IG_EVENT_TERMINATE_SINGLE_EPOCH) != 0) {
			*st = fail_outer(e);
			return 1;
		}
		if (engine_restart_data(e, err, sizeof(err)) != 0) {
			ig_engine_raise(e, "data: %s", err);
			*st = fail_outer(e);
			return 1;
		}
		e->phase = PH_EPOCH_END;
		return 0;
	}
	case INTERRUPT:
		break;
	}
	e->should_interrupt = false;
	e->phase = next;
	if (engine_fire(e, IG_EVENT_INTERRUPT) != 0) {
		*st = fail_outer(e);
		return 1;
	}
	e->suspended = true;
	*st = e->status = IG_RUN_SUSPENDED;
	return 1;
}

/* An exception inside the iterations; returns 1 with *st when the run
 * ends.  One the EXCEPTION_RAISED handlers re-raise goes on to the run's
 * own handling, which fires them again (Ignite's two _handle_exception). */
static int
inner_error(ig_engine *e, ig_run_status *st)
{
	if (fail_inner(e))
		return 0;
	*st = fail_outer(e);
	return 1;
}

/* Fire an event of the iterations, then check the flags; 1 when stepping
 * must stop with *st. */
static int
inner_event(ig_engine *e, int event, enum phase next, ig_run_status *st)
{
	if (engine_fire(e, event) != 0)
		return inner_error(e, st);
	return inner_check(e, next, st);
}

/*
 * The loop's hot path: while no handler listens to the per-iteration events
 * and no flag is raised, an iteration is fetch, count, process.  Firing
 * nothing and checking nothing is exactly what the general path would do,
 * only without a dispatch per event.  Returns with e->phase set for the
 * general path to continue from; *done counts iterations completed.
 */
static bool
quiet(const ig_engine *e)
{
	const struct evinfo *ev = e->events;

	return (ev[IG_EVENT_GET_BATCH_STARTED].handlers.n |
	           ev[IG_EVENT_GET_BATCH_COMPLETED].handlers.n |
	           ev[IG_EVENT_ITERATION_STARTED].handlers.n |
	           ev[IG_EVENT_ITERATION_COMPLETED].handlers.n) == 0 &&
	    e->should_terminate == FLAG_OFF &&
	    e->should_terminate_epoch == FLAG_OFF && !e->should_interrupt &&
	    !e->should_yield;
}

/*
 * Returns 1 when stepping must stop with *st; else e->phase says where the
 * general path goes on.  One count down per iteration serves both the
 * step's budget and the epoch's end, whichever comes first: an iteration
 * here is a few nanoseconds, and a second test costs a tenth of it.
 */
static int
run_fast(
    ig_engine *e, uint64_t *done, uint64_t max_iterations, ig_run_status *st)
{
	ig_state *s = &e->state;
	int64_t n = e->data_n;
	uint64_t budget =
	    max_iterations != 0 ? max_iterations - *done : UINT64_MAX;
	uint64_t to_end, span, left;
	char err[256];
	int rc = 0;

	if (!e->data_ra || s->epoch_length == IG_NONE ||
	    e->iter_counter >= s->epoch_length ||
	    e->last_event == IG_EVENT_DATALOADER_STOP_ITERATION)
		return 0;
	to_end = (uint64_t)(s->epoch_length - e->iter_counter);
	span = left = budget < to_end ? budget : to_end;
	while (quiet(e) && e->cursor.pos < n) {
		const ig_output *out = NULL;
		ig_fetch f = { s->seed, e->cursor.pass, e->cursor.pos };

		s->batch = NULL;
		if (engine_data_get(e->data, &f, &e->batch, err, sizeof(err)) !=
		    0)
			break; /* the general path fetches again and reports it */
		e->cursor.pos++;
		s->batch = &e->batch;
		s->output = NULL;
		e->iter_counter++;
		e->fetch_retry = false;
		s->iteration++;
		e->last_event = IG_EVENT_ITERATION_STARTED;
		int r = e->process != NULL ?
		    e->process(e, s->batch, &out, e->process_ud) :
		    IG_PROCESS_DONE;
		if (r == IG_PROCESS_PENDING) {
			e->phase = PH_AWAIT;
			*st = e->status = IG_RUN_WAITING;
			rc = 1;
			break;
		}
		if (r != IG_PROCESS_DONE) {
			if (e->error == NULL)
				ig_engine_raise(e, "process function failed");
			rc = inner_error(e, st);
			break;
		}
		s->output = out;
		if (!quiet(e)) {
			e->phase = PH_ITERATION_DONE;
			break;
		}
		e->last_event = IG_EVENT_ITERATION_COMPLETED;
		if (--left == 0)
			break;
	}
	/* iterations done here; the one that ends the epoch is the general
	 * path's to count */
	uint64_t counted = span - left;
	if (left == 0 && counted == to_end) {
		e->phase = PH_EPOCH_END;
		counted--;
	} else if (left == 0) {
		*st = IG_RUN_YIELD;
		rc = 1;
	}
	if (max_iterations != 0)
		*done += counted;
	return rc;
}

ig_run_status
ig_engine_step(ig_engine *e, uint64_t max_iterations)
{
	ig_state *s = &e->state;
	uint64_t done = 0;
	ig_run_status st = IG_RUN_YIELD;
	char err[512];
	bool stop;
	int rc;

	if (!e->running || e->suspended)
		return e->status;
	if (e->phase == PH_AWAIT)
		return IG_RUN_WAITING;
	for (;;) {
		switch (e->phase) {
		case PH_IDLE:
			return e->status;
		case PH_STARTED:
			if (engine_fire(e, IG_EVENT_STARTED) != 0)
				return fail_outer(e);
			st = outer_check(e, PH_EPOCH_BEGIN, &stop);
			if (stop)
				return st;
			break;
		case PH_EPOCH_BEGIN:
			if (ig_state_done(s)) {
				e->phase = PH_COMPLETE;
				break;
			}
			s->epoch++;
			e->t_epoch = engine_now();
			if (engine_fire(e, IG_EVENT_EPOCH_STARTED) != 0)
				return fail_outer(e);
			st = outer_check(e, PH_EPOCH_SETUP, &stop);
			if (stop)
				return st;
			break;
		case PH_EPOCH_SETUP:
			err[0] = '\0';
			if (!e->iter_live &&
			    setup_engine(e, err, sizeof(err)) != 0) {
				ig_engine_raise(e, "data: %s", err);
				return fail_outer(e);
			}
			e->iter_counter =
			    e->init_iter != IG_NONE ? e->init_iter : 0;
			e->init_iter = IG_NONE;
			e->fetch_retry = false;
			e->phase = PH_FETCH;
			break;
		case PH_FETCH:
			if (quiet(e)) {
				if (run_fast(e, &done, max_iterations, &st))
					return st;
				if (e->phase != PH_FETCH)
					break;
			}
			s->batch = NULL;
			/* Rule 2: no second GET_BATCH_STARTED after a restart. */
			if (e->data != NULL &&
			    e->last_event !=
			        IG_EVENT_DATALOADER_STOP_ITERATION) {
				if (inner_event(e, IG_EVENT_GET_BATCH_STARTED,
				        PH_FETCH_NEXT, &st))
					return st;
			} else {
				e->phase = PH_FETCH_NEXT;
			}
			if (e->phase != PH_FETCH_NEXT)
				break;
			/* FALLTHROUGH */
		case PH_FETCH_NEXT:
			rc = fetch(e);
			if (rc < 0) {
				if (inner_error(e, &st))
					return st;
			} else if (rc == 1) {
				s->batch = e->data != NULL ? &e->batch : NULL;
				s->output = NULL;
				if (e->data == NULL)
					e->phase = PH_ITERATION;
				else if (inner_event(e,
				             IG_EVENT_GET_BATCH_COMPLETED,
				             PH_ITERATION, &st))
					return st;
			} else if (s->epoch_length == IG_NONE) {
				/* Rule 4: the first exhaustion measures the epoch. */
				if (e->iter_counter == 0) {
					ig_engine_raise(e,
					    "data: the data yielded no batch");
					return fail_outer(e);
				}
				s->epoch_length = e->iter_counter;
				e->phase = PH_EPOCH_END;
			} else if (e->fetch_retry) {
				/* exhausted right after a restart: nothing more to give */
				if (!ig_state_done(s))
					engine_warn(e,
					    "data: the data cannot provide more batches but the "
					    "run has not reached its total: iteration %lld of %lld",
					    (long long)s->iteration,
					    (long long)(s->epoch_length *
					        s->max_epochs));
				e->phase = PH_EPOCH_END;
			} else if (e->data == NULL) {
				e->phase = PH_DATA_RESTART;
			} else if (inner_event(e,
			               IG_EVENT_DATALOADER_STOP_ITERATION,
			               PH_DATA_RESTART, &st)) {
				return st;
			}
			if (e->phase != PH_ITERATION)
				break;
			/* FALLTHROUGH */
		case PH_ITERATION:
			e->iter_counter++;
			e->fetch_retry = false;
			s->iteration++;
			if (inner_event(
			        e, IG_EVENT_ITERATION_STARTED, PH_PROCESS, &st))
				return st;
			if (e->phase != PH_PROCESS)
				break;
			/* FALLTHROUGH */
		case PH_PROCESS: {
			const ig_output *out = NULL;
			int r = e->process != NULL ?
			    e->process(e, s->batch, &out, e->process_ud) :
			    IG_PROCESS_DONE;
			if (r == IG_PROCESS_PENDING) {
				e->phase = PH_AWAIT;
				e->status = IG_RUN_WAITING;
				return IG_RUN_WAITING;
			}
			if (r != IG_PROCESS_DONE) {
				if (e->error == NULL)
					ig_engine_raise(
					    e, "process function failed");
				if (inner_error(e, &st))
					return st;
				break;
			}
			s->output = out;
			e->phase = PH_ITERATION_DONE;
		}
			/* FALLTHROUGH */
		case PH_ITERATION_DONE: {
			enum phase next = s->epoch_length != IG_NONE &&
			        e->iter_counter == s->epoch_length ?
			    PH_EPOCH_END :
			    PH_FETCH;
			if (inner_event(
			        e, IG_EVENT_ITERATION_COMPLETED, next, &st))
				return st;
			if (step_over(e, &done, max_iterations))
				return IG_RUN_YIELD;
			break;
		}
		case PH_DATA_RESTART:
			err[0] = '\0';
			if (engine_restart_data(e, err, sizeof(err)) != 0) {
				ig_engine_raise(e, "data: %s", err);
				if (inner_error(e, &st))
					return st;
				break;
			}
			e->fetch_retry = true;
			e->phase = PH_FETCH;
			break;
		case PH_AWAIT:
			return IG_RUN_WAITING;
		case PH_PROCESS_DONE:
			if (e->pending_failed) {
				e->pending_failed = false;
				if (inner_error(e, &st))
					return st;
				break;
			}
			s->output = e->pending_output;
			e->phase = PH_ITERATION_DONE;
			break;
		case PH_EPOCH_END:
			s->time_epoch = engine_now() - e->t_epoch;
			if (e->should_terminate_epoch != FLAG_SKIP) {
				if (engine_fire(e, IG_EVENT_EPOCH_COMPLETED) !=
				    0)
					return fail_outer(e);
				s->time_epoch = engine_now() - e->t_epoch;
			}
			/* Rule 12: at EPOCH_COMPLETED terminate_epoch has no effect. */
			e->should_terminate_epoch = FLAG_OFF;
			st = outer_check(e, PH_EPOCH_BEGIN, &stop);
			if (stop)
				return st;
			/* epochs count against the budget too, or empty epochs
			 * (a one-shot source) would never yield */
			if (step_over(e, &done, max_iterations))
				return IG_RUN_YIELD;
			break;
		case PH_TERMINATE:
			if (engine_fire(e, IG_EVENT_TERMINATE) != 0)
				return fail_outer(e);
			e->phase = PH_COMPLETE;
			break;
		case PH_COMPLETE:
			s->time_total = engine_now() - e->t_run;
			if (e->should_terminate != FLAG_SKIP) {
				if (engine_fire(e, IG_EVENT_COMPLETED) != 0)
					return fail_outer(e);
				s->time_total = engine_now() - e->t_run;
			}
			end_run(e, IG_RUN_DONE);
			return IG_RUN_DONE;
		}
	}
}

int
ig_engine_complete(ig_engine *e, const ig_output *out, const char *errmsg)
{
	if (e->phase != PH_AWAIT)
		return engine_set_error(
		    e, IG_ESTATE, "complete: no process function is pending");
	if (errmsg != NULL) {
		ig_engine_raise(e, "%s", errmsg);
		e->pending_failed = true;
	} else {
		e->pending_output = out;
	}
	e->phase = PH_PROCESS_DONE;
	e->status = IG_RUN_YIELD;
	return 0;
}

int
ig_engine_run(ig_engine *e, ig_data *data, const ig_run_args *args)
{
	int rc = ig_engine_start(e, data, args);

	if (rc != 0)
		return rc;
	for (;;) {
		switch (ig_engine_step(e, 0)) {
		case IG_RUN_YIELD:
			continue;
		case IG_RUN_WAITING:
			ig_engine_raise(e,
			    "run: the process function is asynchronous; "
			    "drive the engine with ig_engine_step");
			end_run(e, IG_RUN_FAILED);
			return IG_ERUN;
		case IG_RUN_FAILED:
			return IG_ERUN;
		default:
			return 0;
		}
	}
}
