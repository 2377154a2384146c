/*
 * msgpack_source.c - a file of concatenated msgpack objects, one per batch.
 *
 * The file is read and indexed at open: every record's offset and length,
 * and every record decoded once to check its x/y shape, so get cannot meet
 * a bad record and the batch buffers can be sized for the largest one.
 */
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin/params.h"
#include "dataset/dataset.h"
#include "dataset/readfile.h"
#include "proto/scan.h"

struct record {
	size_t off, len;
};

struct mp_source {
	char *path;
	char *data; /* the whole file */
	size_t len;
	struct record *records;
	size_t n;
	bool shuffle;
	msgpack_unpacked unpacked; /* the last decoded record; reused */
	double *x; /* sized for the largest record's x */
	double *y; /* and y */
};

/* A record's x and y shape; x, y filled when non-NULL. */
struct xy {
	size_t rows, cols;
	bool has_y;
};

static bool
is_number(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
	    o->type == MSGPACK_OBJECT_FLOAT32 ||
	    o->type == MSGPACK_OBJECT_FLOAT64;
}

static double
number(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return (double)o->via.u64;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return (double)o->via.i64;
	default:
		return o->via.f64; /* msgpack-c keeps float32 in f64 too */
	}
}

static const msgpack_object *
map_get(const msgpack_object *map, const char *key)
{
	size_t klen = strlen(key);

	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
		    memcmp(k->via.str.ptr, key, klen) == 0)
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}

/*
 * Read x (and y) of a record: 1 when the record is a map with "x", 0 when it
 * has none (the batch is raw only), -1 with why set when x or y is
 * malformed.  With x and y NULL only the shape is checked.
 */
static int
decode_xy(const msgpack_object *o, struct xy *shape, double *x, double *y,
    char *why, size_t whylen)
{
	const msgpack_object *ox, *oy;

	*shape = (struct xy){ 0, 0, false };
	if (o->type != MSGPACK_OBJECT_MAP || (ox = map_get(o, "x")) == NULL)
		return 0;
	if (ox->type != MSGPACK_OBJECT_ARRAY || ox->via.array.size == 0 ||
	    ox->via.array.ptr[0].type != MSGPACK_OBJECT_ARRAY ||
	    ox->via.array.ptr[0].via.array.size == 0) {
		snprintf(why, whylen,
		    "x must be a non-empty array of non-empty "
		    "arrays of numbers");
		return -1;
	}
	shape->rows = ox->via.array.size;
	shape->cols = ox->via.array.ptr[0].via.array.size;
	for (size_t i = 0; i < shape->rows; i++) {
		const msgpack_object *row = &ox->via.array.ptr[i];
		if (row->type != MSGPACK_OBJECT_ARRAY ||
		    row->via.array.size != shape->cols) {
			snprintf(why, whylen,
			    "x[%zu]: expected an array of %zu "
			    "numbers like x[0]",
			    i, shape->cols);
			return -1;
		}
		for (size_t j = 0; j < shape->cols; j++) {
			const msgpack_object *v = &row->via.array.ptr[j];
			if (!is_number(v)) {
				snprintf(why, whylen,
				    "x[%zu][%zu]: not a number", i, j);
				return -1;
			}
			if (x != NULL)
				x[i * shape->cols + j] = number(v);
		}
	}
	if ((oy = map_get(o, "y")) == NULL)
		return 1;
	if (oy->type != MSGPACK_OBJECT_ARRAY ||
	    oy->via.array.size != shape->rows) {
		snprintf(why, whylen,
		    "y must be an array of %zu numbers, one per "
		    "row of x",
		    shape->rows);
		return -1;
	}
	for (size_t i = 0; i < shape->rows; i++) {
		if (!is_number(&oy->via.array.ptr[i])) {
			snprintf(why, whylen, "y[%zu]: not a number", i);
			return -1;
		}
		if (y != NULL)
			y[i] = number(&oy->via.array.ptr[i]);
	}
	shape->has_y = true;
	return 1;
}

/* Decode record i into s->unpacked; -1 with why set if it does not parse. */
static int
unpack_record(struct mp_source *s, size_t i, char *why, size_t whylen)
{
	size_t off = 0;
	int rc = msgpack_unpack_next(
	    &s->unpacked, s->data + s->records[i].off, s->records[i].len, &off);

	if (rc == MSGPACK_UNPACK_SUCCESS)
		return 0;
	snprintf(why, whylen,
	    rc == MSGPACK_UNPACK_NOMEM_ERROR ?
	        "out of memory" :
	        "cannot decode (nested deeper than msgpack-c's limit?)");
	return -1;
}

static void
mp_destroy(void *ctx)
{
	struct mp_source *s = ctx;

	if (s == NULL)
		return;
	msgpack_unpacked_destroy(&s->unpacked);
	free(s->path);
	free(s->data);
	free(s->records);
	free(s->x);
	free(s->y);
	free(s);
}

static int64_t
mp_size(void *ctx)
{
	return (int64_t)((struct mp_source *)ctx)->n;
}

