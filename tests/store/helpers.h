/* helpers.h - scratch databases and loop driving for the store's tests. */
#ifndef TEST_STORE_HELPERS_H
#define TEST_STORE_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "store/store.h"

typedef struct fixture {
	char dir[64];
	char path[128];
	uv_loop_t loop;
	struct store *store;
	struct store_reader *reader; /* the store's loop reader */
} fixture;

/* What a done callback saw. */
typedef struct result {
	int calls;
	int code; /* IG_PROTO_*; 0: done */
	char msg[512];
} result;

/* SQL: how many points the database holds. */
#define FX_NPOINTS "SELECT coalesce(sum(n), 0) FROM chunks"
/* SQL: the highest iteration it holds. */
#define FX_TOP "SELECT coalesce(max(last), 0) FROM chunks"
/* SQL: take a database of this schema back to schema 5 (its metric
 * history without points, no run_launch), for the migrations' tests. */
#define FX_UNDO_TO_V5 \
	"DROP TABLE run_launch;" \
	"DROP TABLE chunks;" \
	"CREATE TABLE points (" \
	"  series_id INTEGER NOT NULL REFERENCES series ON DELETE CASCADE," \
	"  iteration INTEGER NOT NULL, epoch INTEGER NOT NULL," \
	"  wall REAL NOT NULL, value REAL," \
	"  PRIMARY KEY (series_id, iteration)) WITHOUT ROWID;" \
	"ALTER TABLE series DROP COLUMN open_n;" \
	"ALTER TABLE series DROP COLUMN open_first;"

/* A fresh scratch directory with path "<dir>/ignite.db". */
void fx_init(fixture *fx);
/* Remove the scratch directory and everything in it. */
void fx_cleanup(fixture *fx);
void fx_open(fixture *fx, const struct store_options *opt);
void fx_close(fixture *fx);
/* Flush and run the loop until everything enqueued has completed. */
void fx_flush(fixture *fx);

store_done_cb record; /* arg: a result */
int64_t fx_create_run(fixture *fx, const char *name);
int64_t fx_series(fixture *fx, int64_t run_id, const char *name);
/* One integer from sql on a fresh read-only connection. */
int64_t fx_query(const fixture *fx, const char *sql);
/* Point i of a series read by store_history(), from its columns. */
ig_point fx_point(const struct store_series_data *d, size_t i);
/* Read a whole file; caller frees. */
unsigned char *fx_slurp(const char *path, size_t *len);

#endif
