/*
 * test_softmax.c - the softmax regression trainer on real data.
 *
 * The plugin is driven directly (create, process, state_dict), with batches
 * from the csv: source, as the daemon would drive it.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "builtin/builtin.h"
#include "fixture.h"

#define NP(a) (sizeof(a) / sizeof((a)[0]))

static const ig_plugin *sm;

static void *
create(const ig_param *p, size_t n)
{
	char err[256] = "";
	void *self = sm->create(p, n, err, sizeof err);

	if (self == NULL)
		fail_msg("create: %s", err);
	return self;
}

static const ig_output *
process(void *self, const ig_batch *b, int mode)
{
	const ig_output *out = NULL;
	char err[256] = "";

	if (sm->process(self, b, mode, &out, err, sizeof err) != 0)
		fail_msg("process: %s", err);
	return out;
}

static const ig_field *
field(const ig_output *out, const char *name)
{
	for (size_t i = 0; out != NULL && i < out->nfields; i++) {
		if (strcmp(out->fields[i].name, name) == 0)
			return &out->fields[i];
	}
	fail_msg("no output field %s", name);
	return NULL;
}

/* Correct predictions in one output (argmax of y_pred against y). */
static size_t
correct(const ig_output *out)
{
	const ig_field *pred = field(out, "y_pred"), *y = field(out, "y");
	size_t hits = 0, classes = pred->cols;

	for (size_t i = 0; i < y->len; i++) {
		const double *p = pred->data + i * classes;
		size_t best = 0;
		for (size_t k = 1; k < classes; k++) {
			if (p[k] > p[best])
				best = k;
		}
		hits += best == (size_t)y->data[i];
	}
	return hits;
}

/* One pass over src in mode; returns the mean loss per row, and the
 * accuracy in *acc. */
static double
run_pass(void *self, const struct data_source *src, int mode, long long seed,
    long long pass, double *acc)
{
	double loss = 0;
	size_t rows = 0, hits = 0;

	for (int64_t pos = 0; pos < src->ops->size(src->ctx); pos++) {
		ig_batch b = fx_get(src, seed, pass, pos);
		const ig_output *out = process(self, &b, mode);
		loss += field(out, "loss")->value * (double)b.rows;
		hits += correct(out);
		rows += b.rows;
	}
	*acc = (double)hits / (double)rows;
	return loss / (double)rows;
}

/* Train for epochs; returns the final validation accuracy. */
static double
train(const char *what, void *self, const struct data_source *tr,
    const struct data_source *val, int epochs, double *first_loss,
    double *last_loss)
{
	double acc = 0, train_acc;

	for (int e = 0; e < epochs; e++) {
		double loss =
		    run_pass(self, tr, IG_MODE_TRAIN, 7, e, &train_acc);
		double vloss =
		    run_pass(self, val, IG_MODE_EVAL, IG_NONE, e, &acc);
		if (e == 0)
			*first_loss = loss;
		*last_loss = loss;
		print_message(
		    "%s epoch %2d: train loss %.4f acc %.4f  val loss "
		    "%.4f acc %.4f\n",
		    what, e + 1, loss, train_acc, vloss, acc);
	}
	return acc;
}

static void
test_digits_accuracy(void **state)
{
	ig_param dp[] = { fx_int("label", -1), fx_int("scale", 16),
		fx_int("batch_size", 32), fx_bool("shuffle", true),
		fx_dbl("val_fraction", 0.2) };
	ig_param mp[] = { fx_int("classes", 10), fx_dbl("lr", 0.5),
		fx_dbl("momentum", 0.5), fx_dbl("weight_decay", 1e-4) };
	struct data_source tr, val;
	double first, last;

	(void)state;
	if (access(DIGITS_PATH, R_OK) != 0)
		skip();
	fx_csv(DIGITS_PATH, dp, NP(dp), &tr, &val);
	void *self = create(mp, NP(mp));
	double acc = train("digits", self, &tr, &val, 10, &first, &last);
	assert_true(last < first / 4);
	assert_true(acc > 0.90);
	sm->destroy(self);
	fx_close(&tr);
	fx_close(&val);
}

