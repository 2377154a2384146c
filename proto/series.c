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

/* Every column is 8 bytes in ig_point too, so one copy serves them all. */
static const struct {
	const char *key;
	size_t offset;
} cols[NCOLS] = {
	{ "epoch", offsetof(ig_point, epoch) },
	{ "iteration", offsetof(ig_point, iteration) },
	{ "time", offsetof(ig_point, time) },
	{ "value", offsetof(ig_point, value) },
};

static void
put_be(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get_be(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* One column as a bin, written in blocks rather than value by value. */
static void
pack_column(msgpack_packer *pk, const ig_point *p, size_t n, int col)
{
	unsigned char block[4096];
	size_t used = 0;

	ig_pack_str(pk, cols[col].key);
	msgpack_pack_bin(pk, n * 8);
	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		memcpy(&v, (const char *)&p[i] + cols[col].offset, sizeof v);
		put_be(block + used, v);
		used += 8;
		if (used == sizeof block || i + 1 == n) {
			msgpack_pack_bin_body(pk, block, used);
			used = 0;
		}
	}
}

void
ig_series_pack(msgpack_packer *pk, const ig_series *s, size_t n)
{
	msgpack_pack_map(pk, n);
	for (size_t i = 0; i < n; i++) {
		ig_pack_str(pk, s[i].name);
		msgpack_pack_map(pk, NCOLS);
		for (int c = 0; c < NCOLS; c++)
			pack_column(pk, s[i].points, s[i].n, c);
	}
}

/* One series' columns into s->points. */
static int
read_series(
    const msgpack_object *o, ig_series *s, const char *where, ig_err *err)
{
	const msgpack_object *col[NCOLS] = { NULL };
	ig_fdef defs[NCOLS];
	char path[PROTO_PATH_MAX];
	const unsigned char *b[NCOLS];
	size_t n = 0;
	int rc;

	for (int c = 0; c < NCOLS; c++)
		defs[c] =
		    (ig_fdef){ cols[c].key, IG_F_ANY, true, NULL, &col[c] };
	if ((rc = ig_map_read(
	         o, where, defs, NCOLS, IG_READ_ALLOW_UNKNOWN, err)) != 0)
		return rc;
	for (int c = 0; c < NCOLS; c++) {
		const msgpack_object_bin *bin = &col[c]->via.bin;

		proto_path_key(path, where, cols[c].key);
		if (col[c]->type != MSGPACK_OBJECT_BIN || bin->size % 8 != 0)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: expected "
			    "a bin of 8-byte numbers",
			    path);
		if (c == 0)
			n = bin->size / 8;
		else if (bin->size / 8 != n)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: %zu points, "
			    "but epoch has %zu",
			    path, (size_t)bin->size / 8, n);
		b[c] = (const unsigned char *)bin->ptr;
	}
	if (n == 0)
		return 0;
	if ((s->points = ig_mem_alloc_large(n * sizeof *s->points)) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		ig_point *p = &s->points[i];

		for (int c = 0; c < NCOLS; c++) {
			uint64_t v = get_be(b[c] + 8 * i);

			memcpy((char *)p + cols[c].offset, &v, sizeof v);
		}
		/* Values may be NaN or infinite (a diverged loss is history
		 * too); counters are unsigned on the wire. */
		if (p->epoch < 0 || p->iteration < 0) {
			proto_path_key(
			    path, where, p->epoch < 0 ? "epoch" : "iteration");
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: point %zu is out of range", path, i);
		}
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
