/*
 * test_msgpack_source.c - the msgpack: data source.
 */
#include <msgpack.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fixture.h"
#include "ignite/protocol.h" /* IG_FRAME_MAX_DEPTH */

#define NP(a) (sizeof(a) / sizeof((a)[0]))

static void
pack_key(msgpack_packer *pk, const char *k)
{
	msgpack_pack_str(pk, strlen(k));
	msgpack_pack_str_body(pk, k, strlen(k));
}

/* {"x": rows x cols of base + i*cols + j, "y": [base + i], "id": base} */
static void
pack_xy(msgpack_packer *pk, int base, size_t rows, size_t cols, bool with_y)
{
	msgpack_pack_map(pk, with_y ? 3 : 2);
	pack_key(pk, "id");
	msgpack_pack_int(pk, base);
	pack_key(pk, "x");
	msgpack_pack_array(pk, rows);
	for (size_t i = 0; i < rows; i++) {
		msgpack_pack_array(pk, cols);
		for (size_t j = 0; j < cols; j++) {
			if (j % 2)
				msgpack_pack_double(
				    pk, base + (double)(i * cols + j));
			else
				msgpack_pack_int(
				    pk, base + (int)(i * cols + j));
		}
	}
	if (with_y) {
		pack_key(pk, "y");
		msgpack_pack_array(pk, rows);
		for (size_t i = 0; i < rows; i++)
			msgpack_pack_float(pk, (float)(base + (int)i));
	}
}

static void
open_ok(const char *path, const ig_param *p, size_t n, struct data_source *s)
{
	ig_err err;

	if (msgpack_source_open(path, p, n, s, &err) != 0)
		fail_msg("msgpack_source_open: %s", err.message);
}

static void
open_fails(const char *path, const char *want)
{
	struct data_source s;
	ig_err err;

	assert_int_equal(msgpack_source_open(path, NULL, 0, &s, &err),
	    IG_PROTO_INVALID_PARAMS);
	assert_int_equal(err.code, IG_PROTO_INVALID_PARAMS);
	if (strstr(err.message, want) == NULL)
		fail_msg(
		    "error \"%s\" does not contain \"%s\"", err.message, want);
	assert_null(s.ops);
}

static void
test_records(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct data_source s;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack_xy(&pk, 100, 2, 3, true);
	size_t first = sb.size;
	msgpack_pack_str(&pk, 5); /* raw only */
	msgpack_pack_str_body(&pk, "hello", 5);
	pack_xy(&pk, 200, 4, 1, false);
	open_ok(fx_file("r.msgpack", sb.data, sb.size, false), NULL, 0, &s);
	assert_int_equal(s.ops->size(s.ctx), 3);

	ig_batch b = fx_get(&s, IG_NONE, 0, 0);
	assert_int_equal(b.index, 0);
	assert_int_equal(b.rows, 2);
	assert_int_equal(b.cols, 3);
	const double x[] = { 100, 101, 102, 103, 104, 105 }, y[] = { 100, 101 };
	assert_memory_equal(b.x, x, sizeof x);
	assert_memory_equal(b.y, y, sizeof y);
	assert_ptr_not_equal(b.raw, NULL);
	assert_int_equal(b.raw_len, first);
	assert_memory_equal(b.raw, sb.data, first);

	b = fx_get(&s, IG_NONE, 0, 1);
	assert_null(b.x);
	assert_null(b.y);
	assert_int_equal(b.rows, 0);
	assert_int_equal(b.raw_len, 6);
	assert_memory_equal((const char *)b.raw + 1, "hello", 5);

	b = fx_get(&s, IG_NONE, 0, 2);
	assert_int_equal(b.rows, 4);
	assert_int_equal(b.cols, 1);
	assert_null(b.y);
	assert_true(b.x[3] == 203);
	fx_close(&s);

	/* the same records from a gzip file */
	open_ok(fx_file("r.msgpack.gz", sb.data, sb.size, true), NULL, 0, &s);
	assert_int_equal(s.ops->size(s.ctx), 3);
	assert_int_equal(
	    fx_get(&s, IG_NONE, 0, 2).raw_len, sb.size - first - 6);
	fx_close(&s);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_shuffle(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	ig_param p[] = { fx_bool("shuffle", true) };
	struct data_source s;
	enum {
		N = 50
	};
	int64_t a[N], b[N];

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (int i = 0; i < N; i++)
		pack_xy(&pk, i, 1, 1, true);
	open_ok(fx_file("s.msgpack", sb.data, sb.size, false), p, NP(p), &s);
	bool seen[N] = { false };
	for (int pos = 0; pos < N; pos++) {
		ig_batch bt = fx_get(&s, 9, 2, pos);
		assert_true(
		    bt.x[0] == (double)bt.index); /* the record's own data */
		a[pos] = bt.index;
		assert_false(seen[a[pos]]);
		seen[a[pos]] = true;
	}
	for (int pos = N - 1; pos >= 0; pos--)
		b[pos] = fx_get(&s, 9, 2, pos).index;
	assert_memory_equal(a, b, sizeof a);
	for (int pos = 0; pos < N; pos++)
		b[pos] = fx_get(&s, 9, 3, pos).index;
	assert_memory_not_equal(a, b, sizeof a);
	fx_close(&s);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_bad_files(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	(void)state;
	open_fails("/nonexistent.msgpack", "/nonexistent.msgpack: cannot open");
	open_fails(
	    fx_file("e.msgpack", "", 0, false), "empty file: no records");

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack_xy(&pk, 1, 2, 2, true);
	char want[64];
	snprintf(want, sizeof want, "record 1 (byte %zu): runs past the end",
	    sb.size);
	pack_xy(&pk, 2, 2, 2, true);
	open_fails(fx_file("t.msgpack", sb.data, sb.size - 1, false), want);

	/* ragged x */
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 1);
	pack_key(&pk, "x");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_int(&pk, 2);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_int(&pk, 3);
	open_fails(fx_file("rag.msgpack", sb.data, sb.size, false),
	    "record 0 (byte 0): x[1]: expected an array of 2 numbers");

	/* y of the wrong length, a non-number in x */
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 2);
	pack_key(&pk, "x");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_int(&pk, 1);
	pack_key(&pk, "y");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_int(&pk, 1);
	open_fails(fx_file("y.msgpack", sb.data, sb.size, false),
	    "y must be an array of 1 numbers");
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 1);
	pack_key(&pk, "x");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
	open_fails(fx_file("n.msgpack", sb.data, sb.size, false),
	    "x[0][0]: not a number");

	/* an array claiming 4 billion elements in a few bytes allocates nothing */
	const unsigned char bomb[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01,
		0x02 };
	open_fails(fx_file("bomb.msgpack", bomb, sizeof bomb, false),
	    "runs past the end of the file");
	const unsigned char reserved[] = { 0x91, 0xc1 };
	open_fails(fx_file("c1.msgpack", reserved, sizeof reserved, false),
	    "not msgpack");
	/* deeper than msgpack-c decodes: refused at open, by the walk */
	unsigned char deep[IG_FRAME_MAX_DEPTH + 2];
	memset(deep, 0x91, sizeof deep - 1);
	deep[sizeof deep - 1] = 0x90;
	open_fails(fx_file("deep.msgpack", deep, sizeof deep, false),
	    "record 0 (byte 0): nesting too deep");
	msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_shuffle),
		cmocka_unit_test(test_bad_files),
	};
	return cmocka_run_group_tests(tests, NULL, fx_cleanup);
}
