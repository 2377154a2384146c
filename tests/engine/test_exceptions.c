/*
 * test_exceptions.c - errors from the process function and handlers
 * (rules 14, 15, 16).  range(3), 3 epochs; traces from Ignite v0.5.3.
 */
#include "trace.h"

#include <stdio.h>
#include <string.h>

typedef struct source {
	const char *name;
	int event; /* handler that raises, or -1: the process function */
	int64_t epoch, iteration;
	size_t
	    nseen_without; /* batches processed when the run ends with the error */
	const int64_t
	    *seen_with; /* batches processed when the error is swallowed */
	size_t nseen_with;
	const tr_ev *tail; /* after the failing firing, when swallowed */
	size_t ntail;
} source;

/* Rule 14: when an EXCEPTION_RAISED handler swallows: EXCEPTION_RAISED,
 * EPOCH_COMPLETED, then epoch 3 runs in full on the same iterator (it is not
 * restarted, so it runs out inside epoch 3). */
static const int64_t seen_pf[] = { 0, 1, 2, 0, 2, 0, 1 };
static const int64_t seen_gbs[] = { 0, 1, 2, 0, 1, 2, 0 };
static const int64_t seen_ic[] = { 0, 1, 2, 0, 1, 2, 0, 1 };
#define SEEN(a) a, sizeof(a) / sizeof(a[0])

#define TAIL_AT_5 \
	TR_LIST({ E_EXR, 2, 5 }, { E_EC, 2, 5 }, { E_ES, 3, 5 }, \
	    { E_GBS, 3, 5 }, { E_GBC, 3, 5 }, { E_IS, 3, 6 }, { E_IC, 3, 6 }, \
	    { E_GBS, 3, 6 }, { E_DSI, 3, 6 }, { E_GBC, 3, 6 }, { E_IS, 3, 7 }, \
	    { E_IC, 3, 7 }, { E_GBS, 3, 7 }, { E_GBC, 3, 7 }, { E_IS, 3, 8 }, \
	    { E_IC, 3, 8 }, { E_EC, 3, 8 }, { E_CO, 3, 8 })

static const source sources[] = {
	{ "process function", -1, 2, 5, 4, SEEN(seen_pf), TAIL_AT_5 },
	{ "ITERATION_STARTED", E_IS, 2, 5, 4, SEEN(seen_pf), TAIL_AT_5 },
	{ "ITERATION_COMPLETED", E_IC, 2, 5, 5, SEEN(seen_ic), TAIL_AT_5 },
	{ "GET_BATCH_STARTED", E_GBS, 2, 4, 4, SEEN(seen_gbs),
	    TR_LIST({ E_EXR, 2, 4 }, { E_EC, 2, 4 }, { E_ES, 3, 4 },
	        { E_GBS, 3, 4 }, { E_GBC, 3, 4 }, { E_IS, 3, 5 },
	        { E_IC, 3, 5 }, { E_GBS, 3, 5 }, { E_GBC, 3, 5 },
	        { E_IS, 3, 6 }, { E_IC, 3, 6 }, { E_GBS, 3, 6 },
	        { E_DSI, 3, 6 }, { E_GBC, 3, 6 }, { E_IS, 3, 7 },
	        { E_IC, 3, 7 }, { E_EC, 3, 7 }, { E_CO, 3, 7 }) },
	{ "GET_BATCH_COMPLETED", E_GBC, 2, 4, 4, SEEN(seen_pf),
	    TR_LIST({ E_EXR, 2, 4 }, { E_EC, 2, 4 }, { E_ES, 3, 4 },
	        { E_GBS, 3, 4 }, { E_GBC, 3, 4 }, { E_IS, 3, 5 },
	        { E_IC, 3, 5 }, { E_GBS, 3, 5 }, { E_DSI, 3, 5 },
	        { E_GBC, 3, 5 }, { E_IS, 3, 6 }, { E_IC, 3, 6 },
	        { E_GBS, 3, 6 }, { E_GBC, 3, 6 }, { E_IS, 3, 7 },
	        { E_IC, 3, 7 }, { E_EC, 3, 7 }, { E_CO, 3, 7 }) },
};

static int
check_error_visible(ig_engine *e, int event, void *ud)
{
	(void)event;
	char *buf = ud;
	snprintf(buf, 128, "%s", ig_engine_error(e));
	return 0;
}

