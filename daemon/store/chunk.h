/*
 * chunk.h - a sealed chunk of one metric series: up to CHUNK_MAX points
 * (iteration, epoch, wall clock, value) encoded into bytes and decoded back
 * bit for bit (NaN payloads, infinities, -0.0 and subnormals included).
 *
 * The bytes, format 1 (all varints are LEB128, signed ones zigzagged):
 *
 *	format	1 byte, CHUNK_FORMAT
 *	flags	1 byte: 1 epoch column present, 2 wall column present
 *	count	varint, 1..CHUNK_MAX
 *	first	signed varint, the first point's iteration
 *	columns	iteration (count - 1 values after first), epoch, wall, value:
 *		each an encoding byte, a varint byte length and that many bytes
 *
 * Every column is 64-bit words (integers as two's complement, float64 as
 * their bits) in one of four encodings, whichever is smallest for that
 * column of that chunk: raw little-endian words; runs of equal deltas; a
 * bit stream of delta-of-deltas; or Gorilla's XOR of each word with the
 * one before (Pelkonen et al., "Gorilla", VLDB 2015).  Raw bounds a column
 * at 8 bytes a point, so XOR never costs more than packed float64.
 *
 * A later format adds a format number and keeps reading this one.  The
 * decoders check every length and every bit read against the bytes given:
 * a corrupt chunk is an error with a message, never a read out of bounds.
 * Iterations must increase strictly within a chunk (gaps allowed).
 */
#ifndef IGNITED_CHUNK_H
#define IGNITED_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#define CHUNK_MAX 4096
#define CHUNK_FORMAT 1

/* n points as columns; epoch and wall NULL when the series has none. */
struct chunk_cols {
	const int64_t *iteration;
	const int64_t *epoch;
	const double *wall;
	const double *value;
};

/* The most bytes chunk_encode() writes for n points. */
size_t chunk_bound(size_t n);

/*
 * Encode n points (1..CHUNK_MAX, iterations strictly increasing) into
 * out, which has room for cap bytes (chunk_bound(n) always suffices).
 * 0 with the length in *len, or -1 with a message in err.
 */
int chunk_encode(const struct chunk_cols *c, size_t n, uint8_t *out, size_t cap,
    size_t *len, char *err, size_t errlen);

/* What a chunk's header says. */
struct chunk_info {
	unsigned format;
	size_t n;
	int64_t first; /* iteration of the first point */
	int has_epoch, has_wall;
};

/* Read the header only.  0, or -1 with a message in err. */
int chunk_info(const uint8_t *buf, size_t len, struct chunk_info *info,
    char *err, size_t errlen);

/*
 * Where chunk_decode() puts points: point i of a chunk goes to index
 * n + i of each array, the arrays being stride bytes a point apart (8
 * for plain arrays, sizeof(ig_point) for the members of an ig_point
 * array).  epoch, wall and value may be NULL when not wanted; a chunk
 * without epochs or wall clocks gives 0 for them.
 */
struct chunk_out {
	int64_t *iteration;
	int64_t *epoch;
	double *wall;
	double *value;
	size_t stride;
	size_t n; /* points there already; advanced by each decode */
	size_t cap; /* room, in points */
};

/*
 * Append the chunk's points to out.  0, or -1 with a message in err: a
 * corrupt chunk, one of a newer format, or one that does not fit (out->n
 * is then unchanged, and the arrays past it hold garbage).
 */
int chunk_decode(const uint8_t *buf, size_t len, struct chunk_out *out,
    char *err, size_t errlen);

/*
 * Downsampling: bucket k holds the points with iteration in
 * [origin + k * width, origin + (k + 1) * width).  n counts them; min and
 * max are over the values that are not NaN (both NaN while there is
 * none); last is the value of the highest iteration, at last_iteration.
 */
struct chunk_bucket {
	size_t n;
	double min, max, last;
	int64_t last_iteration;
};

/*
 * Fold the chunk's points into nb buckets (zeroed by the caller before
 * the first chunk; chunks in iteration order), skipping points outside
 * them.  Decodes no epoch or wall clock and keeps no point beyond the
 * chunk.  0, or -1 with a message in err (the buckets may then hold part
 * of the chunk).
 */
int chunk_buckets(const uint8_t *buf, size_t len, int64_t origin, int64_t width,
    struct chunk_bucket *b, size_t nb, char *err, size_t errlen);

#endif
