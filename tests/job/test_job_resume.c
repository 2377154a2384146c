/*
 * test_job_resume.c - a run cut anywhere mid-epoch and resumed from its
 * checkpoint (engine state_dict, data cursor, job_save) gives exactly the
 * history of the run that was never cut: every point, bit for bit, and the
 * same final metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "jt.h"

/* Loss, accuracy, a running average and an output metric on the trainer;
 * val metrics from an evaluate every 20 iterations and at each epoch end. */
#define SPEC \
	"{'engine': 'builtin:softmax', 'params': {'lr': 0.5, 'momentum': 0.5}, " DIGITS_DATA \
	", 'max_epochs': 3, 'seed': 7, 'metrics': [" \
	"{'name': 'loss', 'kind': 'loss', 'field': 'loss'}, " \
	"{'name': 'acc', 'kind': 'accuracy'}, " \
	"{'name': 'ra', 'kind': 'running_average', 'field': 'loss', 'alpha': 0.9}, " \
	"{'name': 'batch_loss', 'kind': 'output', 'field': 'loss'}, " \
	"{'name': 'val_acc', 'kind': 'accuracy', 'split': 'val'}, " \
	"{'name': 'val_loss', 'kind': 'loss', 'field': 'loss', 'split': 'val'}], " \
	"'handlers': [{'event': 'ITERATION_COMPLETED', 'every': 20, 'action': 'evaluate'}, " \
	"{'event': 'EPOCH_COMPLETED', 'action': 'evaluate'}]}"

struct outcome {
	struct jt_rec rec;
	double metrics[16];
	char names[16][IG_NAME_MAX + 1];
	size_t nmetrics;
	int64_t iteration;
};

static void
finish(struct job *job, struct outcome *o)
{
	ig_engine *e = job_engine(job);

	assert_int_equal(jt_run(uv_default_loop(), job, 0), IG_RUN_DONE);
	o->iteration = ig_engine_state(e)->iteration;
	o->nmetrics = ig_engine_metric_count(e);
	assert_true(o->nmetrics <= 16);
	for (size_t i = 0; i < o->nmetrics; i++)
		snprintf(o->names[i], sizeof(o->names[i]), "%s",
		    ig_engine_metric_at(e, i, &o->metrics[i]));
	job_free(job);
}

static void
run_whole(struct outcome *o)
{
	finish(jt_job(uv_default_loop(), SPEC, &o->rec), o);
}

/* Cut after k iterations, checkpoint, free, rebuild from the spec, resume. */
static void
run_cut(uint64_t k, struct outcome *o)
{
	struct job *job = jt_job(uv_default_loop(), SPEC, &o->rec);
	ig_state_dict sd;
	ig_data_cursor cursor;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	ig_err err = { 0 };

	assert_int_equal(jt_run(uv_default_loop(), job, k), IG_RUN_YIELD);
	assert_int_equal(
	    ig_engine_state(job_engine(job))->iteration, (int64_t)k);
	assert_int_equal(ig_engine_state_dict(job_engine(job), &sd), 0);
	ig_engine_data_cursor(job_engine(job), &cursor);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (job_save(job, &pk, &err) != 0)
		fail_msg("job_save: %s", err.message);
	job_free(job);

	job = jt_job(uv_default_loop(), SPEC, &o->rec);
	assert_int_equal(ig_engine_load_state_dict(job_engine(job), &sd), 0);
	assert_int_equal(
	    ig_engine_set_data_cursor(job_engine(job), &cursor), 0);
	if (job_load(job, sb.data, sb.size, &err) != 0)
		fail_msg("job_load: %s", err.message);
	ig_state_dict_clear(&sd);
	msgpack_sbuffer_destroy(&sb);
	finish(job, o);
}

static void
assert_same(const struct outcome *a, const struct outcome *b)
{
	assert_int_equal(a->iteration, b->iteration);
	assert_int_equal(a->rec.npoints, b->rec.npoints);
	for (size_t i = 0; i < a->rec.npoints; i++) {
		const struct jt_point *p = &a->rec.points[i],
		                      *q = &b->rec.points[i];
		if (strcmp(p->name, q->name) != 0 || p->epoch != q->epoch ||
		    p->iteration != q->iteration ||
		    memcmp(&p->value, &q->value, sizeof(double)) != 0)
			fail_msg(
			    "point %zu: %s (%lld, %lld) = %.17g, resumed %s (%lld, %lld) = %.17g",
			    i, p->name, (long long)p->epoch,
			    (long long)p->iteration, p->value, q->name,
			    (long long)q->epoch, (long long)q->iteration,
			    q->value);
	}
	assert_int_equal(a->nmetrics, b->nmetrics);
	for (size_t i = 0; i < a->nmetrics; i++) {
		assert_string_equal(a->names[i], b->names[i]);
		assert_memory_equal(
		    &a->metrics[i], &b->metrics[i], sizeof(double));
	}
}

static void
test_resume_is_exact(void **state)
{
	/* 45 iterations an epoch: cuts early, right after an evaluate, in
	 * the second and third epochs */
	static const uint64_t cuts[] = { 1, 7, 20, 52, 100, 134 };
	struct outcome whole = { 0 };

	(void)state;
	run_whole(&whole);
	assert_int_equal(whole.iteration, 3 * 45);
	/* the history has every kind of point: 135 x (ra, batch_loss),
	 * 3 x (loss, acc), 6 + 3 evaluations x 2 val metrics */
	assert_int_equal(whole.rec.npoints, 135 * 2 + 3 * 2 + 9 * 2);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct outcome cut = { 0 };

		run_cut(cuts[i], &cut);
		assert_same(&whole, &cut);
		jt_rec_free(&cut.rec);
	}
	jt_rec_free(&whole.rec);
}

/* The run learns: the demo's figure, through the job layer. */
static void
test_digits_learns(void **state)
{
	struct outcome o = { 0 };
	double acc = 0;

	(void)state;
	run_whole(&o);
	for (size_t i = 0; i < o.nmetrics; i++)
		if (strcmp(o.names[i], "val_acc") == 0)
			acc = o.metrics[i];
	assert_true(acc > 0.9);
	jt_rec_free(&o.rec);
}

/* A checkpoint from another spec, or damaged, is refused whole. */
static void
test_load_refuses(void **state)
{
	struct jt_rec rec = { 0 };
	struct job *job = jt_job(uv_default_loop(), SPEC, &rec);
	ig_err err = { 0 };
	static const char garbage[] = { (char)0x81, (char)0xa1, 'x', 0x01 };

	(void)state;
	assert_int_not_equal(job_load(job, garbage, sizeof(garbage), &err), 0);
	assert_non_null(strstr(err.message, "checkpoint: version"));
	assert_int_not_equal(job_load(job, garbage, 2, &err), 0);
	assert_non_null(
	    strstr(err.message, "checkpoint: not one msgpack object"));
	job_free(job);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resume_is_exact),
		cmocka_unit_test(test_digits_learns),
		cmocka_unit_test(test_load_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
