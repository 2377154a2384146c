/* test_store_runs.c - runs, events, logs, delete. */
#include <stdio.h>
#include <string.h>

#include "helpers.h"

static void
test_status_names(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < IG_STATUS_COUNT; i++)
		assert_int_equal(
		    store_status_parse(ig_status_name((enum ig_status)i)), i);
	assert_null(ig_status_name(IG_STATUS_COUNT));
	assert_int_equal(store_status_parse("bogus"), -1);
}

static void
test_create_update_list_get(void **state)
{
	struct store_progress p = { 3, 250, 100, 10 };
	struct store_run run = { .name = "a", .spec_len = 0 }, got, *runs;
	result created = { 0 }, st = { 0 }, missing = { 0 };
	ig_err err;
	int64_t a, b, c, id;
	fixture fx;
	size_t n;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	assert_int_equal(
	    store_create_run(fx.store, &run, &a, record, &created, &err), 0);
	/* Taken while still on its way to the disk... */
	assert_int_equal(
	    store_create_run(fx.store, &run, &id, NULL, NULL, &err),
	    IG_PROTO_CONFLICT);
	assert_non_null(
	    strstr(err.message, "uid 0 has a run named 'a' already"));
	b = fx_create_run(&fx, "b");
	c = fx_create_run(&fx, NULL);
	assert_true(a < b && b < c);
	fx_flush(&fx);
	assert_int_equal(created.calls, 1);
	assert_int_equal(created.code, 0);
	/* ... and once committed. */
	assert_int_equal(
	    store_create_run(fx.store, &run, &id, NULL, NULL, &err),
	    IG_PROTO_CONFLICT);

	assert_int_equal(store_set_status(fx.store, a, IG_STATUS_COMPLETED,
	                     "done", record, &st),
	    0);
	assert_int_equal(store_set_progress(fx.store, b, &p, NULL, NULL), 0);
	assert_int_equal(store_set_status(fx.store, 999, IG_STATUS_PAUSED, NULL,
	                     record, &missing),
	    0);
	fx_flush(&fx);
	assert_int_equal(st.code, 0);
	assert_int_equal(missing.code, IG_PROTO_NOT_FOUND);
	assert_non_null(strstr(missing.msg, "run 999"));

	assert_int_equal(store_get_run(fx.reader, a, &got), 0);
	assert_string_equal(got.name, "a");
	assert_int_equal(got.status, IG_STATUS_COMPLETED);
	assert_string_equal(got.reason, "done");
	assert_true(got.finished >= got.created);
	store_run_clear(&got);
	assert_int_equal(store_get_run_by_name(fx.reader, 1000, "b", &got), 0);
	assert_int_equal(got.id, b);
	assert_int_equal(got.progress.epoch, 3);
	assert_int_equal(got.progress.iteration, 250);
	assert_int_equal(got.progress.epoch_length, 100);
	assert_int_equal(got.progress.max_epochs, 10);
	assert_true(got.started > 0);
	assert_int_equal(got.finished, 0);
	store_run_clear(&got);
	assert_int_equal(
	    store_get_run(fx.reader, 12345, &got), IG_PROTO_NOT_FOUND);
	assert_int_equal(store_get_run_by_name(fx.reader, 1000, "zz", &got),
	    IG_PROTO_NOT_FOUND);

	assert_int_equal(
	    store_list_runs(fx.reader, STORE_ANY_STATUS, &runs, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(runs[2].id, c);
	assert_null(runs[2].name);
	store_runs_free(runs, n);
	assert_int_equal(
	    store_list_runs(fx.reader, STORE_UNFINISHED, &runs, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(runs[0].id, b);
	store_runs_free(runs, n);
	fx_cleanup(&fx);
}

static void
test_events_and_logs(void **state)
{
	struct store_options opt = { .keep_log_lines = 5 };
	struct store_event ev = { .kind = "started" }, *evs;
	struct store_logline *lines;
	char line[32];
	fixture fx;
	int64_t run;
	size_t n;
	int i;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, &opt);
	run = fx_create_run(&fx, "r");
	ev.run_id = run;
	assert_int_equal(store_add_event(fx.store, &ev, NULL, NULL), 0);
	ev.kind = "paused";
	ev.epoch = 2;
	ev.iteration = 150;
	ev.detail = "by user 1000";
	assert_int_equal(store_add_event(fx.store, &ev, NULL, NULL), 0);
	for (i = 1; i <= 12; i++) {
		int len = snprintf(line, sizeof(line), "line %d", i);

		assert_int_equal(
		    store_log(fx.store, run, line, (size_t)len), 0);
	}
	fx_flush(&fx);

	assert_int_equal(store_events(fx.reader, run, 0, 0, &evs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(evs[0].kind, "started");
	assert_null(evs[0].detail);
	assert_true(evs[0].time > 0);
	assert_string_equal(evs[1].kind, "paused");
	assert_string_equal(evs[1].detail, "by user 1000");
	assert_int_equal(evs[1].iteration, 150);
	i = (int)evs[0].id;
	store_events_free(evs, n);
	assert_int_equal(store_events(fx.reader, run, i, 1, &evs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(evs[0].kind, "paused");
	store_events_free(evs, n);

	/* Bounded per run: the last five of twelve. */
	assert_int_equal(store_log_tail(fx.reader, run, 100, &lines, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(lines[0].seq, 8);
	assert_string_equal(lines[0].line, "line 8");
	assert_int_equal(lines[4].len, strlen("line 12"));
	store_logs_free(lines, n);
	assert_int_equal(store_log_tail(fx.reader, run, 2, &lines, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(lines[1].line, "line 12");
	store_logs_free(lines, n);
	fx_cleanup(&fx);
}

static void
fill_run(fixture *fx, int64_t run)
{
	struct store_checkpoint c = { .run_id = run,
		.iteration = 10,
		.state_dict = "sd",
		.state_dict_len = 2 };
	struct store_progress p = { 1, 10, 10, 5 };
	struct store_event ev = { .run_id = run, .kind = "started" };
	struct store_point pts[10];
	int64_t loss = fx_series(fx, run, "loss");
	int i;

	for (i = 0; i < 10; i++)
		pts[i] = (struct store_point){ loss, 1, i + 1, 0, i * 0.5 };
	assert_int_equal(store_points(fx->store, run, pts, 10), 0);
	assert_int_equal(
	    store_save_checkpoint(fx->store, &c, &p, NULL, NULL), 0);
	assert_int_equal(store_add_event(fx->store, &ev, NULL, NULL), 0);
	assert_int_equal(store_log(fx->store, run, "x", 1), 0);
}

static void
test_delete_cascade(void **state)
{
	static const char *const tables[] = {
		"SELECT count(*) FROM checkpoints",
		"SELECT count(*) FROM series",
		FX_NPOINTS,
		"SELECT count(*) FROM events",
		"SELECT count(*) FROM logs",
		"SELECT count(*) FROM runs",
	};
	result del = { 0 }, again = { 0 };
	int64_t a, b;
	fixture fx;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	a = fx_create_run(&fx, "a");
	b = fx_create_run(&fx, "b");
	fill_run(&fx, a);
	fill_run(&fx, b);
	fx_flush(&fx);
	assert_int_equal(fx_query(&fx, tables[2]), 20);
	assert_int_equal(store_delete_run(fx.store, a, record, &del), 0);
	assert_int_equal(store_delete_run(fx.store, a, record, &again), 0);
	fx_flush(&fx);
	assert_int_equal(del.code, 0);
	assert_int_equal(again.code, IG_PROTO_NOT_FOUND);
	/* Only b's rows are left. */
	assert_int_equal(fx_query(&fx, tables[0]), 1);
	assert_int_equal(fx_query(&fx, tables[1]), 1);
	assert_int_equal(fx_query(&fx, tables[2]), 10);
	assert_int_equal(fx_query(&fx, tables[3]), 1);
	assert_int_equal(fx_query(&fx, tables[4]), 1);
	assert_int_equal(fx_query(&fx, tables[5]), 1);
	fx_close(&fx);
	/* The name is free again. */
	fx_open(&fx, NULL);
	assert_true(fx_create_run(&fx, "a") > b);
	fx_flush(&fx);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM runs"), 2);
	fx_cleanup(&fx);
}

/* A name is taken for its owner only, pending or committed. */
static void
test_names_per_owner(void **state)
{
	struct store_run run = { .name = "exp", .owner_uid = 1000 }, got;
	ig_err err;
	int64_t a, b, c;
	fixture fx;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	assert_int_equal(
	    store_create_run(fx.store, &run, &a, NULL, NULL, &err), 0);
	run.owner_uid = 1001;
	assert_int_equal(
	    store_create_run(fx.store, &run, &b, NULL, NULL, &err), 0);
	fx_flush(&fx);
	run.owner_uid = 1002;
	assert_int_equal(
	    store_create_run(fx.store, &run, &c, NULL, NULL, &err), 0);
	assert_int_equal(store_create_run(fx.store, &run, &c, NULL, NULL, &err),
	    IG_PROTO_CONFLICT);
	run.owner_uid = 1001;
	assert_int_equal(store_create_run(fx.store, &run, &c, NULL, NULL, &err),
	    IG_PROTO_CONFLICT);
	fx_flush(&fx);
	assert_int_equal(
	    store_get_run_by_name(fx.reader, 1001, "exp", &got), 0);
	assert_int_equal(got.id, b);
	store_run_clear(&got);
	assert_int_equal(
	    store_get_run_by_name(fx.reader, 1000, "exp", &got), 0);
	assert_int_equal(got.id, a);
	store_run_clear(&got);
	fx_cleanup(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_create_update_list_get),
		cmocka_unit_test(test_events_and_logs),
		cmocka_unit_test(test_delete_cascade),
		cmocka_unit_test(test_names_per_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
