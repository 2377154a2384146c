/*
 * fuzz_spec.c - the run spec reader on arbitrary msgpack.  The input is
 * checked and unpacked as the result of a response, as a frame from the
 * wire would be (the result, unlike params, follows no str, so an empty
 * str in it reaches the reader with msgpack-c's NULL pointer).  A spec
 * that reads must pack to a canonical form that reads again and packs to
 * the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ignite/spec.h"

static void
canonical(const ig_spec *s, msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	ig_spec_pack(&pk, s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "\x94\x01\x00\xc0"; /* [1, 0, nil, */
	msgpack_zone *zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
	msgpack_sbuffer a, b;
	unsigned char *body = malloc(sizeof head - 1 + size);
	ig_spec *s, *again;
	ig_err err;
	ig_msg m;
	msgpack_object o;
	size_t off = 0;

	memcpy(body, head, sizeof head - 1);
	if (size > 0)
		memcpy(body + sizeof head - 1, data, size);
	if (ig_frame_decode(body, sizeof head - 1 + size, zone, &m, &err) ==
	        0 &&
	    ig_spec_read(m.result, &s, &err) == 0) {
		canonical(s, &a);
		if (msgpack_unpack(a.data, a.size, &off, zone, &o) !=
		        MSGPACK_UNPACK_SUCCESS ||
		    ig_spec_read(&o, &again, &err) != 0)
			abort();
		canonical(again, &b);
		if (a.size != b.size || memcmp(a.data, b.data, a.size) != 0)
			abort();
		msgpack_sbuffer_destroy(&a);
		msgpack_sbuffer_destroy(&b);
		ig_spec_free(s);
		ig_spec_free(again);
	}
	free(body);
	msgpack_zone_free(zone);
	return 0;
}
