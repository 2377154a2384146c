/* test_store_metrics.c - checkpoints with their points, resume truncation,
 * metric history. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* ---- a checkpoint and the points before it commit together ------------- */

typedef struct watcher {
	const char *path;
	atomic_bool stop;
	int checks;
	char failure[256];
} watcher;

/* Poll the database: the points must always be exactly those up to the
 * latest checkpoint (two series, one point per iteration each). */
static void
watch(void *arg)
{
	watcher *w = arg;
	sqlite3 *db;
	sqlite3_stmt *st;

	if (sqlite3_open_v2(w->path, &db, SQLITE_OPEN_READONLY, NULL) ||
	    sqlite3_prepare_v2(db,
	        "SELECT"
	        " (SELECT coalesce(max(iteration), 0) FROM checkpoints),"
	        " (SELECT coalesce(sum(n), 0) FROM chunks),"
	        " (SELECT coalesce(max(last), 0) FROM chunks)",
	        -1, &st, NULL)) {
		snprintf(
		    w->failure, sizeof(w->failure), "%s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return;
	}
	while (!atomic_load(&w->stop) && w->failure[0] == '\0') {
		if (sqlite3_step(st) == SQLITE_ROW) {
			int64_t ck = sqlite3_column_int64(st, 0);
			int64_t n = sqlite3_column_int64(st, 1);
			int64_t top = sqlite3_column_int64(st, 2);

			if (n != 2 * ck || top != ck)
				snprintf(w->failure, sizeof(w->failure),
				    "checkpoint at %lld but %lld points up "
				    "to %lld",
				    (long long)ck, (long long)n,
				    (long long)top);
			w->checks++;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_checkpoint_with_points(void **state)
{
	struct store_options opt = { .keep_checkpoints = 3 };
	struct store_point pts[2];
	struct store_checkpoint c = { .state_dict = "s", .state_dict_len = 1 };
	struct store_progress p = { 1, 0, STORE_NONE, STORE_NONE };
	watcher w = { .stop = false };
	int64_t run, s1, s2, it;
	uv_thread_t thread;
	fixture fx;
	int round;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, &opt);
	run = fx_create_run(&fx, "r");
	s1 = fx_series(&fx, run, "loss");
	s2 = fx_series(&fx, run, "lr");
	fx_flush(&fx);
	w.path = fx.path;
	assert_int_equal(uv_thread_create(&thread, watch, &w), 0);
	it = 0;
	for (round = 1; round <= 300; round++) {
		/* One loop turn: 20 iterations of points, then a checkpoint. */
		for (; it < round * 20;) {
			it++;
			pts[0] = (struct store_point){ s1, 1, it, 0,
				1.0 / (double)it };
			pts[1] = (struct store_point){ s2, 1, it, 0, 0.1 };
			assert_int_equal(
			    store_points(fx.store, run, pts, 2), 0);
		}
		c.run_id = run;
		c.iteration = p.iteration = it;
		assert_int_equal(
		    store_save_checkpoint(fx.store, &c, &p, NULL, NULL), 0);
		uv_run(&fx.loop, UV_RUN_NOWAIT);
	}
	fx_flush(&fx);
	atomic_store(&w.stop, true);
	uv_thread_join(&thread);
	if (w.failure[0] != '\0')
		fail_msg("%s", w.failure);
	assert_true(w.checks > 0);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM checkpoints"), 3);
	assert_int_equal(
	    fx_query(&fx, "SELECT max(seq) FROM checkpoints"), 300);
	assert_int_equal(fx_query(&fx, "SELECT iteration FROM runs"), 6000);
	fx_cleanup(&fx);
}

/* ---- resume ------------------------------------------------------------ */

static void
put_points(fixture *fx, int64_t run, int64_t series, int64_t from, int64_t to)
{
	struct store_point pt;
	int64_t i;

	for (i = from; i <= to; i++) {
		pt = (struct store_point){ series, (i - 1) / 10 + 1, i,
			(double)i, (double)i };
		assert_int_equal(store_points(fx->store, run, &pt, 1), 0);
	}
}

/* Checkpoints taken in one loop turn commit together, so the store keeps
 * the last: one row, with every point enqueued before it. */
static void
test_checkpoints_in_one_turn_coalesce(void **state)
{
	fixture fx;
	int64_t run, loss;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	run = fx_create_run(&fx, "r");
	loss = fx_series(&fx, run, "loss");
	fx_flush(&fx);
	for (int64_t it = 1; it <= 30; it++) {
		struct store_point pt = { loss, 1, it, 0, (double)it };
		assert_int_equal(store_points(fx.store, run, &pt, 1), 0);
		if (it % 10 == 0) {
			struct store_checkpoint c = { .run_id = run,
				.epoch = 1,
				.iteration = it,
				.state_dict = "\x80",
				.state_dict_len = 1 };
			struct store_progress p = { 1, it, STORE_NONE,
				STORE_NONE };
			assert_int_equal(
			    store_save_checkpoint(fx.store, &c, &p, NULL, NULL),
			    0);
		}
	}
	fx_flush(&fx);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM checkpoints"), 1);
	assert_int_equal(
	    fx_query(&fx, "SELECT iteration FROM checkpoints"), 30);
	/* written once: the first checkpoint of the run */
	assert_int_equal(fx_query(&fx, "SELECT seq FROM checkpoints"), 1);
	assert_int_equal(fx_query(&fx, FX_NPOINTS), 30);
	fx_cleanup(&fx);
}

static void
test_truncate_on_resume(void **state)
{
	struct store_checkpoint c = { .iteration = 60,
		.epoch = 6,
		.data_pass = 6,
		.data_pos = 0,
		.state_dict = "ck",
		.state_dict_len = 2,
		.process_state = "ps",
		.process_state_len = 2 };
	struct store_progress p = { 6, 60, 10, 10 };
	struct store_event ev = { .kind = "note" };
	struct store_resume *res;
	result after = { 0 };
	int64_t run, loss;
	fixture fx;
	size_t n;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	run = fx_create_run(&fx, "r");
	loss = fx_series(&fx, run, "loss");
	put_points(&fx, run, loss, 1, 60);
	c.run_id = ev.run_id = run;
	assert_int_equal(
	    store_save_checkpoint(fx.store, &c, &p, NULL, NULL), 0);
	ev.iteration = 50;
	assert_int_equal(store_add_event(fx.store, &ev, NULL, NULL), 0);
	/* Work after the checkpoint that a crash would lose the state of. */
	put_points(&fx, run, loss, 61, 100);
	ev.iteration = 80;
	assert_int_equal(store_add_event(fx.store, &ev, NULL, NULL), 0);
	fx_close(&fx);

	fx_open(&fx, NULL);
	assert_int_equal(store_unfinished(fx.reader, &res, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(res[0].run.id, run);
	assert_true(res[0].has_checkpoint);
	assert_int_equal(res[0].checkpoint.iteration, 60);
	assert_int_equal(res[0].checkpoint.data_pass, 6);
	assert_int_equal(res[0].checkpoint.process_state_len, 2);
	assert_memory_equal(res[0].checkpoint.state_dict, "ck", 2);
	assert_memory_equal(res[0].checkpoint.process_state, "ps", 2);
	store_resume_free(res, n);
	assert_int_equal(store_truncate(fx.store, run, 60, NULL, NULL), 0);
	/* The series id survives the restart; replaying writes no double. */
	assert_int_equal(fx_series(&fx, run, "loss"), loss);
	put_points(&fx, run, loss, 61, 100);
	assert_int_equal(store_flush(fx.store, record, &after), 0);
	uv_run(&fx.loop, UV_RUN_DEFAULT);
	assert_int_equal(after.code, 0);
	assert_int_equal(fx_query(&fx, FX_NPOINTS), 100);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM events"), 1);
	fx_cleanup(&fx);
}

/* ---- history ----------------------------------------------------------- */

static void
test_history(void **state)
{
	const char *const loss_only[] = { "loss", "nope" };
	struct store_query q = { .names = loss_only,
		.nnames = 2,
		.from = INT64_MIN,
		.to = INT64_MAX };
	struct store_series_data *s;
	struct store_point pt;
	int64_t run, loss, acc, i;
	fixture fx;
	size_t n;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	run = fx_create_run(&fx, "r");
	loss = fx_series(&fx, run, "loss");
	acc = fx_series(&fx, run, "acc");
	assert_int_equal(fx_series(&fx, run, "loss"), loss);
	put_points(&fx, run, loss, 1, 1000); /* 10 per epoch */
	for (i = 1; i <= 100; i++) {
		pt = (struct store_point){ acc, i, i * 10, 0,
			i == 7 ? NAN : (double)i / 100 };
		assert_int_equal(store_points(fx.store, run, &pt, 1), 0);
	}
	fx_flush(&fx);
	q.run_id = run;

	assert_int_equal(store_series_list(fx.reader, run, &s, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].name, "acc");
	assert_int_equal(s[1].id, loss);
	store_series_free(s, n);

	/* Everything, filtered by name. */
	assert_int_equal(store_history(fx.reader, &q, &s, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(s[0].name, "loss");
	assert_int_equal(s[0].n, 1000);
	assert_int_equal(fx_point(&s[0], 999).iteration, 1000);
	assert_int_equal(fx_point(&s[0], 999).epoch, 100);
	store_series_free(s, n);

	/* An iteration range. */
	q.from = 101;
	q.to = 200;
	assert_int_equal(store_history(fx.reader, &q, &s, &n), 0);
	assert_int_equal(s[0].n, 100);
	assert_int_equal(fx_point(&s[0], 0).iteration, 101);
	store_series_free(s, n);

	/* Downsampled to 10 buckets of 10 iterations: last, then mean. */
	q.max_points = 10;
	assert_int_equal(store_history(fx.reader, &q, &s, &n), 0);
	assert_int_equal(s[0].n, 10);
	assert_int_equal(fx_point(&s[0], 0).iteration, 110);
	assert_true(fx_point(&s[0], 0).value == 110);
	assert_int_equal(fx_point(&s[0], 9).iteration, 200);
	store_series_free(s, n);
	q.downsample = STORE_DS_MEAN;
	assert_int_equal(store_history(fx.reader, &q, &s, &n), 0);
	assert_int_equal(s[0].n, 10);
	assert_true(fabs(fx_point(&s[0], 0).value - 105.5) < 1e-9);
	store_series_free(s, n);
	/* One point, the last: the range's last point, not the series'. */
	q.max_points = 1;
	q.downsample = STORE_DS_LAST;
	assert_int_equal(store_history(fx.reader, &q, &s, &n), 0);
	assert_int_equal(s[0].n, 1);
	assert_int_equal(fx_point(&s[0], 0).iteration, 200);
	assert_true(fx_point(&s[0], 0).value == 200);
	store_series_free(s, n);
	q.max_points = 10;
	q.downsample = STORE_DS_MEAN;

	/* The epoch axis, every series; NaN comes back as NaN. */
	q.names = NULL;
	q.axis = STORE_AXIS_EPOCH;
	q.from = 5;
	q.to = 9;
	q.max_points = 0;
	assert_int_equal(store_history(fx.reader, &q, &s, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].name, "acc");
	assert_int_equal(s[0].n, 5);
	assert_true(isnan(fx_point(&s[0], 2).value));
	assert_int_equal(s[1].n, 50);
	assert_int_equal(fx_point(&s[1], 0).iteration, 41);
	store_series_free(s, n);

	/* More points than max_points on the epoch axis: one per epoch. */
	q.from = INT64_MIN;
	q.to = INT64_MAX;
	q.max_points = 100;
	q.downsample = STORE_DS_LAST;
	assert_int_equal(store_history(fx.reader, &q, &s, &n), 0);
	assert_int_equal(s[1].n, 100);
	assert_int_equal(fx_point(&s[1], 41).iteration, 420);
	store_series_free(s, n);
	fx_cleanup(&fx);
}

/* A fixture opened with run "r", its series "loss" of points 1..n
 * stored: the run's id. */
static int64_t
loss_run(fixture *fx, int64_t n)
{
	int64_t run;

	fx_init(fx);
	fx_open(fx, NULL);
	run = fx_create_run(fx, "r");
	put_points(fx, run, fx_series(fx, run, "loss"), 1, n);
	fx_flush(fx);
	return run;
}

/* A page's limit: the first limit points of each series from `from`, in
 * order, and the next page starts where it stopped; downsampling ignores
 * it (it needs the whole range). */
static void
test_history_pages(void **state)
{
	struct store_query q = {
		.from = INT64_MIN, .to = INT64_MAX, .limit = 300
	};
	struct store_series_data *s;
	int64_t seen = 0;
	fixture fx;
	size_t n, pages = 0;

	(void)state;
	q.run_id = loss_run(&fx, 1000);

	for (;;) {
		assert_int_equal(store_history(fx.reader, &q, &s, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(
		    s[0].n, seen + 300 <= 1000 ? 300 : 1000 - seen);
		for (size_t i = 0; i < s[0].n; i++) {
			assert_int_equal(fx_point(&s[0], i).iteration,
			    seen + 1 + (int64_t)i);
			assert_true(fx_point(&s[0], i).time ==
			    (double)(seen + 1 + (int64_t)i));
		}
		seen += (int64_t)s[0].n;
		pages++;
		size_t got = s[0].n;
		store_series_free(s, n);
		if (got < q.limit)
			break;
		q.from = seen + 1;
	}
	assert_int_equal(seen, 1000);
	assert_int_equal(pages, 4);

	q.from = INT64_MIN;
	q.max_points = 10;
	assert_int_equal(store_history(fx.reader, &q, &s, &n), 0);
	assert_int_equal(s[0].n, 10);
	assert_int_equal(fx_point(&s[0], 9).iteration, 1000);
	store_series_free(s, n);
	fx_cleanup(&fx);
}

/* A chunk row whose count is not a chunk's (a damaged or edited
 * database) is refused as corrupt, not used to size the answer. */
static void
test_history_bad_count(void **state)
{
	struct store_query q = { .from = INT64_MIN, .to = INT64_MAX };
	struct store_series_data *s;
	sqlite3 *db;
	fixture fx;
	size_t n;

	(void)state;
	q.run_id = loss_run(&fx, 1000);
	assert_int_equal(sqlite3_open(fx.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                     "UPDATE chunks SET n = 576460752303423488 "
	                     "WHERE first = (SELECT min(first) FROM chunks)",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	for (size_t limit = 0; limit <= 300; limit += 300) {
		q.limit = limit;
		assert_int_not_equal(store_history(fx.reader, &q, &s, &n), 0);
		assert_non_null(
		    strstr(store_reader_error(fx.reader), "malformed"));
	}
	fx_cleanup(&fx);
}

/* ---- chunks -------------------------------------------------------------- */

/* Point i's value: every 7th one special (NaN payloads, signed zeros,
 * infinities, subnormals), the others any 64 bits at all. */
static double
odd_value(int64_t i)
{
	static const uint64_t special[] = { 0x7ff8000000000123u,
		0xfff0000000000001u, 0x8000000000000000u, 0x0000000000000000u,
		0x7ff0000000000000u, 0xfff0000000000000u, 0x0000000000000001u,
		0x800fffffffffffffu };
	uint64_t b = (uint64_t)i * 0x9e3779b97f4a7c15u;
	double v;

	b ^= b >> 29;
	if (i % 7 == 0)
		b = special[(i / 7) % 8];
	memcpy(&v, &b, sizeof(v));
	return v;
}

static void
put_odd(fixture *fx, int64_t run, int64_t series, int64_t from, int64_t to)
{
	struct store_point v[600];
	int64_t i = from;

	/* batches of one, a few and many: rows, and straight to chunks */
	while (i <= to) {
		size_t n = (size_t)(i % 3 == 0 ? 1 : i % 3 == 1 ? 37 : 600), k;

		for (k = 0; k < n && i <= to; k++, i++)
			v[k] = (struct store_point){ series, i / 100, i,
				1.7e9 + (double)i / 1000, odd_value(i) };
		assert_int_equal(store_points(fx->store, run, v, k), 0);
	}
}

/* run's only series holds iterations 1..n, bit for bit. */
static void
assert_odd(fixture *fx, int64_t run, int64_t n)
{
	struct store_query q = {
		.run_id = run, .from = INT64_MIN, .to = INT64_MAX
	};
	struct store_series_data *d;
	size_t nd;

	assert_int_equal(store_history(fx->reader, &q, &d, &nd), 0);
	assert_int_equal(nd, 1);
	assert_int_equal(d[0].n, n);
	for (int64_t i = 1; i <= n; i++) {
		const ig_point p = fx_point(&d[0], i - 1);
		double want = odd_value(i);

		assert_int_equal(p.iteration, i);
		assert_int_equal(p.epoch, i / 100);
		assert_true(p.time == 1.7e9 + (double)i / 1000);
		assert_memory_equal(&p.value, &want, sizeof(want));
	}
	store_series_free(d, nd);
}

/* max_points 1, LAST: the point at iteration want, bit for bit. */
static void
assert_last(
    fixture *fx, int64_t run, enum store_axis axis, int64_t to, int64_t want)
{
	struct store_query q = { .run_id = run,
		.axis = axis,
		.from = INT64_MIN,
		.to = to,
		.max_points = 1 };
	struct store_series_data *d;
	double v = odd_value(want);
	size_t nd;

	assert_int_equal(store_history(fx->reader, &q, &d, &nd), 0);
	assert_int_equal(d[0].n, 1);
	assert_int_equal(fx_point(&d[0], 0).iteration, want);
	assert_int_equal(fx_point(&d[0], 0).epoch, want / 100);
	assert_true(fx_point(&d[0], 0).time == 1.7e9 + (double)want / 1000);
	assert_memory_equal(&d[0].value[0], &v, sizeof(v));
	store_series_free(d, nd);
}

static bool
same(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/* STORE_DS_MINMAX over [from, to] in nb buckets, against the points read
 * whole and bucketed here. */
static void
assert_buckets(fixture *fx, int64_t run, int64_t from, int64_t to, size_t nb)
{
	struct store_query q = { .run_id = run,
		.from = from,
		.to = to,
		.max_points = nb,
		.downsample = STORE_DS_MINMAX };
	struct store_series_data *d, *all;
	size_t nd, nall, i, k = 0;
	int64_t lo, width, *bucket, first = 0, last = INT64_MIN;
	sqlite3_stmt *st;
	sqlite3 *db;

	assert_int_equal(store_history(fx->reader, &q, &d, &nd), 0);
	q.max_points = 0;
	assert_int_equal(store_history(fx->reader, &q, &all, &nall), 0);
	assert_null(d[0].epoch);
	lo = fx_point(&all[0], 0).iteration;
	width =
	    (fx_point(&all[0], all[0].n - 1).iteration - lo) / (int64_t)nb + 1;
	/* each point's bucket: its own, or its chunk's last point's when the
	 * chunk is narrower than a bucket and inside from and to */
	bucket = calloc(all[0].n, sizeof(*bucket));
	assert_int_equal(
	    sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db,
	        "SELECT first, last FROM chunks ORDER BY first", -1, &st, NULL),
	    SQLITE_OK);
	for (i = 0; i < all[0].n; i++) {
		int64_t it = fx_point(&all[0], i).iteration;

		while (it > last && sqlite3_step(st) == SQLITE_ROW) {
			first = sqlite3_column_int64(st, 0);
			last = sqlite3_column_int64(st, 1);
		}
		if (first >= from && last <= to && last - first < width)
			it = last;
		bucket[i] = (it - lo) / width;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	for (i = 0; i < all[0].n;) {
		int64_t b = bucket[i];
		double mn = NAN, mx = NAN, v = 0;
		int64_t it = 0;

		for (; i < all[0].n && bucket[i] == b; i++) {
			v = fx_point(&all[0], i).value;
			it = fx_point(&all[0], i).iteration;
			if (!isnan(v) && (isnan(mn) || v < mn))
				mn = v;
			if (!isnan(v) && (isnan(mx) || v > mx))
				mx = v;
		}
		assert_true(k < d[0].n);
		assert_int_equal(d[0].buckets[k].iteration, it);
		assert_true(same(d[0].buckets[k].min, mn));
		assert_true(same(d[0].buckets[k].max, mx));
		assert_memory_equal(&d[0].buckets[k].last, &v, sizeof(v));
		k++;
	}
	assert_int_equal(k, d[0].n);
	assert_true(k <= nb);
	free(bucket);
	store_series_free(d, nd);
	store_series_free(all, nall);
}

/* Points go into chunks of CHUNK_MAX as they come, bit for bit; a resume
 * cuts the chunk across its checkpoint; an ended run is all chunks. */
static void
test_chunks(void **state)
{
	int64_t run, v;
	fixture fx;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	run = fx_create_run(&fx, "r");
	v = fx_series(&fx, run, "v");
	put_odd(&fx, run, v, 1, 10000);
	fx_flush(&fx);
	assert_int_equal(
	    fx_query(&fx, "SELECT count(*) FROM chunks WHERE n = 4096"), 2);
	assert_int_equal(fx_query(&fx, "SELECT open_n FROM series"), 1808);
	assert_int_equal(fx_query(&fx, "SELECT open_first FROM series"), 8193);
	assert_int_equal(
	    fx_query(&fx, "SELECT sum(n) FROM chunks WHERE first >= 8193"),
	    1808);
	assert_odd(&fx, run, 10000);

	/* back to 5000, inside the second chunk */
	assert_int_equal(store_truncate(fx.store, run, 5000, NULL, NULL), 0);
	fx_flush(&fx);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM chunks"), 2);
	assert_int_equal(fx_query(&fx, "SELECT max(last) FROM chunks"), 5000);
	assert_int_equal(fx_query(&fx, "SELECT open_n FROM series"), 904);
	assert_int_equal(fx_query(&fx, "SELECT open_first FROM series"), 4097);
	assert_odd(&fx, run, 5000);
	/* a point again inside a chunk is refused, and changes nothing */
	put_odd(&fx, run, v, 4000, 4000);
	fx_flush(&fx);
	assert_odd(&fx, run, 5000);

	put_odd(&fx, run, v, 5001, 9000);
	fx_flush(&fx);
	/* downsampled: chunks, across from and to, and the open tail */
	assert_buckets(&fx, run, INT64_MIN, INT64_MAX, 1);
	assert_buckets(&fx, run, INT64_MIN, INT64_MAX, 7);
	assert_buckets(&fx, run, 100, 8500, 3);
	assert_buckets(&fx, run, 4000, 4200, 1000);
	assert_buckets(&fx, run, 4097, 9000, 2);
	assert_int_equal(store_set_status(fx.store, run, IG_STATUS_COMPLETED,
	                     NULL, NULL, NULL),
	    0);
	fx_flush(&fx);
	/* 1..4096, then the rest in one */
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM chunks"), 3);
	assert_int_equal(fx_query(&fx, "SELECT open_n FROM series"), 808);
	assert_odd(&fx, run, 9000);
	fx_close(&fx);
	fx_open(&fx, NULL);
	assert_odd(&fx, run, 9000);
	/* the last point: from the last chunk's row, or decoded */
	assert_last(&fx, run, STORE_AXIS_ITERATION, INT64_MAX, 9000);
	assert_last(&fx, run, STORE_AXIS_ITERATION, 4500, 4500);
	assert_last(&fx, run, STORE_AXIS_EPOCH, 44, 4499);
	assert_last(&fx, run, STORE_AXIS_EPOCH, 90, 9000);
	fx_cleanup(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checkpoint_with_points),
		cmocka_unit_test(test_checkpoints_in_one_turn_coalesce),
		cmocka_unit_test(test_truncate_on_resume),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_history_pages),
		cmocka_unit_test(test_history_bad_count),
		cmocka_unit_test(test_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
