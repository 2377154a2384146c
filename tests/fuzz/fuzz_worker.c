/*
 * fuzz_worker.c - what the daemon does with a worker's stdout: the bounded
 * streaming decoder (the daemon's default frame limit), then, for each
 * answer, ig_worker_output_unpack() as for process and the state lookup as
 * for state_dict.  Beyond "no crash, no leak" it checks that an output
 * that reads is self-consistent: every field named, arrays of rows x cols
 * values, and the result packs back into a frame that reads the same.
 *
 * Input: the bytes the worker wrote, split into reads at the sizes byte 0
 * seeds (as a pipe might deliver them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ignite/protocol.h"

static void
pack_output(msgpack_packer *pk, const ig_worker_output *o)
{
	msgpack_pack_map(pk, 2);
	ig_pack_str(pk, "output");
	msgpack_pack_map(pk, o->nfields);
	for (size_t i = 0; i < o->nfields; i++) {
		const ig_wfield *f = &o->fields[i];

		ig_pack_str(pk, f->name);
		if (f->data == NULL) {
			msgpack_pack_double(pk, f->value);
		} else if (f->cols == 1 || f->len == 0) {
			/* an empty matrix reads back as an empty array */
			msgpack_pack_array(pk, f->len);
			for (size_t j = 0; j < f->len; j++)
				msgpack_pack_double(pk, f->data[j]);
		} else {
			msgpack_pack_array(pk, f->len / f->cols);
			for (size_t r = 0; r < f->len / f->cols; r++) {
				msgpack_pack_array(pk, f->cols);
				for (size_t c = 0; c < f->cols; c++)
					msgpack_pack_double(
					    pk, f->data[r * f->cols + c]);
			}
		}
	}
	ig_pack_str(pk, "metrics");
	msgpack_pack_map(pk, o->nmetrics);
	for (size_t i = 0; i < o->nmetrics; i++) {
		ig_pack_str(pk, o->metrics[i].name);
		msgpack_pack_double(pk, o->metrics[i].value);
	}
}

static int
same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

/* A result that read: check it, pack it, read it again, compare. */
static void
check_output(const ig_worker_output *o)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone *zone;
	msgpack_object obj;
	ig_worker_output back;
	ig_err err;
	size_t off = 0;

	for (size_t i = 0; i < o->nfields; i++) {
		const ig_wfield *f = &o->fields[i];

		if (f->name == NULL)
			abort();
		if (f->data != NULL &&
		    (f->cols == 0 ? f->len != 0 : f->len % f->cols != 0))
			abort();
	}
	for (size_t i = 0; i < o->nmetrics; i++)
		if (o->metrics[i].name == NULL)
			abort();

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack_output(&pk, o);
	zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
	if (msgpack_unpack(sb.data, sb.size, &off, zone, &obj) !=
	    MSGPACK_UNPACK_SUCCESS)
		abort();
	if (ig_worker_output_unpack(&obj, &back, &err) != 0)
		abort();
	if (back.nfields != o->nfields || back.nmetrics != o->nmetrics)
		abort();
	for (size_t i = 0; i < o->nfields; i++) {
		const ig_wfield *a = &o->fields[i], *b = &back.fields[i];

		if (strcmp(a->name, b->name) != 0 ||
		    (a->data == NULL) != (b->data == NULL) || a->len != b->len)
			abort();
		if (a->data == NULL ?
		        !same_double(a->value, b->value) :
		        memcmp(a->data, b->data, a->len * sizeof *a->data) != 0)
			abort();
	}
	for (size_t i = 0; i < o->nmetrics; i++)
		if (strcmp(o->metrics[i].name, back.metrics[i].name) != 0 ||
		    !same_double(o->metrics[i].value, back.metrics[i].value))
			abort();
	ig_worker_output_clear(&back);
	msgpack_zone_free(zone);
	msgpack_sbuffer_destroy(&sb);
}

static void
take(const ig_msg *m)
{
	ig_worker_output o;
	ig_err err;
	const msgpack_object *st;

	if (m->type == IG_MSG_NOTIFY) {
		/* log {message}: the daemon copies the str */
		if (m->params->type == MSGPACK_OBJECT_MAP &&
		    (st = ig_map_get(m->params, "message")) != NULL &&
		    st->type == MSGPACK_OBJECT_STR && st->via.str.size > 0 &&
		    st->via.str.ptr == NULL)
			abort();
		return;
	}
	if (m->type != IG_MSG_RESPONSE || m->error_message != NULL)
		return;
	/* the answer to process */
	if (ig_worker_output_unpack(m->result, &o, &err) == 0) {
		check_output(&o);
		ig_worker_output_clear(&o);
	} else if (err.code == 0 || err.message[0] == '\0') {
		abort(); /* a refusal always says why */
	}
	/* the answer to state_dict: {state: bin} */
	if (m->result->type == MSGPACK_OBJECT_MAP &&
	    (st = ig_map_get(m->result, "state")) != NULL &&
	    st->type == MSGPACK_OBJECT_BIN && st->via.bin.size > 0 &&
	    st->via.bin.ptr == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ig_decoder *d;
	unsigned seed;

	if (size < 1)
		return 0;
	seed = data[0] | 1u;
	data++, size--;
	/* 0: the daemon's limit, IG_FRAME_MAX_DEFAULT */
	if ((d = ig_decoder_new(0)) == NULL)
		abort();
	while (size > 0) {
		size_t chunk, used;

		seed = seed * 1103515245 + 12345;
		chunk = 1 + (seed >> 16) % 4096;
		if (chunk > size)
			chunk = size;
		while (chunk > 0) {
			ig_msg m;
			int r = ig_decoder_feed(d, data, chunk, &used, &m);

			data += used, size -= used, chunk -= used;
			if (r == IG_DECODE_ERROR)
				goto done;
			if (r == IG_DECODE_MESSAGE)
				take(&m);
		}
	}
	ig_decoder_eof(d);
done:
	ig_decoder_free(d);
	return 0;
}
