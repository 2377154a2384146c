/*
 * test_job_spec.c - job_new checks a spec against the world: every refusal
 * names the spec field to change; nothing leaks on any of them (ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "jt.h"

#define DIGITS DIGITS_DATA

static void
expect_error(const char *spec, const char *want)
{
	const char *got = jt_job_error(spec, 0);

	if (strstr(got, want) == NULL)
		fail_msg("spec %s\n  error: %s\n  wanted: %s", spec, got, want);
}

static void
test_refusals(void **state)
{
	static const struct {
		const char *spec, *want;
	} cases[] = {
		{ "{'engine': 'builtin:nope'}",
		    "engine: no builtin called \"nope\" (builtins: noop, sleep, meanstd, softmax)" },
		{ "{'engine': 'plugin:/x.so', 'data': 'range:5'}",
		    "engine: plugin:/x.so: no such file or not permitted" },
		{ "{'engine': 'exec:python3 w.py', 'data': 'worker'}",
		    "epoch_length: required when the worker makes its own data" },
		{ "{'engine': 'builtin:noop'}", "epoch_length: required" },
		{ "{'engine': 'builtin:noop', 'data': 'range:5', 'params': {'x': 1}}",
		    "params: " },
		{ "{'engine': 'builtin:sleep', 'data': 'range:5', 'params': {'ms': -1}}",
		    "params: sleep: param ms" },
		{ "{'engine': 'builtin:noop', 'data': 'csv:/nonexistent/x.csv'}",
		    "data.path: cannot open /nonexistent/x.csv: No such file or directory" },
		{ "{'engine': 'builtin:noop', 'data': {'kind': 'msgpack', 'path': '/x', 'batch_size': 4}}",
		    "data.batch_size: " },
		{ "{'engine': 'builtin:noop', 'data': {'kind': 'msgpack', 'path': '/x', 'split': 0.5}}",
		    "data.split: " },
		{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv', 'path': '" DIGITS_PATH
		  "', "
		  "'header': false, 'columns': ['a,b']}}",
		    "data.columns[0]: " },
		{ "{'engine': 'builtin:noop', 'data': {'kind': 'csv', 'path': '" DIGITS_PATH
		  "', "
		  "'header': false, 'label': 99}}",
		    "data: " },
		{ "{'engine': 'builtin:softmax', 'data': 'range:5', 'params': {'classes': 3}, 'metrics': "
		  "[{'name': 'a', 'kind': 'accuracy', 'split': 'val'}], 'handlers': "
		  "[{'event': 'EPOCH_COMPLETED', 'action': 'evaluate'}]}",
		    "metrics[0].split: val needs a validation split" },
		{ "{'engine': 'builtin:softmax', " DIGITS ", 'metrics': "
		  "[{'name': 'a', 'kind': 'accuracy', 'split': 'val'}]}",
		    "metrics[0].split: val metrics are computed by an evaluate handler" },
		{ "{'engine': 'builtin:softmax', " DIGITS ", 'handlers': "
		  "[{'event': 'EPOCH_COMPLETED', 'action': 'evaluate'}]}",
		    "handlers[0].action: evaluate computes the metrics with split val" },
		{ "{'engine': 'builtin:noop', 'data': 'range:5', 'handlers': "
		  "[{'event': 'EPOCH_COMPLETED', 'action': 'evaluate'}]}",
		    "handlers[0].action: evaluate needs a validation split" },
		{ "{'engine': 'builtin:softmax', " DIGITS
		  ", 'handlers': [{'event': "
		  "'EPOCH_COMPLETED', 'action': 'early_stopping', 'metric': 'nope', 'patience': 2}]}",
		    "handlers[0].metric: no metric called \"nope\"" },
		{ "{'engine': 'builtin:noop', 'data': 'range:5', 'handlers': "
		  "[{'event': 'EPOCH_STARTED', 'action': 'terminate_epoch'}]}",
		    "handlers[0].event: terminate_epoch at EPOCH_STARTED" },
		{ "{'engine': 'builtin:softmax', 'data': 'range:5', 'params': {'classes': 1}}",
		    "params: softmax: param classes must be" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].spec, cases[i].want);
}

/* softmax's classes come from the labels when the spec omits them */
static void
test_classes_default(void **state)
{
	struct jt_rec rec = { 0 };
	struct job *job;

	(void)state;
	job = jt_job(uv_default_loop(),
	    "{'engine': 'builtin:softmax', " DIGITS "}", &rec);
	assert_int_equal(jt_run(uv_default_loop(), job, 0), IG_RUN_DONE);
	job_free(job);
	/* and with the features standardised */
	job = jt_job(uv_default_loop(),
	    "{'engine': 'builtin:softmax', 'data': {'kind': 'csv', "
	    "'path': '" DIGITS_PATH "', 'header': false, 'label': 64, "
	    "'scale': 'standard'}, 'epoch_length': 10}",
	    &rec);
	assert_int_equal(jt_run(uv_default_loop(), job, 0), IG_RUN_DONE);
	job_free(job);
	/* without labels there is nothing to infer from */
	expect_error(
	    "{'engine': 'builtin:softmax', 'data': {'kind': 'csv', 'path': '" DIGITS_PATH
	    "', 'header': false}}",
	    "params: softmax: param classes is required");
}

/* A root daemon opens data with the owner's access, and is root again after. */
static void
test_owner_access(void **state)
{
	char dir[] = "/tmp/jobtestXXXXXX", path[64], spec[160];
	struct jt_rec rec = { 0 };
	ig_err err = { 0 };
	struct job *job = NULL;
	FILE *f;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/d.csv", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("1,0\n2,1\n3,0\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	snprintf(spec, sizeof(spec),
	    "{'engine': 'builtin:noop', 'data': {'kind': 'csv', "
	    "'path': '%s', 'header': false}}",
	    path);

	const char *msg = jt_job_error(spec, 65534);
	assert_non_null(strstr(msg, "data.path: cannot open"));
	assert_non_null(strstr(msg, "Permission denied"));
	/* the loop thread is root again: root opens the 0600 file */
	ig_spec *s = jt_spec(spec);
	struct job_hooks hooks = jt_hooks(&rec);
	assert_int_equal(
	    job_new(uv_default_loop(), NULL, s, 0, &hooks, &job, &err), 0);
	job_free(job);
	/* and the owner may open it once it is theirs */
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(
	    job_new(uv_default_loop(), NULL, s, 65534, &hooks, &job, &err), 0);
	job_free(job);
	ig_spec_free(s);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_classes_default),
		cmocka_unit_test(test_owner_access),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
