/* test_store_open.c - create, migrate, reopen, refuse, lock, sign. */
#include <sys/stat.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static void
make_sqlite(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Opening path must fail with a message containing want, and leave the
 * file byte-identical with no WAL beside it. */
static void
assert_refused(fixture *fx, const char *want)
{
	unsigned char *before, *after;
	size_t nbefore, nafter;
	char err[512] = "", wal[160];

	before = fx_slurp(fx->path, &nbefore);
	assert_null(store_open(&fx->loop, fx->path, NULL, err, sizeof(err)));
	if (strstr(err, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err, want);
	assert_non_null(strstr(err, fx->path));
	after = fx_slurp(fx->path, &nafter);
	assert_int_equal(nbefore, nafter);
	assert_memory_equal(before, after, nbefore);
	snprintf(wal, sizeof(wal), "%s-wal", fx->path);
	assert_int_equal(access(wal, F_OK), -1);
	free(before);
	free(after);
}

static void
test_create_and_migrate(void **state)
{
	fixture fx;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	fx_close(&fx);
	assert_int_equal(fx_query(&fx, "PRAGMA user_version"), 7);
	assert_int_equal(fx_query(&fx, "PRAGMA application_id"), 0x49474e54);
	assert_int_equal(fx_query(&fx,
	                     "SELECT count(*) FROM sqlite_schema"
	                     " WHERE name IN ('runs', 'checkpoints',"
	                     " 'series', 'chunks', 'events', 'logs')"),
	    6);
	/* WAL mode is a property of the file. */
	{
		sqlite3 *db;
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_open(fx.path, &db), SQLITE_OK);
		sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal(sqlite3_column_text(st, 0), "wal");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	fx_cleanup(&fx);
}

/* A closed database with runs alpha (*a, with a series and a log line)
 * and beta (*b, deleted: the highest id used). */
static void
alpha_and_deleted_beta(fixture *fx, int64_t *a, int64_t *b)
{
	fx_init(fx);
	fx_open(fx, NULL);
	*a = fx_create_run(fx, "alpha");
	fx_series(fx, *a, "loss");
	assert_int_equal(store_log(fx->store, *a, "hello", 5), 0);
	*b = fx_create_run(fx, "beta");
	assert_int_equal(store_delete_run(fx->store, *b, NULL, NULL), 0);
	fx_close(fx);
}

static void
test_reopen_keeps_data(void **state)
{
	struct store_run run;
	fixture fx;
	int64_t a, b, c;

	(void)state;
	alpha_and_deleted_beta(&fx, &a, &b);

	fx_open(&fx, NULL);
	assert_int_equal(
	    store_get_run_by_name(fx.reader, 1000, "alpha", &run), 0);
	assert_int_equal(run.id, a);
	assert_int_equal(run.owner_uid, 1000);
	assert_int_equal(run.spec_len, 1);
	assert_memory_equal(run.spec, "\x80", 1);
	assert_int_equal(run.status, IG_STATUS_RUNNING);
	assert_true(run.created > 0);
	store_run_clear(&run);
	/* Ids are never reused, even the deleted last one's. */
	c = fx_create_run(&fx, "gamma");
	assert_true(c > b);
	fx_cleanup(&fx);
}

/*
 * A schema 1 database (run names unique among all users) becomes schema 2
 * (unique per owner) with every run, its log and its series kept, and the
 * ids still never reused.  Schema 1's runs table is remade here by hand.
 */
static void
test_migrate_names_per_owner(void **state)
{
	struct store_run run = { .name = "alpha",
		.owner_uid = 1001,
		.spec = "\x80",
		.spec_len = 1,
		.status = IG_STATUS_RUNNING };
	ig_err err;
	fixture fx;
	int64_t a, b, c;

	(void)state;
	alpha_and_deleted_beta(&fx, &a, &b);
	make_sqlite(fx.path,
	    "PRAGMA foreign_keys = OFF; BEGIN;" FX_UNDO_TO_V5
	    "CREATE TABLE old (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " name TEXT UNIQUE, owner_uid INTEGER NOT NULL, spec BLOB NOT NULL,"
	    " status TEXT NOT NULL, reason TEXT, created REAL NOT NULL,"
	    " started REAL, finished REAL, epoch INTEGER NOT NULL DEFAULT 0,"
	    " iteration INTEGER NOT NULL DEFAULT 0, max_epochs INTEGER,"
	    " epoch_length INTEGER);"
	    "INSERT INTO old SELECT id, name, owner_uid, spec, status, reason,"
	    " created, started, finished, epoch, iteration, max_epochs,"
	    " epoch_length FROM runs;"
	    "UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence"
	    " WHERE name = 'runs') WHERE name = 'old';"
	    "DROP TABLE runs; ALTER TABLE old RENAME TO runs;"
	    "CREATE INDEX runs_status ON runs (status);"
	    "ALTER TABLE checkpoints DROP COLUMN file;"
	    "ALTER TABLE checkpoints DROP COLUMN file_size;"
	    "ALTER TABLE checkpoints DROP COLUMN file_sum;"
	    "ALTER TABLE checkpoints DROP COLUMN score;"
	    "PRAGMA user_version = 1; COMMIT;");

	fx_open(&fx, NULL);
	assert_int_equal(fx_query(&fx, "PRAGMA user_version"), 7);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM runs"), 1);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM logs"), 1);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM series"), 1);
	/* another owner may use the name now; the same owner still not */
	assert_int_equal(
	    store_create_run(fx.store, &run, &c, NULL, NULL, &err), 0);
	assert_true(c > b);
	run.owner_uid = 1000;
	assert_int_equal(store_create_run(fx.store, &run, &c, NULL, NULL, &err),
	    IG_PROTO_CONFLICT);
	fx_flush(&fx);
	/* deleting a run still cascades: foreign keys are back on */
	assert_int_equal(store_delete_run(fx.store, a, NULL, NULL), 0);
	fx_flush(&fx);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM logs"), 0);
	fx_cleanup(&fx);
}

