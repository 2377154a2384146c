/*
 * test_runloop.c - the run loop's event order (rules 1-3).
 *
 * Expected traces were recorded from Ignite v0.5.3 running the same
 * scenario (Engine.run with a recorder on every event).
 */
#include "trace.h"

/* Rule 1 (and rule 2's restart at the start of epoch 2): range(2), 2 epochs. */
static void
test_rule01_plain_run_event_order(void **state)
{
	fixture *f = *state;
	f->d = ig_data_range(2);
	ig_run_args a = run_args(2, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	static const tr_ev exp[] = {
		{ E_ST, 0, 0 },
		{ E_ES, 1, 0 },
		{ E_GBS, 1, 0 },
		{ E_GBC, 1, 0 },
		{ E_IS, 1, 1 },
		{ E_IC, 1, 1 },
		{ E_GBS, 1, 1 },
		{ E_GBC, 1, 1 },
		{ E_IS, 1, 2 },
		{ E_IC, 1, 2 },
		{ E_EC, 1, 2 },
		{ E_ES, 2, 2 },
		{ E_GBS, 2, 2 },
		{ E_DSI, 2, 2 },
		{ E_GBC, 2, 2 },
		{ E_IS, 2, 3 },
		{ E_IC, 2, 3 },
		{ E_GBS, 2, 3 },
		{ E_GBC, 2, 3 },
		{ E_IS, 2, 4 },
		{ E_IC, 2, 4 },
		{ E_EC, 2, 4 },
		{ E_CO, 2, 4 },
	};
	TRACE_EQ(&f->t, exp);
	ASSERT_SEEN(&f->rec, 0, 1, 0, 1);
	const ig_state *s = ig_engine_state(f->e);
	assert_int_equal(s->epoch, 2);
	assert_int_equal(s->iteration, 4);
	assert_int_equal(s->epoch_length, 2);
	assert_int_equal(s->max_epochs, 2);
	assert_int_equal(ig_engine_status(f->e), IG_RUN_DONE);
	assert_false(ig_engine_terminated(f->e));
	assert_int_equal(ig_engine_last_event(f->e), IG_EVENT_COMPLETED);
}

/* Rule 1 / rule 17: no max_epochs means one epoch; epoch_length = len(data). */
static void
test_rule01_defaults_one_epoch_of_len_data(void **state)
{
	fixture *f = *state;
	f->d = ig_data_range(4);
	ig_run_args a = IG_RUN_ARGS_INIT;
	RUN_OK(f->e, f->d, &a);
	trace exp;
	trace_init(&exp);
	tb_run(&exp, 1, 4, true);
	TRACE_EQ_T(&f->t, &exp);
	trace_free(&exp);
	assert_int_equal(ig_engine_state(f->e)->max_epochs, 1);
	assert_int_equal(ig_engine_state(f->e)->epoch_length, 4);
}

/* Rule 1: a longer run matches the builder (checks the builder against
 * the recorded Ignite trace above, and the engine over many epochs). */
static void
test_rule01_many_epochs(void **state)
{
	fixture *f = *state;
	f->d = ig_data_range(3);
	ig_run_args a = run_args(5, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	trace exp;
	trace_init(&exp);
	tb_run(&exp, 5, 3, true);
	TRACE_EQ_T(&f->t, &exp);
	trace_free(&exp);
	assert_int_equal(f->rec.calls, 15);
}

/* Rule 2: epoch_length == len(data): exhaustion shows at the next epoch's
 * start, GET_BATCH_STARTED once, and no DATALOADER_STOP_ITERATION after the
 * final epoch. */
static void
test_rule02_exhaustion_at_epoch_end(void **state)
{
	fixture *f = *state;
	f->d = ig_data_range(3);
	ig_run_args a = run_args(2, 3, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	static const tr_ev exp[] = {
		{ E_ST, 0, 0 },
		{ E_ES, 1, 0 },
		{ E_GBS, 1, 0 },
		{ E_GBC, 1, 0 },
		{ E_IS, 1, 1 },
		{ E_IC, 1, 1 },
		{ E_GBS, 1, 1 },
		{ E_GBC, 1, 1 },
		{ E_IS, 1, 2 },
		{ E_IC, 1, 2 },
		{ E_GBS, 1, 2 },
		{ E_GBC, 1, 2 },
		{ E_IS, 1, 3 },
		{ E_IC, 1, 3 },
		{ E_EC, 1, 3 },
		{ E_ES, 2, 3 },
		{ E_GBS, 2, 3 },
		{ E_DSI, 2, 3 },
		{ E_GBC, 2, 3 },
		{ E_IS, 2, 4 },
		{ E_IC, 2, 4 },
		{ E_GBS, 2, 4 },
		{ E_GBC, 2, 4 },
		{ E_IS, 2, 5 },
		{ E_IC, 2, 5 },
		{ E_GBS, 2, 5 },
		{ E_GBC, 2, 5 },
		{ E_IS, 2, 6 },
		{ E_IC, 2, 6 },
		{ E_EC, 2, 6 },
		{ E_CO, 2, 6 },
	};
	TRACE_EQ(&f->t, exp);
	ASSERT_SEEN(&f->rec, 0, 1, 2, 0, 1, 2);
}

/* Rule 3: epoch_length < len(data): epoch 2 goes on where epoch 1 stopped. */
static void
test_rule03_epoch_length_below_len(void **state)
{
	fixture *f = *state;
	f->d = ig_data_range(5);
	ig_run_args a = run_args(2, 3, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	static const tr_ev exp[] = {
		{ E_ST, 0, 0 },
		{ E_ES, 1, 0 },
		{ E_GBS, 1, 0 },
		{ E_GBC, 1, 0 },
		{ E_IS, 1, 1 },
		{ E_IC, 1, 1 },
		{ E_GBS, 1, 1 },
		{ E_GBC, 1, 1 },
		{ E_IS, 1, 2 },
		{ E_IC, 1, 2 },
		{ E_GBS, 1, 2 },
		{ E_GBC, 1, 2 },
		{ E_IS, 1, 3 },
		{ E_IC, 1, 3 },
		{ E_EC, 1, 3 },
		{ E_ES, 2, 3 },
		{ E_GBS, 2, 3 },
		{ E_GBC, 2, 3 },
		{ E_IS, 2, 4 },
		{ E_IC, 2, 4 },
		{ E_GBS, 2, 4 },
		{ E_GBC, 2, 4 },
		{ E_IS, 2, 5 },
		{ E_IC, 2, 5 },
		{ E_GBS, 2, 5 },
		{ E_DSI, 2, 5 },
		{ E_GBC, 2, 5 },
		{ E_IS, 2, 6 },
		{ E_IC, 2, 6 },
		{ E_EC, 2, 6 },
		{ E_CO, 2, 6 },
	};
	TRACE_EQ(&f->t, exp);
	ASSERT_SEEN(&f->rec, 0, 1, 2, 3, 4, 0);
}

/* Rule 3: epoch_length > len(data): the data restarts inside an epoch. */
static void
test_rule03_epoch_length_above_len(void **state)
{
	fixture *f = *state;
	f->d = ig_data_range(2);
	ig_run_args a = run_args(2, 3, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	static const tr_ev exp[] = {
		{ E_ST, 0, 0 },
		{ E_ES, 1, 0 },
		{ E_GBS, 1, 0 },
		{ E_GBC, 1, 0 },
		{ E_IS, 1, 1 },
		{ E_IC, 1, 1 },
		{ E_GBS, 1, 1 },
		{ E_GBC, 1, 1 },
		{ E_IS, 1, 2 },
		{ E_IC, 1, 2 },
		{ E_GBS, 1, 2 },
		{ E_DSI, 1, 2 },
		{ E_GBC, 1, 2 },
		{ E_IS, 1, 3 },
		{ E_IC, 1, 3 },
		{ E_EC, 1, 3 },
		{ E_ES, 2, 3 },
		{ E_GBS, 2, 3 },
		{ E_GBC, 2, 3 },
		{ E_IS, 2, 4 },
		{ E_IC, 2, 4 },
		{ E_GBS, 2, 4 },
		{ E_DSI, 2, 4 },
		{ E_GBC, 2, 4 },
		{ E_IS, 2, 5 },
		{ E_IC, 2, 5 },
		{ E_GBS, 2, 5 },
		{ E_GBC, 2, 5 },
		{ E_IS, 2, 6 },
		{ E_IC, 2, 6 },
		{ E_EC, 2, 6 },
		{ E_CO, 2, 6 },
	};
	TRACE_EQ(&f->t, exp);
	ASSERT_SEEN(&f->rec, 0, 1, 0, 1, 0, 1);
}

/* Rule 3: the iterator is dropped when a run returns, so a fresh run over
 * the same data starts again at item 0. */
static void
test_rule03_iterator_dropped_when_run_returns(void **state)
{
	fixture *f = *state;
	f->d = ig_data_range(5);
	ig_run_args a = run_args(1, 3, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	RUN_OK(f->e, f->d, &a);
	ASSERT_SEEN(&f->rec, 0, 1, 2, 0, 1, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_rule01_plain_run_event_order),
		FX_TEST(test_rule01_defaults_one_epoch_of_len_data),
		FX_TEST(test_rule01_many_epochs),
		FX_TEST(test_rule02_exhaustion_at_epoch_end),
		FX_TEST(test_rule03_epoch_length_below_len),
		FX_TEST(test_rule03_epoch_length_above_len),
		FX_TEST(test_rule03_iterator_dropped_when_run_returns),
	};
	return cmocka_run_group_tests_name(
	    "engine_runloop (rules 1-3)", tests, NULL, NULL);
}
