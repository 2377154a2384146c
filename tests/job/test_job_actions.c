/*
 * test_job_actions.c - the declarative handlers, and a blocking process
 * function run on libuv's threadpool.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "jt.h"

/* Nothing beats the best accuracy by more than 1: early stopping counts
 * every evaluation after the first. */
#define STOPPING(patience) \
	"{'engine': 'builtin:softmax', 'params': {'lr': 0.5}, " DIGITS_DATA \
	", 'max_epochs': 10, 'seed': 3, 'metrics': " \
	"[{'name': 'acc', 'kind': 'accuracy'}], 'handlers': [{'event': 'EPOCH_COMPLETED', " \
	"'action': 'early_stopping', 'metric': 'acc', 'patience': " #patience \
	", " \
	"'min_delta': 1.0}]}"

static void
test_early_stopping(void **state)
{
	struct jt_rec rec = { 0 };
	struct job *job = jt_job(uv_default_loop(), STOPPING(2), &rec);

	(void)state;
	assert_int_equal(jt_run(uv_default_loop(), job, 0), IG_RUN_DONE);
	/* epoch 1 sets the best; epochs 2 and 3 do not improve */
	assert_true(ig_engine_terminated(job_engine(job)));
	assert_int_equal(ig_engine_state(job_engine(job))->epoch, 3);
	assert_non_null(
	    strstr(rec.last_log, "early stopping: acc did not improve for 2"));
	job_free(job);
	jt_rec_free(&rec);
}

/* Its best and count survive a checkpoint: cut in epoch 3 (after two
 * evaluations, count 1), resumed, it stops at epoch 4 as the whole run
 * does, not at epoch 5 (count 0 again) nor later. */
static void
test_early_stopping_resumes(void **state)
{
	struct jt_rec rec = { 0 };
	struct job *job = jt_job(uv_default_loop(), STOPPING(3), &rec);
	ig_state_dict sd;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	ig_err err = { 0 };

	(void)state;
	assert_int_equal(
	    jt_run(uv_default_loop(), job, 2 * 45 + 10), IG_RUN_YIELD);
	assert_int_equal(ig_engine_state_dict(job_engine(job), &sd), 0);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	assert_int_equal(job_save(job, &pk, &err), 0);
	job_free(job);

	job = jt_job(uv_default_loop(), STOPPING(3), &rec);
	assert_int_equal(ig_engine_load_state_dict(job_engine(job), &sd), 0);
	if (job_load(job, sb.data, sb.size, &err) != 0)
		fail_msg("job_load: %s", err.message);
	assert_int_equal(jt_run(uv_default_loop(), job, 0), IG_RUN_DONE);
	assert_true(ig_engine_terminated(job_engine(job)));
	assert_int_equal(ig_engine_state(job_engine(job))->epoch, 4);
	ig_state_dict_clear(&sd);
	msgpack_sbuffer_destroy(&sb);
	job_free(job);
	jt_rec_free(&rec);
}

/* A learning rate that overflows the weights: the loss turns NaN or
 * infinite and the run stops at that iteration. */
static void
test_terminate_on_nan(void **state)
{
	struct jt_rec rec = { 0 };
	struct job *job = jt_job(uv_default_loop(),
	    "{'engine': 'builtin:softmax', "
	    "'params': {'lr': 1e308}, " DIGITS_DATA
	    ", 'max_epochs': 5, 'handlers': "
	    "[{'event': 'ITERATION_COMPLETED', 'action': 'terminate_on_nan', "
	    "'field': 'loss'}]}",
	    &rec);
	ig_engine *e = job_engine(job);

	(void)state;
	assert_int_equal(jt_run(uv_default_loop(), job, 0), IG_RUN_DONE);
	assert_true(ig_engine_terminated(e));
	/* the first step overflows the weights; the second loss is NaN */
	assert_int_equal(ig_engine_state(e)->iteration, 2);
	assert_false(isfinite(
	    ig_output_field(ig_engine_state(e)->output, "loss")->value));
	assert_non_null(strstr(
	    rec.last_log, "terminate_on_nan: output loss is NaN or infinite"));
	job_free(job);
	jt_rec_free(&rec);
}

