/*
 * series.c - metric history on the wire.
 *
 * Each series is four parallel columns, each one bin of 8-byte big-endian
 * numbers: epoch and iteration (unsigned integers), time and value (IEEE
 * float64).  Plain msgpack arrays would cost msgpack-c one 24-byte object
 * per number (a million points: 96 MB of objects, paged in and out on every
 * frame); a bin is one object, and a Python client reads it with
 * numpy.frombuffer(b, ">f8") or struct.unpack.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum {
	NCOLS = 4
};
_Static_assert(sizeof(double) == 8, "a column holds IEEE-754 float64");

/* The columns' keys, in the order of the IG_COL_* bits. */
static const char *const keys[NCOLS] = { "epoch", "iteration", "time",
	"value" };

/* Where each column of an ig_point is. */
static const size_t offsets[NCOLS] = { offsetof(ig_point, epoch),
	offsetof(ig_point, iteration), offsetof(ig_point, time),
	offsetof(ig_point, value) };

/* Big-endian and back: one instruction a word, where a loop over the
 * bytes made packing and unpacking the larger part of a history read. */
static inline uint64_t
swap_be(uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return v;
#else
	return __builtin_bswap64(v);
#endif
}

unsigned
ig_series_column(const char *name)
{
	for (int c = 0; c < NCOLS; c++)
		if (strcmp(keys[c], name) == 0)
			return 1u << c;
	return 0;
}

int
ig_sbuffer_write(void *data, const char *buf, size_t len)
{
	return msgpack_sbuffer_write(data, buf, len);
}

/* Points a pass takes: their columns stay in the cache between columns,
 * so that the points are read once rather than once a column. */
#define BLOCK 512

/* n words from col, stride bytes apart, big-endian to out. */
static void
swap_out(unsigned char *out, const char *col, size_t stride, size_t n)
{
	uint64_t v;

	for (size_t j = 0; j < n; j++) {
		memcpy(&v, col + j * stride, sizeof v);
		v = swap_be(v);
		memcpy(out + 8 * j, &v, sizeof v);
	}
}

/*
 * The columns in mask of one series, col[c] its column c (stride bytes
 * between points), as bins: their keys and headers packed, then the
 * bodies filled block by block, straight into the buffer when pk writes
 * to an sbuffer through ig_sbuffer_write (then the points are read
 * once, not once a column), else a block at a time through pk.
 */
static void
pack_columns(msgpack_packer *pk, const char *const col[NCOLS], size_t stride,
    size_t n, unsigned mask)
{
	msgpack_sbuffer *sb = pk->data;
	size_t at[NCOLS] = { 0 }, need = 0;
	uint64_t block[BLOCK];

	if (pk->callback == ig_sbuffer_write) {
		for (int c = 0; c < NCOLS; c++)
			need += mask & 1u << c ? 32 + n * 8 : 0;
		if (sb->alloc - sb->size < need) {
			size_t cap = sb->size + need;
			char *nd = realloc(sb->data, cap);

			if (nd == NULL)
				goto slow; /* the packer says out of memory */
			sb->data = nd;
			sb->alloc = cap;
		}
		for (int c = 0; c < NCOLS; c++) {
			if (!(mask & 1u << c))
				continue;
			ig_pack_str(pk, keys[c]);
			msgpack_pack_bin(pk, n * 8);
			at[c] = sb->size;
			sb->size += n * 8;
		}
		for (size_t i = 0; i < n; i += BLOCK)
			for (int c = 0; c < NCOLS; c++)
				if (mask & 1u << c)
					swap_out((unsigned char *)sb->data +
					        at[c] + 8 * i,
					    col[c] + i * stride, stride,
					    n - i < BLOCK ? n - i : BLOCK);
		return;
	}
slow:
	for (int c = 0; c < NCOLS; c++) {
		if (!(mask & 1u << c))
			continue;
		ig_pack_str(pk, keys[c]);
		msgpack_pack_bin(pk, n * 8);
		for (size_t i = 0; i < n; i += BLOCK) {
			size_t k = n - i < BLOCK ? n - i : BLOCK;

			swap_out((unsigned char *)block, col[c] + i * stride,
			    stride, k);
			msgpack_pack_bin_body(pk, block, k * 8);
		}
	}
}

/* One series: its name, a map, and per column its key, a bin header and
 * the body; the key and header at most 32 bytes, as pack_columns
 * reserves. */
static size_t
packed_size(const char *name, size_t n, unsigned columns)
{
	return 5 + strlen(name) + 5 +
	    (size_t)__builtin_popcount(columns & IG_COL_ALL) * (32 + 8 * n);
}

static void
pack_one(msgpack_packer *pk, const char *name, const char *const col[NCOLS],
    size_t stride, size_t n, unsigned columns)
{
	ig_pack_str(pk, name);
	msgpack_pack_map(pk, (size_t)__builtin_popcount(columns & IG_COL_ALL));
	pack_columns(pk, col, stride, n, columns & IG_COL_ALL);
}

void
ig_series_pack(msgpack_packer *pk, const ig_series *s, size_t n)
{
	msgpack_pack_map(pk, n);
	for (size_t i = 0; i < n; i++) {
		const char *col[NCOLS] = { NULL }; /* none when empty */

		for (int c = 0; c < NCOLS && s[i].points != NULL; c++)
			col[c] = (const char *)s[i].points + offsets[c];
		pack_one(
		    pk, s[i].name, col, sizeof(ig_point), s[i].n, IG_COL_ALL);
	}
}

