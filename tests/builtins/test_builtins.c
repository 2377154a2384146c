/*
 * test_builtins.c - the builtin table, noop, sleep and meanstd.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "builtin/builtin.h"
#include "fixture.h"

#define NP(a) (sizeof(a) / sizeof((a)[0]))

static void *
create(const ig_plugin *pl, const ig_param *p, size_t n)
{
	char err[256] = "";
	void *self = pl->create(p, n, err, sizeof err);

	if (self == NULL)
		fail_msg("%s create: %s", pl->name, err);
	return self;
}

static void
test_table_of_builtins(void **state)
{
	const char *names[] = { "noop", "sleep", "meanstd", "softmax" };
	const ig_plugin *p;
	size_t i;

	(void)state;
	for (i = 0; (p = builtin_at(i)) != NULL; i++) {
		assert_int_equal(p->abi_version, IG_PLUGIN_ABI_VERSION);
		assert_non_null(p->create);
		assert_non_null(p->process);
		assert_non_null(p->destroy);
		assert_true(
		    (p->state_dict == NULL) == (p->load_state_dict == NULL));
		assert_ptr_equal(builtin_find(p->name), p);
	}
	assert_int_equal(i, NP(names));
	for (i = 0; i < NP(names); i++)
		assert_non_null(builtin_find(names[i]));
	assert_null(builtin_find("nope"));
	assert_true(builtin_find("sleep")->flags & IG_PLUGIN_BLOCKING);
	assert_false(builtin_find("noop")->flags & IG_PLUGIN_BLOCKING);
}

static void
test_noop(void **state)
{
	const ig_plugin *pl = builtin_find("noop");
	const ig_output *out = (const ig_output *)&out;
	ig_param extra[] = { fx_int("x", 1) };
	char err[128];

	(void)state;
	void *self = create(pl, NULL, 0);
	assert_int_equal(
	    pl->process(self, NULL, IG_MODE_TRAIN, &out, err, sizeof err), 0);
	assert_null(out);
	pl->destroy(self);
	assert_null(pl->create(extra, 1, err, sizeof err));
	assert_string_equal(err, "noop: unknown param 'x' (it takes none)");
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
test_sleep(void **state)
{
	const ig_plugin *pl = builtin_find("sleep");
	ig_param p[] = { fx_dbl("ms", 2.5) };
	const ig_output *out;
	char err[128];

	(void)state;
	void *self = create(pl, p, NP(p));
	double t0 = now();
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pl->process(self, NULL, IG_MODE_TRAIN, &out,
		                     err, sizeof err),
		    0);
		assert_null(out);
	}
	/* only a lower bound: a loaded machine may sleep longer */
	assert_true(now() - t0 >= 8 * 2.5e-3);
	pl->destroy(self);

	p[0] = fx_int("ms", 1500); /* whole seconds too */
	self = create(pl, p, NP(p));
	pl->destroy(self);
	p[0] = fx_dbl("ms", -1);
	assert_null(pl->create(p, NP(p), err, sizeof err));
	assert_non_null(strstr(err, "sleep: param ms must be in [0,"));
	p[0] = fx_str("ms", "10");
	assert_null(pl->create(p, NP(p), err, sizeof err));
	assert_string_equal(
	    err, "sleep: param ms must be a number, got string");
}

/*
 * meanstd over a csv source with a short last batch: averaging every
 * element of each field over the pass (what the Average metric does) must
 * give the columns' exact mean and mean square.
 */
static void
test_meanstd(void **state)
{
	const ig_plugin *pl = builtin_find("meanstd");
	const char *path = fx_text(
	    "ms.csv", "1,10,-3\n2,20,-3\n4,30,-3\n8,40,-3\n16,50,-3\n", false);
	ig_param dp[] = { fx_int("batch_size", 2) };
	struct data_source src, none;
	enum {
		COLS = 3
	};
	double sum[2 * COLS] = { 0 }, n[2 * COLS] = { 0 };

	(void)state;
	fx_csv(path, dp, NP(dp), &src, &none);
	void *self = create(pl, NULL, 0);
	for (int64_t pos = 0; pos < src.ops->size(src.ctx); pos++) {
		ig_batch b = fx_get(&src, IG_NONE, 0, pos);
		const ig_output *out;
		char err[128];
		assert_int_equal(
		    pl->process(self, &b, IG_MODE_TRAIN, &out, err, sizeof err),
		    0);
		assert_int_equal(out->nfields, 2 * COLS);
		for (size_t f = 0; f < out->nfields; f++) {
			char name[16];
			snprintf(name, sizeof name, "%s.%zu",
			    f < COLS ? "mean" : "mean2", f % COLS);
			assert_string_equal(out->fields[f].name, name);
			assert_int_equal(out->fields[f].len, b.rows);
			for (size_t i = 0; i < out->fields[f].len; i++)
				sum[f] += out->fields[f].data[i];
			n[f] += (double)out->fields[f].len;
		}
	}
	/* direct computation */
	const double mean[COLS] = { 31.0 / 5, 30, -3 };
	const double mean2[COLS] = { (1 + 4 + 16 + 64 + 256) / 5.0, 1100, 9 };
	for (size_t j = 0; j < COLS; j++) {
		double m = sum[j] / n[j], m2 = sum[COLS + j] / n[COLS + j];
		assert_true(fabs(m - mean[j]) < 1e-12);
		assert_true(fabs(m2 - mean2[j]) < 1e-9);
		double sd = sqrt(fmax(0, m2 - m * m));
		double want[COLS] = { sqrt(mean2[0] - mean[0] * mean[0]),
			sqrt(200), 0 };
		assert_true(fabs(sd - want[j]) < 1e-9);
	}

	/* a batch of another width, and one without x */
	ig_batch wide = { .rows = 1, .cols = 4, .x = (double[4]){ 0 } };
	const ig_output *out;
	char err[128];
	assert_int_equal(
	    pl->process(self, &wide, IG_MODE_TRAIN, &out, err, sizeof err), -1);
	assert_string_equal(
	    err, "meanstd: batch has 4 columns, earlier batches had 3");
	ig_batch bare = { .index = 3 };
	assert_int_equal(
	    pl->process(self, &bare, IG_MODE_TRAIN, &out, err, sizeof err), -1);
	assert_non_null(strstr(err, "the batch has no x values"));
	pl->destroy(self);
	fx_close(&src);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_of_builtins),
		cmocka_unit_test(test_noop),
		cmocka_unit_test(test_sleep),
		cmocka_unit_test(test_meanstd),
	};
	return cmocka_run_group_tests(tests, NULL, fx_cleanup);
}