static void
test_iris_accuracy(void **state)
{
	ig_param dp[] = { fx_int("label", 4), fx_str("scale", "standard"),
		fx_int("batch_size", 8), fx_bool("shuffle", true),
		fx_dbl("val_fraction", 0.2) };
	ig_param mp[] = { fx_int("classes", 3), fx_dbl("lr", 0.1) };
	struct data_source tr, val;
	double first, last;

	(void)state;
	if (access(IRIS_PATH, R_OK) != 0)
		skip();
	fx_csv(IRIS_PATH, dp, NP(dp), &tr, &val);
	void *self = create(mp, NP(mp));
	double acc = train("iris", self, &tr, &val, 30, &first, &last);
	assert_true(last < first);
	assert_true(acc > 0.85);
	sm->destroy(self);
	fx_close(&tr);
	fx_close(&val);
}

/* A small separable problem for tests that need no dataset on disk. */
static const char *
blobs(void)
{
	static char text[1 << 14];
	size_t len = 0;
	uint32_t r = 12345;

	for (int i = 0; i < 300; i++) {
		int k = i % 3;
		r = r * 1103515245u + 12345u;
		double a = (double)(r >> 16 & 0x3ff) / 1024 - 0.5;
		r = r * 1103515245u + 12345u;
		double b = (double)(r >> 16 & 0x3ff) / 1024 - 0.5;
		len += (size_t)snprintf(text + len, sizeof text - len,
		    "%.6f,%.6f,%d\n", a + 2 * (k == 1), b + 2 * (k == 2), k);
	}
	return fx_text("blobs.csv", text, false);
}

static void *
save(void *self, size_t *len)
{
	void *buf = NULL;
	char err[256] = "";

	if (sm->state_dict(self, &buf, len, err, sizeof err) != 0)
		fail_msg("state_dict: %s", err);
	return buf;
}

/* Run steps SGD steps from position at (in batches of a 10-batch epoch). */
static void
steps(void *self, const struct data_source *src, int at, int n,
    const ig_output **last)
{
	for (int i = at; i < at + n; i++) {
		ig_batch b = fx_get(src, 3, i / 10, i % 10);
		*last = process(self, &b, IG_MODE_TRAIN);
	}
}

static void
test_state_round_trip_is_bit_identical(void **state)
{
	ig_param dp[] = { fx_int("label", -1), fx_int("batch_size", 30),
		fx_bool("shuffle", true) };
	ig_param mp[] = { fx_int("classes", 3), fx_dbl("lr", 0.3),
		fx_dbl("momentum", 0.9), fx_dbl("weight_decay", 0.01),
		fx_int("seed", 11) };
	struct data_source src, none;
	const ig_output *a, *b;
	size_t alen, blen, slen;
	char err[256];

	(void)state;
	fx_csv(blobs(), dp, NP(dp), &src, &none);
	assert_int_equal(src.ops->size(src.ctx), 10);

	/* 37 steps uninterrupted */
	void *whole = create(mp, NP(mp));
	steps(whole, &src, 0, 37, &a);
	void *abuf = save(whole, &alen);

	/* 15 steps, save, load into a fresh instance, 22 more */
	void *first = create(mp, NP(mp));
	steps(first, &src, 0, 15, &b);
	void *mid = save(first, &slen);
	sm->destroy(first);
	void *second = create(mp, NP(mp));
	assert_int_equal(
	    sm->load_state_dict(second, mid, slen, err, sizeof err), 0);
	steps(second, &src, 15, 22, &b);
	void *bbuf = save(second, &blen);

	assert_int_equal(alen, blen);
	assert_memory_equal(abuf, bbuf, alen);
	const ig_field *pa = field(a, "y_pred"), *pb = field(b, "y_pred");
	assert_int_equal(pa->len, pb->len);
	assert_memory_equal(pa->data, pb->data, pa->len * sizeof *pa->data);
	assert_memory_equal(
	    &field(a, "loss")->value, &field(b, "loss")->value, sizeof(double));

	free(abuf);
	free(bbuf);
	free(mid);
	sm->destroy(whole);
	sm->destroy(second);
	fx_close(&src);
}

