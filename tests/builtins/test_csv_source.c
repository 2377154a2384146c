/*
 * test_csv_source.c - the csv: data source: batching, split, shuffle, scale.
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
#include <cmocka.h>

#include "fixture.h"

#define NP(a) (sizeof(a) / sizeof((a)[0]))

/* A file of n rows "i,10*i,i%3": row i is recognisable by its features. */
static const char *
numbered(size_t n)
{
	static char text[1 << 16];
	size_t len = 0;

	assert_true(n * 24 < sizeof text);
	len += (size_t)sprintf(text, "id,ten,label\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(
		    text + len, "%zu,%zu,%zu\n", i, 10 * i, i % 3);
	return fx_text("numbered.csv", text, false);
}

/* Row ids (the first feature) of every batch of one pass, in order. */
static size_t
pass_ids(
    const struct data_source *s, long long seed, long long pass, size_t *ids)
{
	size_t n = 0;
	int64_t size = s->ops->size(s->ctx);

	for (int64_t pos = 0; pos < size; pos++) {
		ig_batch b = fx_get(s, seed, pass, pos);
		assert_int_equal(b.index, pos);
		for (size_t r = 0; r < b.rows; r++) {
			assert_true(
			    b.x[r * b.cols + 1] == 10 * b.x[r * b.cols]);
			ids[n++] = (size_t)b.x[r * b.cols];
		}
	}
	return n;
}

static void
test_batches(void **state)
{
	ig_param p[] = { fx_int("batch_size", 4), fx_str("label", "label") };
	struct data_source train, val;

	(void)state;
	fx_csv(numbered(10), p, NP(p), &train, &val);
	assert_null(val.ops);
	assert_int_equal(train.ops->size(train.ctx), 3);
	ig_batch b = fx_get(&train, IG_NONE, 0, 2);
	assert_int_equal(b.rows, 2);
	assert_int_equal(b.cols, 2);
	assert_true(b.x[0] == 8 && b.x[1] == 80 && b.x[2] == 9);
	assert_true(b.y[0] == 2 && b.y[1] == 0);

	char err[128];
	ig_fetch f = { IG_NONE, 0, 3 };
	assert_int_equal(
	    train.ops->get(train.ctx, &f, &b, err, sizeof err), -1);
	assert_non_null(strstr(err, "out of range"));
	fx_close(&train);

	/* drop_last drops the short batch */
	ig_param q[] = { fx_int("batch_size", 4), fx_bool("drop_last", true) };
	fx_csv(numbered(10), q, NP(q), &train, &val);
	assert_int_equal(train.ops->size(train.ctx), 2);
	assert_null(fx_get(&train, IG_NONE, 0, 0).y);
	fx_close(&train);
}

static void
test_split_is_deterministic(void **state)
{
	ig_param p[] = { fx_int("batch_size", 7), fx_dbl("val_fraction", 0.25),
		fx_int("split_seed", 3) };
	size_t t1[100], v1[100], t2[100], v2[100];
	struct data_source train, val;

	(void)state;
	fx_csv(numbered(100), p, NP(p), &train, &val);
	size_t nt = pass_ids(&train, IG_NONE, 0, t1);
	size_t nv = pass_ids(&val, IG_NONE, 0, v1);
	assert_int_equal(nt, 75);
	assert_int_equal(nv, 25);
	/* closing in either order is fine: the table is shared */
	fx_close(&train);
	fx_close(&val);

	/* the same split on a second open; disjoint, covering, sorted */
	fx_csv(numbered(100), p, NP(p), &train, &val);
	assert_int_equal(pass_ids(&train, IG_NONE, 0, t2), nt);
	assert_int_equal(pass_ids(&val, IG_NONE, 0, v2), nv);
	assert_memory_equal(t1, t2, sizeof t1[0] * nt);
	assert_memory_equal(v1, v2, sizeof v1[0] * nv);
	bool seen[100] = { false };
	for (size_t i = 0; i < nt; i++) {
		seen[t1[i]] = true;
		assert_true(i == 0 || t1[i - 1] < t1[i]);
	}
	for (size_t i = 0; i < nv; i++) {
		assert_false(seen[v1[i]]);
		seen[v1[i]] = true;
		assert_true(i == 0 || v1[i - 1] < v1[i]);
	}
	/* not merely the last rows of the file */
	assert_true(v1[0] < 75);
	fx_close(&val);
	fx_close(&train);

	/* another split_seed holds out other rows */
	p[2] = fx_int("split_seed", 4);
	fx_csv(numbered(100), p, NP(p), &train, &val);
	assert_int_equal(pass_ids(&val, IG_NONE, 0, v2), nv);
	assert_memory_not_equal(v1, v2, sizeof v1[0] * nv);
	fx_close(&train);
	fx_close(&val);
}

