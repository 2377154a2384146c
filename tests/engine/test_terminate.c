/*
 * test_terminate.c - terminate and terminate_epoch (rules 10, 11, 12).
 *
 * Every case runs range(3) for 3 epochs and acts in a handler of one event at
 * one (epoch, iteration).  The expected trace is the plain run up to and
 * including that firing, then the tail Ignite v0.5.3 gives.
 */
#include "trace.h"

typedef struct point {
	int event;
	int64_t epoch, iteration;
	int calls; /* process function calls in the whole run */
	int64_t
	    iter_counter; /* terminate_epoch: what TERMINATE_SINGLE_EPOCH learns */
} point;

/* The plain run's trace up to and including the first firing at p. */
static void
plain_until(trace *exp, const point *p)
{
	trace plain;
	trace_init(&plain);
	tb_run(&plain, 3, 3, true);
	tb_slice(exp, &plain, 0,
	    trace_find(&plain, p->event, p->epoch, p->iteration) + 1);
	trace_free(&plain);
}

static ig_engine *
run_with_action(proc_rec *rec, trace *t, ig_data *d, action *a, int *rc)
{
	ig_engine *e = new_engine(rec);
	assert_true(trace_record(e, t, TR_ALL_BUT_EXCEPTION));
	action_attach(e, a);
	ig_run_args args = run_args(3, IG_NONE, IG_NONE);
	*rc = ig_engine_run(e, d, &args);
	return e;
}

/* Rules 10, 11: terminate() from every event that checks the flag: TERMINATE
 * then COMPLETED (or not, with skip), EPOCH_COMPLETED not fired for the cut
 * epoch, the flag is only checked after the event's handlers; at
 * ITERATION_STARTED the process function is skipped but the iteration counts. */
static const point terminate_points[] = {
	{ E_ST, 0, 0, 0, 0 },
	{ E_ES, 2, 3, 3, 0 },
	{ E_DSI, 2, 3, 3, 0 },
	{ E_GBS, 2, 4, 4, 0 },
	{ E_GBC, 2, 4, 4, 0 },
	{ E_IS, 2, 5, 4, 0 },
	{ E_IC, 2, 5, 5, 0 },
	{ E_EC, 2, 6, 6, 0 },
	{ E_EC, 3, 9, 9, 0 },
};

static void
test_rule10_11_terminate_from_each_event(void **state)
{
	(void)state;
	for (size_t c = 0;
	     c < sizeof(terminate_points) / sizeof(terminate_points[0]); c++) {
		for (int skip = 0; skip <= 1; skip++) {
			const point *p = &terminate_points[c];
			print_message("terminate%s at %s(%lld,%lld)\n",
			    skip ? "(skip_completed)" : "",
			    tr_event_name(p->event), (long long)p->epoch,
			    (long long)p->iteration);
			proc_rec rec;
			trace t, exp;
			trace_init(&t);
			trace_init(&exp);
			ig_data *d = ig_data_range(3);
			action a = { skip ? ACT_TERMINATE_SKIP : ACT_TERMINATE,
				p->event, p->epoch,
				p->event == E_ST ? -1 : p->iteration, 0, 0 };
			int rc;
			ig_engine *e = run_with_action(&rec, &t, d, &a, &rc);
			assert_int_equal(rc, 0);
			plain_until(&exp, p);
			trace_push(&exp, E_TRM, p->epoch, p->iteration);
			if (!skip)
				trace_push(&exp, E_CO, p->epoch, p->iteration);
			TRACE_EQ_T(&t, &exp);
			assert_int_equal(rec.calls, p->calls);
			assert_true(ig_engine_terminated(e));
			assert_int_equal(ig_engine_status(e), IG_RUN_DONE);
			assert_int_equal(ig_engine_state(e)->epoch, p->epoch);
			assert_int_equal(
			    ig_engine_state(e)->iteration, p->iteration);
			ig_engine_free(e);
			ig_data_free(d);
			trace_free(&t);
			trace_free(&exp);
		}
	}
}

