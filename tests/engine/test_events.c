/*
 * test_events.c - custom events, fire_event, event names (rule 23, and the
 * mapped counter of rule 6).
 */
#include "trace.h"

#include <string.h>

/* A process function that advances the counter "bwd" and fires BWD twice
 * per iteration, as Ignite's TBPTT-style custom events do. */
typedef struct bwd_proc {
	int event;
	int fired_errors;
} bwd_proc;

static int
proc_fire_bwd(ig_engine *e, const ig_batch *b, const ig_output **out, void *ud)
{
	bwd_proc *p = ud;
	(void)b;
	*out = NULL;
	for (int k = 0; k < 2; k++) {
		int64_t *c = ig_engine_counter(e, "bwd");
		assert_non_null(c);
		(*c)++;
		if (ig_engine_fire_event(e, p->event) != 0)
			p->fired_errors++;
	}
	return IG_PROCESS_DONE;
}

/* Rule 23: registered with a counter created at 0; handlers (filtered by
 * the counter, rule 6) run when the process function fires it; the counter
 * is not reset by a later run. */
static void
test_rule23_custom_event_with_counter(void **state)
{
	(void)state;
	bwd_proc p = { 0, 0 };
	ig_engine *e = ig_engine_new(proc_fire_bwd, &p);
	p.event = ig_engine_register_event(e, "BWD", "bwd");
	assert_true(p.event >= IG_EVENT_CORE_COUNT);
	assert_non_null(ig_engine_counter(e, "bwd"));
	assert_int_equal(*ig_engine_counter(e, "bwd"), 0);
	assert_null(ig_engine_counter(e, "nope"));
	assert_string_equal(ig_event_name(e, p.event), "BWD");
	assert_int_equal(ig_event_from_name(e, "BWD"), p.event);
	assert_int_equal(
	    ig_event_from_name(e, "EPOCH_COMPLETED"), IG_EVENT_EPOCH_COMPLETED);
	assert_string_equal(
	    ig_event_name(e, IG_EVENT_GET_BATCH_STARTED), "GET_BATCH_STARTED");
	assert_true(ig_event_from_name(e, "NO_SUCH") < 0);

	trace t;
	trace_init(&t);
	const ig_filter every3 = { .every = 3 };
	assert_true(trace_record_event(e, &t, p.event, &every3, 0) != 0);
	ig_data *d = ig_data_range(3);
	RUN_OK(e, d, NULL); /* counter 1..6: handler at 3 and 6 */
	assert_int_equal(*ig_engine_counter(e, "bwd"), 6);
	RUN_OK(e, d, NULL); /* fresh run; counter goes on 7..12 */
	assert_int_equal(*ig_engine_counter(e, "bwd"), 12);
	assert_int_equal(p.fired_errors, 0);
	/* Counter 3 and 9 come at iteration 2, 6 and 12 at iteration 3. */
	const tr_ev exp[] = {
		{ p.event, 1, 2 },
		{ p.event, 1, 3 },
		{ p.event, 1, 2 },
		{ p.event, 1, 3 },
	};
	TRACE_EQ(&t, exp);
	trace_free(&t);
	ig_data_free(d);
	ig_engine_free(e);
}

/* Rule 23: without a counter: fire_event runs the handlers, in order, and
 * a filter on it is refused (rule 6). */
static void
test_rule23_custom_event_without_counter(void **state)
{
	fixture *f = *state;
	int ev = ig_engine_register_event(f->e, "PING", NULL);
	assert_true(ev >= IG_EVENT_CORE_COUNT);
	assert_true(trace_record_event(f->e, &f->t, ev, NULL, 1) != 0);
	assert_true(trace_record_event(f->e, &f->t, ev, NULL, 2) != 0);
	assert_int_equal(
	    trace_record_event(f->e, &f->t, ev, &(ig_filter){ .every = 2 }, 3),
	    0);
	assert_int_equal(ig_engine_fire_event(f->e, ev), 0);
	assert_int_equal(ig_engine_last_event(f->e), ev);
	const tr_ev exp[] = { { TG(1, ev), 0, 0 }, { TG(2, ev), 0, 0 } };
	TRACE_EQ(&f->t, exp);
}

/* Rule 23: two events may share a counter (Ignite's event_to_attr maps
 * several events to one attribute). */
static void
test_rule23_shared_counter(void **state)
{
	fixture *f = *state;
	int a = ig_engine_register_event(
	    f->e, "TIME_ITERATION_STARTED", "time_iteration");
	int b = ig_engine_register_event(
	    f->e, "TIME_ITERATION_COMPLETED", "time_iteration");
	assert_true(a >= IG_EVENT_CORE_COUNT);
	assert_true(b >= IG_EVENT_CORE_COUNT);
	assert_int_not_equal(a, b);
	*ig_engine_counter(f->e, "time_iteration") = 4;
	const ig_filter every4 = { .every = 4 };
	assert_true(trace_record_event(f->e, &f->t, b, &every4, 0) != 0);
	assert_int_equal(ig_engine_fire_event(f->e, b), 0);
	assert_int_equal(f->t.n, 1);
}

/* Rule 23: firing or handling an unregistered event is an error. */
static void
test_rule23_unregistered_event_is_error(void **state)
{
	fixture *f = *state;
	int bogus = IG_EVENT_CORE_COUNT + 3;
	assert_true(ig_engine_fire_event(f->e, bogus) < 0);
	assert_string_not_equal(ig_engine_error(f->e), "");
	assert_int_equal(trace_record_event(f->e, &f->t, bogus, NULL, 0), 0);
	assert_null(ig_event_name(f->e, bogus));
}

/* fire_event on a core event runs its handlers (Ignite allows it). */
static void
test_rule23_fire_core_event(void **state)
{
	fixture *f = *state;
	assert_int_equal(
	    ig_engine_fire_event(f->e, IG_EVENT_EPOCH_COMPLETED), 0);
	static const tr_ev exp[] = { { E_EC, 0, 0 } };
	TRACE_EQ(&f->t, exp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule23_custom_event_with_counter),
		FX_TEST_BARE(test_rule23_custom_event_without_counter),
		FX_TEST_BARE(test_rule23_shared_counter),
		FX_TEST_BARE(test_rule23_unregistered_event_is_error),
		FX_TEST(test_rule23_fire_core_event),
	};
	return cmocka_run_group_tests_name(
	    "engine_events (rule 23)", tests, NULL, NULL);
}
