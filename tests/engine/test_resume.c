/*
 * test_resume.c - run() again: fresh or resumed (rules 17, 18, 19).
 * Traces from Ignite v0.5.3 except where the rules differ (noted).
 */
#include "trace.h"

static ig_state_dict
sd_iter(int64_t iteration, int64_t epoch_length, int64_t max_epochs)
{
	ig_state_dict sd = { iteration, IG_NONE, epoch_length, max_epochs, NULL,
		0 };
	return sd;
}

/* Rule 17: a finished state starts fresh; max_epochs = argument or 1 (not
 * the old 2), epoch_length = len(data) (not the old 2). */
static void
test_rule17_rerun_finished_is_fresh(void **state)
{
	fixture *f = *state;
	f->d = ig_data_range(3);
	ig_run_args a = run_args(2, 2, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	trace_reset(&f->t);
	RUN_OK(f->e, f->d, NULL);
	trace exp;
	trace_init(&exp);
	tb_run(&exp, 1, 3, true);
	TRACE_EQ_T(&f->t, &exp);
	trace_free(&exp);
	assert_int_equal(ig_engine_state(f->e)->max_epochs, 1);
	assert_int_equal(ig_engine_state(f->e)->epoch_length, 3);
}

/* Rule 17: more epochs on a finished state resume it: STARTED(2,6), epoch 3. */
static void
test_rule17_more_epochs_resumes(void **state)
{
	fixture *f = *state;
	f->d = ig_data_range(3);
	ig_run_args a = run_args(2, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	trace_reset(&f->t);
	a.max_epochs = 3;
	RUN_OK(f->e, f->d, &a);
	trace exp;
	trace_init(&exp);
	trace_push(&exp, E_ST, 2, 6);
	tb_epoch(&exp, 3, 7, 9, true, false);
	trace_push(&exp, E_CO, 3, 9);
	TRACE_EQ_T(&f->t, &exp);
	trace_free(&exp);
	ASSERT_SEEN(&f->rec, 0, 1, 2, 0, 1, 2, 0, 1, 2);
}

/* Rule 17: max_epochs below the current epoch is an error; nothing fires and
 * the state is unchanged. */
static void
test_rule17_max_epochs_below_epoch_is_error(void **state)
{
	fixture *f = *state;
	action t = { ACT_TERMINATE, E_IC, 2, 5, 0, 0 };
	action_attach(f->e, &t);
	f->d = ig_data_range(3);
	ig_run_args a = run_args(3, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	trace_reset(&f->t);
	a.max_epochs = 1;
	int rc = ig_engine_run(f->e, f->d, &a);
	assert_true(rc < 0);
	assert_int_not_equal(rc, IG_ERUN);
	assert_string_not_equal(ig_engine_error(f->e), "");
	assert_int_equal(f->t.n, 0);
	assert_int_equal(ig_engine_state(f->e)->max_epochs, 3);
	assert_int_equal(ig_engine_state(f->e)->iteration, 5);
}

/* Rule 17: an epoch_length different from an unfinished state's is an
 * error; on a finished state it starts fresh. */
static void
test_rule17_epoch_length_mismatch(void **state)
{
	fixture *f = *state;
	action t = { ACT_TERMINATE, E_IC, 1, 2, 0, 0 };
	action_attach(f->e, &t);
	f->d = ig_data_range(3);
	ig_run_args a = run_args(2, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	trace_reset(&f->t);
	a.epoch_length = 2;
	assert_true(ig_engine_run(f->e, f->d, &a) < 0);
	assert_int_equal(f->t.n, 0);
	assert_int_equal(ig_engine_state(f->e)->epoch_length, 3);
	/* The same epoch_length is fine (after terminate, epoch 2 is 3..5). */
	a.epoch_length = 3;
	RUN_OK(f->e, f->d, &a);
	assert_int_equal(ig_engine_state(f->e)->iteration, 5);
	/* Finished now: a new epoch_length starts fresh (max_epochs 1 here would
	 * be below the current epoch 2: an error even on a finished state). */
	trace_reset(&f->t);
	a = run_args(IG_NONE, 2, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	assert_int_equal(f->t.v[0].event, E_ST);
	assert_int_equal(f->t.v[0].iteration, 0);
	assert_int_equal(ig_engine_state(f->e)->epoch_length, 2);
	assert_int_equal(ig_engine_state(f->e)->iteration, 2);
}

/* Rule 18: after terminate() the partial epoch is abandoned and a new epoch
 * starts: STARTED(2,5), epoch 3 of 3 iterations, the data at item 0. */
static void
test_rule18_resume_after_terminate(void **state)
{
	fixture *f = *state;
	action t = { ACT_TERMINATE, E_IC, 2, 5, 0, 0 };
	action_attach(f->e, &t);
	f->d = ig_data_range(3);
	ig_run_args a = run_args(3, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	trace_reset(&f->t);
	RUN_OK(f->e, f->d, NULL);
	trace exp;
	trace_init(&exp);
	trace_push(&exp, E_ST, 2, 5);
	tb_epoch(&exp, 3, 6, 8, true, false);
	trace_push(&exp, E_CO, 3, 8);
	TRACE_EQ_T(&f->t, &exp);
	trace_free(&exp);
	ASSERT_SEEN(&f->rec, 0, 1, 2, 0, 1, 0, 1, 2);
	assert_false(ig_engine_terminated(f->e));
}

/* Rule 18: load_state_dict by epoch, then run. */
static void
test_rule18_load_state_dict_epoch_then_run(void **state)
{
	fixture *f = *state;
	ig_state_dict sd = { IG_NONE, 1, 3, 3, NULL, 0 };
	assert_int_equal(ig_engine_load_state_dict(f->e, &sd), 0);
	f->d = ig_data_range(3);
	RUN_OK(f->e, f->d, NULL);
	trace exp;
	trace_init(&exp);
	trace_push(&exp, E_ST, 1, 3);
	tb_epoch(&exp, 2, 4, 6, true, false);
	tb_epoch(&exp, 3, 7, 9, true, true);
	trace_push(&exp, E_CO, 3, 9);
	TRACE_EQ_T(&f->t, &exp);
	trace_free(&exp);
	ASSERT_SEEN(&f->rec, 0, 1, 2, 0, 1, 2);
}

/* Rule 18: load_state_dict by iteration: the next epoch runs only the
 * iterations left in it; without a seed the data restarts at item 0. */
static void
test_rule18_load_state_dict_iteration_then_run(void **state)
{
	fixture *f = *state;
	ig_state_dict sd = sd_iter(4, 3, 3);
	assert_int_equal(ig_engine_load_state_dict(f->e, &sd), 0);
	assert_int_equal(ig_engine_state(f->e)->epoch, 1);
	f->d = ig_data_range(3);
	RUN_OK(f->e, f->d, NULL);
	static const tr_ev exp[] = {
		{ E_ST, 1, 4 },
		{ E_ES, 2, 4 },
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
		{ E_GBC, 3, 6 },
		{ E_IS, 3, 7 },
		{ E_IC, 3, 7 },
		{ E_GBS, 3, 7 },
		{ E_DSI, 3, 7 },
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
	ASSERT_SEEN(&f->rec, 0, 1, 2, 0, 1);
}

/* Rule 18 (we differ, deterministic data): with a seed, a run resumed via
 * load_state_dict at iteration k sees exactly the batches an uninterrupted
 * seeded run saw from k on.  Table: (len, epoch_length, k). */
static void
test_rule18_seeded_resume_sees_same_batches(void **state)
{
	(void)state;
	static const struct {
		int64_t len, epoch_length, k;
	} cases[] = {
		{ 8, 8, 3 },
		{ 8, 8, 8 },
		{ 8, 8, 13 },
		{ 8, 5, 7 },
		{ 8, 5, 10 },
		{ 5, 8, 9 },
	};
	const int64_t seed = 12345, max_epochs = 3;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		print_message("len %lld, epoch_length %lld, k %lld\n",
		    (long long)cases[c].len, (long long)cases[c].epoch_length,
		    (long long)cases[c].k);
		ig_data *d = ig_data_range(cases[c].len);
		ig_run_args a =
		    run_args(max_epochs, cases[c].epoch_length, seed);
		proc_rec full, part;
		ig_engine *e1 = new_engine(&full);
		RUN_OK(e1, d, &a);
		int64_t total = max_epochs * cases[c].epoch_length;
		assert_int_equal((int64_t)full.nseen, total);
		/* The seed really shuffles (otherwise this test checks nothing). */
		bool natural = true;
		for (size_t i = 0; i < full.nseen; i++)
			natural = natural &&
			    full.seen[i] == (int64_t)i % cases[c].len;
		assert_false(natural);

		ig_engine *e2 = new_engine(&part);
		ig_state_dict sd =
		    sd_iter(cases[c].k, cases[c].epoch_length, max_epochs);
		assert_int_equal(ig_engine_load_state_dict(e2, &sd), 0);
		ig_run_args a2 = run_args(IG_NONE, IG_NONE, seed);
		RUN_OK(e2, d, &a2);
		assert_seen(&part, full.seen + cases[c].k,
		    (size_t)(total - cases[c].k), __FILE__, __LINE__);
		ig_engine_free(e1);
		ig_engine_free(e2);
		ig_data_free(d);
	}
}

/* Rule 18: every run that does not continue an interrupt resets times and
 * fires STARTED; after load_state_dict at an epoch boundary no partial epoch
 * is run. */
static void
test_rule18_load_state_dict_at_boundary(void **state)
{
	fixture *f = *state;
	ig_state_dict sd = sd_iter(6, 3, 3);
	assert_int_equal(ig_engine_load_state_dict(f->e, &sd), 0);
	f->d = ig_data_range(3);
	RUN_OK(f->e, f->d, NULL);
	trace exp;
	trace_init(&exp);
	trace_push(&exp, E_ST, 2, 6);
	tb_epoch(&exp, 3, 7, 9, true, false);
	trace_push(&exp, E_CO, 3, 9);
	TRACE_EQ_T(&f->t, &exp);
	trace_free(&exp);
}

/* Rule 19: a resume with no data keeps none. */
static void
test_rule19_resume_without_data(void **state)
{
	fixture *f = *state;
	action t = { ACT_TERMINATE, E_IC, 1, 2, 0, 0 };
	action_attach(f->e, &t);
	f->d = ig_data_range(3);
	ig_run_args a = run_args(2, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	trace_reset(&f->t);
	RUN_OK(f->e, NULL, NULL);
	trace exp;
	trace_init(&exp);
	trace_push(&exp, E_ST, 1, 2);
	tb_epoch(&exp, 2, 3, 5, false, false);
	trace_push(&exp, E_CO, 2, 5);
	TRACE_EQ_T(&f->t, &exp);
	trace_free(&exp);
	ASSERT_SEEN(&f->rec, 0, 1, -1, -1, -1);
}

/* Rule 19: a resume with new data uses it. */
static void
test_rule19_resume_with_new_data(void **state)
{
	fixture *f = *state;
	action t = { ACT_TERMINATE, E_IC, 1, 2, 0, 0 };
	action_attach(f->e, &t);
	ig_run_args a = run_args(2, 3, IG_NONE);
	RUN_OK(f->e, NULL, &a);
	trace_reset(&f->t);
	f->d = ig_data_range(5);
	RUN_OK(f->e, f->d, NULL);
	trace exp;
	trace_init(&exp);
	trace_push(&exp, E_ST, 1, 2);
	tb_epoch(&exp, 2, 3, 5, true, false);
	trace_push(&exp, E_CO, 2, 5);
	TRACE_EQ_T(&f->t, &exp);
	trace_free(&exp);
	ASSERT_SEEN(&f->rec, -1, -1, 0, 1, 2);
	assert_int_equal(ig_engine_state(f->e)->epoch_length, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_rule17_rerun_finished_is_fresh),
		FX_TEST(test_rule17_more_epochs_resumes),
		FX_TEST(test_rule17_max_epochs_below_epoch_is_error),
		FX_TEST(test_rule17_epoch_length_mismatch),
		FX_TEST(test_rule18_resume_after_terminate),
		FX_TEST(test_rule18_load_state_dict_epoch_then_run),
		FX_TEST(test_rule18_load_state_dict_iteration_then_run),
		cmocka_unit_test(test_rule18_seeded_resume_sees_same_batches),
		FX_TEST(test_rule18_load_state_dict_at_boundary),
		FX_TEST(test_rule19_resume_without_data),
		FX_TEST(test_rule19_resume_with_new_data),
	};
	return cmocka_run_group_tests_name(
	    "engine_resume (rules 17-19)", tests, NULL, NULL);
}