static ig_engine *
setup_source(const source *s, proc_rec *rec, trace *t, action *a)
{
	ig_engine *e = new_engine(rec);
	assert_true(trace_record(e, t, TR_ALL_BUT_EXCEPTION));
	if (s->event < 0) {
		rec->fail_at = s->iteration;
	} else {
		*a = (action){ ACT_RAISE, s->event, s->epoch, s->iteration, 0,
			0 };
		action_attach(e, a);
	}
	return e;
}

/* The plain range(3) x 3 run up to and including the failing firing. */
static void
plain_until(trace *exp, int event, int64_t epoch, int64_t iteration)
{
	trace plain;
	trace_init(&plain);
	tb_run(&plain, 3, 3, true);
	tb_slice(
	    exp, &plain, 0, trace_find(&plain, event, epoch, iteration) + 1);
	trace_free(&plain);
}

static void
test_rule14_swallowed_by_exception_raised_handler(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(sources) / sizeof(sources[0]); c++) {
		const source *s = &sources[c];
		print_message("error from %s at (%lld,%lld)\n", s->name,
		    (long long)s->epoch, (long long)s->iteration);
		proc_rec rec;
		trace t, exp;
		trace_init(&t);
		trace_init(&exp);
		action a;
		ig_engine *e = setup_source(s, &rec, &t, &a);
		char msg[128] = "";
		assert_true(trace_record_event(e, &t, E_EXR, NULL, 0) != 0);
		assert_true(ig_engine_on(
		                e, E_EXR, NULL, check_error_visible, msg) != 0);
		ig_data *d = ig_data_range(3);
		ig_run_args args = run_args(3, IG_NONE, IG_NONE);
		RUN_OK(e, d, &args);

		plain_until(&exp, s->event < 0 ? E_IS : s->event, s->epoch,
		    s->iteration);
		tb_append(&exp, s->tail, s->ntail);
		TRACE_EQ_T(&t, &exp);
		assert_seen(
		    &rec, s->seen_with, s->nseen_with, __FILE__, __LINE__);
		assert_non_null(
		    strstr(msg, s->event < 0 ? "boom" : "handler raised"));
		ig_engine_free(e);
		ig_data_free(d);
		trace_free(&t);
		trace_free(&exp);
	}
}

/* Rule 14: with no EXCEPTION_RAISED handler the run ends with the error. */
static void
test_rule14_unhandled_ends_run(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(sources) / sizeof(sources[0]); c++) {
		const source *s = &sources[c];
		proc_rec rec;
		trace t, exp;
		trace_init(&t);
		trace_init(&exp);
		action a;
		ig_engine *e = setup_source(s, &rec, &t, &a);
		ig_data *d = ig_data_range(3);
		ig_run_args args = run_args(3, IG_NONE, IG_NONE);
		assert_int_equal(ig_engine_run(e, d, &args), IG_ERUN);
		assert_int_equal(ig_engine_status(e), IG_RUN_FAILED);
		assert_non_null(strstr(ig_engine_error(e),
		    s->event < 0 ? "boom" : "handler raised"));
		plain_until(&exp, s->event < 0 ? E_IS : s->event, s->epoch,
		    s->iteration);
		TRACE_EQ_T(&t, &exp);
		assert_int_equal(rec.nseen, s->nseen_without);
		ig_engine_free(e);
		ig_data_free(d);
		trace_free(&t);
		trace_free(&exp);
	}
}

/* Rule 14 (we differ): the decision is by the handlers attached now; one
 * attached then removed does not swallow. */
static void
test_rule14_removed_exception_handler_does_not_swallow(void **state)
{
	fixture *f = *state;
	f->rec.fail_at = 2;
	ig_handle h = trace_record_event(f->e, &f->t, E_EXR, NULL, 9);
	assert_true(h != 0);
	assert_int_equal(ig_engine_remove_handle(f->e, h), 0);
	f->d = ig_data_range(3);
	assert_int_equal(ig_engine_run(f->e, f->d, NULL), IG_ERUN);
	assert_int_equal(f->t.v[f->t.n - 1].event, E_IS);
}

/* Rule 15: an error from a STARTED/EPOCH_STARTED/EPOCH_COMPLETED/COMPLETED
 * handler ends the run; EXCEPTION_RAISED handlers get it and, swallowing
 * it, the run returns without COMPLETED. */
