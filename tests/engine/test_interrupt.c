/*
 * test_interrupt.c - interrupt() and continuing (rule 13).
 *
 * range(3), 2 epochs, interrupt at one firing.  Ignite v0.5.3 gives: the
 * first run is the plain run up to that firing, then INTERRUPT; the next run
 * is the rest of the plain run, without STARTED, at the same data position.
 */
#include "trace.h"

typedef struct point {
	int event;
	int64_t epoch, iteration;
} point;

static const point points[] = {
	{ E_ST, 0, 0 }, { E_ES, 1, 0 }, { E_ES, 2, 3 }, { E_GBS, 1, 1 },
	{ E_GBC, 1, 1 }, { E_IS, 1, 2 }, { E_IC, 1, 2 },
	{ E_IC, 1, 3 }, /* last iteration of an epoch */
	{ E_EC, 1, 3 },
	{ E_EC, 2, 6 }, /* last epoch: the state looks finished */
};

static void
test_rule13_interrupt_and_continue(void **state)
{
	(void)state;
	trace plain;
	trace_init(&plain);
	tb_run(&plain, 2, 3, true);
	for (size_t c = 0; c < sizeof(points) / sizeof(points[0]); c++) {
		const point *p = &points[c];
		print_message("interrupt at %s(%lld,%lld)\n",
		    tr_event_name(p->event), (long long)p->epoch,
		    (long long)p->iteration);
		proc_rec rec;
		trace t, exp;
		trace_init(&t);
		trace_init(&exp);
		ig_data *d = ig_data_range(3);
		ig_engine *e = new_engine(&rec);
		assert_true(trace_record(e, &t, TR_ALL_BUT_EXCEPTION));
		action a = { ACT_INTERRUPT, p->event, p->epoch, p->iteration, 0,
			0 };
		action_attach(e, &a);
		ig_run_args args = run_args(2, IG_NONE, IG_NONE);
		size_t k =
		    trace_find(&plain, p->event, p->epoch, p->iteration) + 1;

		RUN_OK(e, d, &args);
		assert_int_equal(ig_engine_status(e), IG_RUN_SUSPENDED);
		tb_slice(&exp, &plain, 0, k);
		trace_push(&exp, E_INT, p->epoch, p->iteration);
		TRACE_EQ_T(&t, &exp);

		trace_reset(&t);
		trace_reset(&exp);
		RUN_OK(e, d, NULL);
		tb_slice(&exp, &plain, k, plain.n);
		TRACE_EQ_T(&t, &exp);
		ASSERT_SEEN(&rec, 0, 1, 2, 0, 1, 2);
		assert_int_equal(ig_engine_status(e), IG_RUN_DONE);

		ig_engine_free(e);
		ig_data_free(d);
		trace_free(&t);
		trace_free(&exp);
	}
	trace_free(&plain);
}

/* Rule 13: continuing ignores arguments that would make the run look
 * finished or fresh: a suspended run goes on even with the same max_epochs. */
static void
test_rule13_interrupt_twice_then_continue(void **state)
{
	fixture *f = *state;
	action a = { ACT_INTERRUPT, E_IC, -1, -1, 2, 0 };
	a.times = 2;
	action_attach(f->e, &a);
	f->d = ig_data_range(3);
	ig_run_args args = run_args(1, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &args);
	RUN_OK(f->e, f->d, &args);
	RUN_OK(f->e, f->d, &args);
	static const tr_ev exp[] = {
		{ E_ST, 0, 0 },
		{ E_ES, 1, 0 },
		{ E_GBS, 1, 0 },
		{ E_GBC, 1, 0 },
		{ E_IS, 1, 1 },
		{ E_IC, 1, 1 },
		{ E_INT, 1, 1 },
		{ E_GBS, 1, 1 },
		{ E_GBC, 1, 1 },
		{ E_IS, 1, 2 },
		{ E_IC, 1, 2 },
		{ E_INT, 1, 2 },
		{ E_GBS, 1, 2 },
		{ E_GBC, 1, 2 },
		{ E_IS, 1, 3 },
		{ E_IC, 1, 3 },
		{ E_EC, 1, 3 },
		{ E_CO, 1, 3 },
	};
	TRACE_EQ(&f->t, exp);
	ASSERT_SEEN(&f->rec, 0, 1, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule13_interrupt_and_continue),
		FX_TEST(test_rule13_interrupt_twice_then_continue),
	};
	return cmocka_run_group_tests_name(
	    "engine_interrupt (rule 13)", tests, NULL, NULL);
}
