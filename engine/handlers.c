/*
 * handlers.c - events, their handlers and filters (rules 6-9, 23).
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

static const char *const core_names[IG_EVENT_CORE_COUNT] = {
	"STARTED",
	"EPOCH_STARTED",
	"GET_BATCH_STARTED",
	"GET_BATCH_COMPLETED",
	"ITERATION_STARTED",
	"ITERATION_COMPLETED",
	"DATALOADER_STOP_ITERATION",
	"EXCEPTION_RAISED",
	"TERMINATE_SINGLE_EPOCH",
	"TERMINATE",
	"INTERRUPT",
	"EPOCH_COMPLETED",
	"COMPLETED",
};

int
engine_events_init(ig_engine *e)
{
	e->events = calloc(IG_EVENT_CORE_COUNT, sizeof(*e->events));
	if (e->events == NULL)
		return IG_ENOMEM;
	e->nevents = e->capevents = IG_EVENT_CORE_COUNT;
	return 0;
}

static void
hentry_clear(struct hentry *h)
{
	free((int64_t *)h->filter.once);
}

void
engine_events_free(ig_engine *e)
{
	for (size_t i = 0; i < e->nevents; i++) {
		struct evinfo *ev = &e->events[i];
		for (size_t j = 0; j < ev->handlers.n; j++)
			hentry_clear(&ev->handlers.v[j]);
		free(ev->handlers.v);
		free(ev->name);
		free(ev->attr);
	}
	free(e->events);
}

static bool
valid_event(const ig_engine *e, int event)
{
	return event >= 0 && (size_t)event < e->nevents;
}

const char *
ig_event_name(const ig_engine *e, int event)
{
	if (event >= 0 && event < IG_EVENT_CORE_COUNT)
		return core_names[event];
	return valid_event(e, event) ? e->events[event].name : NULL;
}

int
ig_event_from_name(const ig_engine *e, const char *name)
{
	for (int i = 0; i < IG_EVENT_CORE_COUNT; i++)
		if (strcmp(core_names[i], name) == 0)
			return i;
	for (size_t i = IG_EVENT_CORE_COUNT; e != NULL && i < e->nevents; i++)
		if (strcmp(e->events[i].name, name) == 0)
			return (int)i;
	return IG_ENOENT;
}

int
ig_engine_register_event(ig_engine *e, const char *name, const char *attr)
{
	if (name == NULL || *name == '\0')
		return engine_set_error(
		    e, IG_EINVAL, "register_event: empty event name");
	if (ig_event_from_name(e, name) >= 0)
		return engine_set_error(e, IG_EINVAL,
		    "register_event: event %s is already registered", name);
	if (e->nevents == e->capevents) {
		size_t cap = e->capevents * 2;
		struct evinfo *v = realloc(e->events, cap * sizeof(*v));
		if (v == NULL)
			return engine_set_error(
			    e, IG_ENOMEM, "register_event: out of memory");
		e->events = v;
		e->capevents = cap;
	}
	struct evinfo *ev = &e->events[e->nevents];
	memset(ev, 0, sizeof(*ev));
	if ((ev->name = strdup(name)) == NULL)
		return engine_set_error(
		    e, IG_ENOMEM, "register_event: out of memory");
	if (attr != NULL) {
		struct var *c;
		if ((ev->attr = strdup(attr)) == NULL ||
		    (c = engine_vars_get(&e->counters, attr)) == NULL) {
			free(ev->name);
			free(ev->attr);
			return engine_set_error(
			    e, IG_ENOMEM, "register_event: out of memory");
		}
		/* Rule 23: created at 0, never reset; a second event may share it. */
		if (c->v.type == IG_VALUE_NIL) {
			c->v.type = IG_VALUE_INT;
			c->v.u.i = 0;
		}
	}
	return (int)e->nevents++;
}

int64_t *
ig_engine_counter(ig_engine *e, const char *attr)
{
	struct var *c = engine_vars_find(&e->counters, attr);
	return c != NULL ? &c->v.u.i : NULL;
}

/* The value a filter on event sees (rule 6); false when it has none. */
static bool
event_value(const ig_engine *e, int event, int64_t *value)
{
	switch (event) {
	case IG_EVENT_GET_BATCH_STARTED:
	case IG_EVENT_GET_BATCH_COMPLETED:
	case IG_EVENT_ITERATION_STARTED:
	case IG_EVENT_ITERATION_COMPLETED:
		*value = e->state.iteration;
		return true;
	case IG_EVENT_STARTED:
	case IG_EVENT_EPOCH_STARTED:
	case IG_EVENT_EPOCH_COMPLETED:
	case IG_EVENT_COMPLETED:
		*value = e->state.epoch;
		return true;
	default:
		if (event >= IG_EVENT_CORE_COUNT &&
		    e->events[event].attr != NULL) {
			const struct var *c = engine_vars_find(
			    &e->counters, e->events[event].attr);
			*value = c != NULL ? c->v.u.i : 0;
			return true;
		}
		return false;
	}
}

