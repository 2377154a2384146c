/*
 * engine.c - an engine and what it holds around the loop: its errors and
 * warnings, state and metrics, user keys, the objects it owns for others,
 * control (terminate, interrupt, yield), its data and cursor (rule 22).
 * The loop itself is loop.c.
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
void
engine_warn(ig_engine *e, const char *fmt, ...)
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

/* The run's data, with its shape cached: the loop asks for it every fetch. */
void
engine_use_data(ig_engine *e, ig_data *d)
{
	e->data = d;
	e->data_n = d != NULL ? ig_data_size(d) : IG_NONE;
	e->data_ra = d != NULL && engine_data_random_access(d);
}

/* Start a new pass of the data (Ignite's _setup_dataloader_iter). */
int
engine_restart_data(ig_engine *e, char *err, size_t errlen)
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
	engine_use_data(e, d);
	if (!e->running)
		return 0;
	/* Rule 22: the next fetch comes from d. */
	if (engine_restart_data(e, err, sizeof(err)) != 0)
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
