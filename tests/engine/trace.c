/* trace.c - see trace.h. */
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const core_names[IG_EVENT_CORE_COUNT] = {
	[IG_EVENT_STARTED] = "STARTED",
	[IG_EVENT_EPOCH_STARTED] = "EPOCH_STARTED",
	[IG_EVENT_GET_BATCH_STARTED] = "GET_BATCH_STARTED",
	[IG_EVENT_GET_BATCH_COMPLETED] = "GET_BATCH_COMPLETED",
	[IG_EVENT_ITERATION_STARTED] = "ITERATION_STARTED",
	[IG_EVENT_ITERATION_COMPLETED] = "ITERATION_COMPLETED",
	[IG_EVENT_DATALOADER_STOP_ITERATION] = "DATALOADER_STOP_ITERATION",
	[IG_EVENT_EXCEPTION_RAISED] = "EXCEPTION_RAISED",
	[IG_EVENT_TERMINATE_SINGLE_EPOCH] = "TERMINATE_SINGLE_EPOCH",
	[IG_EVENT_TERMINATE] = "TERMINATE",
	[IG_EVENT_INTERRUPT] = "INTERRUPT",
	[IG_EVENT_EPOCH_COMPLETED] = "EPOCH_COMPLETED",
	[IG_EVENT_COMPLETED] = "COMPLETED",
};

const char *
tr_event_name(int event)
{
	if (event >= 0 && event < IG_EVENT_CORE_COUNT)
		return core_names[event];
	return "CUSTOM";
}

void
trace_init(trace *t)
{
	memset(t, 0, sizeof(*t));
}

void
trace_reset(trace *t)
{
	t->n = 0;
}

void
trace_free(trace *t)
{
	free(t->v);
	while (t->recs) {
		tr_rec *next = t->recs->next;
		free(t->recs);
		t->recs = next;
	}
	memset(t, 0, sizeof(*t));
}

void
trace_push(trace *t, int event, int64_t epoch, int64_t iteration)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->v = realloc(t->v, t->cap * sizeof(*t->v));
		assert_non_null(t->v);
	}
	t->v[t->n++] = (tr_ev){ event, epoch, iteration };
}

int
trace_handler(ig_engine *e, int event, void *ud)
{
	tr_rec *r = ud;
	const ig_state *s = ig_engine_state(e);
	trace_push(r->t, TG(r->tag, event), s->epoch, s->iteration);
	return 0;
}

static tr_rec *
new_rec(trace *t, int tag)
{
	tr_rec *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->t = t;
	r->tag = tag;
	r->next = t->recs;
	t->recs = r;
	return r;
}

ig_handle
trace_record_event(
    ig_engine *e, trace *t, int event, const ig_filter *f, int tag)
{
	return ig_engine_on(e, event, f, trace_handler, new_rec(t, tag));
}

bool
trace_record(ig_engine *e, trace *t, uint32_t mask)
{
	tr_rec *r = new_rec(t, 0);
	for (int ev = 0; ev < IG_EVENT_CORE_COUNT; ev++) {
		if ((mask & (UINT32_C(1) << ev)) &&
		    ig_engine_on(e, ev, NULL, trace_handler, r) == 0)
			return false;
	}
	return true;
}

static void
fmt_ev(char *buf, size_t len, const tr_ev *v)
{
	if (!v) {
		snprintf(buf, len, "-");
		return;
	}
	int tag = v->event / 100, ev = v->event % 100;
	if (tag)
		snprintf(buf, len, "%s(%lld,%lld)#%d", tr_event_name(ev),
		    (long long)v->epoch, (long long)v->iteration, tag);
	else
		snprintf(buf, len, "%s(%lld,%lld)", tr_event_name(ev),
		    (long long)v->epoch, (long long)v->iteration);
}

static bool
ev_eq(const tr_ev *a, const tr_ev *b)
{
	return a->event == b->event && a->epoch == b->epoch &&
	    a->iteration == b->iteration;
}

void
trace_check(const trace *actual, const tr_ev *exp, size_t n, const char *what,
    const char *file, int line)
{
	size_t first = SIZE_MAX;
	size_t m = actual->n > n ? actual->n : n;
	for (size_t i = 0; i < m && first == SIZE_MAX; i++) {
		if (i >= actual->n || i >= n || !ev_eq(&actual->v[i], &exp[i]))
			first = i;
	}
	if (first == SIZE_MAX)
		return;
	print_error(
	    "%s:%d: trace differs from %s at entry %zu (expected %zu entries, got %zu)\n",
	    file, line, what, first, n, actual->n);
	print_error("  %4s  %-36s %-36s\n", "#", "expected", "actual");
	/* Some context before the first difference, then up to 40 lines. */
	size_t from = first > 6 ? first - 6 : 0;
	size_t to = from + 46 < m ? from + 46 : m;
	for (size_t i = from; i < to; i++) {
		char a[80], b[80];
		const tr_ev *ev = i < n ? &exp[i] : NULL;
		const tr_ev *av = i < actual->n ? &actual->v[i] : NULL;
		fmt_ev(a, sizeof(a), ev);
		fmt_ev(b, sizeof(b), av);
		bool same = ev && av && ev_eq(ev, av);
		print_error(
		    "%s %4zu  %-36s %-36s\n", same ? " " : "!", i, a, b);
	}
	if (to < m)
		print_error("  ... %zu more\n", m - to);
	_fail(file, line);
}

void
tb_iters(trace *t, int64_t epoch, int64_t first, int64_t last, bool with_data,
    bool restart)
{
	for (int64_t i = first; i <= last; i++) {
		if (with_data) {
			trace_push(t, E_GBS, epoch, i - 1);
			if (restart && i == first)
				trace_push(t, E_DSI, epoch, i - 1);
			trace_push(t, E_GBC, epoch, i - 1);
		}
		trace_push(t, E_IS, epoch, i);
		trace_push(t, E_IC, epoch, i);
	}
}

