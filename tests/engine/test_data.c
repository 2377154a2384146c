/*
 * test_data.c - data of unknown length, no data, empty data (rules 4, 5).
 * Expected traces recorded from Ignite v0.5.3 on the same scenarios.
 */
#include "trace.h"

/* Rule 4: a one-shot iterator of unknown length.  The first exhaustion sets
 * epoch_length = 3 and ends epoch 1 (its last GET_BATCH_STARTED has no
 * GET_BATCH_COMPLETED, no DATALOADER_STOP_ITERATION); later epochs are empty. */
static void
test_rule04_unknown_length_one_shot(void **state)
{
	fixture *f = *state;
	f->d = ig_data_iterator(index_batches(3), 3, false);
	assert_int_equal(ig_data_size(f->d), IG_NONE);
	ig_run_args a = run_args(3, IG_NONE, IG_NONE);
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
		{ E_GBS, 1, 3 },
		{ E_EC, 1, 3 },
		{ E_ES, 2, 3 },
		{ E_GBS, 2, 3 },
		{ E_DSI, 2, 3 },
		{ E_EC, 2, 3 },
		{ E_ES, 3, 3 },
		{ E_GBS, 3, 3 },
		{ E_DSI, 3, 3 },
		{ E_EC, 3, 3 },
		{ E_CO, 3, 3 },
	};
	TRACE_EQ(&f->t, exp);
	ASSERT_SEEN(&f->rec, 0, 1, 2);
	assert_int_equal(ig_engine_state(f->e)->epoch_length, 3);
}

/* Rule 4: a restartable iterator of unknown length restarts normally. */
static void
test_rule04_unknown_length_restartable(void **state)
{
	fixture *f = *state;
	f->d = ig_data_iterator(index_batches(3), 3, true);
	ig_run_args a = run_args(3, IG_NONE, IG_NONE);
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
		{ E_GBS, 1, 3 },
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
		{ E_ES, 3, 6 },
		{ E_GBS, 3, 6 },
		{ E_DSI, 3, 6 },
		{ E_GBC, 3, 6 },
		{ E_IS, 3, 7 },
		{ E_IC, 3, 7 },
		{ E_GBS, 3, 7 },
		{ E_GBC, 3, 7 },
		{ E_IS, 3, 8 },
		{ E_IC, 3, 8 },
		{ E_GBS, 3, 8 },
		{ E_GBC, 3, 8 },
		{ E_IS, 3, 9 },
		{ E_IC, 3, 9 },
		{ E_EC, 3, 9 },
		{ E_CO, 3, 9 },
	};
	TRACE_EQ(&f->t, exp);
	ASSERT_SEEN(&f->rec, 0, 1, 2, 0, 1, 2, 0, 1, 2);
	assert_int_equal(ig_engine_state(f->e)->epoch_length, 3);
}

/* Rule 4 with epoch_length given: an iterator of unknown length is then
 * handled like any other (rule 3: restarts inside an epoch). */
static void
test_rule04_unknown_length_with_epoch_length(void **state)
{
	fixture *f = *state;
	f->d = ig_data_iterator(index_batches(2), 2, true);
	ig_run_args a = run_args(1, 3, IG_NONE);
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
		{ E_CO, 1, 3 },
	};
	TRACE_EQ(&f->t, exp);
	ASSERT_SEEN(&f->rec, 0, 1, 0);
}

/* Rule 5: no data with epoch_length: batches empty, no GET_BATCH events and
 * no DATALOADER_STOP_ITERATION. */
static void
test_rule05_no_data_with_epoch_length(void **state)
{
	fixture *f = *state;
	ig_run_args a = run_args(2, 2, IG_NONE);
	RUN_OK(f->e, NULL, &a);
	static const tr_ev exp[] = {
		{ E_ST, 0, 0 },
		{ E_ES, 1, 0 },
		{ E_IS, 1, 1 },
		{ E_IC, 1, 1 },
		{ E_IS, 1, 2 },
		{ E_IC, 1, 2 },
		{ E_EC, 1, 2 },
		{ E_ES, 2, 2 },
		{ E_IS, 2, 3 },
		{ E_IC, 2, 3 },
		{ E_IS, 2, 4 },
		{ E_IC, 2, 4 },
		{ E_EC, 2, 4 },
		{ E_CO, 2, 4 },
	};
	TRACE_EQ(&f->t, exp);
	ASSERT_SEEN(&f->rec, -1, -1, -1, -1);
}

/* Rule 5: no data and no epoch_length is refused before anything fires. */
static void
test_rule05_no_data_needs_epoch_length(void **state)
{
	fixture *f = *state;
	ig_run_args a = run_args(2, IG_NONE, IG_NONE);
	int rc = ig_engine_run(f->e, NULL, &a);
	assert_true(rc < 0);
	assert_int_not_equal(rc, IG_ERUN);
	assert_string_not_equal(ig_engine_error(f->e), "");
	assert_int_equal(f->t.n, 0);
	assert_int_equal(f->rec.calls, 0);
}

/* Rule 5: data of size zero is an error, nothing fires. */
static void
test_rule05_zero_size_data_is_an_error(void **state)
{
	fixture *f = *state;
	f->d = ig_data_range(0);
	ig_run_args a = run_args(2, IG_NONE, IG_NONE);
	int rc = ig_engine_run(f->e, f->d, &a);
	assert_true(rc < 0);
	assert_string_not_equal(ig_engine_error(f->e), "");
	assert_int_equal(f->t.n, 0);
	assert_int_equal(f->rec.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_rule04_unknown_length_one_shot),
		FX_TEST(test_rule04_unknown_length_restartable),
		FX_TEST(test_rule04_unknown_length_with_epoch_length),
		FX_TEST(test_rule05_no_data_with_epoch_length),
		FX_TEST(test_rule05_no_data_needs_epoch_length),
		FX_TEST(test_rule05_zero_size_data_is_an_error),
	};
	return cmocka_run_group_tests_name(
	    "engine_data (rules 4, 5)", tests, NULL, NULL);
}
