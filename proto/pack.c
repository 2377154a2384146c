/*
 * pack.c - writing frames: the length prefix, the msgpack-RPC envelope and
 * error replies.
 */
#include <string.h>

#include "internal.h"

/* The packer's sink: counts against the frame's limit and remembers the
 * first failure, so a frame over the limit costs no more memory than that. */
static int
frame_write(void *data, const char *buf, size_t len)
{
	ig_frame *f = data;
	size_t body;

	if (f->error != 0)
		return -1;
	body = f->sb->size - f->start - IG_FRAME_HEADER;
	if (body > f->limit || len > f->limit - body) {
		f->error = IG_PROTO_TOO_LARGE;
		return -1;
	}
	if (msgpack_sbuffer_write(f->sb, buf, len) != 0) {
		f->error = IG_PROTO_INTERNAL;
		return -1;
	}
	return 0;
}

void
ig_frame_begin(ig_frame *f, msgpack_sbuffer *sb)
{
	static const char prefix[IG_FRAME_HEADER]; /* patched at the end */

	f->sb = sb;
	f->start = sb->size;
	f->limit = IG_FRAME_MAX_DEFAULT;
	f->error = 0;
	msgpack_packer_init(&f->pk, f, frame_write);
	if (msgpack_sbuffer_write(sb, prefix, sizeof prefix) != 0)
		f->error = IG_PROTO_INTERNAL;
}

void
ig_frame_request(
    ig_frame *f, msgpack_sbuffer *sb, uint32_t msgid, const char *method)
{
	ig_frame_begin(f, sb);
	msgpack_pack_array(&f->pk, 4);
	msgpack_pack_uint8(&f->pk, IG_MSG_REQUEST);
	msgpack_pack_uint32(&f->pk, msgid);
	ig_pack_str(&f->pk, method);
}

void
ig_frame_response(ig_frame *f, msgpack_sbuffer *sb, uint32_t msgid)
{
	ig_frame_begin(f, sb);
	msgpack_pack_array(&f->pk, 4);
	msgpack_pack_uint8(&f->pk, IG_MSG_RESPONSE);
	msgpack_pack_uint32(&f->pk, msgid);
	msgpack_pack_nil(&f->pk);
}

void
ig_frame_notify(ig_frame *f, msgpack_sbuffer *sb, const char *method)
{
	ig_frame_begin(f, sb);
	msgpack_pack_array(&f->pk, 3);
	msgpack_pack_uint8(&f->pk, IG_MSG_NOTIFY);
	ig_pack_str(&f->pk, method);
}

int
ig_frame_end(ig_frame *f, ig_err *err)
{
	unsigned char *p;
	size_t body;

	if (f->sb == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "bug: a frame ended after it was aborted");
	if (f->error == 0 &&
	    f->sb->size - f->start - IG_FRAME_HEADER > f->limit)
		f->error =
		    IG_PROTO_TOO_LARGE; /* the limit was lowered after packing */
	if (f->error != 0) {
		f->sb->size = f->start;
		if (f->error == IG_PROTO_TOO_LARGE)
			return ig_err_set(err, f->error,
			    "reply too large: it "
			    "would exceed the frame limit of %zu bytes",
			    f->limit);
		return ig_err_set(
		    err, f->error, "out of memory packing a frame");
	}
	body = f->sb->size - f->start - IG_FRAME_HEADER;
	if (body == 0) {
		f->sb->size = f->start;
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "bug: a frame ended with nothing packed in it");
	}
	p = (unsigned char *)f->sb->data + f->start;
	p[0] = (unsigned char)(body >> 24);
	p[1] = (unsigned char)(body >> 16);
	p[2] = (unsigned char)(body >> 8);
	p[3] = (unsigned char)body;
	return 0;
}

void
ig_frame_abort(ig_frame *f)
{
	f->sb->size = f->start;
	f->sb = NULL; /* nothing more reaches the buffer */
	f->error = IG_PROTO_INTERNAL;
}

static void
pack_error_map(msgpack_packer *pk, const ig_err *e)
{
	msgpack_pack_map(pk, 2);
	ig_pack_str(pk, "code");
	/* 0 is not an error code; do not let a caller's bug make a reply
	 * that the peer must reject as malformed. */
	msgpack_pack_int(pk, e->code > 0 ? e->code : IG_PROTO_INTERNAL);
	ig_pack_str(pk, "message");
	ig_pack_str(pk, e->message);
}

int
ig_pack_error(msgpack_sbuffer *sb, uint32_t msgid, const ig_err *e)
{
	ig_frame f;

	ig_frame_begin(&f, sb);
	msgpack_pack_array(&f.pk, 4);
	msgpack_pack_uint8(&f.pk, IG_MSG_RESPONSE);
	msgpack_pack_uint32(&f.pk, msgid);
	pack_error_map(&f.pk, e);
	msgpack_pack_nil(&f.pk);
	return ig_frame_end(&f, NULL);
}

int
ig_pack_error_notify(msgpack_sbuffer *sb, const ig_err *e)
{
	ig_frame f;

	ig_frame_notify(&f, sb, "error");
	pack_error_map(&f.pk, e);
	return ig_frame_end(&f, NULL);
}

void
ig_pack_str(msgpack_packer *pk, const char *s)
{
	if (s == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

void
proto_pack_bool(msgpack_packer *pk, bool b)
{
	if (b)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

void
ig_pack_opt_int(msgpack_packer *pk, int64_t v)
{
	if (v == IG_NONE)
		msgpack_pack_nil(pk);
	else
		msgpack_pack_int64(pk, v);
}