static void
test_refuse_not_sqlite(void **state)
{
	fixture fx;
	FILE *f;

	(void)state;
	fx_init(&fx);
	assert_non_null(f = fopen(fx.path, "wb"));
	fputs("this is somebody's notes file, not a database\n", f);
	fclose(f);
	assert_refused(&fx, "not an SQLite database");
	fx_cleanup(&fx);
}

static void
test_refuse_newer_version(void **state)
{
	fixture fx;

	(void)state;
	fx_init(&fx);
	make_sqlite(fx.path,
	    "PRAGMA application_id = 1229409876;"
	    "PRAGMA user_version = 99; CREATE TABLE future (x);");
	assert_refused(&fx, "schema version 99, newer than this ignited");
	fx_cleanup(&fx);
	/* the one after run_launch (7): refused, naming both */
	fx_init(&fx);
	make_sqlite(fx.path,
	    "PRAGMA application_id = 1229409876;"
	    "PRAGMA user_version = 8; CREATE TABLE future (x);");
	assert_refused(
	    &fx, "schema version 8, newer than this ignited knows (7)");
	fx_cleanup(&fx);
}

static void
test_refuse_foreign_application(void **state)
{
	fixture fx;

	(void)state;
	fx_init(&fx);
	make_sqlite(fx.path,
	    "PRAGMA application_id = 4660;"
	    "CREATE TABLE theirs (x);");
	assert_refused(&fx, "not an ignite database");
	unlink(fx.path);
	/* Anybody's plain SQLite database, no application_id. */
	make_sqlite(fx.path, "CREATE TABLE theirs (x);");
	assert_refused(&fx, "not an ignite database");
	fx_cleanup(&fx);
}

static void
test_second_open_refused(void **state)
{
	char err[512] = "", want[256];
	fixture fx;
	struct store *again;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	assert_null(store_open(&fx.loop, fx.path, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want),
	    "database %s is in use by another "
	    "ignited (pid %ld)",
	    fx.path, (long)getpid());
	assert_string_equal(err, want);
	fx_close(&fx);
	again = store_open(&fx.loop, fx.path, NULL, err, sizeof(err));
	assert_non_null(again);
	store_close(again);
	fx_cleanup(&fx);
}

static void
test_reader_refuses(void **state)
{
	ig_err err;
	fixture fx;

	(void)state;
	fx_init(&fx);
	assert_null(store_reader_open(fx.path, &err));
	assert_non_null(strstr(err.message, fx.path));
	make_sqlite(fx.path, "CREATE TABLE theirs (x);");
	assert_null(store_reader_open(fx.path, &err));
	assert_int_equal(err.code, IG_PROTO_CONFLICT);
	assert_non_null(strstr(err.message, "not an ignite database"));
	fx_cleanup(&fx);
}

