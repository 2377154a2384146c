/* helpers.c - see helpers.h. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

void
fx_init(fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/ignite-store-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/ignite.db", fx->dir);
	assert_int_equal(uv_loop_init(&fx->loop), 0);
}

void
fx_cleanup(fixture *fx)
{
	char file[512];
	struct dirent *de;
	DIR *d;

	if (fx->store != NULL)
		fx_close(fx);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	assert_non_null(d = opendir(fx->dir));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", fx->dir, de->d_name);
		unlink(file);
	}
	closedir(d);
	rmdir(fx->dir);
}

void
fx_open(fixture *fx, const struct store_options *opt)
{
	char err[512] = "";

	fx->store = store_open(&fx->loop, fx->path, opt, err, sizeof(err));
	if (fx->store == NULL)
		fail_msg("open: %s", err);
	fx->reader = store_loop_reader(fx->store);
}

void
fx_close(fixture *fx)
{
	store_close(fx->store);
	fx->store = NULL;
	fx->reader = NULL;
	uv_run(&fx->loop, UV_RUN_DEFAULT);
}

void
record(void *arg, const ig_err *err)
{
	result *r = arg;

	r->calls++;
	r->code = err != NULL ? err->code : 0;
	snprintf(r->msg, sizeof(r->msg), "%s", err ? err->message : "");
}

void
fx_flush(fixture *fx)
{
	result r = { 0 };

	assert_int_equal(store_flush(fx->store, record, &r), 0);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.calls, 1);
}

int64_t
fx_create_run(fixture *fx, const char *name)
{
	struct store_run run = {
		.name = name,
		.owner_uid = 1000,
		.spec = "\x80",
		.spec_len = 1,
		.status = IG_STATUS_RUNNING,
		.progress = { 0, 0, STORE_NONE, STORE_NONE },
	};
	ig_err err;
	int64_t id;

	if (store_create_run(fx->store, &run, &id, NULL, NULL, &err) != 0)
		fail_msg("create run: %s", err.message);
	return id;
}

int64_t
fx_series(fixture *fx, int64_t run_id, const char *name)
{
	ig_err err;
	int64_t id;

	if (store_series(fx->store, run_id, name, &id, &err))
		fail_msg("series: %s", err.message);
	return id;
}

int64_t
fx_query(const fixture *fx, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(
	    sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

unsigned char *
fx_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

ig_point
fx_point(const struct store_series_data *d, size_t i)
{
	assert_true(i < d->n);
	return (
	    ig_point){ d->epoch[i], d->iteration[i], d->time[i], d->value[i] };
}
