/*
 * worker.c - the messages of the worker protocol that carry data: the batch
 * the daemon sends with process, and the output the worker answers with.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int
ig_wbatch_pack(msgpack_packer *pk, const ig_wbatch *b, ig_err *err)
{
	bool x = b->x != NULL && b->rows > 0 && b->cols > 0;
	bool y = b->y != NULL && b->rows > 0;
	ig_err why;

	/* Checked before anything is packed: the frame stays whole. */
	if (b->raw != NULL && proto_scan(b->raw, b->raw_len, &why) != 0)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "batch %lld: the raw item is not one msgpack object: %s",
		    (long long)b->index, why.message);
	msgpack_pack_map(pk, 1 + x + y + (b->raw != NULL));
	ig_pack_str(pk, "index");
	msgpack_pack_int64(pk, b->index);
	if (x) {
		ig_pack_str(pk, "x");
		msgpack_pack_array(pk, b->rows);
		for (size_t r = 0; r < b->rows; r++) {
			msgpack_pack_array(pk, b->cols);
			for (size_t c = 0; c < b->cols; c++)
				msgpack_pack_double(pk, b->x[r * b->cols + c]);
		}
	}
	if (y) {
		ig_pack_str(pk, "y");
		msgpack_pack_array(pk, b->rows);
		for (size_t r = 0; r < b->rows; r++)
			msgpack_pack_double(pk, b->y[r]);
	}
	if (b->raw != NULL) {
		ig_pack_str(pk, "raw");
		pk->callback(pk->data, b->raw, b->raw_len);
	}
	return 0;
}

/* A number, an array of numbers, or an array of equal arrays of numbers. */
static int
read_field(const msgpack_object *o, ig_wfield *f, const char *path, ig_err *err)
{
	const msgpack_object *rows;
	size_t nrows, cols = 1;

	if (ig_obj_number(o, &f->value))
		return 0;
	if (o->type != MSGPACK_OBJECT_ARRAY)
		goto bad;
	rows = o->via.array.ptr;
	nrows = o->via.array.size;
	if (nrows > 0 && rows[0].type == MSGPACK_OBJECT_ARRAY)
		cols = rows[0].via.array.size;
	/* Shape first: the allocation below must be backed by elements the
	 * frame holds, not by one long first row times many short ones. */
	for (size_t r = 0; r < nrows && rows[0].type == MSGPACK_OBJECT_ARRAY;
	     r++)
		if (rows[r].type != MSGPACK_OBJECT_ARRAY ||
		    rows[r].via.array.size != cols)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: rows of a matrix must be arrays of equal length",
			    path);
	f->len = nrows * cols;
	f->cols = cols;
	if ((f->data = malloc((f->len ? f->len : 1) * sizeof *f->data)) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	for (size_t r = 0; r < nrows; r++) {
		const msgpack_object *row = &rows[r];
		size_t n = 1;

		if (rows[0].type == MSGPACK_OBJECT_ARRAY) {
			n = cols;
			row = row->via.array.ptr;
		}
		for (size_t c = 0; c < n; c++) {
			if (!ig_obj_number(&row[c], &f->data[r * cols + c]))
				goto bad;
		}
	}
	return 0;
bad:
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "%s: expected a number, "
	    "an array of numbers or an array of equal arrays of numbers",
	    path);
}

static int
read_output(const msgpack_object *m, ig_worker_output *out, ig_err *err)
{
	char path[PROTO_PATH_MAX], q[48];

	if (m->via.map.size == 0)
		return 0;
	if ((out->fields = calloc(m->via.map.size, sizeof *out->fields)) ==
	    NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object_kv *kv = &m->via.map.ptr[i];
		ig_wfield *f = &out->fields[i];
		int rc;

		out->nfields++;
		if (kv->key.type != MSGPACK_OBJECT_STR)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "output: names must be str, got %s",
			    proto_type_name(&kv->key));
		proto_path_key(path, "output",
		    proto_quote(q, sizeof q, kv->key.via.str.ptr,
		        kv->key.via.str.size));
		if ((rc = ig_name_check(kv->key.via.str.ptr,
		         kv->key.via.str.size, path, err)) != 0 ||
		    (rc = proto_obj_read(
		         &kv->key, IG_F_STR, NULL, &f->name, path, err)) != 0 ||
		    (rc = read_field(&kv->val, f, path, err)) != 0)
			return rc;
	}
	return 0;
}

/* The worker's own metrics: names, as in a spec (PROTOCOL.md, Limits). */
static int
check_metric_names(const ig_worker_output *out, ig_err *err)
{
	char path[PROTO_PATH_MAX], q[48];
	int rc;

	for (size_t i = 0; i < out->nmetrics; i++) {
		const char *name = out->metrics[i].name;
		size_t len = strlen(name);

		proto_path_key(
		    path, "metrics", proto_quote(q, sizeof q, name, len));
		if ((rc = ig_name_check(name, len, path, err)) != 0)
			return rc;
	}
	return 0;
}

int
ig_worker_output_unpack(
    const msgpack_object *result, ig_worker_output *out, ig_err *err)
{
	const msgpack_object *output = NULL, *metrics = NULL;
	const ig_fdef defs[] = {
		{ "output", IG_F_MAP, false, NULL, &output },
		{ "metrics", IG_F_MAP, false, NULL, &metrics },
	};
	int rc;

	memset(out, 0, sizeof *out);
	if (result->type == MSGPACK_OBJECT_NIL)
		return 0;
	if ((rc = ig_map_read(result, "result", defs, 2, 0, err)) != 0 ||
	    (output != NULL && (rc = read_output(output, out, err)) != 0) ||
	    (metrics != NULL &&
	        ((rc = proto_named_values_read(metrics, "metrics",
	              &out->metrics, &out->nmetrics, err)) != 0 ||
	            (rc = check_metric_names(out, err)) != 0)))
		ig_worker_output_clear(out);
	return rc;
}

void
ig_worker_output_clear(ig_worker_output *out)
{
	for (size_t i = 0; i < out->nfields; i++) {
		free(out->fields[i].name);
		free(out->fields[i].data);
	}
	free(out->fields);
	proto_named_values_free(out->metrics, out->nmetrics);
	memset(out, 0, sizeof *out);
}
