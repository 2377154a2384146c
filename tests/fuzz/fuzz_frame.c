/*
 * fuzz_frame.c - the streaming decoder on arbitrary bytes in arbitrary
 * chunks.  Beyond "no crash, no leak" it checks two properties:
 *  - the split does not matter: chunked and whole feeds give the same
 *    messages and the same error;
 *  - a decoded message packs back into a frame that decodes the same.
 * Messages' payloads also go through the readers the daemon and clients use.
 *
 * Input: byte 0 seeds the chunk sizes, the rest is the stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ignite/protocol.h"

#define MAX_FRAME (1u << 20)

/* What a stream decoded to, to compare two feeds of it. */
struct outcome {
	unsigned messages;
	uint64_t digest; /* over the types, ids and methods, in order */
	int error;
	char message[IG_ERR_MAX];
};

static uint64_t
mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3u;
}

static uint64_t
mix_str(uint64_t h, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		h = mix(h, (unsigned char)*s);
	return mix(h, 0xff);
}

/* Exercise the payload readers; their result does not matter here. */
static void
read_payload(const msgpack_object *o)
{
	ig_err err;
	ig_summary sum;
	ig_series *series;
	size_t n;
	ig_worker_output wo;
	ig_progress pr;
	ig_event_note ev;
	int version;

	if (ig_summary_unpack(o, &sum, &err) == 0)
		ig_summary_clear(&sum);
	if (ig_series_unpack(o, &series, &n, &err) == 0)
		ig_series_free(series, n);
	if (ig_worker_output_unpack(o, &wo, &err) == 0)
		ig_worker_output_clear(&wo);
	ig_progress_unpack(o, &pr, &err);
	if (ig_event_note_unpack(o, &ev, &err) == 0)
		ig_event_note_clear(&ev);
	ig_hello_negotiate(o, &version, &err);
}

/* Pack m again and decode it: it must come back the same. */
static void
repack(const ig_msg *m)
{
	msgpack_sbuffer sb;
	msgpack_zone *zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
	ig_frame f;
	ig_err err, e;
	ig_msg back;
	int rc;

	msgpack_sbuffer_init(&sb);
	if (m->type == IG_MSG_REQUEST) {
		ig_frame_request(&f, &sb, m->msgid, m->method);
		msgpack_pack_object(&f.pk, *m->params);
		rc = ig_frame_end(&f, &err);
	} else if (m->type == IG_MSG_NOTIFY) {
		ig_frame_notify(&f, &sb, m->method);
		msgpack_pack_object(&f.pk, *m->params);
		rc = ig_frame_end(&f, &err);
	} else if (m->error_message != NULL) {
		ig_err_set(&e, m->error_code, "%s", m->error_message);
		rc = ig_pack_error(&sb, m->msgid, &e);
	} else {
		ig_frame_response(&f, &sb, m->msgid);
		msgpack_pack_object(&f.pk, *m->result);
		rc = ig_frame_end(&f, &err);
	}
	if (rc != 0 ||
	    ig_frame_decode(sb.data + 4, sb.size - 4, zone, &back, &err) != 0)
		abort();
	if (back.type != m->type || back.msgid != m->msgid ||
	    (m->method && strcmp(back.method, m->method) != 0) ||
	    back.error_code != m->error_code)
		abort();
	msgpack_zone_free(zone);
	msgpack_sbuffer_destroy(&sb);
}

static void
run(const uint8_t *p, size_t len, unsigned seed, bool check,
    struct outcome *out)
{
	ig_decoder *d = ig_decoder_new(MAX_FRAME);

	memset(out, 0, sizeof *out);
	out->digest = 0xcbf29ce484222325u;
	while (len > 0) {
		size_t chunk = len, used;

		if (seed != 0) {
			seed = seed * 1103515245 + 12345;
			chunk = 1 + (seed >> 16) % 64;
			if (chunk > len)
				chunk = len;
		}
		while (chunk > 0) {
			ig_msg m;
			int r = ig_decoder_feed(d, p, chunk, &used, &m);

			p += used, len -= used, chunk -= used;
			if (r == IG_DECODE_ERROR)
				goto done;
			if (r == IG_DECODE_MESSAGE) {
				out->messages++;
				out->digest = mix(
				    mix(mix_str(mix_str(out->digest, m.method),
				            m.error_message),
				        m.type),
				    m.msgid);
				if (check) {
					read_payload(
					    m.params ? m.params : m.result);
					repack(&m);
				}
			}
		}
	}
	ig_decoder_eof(d);
done:
	out->error = ig_decoder_error(d)->code;
	memcpy(out->message, ig_decoder_error(d)->message, sizeof out->message);
	ig_decoder_free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, chunked;

	if (size < 1)
		return 0;
	run(data + 1, size - 1, 0, true, &whole);
	run(data + 1, size - 1, data[0] | 1u, false, &chunked);
	if (whole.messages != chunked.messages ||
	    whole.digest != chunked.digest || whole.error != chunked.error ||
	    strcmp(whole.message, chunked.message) != 0)
		abort();
	return 0;
}