static int
mp_get(void *ctx, const ig_fetch *f, ig_batch *out, char *err, size_t errlen)
{
	struct mp_source *s = ctx;
	struct xy shape;
	char why[160];

	if (f->pos < 0 || (uint64_t)f->pos >= s->n) {
		snprintf(err, errlen, "%s: record %lld out of range [0, %zu)",
		    s->path, (long long)f->pos, s->n);
		return -1;
	}
	size_t i = (size_t)f->pos;
	if (s->shuffle)
		i = (size_t)ig_shuffle_index(f->seed != IG_NONE ? f->seed : 0,
		    f->pass, f->pos, (int64_t)s->n);
	/* open checked every record, so this fails only without memory */
	if (unpack_record(s, i, why, sizeof why) == -1 ||
	    decode_xy(&s->unpacked.data, &shape, s->x, s->y, why, sizeof why) ==
	        -1) {
		snprintf(err, errlen, "%s: record %zu: %s", s->path, i, why);
		return -1;
	}
	*out = (ig_batch){
		.index = (int64_t)i,
		.rows = shape.rows,
		.cols = shape.cols,
		.x = shape.rows != 0 ? s->x : NULL,
		.y = shape.has_y ? s->y : NULL,
		.raw = s->data + s->records[i].off,
		.raw_len = s->records[i].len,
	};
	return 0;
}

static const ig_data_ops mp_ops = {
	.size = mp_size,
	.get = mp_get,
	.destroy = mp_destroy,
};

/* What a record's scan found wrong, in the file's terms. */
static const char *
scan_problem(const ig_err *e)
{
	switch (e->code) {
	case IG_PROTO_FRAME_TRUNCATED:
	case IG_PROTO_FRAME_COUNT: /* a count the bytes left cannot back */
		return "runs past the end of the file: truncated?";
	case IG_PROTO_FRAME_INVALID:
		return "not msgpack (reserved byte 0xc1)";
	default: /* nested too deep */
		return e->message;
	}
}

/* Split the file into records, check each, and size the batch buffers. */
static int
mp_index(struct mp_source *s, ig_err *err)
{
	size_t cap = 0, max_elems = 0, max_rows = 0;
	char why[160];

	for (size_t off = 0, span; off < s->len; off += span, s->n++) {
		ig_err e;

		if (proto_scan_object((const unsigned char *)s->data + off,
		        s->len - off, 0, &span, &e) != 0)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: record %zu (byte %zu): %s", s->path, s->n, off,
			    scan_problem(&e));
		if (s->n == cap) {
			cap = cap != 0 ? 2 * cap : 256;
			struct record *r = realloc(s->records, cap * sizeof *r);
			if (r == NULL) {
				return ig_err_set(err, IG_PROTO_INTERNAL,
				    "%s: out of memory indexing", s->path);
			}
			s->records = r;
		}
		s->records[s->n] = (struct record){ off, span };

		struct xy shape;
		if (unpack_record(s, s->n, why, sizeof why) == -1 ||
		    decode_xy(&s->unpacked.data, &shape, NULL, NULL, why,
		        sizeof why) == -1) {
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: record %zu (byte %zu): %s", s->path, s->n, off,
			    why);
		}
		/* rows * cols <= span: each number took at least one byte */
		if (shape.rows * shape.cols > max_elems)
			max_elems = shape.rows * shape.cols;
		if (shape.rows > max_rows)
			max_rows = shape.rows;
	}
	if (s->n == 0) {
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: empty file: no records", s->path);
	}
	if (max_elems > 0 &&
	    ((s->x = malloc(max_elems * sizeof *s->x)) == NULL ||
	        (s->y = malloc(max_rows * sizeof *s->y)) == NULL)) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "%s: out of memory for batches", s->path);
	}
	return 0;
}

int
msgpack_source_open(const char *path, const ig_param *params, size_t n,
    struct data_source *out, ig_err *err)
{
	static const char *const known[] = { "shuffle", NULL };
	struct mp_source *s;
	bool shuffle;

	*out = (struct data_source){ NULL, NULL };
	if (params_check("msgpack", params, n, known, err) != 0 ||
	    params_bool(
	        "msgpack", params, n, "shuffle", false, &shuffle, err) != 0)
		return err->code;
	if ((s = calloc(1, sizeof *s)) == NULL ||
	    (s->path = strdup(path)) == NULL) {
		free(s);
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "%s: out of memory", path);
	}
	s->shuffle = shuffle;
	msgpack_unpacked_init(&s->unpacked);
	if (read_file(path, &s->data, &s->len, err) != 0 ||
	    mp_index(s, err) != 0) {
		mp_destroy(s);
		return err->code;
	}
	*out = (struct data_source){ &mp_ops, s };
	return 0;
}

/* ---- from a run spec ---------------------------------------------------- */

static int
msgpack_spec_open(const ig_spec_data *d, struct data_source *train,
    struct data_source *val, ig_err *err)
{
	const ig_param shuffle = { "shuffle",
		{ .type = IG_VALUE_BOOL, .u.b = d->shuffle } };
	ig_err e;
	int rc;

	(void)val;
	if (d->batch_size != IG_NONE && d->batch_size != 1)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "data.batch_size: a "
		    "msgpack file's batches are its records; leave it out");
	if (d->split > 0)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "data.split: a validation "
		    "split of msgpack data is not supported yet");
	if ((rc = dataset_check_path(d->path, err)) != 0)
		return rc;
	if (msgpack_source_open(d->path, &shuffle, 1, train, &e) != 0)
		return ig_err_set(
		    err, IG_PROTO_INVALID_PARAMS, "data: %s", e.message);
	return 0;
}

const struct dataset dataset_msgpack = { "msgpack", true, msgpack_spec_open };
