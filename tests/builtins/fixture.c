/*
 * fixture.c - shared helpers for the builtin and data source tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <zlib.h>

#include "fixture.h"

static char dir[64];
static char path[256];
/* names written, for cleanup (rewriting a name reuses its slot) */
static char written[64][64];
static size_t nwritten;

static void
remember(const char *name)
{
	for (size_t i = 0; i < nwritten; i++) {
		if (strcmp(written[i], name) == 0)
			return;
	}
	assert_true(nwritten < sizeof written / sizeof written[0]);
	assert_true(strlen(name) < sizeof written[0]);
	strcpy(written[nwritten++], name);
}

static void
ensure_dir(void)
{
	if (dir[0] != '\0')
		return;
	snprintf(dir, sizeof dir, "/tmp/ig-builtins-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

const char *
fx_file(const char *name, const void *data, size_t len, bool gz)
{
	ensure_dir();
	remember(name);
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_true(n > 0 && (size_t)n < sizeof path);
	if (gz) {
		gzFile f = gzopen(path, "wb");
		assert_non_null(f);
		if (len > 0)
			assert_int_equal(
			    gzwrite(f, data, (unsigned)len), (int)len);
		assert_int_equal(gzclose(f), Z_OK);
	} else {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(data, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
	}
	return path;
}

const char *
fx_text(const char *name, const char *text, bool gz)
{
	return fx_file(name, text, strlen(text), gz);
}

int
fx_cleanup(void **state)
{
	(void)state;
	if (dir[0] == '\0')
		return 0;
	for (size_t i = 0; i < nwritten; i++) {
		int n = snprintf(path, sizeof path, "%s/%s", dir, written[i]);
		if (n > 0 && (size_t)n < sizeof path)
			unlink(path);
	}
	nwritten = 0;
	int rc = rmdir(dir);
	dir[0] = '\0';
	return rc;
}

ig_param
fx_int(const char *key, long long v)
{
	return (ig_param){ key, { .type = IG_VALUE_INT, .u.i = v } };
}

ig_param
fx_dbl(const char *key, double v)
{
	return (ig_param){ key, { .type = IG_VALUE_DOUBLE, .u.d = v } };
}

ig_param
fx_bool(const char *key, bool v)
{
	return (ig_param){ key, { .type = IG_VALUE_BOOL, .u.b = v } };
}

ig_param
fx_str(const char *key, const char *v)
{
	/* ig_value.u.s is not const; the sources never write through it */
	return (ig_param){ key,
		{ .type = IG_VALUE_STR, .u.s = (char *)(uintptr_t)v } };
}

void
fx_csv(const char *p, const ig_param *params, size_t n,
    struct data_source *train, struct data_source *val)
{
	ig_err err;

	if (csv_open(p, params, n, train, val, &err) != 0)
		fail_msg("csv_open(%s): %s", p, err.message);
}

ig_batch
fx_get(
    const struct data_source *s, long long seed, long long pass, long long pos)
{
	ig_fetch f = { seed, pass, pos };
	ig_batch b;
	char err[256] = "";

	if (s->ops->get(s->ctx, &f, &b, err, sizeof err) != 0)
		fail_msg("get(%lld, %lld, %lld): %s", seed, pass, pos, err);
	return b;
}

void
fx_close(struct data_source *s)
{
	if (s->ops != NULL)
		s->ops->destroy(s->ctx);
	*s = (struct data_source){ NULL, NULL };
}
