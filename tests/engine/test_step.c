/*
 * test_step.c - the step function and asynchronous process functions (the
 * run of rules 1 and 13 driven in slices).
 */
#include "trace.h"

#include <string.h>

/* Stepping with a budget yields IG_RUN_YIELD and gives the same trace as
 * one run; each step completes at most the budget's iterations. */
static void
test_rule01_step_budget_same_trace(void **state)
{
	fixture *f = *state;
	static const uint64_t budgets[] = { 1, 2, 4, 7 };
	trace exp;
	trace_init(&exp);
	tb_run(&exp, 3, 5, true);
	f->d = ig_data_range(5);
	for (size_t b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
		trace_reset(&f->t);
		ig_run_args a = run_args(3, IG_NONE, IG_NONE);
		assert_int_equal(ig_engine_start(f->e, f->d, &a), 0);
		assert_int_equal(
		    f->t.n, 0); /* nothing fires before the first step */
		ig_run_status st;
		int64_t last = 0;
		int yields = 0;
		while (
		    (st = ig_engine_step(f->e, budgets[b])) == IG_RUN_YIELD) {
			int64_t it = ig_engine_state(f->e)->iteration;
			if (it - last > (int64_t)budgets[b] || it < last)
				fail_msg(
				    "budget %llu: step went from iteration %lld to %lld",
				    (unsigned long long)budgets[b],
				    (long long)last, (long long)it);
			last = it;
			yields++;
		}
		assert_int_equal(st, IG_RUN_DONE);
		assert_true(yields >= (int)((15 - 1) / budgets[b]));
		TRACE_EQ_T(&f->t, &exp);
	}
	trace_free(&exp);
}

/* Rule 13 through step: interrupt makes step return IG_RUN_SUSPENDED. */
static void
test_rule13_step_suspended(void **state)
{
	fixture *f = *state;
	action a = { ACT_INTERRUPT, E_IC, 1, 2, 0, 0 };
	action_attach(f->e, &a);
	f->d = ig_data_range(3);
	assert_int_equal(ig_engine_start(f->e, f->d, NULL), 0);
	assert_int_equal(ig_engine_step(f->e, 0), IG_RUN_SUSPENDED);
	assert_int_equal(ig_engine_status(f->e), IG_RUN_SUSPENDED);
	assert_int_equal(ig_engine_start(f->e, f->d, NULL), 0);
	assert_int_equal(ig_engine_step(f->e, 0), IG_RUN_DONE);
	trace exp;
	trace_init(&exp);
	tb_run(&exp, 1, 3, true);
	/* The INTERRUPT sits after ITERATION_COMPLETED(1,2). */
	trace_only(&exp, &exp, E_INT);
	assert_int_equal(f->t.n, exp.n + 1);
	trace_free(&exp);
}

/* An asynchronous process function: IG_PROCESS_PENDING makes step return
 * IG_RUN_WAITING; ig_engine_complete delivers the output and the run goes on
 * with the same trace as a synchronous one. */
typedef struct async_proc {
	int pending;
	int64_t last_index;
	ig_field field;
	ig_output out;
} async_proc;

static int
proc_async(ig_engine *e, const ig_batch *b, const ig_output **out, void *ud)
{
	(void)e, (void)out;
	async_proc *p = ud;
	p->pending++;
	p->last_index = b->index;
	return IG_PROCESS_PENDING;
}

static int
check_output(ig_engine *e, int event, void *ud)
{
	(void)event;
	int *bad = ud;
	const ig_output *o = ig_engine_state(e)->output;
	const ig_field *x = o ? ig_output_field(o, "x") : NULL;
	*bad += x == NULL ||
	    x->value != (double)ig_engine_state(e)->batch->index * 10;
	return 0;
}