static bool
filter_is_set(const ig_filter *f)
{
	return f != NULL &&
	    (f->every > 1 || f->before || f->after || f->nonce || f->fn);
}

/* Rule 7's argument checks, with a message naming what is wrong. */
static int
filter_check(ig_engine *e, int event, const ig_filter *f)
{
	const char *name = ig_event_name(e, event);
	int64_t v;

	if (!filter_is_set(f))
		return 0;
	if (!event_value(e, event, &v))
		return engine_set_error(e, IG_EINVAL,
		    "event %s has no counter, so it cannot be filtered", name);
	int groups = (f->fn != NULL) + (f->nonce > 0) +
	    (f->every > 1 || f->before || f->after);
	if (groups > 1)
		return engine_set_error(e, IG_EINVAL,
		    "%s: only one of a custom filter, once, "
		    "and every/before/after may be given",
		    name);
	if (f->every < 0 || f->before < 0 || f->after < 0)
		return engine_set_error(e, IG_EINVAL,
		    "%s: every, before and after must not be negative", name);
	for (size_t i = 0; i < f->nonce; i++)
		if (f->once[i] <= 0)
			return engine_set_error(e, IG_EINVAL,
			    "%s: once values must be positive", name);
	return 0;
}

/*
 * every=n without before/after is the common filter and runs on every
 * iteration: keep the next multiple of n so that the usual case is two
 * compares instead of a 64-bit division.  Values may jump (a new run, a
 * loaded state); outside [next - n, next] the multiple is recomputed.
 */
static bool
every_pass(struct hentry *h, int64_t v)
{
	int64_t n = h->filter.every;

	if (v < h->every_next - n || v > h->every_next) {
		int64_t r = v % n;
		h->every_next = r == 0 ? v : v + (r > 0 ? n - r : -r);
	}
	if (v == h->every_next) {
		h->every_next += n;
		return true;
	}
	return v == h->every_next - n;
}

static bool
filter_pass(ig_engine *e, int event, struct hentry *h)
{
	const ig_filter *f = &h->filter;
	int64_t v = 0;

	event_value(e, event, &v);
	if (f->fn != NULL)
		return f->fn(e, v, f->fn_ud);
	if (f->nonce > 0) {
		for (size_t i = 0; i < f->nonce; i++)
			if (f->once[i] == v)
				return true;
		return false;
	}
	int64_t after = f->after;
	if (!f->before && !after)
		return f->every > 1 ? every_pass(h, v) : true;
	if (v <= after || (f->before > 0 && v >= f->before))
		return false;
	return f->every > 1 ? (v - after - 1) % f->every == 0 : true;
}

static int
hlist_push(struct hlist *l, const struct hentry *h)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct hentry *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return IG_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *h;
	return 0;
}

static void
hlist_compact(struct hlist *l)
{
	size_t j = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].removed_at != 0)
			hentry_clear(&l->v[i]);
		else
			l->v[j++] = l->v[i];
	}
	l->n = j;
	l->dirty = false;
}

static void
hentry_remove(ig_engine *e, struct hlist *l, struct hentry *h)
{
	/* Rule 9: a firing in progress still runs it; later firings do not. */
	h->removed_at = e->fire_serial ? e->fire_serial : 1;
	l->dirty = true;
	if (l->firing == 0)
		hlist_compact(l);
}

static int
remove_where(ig_engine *e, int event, ig_handle h, ig_handler_fn fn, void *ud)
{
	int found = 0;
	size_t lo = event >= 0 ? (size_t)event : 0;
	size_t hi = event >= 0 ? (size_t)event + 1 : e->nevents;

	for (size_t i = lo; i < hi; i++) {
		struct hlist *l = &e->events[i].handlers;
		for (size_t j = 0; j < l->n; j++) {
			struct hentry *x = &l->v[j];
			if (x->removed_at != 0)
				continue;
			if (h ? x->handle == h : (x->fn == fn && x->ud == ud)) {
				found++;
				hentry_remove(e, l, x);
				/* compaction may have moved entries down */
				if (l->firing == 0)
					j--;
			}
		}
	}
	return found;
}