/* The run named alpha, as read, is trusted. */
static bool
alpha_trusted(fixture *fx)
{
	struct store_run run;
	bool ok;

	assert_int_equal(store_get_run(fx->reader, 1, &run), 0);
	assert_string_equal(run.name, "alpha");
	ok = store_run_trusted(fx->store, &run);
	store_run_clear(&run);
	return ok;
}

/* A fresh database holding a run named alpha, closed; its key's path. */
static void
stored_alpha(fixture *fx, char *key, size_t len)
{
	fx_init(fx);
	fx_open(fx, NULL);
	fx_create_run(fx, "alpha");
	fx_flush(fx);
	assert_true(alpha_trusted(fx));
	fx_close(fx);
	snprintf(key, len, "%s.key", fx->path);
}

static void
test_runs_signed(void **state)
{
	char key[160];
	struct stat st;
	fixture fx;

	(void)state;
	stored_alpha(&fx, key, sizeof(key));
	assert_int_equal(lstat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 32);
	/* changed outside ignited: the owner, then the spec */
	make_sqlite(fx.path, "UPDATE runs SET owner_uid = 0");
	fx_open(&fx, NULL);
	assert_false(alpha_trusted(&fx));
	fx_close(&fx);
	make_sqlite(fx.path, "UPDATE runs SET owner_uid = 1000, spec = x'81'");
	fx_open(&fx, NULL);
	assert_false(alpha_trusted(&fx));
	fx_close(&fx);
	/* put back: trusted again under the same key */
	make_sqlite(fx.path, "UPDATE runs SET spec = x'80'");
	fx_open(&fx, NULL);
	assert_true(alpha_trusted(&fx));
	fx_close(&fx);
	/* another key (the database moved without its own) */
	unlink(key);
	fx_open(&fx, NULL);
	assert_false(alpha_trusted(&fx));
	fx_cleanup(&fx);
}

/* A database of schema 2 has no tags: migrating vouches for its runs. */
static void
test_migration_signs_old_runs(void **state)
{
	char key[160];
	fixture fx;

	(void)state;
	stored_alpha(&fx, key, sizeof(key));
	make_sqlite(fx.path,
	    FX_UNDO_TO_V5 "ALTER TABLE runs DROP COLUMN tag;"
	                  "ALTER TABLE runs DROP COLUMN queue_seq;"
	                  "ALTER TABLE checkpoints DROP COLUMN file;"
	                  "ALTER TABLE checkpoints DROP COLUMN file_size;"
	                  "ALTER TABLE checkpoints DROP COLUMN file_sum;"
	                  "ALTER TABLE checkpoints DROP COLUMN score;"
	                  "PRAGMA user_version = 2");
	unlink(key);
	fx_open(&fx, NULL);
	assert_int_equal(fx_query(&fx, "PRAGMA user_version"), 7);
	assert_true(alpha_trusted(&fx));
	fx_cleanup(&fx);
}

/*
 * A database of schema 5 (points as rows, NaN as NULL): its history moves
 * into chunks at start, in one transaction, and reads back as the rows
 * read before, value for value and bit for bit.
 */
