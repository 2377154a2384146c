/*
 * blob.h - a little-endian byte format for plugin state.
 *
 * Writers append fixed-width integers and IEEE-754 doubles (as their exact
 * 64-bit patterns, so a round trip is bit-identical) to a growing buffer;
 * readers consume them with bounds checks.  The layout is the caller's: it
 * writes a magic and a version first and reads them back in the same order.
 */
#ifndef IGNITED_BUILTIN_BLOB_H
#define IGNITED_BUILTIN_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A buffer being written.  Zero-initialise; on success the caller takes buf
 * (malloc'd) and len; after a failure buf has been freed and further puts
 * are ignored, so a writer checks `failed` once at the end. */
struct blob_writer {
	unsigned char *buf;
	size_t len, cap;
	bool failed;
};

void blob_put_u32(struct blob_writer *w, uint32_t v);
void blob_put_u64(struct blob_writer *w, uint64_t v);
void blob_put_doubles(struct blob_writer *w, const double *v, size_t n);

/* A buffer being read; buf is borrowed.  A get past the end returns -1 and
 * leaves its output untouched. */
struct blob_reader {
	const unsigned char *buf;
	size_t len, off;
};

int blob_get_u32(struct blob_reader *r, uint32_t *v);
int blob_get_u64(struct blob_reader *r, uint64_t *v);
int blob_get_doubles(struct blob_reader *r, double *v, size_t n);
/* Bytes not yet read. */
size_t blob_remaining(const struct blob_reader *r);

#endif