/* Without a field, every scalar field is watched; a sane run goes on. */
static void
test_terminate_on_nan_quiet(void **state)
{
	struct jt_rec rec = { 0 };
	struct job *job = jt_job(uv_default_loop(),
	    "{'engine': 'builtin:softmax', " DIGITS_DATA
	    ", 'max_epochs': 2, 'handlers': [{'event': 'ITERATION_COMPLETED', "
	    "'action': 'terminate_on_nan'}]}",
	    &rec);

	(void)state;
	assert_int_equal(jt_run(uv_default_loop(), job, 0), IG_RUN_DONE);
	assert_false(ig_engine_terminated(job_engine(job)));
	assert_int_equal(ig_engine_state(job_engine(job))->iteration, 90);
	job_free(job);
}

static void
test_log_checkpoint_terminate(void **state)
{
	struct jt_rec rec = { 0 };
	struct job *job = jt_job(uv_default_loop(),
	    "{'engine': 'builtin:noop', "
	    "'data': 'range:10', 'max_epochs': 5, 'handlers': ["
	    "{'event': 'ITERATION_COMPLETED', 'every': 4, 'action': 'checkpoint'}, "
	    "{'event': 'EPOCH_COMPLETED', 'action': 'log'}, "
	    "{'event': 'ITERATION_COMPLETED', 'once': 25, 'action': 'terminate_epoch'}, "
	    "{'event': 'EPOCH_COMPLETED', 'once': 3, 'action': 'log', 'message': 'three'}, "
	    "{'event': 'EPOCH_STARTED', 'once': 4, 'action': 'terminate'}]}",
	    &rec);
	ig_engine *e = job_engine(job);

	(void)state;
	assert_int_equal(jt_run(uv_default_loop(), job, 0), IG_RUN_DONE);
	assert_true(ig_engine_terminated(e));
	/* epochs 1, 2 whole; epoch 3 cut after 5 iterations; stop at epoch 4 */
	assert_int_equal(ig_engine_state(e)->iteration, 25);
	assert_int_equal(rec.checkpoints, 6);
	assert_int_equal(rec.logs, 4);
	assert_string_equal(rec.last_log, "three");
	job_free(job);
}

static void
test_log_line(void **state)
{
	struct jt_rec rec = { 0 };
	struct job *job = jt_job(uv_default_loop(),
	    "{'engine': 'builtin:softmax', " DIGITS_DATA
	    ", 'metrics': [{'name': 'loss', 'kind': 'loss', 'field': 'loss'}], "
	    "'handlers': [{'event': 'EPOCH_COMPLETED', 'action': 'log'}]}",
	    &rec);

	(void)state;
	assert_int_equal(jt_run(uv_default_loop(), job, 0), IG_RUN_DONE);
	assert_int_equal(
	    strncmp(rec.last_log, "epoch 1, iteration 45: loss=", 28), 0);
	job_free(job);
	jt_rec_free(&rec);
}

/* builtin:sleep is BLOCKING: every call goes through uv_queue_work and
 * wakes the run when done; metrics and handlers see each iteration. */
static void
test_blocking(void **state)
{
	uv_loop_t loop;
	struct jt_rec rec = { 0 };
	struct job *job;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	job = jt_job(&loop,
	    "{'engine': 'builtin:sleep', 'params': {'ms': 1}, "
	    "'data': 'range:10', 'max_epochs': 2, 'handlers': [{'event': "
	    "'EPOCH_COMPLETED', 'action': 'checkpoint'}]}",
	    &rec);
	assert_false(job_busy(job));
	ig_run_args args = job_run_args(job);
	assert_int_equal(
	    ig_engine_start(job_engine(job), job_data(job), &args), 0);
	assert_int_equal(ig_engine_step(job_engine(job), 0), IG_RUN_WAITING);
	assert_true(job_busy(job));
	assert_int_equal(jt_run(&loop, job, 0), IG_RUN_DONE);
	assert_false(job_busy(job));
	assert_int_equal(ig_engine_state(job_engine(job))->iteration, 20);
	assert_int_equal(rec.wakes, 20);
	assert_int_equal(rec.checkpoints, 2);
	job_free(job);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_early_stopping),
		cmocka_unit_test(test_early_stopping_resumes),
		cmocka_unit_test(test_terminate_on_nan),
		cmocka_unit_test(test_terminate_on_nan_quiet),
		cmocka_unit_test(test_log_checkpoint_terminate),
		cmocka_unit_test(test_log_line),
		cmocka_unit_test(test_blocking),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
