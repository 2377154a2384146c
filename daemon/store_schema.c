/*
 * store_schema.c - open the database for writing: refuse what is not ours
 * without touching it, then bring the schema up to date.
 *
 * The schema version is PRAGMA user_version.  migrations[i] takes version i
 * to i + 1; to change the schema, append a migration, never edit one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

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
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int pragma_int(sqlite3 *db, const char *sql, int64_t *v)
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
 * empty one (*version 0); IG_STORE_EREFUSED when it is someone else's or
 * newer than this build; an SQLite code when it cannot be read at all.
 */
static int identify(sqlite3 *db, const char *path, int *version, char *err,
                    size_t errlen)
{
	int64_t appid = 0, uver = 0, nobjects = 0;
	int rc;

	if ((rc = pragma_int(db, "PRAGMA application_id", &appid)) ||
	    (rc = pragma_int(db, "PRAGMA user_version", &uver)) ||
	    (rc = pragma_int(db, "SELECT count(*) FROM sqlite_schema",
	                     &nobjects))) {
		store_errf(err, errlen, "cannot read database %s: %s", path,
		           sqlite3_errmsg(db));
		return rc;
	}
	if (appid == 0 && uver == 0 && nobjects == 0) {
		*version = 0;
		return 0;
	}
	if (appid != STORE_APPLICATION_ID) {
		store_errf(err, errlen, "%s is not an ignite database "
		           "(application_id 0x%08llx, expected 0x%08x); "
		           "refusing to touch it", path, (long long)appid,
		           STORE_APPLICATION_ID);
		return IG_STORE_EREFUSED;
	}
	if (uver > SCHEMA_VERSION) {
		store_errf(err, errlen, "database %s has schema version %lld, "
		           "newer than this ignited knows (%d); upgrade ignited",
		           path, (long long)uver, SCHEMA_VERSION);
		return IG_STORE_EREFUSED;
	}
	*version = (int)uver;
	return 0;
}

/* A file that does not start with SQLite's header is refused before SQLite
 * opens it.  A missing or empty file is a new database. */
static int check_header(const char *path, char *err, size_t errlen)
{
	static const char magic[16] = "SQLite format 3";
	char buf[sizeof(magic)];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		store_errf(err, errlen, "cannot open database %s: %s", path,
		           strerror(errno));
		return SQLITE_CANTOPEN;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(buf) || memcmp(buf, magic, sizeof(buf)) != 0) {
		store_errf(err, errlen, "%s is not an SQLite database; refusing "
		           "to touch it", path);
		return IG_STORE_EREFUSED;
	}
	return 0;
}

/* Identify path on a read-only connection: nothing is written before the
 * file is known to be ours (a read-write one could replay a journal).  The
 * caller holds the lock, so the answer stays true. */
static int identify_file(const char *path, int *version, char *err,
                         size_t errlen)
{
	sqlite3 *db;
	int rc;

	*version = 0;
	if ((rc = check_header(path, err, errlen)) != 0)
		return rc;
	if (access(path, F_OK) == -1)
		return 0;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK)
		store_errf(err, errlen, "cannot open database %s: %s", path,
		           sqlite3_errmsg(db));
	else
		rc = identify(db, path, version, err, errlen);
	sqlite3_close(db);
	return rc;
}

static int exec(sqlite3 *db, const char *path, const char *what,
                const char *sql, char *err, size_t errlen)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		store_errf(err, errlen, "database %s: cannot %s: %s", path, what,
		           sqlite3_errmsg(db));
	return rc;
}

static int migrate(sqlite3 *db, const char *path, int from, char *err,
                   size_t errlen)
{
	char sql[128];
	int rc, v;

	if (from == SCHEMA_VERSION)
		return 0;
	/* Off outside the transaction (it cannot change inside one): a
	 * migration that rebuilds a table must not cascade its drop. */
	if ((rc = exec(db, path, "begin migration", "PRAGMA foreign_keys = OFF; "
	               "BEGIN IMMEDIATE", err, errlen)))
		return rc;
	for (v = from; v < SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "migrate to schema version %d", v + 1);
		if ((rc = exec(db, path, sql, migrations[v], err, errlen)))
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d;"
	         "PRAGMA user_version = %d", STORE_APPLICATION_ID,
	         SCHEMA_VERSION);
	if ((rc = exec(db, path, "set schema version", sql, err, errlen)) ||
	    (rc = exec(db, path, "commit migration", "COMMIT", err, errlen)))
		goto fail;
	return exec(db, path, "configure", "PRAGMA foreign_keys = ON", err, errlen);
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	return rc;
}

static int configure(sqlite3 *db, const char *path,
                     const ig_store_options *opt, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc, wal = 0;

	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		wal = sqlite3_stricmp((const char *)sqlite3_column_text(st, 0),
		                      "wal") == 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		store_errf(err, errlen, "database %s: cannot enable WAL: %s",
		           path, sqlite3_errmsg(db));
		return rc;
	}
	if (!wal) {
		store_errf(err, errlen, "database %s: the file system does not "
		           "support WAL mode", path);
		return SQLITE_CANTOPEN;
	}
	return exec(db, path, "configure", opt->synchronous_full ?
	            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON" :
	            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
	            err, errlen);
}

sqlite3 *store_schema_open(const char *path, const ig_store_options *opt,
                           char *err, size_t errlen)
{
	sqlite3 *db;
	int version, rc;

	if (identify_file(path, &version, err, errlen) != 0)
		return NULL;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	                     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_errf(err, errlen, "cannot open database %s: %s", path,
		           sqlite3_errmsg(db));
		goto fail;
	}
	sqlite3_busy_timeout(db, opt->busy_timeout_ms);
	if (configure(db, path, opt, err, errlen) != 0 ||
	    migrate(db, path, version, err, errlen) != 0)
		goto fail;
	return db;
fail:
	sqlite3_close(db);
	return NULL;
}

int store_schema_check(sqlite3 *db, const char *path, char *err,
                       size_t errlen)
{
	int version, rc;

	if ((rc = identify(db, path, &version, err, errlen)) != 0)
		return rc;
	if (version != SCHEMA_VERSION) {
		store_errf(err, errlen, "database %s has schema version %d, this "
		           "ignited reads %d; open it with ignited first", path,
		           version, SCHEMA_VERSION);
		return IG_STORE_EREFUSED;
	}
	return 0;
}
