/*
 * store_schema.c - open the database for writing: refuse what is not ours
 * without touching it, then bring the schema up to date.
 *
 * The schema version is PRAGMA user_version.  migrations[i] takes version i
 * to i + 1; to change the schema, append a migration, never edit one.
 *
 * Before SQLite sees the file, it and the files beside it are checked to
 * be ours (store_files.c); a new database is created 0600 here, so that
 * SQLite gives its -wal and -shm the same mode.  A damaged database is
 * refused: runs read from it could be missing or wrong.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/store_int.h"

static const char *const migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT UNIQUE,"
	"  owner_uid INTEGER NOT NULL,"
	"  spec BLOB NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('queued', 'running',"
	"    'paused', 'completed', 'terminated', 'failed')),"
	"  reason TEXT,"
	"  created REAL NOT NULL,"
	"  started REAL,"
	"  finished REAL,"
	"  epoch INTEGER NOT NULL DEFAULT 0,"
	"  iteration INTEGER NOT NULL DEFAULT 0,"
	"  max_epochs INTEGER,"
	"  epoch_length INTEGER);"
	"CREATE INDEX runs_status ON runs (status);"
	"CREATE TABLE checkpoints ("
	"  run_id INTEGER NOT NULL REFERENCES runs ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  epoch INTEGER NOT NULL,"
	"  iteration INTEGER NOT NULL,"
	"  state_dict BLOB NOT NULL,"
	"  data_pass INTEGER NOT NULL,"
	"  data_pos INTEGER NOT NULL,"
	"  process_state BLOB,"
	"  wall REAL NOT NULL,"
	"  UNIQUE (run_id, seq));"
	"CREATE TABLE series ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  run_id INTEGER NOT NULL REFERENCES runs ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  UNIQUE (run_id, name));"
	/* Clustered on (series, iteration): one b-tree write per point, and a
	 * series' history is one range scan.  The run is the series'. */
	"CREATE TABLE points ("
	"  series_id INTEGER NOT NULL REFERENCES series ON DELETE CASCADE,"
	"  iteration INTEGER NOT NULL,"
	"  epoch INTEGER NOT NULL,"
	"  wall REAL NOT NULL,"
	"  value REAL,"
	"  PRIMARY KEY (series_id, iteration)) WITHOUT ROWID;"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER NOT NULL REFERENCES runs ON DELETE CASCADE,"
	"  time REAL NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  epoch INTEGER NOT NULL,"
	"  iteration INTEGER NOT NULL,"
	"  detail TEXT);"
	"CREATE INDEX events_run ON events (run_id, iteration);"
	"CREATE TABLE logs ("
	"  run_id INTEGER NOT NULL REFERENCES runs ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  time REAL NOT NULL,"
	"  line TEXT NOT NULL,"
	"  PRIMARY KEY (run_id, seq));",
	/* 1 -> 2: run names unique per owner, not among all users (one user
	 * could squat the names another would use).  SQLite cannot drop a
	 * column's UNIQUE, so the table is rebuilt; migrate() turns foreign
	 * keys off meanwhile, or dropping the old table would cascade.  The
	 * AUTOINCREMENT high mark moves along: ids are never reused. */
	"CREATE TABLE runs_v2 ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT,"
	"  owner_uid INTEGER NOT NULL,"
	"  spec BLOB NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('queued', 'running',"
	"    'paused', 'completed', 'terminated', 'failed')),"
	"  reason TEXT,"
	"  created REAL NOT NULL,"
	"  started REAL,"
	"  finished REAL,"
	"  epoch INTEGER NOT NULL DEFAULT 0,"
	"  iteration INTEGER NOT NULL DEFAULT 0,"
	"  max_epochs INTEGER,"
	"  epoch_length INTEGER,"
	"  UNIQUE (owner_uid, name));"
	"INSERT INTO runs_v2 SELECT id, name, owner_uid, spec, status, reason,"
	"  created, started, finished, epoch, iteration, max_epochs,"
	"  epoch_length FROM runs;"
	"DELETE FROM sqlite_sequence WHERE name = 'runs_v2';"
	"INSERT INTO sqlite_sequence (name, seq)"
	"  SELECT 'runs_v2', seq FROM sqlite_sequence WHERE name = 'runs';"
	"DROP TABLE runs;"
	"ALTER TABLE runs_v2 RENAME TO runs;"
	"CREATE INDEX runs_status ON runs (status);",
	/* 2 -> 3: each run's id, owner and spec signed with the database's
	 * key (store_files.c): the database was checked to be ours before
	 * any migration, so what it holds is vouched for as it is. */
	("ALTER TABLE runs ADD COLUMN tag BLOB;"
	 "UPDATE runs SET tag = ignite_tag(id, owner_uid, spec);"),
	/* 3 -> 4: each run's place in the queue's submission order
	 * (runs/sched.h), which a resume moves to the end; runs so far were
	 * submitted in id order. */
	("ALTER TABLE runs ADD COLUMN queue_seq INTEGER NOT NULL DEFAULT 0;"
	 "UPDATE runs SET queue_seq = id;"),
	/* 4 -> 5: checkpoints as files: the file's path, size and XXH3-64
	 * sum (NULL: the state is inline), and the score best-K keeps by. */
	("ALTER TABLE checkpoints ADD COLUMN file TEXT;"
	 "ALTER TABLE checkpoints ADD COLUMN file_size INTEGER;"
	 "ALTER TABLE checkpoints ADD COLUMN file_sum INTEGER;"
	 "ALTER TABLE checkpoints ADD COLUMN score REAL;"),
	/* 5 -> 6: metric history as chunks (store_chunks.c), keyed by series
	 * and first iteration, each with what a downsampling read takes
	 * without decoding it (values as float64 bits: a REAL loses -0.0 and
	 * NaN payloads); a series' open part counted in open_n and
	 * open_first.  migrate_fn[5] moves the points and drops their rows. */
	("CREATE TABLE chunks ("
	 "  series_id INTEGER NOT NULL REFERENCES series ON DELETE CASCADE,"
	 "  first INTEGER NOT NULL,"
	 "  last INTEGER NOT NULL,"
	 "  epoch_first INTEGER NOT NULL,"
	 "  epoch_last INTEGER NOT NULL,"
	 "  n INTEGER NOT NULL,"
	 "  vmin INTEGER,"
	 "  vmax INTEGER,"
	 "  vlast INTEGER NOT NULL,"
	 "  wall_last REAL NOT NULL,"
	 "  data BLOB NOT NULL,"
	 "  PRIMARY KEY (series_id, first));"
	 "ALTER TABLE points RENAME TO points_v5;"
	 "ALTER TABLE series ADD COLUMN open_n INTEGER NOT NULL DEFAULT 0;"
	 "ALTER TABLE series ADD COLUMN open_first INTEGER;"),
	/* 6 -> 7: a run placed on a cluster: the secret its workers present when
	 * they dial back (kept so that they can after a restart) and its
	 * scheduler's job id, "" before it is submitted. */
	("CREATE TABLE run_launch ("
	 "  run_id INTEGER PRIMARY KEY REFERENCES runs ON DELETE CASCADE,"
	 "  secret BLOB NOT NULL,"
	 "  job TEXT NOT NULL);"),
};

