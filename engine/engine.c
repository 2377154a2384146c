/*
 * engine.c - the run loop (rules 1-5, 10-19, 22, 24, 25).
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
#include <time.h>

#include "core.h"

double
engine_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
set_error_v(ig_engine *e, int code, const char *fmt, va_list ap)
{
	char *msg;

	if (vasprintf(&msg, fmt, ap) >= 0) {
		free(e->error);
		e->error = msg;
	}
	return code;
}

int
engine_set_error(ig_engine *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error_v(e, code, fmt, ap);
	va_end(ap);
	return code;
}

int
ig_engine_raise(ig_engine *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error_v(e, IG_ERUN, fmt, ap);
	va_end(ap);
	return -1;
}

void
ig_engine_on_warning(ig_engine *e, ig_warning_fn *fn, void *ud)
{
	e->warning = fn;
	e->warning_ud = ud;
}

/* Something Ignite would warnings.warn() about, to the embedding program. */
static void __attribute__((format(printf, 2, 3)))
warn(ig_engine *e, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (e->warning == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->warning(e, msg, e->warning_ud);
}

const char *
ig_engine_error(const ig_engine *e)
{
	return e->error != NULL ? e->error : "";
}

ig_engine *
ig_engine_new(ig_process_fn fn, void *ud)
{
	ig_engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	if (engine_events_init(e) != 0) {
		free(e);
		return NULL;
	}
	e->process = fn;
	e->process_ud = ud;
	e->last_event = -1;
	e->state.epoch_length = IG_NONE;
	e->state.max_epochs = IG_NONE;
	e->state.seed = IG_NONE;
	e->state.time_epoch = NAN;
	e->state.time_total = NAN;
	e->init_iter = IG_NONE;
	return e;
}

void
ig_engine_free(ig_engine *e)
{
	if (e == NULL)
		return;
	while (e->nadopted > 0)
		engine_release(e, e->adopted[e->nadopted - 1].name);
	free(e->adopted);
	engine_events_free(e);
	engine_vars_clear(&e->metrics);
	engine_vars_clear(&e->counters);
	engine_vars_clear(&e->user);
	for (size_t i = 0; i < e->nuser_keys; i++)
		free(e->user_keys[i]);
	free(e->user_keys);
	free(e->error);
	free(e);
}

ig_state *
ig_engine_state(ig_engine *e)
{
	return &e->state;
}

int
ig_engine_last_event(const ig_engine *e)
{
	return e->last_event;
}

ig_run_status
ig_engine_status(const ig_engine *e)
{
	return e->status;
}

bool
ig_engine_clean(const ig_engine *e)
{
	return !e->running || e->phase == PH_FETCH ||
	    e->phase == PH_EPOCH_BEGIN;
}

bool
ig_engine_terminated(const ig_engine *e)
{
	return e->should_terminate != FLAG_OFF;
}

int64_t
ig_engine_iter_counter(const ig_engine *e)
{
	return e->iter_counter;
}

/* ---- state.metrics and user keys ---------------------------------------- */

int
ig_engine_set_metric(ig_engine *e, const char *name, double value)
{
	struct var *m = engine_vars_get(&e->metrics, name);

	if (m == NULL)
		return engine_set_error(
		    e, IG_ENOMEM, "set_metric %s: out of memory", name);
	m->v.type = IG_VALUE_DOUBLE;
	m->v.u.d = value;
	return 0;
}

bool
ig_engine_metric(const ig_engine *e, const char *name, double *value)
{
	const struct var *m = engine_vars_find(&e->metrics, name);

	if (m == NULL)
		return false;
	*value = m->v.u.d;
	return true;
}

size_t
ig_engine_metric_count(const ig_engine *e)
{
	return e->metrics.n;
}

const char *
ig_engine_metric_at(const ig_engine *e, size_t i, double *value)
{
	if (i >= e->metrics.n)
		return NULL;
	*value = e->metrics.v[i].v.u.d;
	return e->metrics.v[i].name;
}

int
ig_engine_declare_user_key(ig_engine *e, const char *key)
{
	static const char *const reserved[] = { "iteration", "epoch",
		"epoch_length", "max_epochs" };

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(key, reserved[i]) == 0)
			return engine_set_error(e, IG_EINVAL,
			    "user key %s is one of the engine's own keys", key);
	for (size_t i = 0; i < e->nuser_keys; i++)
		if (strcmp(e->user_keys[i], key) == 0)
			return 0;
	char **v = realloc(e->user_keys, (e->nuser_keys + 1) * sizeof(*v));
	if (v == NULL)
		return engine_set_error(
		    e, IG_ENOMEM, "declare_user_key: out of memory");
	e->user_keys = v;
	if ((v[e->nuser_keys] = strdup(key)) == NULL)
		return engine_set_error(
		    e, IG_ENOMEM, "declare_user_key: out of memory");
	e->nuser_keys++;
	return 0;
}

