/*
 * scan.c - a bounded walk over untrusted msgpack before msgpack-c sees it.
 *
 * msgpack-c allocates an array of msgpack_object as soon as it reads a
 * container's count, so a 5-byte header can ask for 100 GB.  This walk
 * checks every count against the bytes that remain (each element takes at
 * least one byte), and everything else that makes a frame unusable, without
 * allocating and without recursion.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <msgpack/unpack_define.h> /* MSGPACK_EMBED_STACK_SIZE */

#include "internal.h"

/* msgpack-c refuses to open more containers than its embedded stack holds. */
_Static_assert(IG_FRAME_MAX_DEPTH <= MSGPACK_EMBED_STACK_SIZE,
    "frame depth limit above what msgpack-c can unpack");

static uint64_t
be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

size_t
ig_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3;
	else
		return 0; /* continuation byte, overlong lead, > U+10FFFF */
	if (len - 1 < need)
		return 0;
	/* The second byte's range rules out overlongs, surrogates and code
	 * points past U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	}
	return need + 1;
}

bool
proto_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = ig_utf8_seq(s + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

char *
ig_utf8_repair(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc(3 * len + 1), *o = out;
	size_t n;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += n) {
		if (p[i] != 0 && (n = ig_utf8_seq(p + i, len - i)) > 0) {
			memcpy(o, p + i, n);
			o += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			n = 1;
		}
	}
	*o = '\0';
	return out;
}

size_t
proto_utf8_boundary(const char *s, size_t at)
{
	while (at > 0 && ((unsigned char)s[at] & 0xc0) == 0x80)
		at--;
	return at;
}

/*
 * The layout of the object whose first byte is b: header bytes after b,
 * how many of those hold a length (of payload bytes or container items), a
 * fixed payload, and whether it is a str, array or map.
 */
enum kind {
	SCALAR,
	STR,
	BLOB,
	ARRAY,
	MAP,
	INVALID
};
struct layout {
	enum kind kind;
	size_t extra; /* header bytes after the type byte */
	size_t lenbytes; /* of those, the big-endian length or count */
	uint64_t fixed; /* payload or count given by the type byte itself */
};

static struct layout
layout_of(unsigned char b)
{
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return (struct layout){ SCALAR, 0, 0, 0 };
	if (b <= 0x8f)
		return (struct layout){ MAP, 0, 0, b & 0x0f };
	if (b <= 0x9f)
		return (struct layout){ ARRAY, 0, 0, b & 0x0f };
	if (b <= 0xbf)
		return (struct layout){ STR, 0, 0, b & 0x1f };
	switch (b) {
	case 0xc4:
		return (struct layout){ BLOB, 1, 1, 0 }; /* bin 8 */
	case 0xc5:
		return (struct layout){ BLOB, 2, 2, 0 };
	case 0xc6:
		return (struct layout){ BLOB, 4, 4, 0 };
	case 0xc7:
		return (struct layout){ BLOB, 2, 1, 0 }; /* ext 8: len, type */
	case 0xc8:
		return (struct layout){ BLOB, 3, 2, 0 };
	case 0xc9:
		return (struct layout){ BLOB, 5, 4, 0 };
	case 0xca:
		return (struct layout){ BLOB, 0, 0, 4 }; /* float 32 */
	case 0xcb:
		return (struct layout){ BLOB, 0, 0, 8 };
	case 0xcc:
	case 0xd0:
		return (struct layout){ BLOB, 0, 0, 1 };
	case 0xcd:
	case 0xd1:
		return (struct layout){ BLOB, 0, 0, 2 };
	case 0xce:
	case 0xd2:
		return (struct layout){ BLOB, 0, 0, 4 };
	case 0xcf:
	case 0xd3:
		return (struct layout){ BLOB, 0, 0, 8 };
	case 0xd4:
		return (struct layout){ BLOB, 1, 0, 1 }; /* fixext: type byte */
	case 0xd5:
		return (struct layout){ BLOB, 1, 0, 2 };
	case 0xd6:
		return (struct layout){ BLOB, 1, 0, 4 };
	case 0xd7:
		return (struct layout){ BLOB, 1, 0, 8 };
	case 0xd8:
		return (struct layout){ BLOB, 1, 0, 16 };
	case 0xd9:
		return (struct layout){ STR, 1, 1, 0 };
	case 0xda:
		return (struct layout){ STR, 2, 2, 0 };
	case 0xdb:
		return (struct layout){ STR, 4, 4, 0 };
	case 0xdc:
		return (struct layout){ ARRAY, 2, 2, 0 };
	case 0xdd:
		return (struct layout){ ARRAY, 4, 4, 0 };
	case 0xde:
		return (struct layout){ MAP, 2, 2, 0 };
	case 0xdf:
		return (struct layout){ MAP, 4, 4, 0 };
	default:
		return (struct layout){ INVALID, 0, 0, 0 }; /* 0xc1 */
	}
}