/* What a migration does beyond its SQL, after it: NULL for nothing. */
static int (*const migrate_fn[])(sqlite3 *) = {
	[5] = store_chunks_migrate,
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* What to do with a damaged database; the path twice. */
#define RECOVER_HINT \
	"refusing to start on it.  Keep a copy; then either " \
	"recover what it holds with 'sqlite3 %s .recover | sqlite3 NEW.db' " \
	"and start on NEW.db, or move %s and its -wal and -shm aside to " \
	"start afresh"

static int
pragma_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * What db holds: 0 with *version set when it is an ignite database or an
 * empty one (*version 0); IG_PROTO_CONFLICT when it is someone else's or
 * newer than this build; another IG_PROTO_* code when it cannot be read.
 */
static int
identify(sqlite3 *db, const char *path, int *version, char *err, size_t errlen)
{
	int64_t appid = 0, uver = 0, nobjects = 0;
	int rc;

	if ((rc = pragma_int(db, "PRAGMA application_id", &appid)) ||
	    (rc = pragma_int(db, "PRAGMA user_version", &uver)) ||
	    (rc = pragma_int(
	         db, "SELECT count(*) FROM sqlite_schema", &nobjects))) {
		if ((rc & 0xff) == SQLITE_CORRUPT)
			store_errf(err, errlen,
			    "database %s is damaged (%s): " RECOVER_HINT, path,
			    sqlite3_errmsg(db), path, path);
		else
			store_errf(err, errlen, "cannot read database %s: %s",
			    path, sqlite3_errmsg(db));
		return store_code(rc);
	}
	if (appid == 0 && uver == 0 && nobjects == 0) {
		*version = 0;
		return 0;
	}
	if (appid != STORE_APPLICATION_ID) {
		store_errf(err, errlen,
		    "%s is not an ignite database "
		    "(application_id 0x%08llx, expected 0x%08x); "
		    "refusing to touch it",
		    path, (long long)appid, STORE_APPLICATION_ID);
		return IG_PROTO_CONFLICT;
	}
	if (uver > SCHEMA_VERSION) {
		store_errf(err, errlen,
		    "database %s has schema version %lld, "
		    "newer than this ignited knows (%d); upgrade ignited",
		    path, (long long)uver, SCHEMA_VERSION);
		return IG_PROTO_CONFLICT;
	}
	*version = (int)uver;
	return 0;
}

/* Open path as the database's own file (created 0600 when absent), and refuse one that does not start with SQLite's header.
 * An empty file is a new database.  The fd, or -1. */
static int
open_db_file(const char *path, char *err, size_t errlen)
{
	static const char magic[16] = "SQLite format 3";
	char buf[sizeof(magic)];
	bool created;
	ssize_t n;
	int fd;

	if ((fd = store_open_own(path, O_RDONLY, &created, err, errlen)) == -1)
		return -1;
	n = pread(fd, buf, sizeof(buf), 0);
	if (n == 0)
		return fd;
	if (n != (ssize_t)sizeof(buf) || memcmp(buf, magic, sizeof(buf)) != 0) {
		store_errf(err, errlen,
		    "%s is not an SQLite database; refusing "
		    "to touch it",
		    path);
		close(fd);
		return -1;
	}
	return fd;
}

/* PRAGMA quick_check, which reads every page: "ok", or what is wrong. */
static int
quick_check(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char what[256];
	int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		rc = t != NULL && strcmp(t, "ok") == 0 ? SQLITE_OK :
		                                         SQLITE_CORRUPT;
		snprintf(what, sizeof(what), "%s", t != NULL ? t : "no answer");
	} else {
		snprintf(what, sizeof(what), "%s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		store_errf(err, errlen,
		    "database %s is damaged (quick_check: %s): " RECOVER_HINT,
		    path, what, path, path);
	return rc;
}

/* Identify path on a read-only connection: nothing is written before the
 * file is known to be ours and sound (a read-write one could replay a
 * journal).  The caller holds the lock, so the answer stays true. */
static int
identify_file(const char *path, int *version, char *err, size_t errlen)
{
	sqlite3 *db;
	int rc;

	*version = 0;
	rc = sqlite3_open_v2(
	    path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		store_errf(err, errlen, "cannot open database %s: %s", path,
		    sqlite3_errmsg(db));
		rc = store_code(rc);
	} else if ((rc = identify(db, path, version, err, errlen)) == 0 &&
	    *version > 0)
		rc = store_code(quick_check(db, path, err, errlen));
	sqlite3_close(db);
	return rc;
}

static int
exec(sqlite3 *db, const char *path, const char *what, const char *sql,
    char *err, size_t errlen)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		store_errf(err, errlen, "database %s: cannot %s: %s", path,
		    what, sqlite3_errmsg(db));
	return rc;
}