/* Rules 10, 12: terminate_epoch() during the iterations: TERMINATE_SINGLE_EPOCH
 * (learning the iterations the epoch had done), EPOCH_COMPLETED unless
 * skipped, then the next epoch runs in full on a restarted iterator (no
 * DATALOADER_STOP_ITERATION), so the run ends below 9 iterations. */
static const point terminate_epoch_points[] = {
	{ E_DSI, 2, 3, 6, 0 },
	{ E_GBS, 2, 4, 7, 1 },
	{ E_GBC, 2, 4, 7, 1 },
	{ E_IS, 2, 5, 7, 2 },
	{ E_IC, 2, 5, 8, 2 },
};

static int
record_iter_counter(ig_engine *e, int event, void *ud)
{
	(void)event;
	*(int64_t *)ud = ig_engine_iter_counter(e);
	return 0;
}

static void
test_rule10_12_terminate_epoch_during_iterations(void **state)
{
	(void)state;
	for (size_t c = 0; c <
	     sizeof(terminate_epoch_points) / sizeof(terminate_epoch_points[0]);
	     c++) {
		for (int skip = 0; skip <= 1; skip++) {
			const point *p = &terminate_epoch_points[c];
			print_message("terminate_epoch%s at %s(%lld,%lld)\n",
			    skip ? "(skip)" : "", tr_event_name(p->event),
			    (long long)p->epoch, (long long)p->iteration);
			proc_rec rec;
			trace t, exp;
			trace_init(&t);
			trace_init(&exp);
			ig_data *d = ig_data_range(3);
			action a = { skip ? ACT_TERMINATE_EPOCH_SKIP :
				            ACT_TERMINATE_EPOCH,
				p->event, p->epoch, p->iteration, 0, 0 };
			ig_engine *e = new_engine(&rec);
			assert_true(trace_record(e, &t, TR_ALL_BUT_EXCEPTION));
			action_attach(e, &a);
			int64_t counter = -1;
			assert_true(ig_engine_on(e, E_TSE, NULL,
			                record_iter_counter, &counter) != 0);
			ig_run_args args = run_args(3, IG_NONE, IG_NONE);
			assert_int_equal(ig_engine_run(e, d, &args), 0);

			int64_t i = p->iteration;
			plain_until(&exp, p);
			trace_push(&exp, E_TSE, 2, i);
			if (!skip)
				trace_push(&exp, E_EC, 2, i);
			tb_epoch(&exp, 3, i + 1, i + 3, true, false);
			trace_push(&exp, E_CO, 3, i + 3);
			TRACE_EQ_T(&t, &exp);
			assert_int_equal(counter, p->iter_counter);
			assert_int_equal(rec.calls, p->calls);
			assert_false(ig_engine_terminated(e));
			/* The restarted iterator gives epoch 3 items 0, 1, 2. */
			assert_int_equal(rec.seen[rec.nseen - 3], 0);
			assert_int_equal(rec.seen[rec.nseen - 1], 2);
			ig_engine_free(e);
			ig_data_free(d);
			trace_free(&t);
			trace_free(&exp);
		}
	}
}

/* Rule 12: terminate_epoch at EPOCH_COMPLETED has no effect. */
static void
test_rule12_terminate_epoch_at_epoch_completed_no_effect(void **state)
{
	(void)state;
	for (int64_t ep = 2; ep <= 3; ep++) {
		for (int skip = 0; skip <= 1; skip++) {
			proc_rec rec;
			trace t, exp;
			trace_init(&t);
			trace_init(&exp);
			ig_data *d = ig_data_range(3);
			action a = { skip ? ACT_TERMINATE_EPOCH_SKIP :
				            ACT_TERMINATE_EPOCH,
				E_EC, ep, -1, 0, 0 };
			int rc;
			ig_engine *e = run_with_action(&rec, &t, d, &a, &rc);
			assert_int_equal(rc, 0);
			assert_int_equal(a.done, 1);
			tb_run(&exp, 3, 3, true);
			TRACE_EQ_T(&t, &exp);
			ig_engine_free(e);
			ig_data_free(d);
			trace_free(&t);
			trace_free(&exp);
		}
	}
}