int
proto_scan_object(
    const unsigned char *p, size_t len, int flags, size_t *span, ig_err *err)
{
	/* Items still to read in each open container; level 0 holds the one
	 * object walked. */
	uint64_t left[IG_FRAME_MAX_DEPTH + 1];
	size_t depth = 0, pos = 0;

	left[0] = 1;
	for (;;) {
		struct layout l;
		uint64_t n;
		size_t at = pos;

		while (left[depth] == 0) {
			if (depth == 0) {
				*span = pos;
				return 0;
			}
			depth--;
		}
		left[depth]--;

		if (pos == len)
			return ig_err_set(err, IG_PROTO_FRAME_TRUNCATED,
			    "frame truncated: the %zu-byte frame ends where "
			    "an object should start",
			    len);
		l = layout_of(p[pos]);
		if (len - pos - 1 < l.extra)
			return ig_err_set(err, IG_PROTO_FRAME_TRUNCATED,
			    "frame truncated: the header at offset %zu runs past "
			    "the end of the %zu-byte frame",
			    at, len);
		n = l.lenbytes ? be(p + pos + 1, l.lenbytes) : l.fixed;
		pos += 1 + l.extra;

		switch (l.kind) {
		case INVALID:
			return ig_err_set(err, IG_PROTO_FRAME_INVALID,
			    "invalid msgpack: byte 0x%02x at offset %zu starts "
			    "no object",
			    p[at], at);
		case SCALAR:
			break;
		case STR:
		case BLOB:
			if (n > len - pos)
				return ig_err_set(err, IG_PROTO_FRAME_TRUNCATED,
				    "frame truncated: %s of %ju bytes at offset "
				    "%zu runs past the end of the %zu-byte frame",
				    l.kind == STR ? "a str" : "a value",
				    (uintmax_t)n, at, len);
			if (l.kind == STR && (flags & PROTO_SCAN_UTF8) &&
			    !proto_utf8_valid(p + pos, (size_t)n))
				return ig_err_set(err, IG_PROTO_FRAME_UTF8,
				    "invalid UTF-8 in the str at offset %zu",
				    at);
			pos += (size_t)n;
			break;
		case ARRAY:
		case MAP:
			if (depth == IG_FRAME_MAX_DEPTH)
				return ig_err_set(err, IG_PROTO_FRAME_TOO_DEEP,
				    "nesting too deep: more than %d arrays and "
				    "maps inside each other at offset %zu",
				    IG_FRAME_MAX_DEPTH, at);
			if (l.kind == MAP)
				n *= 2;
			if (n > len - pos)
				return ig_err_set(err, IG_PROTO_FRAME_COUNT,
				    "bad count: the %s at offset %zu declares %ju "
				    "items but only %zu bytes remain",
				    l.kind == MAP ? "map" : "array", at,
				    (uintmax_t)(l.kind == MAP ? n / 2 : n),
				    len - pos);
			left[++depth] = n;
			break;
		}
	}
}

int
proto_scan(const unsigned char *p, size_t len, ig_err *err)
{
	size_t span;
	int rc;

	if ((rc = proto_scan_object(p, len, PROTO_SCAN_UTF8, &span, err)) != 0)
		return rc;
	if (span != len)
		return ig_err_set(err, IG_PROTO_FRAME_TRAILING,
		    "trailing bytes: the object ends at offset %zu of a "
		    "%zu-byte frame",
		    span, len);
	return 0;
}