static void
test_rule15_error_in_run_level_handler(void **state)
{
	(void)state;
	static const struct {
		int event;
		int64_t epoch, iteration;
	} pts[] = {
		{ E_ST, 0, 0 },
		{ E_ES, 2, 3 },
		{ E_EC, 2, 6 },
		{ E_CO, 3, 9 },
	};
	for (size_t c = 0; c < sizeof(pts) / sizeof(pts[0]); c++) {
		for (int with = 0; with <= 1; with++) {
			proc_rec rec;
			trace t, exp;
			trace_init(&t);
			trace_init(&exp);
			ig_engine *e = new_engine(&rec);
			assert_true(trace_record(e, &t, TR_ALL_BUT_EXCEPTION));
			action a = { ACT_RAISE, pts[c].event, pts[c].epoch, -1,
				0, 0 };
			action_attach(e, &a);
			if (with)
				assert_true(trace_record_event(
				                e, &t, E_EXR, NULL, 0) != 0);
			ig_data *d = ig_data_range(3);
			ig_run_args args = run_args(3, IG_NONE, IG_NONE);
			int rc = ig_engine_run(e, d, &args);
			plain_until(
			    &exp, pts[c].event, pts[c].epoch, pts[c].iteration);
			if (with) {
				assert_int_equal(rc, 0);
				trace_push(&exp, E_EXR, pts[c].epoch,
				    pts[c].iteration);
			} else {
				assert_int_equal(rc, IG_ERUN);
				assert_int_equal(
				    ig_engine_status(e), IG_RUN_FAILED);
			}
			TRACE_EQ_T(&t, &exp);
			ig_engine_free(e);
			ig_data_free(d);
			trace_free(&t);
			trace_free(&exp);
		}
	}
}

/* Rule 16 (we differ) with rule 18: after an error at EPOCH_COMPLETED(2,6)
 * the next run resumes at once: STARTED(2,6), then epoch 3. */
static void
test_rule16_rerun_after_error_at_epoch_completed(void **state)
{
	fixture *f = *state;
	action a = { ACT_RAISE, E_EC, 2, -1, 0, 0 };
	action_attach(f->e, &a);
	f->d = ig_data_range(3);
	ig_run_args args = run_args(3, IG_NONE, IG_NONE);
	assert_int_equal(ig_engine_run(f->e, f->d, &args), IG_ERUN);
	trace_reset(&f->t);
	RUN_OK(f->e, f->d, NULL);
	trace exp;
	trace_init(&exp);
	trace_push(&exp, E_ST, 2, 6);
	tb_epoch(&exp, 3, 7, 9, true, false);
	trace_push(&exp, E_CO, 3, 9);
	TRACE_EQ_T(&f->t, &exp);
	trace_free(&exp);
	ASSERT_SEEN(&f->rec, 0, 1, 2, 0, 1, 2, 0, 1, 2);
}

/* Rule 16 with rule 18: after the process function failed at iteration 5
 * (epoch 2), the next run fires STARTED at (2,5), as the error left it;
 * the next epoch, 3, runs only the iterations epoch 2 had left
 * (3 - 5 % 3 = 1), and the run is done: Ignite 0.5.3's trace. */
static void
test_rule16_rerun_after_process_error(void **state)
{
	fixture *f = *state;
	f->rec.fail_at = 5;
	f->d = ig_data_range(3);
	ig_run_args args = run_args(3, IG_NONE, IG_NONE);
	assert_int_equal(ig_engine_run(f->e, f->d, &args), IG_ERUN);
	f->rec.fail_at = 0;
	trace_reset(&f->t);
	RUN_OK(f->e, f->d, NULL);
	static const tr_ev exp[] = {
		{ E_ST, 2, 5 },
		{ E_ES, 3, 5 },
		{ E_GBS, 3, 5 },
		{ E_GBC, 3, 5 },
		{ E_IS, 3, 6 },
		{ E_IC, 3, 6 },
		{ E_EC, 3, 6 },
		{ E_CO, 3, 6 },
	};
	TRACE_EQ(&f->t, exp);
}

struct reraise {
	int calls;
	int swallow_at; /* the call that swallows, or 0: all re-raise */
};

