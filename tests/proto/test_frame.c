/*
 * test_frame.c - framing: encoding, the streaming decoder under every split
 * of a stream, and one distinct error code per kind of malformed frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ignite/protocol.h"
#include "proto/scan.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

/*
 * The decoder's buffer grows with realloc; this build links it with
 * -Wl,--wrap=realloc so the tests can see the largest size it asked for.
 */
void *__real_realloc(void *p, size_t size);
void *__wrap_realloc(void *p, size_t size);
static size_t max_realloc;

void *
__wrap_realloc(void *p, size_t size)
{
	if (size > max_realloc)
		max_realloc = size;
	return __real_realloc(p, size);
}

/* A growing text log of decoded messages, to compare two decodings. */
struct log {
	char *text;
	size_t len, cap;
	size_t count;
};

static void
log_add(struct log *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->text == NULL) {
		l->cap = 1024;
		l->text = malloc(l->cap);
		assert_non_null(l->text);
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(l->text + l->len, l->cap - l->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < l->cap - l->len)
			break;
		l->cap = (l->cap + (size_t)n) * 2;
		l->text = realloc(l->text, l->cap);
		assert_non_null(l->text);
	}
	l->len += (size_t)n;
}

static void
log_object(struct log *l, const msgpack_object *o)
{
	char buf[256];

	if (o == NULL) {
		log_add(l, "-");
		return;
	}
	/* Big objects: just their shape, which is enough to tell them apart. */
	if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0 &&
	    o->via.array.ptr[0].type == MSGPACK_OBJECT_STR &&
	    o->via.array.ptr[0].via.str.size > 100) {
		log_add(l, "[str of %u]", o->via.array.ptr[0].via.str.size);
		return;
	}
	assert_true(msgpack_object_print_buffer(buf, sizeof buf, *o) >= 0);
	log_add(l, "%s", buf);
}

static void
log_msg(struct log *l, const ig_msg *m)
{
	log_add(l, "type=%d id=%u method=%s params=", m->type, m->msgid,
	    m->method ? m->method : "-");
	log_object(l, m->params);
	log_add(l, " error=%d:%s result=", m->error_code,
	    m->error_message ? m->error_message : "-");
	log_object(l, m->result);
	log_add(l, "\n");
	l->count++;
}

/* Feed one chunk entirely; every message goes to the log. */
static void
feed(ig_decoder *d, const char *p, size_t len, struct log *l)
{
	while (len > 0) {
		size_t used;
		ig_msg m;
		int r = ig_decoder_feed(d, p, len, &used, &m);

		assert_true(used <= len);
		if (r == IG_DECODE_ERROR)
			fail_msg(
			    "decode error: %s", ig_decoder_error(d)->message);
		if (r == IG_DECODE_MESSAGE)
			log_msg(l, &m);
		else
			assert_int_equal(used, len);
		p += used;
		len -= used;
	}
}

/* A stream with one message of each kind and shape. */
static void
sample_stream(msgpack_sbuffer *sb)
{
	msgpack_sbuffer_init(sb);
	tu_frame(sb, "[0, 1, 'hello', {'versions': [1]}]");
	tu_frame(sb, "[1, 1, null, {'version': 1, 'daemon': 'ignited 0.1'}]");
	tu_frame(sb, "[0, 4294967295, 'status', {'id': 'my-run'}]");
	tu_frame(sb, "[1, 2, {'code': 4, 'message': 'no run 7'}, null]");
	tu_frame(sb, "[2, 'progress', {'id': 7, 'rate': 1.5, 'eta': null}]");
	tu_frame(sb, "[0, 3, 'list', []]");
	tu_frame(sb, "[2, '\\u00e9v\\u00e9nement', [1, -2, 3.25, true, 'x']]");
}

/* ---- encoding ----------------------------------------------------------- */

