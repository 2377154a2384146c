/*
 * store_ingest.c - metric points persisted per second through the store
 * (chunks), against raw SQLite inserts of the same points as rows of
 * schema 5 (one a point, the store's layout before chunks) in the same
 * batches, the floor measured in the same run; the two databases' sizes;
 * and 1M points read back, against a raw read of the same chunk bytes and
 * a read of the same points as rows.
 *
 * usage: store_ingest [--rows] [points] [batch]   (defaults 2000000, 10000)
 * Prints a row per figure (benchlib.h).
 */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "benchlib.h"
#include "store/store.h"

#define TARGET_RATE 1000000 /* issue 17: metric ingest, persisted */
#define SERIES 2

static void
die(const char *what, const char *msg)
{
	bench_warnx("%s: %s", what, msg);
	exit(1);
}

static struct store_point
point(const int64_t *sid, long i)
{
	int64_t it = i / SERIES + 1;

	return (struct store_point){ sid[i % SERIES], it / 1000 + 1, it,
		1.7e9 + (double)it * 1e-3, 1.0 / (double)it };
}

static void
flushed(void *arg, const ig_err *err)
{
	if (err != NULL)
		die("flush", err->message);
	*(int *)arg = 1;
}

/* Points through the store, batch per loop turn.  Leaves the series ids. */
static double
store_rate(const char *path, long total, long batch, int64_t *sid)
{
	struct store_run spec = { .name = "bench",
		.status = IG_STATUS_RUNNING };
	char err[512];
	uv_loop_t loop;
	struct store *s;
	int64_t run;
	double t0;
	long i;
	int done = 0;
	ig_err e;

	uv_loop_init(&loop);
	if ((s = store_open(&loop, path, NULL, err, sizeof(err))) == NULL)
		die("open", err);
	if (store_create_run(s, &spec, &run, NULL, NULL, &e) ||
	    store_series(s, run, "loss", &sid[0], &e) ||
	    store_series(s, run, "acc", &sid[1], &e))
		die("open", e.message);
	t0 = bench_now();
	for (i = 0; i < total; i++) {
		struct store_point p = point(sid, i);

		if (store_points(s, run, &p, 1) != 0)
			die("points", "cannot enqueue");
		if ((i + 1) % batch == 0)
			uv_run(&loop, UV_RUN_NOWAIT);
	}
	store_flush(s, flushed, &done);
	while (!done)
		uv_run(&loop, UV_RUN_ONCE);
	t0 = bench_now() - t0;
	store_close(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return (double)total / t0;
}

static void
exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(sql, sqlite3_errmsg(db));
}

/* The same points with plain SQLite, as rows of schema 5's points table
 * in a fresh database with the store's settings. */
static double
raw_rate(const char *path, long total, long batch)
{
	int64_t sid[SERIES] = { 1, 2 };
	sqlite3_stmt *st;
	sqlite3 *db;
	double t0;
	long i;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(path, sqlite3_errmsg(db));
	exec(db,
	    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
	    "CREATE TABLE points (series_id INTEGER NOT NULL,"
	    " iteration INTEGER NOT NULL, epoch INTEGER NOT NULL,"
	    " wall REAL NOT NULL, value REAL,"
	    " PRIMARY KEY (series_id, iteration)) WITHOUT ROWID");
	if (sqlite3_prepare_v2(db,
	        "INSERT INTO points (series_id, iteration,"
	        " epoch, wall, value) VALUES (?1, ?2, ?3, ?4, ?5)",
	        -1, &st, NULL) != SQLITE_OK)
		die("prepare", sqlite3_errmsg(db));
	t0 = bench_now();
	for (i = 0; i < total; i++) {
		struct store_point p = point(sid, i);

		if (i % batch == 0)
			exec(db, "BEGIN IMMEDIATE");
		sqlite3_bind_int64(st, 1, p.series_id);
		sqlite3_bind_int64(st, 2, p.iteration);
		sqlite3_bind_int64(st, 3, p.epoch);
		sqlite3_bind_double(st, 4, p.wall);
		sqlite3_bind_double(st, 5, p.value);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("insert", sqlite3_errmsg(db));
		sqlite3_reset(st);
		if ((i + 1) % batch == 0 || i + 1 == total)
			exec(db, "COMMIT");
	}
	t0 = bench_now() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (double)total / t0;
}

/* The bytes of a database and its WAL. */
static double
db_bytes(const char *path)
{
	char wal[PATH_MAX + 32];
	struct stat st;
	double n = 0;

	if (stat(path, &st) == 0)
		n += (double)st.st_size;
	BENCH_FMT(wal, "%s-wal", path);
	if (stat(wal, &st) == 0)
		n += (double)st.st_size;
	return n;
}

/*
 * Best of three reads of sql's rows (series 1), touching each column: the
 * milliseconds, with the bytes of column 0 in *bytes.
 */
