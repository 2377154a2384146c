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

enum ig_span_result {
	IG_SPAN_OK = 0,
	IG_SPAN_TRUNCATED = -1,   /* the object (or its declared element
	                           * count) runs past len */
	IG_SPAN_MALFORMED = -2,   /* the reserved format byte 0xc1 */
};

/* The length of the object at p (at most len bytes) in *span. */
int ig_msgpack_span(const unsigned char *p, size_t len, size_t *span);

#endif