/* Rule 12: terminate_epoch at STARTED or EPOCH_STARTED is an error that
 * ends the run without COMPLETED. */
static void
test_rule12_terminate_epoch_at_started_is_error(void **state)
{
	(void)state;
	static const point points[] = { { E_ST, 0, 0, 0, 0 },
		{ E_ES, 2, 3, 3, 0 } };
	for (size_t c = 0; c < 2; c++) {
		const point *p = &points[c];
		proc_rec rec;
		trace t, exp;
		trace_init(&t);
		trace_init(&exp);
		ig_data *d = ig_data_range(3);
		action a = { ACT_TERMINATE_EPOCH, p->event, p->epoch, -1, 0,
			0 };
		int rc;
		ig_engine *e = run_with_action(&rec, &t, d, &a, &rc);
		assert_int_equal(rc, IG_ERUN);
		assert_int_equal(ig_engine_status(e), IG_RUN_FAILED);
		assert_string_not_equal(ig_engine_error(e), "");
		plain_until(&exp, p);
		TRACE_EQ_T(&t, &exp);
		assert_int_equal(rec.calls, p->calls);
		ig_engine_free(e);
		ig_data_free(d);
		trace_free(&t);
		trace_free(&exp);
	}
}

/* Rule 10: the flag is checked only after all handlers of the event ran:
 * a handler added after the one calling terminate still runs. */
static void
test_rule10_flag_checked_after_all_handlers(void **state)
{
	fixture *f = *state;
	action a = { ACT_TERMINATE, E_IC, 1, 2, 0, 0 };
	action_attach(f->e, &a);
	assert_true(trace_record_event(f->e, &f->t, E_IC, NULL, 7) != 0);
	f->d = ig_data_range(3);
	RUN_OK(f->e, f->d, NULL);
	static const tr_ev exp[] = {
		{ E_ST, 0, 0 },
		{ E_ES, 1, 0 },
		{ E_GBS, 1, 0 },
		{ E_GBC, 1, 0 },
		{ E_IS, 1, 1 },
		{ E_IC, 1, 1 },
		{ TG(7, E_IC), 1, 1 },
		{ E_GBS, 1, 1 },
		{ E_GBC, 1, 1 },
		{ E_IS, 1, 2 },
		{ E_IC, 1, 2 },
		{ TG(7, E_IC), 1, 2 },
		{ E_TRM, 1, 2 },
		{ E_CO, 1, 2 },
	};
	TRACE_EQ(&f->t, exp);
}

/* Rules 11, 18: terminate from outside a handler between steps (the daemon's
 * terminate request) behaves as at the next check point. */
static void
test_rule11_terminate_between_steps(void **state)
{
	fixture *f = *state;
	f->d = ig_data_range(3);
	ig_run_args a = run_args(2, IG_NONE, IG_NONE);
	assert_int_equal(ig_engine_start(f->e, f->d, &a), 0);
	assert_int_equal(ig_engine_step(f->e, 2), IG_RUN_YIELD);
	assert_int_equal(ig_engine_state(f->e)->iteration, 2);
	ig_engine_terminate(f->e, false);
	assert_int_equal(ig_engine_step(f->e, 0), IG_RUN_DONE);
	assert_true(ig_engine_terminated(f->e));
	assert_int_equal(f->rec.calls, 2);
	assert_int_equal(f->t.v[f->t.n - 2].event, E_TRM);
	assert_int_equal(f->t.v[f->t.n - 1].event, E_CO);
	assert_int_equal(f->t.v[f->t.n - 1].iteration, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule10_11_terminate_from_each_event),
		cmocka_unit_test(
		    test_rule10_12_terminate_epoch_during_iterations),
		cmocka_unit_test(
		    test_rule12_terminate_epoch_at_epoch_completed_no_effect),
		cmocka_unit_test(
		    test_rule12_terminate_epoch_at_started_is_error),
		FX_TEST(test_rule10_flag_checked_after_all_handlers),
		FX_TEST(test_rule11_terminate_between_steps),
	};
	return cmocka_run_group_tests_name(
	    "engine_terminate (rules 10-12)", tests, NULL, NULL);
}
