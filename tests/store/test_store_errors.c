/* test_store_errors.c - a full disk, and errors that belong to one
 * operation. */
#include <string.h>

#include "helpers.h"

typedef struct errors {
	int calls;
	int64_t run_id;
	int code;
} errors;

static void
on_error(void *arg, int64_t run_id, const ig_err *err)
{
	errors *e = arg;

	assert_non_null(err);
	assert_true(err->message[0] != '\0');
	e->calls++;
	e->run_id = run_id;
	e->code = err->code;
}

static void
write_round(fixture *fx, int64_t run, int64_t series, int64_t from, int64_t n,
    result *ck)
{
	static char state_dict[4096];
	struct store_checkpoint c = { .run_id = run,
		.state_dict = state_dict,
		.state_dict_len = sizeof(state_dict) };
	struct store_progress p = { 1, 0, STORE_NONE, STORE_NONE };
	struct store_point pt;
	int64_t i;

	for (i = from; i < from + n; i++) {
		/* values chunks cannot squeeze: the big round must not fit */
		pt = (struct store_point){ series, 1, i, 0,
			(double)(uint32_t)(i * 2654435761u) / 7.0 };
		assert_int_equal(store_points(fx->store, run, &pt, 1), 0);
	}
	c.iteration = p.iteration = from + n - 1;
	assert_int_equal(
	    store_save_checkpoint(fx->store, &c, &p, record, ck), 0);
}

static void
test_full_disk(void **state)
{
	result ck = { 0 }, lim = { 0 };
	errors e = { 0 };
	int64_t run, loss, size;
	fixture fx;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	store_on_error(fx.store, on_error, &e);
	run = fx_create_run(&fx, "r");
	loss = fx_series(&fx, run, "loss");
	write_round(&fx, run, loss, 1, 1000, &ck);
	fx_flush(&fx);
	assert_int_equal(ck.code, 0);

	/* Cap the file at its size: the next round cannot fit. */
	size = fx_query(&fx, "PRAGMA page_count") *
	    fx_query(&fx, "PRAGMA page_size");
	assert_int_equal(store_limit_size(fx.store, size, record, &lim), 0);
	fx_flush(&fx);
	assert_int_equal(lim.code, 0);
	write_round(&fx, run, loss, 1001, 200000, &ck);
	fx_flush(&fx);
	assert_int_equal(ck.code, IG_PROTO_UNAVAILABLE);
	assert_non_null(strstr(ck.msg, fx.path));
	assert_non_null(strstr(ck.msg, "full"));
	assert_int_equal(e.calls, 1);
	assert_int_equal(e.run_id, run);
	assert_int_equal(e.code, IG_PROTO_UNAVAILABLE);
	/* What committed before is intact. */
	assert_int_equal(fx_query(&fx, FX_NPOINTS), 1000);
	assert_int_equal(
	    fx_query(&fx, "SELECT iteration FROM checkpoints"), 1000);

	/* Room again, but the run lost writes: more of its history would
	 * leave a gap, so it is refused... */
	assert_int_equal(store_limit_size(fx.store, 0, NULL, NULL), 0);
	write_round(&fx, run, loss, 200001, 200100, &ck);
	fx_flush(&fx);
	assert_int_equal(ck.code, IG_PROTO_CONFLICT);
	assert_non_null(strstr(ck.msg, "last checkpoint"));
	assert_int_equal(e.calls, 2);
	assert_int_equal(fx_query(&fx, FX_NPOINTS), 1000);
	/* ...until it resumes from its checkpoint: then the same work goes
	 * through. */
	assert_int_equal(store_truncate(fx.store, run, 1000, NULL, NULL), 0);
	write_round(&fx, run, loss, 1001, 200000, &ck);
	fx_flush(&fx);
	assert_int_equal(ck.code, 0);
	assert_int_equal(e.calls, 2);
	assert_int_equal(fx_query(&fx, FX_NPOINTS), 201000);
	fx_cleanup(&fx);
}

static void
test_one_bad_operation(void **state)
{
	struct store_event ev = { .kind = "ok" };
	struct store_point pt = { 424242, 1, 1, 0, 1 };
	result good = { 0 }, dup = { 0 }, missing = { 0 };
	errors e = { 0 };
	int64_t run, loss;
	fixture fx;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	store_on_error(fx.store, on_error, &e);
	run = fx_create_run(&fx, "r");
	loss = fx_series(&fx, run, "loss");
	fx_flush(&fx);

	/* In one transaction: a point of no series, a good event, a run
	 * name taken behind the store's back... */
	assert_int_equal(store_points(fx.store, run, &pt, 1), 0);
	ev.run_id = run;
	assert_int_equal(store_add_event(fx.store, &ev, record, &good), 0);
	pt.series_id = loss;
	assert_int_equal(store_points(fx.store, run, &pt, 1), 0);
	assert_int_equal(store_delete_run(fx.store, 999, record, &missing), 0);
	fx_flush(&fx);
	assert_int_equal(good.code, 0);
	assert_int_equal(missing.code, IG_PROTO_NOT_FOUND);
	assert_int_equal(e.calls, 2); /* run r once, run 999 once */
	assert_int_equal(e.code, IG_PROTO_NOT_FOUND);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM events"), 1);
	assert_int_equal(fx_query(&fx, FX_NPOINTS), 1);

	/* ... and a point written twice. */
	ev.kind = "after";
	assert_int_equal(store_points(fx.store, run, &pt, 1), 0);
	assert_int_equal(store_add_event(fx.store, &ev, record, &dup), 0);
	fx_flush(&fx);
	assert_int_equal(e.calls, 3);
	assert_int_equal(e.code, IG_PROTO_CONFLICT);
	assert_int_equal(dup.code, 0);
	assert_int_equal(fx_query(&fx, FX_NPOINTS), 1);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM events"), 2);
	fx_cleanup(&fx);
}

typedef struct closing {
	struct store *store;
	int64_t run;
	int write_status;
} closing;

/* Runs inside store_close: the store takes no more work. */
static void
write_while_closing(void *arg, const ig_err *err)
{
	closing *c = arg;

	assert_null(err);
	c->write_status = store_set_status(
	    c->store, c->run, IG_STATUS_PAUSED, NULL, NULL, NULL);
}

static void
test_close_commits_queued(void **state)
{
	struct store_run run = { .name = "r", .status = IG_STATUS_QUEUED };
	closing c = { 0 };
	ig_err err;
	fixture fx;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	c.store = fx.store;
	assert_int_equal(store_create_run(fx.store, &run, &c.run,
	                     write_while_closing, &c, &err),
	    0);
	fx_close(&fx);
	assert_int_equal(c.write_status, IG_PROTO_UNAVAILABLE);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM runs"), 1);
	fx_cleanup(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_disk),
		cmocka_unit_test(test_one_bad_operation),
		cmocka_unit_test(test_close_commits_queued),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
