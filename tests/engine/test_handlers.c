/*
 * test_handlers.c - adding, ordering and removing handlers (rule 9).
 */
#include "trace.h"

#include <string.h>

/* Rule 9: handlers run in the order added; filtered and plain share one list. */
static void
test_rule09_order_added_filtered_and_plain_share_list(void **state)
{
	fixture *f = *state;
	const ig_filter every2 = { .every = 2 };
	assert_true(trace_record_event(f->e, &f->t, E_IC, NULL, 1) != 0);
	assert_true(trace_record_event(f->e, &f->t, E_IC, &every2, 2) != 0);
	assert_true(trace_record_event(f->e, &f->t, E_IC, NULL, 3) != 0);
	f->d = ig_data_range(3);
	RUN_OK(f->e, f->d, NULL);
	static const tr_ev exp[] = {
		{ TG(1, E_IC), 1, 1 },
		{ TG(3, E_IC), 1, 1 },
		{ TG(1, E_IC), 1, 2 },
		{ TG(2, E_IC), 1, 2 },
		{ TG(3, E_IC), 1, 2 },
		{ TG(1, E_IC), 1, 3 },
		{ TG(3, E_IC), 1, 3 },
	};
	TRACE_EQ(&f->t, exp);
}

/* Rule 9: a handler on a list of events is added to each, in order, with
 * each event's own filter. */
static void
test_rule09_list_of_events(void **state)
{
	fixture *f = *state;
	tr_rec a = { &f->t, 1, NULL }, b = { &f->t, 2, NULL },
	       c = { &f->t, 3, NULL };
	assert_true(ig_engine_on(f->e, E_ST, NULL, trace_handler, &a) != 0);
	const ig_event_spec specs[] = {
		{ E_ST, { 0 } },
		{ E_IC, { .every = 2 } },
		{ E_CO, { 0 } },
	};
	ig_handle h = ig_engine_add_handler(f->e, specs, 3, trace_handler, &b);
	assert_true(h != 0);
	assert_true(ig_engine_on(f->e, E_ST, NULL, trace_handler, &c) != 0);
	assert_true(ig_engine_on(f->e, E_CO, NULL, trace_handler, &c) != 0);
	f->d = ig_data_range(4);
	RUN_OK(f->e, f->d, NULL);
	static const tr_ev exp[] = {
		{ TG(1, E_ST), 0, 0 },
		{ TG(2, E_ST), 0, 0 },
		{ TG(3, E_ST), 0, 0 },
		{ TG(2, E_IC), 1, 2 },
		{ TG(2, E_IC), 1, 4 },
		{ TG(2, E_CO), 1, 4 },
		{ TG(3, E_CO), 1, 4 },
	};
	TRACE_EQ(&f->t, exp);

	/* The handle removes what that one add registered, on every event. */
	assert_int_equal(ig_engine_remove_handle(f->e, h), 0);
	assert_false(
	    ig_engine_has_handler(f->e, trace_handler, &b, IG_EVENT_ANY));
	assert_true(ig_engine_has_handler(f->e, trace_handler, &c, E_CO));
	trace_reset(&f->t);
	RUN_OK(f->e, f->d, NULL);
	static const tr_ev exp2[] = { { TG(1, E_ST), 0, 0 },
		{ TG(3, E_ST), 0, 0 }, { TG(3, E_CO), 1, 4 } };
	TRACE_EQ(&f->t, exp2);
	/* A handle removed once is gone. */
	assert_int_not_equal(ig_engine_remove_handle(f->e, h), 0);
}

/* Rule 9: removing a handler while its event fires takes effect from the
 * next firing; the rest of the current firing still runs.  Table: which
 * handler (by position 0..2 on ITERATION_COMPLETED) removes which, at
 * iteration 2. */
typedef struct remover {
	fixture *f;
	tr_rec *victim;
	int64_t at;
	tr_rec self;
} remover;