int
ig_engine_set_user(ig_engine *e, const char *key, const ig_value *v)
{
	struct var *u = engine_vars_get(&e->user, key);

	if (u == NULL || engine_value_copy(&u->v, v) != 0)
		return engine_set_error(
		    e, IG_ENOMEM, "set_user %s: out of memory", key);
	return 0;
}

const ig_value *
ig_engine_user(const ig_engine *e, const char *key)
{
	const struct var *u = engine_vars_find(&e->user, key);
	return u != NULL ? &u->v : NULL;
}

/* ---- things the engine owns for others (metrics) ------------------------ */

int
engine_adopt(ig_engine *e, const char *name, void *obj, void (*free_fn)(void *),
    ig_handle h)
{
	struct adopted_obj *v =
	    realloc(e->adopted, (e->nadopted + 1) * sizeof(*v));

	if (v == NULL)
		return IG_ENOMEM;
	e->adopted = v;
	if ((v[e->nadopted].name = strdup(name)) == NULL)
		return IG_ENOMEM;
	v[e->nadopted].obj = obj;
	v[e->nadopted].free_fn = free_fn;
	v[e->nadopted].handle = h;
	e->nadopted++;
	return 0;
}

int
engine_release(ig_engine *e, const char *name)
{
	for (size_t i = 0; i < e->nadopted; i++) {
		struct adopted_obj *a = &e->adopted[i];
		if (strcmp(a->name, name) != 0)
			continue;
		if (a->handle != 0)
			ig_engine_remove_handle(e, a->handle);
		a->free_fn(a->obj);
		free(a->name);
		memmove(a, a + 1, (e->nadopted - i - 1) * sizeof(*a));
		e->nadopted--;
		return 0;
	}
	return engine_set_error(e, IG_ENOENT, "%s is not attached", name);
}

bool
engine_adopted_has(const ig_engine *e, const char *name)
{
	for (size_t i = 0; i < e->nadopted; i++)
		if (strcmp(e->adopted[i].name, name) == 0)
			return true;
	return false;
}

/* ---- control ------------------------------------------------------------ */

void
ig_engine_terminate(ig_engine *e, bool skip_completed)
{
	e->should_terminate = skip_completed ? FLAG_SKIP : FLAG_ON;
}

void
ig_engine_terminate_epoch(ig_engine *e, bool skip_epoch_completed)
{
	e->should_terminate_epoch = skip_epoch_completed ? FLAG_SKIP : FLAG_ON;
}

void
ig_engine_interrupt(ig_engine *e)
{
	e->should_interrupt = true;
}

void
ig_engine_yield(ig_engine *e)
{
	e->should_yield = true;
}

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

/* The run's data, with its shape cached: the loop asks for it every fetch. */
static void
use_data(ig_engine *e, ig_data *d)
{
	e->data = d;
	e->data_n = d != NULL ? ig_data_size(d) : IG_NONE;
	e->data_ra = d != NULL && engine_data_random_access(d);
}

/* Start a new pass of the data (Ignite's _setup_dataloader_iter). */
static int
restart_data(ig_engine *e, char *err, size_t errlen)
{
	e->iter_live = true;
	memset(&e->batch, 0, sizeof(e->batch));
	if (e->data == NULL) {
		e->none_left = e->state.epoch_length;
		return 0;
	}
	e->cursor.pass++;
	e->cursor.pos = 0;
	e->cursor_valid = true;
	return engine_data_restart(e->data, err, errlen);
}

int
ig_engine_set_data(ig_engine *e, ig_data *d)
{
	char err[256];

	err[0] = '\0';
	use_data(e, d);
	if (!e->running)
		return 0;
	/* Rule 22: the next fetch comes from d. */
	if (restart_data(e, err, sizeof(err)) != 0)
		return engine_set_error(e, IG_ERUN, "set_data: %s", err);
	return 0;
}

void
ig_engine_data_cursor(const ig_engine *e, ig_data_cursor *c)
{
	*c = e->cursor;
}

int
ig_engine_set_data_cursor(ig_engine *e, const ig_data_cursor *c)
{
	if (c->pass < 0 || c->pos < 0)
		return engine_set_error(e, IG_EINVAL,
		    "data cursor: pass and pos must not be negative");
	if (e->running)
		return engine_set_error(
		    e, IG_ESTATE, "data cursor: a run is in progress");
	e->cursor = *c;
	e->cursor_valid = true;
	return 0;
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
		use_data(e, data);

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
		if (restart_data(e, err, sizeof(err)) != 0) {
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
					warn(e,
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
			if (restart_data(e, err, sizeof(err)) != 0) {
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
