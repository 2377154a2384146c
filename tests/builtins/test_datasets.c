/*
 * test_datasets.c - the daemon's table of data kinds (dataset/dataset.c)
 * against the spec's (proto/spec.c), and opening a source from a spec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fixture.h"

/* Every kind of the spec has a source, but none and worker; every source
 * is a kind of the spec. */
static void
test_tables_agree(void **state)
{
	int k;

	(void)state;
	for (k = 0; ig_data_kind_name(k) != NULL; k++) {
		const struct dataset *ds = dataset_find(k);

		if (k == IG_DATA_NONE || k == IG_DATA_WORKER) {
			assert_null(ds);
			continue;
		}
		if (ds == NULL)
			fail_msg("data kind %s has no source in the daemon",
			    ig_data_kind_name(k));
		assert_string_equal(ds->kind, ig_data_kind_name(k));
	}
	assert_null(dataset_find(k));
	assert_null(dataset_find(-1));
}

static void
open_fails(const ig_spec_data *d, const char *want)
{
	struct data_source train = { NULL, NULL }, val = { NULL, NULL };
	ig_err err = { 0 };

	assert_int_not_equal(
	    dataset_find(d->kind)->open(d, &train, &val, &err), 0);
	if (strstr(err.message, want) == NULL)
		fail_msg(
		    "error \"%s\" does not contain \"%s\"", err.message, want);
	assert_null(train.ops);
	assert_null(val.ops);
}

static void
test_open(void **state)
{
	ig_spec_data d = { .kind = IG_DATA_RANGE,
		.n = 7,
		.batch_size = IG_NONE,
		.label = { NULL, IG_NONE } };
	struct data_source train = { NULL, NULL }, val = { NULL, NULL };
	ig_err err = { 0 };

	(void)state;
	assert_false(dataset_find(IG_DATA_RANGE)->files);
	assert_int_equal(dataset_find(d.kind)->open(&d, &train, &val, &err), 0);
	assert_int_equal(train.ops->size(train.ctx), 7);
	assert_null(val.ops);
	train.ops->destroy(train.ctx);

	d = (ig_spec_data){ .kind = IG_DATA_CSV,
		.batch_size = 2,
		.header = true,
		.split = 0.5,
		.label = { NULL, IG_NONE } };
	d.path = (char *)fx_text("a.csv", "a,b\n1,2\n3,4\n5,6\n7,8\n", false);
	assert_true(dataset_find(d.kind)->files);
	assert_int_equal(dataset_find(d.kind)->open(&d, &train, &val, &err), 0);
	assert_int_equal(train.ops->size(train.ctx), 1);
	assert_non_null(val.ops);
	train.ops->destroy(train.ctx);
	val.ops->destroy(val.ctx);

	d.path = "/nonexistent.csv";
	open_fails(&d, "data.path: cannot open /nonexistent.csv");
	d.kind = IG_DATA_MSGPACK;
	open_fails(&d, "data.batch_size: a msgpack file's batches");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_agree),
		cmocka_unit_test(test_open),
	};
	return cmocka_run_group_tests(tests, NULL, fx_cleanup);
}