static int
migrate(sqlite3 *db, const char *path, int from, char *err, size_t errlen)
{
	char sql[128];
	int rc, v;

	if (from == SCHEMA_VERSION)
		return 0;
	/* Off outside the transaction (it cannot change inside one): a
	 * migration that rebuilds a table must not cascade its drop. */
	if ((rc = exec(db, path, "begin migration",
	         "PRAGMA foreign_keys = OFF; "
	         "BEGIN IMMEDIATE",
	         err, errlen)))
		return rc;
	for (v = from; v < SCHEMA_VERSION; v++) {
		snprintf(
		    sql, sizeof(sql), "migrate to schema version %d", v + 1);
		if ((rc = exec(db, path, sql, migrations[v], err, errlen)))
			goto fail;
		if ((size_t)v < sizeof(migrate_fn) / sizeof(migrate_fn[0]) &&
		    migrate_fn[v] != NULL && (rc = migrate_fn[v](db)) != 0) {
			store_errf(err, errlen, "database %s: cannot %s: %s",
			    path, sql, sqlite3_errmsg(db));
			goto fail;
		}
	}
	snprintf(sql, sizeof(sql),
	    "PRAGMA application_id = %d;"
	    "PRAGMA user_version = %d",
	    STORE_APPLICATION_ID, SCHEMA_VERSION);
	if ((rc = exec(db, path, "set schema version", sql, err, errlen)) ||
	    (rc = exec(db, path, "commit migration", "COMMIT", err, errlen)))
		goto fail;
	return exec(
	    db, path, "configure", "PRAGMA foreign_keys = ON", err, errlen);
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	return rc;
}