static void
test_migrate_points_to_chunks(void **state)
{
	struct store_query q = { .from = INT64_MIN, .to = INT64_MAX };
	struct store_series_data *d;
	ig_point *want[2];
	size_t nwant[2], n, i, k;
	int64_t run, series[2];
	sqlite3_stmt *st;
	sqlite3 *db;
	fixture fx;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, NULL);
	run = fx_create_run(&fx, "r");
	series[0] = fx_series(&fx, run, "acc");
	series[1] = fx_series(&fx, run, "loss");
	fx_flush(&fx);
	fx_close(&fx);
	/* schema 5 with 10,000 + 5 points written as that schema did */
	make_sqlite(fx.path,
	    "BEGIN;" FX_UNDO_TO_V5
	    "WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i"
	    "  WHERE x < 10000)"
	    " INSERT INTO points SELECT 2, x, x / 100, 1.7e9 + x * 0.013,"
	    "  CASE WHEN x % 997 = 0 THEN NULL ELSE 1.0 / x END FROM i;"
	    "INSERT INTO points VALUES (1, 3, 0, 1.7e9, -0.0),"
	    " (1, 5, 0, 1.7e9, 1e308 * 10), (1, 8, 0, 1.7e9, -1e308 * 10),"
	    " (1, 9, 1, 1.7e9, 4.9e-324), (1, 20, 1, 1.7e9, NULL);"
	    "PRAGMA user_version = 5; COMMIT;");
	/* what schema 5's reader gave */
	assert_int_equal(sqlite3_open(fx.path, &db), SQLITE_OK);
	for (k = 0; k < 2; k++) {
		assert_int_equal(sqlite3_prepare_v2(db,
		                     "SELECT epoch, iteration, wall, value"
		                     " FROM points WHERE series_id = ?1"
		                     " ORDER BY iteration",
		                     -1, &st, NULL),
		    SQLITE_OK);
		sqlite3_bind_int64(st, 1, series[k]);
		want[k] = calloc(10000, sizeof(ig_point));
		for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++)
			want[k][n] = (ig_point){ sqlite3_column_int64(st, 0),
				sqlite3_column_int64(st, 1),
				sqlite3_column_double(st, 2),
				sqlite3_column_type(st, 3) == SQLITE_NULL ?
				    NAN :
				    sqlite3_column_double(st, 3) };
		nwant[k] = n;
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	assert_int_equal(nwant[0], 5);
	assert_int_equal(nwant[1], 10000);

	fx_open(&fx, NULL);
	assert_int_equal(fx_query(&fx, "PRAGMA user_version"), 7);
	assert_int_equal(fx_query(&fx,
	                     "SELECT count(*) FROM sqlite_schema"
	                     " WHERE name = 'points_v5'"),
	    0);
	assert_int_equal(fx_query(&fx, "SELECT count(*) FROM chunks"), 4);
	/* the short chunks left are each series' open part */
	assert_int_equal(
	    fx_query(&fx, "SELECT sum(open_n) FROM series"), 5 + 1808);
	assert_int_equal(
	    fx_query(&fx, "SELECT sum(open_first) FROM series"), 3 + 8193);
	q.run_id = run;
	assert_int_equal(store_history(fx.reader, &q, &d, &n), 0);
	assert_int_equal(n, 2);
	for (k = 0; k < 2; k++) {
		assert_int_equal(d[k].id, series[k]);
		assert_int_equal(d[k].n, nwant[k]);
		for (i = 0; i < nwant[k]; i++) {
			ig_point p = fx_point(&d[k], i);

			assert_memory_equal(&p, &want[k][i], sizeof(ig_point));
		}
		free(want[k]);
	}
	store_series_free(d, n);
	fx_cleanup(&fx);
}

static void
test_lock_symlink_refused(void **state)
{
	char lock[160], target[160], err[512] = "";
	unsigned char *data;
	size_t len;
	fixture fx;
	FILE *f;

	(void)state;
	fx_init(&fx);
	snprintf(target, sizeof(target), "%s/precious", fx.dir);
	assert_non_null(f = fopen(target, "w"));
	fputs("keep me\n", f);
	fclose(f);
	snprintf(lock, sizeof(lock), "%s.lock", fx.path);
	assert_int_equal(symlink(target, lock), 0);
	assert_null(store_open(&fx.loop, fx.path, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "is a symbolic link"));
	data = fx_slurp(target, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(data, "keep me\n", 8);
	free(data);
	assert_int_equal(access(fx.path, F_OK), -1);
	fx_cleanup(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_migrate),
		cmocka_unit_test(test_reopen_keeps_data),
		cmocka_unit_test(test_migrate_names_per_owner),
		cmocka_unit_test(test_refuse_not_sqlite),
		cmocka_unit_test(test_refuse_newer_version),
		cmocka_unit_test(test_refuse_foreign_application),
		cmocka_unit_test(test_second_open_refused),
		cmocka_unit_test(test_reader_refuses),
		cmocka_unit_test(test_runs_signed),
		cmocka_unit_test(test_migration_signs_old_runs),
		cmocka_unit_test(test_migrate_points_to_chunks),
		cmocka_unit_test(test_lock_symlink_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