ig_handle
ig_engine_add_handler(ig_engine *e, const ig_event_spec *specs, size_t n,
    ig_handler_fn fn, void *ud)
{
	if (fn == NULL || n == 0) {
		engine_set_error(
		    e, IG_EINVAL, "add_event_handler: no handler or no event");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!valid_event(e, specs[i].event)) {
			engine_set_error(e, IG_ENOENT,
			    "add_event_handler: event %d is not registered",
			    specs[i].event);
			return 0;
		}
		if (filter_check(e, specs[i].event, &specs[i].filter) != 0)
			return 0;
	}
	ig_handle h = ++e->next_handle;
	for (size_t i = 0; i < n; i++) {
		struct hentry x = { .fn = fn, .ud = ud, .handle = h };
		const ig_filter *f = &specs[i].filter;
		if (filter_is_set(f)) {
			x.filter = *f;
			x.filtered = true;
			if (f->nonce > 0) {
				int64_t *once =
				    malloc(f->nonce * sizeof(*once));
				if (once == NULL)
					goto nomem;
				memcpy(once, f->once, f->nonce * sizeof(*once));
				x.filter.once = once;
			}
		}
		if (hlist_push(&e->events[specs[i].event].handlers, &x) != 0) {
			hentry_clear(&x);
			goto nomem;
		}
	}
	return h;
nomem:
	remove_where(e, IG_EVENT_ANY, h, NULL, NULL);
	engine_set_error(e, IG_ENOMEM, "add_event_handler: out of memory");
	return 0;
}

ig_handle
ig_engine_on(ig_engine *e, int event, const ig_filter *filter, ig_handler_fn fn,
    void *ud)
{
	ig_event_spec spec = { .event = event };

	if (filter != NULL)
		spec.filter = *filter;
	return ig_engine_add_handler(e, &spec, 1, fn, ud);
}

int
ig_engine_remove_handle(ig_engine *e, ig_handle h)
{
	if (h == 0 || remove_where(e, IG_EVENT_ANY, h, NULL, NULL) == 0)
		return engine_set_error(e, IG_ENOENT,
		    "remove: handle %llu is not registered",
		    (unsigned long long)h);
	return 0;
}

int
ig_engine_remove_handler(ig_engine *e, ig_handler_fn fn, void *ud, int event)
{
	if (!valid_event(e, event))
		return engine_set_error(e, IG_ENOENT,
		    "remove_event_handler: event %d is not registered", event);
	if (remove_where(e, event, 0, fn, ud) == 0)
		return engine_set_error(e, IG_ENOENT,
		    "remove_event_handler: this handler is not registered on event %s",
		    ig_event_name(e, event));
	return 0;
}

bool
ig_engine_has_handler(const ig_engine *e, ig_handler_fn fn, void *ud, int event)
{
	size_t lo = event >= 0 ? (size_t)event : 0;
	size_t hi = event >= 0 ? (size_t)event + 1 : e->nevents;

	if (event != IG_EVENT_ANY && !valid_event(e, event))
		return false;
	for (size_t i = lo; i < hi; i++) {
		const struct hlist *l = &e->events[i].handlers;
		for (size_t j = 0; j < l->n; j++)
			if (l->v[j].removed_at == 0 && l->v[j].fn == fn &&
			    l->v[j].ud == ud)
				return true;
	}
	return false;
}

bool
engine_has_live_handlers(const ig_engine *e, int event)
{
	const struct hlist *l = &e->events[event].handlers;

	for (size_t j = 0; j < l->n; j++)
		if (l->v[j].removed_at == 0)
			return true;
	return false;
}

int
engine_fire_slow(ig_engine *e, int event)
{
	uint64_t serial = ++e->fire_serial;
	size_t n = e->events[event].handlers.n;
	int rc = 0;

	/* Entries added during the firing (index >= n) wait for the next one;
	 * the array may move, so index it afresh each time. */
	e->events[event].handlers.firing++;
	for (size_t i = 0; i < n; i++) {
		struct hentry *h = &e->events[event].handlers.v[i];
		if (h->removed_at != 0 && h->removed_at < serial)
			continue;
		if (h->filtered && !filter_pass(e, event, h))
			continue;
		if (h->fn(e, event, h->ud) != 0) {
			rc = -1;
			break;
		}
	}
	struct hlist *l = &e->events[event].handlers;
	if (--l->firing == 0 && l->dirty)
		hlist_compact(l);
	return rc;
}

int
ig_engine_fire_event(ig_engine *e, int event)
{
	if (!valid_event(e, event))
		return engine_set_error(e, IG_ENOENT,
		    "fire_event: event %d is not registered", event);
	return engine_fire(e, event) == 0 ? 0 : IG_ERUN;
}