void
tb_epoch(trace *t, int64_t epoch, int64_t first, int64_t last, bool with_data,
    bool restart)
{
	trace_push(t, E_ES, epoch, first - 1);
	tb_iters(t, epoch, first, last, with_data, restart);
	trace_push(t, E_EC, epoch, last);
}

void
tb_run(trace *t, int64_t max_epochs, int64_t len, bool with_data)
{
	trace_push(t, E_ST, 0, 0);
	for (int64_t ep = 1; ep <= max_epochs; ep++)
		tb_epoch(
		    t, ep, (ep - 1) * len + 1, ep * len, with_data, ep > 1);
	trace_push(t, E_CO, max_epochs, max_epochs * len);
}

void
tb_append(trace *t, const tr_ev *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		trace_push(t, v[i].event, v[i].epoch, v[i].iteration);
}

size_t
trace_find(const trace *t, int event, int64_t epoch, int64_t iteration)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].event == event && t->v[i].epoch == epoch &&
		    t->v[i].iteration == iteration)
			return i;
	fail_msg("no %s(%lld,%lld) in the trace", tr_event_name(event),
	    (long long)epoch, (long long)iteration);
	return 0;
}

void
tb_slice(trace *dst, const trace *src, size_t from, size_t to)
{
	tb_append(dst, src->v + from, to - from);
}

void
trace_only(trace *dst, const trace *src, int ev)
{
	for (size_t i = 0; i < src->n; i++)
		if (src->v[i].event == ev)
			trace_push(dst, src->v[i].event, src->v[i].epoch,
			    src->v[i].iteration);
}

/* ---- process function ------------------------------------------------- */

int
proc_record(ig_engine *e, const ig_batch *b, const ig_output **out, void *ud)
{
	proc_rec *r = ud;
	const ig_state *s = ig_engine_state(e);
	r->calls++;
	if (r->fail_at && s->iteration == r->fail_at)
		return ig_engine_raise(
		    e, "boom at %lld", (long long)s->iteration);
	int64_t idx = b ? b->index : -1;
	if (r->nseen < sizeof(r->seen) / sizeof(r->seen[0]))
		r->seen[r->nseen++] = idx;
	r->field = (ig_field){ .name = "x", .value = (double)idx };
	r->out = (ig_output){ &r->field, 1 };
	*out = &r->out;
	return IG_PROCESS_DONE;
}

ig_engine *
new_engine(proc_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	ig_engine *e = ig_engine_new(proc_record, rec);
	assert_non_null(e);
	return e;
}

/* ---- actions ------------------------------------------------------------ */

int
action_handler(ig_engine *e, int event, void *ud)
{
	action *a = ud;
	const ig_state *s = ig_engine_state(e);
	(void)event;
	int times = a->times ? a->times : 1;
	if (a->done >= times)
		return 0;
	if ((a->epoch >= 0 && s->epoch != a->epoch) ||
	    (a->iteration >= 0 && s->iteration != a->iteration))
		return 0;
	a->done++;
	switch (a->kind) {
	case ACT_TERMINATE:
		ig_engine_terminate(e, false);
		break;
	case ACT_TERMINATE_SKIP:
		ig_engine_terminate(e, true);
		break;
	case ACT_TERMINATE_EPOCH:
		ig_engine_terminate_epoch(e, false);
		break;
	case ACT_TERMINATE_EPOCH_SKIP:
		ig_engine_terminate_epoch(e, true);
		break;
	case ACT_INTERRUPT:
		ig_engine_interrupt(e);
		break;
	case ACT_RAISE:
		return ig_engine_raise(e, "handler raised at %s(%lld,%lld)",
		    tr_event_name(a->event), (long long)s->epoch,
		    (long long)s->iteration);
	}
	return 0;
}

void
action_attach(ig_engine *e, action *a)
{
	a->done = 0;
	assert_true(ig_engine_on(e, a->event, NULL, action_handler, a) != 0);
}

const ig_batch *
index_batches(size_t n)
{
	static ig_batch batches[256];
	assert_true(n <= 256);
	for (size_t i = 0; i < 256; i++)
		batches[i] = (ig_batch){ .index = (int64_t)i };
	return batches;
}

/* ---- fixture ------------------------------------------------------------ */

int
fx_setup_bare(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->e = new_engine(&f->rec);
	trace_init(&f->t);
	*state = f;
	return 0;
}

int
fx_setup(void **state)
{
	if (fx_setup_bare(state))
		return -1;
	fixture *f = *state;
	return trace_record(f->e, &f->t, TR_ALL_BUT_EXCEPTION) ? 0 : -1;
}

int
fx_teardown(void **state)
{
	fixture *f = *state;
	ig_engine_free(f->e);
	ig_data_free(f->d);
	ig_data_free(f->d2);
	trace_free(&f->t);
	free(f);
	return 0;
}

void
assert_seen(
    const proc_rec *r, const int64_t *exp, size_t n, const char *file, int line)
{
	bool same = r->nseen == n;
	for (size_t i = 0; same && i < n; i++)
		same = r->seen[i] == exp[i];
	if (same)
		return;
	print_error(
	    "%s:%d: batches seen by the process function differ\n  expected:",
	    file, line);
	for (size_t i = 0; i < n; i++)
		print_error(" %lld", (long long)exp[i]);
	print_error("\n  actual:  ");
	for (size_t i = 0; i < r->nseen; i++)
		print_error(" %lld", (long long)r->seen[i]);
	print_error("\n");
	_fail(file, line);
}
