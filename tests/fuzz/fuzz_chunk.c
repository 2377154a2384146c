/*
 * fuzz_chunk.c - the chunk decoder on arbitrary bytes.  A chunk that
 * decodes must encode again and decode to the same bits; one that does
 * not must say why.  The bucket fold reads the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/chunk.h"

static int64_t it[CHUNK_MAX], ep[CHUNK_MAX], it2[CHUNK_MAX], ep2[CHUNK_MAX];
static double wall[CHUNK_MAX], val[CHUNK_MAX], wall2[CHUNK_MAX],
    val2[CHUNK_MAX];
static uint8_t again[14 + 4 * (4 + 8 * CHUNK_MAX)];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunk_out out = { it, ep, wall, val, 0, 0, CHUNK_MAX };
	struct chunk_out out2 = { it2, ep2, wall2, val2, 0, 0, CHUNK_MAX };
	struct chunk_bucket b[16] = { 0 };
	struct chunk_info info;
	struct chunk_cols c;
	char err[256] = "";
	size_t len;

	if (chunk_buckets(data, size, 0, 3, b, 16, err, sizeof err) != 0 &&
	    err[0] == '\0')
		abort();
	err[0] = '\0';
	if (chunk_decode(data, size, &out, err, sizeof err) != 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (chunk_info(data, size, &info, err, sizeof err) != 0 ||
	    info.n != out.n)
		abort();
	c = (struct chunk_cols){ it, info.has_epoch ? ep : NULL,
		info.has_wall ? wall : NULL, val };
	if (chunk_encode(
	        &c, out.n, again, sizeof again, &len, err, sizeof err) != 0 ||
	    len > chunk_bound(out.n) ||
	    chunk_decode(again, len, &out2, err, sizeof err) != 0 ||
	    out2.n != out.n || memcmp(it, it2, out.n * 8) != 0 ||
	    memcmp(ep, ep2, out.n * 8) != 0 ||
	    memcmp(wall, wall2, out.n * 8) != 0 ||
	    memcmp(val, val2, out.n * 8) != 0)
		abort();
	return 0;
}