static void
test_rule01_async_process_function(void **state)
{
	(void)state;
	async_proc p = { 0, -1, { 0 }, { 0 } };
	ig_engine *e = ig_engine_new(proc_async, &p);
	trace t, exp;
	trace_init(&t);
	trace_init(&exp);
	assert_true(trace_record(e, &t, TR_ALL_BUT_EXCEPTION));
	int bad = 0;
	assert_true(ig_engine_on(e, E_IC, NULL, check_output, &bad) != 0);
	ig_data *d = ig_data_range(3);
	ig_run_args a = run_args(2, IG_NONE, IG_NONE);
	assert_int_equal(ig_engine_start(e, d, &a), 0);
	int waits = 0;
	ig_run_status st;
	while ((st = ig_engine_step(e, 0)) == IG_RUN_WAITING) {
		waits++;
		assert_int_equal(ig_engine_status(e), IG_RUN_WAITING);
		/* Nothing moves while waiting. */
		size_t n = t.n;
		assert_int_equal(ig_engine_step(e, 0), IG_RUN_WAITING);
		assert_int_equal(t.n, n);
		assert_int_equal(t.v[t.n - 1].event, E_IS);
		p.field = (ig_field){ .name = "x",
			.value = (double)p.last_index * 10 };
		p.out = (ig_output){ &p.field, 1 };
		assert_int_equal(ig_engine_complete(e, &p.out, NULL), 0);
	}
	assert_int_equal(st, IG_RUN_DONE);
	assert_int_equal(waits, 6);
	assert_int_equal(bad, 0);
	tb_run(&exp, 2, 3, true);
	TRACE_EQ_T(&t, &exp);

	/* A failure delivered through complete ends the run (no EXCEPTION_RAISED
	 * handler: rule 14). */
	assert_int_equal(ig_engine_start(e, d, &a), 0);
	assert_int_equal(ig_engine_step(e, 0), IG_RUN_WAITING);
	assert_int_equal(ig_engine_complete(e, NULL, "worker died"), 0);
	assert_int_equal(ig_engine_step(e, 0), IG_RUN_FAILED);
	assert_non_null(strstr(ig_engine_error(e), "worker died"));
	/* complete when nothing is pending is refused. */
	assert_true(ig_engine_complete(e, NULL, NULL) < 0);

	ig_engine_free(e);
	ig_data_free(d);
	trace_free(&t);
	trace_free(&exp);
}

static int
ask_yield(ig_engine *e, int event, void *ud)
{
	(void)event, (void)ud;
	ig_engine_yield(e);
	return 0;
}

/* ig_engine_yield from a handler ends the step at the next clean point
 * (right after the iteration, or after EPOCH_COMPLETED for an epoch's last
 * one), whatever the budget, fires nothing and leaves the trace as it is. */
static void
test_yield_at_next_clean_point(void **state)
{
	fixture *f = *state;
	static const int64_t three = 3, five = 5;
	ig_filter at3 = { .once = &three, .nonce = 1 };
	ig_filter at5 = { .once = &five, .nonce = 1 };
	trace exp;

	assert_true(ig_engine_on(f->e, E_IC, &at3, ask_yield, NULL) != 0);
	assert_true(ig_engine_on(f->e, E_IC, &at5, ask_yield, NULL) != 0);
	f->d = ig_data_range(5);
	ig_run_args a = run_args(2, IG_NONE, IG_NONE);
	assert_int_equal(ig_engine_start(f->e, f->d, &a), 0);
	assert_int_equal(ig_engine_step(f->e, 0), IG_RUN_YIELD);
	assert_int_equal(ig_engine_state(f->e)->iteration, 3);
	assert_true(ig_engine_clean(f->e));
	/* iteration 5 ends epoch 1: the step goes on through EPOCH_COMPLETED */
	assert_int_equal(ig_engine_step(f->e, 0), IG_RUN_YIELD);
	assert_int_equal(ig_engine_state(f->e)->iteration, 5);
	assert_true(ig_engine_clean(f->e));
	assert_int_equal(f->t.v[f->t.n - 1].event, E_EC);
	assert_int_equal(ig_engine_step(f->e, 0), IG_RUN_DONE);
	trace_init(&exp);
	tb_run(&exp, 2, 5, true);
	TRACE_EQ_T(&f->t, &exp);
	trace_free(&exp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_rule01_step_budget_same_trace),
		FX_TEST(test_rule13_step_suspended),
		FX_TEST(test_yield_at_next_clean_point),
		cmocka_unit_test(test_rule01_async_process_function),
	};
	return cmocka_run_group_tests_name("engine_step", tests, NULL, NULL);
}