static int
remove_at(ig_engine *e, int event, void *ud)
{
	remover *r = ud;
	trace_handler(e, event, &r->self);
	if (ig_engine_state(e)->iteration == r->at) {
		assert_int_equal(ig_engine_remove_handler(
		                     e, trace_handler, r->victim, event),
		    0);
	}
	return 0;
}

static int
remove_self_at(ig_engine *e, int event, void *ud)
{
	remover *r = ud;
	trace_handler(e, event, &r->self);
	if (ig_engine_state(e)->iteration == r->at)
		assert_int_equal(
		    ig_engine_remove_handler(e, remove_self_at, r, event), 0);
	return 0;
}

static void
test_rule09_remove_later_handler_during_firing(void **state)
{
	fixture *f = *state;
	tr_rec victim = { &f->t, 2, NULL }, last = { &f->t, 3, NULL };
	remover r = { f, &victim, 2, { &f->t, 1, NULL } };
	assert_true(ig_engine_on(f->e, E_IC, NULL, remove_at, &r) != 0);
	assert_true(
	    ig_engine_on(f->e, E_IC, NULL, trace_handler, &victim) != 0);
	assert_true(ig_engine_on(f->e, E_IC, NULL, trace_handler, &last) != 0);
	f->d = ig_data_range(3);
	RUN_OK(f->e, f->d, NULL);
	static const tr_ev exp[] = {
		{ TG(1, E_IC), 1, 1 },
		{ TG(2, E_IC), 1, 1 },
		{ TG(3, E_IC), 1, 1 },
		{ TG(1, E_IC), 1, 2 },
		{ TG(2, E_IC), 1, 2 },
		{ TG(3, E_IC), 1, 2 },
		{ TG(1, E_IC), 1, 3 },
		{ TG(3, E_IC), 1, 3 },
	};
	TRACE_EQ(&f->t, exp);
}

static void
test_rule09_remove_self_during_firing(void **state)
{
	fixture *f = *state;
	tr_rec first = { &f->t, 1, NULL }, last = { &f->t, 3, NULL };
	remover r = { f, NULL, 2, { &f->t, 2, NULL } };
	assert_true(ig_engine_on(f->e, E_IC, NULL, trace_handler, &first) != 0);
	assert_true(ig_engine_on(f->e, E_IC, NULL, remove_self_at, &r) != 0);
	assert_true(ig_engine_on(f->e, E_IC, NULL, trace_handler, &last) != 0);
	f->d = ig_data_range(3);
	RUN_OK(f->e, f->d, NULL);
	static const tr_ev exp[] = {
		{ TG(1, E_IC), 1, 1 },
		{ TG(2, E_IC), 1, 1 },
		{ TG(3, E_IC), 1, 1 },
		{ TG(1, E_IC), 1, 2 },
		{ TG(2, E_IC), 1, 2 },
		{ TG(3, E_IC), 1, 2 },
		{ TG(1, E_IC), 1, 3 },
		{ TG(3, E_IC), 1, 3 },
	};
	TRACE_EQ(&f->t, exp);
	assert_false(ig_engine_has_handler(f->e, remove_self_at, &r, E_IC));
}

/* Rule 9: has_handler ignores filters, can search all events, and tells
 * handlers apart by (fn, ud). */
static void
test_rule09_has_handler(void **state)
{
	fixture *f = *state;
	tr_rec a = { &f->t, 1, NULL }, other = { &f->t, 2, NULL };
	const ig_filter once2 = { .once = (const int64_t[]){ 2 }, .nonce = 1 };
	assert_false(
	    ig_engine_has_handler(f->e, trace_handler, &a, IG_EVENT_ANY));
	assert_true(ig_engine_on(f->e, E_EC, &once2, trace_handler, &a) != 0);
	assert_true(ig_engine_has_handler(f->e, trace_handler, &a, E_EC));
	assert_true(
	    ig_engine_has_handler(f->e, trace_handler, &a, IG_EVENT_ANY));
	assert_false(ig_engine_has_handler(f->e, trace_handler, &a, E_IC));
	assert_false(
	    ig_engine_has_handler(f->e, trace_handler, &other, IG_EVENT_ANY));
	assert_false(
	    ig_engine_has_handler(f->e, action_handler, &a, IG_EVENT_ANY));
	assert_int_equal(
	    ig_engine_remove_handler(f->e, trace_handler, &a, E_EC), 0);
	assert_false(
	    ig_engine_has_handler(f->e, trace_handler, &a, IG_EVENT_ANY));
}