static double
raw_read_ms(const char *path, const char *sql, double *bytes)
{
	double best = 1e9, t, sum;
	sqlite3_stmt *st;
	sqlite3 *db;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die(path, sqlite3_errmsg(db));
	for (int k = 0; k < 3; k++) {
		t = bench_now();
		*bytes = sum = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *b = sqlite3_column_blob(st, 0);
			int n = sqlite3_column_bytes(st, 0);

			/* read every byte, as a decode would */
			for (int i = 0; i < n; i += 64)
				sum += b[i];
			for (int i = 1; i < sqlite3_column_count(st); i++)
				sum += sqlite3_column_double(st, i);
			*bytes += n;
		}
		sqlite3_reset(st);
		t = bench_now() - t;
		if (t < best)
			best = t;
	}
	if (sum == -1)
		bench_warnx("%s", "impossible sum");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return best * 1e3;
}

/* Best of three reads of one series' points. */
static double
read_ms(const char *path, size_t *npoints)
{
	const char *const names[] = { "loss" };
	struct store_query q = { .run_id = 1,
		.names = names,
		.nnames = 1,
		.from = INT64_MIN,
		.to = INT64_MAX };
	struct store_series_data *s;
	struct store_reader *r;
	double best = 1e9, t;
	ig_err err;
	size_t n;
	int k;

	if ((r = store_reader_open(path, &err)) == NULL)
		die("reader", err.message);
	for (k = 0; k < 3; k++) {
		t = bench_now();
		if (store_history(r, &q, &s, &n) != 0)
			die("history", store_reader_error(r));
		t = bench_now() - t;
		*npoints = s[0].n;
		store_series_free(s, n);
		if (t < best)
			best = t;
	}
	store_reader_close(r);
	return best * 1e3;
}

int
main(int argc, char **argv)
{
	long total, batch;
	char dir[PATH_MAX], path[PATH_MAX + 16], raw_path[PATH_MAX + 16];
	char what[64], fig[48], flo[48], rat[16];
	int64_t sid[SERIES];
	double store, raw, ms, raw_ms, rows_ms, bytes, size, raw_size;
	size_t n;

	bench_init("store_ingest", &argc, argv);
	total = argc > 1 ? atol(argv[1]) : 2000000;
	batch = argc > 2 ? atol(argv[2]) : 10000;
	if (total <= 0 || batch <= 0)
		die("usage", "store_ingest [--rows] [points] [batch]");
	if (bench_subdir(dir, sizeof dir, "store") == -1)
		return 1;
	BENCH_FMT(path, "%s/ignite.db", dir);
	BENCH_FMT(raw_path, "%s/raw.db", dir);
	store = store_rate(path, total, batch, sid);
	raw = raw_rate(raw_path, total, batch);
	size = db_bytes(path);
	raw_size = db_bytes(raw_path);
	ms = read_ms(path, &n);
	raw_ms = raw_read_ms(path,
	    "SELECT data FROM chunks WHERE series_id = 1 ORDER BY first",
	    &bytes);
	rows_ms = raw_read_ms(raw_path,
	    "SELECT NULL, value, epoch, iteration, wall FROM points"
	    " WHERE series_id = 1 ORDER BY iteration",
	    &(double){ 0 });
	bench_row("raw SQLite inserts (floor)",
	    BENCH_FMT(fig, "%.0f points/s", raw),
	    BENCH_FMT(flo, "%ld points as rows, %ld a txn", total, batch), "-",
	    "(floor)", BENCH_INFO);
	bench_row("store ingest, persisted",
	    BENCH_FMT(fig, "%.0f points/s", store),
	    BENCH_FMT(flo, "raw %.0f points/s", raw),
	    BENCH_FMT(rat, "%.2fx", store / raw), ">= 1M points/s",
	    bench_judge(store >= TARGET_RATE));
	bench_row(BENCH_FMT(what, "database, %ld points", total),
	    BENCH_FMT(fig, "%.1f MiB, %.1f B/pt", size / 1048576,
	        size / (double)total),
	    BENCH_FMT(flo, "rows %.1f MiB", raw_size / 1048576),
	    BENCH_FMT(rat, "%.3f", size / raw_size), "<= 1/3 of rows",
	    bench_judge(size * 3 <= raw_size));
	bench_row(BENCH_FMT(what, "store history read, %zu points", n),
	    BENCH_FMT(fig, "%.1f ms", ms),
	    BENCH_FMT(flo, "raw %.1f ms, %.1f MiB", raw_ms, bytes / 1048576),
	    BENCH_FMT(rat, "%.1fx", ms / raw_ms), "(store's part of < 50 ms)",
	    BENCH_INFO);
	bench_row("  the same points as rows",
	    BENCH_FMT(fig, "%.1f ms", rows_ms), "-",
	    BENCH_FMT(rat, "%.1fx chunks", rows_ms / ms), "-", BENCH_INFO);
	return bench_status();
}
