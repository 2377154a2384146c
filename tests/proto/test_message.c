/*
 * test_message.c - every message payload through a frame and back: hello,
 * run summaries, notifications, metric batches, worker batches and outputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ignite/protocol.h"
#include "testutil.h"

/* A decoder, and the buffer frames are packed into before it reads them. */
struct fixture {
	msgpack_sbuffer sb;
	ig_decoder *d;
	msgpack_zone *zone;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);

	msgpack_sbuffer_init(&fx->sb);
	fx->d = ig_decoder_new(0);
	fx->zone = msgpack_zone_new(4096);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	msgpack_sbuffer_destroy(&fx->sb);
	ig_decoder_free(fx->d);
	msgpack_zone_free(fx->zone);
	free(fx);
	return 0;
}

/* End frame f and decode it: the params of the notification it holds. */
static const msgpack_object *
through_wire(struct fixture *fx, ig_frame *f, const char *method)
{
	ig_err err = { 0 };
	size_t used;
	ig_msg m;

	assert_int_equal(ig_frame_end(f, &err), 0);
	assert_int_equal(
	    ig_decoder_feed(fx->d, fx->sb.data, fx->sb.size, &used, &m),
	    IG_DECODE_MESSAGE);
	assert_int_equal(used, fx->sb.size);
	msgpack_sbuffer_clear(&fx->sb);
	assert_int_equal(m.type, IG_MSG_NOTIFY);
	assert_string_equal(m.method, method);
	return m.params;
}

static void
test_summary(void **state)
{
	struct fixture *fx = *state;
	ig_named_value metrics[] = { { "loss", 0.25 }, { "acc", NAN } };
	ig_summary s = {
		.id = 12, .name = "mnist", .owner = 1000, .status = IG_STATUS_FAILED,
		.epoch = 3, .iteration = 300, .max_epochs = 10, .epoch_length = IG_NONE,
		.rate = 1234.5, .metrics = metrics, .nmetrics = 2,
		.reason = "worker exited with status 1", .created = 1700000000,
		.started = 1700000001, .finished = IG_NONE,
		.gpus = 1, .cpus = 2, .priority = -1, .queue_position = 3,
		.waiting_for = "1 GPU", .preempted_by = 7, .throttled = "store",
	}, got;
	ig_frame f;
	ig_err err = { 0 };

	ig_frame_notify(&f, &fx->sb, "run");
	ig_summary_pack(&f.pk, &s);
	assert_int_equal(
	    ig_summary_unpack(through_wire(fx, &f, "run"), &got, &err), 0);
	assert_int_equal(got.id, 12);
	assert_string_equal(got.name, "mnist");
	assert_int_equal(got.owner, 1000);
	assert_int_equal(got.status, IG_STATUS_FAILED);
	assert_int_equal(got.epoch, 3);
	assert_int_equal(got.iteration, 300);
	assert_int_equal(got.max_epochs, 10);
	assert_int_equal(got.epoch_length, IG_NONE);
	assert_int_equal(got.preempted_by, 7);
	assert_true(got.rate == 1234.5);
	assert_int_equal(got.nmetrics, 2);
	assert_string_equal(got.metrics[0].name, "loss");
	assert_true(got.metrics[0].value == 0.25);
	assert_true(isnan(got.metrics[1].value));
	assert_string_equal(got.reason, "worker exited with status 1");
	assert_int_equal(got.gpus, 1);
	assert_int_equal(got.cpus, 2);
	assert_null(got.devices);
	assert_int_equal(got.priority, -1);
	assert_int_equal(got.queue_position, 3);
	assert_string_equal(got.waiting_for, "1 GPU");
	assert_string_equal(got.throttled, "store");
	assert_int_equal(got.created, 1700000000);
	assert_int_equal(got.started, 1700000001);
	assert_int_equal(got.finished, IG_NONE);
	ig_summary_clear(&got);

	/* Unnamed, no metrics, no reason. */
	s.name = s.reason = s.throttled = NULL;
	s.nmetrics = 0;
	s.status = IG_STATUS_QUEUED;
	ig_frame_notify(&f, &fx->sb, "run");
	ig_summary_pack(&f.pk, &s);
	assert_int_equal(
	    ig_summary_unpack(through_wire(fx, &f, "run"), &got, &err), 0);
	assert_null(got.name);
	assert_null(got.reason);
	assert_null(got.throttled);
	assert_null(got.metrics);
	assert_string_equal(ig_status_name(got.status), "queued");
	ig_summary_clear(&got);
}

