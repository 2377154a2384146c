/*
 * frame.c - the streaming decoder: byte chunks in, whole frames out.
 *
 * A frame's body is buffered only as its bytes arrive, so a peer that sends
 * a length prefix of 16 MiB and then nothing costs us nothing.  A frame that
 * arrives whole in one chunk is decoded where it lies, without a copy;
 * one of the deferred size is kept whole for the caller to decode, which
 * may do so on another thread.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A body buffer up to this size is kept for the next frame unless
 * ig_decoder_keep() says otherwise; a larger one goes back to the
 * allocator, so one big frame does not pin its memory. */
#define KEEP_BUFFER (64u * 1024)

struct ig_decoder {
	size_t max_frame;
	size_t keep; /* a body buffer up to this size outlives its frame */
	size_t defer; /* bodies this long are decoded on request; 0: none */
	unsigned char hdr[IG_FRAME_HEADER];
	size_t nhdr; /* length prefix bytes held */
	size_t need; /* body length, once the prefix is whole */
	unsigned char *buf; /* body bytes received so far */
	size_t len, cap;
	bool delivered; /* the last feed returned a message, still in use */
	msgpack_zone *zone; /* the decoded objects of that message */
	ig_err err; /* set once; then every call fails */
};

ig_decoder *
ig_decoder_new(size_t max_frame)
{
	ig_decoder *d = calloc(1, sizeof *d);

	if (d == NULL)
		return NULL;
	if ((d->zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)) == NULL) {
		free(d);
		return NULL;
	}
	d->max_frame = max_frame ? max_frame : IG_FRAME_MAX_DEFAULT;
	d->keep = KEEP_BUFFER;
	return d;
}

void
ig_decoder_free(ig_decoder *d)
{
	if (d == NULL)
		return;
	msgpack_zone_free(d->zone);
	free(d->buf);
	free(d);
}

const ig_err *
ig_decoder_error(const ig_decoder *d)
{
	return &d->err;
}

void
ig_decoder_keep(ig_decoder *d, size_t bytes)
{
	d->keep = bytes;
}

void
ig_decoder_defer(ig_decoder *d, size_t min_body)
{
	d->defer = min_body;
}

size_t
ig_decoder_buffered(const ig_decoder *d)
{
	return d->cap;
}

static bool
deferred(const ig_decoder *d)
{
	return d->defer > 0 && d->need >= d->defer;
}

/* Forget the message handed out last; start the next frame. */
static void
release(ig_decoder *d)
{
	msgpack_zone_clear(d->zone);
	d->nhdr = d->need = d->len = 0;
	if (d->cap > d->keep) {
		free(d->buf);
		d->buf = NULL;
		d->cap = 0;
	}
	d->delivered = false;
}

/* Room for `want` body bytes: at most double what has arrived, never more
 * than the frame needs. */
static int
grow(ig_decoder *d, size_t want)
{
	size_t cap = d->cap * 2;
	unsigned char *p;

	if (want <= d->cap)
		return 0;
	if (cap > d->need)
		cap = d->need;
	if (cap < want)
		cap = want;
	if ((p = realloc(d->buf, cap)) == NULL)
		return ig_err_set(&d->err, IG_PROTO_INTERNAL,
		    "out of memory buffering a %zu-byte frame", d->need);
	ig_mem_advise_huge(p, cap);
	d->buf = p;
	d->cap = cap;
	return 0;
}

static int
deliver(ig_decoder *d, const unsigned char *body, ig_msg *msg)
{
	d->delivered = true;
	if (deferred(d))
		return IG_DECODE_FRAME; /* whole in d->buf */
	if (ig_frame_decode(body, d->need, d->zone, msg, &d->err) != 0)
		return IG_DECODE_ERROR;
	return IG_DECODE_MESSAGE;
}

/* Take prefix bytes: 1 once the prefix is whole and acceptable, 0 while
 * it is not whole, -1 when it is unacceptable. */
static int
take_header(ig_decoder *d, const unsigned char *p, size_t len, size_t *used)
{
	size_t take = IG_FRAME_HEADER - d->nhdr;

	if (take > len)
		take = len;
	memcpy(d->hdr + d->nhdr, p, take);
	d->nhdr += take;
	*used = take;
	if (d->nhdr < IG_FRAME_HEADER)
		return 0;
	d->need = (size_t)d->hdr[0] << 24 | (size_t)d->hdr[1] << 16 |
	    (size_t)d->hdr[2] << 8 | d->hdr[3];
	if (d->need == 0) {
		ig_err_set(&d->err, IG_PROTO_FRAME_EMPTY,
		    "empty frame: the length prefix is 0");
		return -1;
	}
	if (d->need > d->max_frame) {
		ig_err_set(&d->err, IG_PROTO_FRAME_TOO_LARGE,
		    "frame too large: %zu bytes, the limit is %zu", d->need,
		    d->max_frame);
		return -1;
	}
	return 1;
}

int
ig_decoder_feed(
    ig_decoder *d, const void *buf, size_t len, size_t *used, ig_msg *msg)
{
	const unsigned char *p = buf;
	size_t take;
	int r;

	*used = 0;
	if (d->err.code != 0)
		return IG_DECODE_ERROR;
	if (d->delivered)
		release(d);

	if (d->nhdr < IG_FRAME_HEADER && len > 0) {
		if ((r = take_header(d, p, len, used)) != 1)
			return r == 0 ? IG_DECODE_MORE : IG_DECODE_ERROR;
		p += *used;
		len -= *used;
	}
	if (len == 0)
		return IG_DECODE_MORE;
	if (d->len == 0 && len >= d->need && !deferred(d)) {
		*used += d->need;
		return deliver(d, p, msg);
	}
	take = d->need - d->len;
	if (take > len)
		take = len;
	if (grow(d, d->len + take) != 0)
		return IG_DECODE_ERROR;
	memcpy(d->buf + d->len, p, take);
	d->len += take;
	*used += take;
	if (d->len < d->need)
		return IG_DECODE_MORE;
	return deliver(d, d->buf, msg);
}

int
ig_decoder_decode(ig_decoder *d, ig_msg *msg)
{
	if (ig_frame_decode(d->buf, d->need, d->zone, msg, &d->err) != 0)
		return IG_DECODE_ERROR;
	return IG_DECODE_MESSAGE;
}

void
ig_decoder_release(ig_decoder *d)
{
	if (d->delivered)
		release(d);
}

int
ig_decoder_eof(ig_decoder *d)
{
	if (d->err.code != 0)
		return d->err.code;
	if (d->delivered || d->nhdr == 0)
		return 0;
	if (d->nhdr < IG_FRAME_HEADER)
		return ig_err_set(&d->err, IG_PROTO_FRAME_TRUNCATED,
		    "stream ended inside a length prefix (%zu of %d bytes)",
		    d->nhdr, IG_FRAME_HEADER);
	return ig_err_set(&d->err, IG_PROTO_FRAME_TRUNCATED,
	    "stream ended inside a frame (%zu of %zu bytes)", d->len, d->need);
}