static void
test_shuffle(void **state)
{
	ig_param p[] = { fx_int("batch_size", 8), fx_bool("shuffle", true),
		fx_dbl("val_fraction", 0.2) };
	size_t a[100], b[100], c[100];
	struct data_source train, val;

	(void)state;
	fx_csv(numbered(100), p, NP(p), &train, &val);
	size_t n = pass_ids(&train, 42, 5, a);
	assert_int_equal(n, 80);
	/* a pure function of (seed, pass): fetch again, in another order */
	for (int64_t pos = train.ops->size(train.ctx) - 1; pos >= 0; pos--) {
		ig_batch bt = fx_get(&train, 42, 5, pos);
		for (size_t r = 0; r < bt.rows; r++)
			b[(size_t)pos * 8 + r] = (size_t)bt.x[r * bt.cols];
	}
	assert_memory_equal(a, b, sizeof a[0] * n);

	/* a bijection onto the train rows, which unshuffled are in file order */
	size_t sorted[100];
	struct data_source plain, plain_val;
	p[1] = fx_bool("shuffle", false);
	fx_csv(numbered(100), p, NP(p), &plain, &plain_val);
	assert_int_equal(pass_ids(&plain, 42, 5, sorted), n);
	fx_close(&plain);
	fx_close(&plain_val);
	memcpy(c, a, sizeof a[0] * n);
	for (size_t i = 1; i < n; i++) { /* insertion sort */
		for (size_t j = i; j > 0 && c[j - 1] > c[j]; j--) {
			size_t t = c[j];
			c[j] = c[j - 1];
			c[j - 1] = t;
		}
	}
	assert_memory_equal(c, sorted, sizeof c[0] * n);
	assert_memory_not_equal(a, sorted, sizeof a[0] * n);

	/* another pass or seed gives another order */
	pass_ids(&train, 42, 6, b);
	assert_memory_not_equal(a, b, sizeof a[0] * n);
	pass_ids(&train, 43, 5, b);
	assert_memory_not_equal(a, b, sizeof a[0] * n);
	/* no run seed: still shuffled (seed 0), still deterministic */
	pass_ids(&train, IG_NONE, 1, b);
	pass_ids(&train, 0, 1, c);
	assert_memory_equal(b, c, sizeof b[0] * n);

	/* the validation source is never shuffled */
	size_t v1[20], v2[20];
	pass_ids(&val, IG_NONE, 0, v1);
	pass_ids(&val, 42, 5, v2);
	assert_memory_equal(v1, v2, sizeof v1);
	fx_close(&val);
	fx_close(&train);
}