static void
test_summary_bad(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *in, *says;
	} bad[] = {
		{ "{'id': 1, 'owner': 0, 'status': 'dead', 'epoch': 0, 'iteration': 0}",
		    "run.status: expected one of queued, running, paused, completed, "
		    "terminated, failed; got \"dead\"" },
		{ "{'id': 1, 'owner': 0, 'status': 'running', 'epoch': 0}",
		    "run.iteration: required" },
		{ "{'id': 1, 'owner': 0, 'status': 'running', 'epoch': 0, "
		  "'iteration': 0, 'name': 'x', 'metrics': {'loss': 'high'}}",
		    "run.metrics.\"loss\": expected a number, got a str" },
	};
	ig_summary got;
	ig_err err = { 0 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		msgpack_object o = tu_obj(fx->zone, bad[i].in);

		assert_int_equal(
		    ig_summary_unpack(&o, &got, &err), IG_PROTO_INVALID_PARAMS);
		assert_string_equal(err.message, bad[i].says);
		assert_null(got.name);
	}
	/* Keys from a newer daemon are skipped. */
	msgpack_object o = tu_obj(fx->zone,
	    "{'id': 1, 'owner': 0, 'status': "
	    "'paused', 'epoch': 0, 'iteration': 0, 'gpu': 'A100'}");
	assert_int_equal(ig_summary_unpack(&o, &got, &err), 0);
	assert_int_equal(got.status, IG_STATUS_PAUSED);
	ig_summary_clear(&got);
}

static void
test_notifications(void **state)
{
	struct fixture *fx = *state;
	ig_progress p = { 5, 2, 150, 100, IG_NONE, 99.5, -1 }, gp;
	ig_event_note ev = { 5, "EPOCH_COMPLETED", 2, 200 }, gev;
	ig_status_note st = { 5, IG_STATUS_TERMINATED, "terminated by uid 1000",
		NULL },
	               gst;
	ig_log_line ll = { 5, 1700000000.5, "epoch 2: loss 0.1" }, gll;
	ig_frame f;
	ig_err err = { 0 };

	ig_frame_notify(&f, &fx->sb, "progress");
	ig_progress_pack(&f.pk, &p);
	assert_int_equal(
	    ig_progress_unpack(through_wire(fx, &f, "progress"), &gp, &err), 0);
	assert_memory_equal(&gp, &p, sizeof p);
	p.eta = 12.5;
	p.max_epochs = 3;
	ig_frame_notify(&f, &fx->sb, "progress");
	ig_progress_pack(&f.pk, &p);
	assert_int_equal(
	    ig_progress_unpack(through_wire(fx, &f, "progress"), &gp, &err), 0);
	assert_memory_equal(&gp, &p, sizeof p);

	ig_frame_notify(&f, &fx->sb, "event");
	ig_event_note_pack(&f.pk, &ev);
	assert_int_equal(
	    ig_event_note_unpack(through_wire(fx, &f, "event"), &gev, &err), 0);
	assert_int_equal(gev.id, 5);
	assert_string_equal(gev.event, "EPOCH_COMPLETED");
	assert_int_equal(gev.epoch, 2);
	assert_int_equal(gev.iteration, 200);
	ig_event_note_clear(&gev);

	ig_frame_notify(&f, &fx->sb, "status");
	ig_status_note_pack(&f.pk, &st);
	assert_int_equal(
	    ig_status_note_unpack(through_wire(fx, &f, "status"), &gst, &err),
	    0);
	assert_int_equal(gst.status, IG_STATUS_TERMINATED);
	assert_string_equal(gst.reason, "terminated by uid 1000");
	assert_null(gst.throttled);
	ig_status_note_clear(&gst);
	st.status = IG_STATUS_RUNNING;
	st.throttled = "store";
	ig_frame_notify(&f, &fx->sb, "status");
	ig_status_note_pack(&f.pk, &st);
	assert_int_equal(
	    ig_status_note_unpack(through_wire(fx, &f, "status"), &gst, &err),
	    0);
	assert_string_equal(gst.throttled, "store");
	ig_status_note_clear(&gst);

	ig_frame_notify(&f, &fx->sb, "log");
	ig_log_line_pack(&f.pk, &ll);
	assert_int_equal(
	    ig_log_line_unpack(through_wire(fx, &f, "log"), &gll, &err), 0);
	assert_true(gll.time == ll.time);
	assert_string_equal(gll.message, ll.message);
	ig_log_line_clear(&gll);

	msgpack_object o = tu_obj(fx->zone, "{'id': 5, 'epoch': 1}");
	assert_int_equal(
	    ig_event_note_unpack(&o, &gev, &err), IG_PROTO_INVALID_PARAMS);
	assert_string_equal(err.message, "event.event: required");
	assert_null(gev.event);
}