size_t
ig_columns_packed_size(const ig_columns *s, size_t n, unsigned columns)
{
	size_t bytes = 5;

	for (size_t i = 0; i < n; i++)
		bytes += packed_size(s[i].name, s[i].n, columns);
	return bytes;
}

void
ig_columns_pack(
    msgpack_packer *pk, const ig_columns *s, size_t n, unsigned columns)
{
	msgpack_pack_map(pk, n);
	for (size_t i = 0; i < n; i++) {
		const char *col[NCOLS] = { (const char *)s[i].epoch,
			(const char *)s[i].iteration, (const char *)s[i].time,
			(const char *)s[i].value };

		pack_one(pk, s[i].name, col, 8, s[i].n, columns);
	}
}

/* Values may be NaN or infinite (a diverged loss is history too);
 * counters are unsigned on the wire: the first point of s->points[i,
 * i + k) with one past INT64_MAX, as an error. */
static int
out_of_range(
    const ig_series *s, size_t i, size_t k, const char *where, ig_err *err)
{
	char path[PROTO_PATH_MAX];

	for (; k > 0 && s->points[i].epoch >= 0 && s->points[i].iteration >= 0;
	     i++, k--)
		;
	proto_path_key(
	    path, where, s->points[i].epoch < 0 ? "epoch" : "iteration");
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "%s: point %zu is out of range", path, i);
}

/* One series' columns into s->points; a column left out reads as 0. */
static int
read_series(
    const msgpack_object *o, ig_series *s, const char *where, ig_err *err)
{
	const msgpack_object *col[NCOLS] = { NULL };
	ig_fdef defs[NCOLS];
	char path[PROTO_PATH_MAX];
	int first = -1;
	size_t n = 0;
	int rc;

	for (int c = 0; c < NCOLS; c++)
		defs[c] = (ig_fdef){ keys[c], IG_F_ANY, false, NULL, &col[c] };
	if ((rc = ig_map_read(
	         o, where, defs, NCOLS, IG_READ_ALLOW_UNKNOWN, err)) != 0)
		return rc;
	for (int c = 0; c < NCOLS; c++) {
		const msgpack_object_bin *bin;

		if (col[c] == NULL || col[c]->type == MSGPACK_OBJECT_NIL) {
			col[c] = NULL;
			continue;
		}
		bin = &col[c]->via.bin;
		proto_path_key(path, where, keys[c]);
		if (col[c]->type != MSGPACK_OBJECT_BIN || bin->size % 8 != 0)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: expected "
			    "a bin of 8-byte numbers",
			    path);
		if (first < 0) {
			first = c;
			n = bin->size / 8;
		} else if (bin->size / 8 != n) {
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: %zu points, "
			    "but %s has %zu",
			    path, (size_t)bin->size / 8, keys[first], n);
		}
	}
	if (first < 0)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: no column: expected epoch, iteration, time or value",
		    where);
	if (n == 0)
		return 0;
	if ((s->points = ig_mem_alloc_large(n * sizeof *s->points)) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	s->n = n;
	/* a column at a time, a block of points at a time (they stay in the
	 * cache between columns); the counters' sign bits gathered on the
	 * way, where a pass of its own over the points cost a fifth of it */
	for (size_t i = 0; i < n; i += BLOCK) {
		size_t k = n - i < BLOCK ? n - i : BLOCK;
		uint64_t sign = 0;

		for (int c = 0; c < NCOLS; c++) {
			char *to = (char *)&s->points[i] + offsets[c];
			const unsigned char *b;
			uint64_t v = 0, bits = 0;

			if (col[c] == NULL) {
				for (size_t j = 0; j < k; j++)
					memcpy(to + j * sizeof *s->points, &v,
					    sizeof v);
				continue;
			}
			b = (const unsigned char *)col[c]->via.bin.ptr + 8 * i;
			for (size_t j = 0; j < k; j++) {
				memcpy(&v, b + 8 * j, sizeof v);
				v = swap_be(v);
				bits |= v;
				memcpy(
				    to + j * sizeof *s->points, &v, sizeof v);
			}
			if ((1u << c & (IG_COL_EPOCH | IG_COL_ITERATION)) != 0)
				sign |= bits;
		}
		if (sign >> 63 != 0)
			return out_of_range(s, i, k, where, err);
	}
	return 0;
}

int
ig_series_unpack(
    const msgpack_object *o, ig_series **out, size_t *n, ig_err *err)
{
	char where[PROTO_PATH_MAX], q[48];
	ig_series *s;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (o->type != MSGPACK_OBJECT_MAP)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "series: expected a map, got %s", proto_type_name(o));
	if (o->via.map.size == 0)
		return 0;
	if ((s = calloc(o->via.map.size, sizeof *s)) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	for (uint32_t i = 0; i < o->via.map.size && rc == 0; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_STR) {
			rc = ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "series: names must be str, got %s",
			    proto_type_name(&kv->key));
			break;
		}
		proto_path_key(where, "series",
		    proto_quote(q, sizeof q, kv->key.via.str.ptr,
		        kv->key.via.str.size));
		rc = proto_obj_read(
		    &kv->key, IG_F_STR, NULL, &s[i].name, where, err);
		if (rc == 0)
			rc = read_series(&kv->val, &s[i], where, err);
	}
	if (rc != 0) {
		ig_series_free(s, o->via.map.size);
		return rc;
	}
	*out = s;
	*n = o->via.map.size;
	return 0;
}

void
ig_series_free(ig_series *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(s[i].name);
		free(s[i].points);
	}
	free(s);
}