static void
test_encode_roundtrip(void **state)
{
	msgpack_sbuffer sb;
	ig_frame f;
	ig_err err = { 0 }, e = { IG_PROTO_NOT_FOUND, "no run 7" };
	struct log got = { 0 };
	ig_decoder *d = ig_decoder_new(0);

	(void)state;
	msgpack_sbuffer_init(&sb);
	ig_frame_request(&f, &sb, 42, "status");
	msgpack_pack_map(&f.pk, 1);
	ig_pack_str(&f.pk, "id");
	msgpack_pack_int(&f.pk, 7);
	assert_int_equal(ig_frame_end(&f, &err), 0);
	ig_frame_response(&f, &sb, 42);
	msgpack_pack_array(&f.pk, 2);
	ig_pack_opt_int(&f.pk, IG_NONE);
	ig_pack_opt_int(&f.pk, 5);
	assert_int_equal(ig_frame_end(&f, &err), 0);
	ig_frame_notify(&f, &sb, "status");
	msgpack_pack_map(&f.pk, 0);
	assert_int_equal(ig_frame_end(&f, &err), 0);
	assert_int_equal(ig_pack_error(&sb, 43, &e), 0);
	assert_int_equal(ig_pack_error_notify(&sb, &e), 0);

	feed(d, sb.data, sb.size, &got);
	assert_string_equal(got.text,
	    "type=0 id=42 method=status params={\"id\"=>7} error=0:- result=-\n"
	    "type=1 id=42 method=- params=- error=0:- result=[nil, 5]\n"
	    "type=2 id=0 method=status params={} error=0:- result=-\n"
	    "type=1 id=43 method=- params=- error=4:no run 7 result=nil\n"
	    "type=2 id=0 method=error params={\"code\"=>4, \"message\"=>\"no run 7\"}"
	    " error=0:- result=-\n");
	assert_int_equal(ig_decoder_eof(d), 0);
	free(got.text);
	ig_decoder_free(d);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_encode_limits(void **state)
{
	msgpack_sbuffer sb;
	ig_frame f;
	ig_err err = { 0 };
	size_t before;

	(void)state;
	msgpack_sbuffer_init(&sb);
	tu_frame(&sb, "[2, 'x', []]");
	before = sb.size;

	/* Over the limit: refused, and sb holds only the earlier frame. */
	ig_frame_notify(&f, &sb, "log");
	f.limit = 16;
	ig_pack_str(&f.pk, "a string that is far longer than sixteen bytes");
	assert_int_equal(ig_frame_end(&f, &err), IG_PROTO_TOO_LARGE);
	assert_non_null(strstr(err.message, "16 bytes"));
	assert_int_equal(sb.size, before);

	/* A limit lowered below what is already packed. */
	ig_frame_request(&f, &sb, 1, "status");
	f.limit = 3;
	msgpack_pack_map(&f.pk, 0);
	assert_int_equal(ig_frame_end(&f, &err), IG_PROTO_TOO_LARGE);
	assert_int_equal(sb.size, before);

	/* Exactly at the limit: fine. */
	ig_frame_begin(&f, &sb);
	f.limit = 3;
	ig_pack_str(&f.pk, "ab"); /* 0xa2 'a' 'b' */
	assert_int_equal(ig_frame_end(&f, &err), 0);
	assert_int_equal(sb.size, before + 4 + 3);
	assert_memory_equal(sb.data + before,
	    "\0\0\0\3\xa2"
	    "ab",
	    7);

	/* Abort, and an empty frame, leave nothing behind. */
	before = sb.size;
	ig_frame_request(&f, &sb, 1, "run");
	ig_frame_abort(&f);
	assert_int_equal(sb.size, before);
	assert_int_equal(ig_frame_end(&f, &err), IG_PROTO_INTERNAL);
	assert_int_equal(sb.size, before);
	ig_frame_begin(&f, &sb);
	assert_int_equal(ig_frame_end(&f, &err), IG_PROTO_INTERNAL);
	assert_int_equal(sb.size, before);
	msgpack_sbuffer_destroy(&sb);
}

/* An empty str comes from msgpack-c with a NULL pointer. */
static void
test_empty_strings(void **state)
{
	msgpack_zone *zone = msgpack_zone_new(1024);
	ig_msg m;
	ig_err err = { 0 };

	(void)state;
	assert_int_equal(ig_frame_decode("\x94\x01\x01\x82\xa4"
	                                 "code\x03\xa7"
	                                 "message\xa0\xc0",
	                     20, zone, &m, &err),
	    0);
	assert_int_equal(m.error_code, 3);
	assert_string_equal(m.error_message, "");
	msgpack_zone_clear(zone);
	assert_int_equal(ig_frame_decode("\x93\x02\xa0\x90", 4, zone, &m, &err),
	    IG_PROTO_MSG_METHOD);
	msgpack_zone_free(zone);
}

static void
test_frame_decode_direct(void **state)
{
	msgpack_sbuffer sb;
	msgpack_zone *zone = msgpack_zone_new(1024);
	ig_msg m;
	ig_err err = { 0 };

	(void)state;
	msgpack_sbuffer_init(&sb);
	tu_frame(&sb, "[0, 9, 'run', {'engine': 'builtin:noop'}]");
	assert_int_equal(
	    ig_frame_decode(sb.data + 4, sb.size - 4, zone, &m, &err), 0);
	assert_int_equal(m.type, IG_MSG_REQUEST);
	assert_int_equal(m.msgid, 9);
	assert_string_equal(m.method, "run");
	assert_int_equal(m.params->type, MSGPACK_OBJECT_MAP);
	assert_null(m.result);
	msgpack_zone_free(zone);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- the streaming decoder ---------------------------------------------- */

static void
decode_whole(const msgpack_sbuffer *sb, struct log *l)
{
	ig_decoder *d = ig_decoder_new(0);

	feed(d, sb->data, sb->size, l);
	assert_int_equal(ig_decoder_eof(d), 0);
	ig_decoder_free(d);
}

static void
test_split_every_boundary(void **state)
{
	msgpack_sbuffer sb;
	struct log want = { 0 };

	(void)state;
	sample_stream(&sb);
	decode_whole(&sb, &want);
	assert_int_equal(want.count, 7);

	/* Two chunks, cut at every byte. */
	for (size_t cut = 0; cut <= sb.size; cut++) {
		struct log got = { 0 };
		ig_decoder *d = ig_decoder_new(0);

		feed(d, sb.data, cut, &got);
		feed(d, sb.data + cut, sb.size - cut, &got);
		assert_int_equal(ig_decoder_eof(d), 0);
		assert_string_equal(got.text, want.text);
		free(got.text);
		ig_decoder_free(d);
	}
	/* Three chunks, cut at every pair of bytes. */
	for (size_t a = 0; a <= sb.size; a += 3) {
		for (size_t b = a; b <= sb.size; b++) {
			struct log got = { 0 };
			ig_decoder *d = ig_decoder_new(0);

			feed(d, sb.data, a, &got);
			feed(d, sb.data + a, b - a, &got);
			feed(d, sb.data + b, sb.size - b, &got);
			assert_string_equal(got.text, want.text);
			free(got.text);
			ig_decoder_free(d);
		}
	}
	free(want.text);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_one_byte_at_a_time(void **state)
{
	msgpack_sbuffer sb;
	struct log want = { 0 }, got = { 0 };
	ig_decoder *d = ig_decoder_new(0);

	(void)state;
	sample_stream(&sb);
	decode_whole(&sb, &want);
	for (size_t i = 0; i < sb.size; i++)
		feed(d, sb.data + i, 1, &got);
	assert_string_equal(got.text, want.text);
	assert_int_equal(ig_decoder_eof(d), 0);
	free(want.text);
	free(got.text);
	ig_decoder_free(d);
	msgpack_sbuffer_destroy(&sb);
}

/* The body of request 5, "big", with one str of size bytes 'z'. */
static void
big_request(msgpack_sbuffer *body, size_t size)
{
	char *s = malloc(size);
	msgpack_packer pk;

	assert_non_null(s);
	memset(s, 'z', size);
	msgpack_sbuffer_init(body);
	msgpack_packer_init(&pk, body, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_int(&pk, 5);
	ig_pack_str(&pk, "big");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_str_with_body(&pk, s, size);
	free(s);
}

/* A frame bigger than the kept buffer, split every which way. */
static void
test_big_frame_chunks(void **state)
{
	enum {
		BIG = 300 * 1024
	};
	msgpack_sbuffer sb, body;
	struct log want = { 0 };
	unsigned seed = 12345;

	(void)state;
	msgpack_sbuffer_init(&sb);
	big_request(&body, BIG);
	tu_frame(&sb, "[2, 'before', []]");
	tu_raw_frame(&sb, body.data, body.size);
	tu_frame(&sb, "[2, 'after', []]");
	tu_raw_frame(&sb, body.data, body.size);
	decode_whole(&sb, &want);
	assert_int_equal(want.count, 4);
	assert_non_null(strstr(want.text, "[str of 307200]"));

	for (int round = 0; round < 8; round++) {
		struct log got = { 0 };
		ig_decoder *d = ig_decoder_new(0);
		size_t max = round == 0 ? 1 : (size_t)1 << (round * 2 + 2);

		max_realloc = 0;
		for (size_t at = 0; at < sb.size;) {
			size_t n;

			seed = seed * 1103515245 + 12345;
			n = 1 + (seed >> 8) % max;
			if (n > sb.size - at)
				n = sb.size - at;
			feed(d, sb.data + at, n, &got);
			at += n;
		}
		/* Never more than one frame buffered (the log's own growth is
		 * smaller than a frame). */
		assert_true(max_realloc <= body.size);
		assert_string_equal(got.text, want.text);
		assert_int_equal(ig_decoder_eof(d), 0);
		free(got.text);
		ig_decoder_free(d);
	}
	free(want.text);
	msgpack_sbuffer_destroy(&body);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_many_frames_one_read(void **state)
{
	msgpack_sbuffer sb;
	ig_decoder *d = ig_decoder_new(0);
	size_t used, off = 0;
	ig_msg m;

	(void)state;
	msgpack_sbuffer_init(&sb);
	for (int i = 0; i < 100; i++)
		tu_frame(&sb, "[2, 'tick', [1]]");
	for (int i = 0; i < 100; i++) {
		assert_int_equal(
		    ig_decoder_feed(d, sb.data + off, sb.size - off, &used, &m),
		    IG_DECODE_MESSAGE);
		assert_string_equal(m.method, "tick");
		assert_int_equal(used, 4 + 9); /* one frame at a time */
		off += used;
	}
	assert_int_equal(off, sb.size);
	assert_int_equal(
	    ig_decoder_feed(d, sb.data, 0, &used, &m), IG_DECODE_MORE);
	assert_int_equal(used, 0);
	ig_decoder_free(d);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_eof(void **state)
{
	msgpack_sbuffer sb;
	struct log l = { 0 };
	ig_decoder *d;

	(void)state;
	msgpack_sbuffer_init(&sb);
	tu_frame(&sb, "[2, 'x', []]");

	d = ig_decoder_new(0);
	feed(d, sb.data, 2, &l);
	assert_int_equal(ig_decoder_eof(d), IG_PROTO_FRAME_TRUNCATED);
	assert_non_null(
	    strstr(ig_decoder_error(d)->message, "length prefix (2 of 4"));
	ig_decoder_free(d);

	d = ig_decoder_new(0);
	feed(d, sb.data, sb.size - 1, &l);
	assert_int_equal(ig_decoder_eof(d), IG_PROTO_FRAME_TRUNCATED);
	assert_non_null(
	    strstr(ig_decoder_error(d)->message, "inside a frame (4 of 5"));
	ig_decoder_free(d);

	d = ig_decoder_new(0);
	assert_int_equal(ig_decoder_eof(d), 0);
	assert_int_equal(ig_decoder_error(d)->code, 0);
	ig_decoder_free(d);
	free(l.text);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_max_frame(void **state)
{
	msgpack_sbuffer sb;
	ig_decoder *d = ig_decoder_new(10);
	struct log l = { 0 };
	size_t used;
	ig_msg m;

	(void)state;
	msgpack_sbuffer_init(&sb);
	tu_frame(&sb, "[2, 'x', ['abcd']]"); /* 10 bytes: exactly the limit */
	feed(d, sb.data, sb.size, &l);
	assert_int_equal(l.count, 1);

	/* 11 bytes: refused on the prefix alone, before any body byte. */
	msgpack_sbuffer_clear(&sb);
	tu_frame(&sb, "[2, 'x', ['abcde']]");
	assert_int_equal(
	    ig_decoder_feed(d, sb.data, 4, &used, &m), IG_DECODE_ERROR);
	assert_int_equal(ig_decoder_error(d)->code, IG_PROTO_FRAME_TOO_LARGE);
	assert_string_equal(ig_decoder_error(d)->message,
	    "frame too large: 11 bytes, the limit is 10");
	free(l.text);
	ig_decoder_free(d);
	msgpack_sbuffer_destroy(&sb);
}

/* A length prefix of 4 GiB - 1 with a few bytes behind it costs a buffer
 * of those few bytes, not of the prefix. */
static void
test_huge_prefix_no_alloc(void **state)
{
	ig_decoder *d = ig_decoder_new(SIZE_MAX);
	size_t used;
	ig_msg m;

	(void)state;
	max_realloc = 0;
	assert_int_equal(
	    ig_decoder_feed(d, "\xff\xff\xff\xff\x94\x00", 6, &used, &m),
	    IG_DECODE_MORE);
	assert_int_equal(used, 6);
	assert_int_equal(max_realloc, 2);
	assert_int_equal(ig_decoder_eof(d), IG_PROTO_FRAME_TRUNCATED);
	ig_decoder_free(d);
}

/*
 * A frame at or over the deferred size comes out whole, undecoded (also
 * when it lies whole in one chunk), for ig_decoder_decode(); smaller ones
 * are decoded as before, and release gives the buffer back.
 */
static void
test_deferred_frames(void **state)
{
	/* [0, 7, "ping", {}], and [0, 9, "ping", {pad: 49 x}] of 64 bytes */
	static const unsigned char small[] =
	    "\x00\x00\x00\x09\x94\x00\x07\xa4ping\x80";
	unsigned char big[4 + 64];
	ig_decoder *d = ig_decoder_new(0);
	size_t used, half;
	ig_msg m;

	(void)state;
	memcpy(
	    big, "\x00\x00\x00\x40\x94\x00\x09\xa4ping\x81\xa3pad\xd9\x31", 19);
	memset(big + 19, 'x', sizeof big - 19);
	ig_decoder_defer(d, 64);
	for (half = sizeof big; half >= sizeof big / 2;
	     half -= sizeof big / 2) {
		int r = ig_decoder_feed(d, big, half, &used, &m);
		if (half < sizeof big) { /* in two chunks */
			assert_int_equal(r, IG_DECODE_MORE);
			assert_true(ig_decoder_buffered(d) >= half - 4);
			r = ig_decoder_feed(
			    d, big + half, sizeof big - half, &used, &m);
		}
		assert_int_equal(r, IG_DECODE_FRAME);
		assert_true(ig_decoder_buffered(d) >= 64);
		assert_int_equal(ig_decoder_decode(d, &m), IG_DECODE_MESSAGE);
		assert_string_equal(m.method, "ping");
		assert_int_equal(m.msgid, 9);
		ig_decoder_release(d);
	}
	assert_int_equal(ig_decoder_feed(d, small, sizeof small - 1, &used, &m),
	    IG_DECODE_MESSAGE);
	assert_int_equal(m.msgid, 7);
	assert_int_equal(ig_decoder_eof(d), 0);
	ig_decoder_free(d);
}

/*
 * A frame of 300 KiB in two reads: its buffer goes back after it by
 * default, and stays for the next one under ig_decoder_keep() (a client
 * reading history page after page); a frame larger than kept still
 * gives its buffer back.
 */
static void
test_keep_buffer(void **state)
{
	enum {
		BIG = 300 * 1024
	};
	msgpack_sbuffer sb, body;

	(void)state;
	msgpack_sbuffer_init(&sb);
	big_request(&body, BIG);
	tu_raw_frame(&sb, body.data, body.size);
	for (size_t keep = 0; keep <= 2 * BIG; keep += BIG) {
		ig_decoder *d = ig_decoder_new(0);
		size_t used, half = sb.size / 2;
		ig_msg m;

		if (keep > 0)
			ig_decoder_keep(d, keep);
		for (int frame = 0; frame < 2; frame++) {
			assert_int_equal(
			    ig_decoder_feed(d, sb.data, half, &used, &m),
			    IG_DECODE_MORE);
			assert_int_equal(ig_decoder_feed(d, sb.data + half,
			                     sb.size - half, &used, &m),
			    IG_DECODE_MESSAGE);
			assert_string_equal(m.method, "big");
			ig_decoder_release(d);
			if (keep == 2 * BIG)
				assert_true(
				    ig_decoder_buffered(d) >= body.size);
			else
				assert_int_equal(ig_decoder_buffered(d), 0);
		}
		ig_decoder_free(d);
	}
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_destroy(&body);
}

/* ---- malformed frames: one code per rule -------------------------------- */

struct bad {
	const char *rule;
	const char *body;
	size_t len;
	int code;
	const char *says; /* a part of the message */
};

#define B(s) s, sizeof(s) - 1

static const struct bad bad_frames[] = {
	{ "truncated array", B("\x92\x91\x00"), IG_PROTO_FRAME_TRUNCATED,
	    "ends where an object" },
	{ "truncated str",
	    B("\x94\x00\x01\xa5"
	      "ab\x90"),
	    IG_PROTO_FRAME_TRUNCATED, "a str of 5 bytes" },
	{ "truncated header", B("\x92\x00\xdb\x00"), IG_PROTO_FRAME_TRUNCATED,
	    "header at offset 2" },
	{ "truncated int", B("\x92\x00\xce\x00"), IG_PROTO_FRAME_TRUNCATED,
	    "a value of 4 bytes" },
	{ "trailing bytes",
	    B("\x94\x00\x01\xa1"
	      "a\x90\xc0"),
	    IG_PROTO_FRAME_TRAILING, "ends at offset 6" },
	{ "invalid byte",
	    B("\x94\x00\x01\xa1"
	      "a\xc1"),
	    IG_PROTO_FRAME_INVALID, "0xc1 at offset 5" },
	{ "array count",
	    B("\x94\x00\x01\xa1"
	      "a\xdd\xff\xff\xff\xff"),
	    IG_PROTO_FRAME_COUNT, "declares 4294967295 items" },
	{ "map count", B("\xdf\x7f\xff\xff\xff\x00\x00"), IG_PROTO_FRAME_COUNT,
	    "map at offset 0" },
	{ "utf8 method", B("\x94\x00\x01\xa1\xff\x90"), IG_PROTO_FRAME_UTF8,
	    "offset 3" },
	{ "utf8 overlong", B("\x94\x00\x01\xa2\xc0\x80\x90"),
	    IG_PROTO_FRAME_UTF8, "UTF-8" },
	{ "utf8 surrogate",
	    B("\x94\x00\x01\xa1"
	      "a\x91\xa3\xed\xa0\x80"),
	    IG_PROTO_FRAME_UTF8, "offset 6" },
	{ "utf8 cut",
	    B("\x94\x00\x01\xa2"
	      "a\xe2\x90"),
	    IG_PROTO_FRAME_UTF8, "UTF-8" },
	{ "not an array", B("\x80"), IG_PROTO_MSG_NOT_ARRAY, "got a map" },
	{ "not an array (int)", B("\x05"), IG_PROTO_MSG_NOT_ARRAY,
	    "got an integer" },
	{ "empty array", B("\x90"), IG_PROTO_MSG_ARITY, "empty" },
	{ "request arity",
	    B("\x93\x00\x01\xa1"
	      "a"),
	    IG_PROTO_MSG_ARITY, "a request has 4 elements, got 3" },
	{ "notify arity",
	    B("\x94\x02\xa1"
	      "a\x90\x90"),
	    IG_PROTO_MSG_ARITY, "a notification has 3" },
	{ "unknown type",
	    B("\x94\x03\x01\xa1"
	      "a\x90"),
	    IG_PROTO_MSG_TYPE, "0 (request)" },
	{ "type not int",
	    B("\x94\xa1"
	      "0\x01\xa1"
	      "a\x90"),
	    IG_PROTO_MSG_TYPE, "message type" },
	{ "msgid negative",
	    B("\x94\x00\xff\xa1"
	      "a\x90"),
	    IG_PROTO_MSG_MSGID, "got an integer" },
	{ "msgid 2^32",
	    B("\x94\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xa1"
	      "a\x90"),
	    IG_PROTO_MSG_MSGID, "32-bit" },
	{ "msgid str",
	    B("\x94\x01\xa1"
	      "1\xc0\xc0"),
	    IG_PROTO_MSG_MSGID, "got a str" },
	{ "method int", B("\x94\x00\x01\x05\x90"), IG_PROTO_MSG_METHOD,
	    "got an integer" },
	{ "method empty", B("\x94\x00\x01\xa0\x90"), IG_PROTO_MSG_METHOD,
	    "empty" },
	{ "method NUL",
	    B("\x93\x02\xa3"
	      "a\x00"
	      "b\x90"),
	    IG_PROTO_MSG_METHOD, "NUL" },
	{ "params int",
	    B("\x94\x00\x01\xa1"
	      "a\x05"),
	    IG_PROTO_MSG_PARAMS, "got an integer" },
	{ "params nil",
	    B("\x93\x02\xa1"
	      "a\xc0"),
	    IG_PROTO_MSG_PARAMS, "got nil" },
	{ "error int", B("\x94\x01\x01\x05\xc0"), IG_PROTO_MSG_ERROR,
	    "got an integer" },
	{ "error code 0",
	    B("\x94\x01\x01\x82\xa4"
	      "code\x00\xa7"
	      "message\xa1"
	      "x\xc0"),
	    IG_PROTO_MSG_ERROR, "positive" },
	{ "error no message",
	    B("\x94\x01\x01\x81\xa4"
	      "code\x03\xc0"),
	    IG_PROTO_MSG_ERROR, "message" },
};

/* depth containers nested: [0, 1, "a", [[...[]...]]] */
static size_t
nested(unsigned char *buf, int depth)
{
	size_t n = 0;

	memcpy(buf,
	    "\x94\x00\x01\xa1"
	    "a",
	    5);
	n = 5;
	for (int i = 2; i <= depth; i++)
		buf[n++] = i == depth ? 0x90 : 0x91;
	return n;
}

static void
check_bad(
    const char *rule, const void *body, size_t len, int code, const char *says)
{
	msgpack_sbuffer sb;
	ig_decoder *d = ig_decoder_new(0);
	size_t used;
	ig_msg m;

	msgpack_sbuffer_init(&sb);
	tu_raw_frame(&sb, body, len);
	tu_frame(&sb, "[2, 'never', []]");
	if (ig_decoder_feed(d, sb.data, sb.size, &used, &m) != IG_DECODE_ERROR)
		fail_msg("%s: accepted", rule);
	if (ig_decoder_error(d)->code != code)
		fail_msg("%s: code %s (%s), want %s", rule,
		    ig_proto_code_name(ig_decoder_error(d)->code),
		    ig_decoder_error(d)->message, ig_proto_code_name(code));
	if (strstr(ig_decoder_error(d)->message, says) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", rule,
		    ig_decoder_error(d)->message, says);
	assert_true(ig_proto_code_fatal(code));
	/* Poisoned: the next frame is never decoded. */
	assert_int_equal(
	    ig_decoder_feed(d, sb.data + used, sb.size - used, &used, &m),
	    IG_DECODE_ERROR);
	assert_int_equal(used, 0);
	assert_int_equal(ig_decoder_eof(d), code);
	ig_decoder_free(d);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_frames / sizeof bad_frames[0]; i++) {
		const struct bad *b = &bad_frames[i];

		check_bad(b->rule, b->body, b->len, b->code, b->says);
	}
	check_bad(
	    "empty frame", "", 0, IG_PROTO_FRAME_EMPTY, "length prefix is 0");
}

static void
test_depth(void **state)
{
	unsigned char buf[64];
	msgpack_sbuffer sb;
	struct log l = { 0 };
	ig_decoder *d = ig_decoder_new(0);

	(void)state;
	/* Exactly IG_FRAME_MAX_DEPTH containers, the innermost empty: fine,
	 * and msgpack-c unpacks it. */
	msgpack_sbuffer_init(&sb);
	tu_raw_frame(&sb, buf, nested(buf, IG_FRAME_MAX_DEPTH));
	feed(d, sb.data, sb.size, &l);
	assert_int_equal(l.count, 1);
	check_bad("too deep", buf, nested(buf, IG_FRAME_MAX_DEPTH + 1),
	    IG_PROTO_FRAME_TOO_DEEP, "more than 32");
	free(l.text);
	ig_decoder_free(d);
	msgpack_sbuffer_destroy(&sb);
}

/* Each rule has its own code: no two rules above share one. */
static void
test_codes_distinct(void **state)
{
	static const int classes[] = {
		IG_PROTO_FRAME_EMPTY,
		IG_PROTO_FRAME_TOO_LARGE,
		IG_PROTO_FRAME_TRUNCATED,
		IG_PROTO_FRAME_TRAILING,
		IG_PROTO_FRAME_INVALID,
		IG_PROTO_FRAME_TOO_DEEP,
		IG_PROTO_FRAME_COUNT,
		IG_PROTO_FRAME_UTF8,
		IG_PROTO_MSG_NOT_ARRAY,
		IG_PROTO_MSG_ARITY,
		IG_PROTO_MSG_TYPE,
		IG_PROTO_MSG_MSGID,
		IG_PROTO_MSG_METHOD,
		IG_PROTO_MSG_PARAMS,
		IG_PROTO_MSG_ERROR,
		IG_PROTO_BAD_REQUEST,
		IG_PROTO_UNKNOWN_METHOD,
		IG_PROTO_INVALID_PARAMS,
		IG_PROTO_NOT_FOUND,
		IG_PROTO_PERMISSION_DENIED,
		IG_PROTO_CONFLICT,
		IG_PROTO_UNAVAILABLE,
		IG_PROTO_INTERNAL,
		IG_PROTO_TOO_LARGE,
		IG_PROTO_VERSION_MISMATCH,
	};
	size_t n = sizeof classes / sizeof classes[0];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(
		    ig_proto_code_name(classes[i]), "UNKNOWN");
		assert_int_equal(
		    ig_proto_code_fatal(classes[i]), classes[i] >= 100);
		for (size_t j = i + 1; j < n; j++) {
			assert_int_not_equal(classes[i], classes[j]);
			assert_string_not_equal(ig_proto_code_name(classes[i]),
			    ig_proto_code_name(classes[j]));
		}
	}
	assert_string_equal(
	    ig_proto_code_name(IG_PROTO_INVALID_PARAMS), "INVALID_PARAMS");
	assert_string_equal(ig_proto_code_name(IG_PROTO_OK), "OK");
	assert_string_equal(ig_proto_code_name(9999), "UNKNOWN");
}

static void
test_err_set_truncates_visibly(void **state)
{
	ig_err err;
	char big[400];

	(void)state;
	memset(big, 'x', sizeof big - 3);
	/* A 2-byte character across the cut must not be split. */
	memcpy(big + IG_ERR_MAX - 6, "\xc3\xa9", 2);
	big[sizeof big - 1] = '\0';
	assert_int_equal(
	    ig_err_set(&err, IG_PROTO_INTERNAL, "%s", big), IG_PROTO_INTERNAL);
	assert_int_equal(strlen(err.message), IG_ERR_MAX - 1);
	assert_string_equal(err.message + IG_ERR_MAX - 4, "...");

	memset(big, 'x', sizeof big);
	memcpy(big + IG_ERR_MAX - 5, "\xc3\xa9", 2);
	big[sizeof big - 1] = '\0';
	ig_err_set(&err, IG_PROTO_INTERNAL, "%s", big);
	assert_string_equal(err.message + IG_ERR_MAX - 5, "...");
	assert_int_equal(
	    ig_err_set(NULL, IG_PROTO_CONFLICT, "ignored"), IG_PROTO_CONFLICT);
}

/* One object walked where more bytes follow: how the msgpack: data source
 * finds its records (proto/scan.h). */
static void
test_scan_object(void **state)
{
	/* every format once, inside one array, then trailing bytes */
	const unsigned char obj[] = {
		0x9f, /* fixarray of 15 */
		0x05, 0xe0, 0xc0, 0xc2, /* fixints, nil, false */
		0xa2, 'h', 'i', /* fixstr */
		0xd9, 0x01, 'x', /* str8 */
		0xc4, 0x02, 0, 0, /* bin8 */
		0xcb, 0, 0, 0, 0, 0, 0, 0, 0, /* float64 */
		0xd1, 0, 0, /* int16 */
		0xd6, 1, 0, 0, 0, 0, /* fixext4 */
		0xc7, 0x01, 5, 0, /* ext8 */
		0x81, 0xa0, 0x90, /* {"": []} */
		0xde, 0x00, 0x01, 0x01, 0x02, /* map16 {1: 2} */
		0xdc, 0x00, 0x00, /* array16 [] */
		0xcf, 0, 0, 0, 0, 0, 0, 0, 1, /* uint64 */
		0xff, 0xff, /* trailing: not ours */
	};
	const unsigned char latin1[] = { 0xa1, 0xe9 }; /* "\xe9" */
	size_t span;
	ig_err err;

	(void)state;
	assert_int_equal(proto_scan_object(obj, sizeof obj, 0, &span, &err), 0);
	assert_int_equal(span, sizeof obj - 2);
	assert_int_equal(
	    proto_scan(obj, sizeof obj, &err), IG_PROTO_FRAME_TRAILING);
	for (size_t cut = 0; cut < span; cut++) {
		int rc = proto_scan_object(obj, cut, 0, &span, &err);

		assert_true(rc == IG_PROTO_FRAME_TRUNCATED ||
		    rc == IG_PROTO_FRAME_COUNT);
	}
	/* UTF-8 is checked only when asked: data files predate the rule */
	assert_int_equal(
	    proto_scan_object(latin1, sizeof latin1, 0, &span, &err), 0);
	assert_int_equal(proto_scan_object(latin1, sizeof latin1,
	                     PROTO_SCAN_UTF8, &span, &err),
	    IG_PROTO_FRAME_UTF8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_frame_decode_direct),
		cmocka_unit_test(test_empty_strings),
		cmocka_unit_test(test_split_every_boundary),
		cmocka_unit_test(test_one_byte_at_a_time),
		cmocka_unit_test(test_big_frame_chunks),
		cmocka_unit_test(test_many_frames_one_read),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_max_frame),
		cmocka_unit_test(test_huge_prefix_no_alloc),
		cmocka_unit_test(test_deferred_frames),
		cmocka_unit_test(test_keep_buffer),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_scan_object),
		cmocka_unit_test(test_codes_distinct),
		cmocka_unit_test(test_err_set_truncates_visibly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
