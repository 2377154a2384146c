/*
 * testutil.c - a small recursive-descent reader of JSON-like text that
 * packs as it reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "testutil.h"

struct reader {
	const char *p;
	msgpack_packer *pk;
};

static void value(struct reader *r);

static void
skip_blanks(struct reader *r)
{
	while (*r->p == ' ' || *r->p == '\n' || *r->p == '\t')
		r->p++;
}

static void
expect(struct reader *r, char c)
{
	skip_blanks(r);
	if (*r->p != c)
		fail_msg("testutil: expected '%c' at \"%.20s\"", c, r->p);
	r->p++;
}

static int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	fail_msg("testutil: bad hex digit '%c'", c);
	return 0;
}

/* Unicode escapes are written as UTF-8. */
static size_t
put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | cp >> 12);
	out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

/* 'text' is a str, b'text' a bin. */
static void
string(struct reader *r)
{
	bool bin = *r->p == 'b';
	char quote, buf[4096];
	size_t n = 0;

	r->p += bin;
	quote = *r->p++;
	while (*r->p != quote) {
		char c = *r->p++;

		if (c == '\0' || n + 4 > sizeof buf)
			fail_msg("testutil: unterminated or long string");
		if (c != '\\') {
			buf[n++] = c;
			continue;
		}
		switch (c = *r->p++) {
		case 'n':
			buf[n++] = '\n';
			break;
		case 't':
			buf[n++] = '\t';
			break;
		case 'x':
			buf[n++] = (char)(hex(r->p[0]) << 4 | hex(r->p[1]));
			r->p += 2;
			break;
		case 'u':
			n += put_utf8(buf + n,
			    (unsigned)(hex(r->p[0]) << 12 | hex(r->p[1]) << 8 |
			        hex(r->p[2]) << 4 | hex(r->p[3])));
			r->p += 4;
			break;
		default:
			buf[n++] = c;
			break;
		}
	}
	r->p++;
	if (bin)
		msgpack_pack_bin_with_body(r->pk, buf, n);
	else
		msgpack_pack_str_with_body(r->pk, buf, n);
}

static void
number(struct reader *r)
{
	const char *s = r->p;
	char *end;

	if (strncmp(s, "nan", 3) == 0 || strncmp(s, "inf", 3) == 0 ||
	    strncmp(s, "-inf", 4) == 0) {
		msgpack_pack_double(r->pk,
		    s[0] == 'n'     ? NAN :
		        s[0] == '-' ? -INFINITY :
		                      INFINITY);
		r->p += s[0] == '-' ? 4 : 3;
		return;
	}
	if (strcspn(s, ".eE,]} \n") < strcspn(s, ",]} \n")) {
		msgpack_pack_double(r->pk, strtod(s, &end));
	} else if (s[0] == '-') {
		msgpack_pack_int64(r->pk, strtoll(s, &end, 10));
	} else {
		msgpack_pack_uint64(r->pk, strtoull(s, &end, 10));
	}
	if (end == s)
		fail_msg("testutil: bad value at \"%.20s\"", s);
	r->p = end;
}

/* Elements of the array (or pairs of the map) starting at p: commas at
 * nesting level 0, skipping strings.  msgpack wants the count up front. */
static size_t
count_items(const char *p, char close)
{
	size_t n = 0, depth = 0;
	bool any = false;

	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\'') {
			char q = *p++;

			while (*p != q && *p != '\0')
				p += *p == '\\' && p[1] != '\0' ? 2 : 1;
			if (*p == '\0')
				break;
			any = true;
		} else if (*p == '[' || *p == '{') {
			depth++;
			any = true;
		} else if (depth > 0 && (*p == ']' || *p == '}')) {
			depth--;
		} else if (depth == 0 && *p == close) {
			break;
		} else if (depth == 0 && *p == ',') {
			n++;
		} else if (*p != ' ' && *p != '\n' && *p != '\t') {
			any = true;
		}
	}
	return any ? n + 1 : 0;
}

static void
container(struct reader *r, char close, bool map)
{
	size_t n = count_items(r->p, close);

	if (map)
		msgpack_pack_map(r->pk, n);
	else
		msgpack_pack_array(r->pk, n);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			expect(r, ',');
		value(r);
		if (map) {
			expect(r, ':');
			value(r);
		}
	}
	expect(r, close);
}

static void
value(struct reader *r)
{
	skip_blanks(r);
	switch (*r->p) {
	case '{':
		r->p++;
		container(r, '}', true);
		break;
	case '[':
		r->p++;
		container(r, ']', false);
		break;
	case '"':
	case '\'':
		string(r);
		break;
	default:
		if (r->p[0] == 'b' && (r->p[1] == '\'' || r->p[1] == '"')) {
			string(r);
			break;
		}
		if (strncmp(r->p, "true", 4) == 0) {
			msgpack_pack_true(r->pk);
			r->p += 4;
		} else if (strncmp(r->p, "false", 5) == 0) {
			msgpack_pack_false(r->pk);
			r->p += 5;
		} else if (strncmp(r->p, "null", 4) == 0) {
			msgpack_pack_nil(r->pk);
			r->p += 4;
		} else {
			number(r);
		}
	}
}

void
tu_pack(msgpack_packer *pk, const char *text)
{
	struct reader r = { text, pk };

	value(&r);
	skip_blanks(&r);
	if (*r.p != '\0')
		fail_msg("testutil: trailing text \"%.20s\"", r.p);
}

msgpack_object
tu_obj(msgpack_zone *zone, const char *text)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_object o;
	size_t off = 0;
	char *copy;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	tu_pack(&pk, text);
	copy = msgpack_zone_malloc(zone, sb.size);
	assert_non_null(copy);
	memcpy(copy, sb.data, sb.size);
	assert_int_equal(msgpack_unpack(copy, sb.size, &off, zone, &o),
	    MSGPACK_UNPACK_SUCCESS);
	msgpack_sbuffer_destroy(&sb);
	return o;
}

void
tu_raw_frame(msgpack_sbuffer *sb, const void *body, size_t len)
{
	unsigned char hdr[4] = {
		(unsigned char)(len >> 24),
		(unsigned char)(len >> 16),
		(unsigned char)(len >> 8),
		(unsigned char)len,
	};

	msgpack_sbuffer_write(sb, (const char *)hdr, 4);
	msgpack_sbuffer_write(sb, body, len);
}

void
tu_frame(msgpack_sbuffer *sb, const char *text)
{
	msgpack_sbuffer body;
	msgpack_packer pk;

	msgpack_sbuffer_init(&body);
	msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
	tu_pack(&pk, text);
	tu_raw_frame(sb, body.data, body.size);
	msgpack_sbuffer_destroy(&body);
}
