/*
 * proto_codec.c - what the wire protocol costs: nanoseconds to encode and
 * decode a small request, and a metric batch of 10,000 points.  DESIGN.md
 * sets no target of its own for these; they are the protocol's share of
 * the control and ingest targets.
 *
 * Usage: proto_codec [--rows]; prints a row per figure (benchlib.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "benchlib.h"
#include "ignite/protocol.h"

static void
die(const char *what, const char *why)
{
	bench_warnx("%s: %s", what, why);
	exit(1);
}

/* One decoded message from sb, which must hold exactly one frame. */
static ig_msg
decode(ig_decoder *d, const msgpack_sbuffer *sb)
{
	size_t used;
	ig_msg m;

	if (ig_decoder_feed(d, sb->data, sb->size, &used, &m) !=
	    IG_DECODE_MESSAGE)
		die("decode", ig_decoder_error(d)->message);
	return m;
}

static double
small_request(long n, size_t *bytes)
{
	msgpack_sbuffer sb;
	ig_decoder *d = ig_decoder_new(0);
	ig_err err;
	double t0 = bench_now();

	msgpack_sbuffer_init(&sb);
	for (long i = 0; i < n; i++) {
		ig_frame f;
		ig_msg m;

		msgpack_sbuffer_clear(&sb);
		ig_frame_request(&f, &sb, (uint32_t)i, "status");
		msgpack_pack_map(&f.pk, 1);
		ig_pack_str(&f.pk, "id");
		msgpack_pack_int64(&f.pk, 7);
		if (ig_frame_end(&f, &err) != 0)
			die("encode", err.message);
		m = decode(d, &sb);
		if (ig_map_get(m.params, "id") == NULL)
			die("decode", "no id");
	}
	t0 = (bench_now() - t0) * 1e9 / (double)n;
	*bytes = sb.size;
	msgpack_sbuffer_destroy(&sb);
	ig_decoder_free(d);
	return t0;
}

static double
metric_batch(long n, size_t points, size_t *bytes)
{
	ig_point *p = malloc(points * sizeof *p);
	ig_series s = { "loss", p, points };
	msgpack_sbuffer sb;
	ig_decoder *d = ig_decoder_new(0);
	ig_err err;
	double t0;

	for (size_t i = 0; i < points; i++)
		p[i] = (ig_point){ (int64_t)(i / 1000 + 1), (int64_t)i + 1,
			1.7e9 + (double)i * 0.001, 1.0 / (double)(i + 1) };
	msgpack_sbuffer_init(&sb);
	t0 = bench_now();
	for (long i = 0; i < n; i++) {
		ig_frame f;
		ig_msg m;
		ig_series *got;
		size_t ngot;

		msgpack_sbuffer_clear(&sb);
		ig_frame_notify(&f, &sb, "metrics");
		msgpack_pack_map(&f.pk, 2);
		ig_pack_str(&f.pk, "id");
		msgpack_pack_int64(&f.pk, 7);
		ig_pack_str(&f.pk, "series");
		ig_series_pack(&f.pk, &s, 1);
		if (ig_frame_end(&f, &err) != 0)
			die("encode", err.message);
		m = decode(d, &sb);
		if (ig_series_unpack(
		        ig_map_get(m.params, "series"), &got, &ngot, &err) != 0)
			die("series", err.message);
		ig_series_free(got, ngot);
	}
	t0 = (bench_now() - t0) * 1e9 / (double)n;
	*bytes = sb.size;
	msgpack_sbuffer_destroy(&sb);
	ig_decoder_free(d);
	free(p);
	return t0;
}

int
main(int argc, char **argv)
{
	size_t small_bytes, batch_bytes;
	double small, batch;
	char fig[64];

	bench_init("proto_codec", &argc, argv);
	small = small_request(1000000, &small_bytes);
	batch = metric_batch(300, 10000, &batch_bytes);
	bench_row("codec: status request {id: 7}",
	    BENCH_FMT(fig, "%.0f ns/op, %zu B", small, small_bytes), "-", "-",
	    "(no target)", BENCH_INFO);
	bench_row("codec: metrics batch, 10k points",
	    BENCH_FMT(fig, "%.0f ns/op, %.1f ns/pt, %zu B", batch,
	        batch / 10000, batch_bytes),
	    "-", "-", "(no target)", BENCH_INFO);
	return bench_status();
}
