/*
 * c_echo_worker.c - an exec worker in C: the worker protocol over stdin and
 * stdout with blocking I/O and libignite_proto's frames.
 *
 * Per process request it answers {output: {loss: L}} where L is the batch
 * index (or the iteration without data) scaled by param "scale" (default 1),
 * and counts the iterations it saw; that count is its state_dict, so a
 * resumed worker carries on counting.  Also the noop worker of the bench.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ignite/protocol.h"

static double scale = 1;
static uint64_t seen; /* iterations processed, the state */

static int
read_exact(void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(0, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static double
number(const msgpack_object *o, double dflt)
{
	if (o == NULL)
		return dflt;
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return (double)o->via.u64;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return (double)o->via.i64;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return o->via.f64;
	default:
		return dflt;
	}
}

static void
setup(const msgpack_object *p)
{
	const msgpack_object *st = ig_map_get(p, "state");

	scale = number(ig_map_get(ig_map_get(p, "params"), "scale"), 1);
	if (st != NULL && st->type == MSGPACK_OBJECT_BIN &&
	    st->via.bin.size == sizeof(seen))
		memcpy(&seen, st->via.bin.ptr, sizeof(seen));
}

/* Answer one request into sb; false for shutdown. */
static bool
answer(const ig_msg *m, msgpack_sbuffer *sb)
{
	ig_frame f;
	ig_err err;

	if (strcmp(m->method, "event") == 0) {
		ig_err e = { IG_PROTO_UNKNOWN_METHOD, "no events here" };
		ig_pack_error(sb, m->msgid, &e);
		return true;
	}
	ig_frame_response(&f, sb, m->msgid);
	if (strcmp(m->method, "process") == 0) {
		const msgpack_object *b = ig_map_get(m->params, "batch");
		double v = b != NULL && b->type == MSGPACK_OBJECT_MAP ?
		    number(ig_map_get(b, "index"), 0) :
		    number(ig_map_get(m->params, "iteration"), 0);
		seen++;
		msgpack_pack_map(&f.pk, 1);
		ig_pack_str(&f.pk, "output");
		msgpack_pack_map(&f.pk, 1);
		ig_pack_str(&f.pk, "loss");
		msgpack_pack_double(&f.pk, v * scale);
	} else if (strcmp(m->method, "state_dict") == 0) {
		msgpack_pack_map(&f.pk, 1);
		ig_pack_str(&f.pk, "state");
		msgpack_pack_bin(&f.pk, sizeof(seen));
		msgpack_pack_bin_body(&f.pk, &seen, sizeof(seen));
	} else {
		if (strcmp(m->method, "setup") == 0)
			setup(m->params);
		msgpack_pack_nil(&f.pk);
	}
	ig_frame_end(&f, &err);
	return strcmp(m->method, "shutdown") != 0;
}

int
main(void)
{
	msgpack_sbuffer sb;
	msgpack_zone zone;
	unsigned char head[IG_FRAME_HEADER];
	bool more = true;

	msgpack_sbuffer_init(&sb);
	msgpack_zone_init(&zone, 4096);
	while (more && read_exact(head, sizeof(head)) == 0) {
		uint32_t n = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 |
		    (uint32_t)head[2] << 8 | head[3];
		char *body =
		    n <= IG_FRAME_MAX_DEFAULT ? malloc(n > 0 ? n : 1) : NULL;
		ig_msg m;
		ig_err err;
		if (body == NULL || read_exact(body, n) != 0 ||
		    ig_frame_decode(body, n, &zone, &m, &err) != 0 ||
		    m.type != IG_MSG_REQUEST) {
			fprintf(stderr,
			    "c_echo_worker: a bad frame from the daemon\n");
			free(body);
			return 1;
		}
		more = answer(&m, &sb);
		free(body);
		msgpack_zone_clear(&zone);
		if (write_all(sb.data, sb.size) != 0)
			return 1;
		msgpack_sbuffer_clear(&sb);
	}
	msgpack_zone_destroy(&zone);
	msgpack_sbuffer_destroy(&sb);
	return 0;
}