static int
reraise(ig_engine *e, int event, void *ud)
{
	struct reraise *r = ud;

	(void)event;
	if (++r->calls == r->swallow_at)
		return 0;
	return ig_engine_raise(e, "again: %s", ig_engine_error(e));
}

/* Rule 14 with 15: an EXCEPTION_RAISED handler that re-raises an error of
 * the iterations is called a second time by the run's own handling (Ignite's
 * two _handle_exception); re-raised again, the run ends with it, swallowed
 * the second time, the run returns without COMPLETED. */
static void
test_rule14_reraised_goes_to_the_run(void **state)
{
	fixture *f = *state;
	struct reraise r = { 0, 0 };
	f->rec.fail_at = 2;
	f->d = ig_data_range(3);
	assert_true(ig_engine_on(f->e, E_EXR, NULL, reraise, &r) != 0);
	ig_run_args args = run_args(2, IG_NONE, IG_NONE);
	assert_int_equal(ig_engine_run(f->e, f->d, &args), IG_ERUN);
	assert_int_equal(r.calls, 2);
	assert_non_null(strstr(ig_engine_error(f->e), "again: again: "));

	ig_engine *e = new_engine(&f->rec);
	trace t;
	trace_init(&t);
	assert_true(trace_record(e, &t, TR_ALL_BUT_EXCEPTION));
	r = (struct reraise){ 0, 2 };
	f->rec.fail_at = 2;
	assert_true(ig_engine_on(e, E_EXR, NULL, reraise, &r) != 0);
	assert_int_equal(ig_engine_run(e, f->d, &args), 0);
	assert_int_equal(r.calls, 2);
	assert_int_equal(
	    t.v[t.n - 1].event, E_IS); /* no EPOCH_COMPLETED, no COMPLETED */
	ig_engine_free(e);
	trace_free(&t);
}

static void
on_warning(ig_engine *e, const char *message, void *ud)
{
	(void)e;
	snprintf(ud, 256, "%s", message);
}

/* A one-shot source of unknown length run for 3 epochs gives empty epochs
 * after the first (rule 4); Ignite warns that the data ran out before the
 * run's total, and so do we, through the warning callback. */
static void
test_rule04_warning_when_data_runs_out(void **state)
{
	fixture *f = *state;
	char msg[256] = "";
	f->d = ig_data_iterator(index_batches(3), 3, false);
	ig_engine_on_warning(f->e, on_warning, msg);
	ig_run_args args = run_args(3, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &args);
	assert_non_null(strstr(msg, "cannot provide more batches"));
	assert_non_null(strstr(msg, "iteration 3 of 9"));
}

/* The case: range(4), max_epochs 2, a failure at iteration 3, run
 * again: STARTED (1,3), then only iteration 4, in epoch 2. */
static void
test_rule18_rerun_after_error_in_first_epoch(void **state)
{
	fixture *f = *state;
	f->rec.fail_at = 3;
	f->d = ig_data_range(4);
	ig_run_args args = run_args(2, IG_NONE, IG_NONE);
	assert_int_equal(ig_engine_run(f->e, f->d, &args), IG_ERUN);
	f->rec.fail_at = 0;
	trace_reset(&f->t);
	RUN_OK(f->e, f->d, NULL);
	static const tr_ev exp[] = {
		{ E_ST, 1, 3 },
		{ E_ES, 2, 3 },
		{ E_GBS, 2, 3 },
		{ E_GBC, 2, 3 },
		{ E_IS, 2, 4 },
		{ E_IC, 2, 4 },
		{ E_EC, 2, 4 },
		{ E_CO, 2, 4 },
	};
	TRACE_EQ(&f->t, exp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_rule14_swallowed_by_exception_raised_handler),
		cmocka_unit_test(test_rule14_unhandled_ends_run),
		FX_TEST(test_rule14_removed_exception_handler_does_not_swallow),
		cmocka_unit_test(test_rule15_error_in_run_level_handler),
		FX_TEST(test_rule16_rerun_after_error_at_epoch_completed),
		FX_TEST(test_rule16_rerun_after_process_error),
		FX_TEST(test_rule18_rerun_after_error_in_first_epoch),
		FX_TEST(test_rule14_reraised_goes_to_the_run),
		FX_TEST(test_rule04_warning_when_data_runs_out),
	};
	return cmocka_run_group_tests_name(
	    "engine_exceptions (rules 14-16)", tests, NULL, NULL);
}