static void
test_bad_state_changes_nothing(void **state)
{
	ig_param mp[] = { fx_int("classes", 3), fx_int("features", 2) };
	ig_param other[] = { fx_int("classes", 4), fx_int("features", 2) };
	size_t len, len2;
	char err[256];

	(void)state;
	void *self = create(mp, NP(mp));
	unsigned char *good = save(self, &len);
	unsigned char *bad = malloc(len);

	memcpy(bad, good, len);
	bad[0] ^= 1;
	assert_int_equal(
	    sm->load_state_dict(self, bad, len, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a softmax state"));
	assert_int_equal(
	    sm->load_state_dict(self, good, len - 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "expected"));
	assert_int_equal(
	    sm->load_state_dict(self, good, 10, err, sizeof err), -1);
	assert_non_null(strstr(err, "truncated"));
	void *four = create(other, NP(other));
	assert_int_equal(
	    sm->load_state_dict(four, good, len, err, sizeof err), -1);
	assert_non_null(strstr(err, "3 classes, params say 4"));
	sm->destroy(four);

	unsigned char *after = save(self, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(good, after, len);
	free(good);
	free(bad);
	free(after);
	sm->destroy(self);
}

static void
test_eval_and_bad_batches(void **state)
{
	ig_param mp[] = { fx_int("classes", 2) };
	double x[] = { 1, 2, 3, 4 }, y[] = { 0, 1 }, ybad[] = { 0, 2 };
	ig_batch b = { .rows = 2, .cols = 2, .x = x, .y = y };
	const ig_output *out;
	size_t len, len2;
	char err[256];

	(void)state;
	void *self = create(mp, NP(mp));
	out = process(self, &b, IG_MODE_EVAL); /* fixes features at 2 */
	assert_int_equal(out->nfields, 3);
	void *before = save(self, &len);
	process(self, &b, IG_MODE_EVAL);
	void *after = save(self, &len2);
	assert_memory_equal(before, after, len); /* eval does not learn */
	free(before);
	free(after);

	/* without labels: predictions only in eval, an error in train */
	b.y = NULL;
	out = process(self, &b, IG_MODE_EVAL);
	assert_int_equal(out->nfields, 1);
	assert_string_equal(out->fields[0].name, "y_pred");
	assert_true(
	    fabs(out->fields[0].data[0] + out->fields[0].data[1] - 1) < 1e-12);
	assert_int_equal(
	    sm->process(self, &b, IG_MODE_TRAIN, &out, err, sizeof err), -1);
	assert_non_null(strstr(err, "training needs labels"));

	b.y = ybad;
	assert_int_equal(
	    sm->process(self, &b, IG_MODE_TRAIN, &out, err, sizeof err), -1);
	assert_non_null(strstr(err, "label 2 is not an integer in [0, 2)"));
	b.y = y;
	b.cols = 1;
	b.rows = 4;
	assert_int_equal(
	    sm->process(self, &b, IG_MODE_TRAIN, &out, err, sizeof err), -1);
	assert_non_null(strstr(err, "batch has 1 columns, the model has 2"));
	sm->destroy(self);
}

static void
test_bad_params(void **state)
{
	static const struct {
		ig_param p[2];
		size_t n;
		const char *want;
	} cases[] = {
		{ { { "lr", { .type = IG_VALUE_DOUBLE, .u.d = 0.1 } } }, 1,
		    "param classes is required" },
		{ { { "classes", { .type = IG_VALUE_INT, .u.i = 1 } } }, 1,
		    "classes must be in [2," },
		{ { { "classes", { .type = IG_VALUE_INT, .u.i = 3 } },
		      { "lr", { .type = IG_VALUE_DOUBLE, .u.d = -1 } } },
		    2, "lr must be > 0, got -1" },
		{ { { "classes", { .type = IG_VALUE_INT, .u.i = 3 } },
		      { "momentum", { .type = IG_VALUE_INT, .u.i = 1 } } },
		    2, "momentum must be in [0, 1)" },
		{ { { "classes", { .type = IG_VALUE_STR, .u.s = NULL } } }, 1,
		    "param classes must be an integer, got string" },
		{ { { "clases", { .type = IG_VALUE_INT, .u.i = 3 } } }, 1,
		    "unknown param 'clases' (known: classes, lr," },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < NP(cases); i++) {
		assert_null(
		    sm->create(cases[i].p, cases[i].n, err, sizeof err));
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
			    cases[i].want);
	}
}

static int
setup(void **state)
{
	(void)state;
	sm = builtin_find("softmax");
	return sm != NULL ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digits_accuracy),
		cmocka_unit_test(test_iris_accuracy),
		cmocka_unit_test(test_state_round_trip_is_bit_identical),
		cmocka_unit_test(test_bad_state_changes_nothing),
		cmocka_unit_test(test_eval_and_bad_batches),
		cmocka_unit_test(test_bad_params),
	};
	return cmocka_run_group_tests(tests, setup, fx_cleanup);
}