static void
test_series(void **state)
{
	struct fixture *fx = *state;
	ig_point loss[] = { { 1, 10, 1.5, 0.9 }, { 1, 20, 2.5, NAN },
		{ 2, 30, 3.5, 0.1 } };
	ig_point acc[] = { { 1, 100, 10.0, 0.5 } };
	ig_series s[] = { { "loss", loss, 3 }, { "acc", acc, 1 },
		{ "empty", NULL, 0 } };
	ig_series *got;
	size_t n;
	ig_frame f;
	ig_err err = { 0 };

	ig_frame_notify(&f, &fx->sb, "metrics");
	msgpack_pack_map(&f.pk, 2);
	ig_pack_str(&f.pk, "id");
	msgpack_pack_int(&f.pk, 5);
	ig_pack_str(&f.pk, "series");
	ig_series_pack(&f.pk, s, 3);
	const msgpack_object *params = through_wire(fx, &f, "metrics");
	assert_int_equal(
	    ig_series_unpack(ig_map_get(params, "series"), &got, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(got[0].name, "loss");
	assert_int_equal(got[0].n, 3);
	assert_int_equal(got[0].points[2].epoch, 2);
	assert_int_equal(got[0].points[2].iteration, 30);
	assert_true(got[0].points[2].time == 3.5);
	assert_true(got[0].points[2].value == 0.1);
	assert_true(isnan(got[0].points[1].value));
	assert_string_equal(got[1].name, "acc");
	assert_int_equal(got[1].n, 1);
	assert_int_equal(got[2].n, 0);
	assert_null(got[2].points);
	ig_series_free(got, n);
}

/* Only the columns asked for go out; those left out read back as 0. */
static void
test_series_columns(void **state)
{
	struct fixture *fx = *state;
	const int64_t ep[] = { 3, 3 }, it[] = { 10, 11 };
	const double t[] = { 1.5, 2.5 }, v[] = { -0.0, 0.25 };
	ig_columns s[] = { { "loss", ep, it, t, v, 2 } };
	ig_series *got;
	size_t n;
	ig_frame f;
	ig_err err = { 0 };

	assert_int_equal(ig_series_column("iteration"), IG_COL_ITERATION);
	assert_int_equal(ig_series_column("value"), IG_COL_VALUE);
	assert_int_equal(ig_series_column("Value"), 0);
	ig_frame_notify(&f, &fx->sb, "metrics");
	msgpack_pack_map(&f.pk, 1);
	ig_pack_str(&f.pk, "series");
	ig_columns_pack(&f.pk, s, 1, IG_COL_ITERATION | IG_COL_VALUE);
	const msgpack_object *params = through_wire(fx, &f, "metrics");
	const msgpack_object *loss =
	    ig_map_get(ig_map_get(params, "series"), "loss");
	assert_non_null(loss);
	assert_int_equal(loss->via.map.size, 2);
	assert_null(ig_map_get(loss, "epoch"));
	assert_null(ig_map_get(loss, "time"));
	assert_int_equal(
	    ig_series_unpack(ig_map_get(params, "series"), &got, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(got[0].n, 2);
	assert_int_equal(got[0].points[1].iteration, 11);
	assert_true(got[0].points[1].value == 0.25);
	assert_true(signbit(got[0].points[0].value));
	assert_int_equal(got[0].points[1].epoch, 0);
	assert_true(got[0].points[1].time == 0);
	ig_series_free(got, n);
}

/*
 * A long series (more than one block of 512, odd values, NaN payloads,
 * -0.0, infinities, subnormals) packs to the same bytes as points and as
 * columns, through a frame's packer and straight into a buffer
 * (ig_sbuffer_write), and reads back bit for bit.
 */
static void
test_series_columns_long(void **state)
{
	enum {
		N = 1234
	};
	struct fixture *fx = *state;
	ig_point *p = calloc(N, sizeof *p);
	int64_t *ep = calloc(N, 8), *it = calloc(N, 8);
	double *t = calloc(N, 8), *v = calloc(N, 8);
	uint64_t x = 88172645463325252u;
	msgpack_sbuffer a, b;
	msgpack_packer pk;
	ig_series s = { "loss", p, N }, *got;
	ig_columns c = { "loss", ep, it, t, v, N };
	size_t n;
	ig_err err = { 0 };
	ig_frame f;

	for (size_t i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (ig_point){ (int64_t)(i / 100), (int64_t)i * 3 + 1,
			1.7e9 + (double)i / 7, 0 };
		memcpy(&p[i].value, &x, 8); /* any bits: NaNs with payloads */
		if (i % 97 == 1)
			p[i].value = i % 2 ? -0.0 : INFINITY;
		if (i % 101 == 2)
			p[i].value = 4.9e-324;
		ep[i] = p[i].epoch;
		it[i] = p[i].iteration;
		t[i] = p[i].time;
		v[i] = p[i].value;
	}
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	msgpack_packer_init(&pk, &a, msgpack_sbuffer_write);
	ig_series_pack(&pk, &s, 1);
	msgpack_packer_init(&pk, &b, ig_sbuffer_write);
	ig_columns_pack(&pk, &c, 1, IG_COL_ALL);
	assert_int_equal(a.size, b.size);
	assert_memory_equal(a.data, b.data, a.size);
	assert_true(ig_columns_packed_size(&c, 1, IG_COL_ALL) >= b.size);

	ig_frame_notify(&f, &fx->sb, "metrics");
	msgpack_pack_map(&f.pk, 1);
	ig_pack_str(&f.pk, "series");
	ig_columns_pack(&f.pk, &c, 1, IG_COL_ALL);
	const msgpack_object *params = through_wire(fx, &f, "metrics");
	assert_int_equal(
	    ig_series_unpack(ig_map_get(params, "series"), &got, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(got[0].n, N);
	assert_memory_equal(got[0].points, p, N * sizeof *p);
	ig_series_free(got, n);
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
	free(p);
	free(ep);
	free(it);
	free(t);
	free(v);
}

#define ONE "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01"

static void
test_series_bad(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *in, *says;
	} bad[] = {
		{ "[]", "series: expected a map, got an array" },
		{ "{'x': {'nope': b''}}",
		    "series.\"x\": no column: expected epoch, iteration, "
		    "time or value" },
		{ "{'x': {'epoch': [1], 'iteration': b'', 'time': b'', 'value': b''}}",
		    "series.\"x\".epoch: expected a bin of 8-byte numbers" },
		{ "{'x': {'epoch': b'', 'iteration': b'', 'time': b'\\x00', 'value': b''}}",
		    "series.\"x\".time: expected a bin of 8-byte numbers" },
		{ "{'x': {'epoch': b'" ONE "', 'iteration': b'" ONE ONE "', "
		  "'time': b'" ONE "', 'value': b'" ONE "'}}",
		    "series.\"x\".iteration: 2 points, but epoch has 1" },
		{ "{'x': {'iteration': b'" ONE "', 'value': b'" ONE ONE "'}}",
		    "series.\"x\".value: 2 points, but iteration has 1" },
		{ "{'x': {'epoch': b'\\xff"
		  "\\x00\\x00\\x00\\x00\\x00\\x00\\x00', "
		  "'iteration': b'" ONE "', 'time': b'" ONE "', 'value': b'" ONE
		  "'}}",
		    "series.\"x\".epoch: point 0 is out of range" },
		{ "{'ok': {'epoch': b'', 'iteration': b'', 'time': b'', 'value': b''}, 3: {}}",
		    "series: names must be str, got an integer" },
	};
	ig_series *got;
	size_t n;
	ig_err err = { 0 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		msgpack_object o = tu_obj(fx->zone, bad[i].in);

		assert_int_equal(ig_series_unpack(&o, &got, &n, &err),
		    IG_PROTO_INVALID_PARAMS);
		assert_string_equal(err.message, bad[i].says);
		assert_null(got);
		assert_int_equal(n, 0);
	}
}

/* A counter past INT64_MAX is found in any block of points, the first
 * one named (the check rides on the unpacking, a block at a time). */
static void
test_series_range_late(void **state)
{
	struct fixture *fx = *state;
	static ig_point p[1500];
	ig_series s[] = { { "loss", p, 1500 } };
	ig_series *got;
	size_t n;
	ig_frame f;
	ig_err err = { 0 };

	for (size_t i = 0; i < 1500; i++)
		p[i] = (ig_point){ 1, (int64_t)i, 0.5, (double)i };
	p[1200].iteration = INT64_MIN;
	p[1300].epoch = -1;
	ig_frame_notify(&f, &fx->sb, "metrics");
	msgpack_pack_map(&f.pk, 1);
	ig_pack_str(&f.pk, "series");
	ig_series_pack(&f.pk, s, 1);
	const msgpack_object *params = through_wire(fx, &f, "metrics");
	assert_int_equal(
	    ig_series_unpack(ig_map_get(params, "series"), &got, &n, &err),
	    IG_PROTO_INVALID_PARAMS);
	assert_string_equal(err.message,
	    "series.\"loss\".iteration: point 1200 is out of range");
	assert_null(got);
	assert_int_equal(n, 0);
}

static void
test_hello(void **state)
{
	struct fixture *fx = *state;
	ig_err err = { 0 };
	int v = 0;
	msgpack_object o;

	o = tu_obj(fx->zone, "{'versions': [1], 'client': 'ignitectl 0.1'}");
	assert_int_equal(ig_hello_negotiate(&o, &v, &err), 0);
	assert_int_equal(v, 1);
	o = tu_obj(fx->zone, "{'versions': [3, 1, 2]}");
	assert_int_equal(ig_hello_negotiate(&o, &v, &err), 0);
	assert_int_equal(v, IG_PROTO_VERSION);
	o = tu_obj(fx->zone, "{'versions': [2, 3]}");
	assert_int_equal(
	    ig_hello_negotiate(&o, &v, &err), IG_PROTO_VERSION_MISMATCH);
	assert_string_equal(err.message,
	    "no common protocol version: the client "
	    "speaks [2, 3], the daemon 1 to 1");
	o = tu_obj(fx->zone, "{'versions': []}");
	assert_int_equal(
	    ig_hello_negotiate(&o, &v, &err), IG_PROTO_VERSION_MISMATCH);
	o = tu_obj(fx->zone, "{'versions': ['1']}");
	assert_int_equal(
	    ig_hello_negotiate(&o, &v, &err), IG_PROTO_INVALID_PARAMS);
	assert_string_equal(
	    err.message, "versions[0]: expected a positive integer, got a str");
	o = tu_obj(fx->zone, "{}");
	assert_int_equal(
	    ig_hello_negotiate(&o, &v, &err), IG_PROTO_INVALID_PARAMS);
	assert_string_equal(err.message, "versions: required");
}

static void
test_status_names(void **state)
{
	(void)state;
	for (int i = 0; i < IG_STATUS_COUNT; i++)
		assert_string_equal(ig_status_name(i), ig_status_names[i]);
	assert_null(ig_status_names[IG_STATUS_COUNT]);
	assert_null(ig_status_name(IG_STATUS_COUNT));
	assert_null(ig_status_name(-1));
	assert_string_equal(ig_status_name(IG_STATUS_RUNNING), "running");
}

/* ---- the worker protocol ------------------------------------------------ */

static void
test_wbatch(void **state)
{
	struct fixture *fx = *state;
	double x[] = { 1, 2, 3, 4, 5, 6 }, y[] = { 0, 1 };
	ig_wbatch b = { .index = 7,
		.rows = 2,
		.cols = 3,
		.x = x,
		.y = y,
		.raw = "\x92\x01\xa1"
		       "a",
		.raw_len = 4 };
	ig_frame f;
	ig_err err = { 0 };
	char printed[256];

	ig_frame_notify(&f, &fx->sb, "process");
	assert_int_equal(ig_wbatch_pack(&f.pk, &b, &err), 0);
	const msgpack_object *o = through_wire(fx, &f, "process");
	msgpack_object_print_buffer(printed, sizeof printed, *o);
	assert_string_equal(printed,
	    "{\"index\"=>7, \"x\"=>[[1.000000, 2.000000, "
	    "3.000000], [4.000000, 5.000000, 6.000000]], \"y\"=>[0.000000, "
	    "1.000000], \"raw\"=>[1, \"a\"]}");

	/* A range batch: the index alone. */
	ig_wbatch idx = { .index = 3 };
	ig_frame_notify(&f, &fx->sb, "process");
	assert_int_equal(ig_wbatch_pack(&f.pk, &idx, &err), 0);
	o = through_wire(fx, &f, "process");
	msgpack_object_print_buffer(printed, sizeof printed, *o);
	assert_string_equal(printed, "{\"index\"=>3}");

	/* A raw item that is not one object packs nothing. */
	b.raw_len = 5;
	b.raw = "\x92\x01\xa1"
	        "ab";
	ig_frame_notify(&f, &fx->sb, "process");
	size_t before = fx->sb.size;
	assert_int_equal(
	    ig_wbatch_pack(&f.pk, &b, &err), IG_PROTO_INVALID_PARAMS);
	assert_string_equal(err.message,
	    "batch 7: the raw item is not one msgpack "
	    "object: trailing bytes: the object ends at offset 4 of a 5-byte frame");
	assert_int_equal(fx->sb.size, before);
	ig_frame_abort(&f);
	assert_int_equal(fx->sb.size, 0);
}

static void
test_worker_output(void **state)
{
	struct fixture *fx = *state;
	ig_worker_output out;
	ig_err err = { 0 };
	msgpack_object o;

	o = tu_obj(fx->zone,
	    "{'output': {'loss': 0.5, 'y_pred': [[0.1, 0.9], "
	    "[0.8, 0.2], [1, 0]], 'y': [1, 0, 0], 'nan': nan, 'none': []}, "
	    "'metrics': {'lr': 0.01}}");
	assert_int_equal(ig_worker_output_unpack(&o, &out, &err), 0);
	assert_int_equal(out.nfields, 5);
	assert_string_equal(out.fields[0].name, "loss");
	assert_null(out.fields[0].data);
	assert_true(out.fields[0].value == 0.5);
	assert_int_equal(out.fields[1].len, 6);
	assert_int_equal(out.fields[1].cols, 2);
	assert_true(out.fields[1].data[3] == 0.2);
	assert_true(out.fields[1].data[4] == 1.0);
	assert_int_equal(out.fields[2].len, 3);
	assert_int_equal(out.fields[2].cols, 1);
	assert_true(isnan(out.fields[3].value));
	assert_non_null(out.fields[4].data);
	assert_int_equal(out.fields[4].len, 0);
	assert_int_equal(out.nmetrics, 1);
	assert_string_equal(out.metrics[0].name, "lr");
	ig_worker_output_clear(&out);

	o = tu_obj(fx->zone, "null");
	assert_int_equal(ig_worker_output_unpack(&o, &out, &err), 0);
	assert_int_equal(out.nfields, 0);
}

static void
test_worker_output_bad(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *in, *says;
	} bad[] = {
		{ "[1]", "result: expected a map, got an array" },
		{ "{'ouput': {}}", "result: unknown key \"ouput\"" },
		{ "{'output': {'a': 'x'}}",
		    "output.\"a\": expected a number, an array "
		    "of numbers or an array of equal arrays of numbers" },
		{ "{'output': {'a': [[1, 2], [3]]}}",
		    "output.\"a\": rows of a matrix must be arrays of equal length" },
		{ "{'output': {'a': [[1, 2], 3]}}",
		    "output.\"a\": rows of a matrix must be arrays of equal length" },
		{ "{'output': {'a': [1, [2]]}}",
		    "output.\"a\": expected a number, an "
		    "array of numbers or an array of equal arrays of numbers" },
		{ "{'output': {'ok': 1, 2: 3}}",
		    "output: names must be str, got an integer" },
		{ "{'output': {}, 'metrics': {'m': true}}",
		    "metrics.\"m\": expected a number, got a boolean" },
		{ "{'output': {'\\x1b]0;x\\x07': 1}}",
		    "output.\"?]0;x?\": a name holds letters, digits, '_', '-' and '.', "
		    "and starts with a letter, digit or '_'" },
		{ "{'metrics': {'12345': 1}}",
		    "metrics.\"12345\": a name cannot be all digits (run ids are)" },
		{ "{'metrics': {'ok': 1, 'a b': 2}}",
		    "metrics.\"a b\": a name holds letters, digits, '_', '-' and '.', "
		    "and starts with a letter, digit or '_'" },
	};
	ig_worker_output out;
	ig_err err = { 0 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		msgpack_object o = tu_obj(fx->zone, bad[i].in);

		assert_int_equal(ig_worker_output_unpack(&o, &out, &err),
		    IG_PROTO_INVALID_PARAMS);
		assert_string_equal(err.message, bad[i].says);
		assert_null(out.fields);
	}
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_summary),
		T(test_summary_bad),
		T(test_notifications),
		T(test_series),
		T(test_series_columns),
		T(test_series_columns_long),
		T(test_series_bad),
		T(test_series_range_late),
		T(test_hello),
		T(test_status_names),
		T(test_wbatch),
		T(test_worker_output),
		T(test_worker_output_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
