/*
 * msgpack_span.c - find where one msgpack object ends (the msgpack spec's
 * formats, walked iteratively so that nesting depth costs nothing).
 */
#include <stdint.h>

#include "dataset/msgpack_span.h"

static uint64_t
load_be(const unsigned char *p, size_t width)
{
	uint64_t v = 0;

	for (size_t i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * The layout of a format byte: `head` bytes after it hold a big-endian
 * number (0 for fix formats), which is a payload length in bytes (skip),
 * or an element count (array: n objects follow, map: 2n).  `extra` bytes
 * of fixed payload follow whatever the number says.
 */
enum kind {
	SKIP,
	ARRAY,
	MAP
};
struct layout {
	enum kind kind;
	unsigned head;
	unsigned extra;
};

/* Layout of format byte b; returns -1 for the reserved 0xc1. */
static int
layout_of(unsigned char b, struct layout *l, uint64_t *fixn)
{
	*fixn = 0;
	*l = (struct layout){ SKIP, 0, 0 };
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return 0; /* fixint, nil, bool */
	if (b <= 0x8f) {
		*l = (struct layout){ MAP, 0, 0 };
		*fixn = b & 0x0f;
		return 0;
	}
	if (b <= 0x9f) {
		*l = (struct layout){ ARRAY, 0, 0 };
		*fixn = b & 0x0f;
		return 0;
	}
	if (b <= 0xbf) { /* fixstr */
		*fixn = b & 0x1f;
		return 0;
	}
	switch (b) {
	case 0xc4:
	case 0xd9:
		l->head = 1;
		return 0; /* bin8, str8 */
	case 0xc5:
	case 0xda:
		l->head = 2;
		return 0; /* bin16, str16 */
	case 0xc6:
	case 0xdb:
		l->head = 4;
		return 0; /* bin32, str32 */
	case 0xc7:
		l->head = 1;
		l->extra = 1;
		return 0; /* ext8: len, type */
	case 0xc8:
		l->head = 2;
		l->extra = 1;
		return 0;
	case 0xc9:
		l->head = 4;
		l->extra = 1;
		return 0;
	case 0xcc:
	case 0xd0:
		l->extra = 1;
		return 0; /* (u)int8 */
	case 0xcd:
	case 0xd1:
		l->extra = 2;
		return 0;
	case 0xca:
	case 0xce:
	case 0xd2:
		l->extra = 4;
		return 0;
	case 0xcb:
	case 0xcf:
	case 0xd3:
		l->extra = 8;
		return 0;
	case 0xd4:
		l->extra = 1 + 1;
		return 0; /* fixext: type, data */
	case 0xd5:
		l->extra = 1 + 2;
		return 0;
	case 0xd6:
		l->extra = 1 + 4;
		return 0;
	case 0xd7:
		l->extra = 1 + 8;
		return 0;
	case 0xd8:
		l->extra = 1 + 16;
		return 0;
	case 0xdc:
		*l = (struct layout){ ARRAY, 2, 0 };
		return 0;
	case 0xdd:
		*l = (struct layout){ ARRAY, 4, 0 };
		return 0;
	case 0xde:
		*l = (struct layout){ MAP, 2, 0 };
		return 0;
	case 0xdf:
		*l = (struct layout){ MAP, 4, 0 };
		return 0;
	}
	return -1; /* 0xc1: never used */
}

int
msgpack_span_len(const unsigned char *p, size_t len, size_t *span)
{
	size_t off = 0;
	uint64_t pending = 1; /* objects still to walk */

	while (pending > 0) {
		struct layout l;
		uint64_t n;

		/* every pending object needs at least its format byte */
		if (pending > len - off)
			return SPAN_TRUNCATED;
		if (layout_of(p[off], &l, &n) == -1)
			return SPAN_MALFORMED;
		off++;
		pending--;
		if (l.head > len - off)
			return SPAN_TRUNCATED;
		if (l.head > 0)
			n = load_be(p + off, l.head);
		off += l.head;
		if (l.kind == SKIP) {
			if (n > len - off || l.extra > len - off - n)
				return SPAN_TRUNCATED;
			off += (size_t)n + l.extra;
		} else {
			pending += l.kind == MAP ? 2 * n : n;
		}
	}
	*span = off;
	return SPAN_OK;
}