static void
test_scale(void **state)
{
	const char *path =
	    fx_text("s.csv", "0,4,1\n2,4,0\n4,4,1\n6,4,0\n", false);
	ig_param p[] = { fx_int("batch_size", 4), fx_int("label", -1),
		fx_int("scale", 2) };
	struct data_source train, val;

	(void)state;
	fx_csv(path, p, NP(p), &train, &val);
	ig_batch b = fx_get(&train, IG_NONE, 0, 0);
	const double halved[] = { 0, 2, 1, 2, 2, 2, 3, 2 };
	assert_memory_equal(b.x, halved, sizeof halved);
	assert_true(b.y[3] == 0); /* labels are not scaled */
	fx_close(&train);

	/* standard: zero mean, unit variance; a constant column only centred */
	p[2] = fx_str("scale", "standard");
	fx_csv(path, p, NP(p), &train, &val);
	b = fx_get(&train, IG_NONE, 0, 0);
	double sd = sqrt(5); /* of 0,2,4,6 */
	const double standard[] = { -3 / sd, 0, -1 / sd, 0, 1 / sd, 0, 3 / sd,
		0 };
	for (size_t i = 0; i < NP(standard); i++)
		assert_true(fabs(b.x[i] - standard[i]) < 1e-12);
	fx_close(&train);
}

static void
test_standard_uses_train_rows_only(void **state)
{
	ig_param p[] = { fx_str("label", "label"), fx_str("scale", "standard"),
		fx_dbl("val_fraction", 0.5), fx_int("batch_size", 100) };
	struct data_source train, val;

	(void)state;
	fx_csv(numbered(40), p, NP(p), &train, &val);
	ig_batch b = fx_get(&train, IG_NONE, 0, 0);
	double sum = 0;
	for (size_t r = 0; r < b.rows; r++)
		sum += b.x[r * b.cols];
	assert_true(fabs(sum) < 1e-9);
	const struct data_table *t = csv_source_table(&val);
	assert_non_null(t);
	assert_int_equal(t->rows, 40);
	assert_int_equal(data_table_classes(t), 3);
	fx_close(&train);
	fx_close(&val);
}

static void
expect_open_error(
    const char *path, const ig_param *p, size_t n, const char *want)
{
	struct data_source train, val;
	ig_err err;

	assert_int_equal(
	    csv_open(path, p, n, &train, &val, &err), IG_PROTO_INVALID_PARAMS);
	assert_int_equal(err.code, IG_PROTO_INVALID_PARAMS);
	if (strstr(err.message, want) == NULL)
		fail_msg(
		    "error \"%s\" does not contain \"%s\"", err.message, want);
	assert_null(train.ops);
	assert_null(val.ops);
}

static void
test_bad_params(void **state)
{
	const char *path = numbered(10);

	(void)state;
	ig_param a[] = { fx_int("batchsize", 4) };
	expect_open_error(
	    path, a, NP(a), "csv: unknown param 'batchsize' (known: header,");
	ig_param b[] = { fx_int("batch_size", 0) };
	expect_open_error(path, b, NP(b), "batch_size must be in [1,");
	ig_param c[] = { fx_dbl("val_fraction", 1) };
	expect_open_error(path, c, NP(c), "val_fraction must be in [0, 1)");
	ig_param d[] = { fx_dbl("val_fraction", 0.01) };
	expect_open_error(path, d, NP(d), "leaves no validation rows");
	ig_param e[] = { fx_int("scale", 0) };
	expect_open_error(path, e, NP(e), "scale must be a non-zero number");
	ig_param f[] = { fx_str("header", "yes") };
	expect_open_error(
	    path, f, NP(f), "header must be true, false or \"auto\"");
	ig_param g[] = { fx_bool("label", true) };
	expect_open_error(
	    path, g, NP(g), "label must be a column name or index");
	ig_param h[] = { fx_str("columns", "id,nope") };
	expect_open_error(path, h, NP(h), "column 'nope': no such column");
	ig_param i[] = { fx_int("batch_size", 20), fx_bool("drop_last", true) };
	expect_open_error(path, i, NP(i), "leaves no batch");
	ig_param j[] = { fx_dbl("batch_size", 2.5) };
	expect_open_error(path, j, NP(j), "batch_size must be an integer");
	expect_open_error(
	    "/nonexistent.csv", NULL, 0, "/nonexistent.csv: cannot open");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_split_is_deterministic),
		cmocka_unit_test(test_shuffle),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_standard_uses_train_rows_only),
		cmocka_unit_test(test_bad_params),
	};
	return cmocka_run_group_tests(tests, NULL, fx_cleanup);
}