static int
configure(sqlite3 *db, const char *path, const struct store_options *opt,
    char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc, wal = 0;

	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		wal = sqlite3_stricmp(
		          (const char *)sqlite3_column_text(st, 0), "wal") == 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		store_errf(err, errlen, "database %s: cannot enable WAL: %s",
		    path, sqlite3_errmsg(db));
		return rc;
	}
	if (!wal) {
		store_errf(err, errlen,
		    "database %s: the file system does not "
		    "support WAL mode",
		    path);
		return SQLITE_CANTOPEN;
	}
	return exec(db, path, "configure",
	    opt->synchronous_full ?
	        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON" :
	        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
	    err, errlen);
}

/* ignite_tag(id, owner_uid, spec): a run's tag under the key (user data). */
static void
sql_tag(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	unsigned char tag[STORE_TAG_LEN];

	(void)argc;
	store_tag(sqlite3_user_data(ctx), sqlite3_value_int64(argv[0]),
	    (uint32_t)sqlite3_value_int64(argv[1]), sqlite3_value_blob(argv[2]),
	    (size_t)sqlite3_value_bytes(argv[2]), tag);
	sqlite3_result_blob(ctx, tag, sizeof(tag), SQLITE_TRANSIENT);
}

/* The database's file and what SQLite makes beside it are ours alone. */
static int
check_files(const char *path, char *err, size_t errlen)
{
	static const char *const sidecars[] = { "-wal", "-shm" };
	char side[PATH_MAX];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(sidecars) / sizeof(sidecars[0]); i++) {
		snprintf(side, sizeof(side), "%s%s", path, sidecars[i]);
		if ((rc = store_check_path(side, err, errlen)) != 0)
			return rc;
	}
	return 0;
}

sqlite3 *
store_schema_open(const char *path, const struct store_options *opt,
    const unsigned char *key, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	struct stat st;
	int version, rc, fd;

	if (check_files(path, err, errlen) != 0 ||
	    (fd = open_db_file(path, err, errlen)) == -1)
		return NULL;
	if (identify_file(path, &version, err, errlen) != 0)
		goto fail;
	/* ours: one an older ignited created 0644 showed every run's logs,
	 * and SQLite gives the -wal and -shm it creates the same mode */
	if (fstat(fd, &st) == 0 && (st.st_mode & 0077) != 0)
		fchmod(fd, st.st_mode & 0700);
	rc = sqlite3_open_v2(path, &db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		store_errf(err, errlen, "cannot open database %s: %s", path,
		    sqlite3_errmsg(db));
		goto fail;
	}
	/* the file SQLite opened is the one checked; then our descriptor
	 * goes before SQLite takes its locks: closing a second descriptor of
	 * a file drops all of a process's fcntl locks on it, and another
	 * connection's close would then find itself the last one and delete
	 * the WAL under us */
	if (store_same_file(fd, path, err, errlen) != 0)
		goto fail;
	close(fd);
	fd = -1;
	sqlite3_busy_timeout(db, opt->busy_timeout_ms);
	if (sqlite3_create_function(db, "ignite_tag", 3,
	        SQLITE_UTF8 | SQLITE_DETERMINISTIC, (void *)key, sql_tag, NULL,
	        NULL) != SQLITE_OK) {
		store_errf(
		    err, errlen, "database %s: %s", path, sqlite3_errmsg(db));
		goto fail;
	}
	if (configure(db, path, opt, err, errlen) != 0 ||
	    migrate(db, path, version, err, errlen) != 0 ||
	    check_files(path, err, errlen) != 0)
		goto fail;
	return db;
fail:
	if (fd != -1)
		close(fd);
	sqlite3_close(db);
	return NULL;
}

int
store_schema_check(sqlite3 *db, const char *path, ig_err *err)
{
	char msg[1024];
	int version, rc;

	/* identify() words its errors as text, for store_open */
	if ((rc = identify(db, path, &version, msg, sizeof(msg))) != 0)
		return ig_err_set(err, rc, "%s", msg);
	if (version != SCHEMA_VERSION)
		return ig_err_set(err, IG_PROTO_CONFLICT,
		    "database %s has schema version %d, this "
		    "ignited reads %d; open it with ignited first",
		    path, version, SCHEMA_VERSION);
	return 0;
}
