/*
 * msgpack_span.h - find where one msgpack object ends, without decoding it.
 *
 * Used to index a file of concatenated objects before any is decoded: the
 * scan allocates nothing and rejects objects whose declared element counts
 * the remaining bytes cannot back (each element takes at least one byte),
 * so a decoder given a scanned object never allocates for a lie.
 */
#ifndef IGNITED_DATASET_MSGPACK_SPAN_H
#define IGNITED_DATASET_MSGPACK_SPAN_H

#include <stddef.h>

enum span_result {
	SPAN_OK = 0,
	SPAN_TRUNCATED = -1, /* the object (or its declared element
	                           * count) runs past len */
	SPAN_MALFORMED = -2, /* the reserved format byte 0xc1 */
};

/* The length of the object at p (at most len bytes) in *span. */
int msgpack_span_len(const unsigned char *p, size_t len, size_t *span);

#endif