/* Rule 9: remove_handler removes every registration of (fn, ud) on that
 * event only. */
static void
test_rule09_remove_handler_all_registrations_of_event(void **state)
{
	fixture *f = *state;
	tr_rec a = { &f->t, 1, NULL };
	assert_true(ig_engine_on(f->e, E_IC, NULL, trace_handler, &a) != 0);
	assert_true(ig_engine_on(f->e, E_IC, &(ig_filter){ .every = 2 },
	                trace_handler, &a) != 0);
	assert_true(ig_engine_on(f->e, E_EC, NULL, trace_handler, &a) != 0);
	assert_int_equal(
	    ig_engine_remove_handler(f->e, trace_handler, &a, E_IC), 0);
	assert_false(ig_engine_has_handler(f->e, trace_handler, &a, E_IC));
	f->d = ig_data_range(2);
	RUN_OK(f->e, f->d, NULL);
	static const tr_ev exp[] = { { TG(1, E_EC), 1, 2 } };
	TRACE_EQ(&f->t, exp);
}

/* Rule 9: removing a handler that is not there is an error naming which. */
static void
test_rule09_remove_missing_handler_is_error(void **state)
{
	fixture *f = *state;
	tr_rec a = { &f->t, 1, NULL };
	assert_int_equal(
	    ig_engine_remove_handler(f->e, trace_handler, &a, E_EC), IG_ENOENT);
	const char *msg = ig_engine_error(f->e);
	assert_string_not_equal(msg, "");
	assert_non_null(strstr(msg, "EPOCH_COMPLETED"));
	/* Attached to another event is still missing on this one. */
	assert_true(ig_engine_on(f->e, E_ES, NULL, trace_handler, &a) != 0);
	assert_int_equal(
	    ig_engine_remove_handler(f->e, trace_handler, &a, E_EC), IG_ENOENT);
	assert_true(ig_engine_has_handler(f->e, trace_handler, &a, E_ES));
}

/* Rule 9 / 23: adding on an unknown event is refused with 0. */
static void
test_rule09_add_on_unknown_event_refused(void **state)
{
	fixture *f = *state;
	tr_rec a = { &f->t, 1, NULL };
	assert_int_equal(ig_engine_on(f->e, IG_EVENT_CORE_COUNT + 5, NULL,
	                     trace_handler, &a),
	    0);
	assert_int_equal(ig_engine_on(f->e, -7, NULL, trace_handler, &a), 0);
	assert_string_not_equal(ig_engine_error(f->e), "");
	/* A list with one bad event adds nothing. */
	const ig_event_spec specs[] = { { E_ST, { 0 } },
		{ IG_EVENT_CORE_COUNT + 5, { 0 } } };
	assert_int_equal(
	    ig_engine_add_handler(f->e, specs, 2, trace_handler, &a), 0);
	assert_false(
	    ig_engine_has_handler(f->e, trace_handler, &a, IG_EVENT_ANY));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST_BARE(
		    test_rule09_order_added_filtered_and_plain_share_list),
		FX_TEST_BARE(test_rule09_list_of_events),
		FX_TEST_BARE(test_rule09_remove_later_handler_during_firing),
		FX_TEST_BARE(test_rule09_remove_self_during_firing),
		FX_TEST_BARE(test_rule09_has_handler),
		FX_TEST_BARE(
		    test_rule09_remove_handler_all_registrations_of_event),
		FX_TEST_BARE(test_rule09_remove_missing_handler_is_error),
		FX_TEST_BARE(test_rule09_add_on_unknown_event_refused),
	};
	return cmocka_run_group_tests_name(
	    "engine_handlers (rule 9)", tests, NULL, NULL);
}
