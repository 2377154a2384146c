/*
 * test_metrics.c - metrics.h: Average, Loss, Accuracy, RunningAverage,
 * output; attach/detach; values in state.metrics at EPOCH_COMPLETED.
 */
#include "trace.h"
#include "ignite/metrics.h"

#include <math.h>

/* A process function whose output per iteration comes from a table. */
typedef struct table_proc {
	const ig_output *outs;
	size_t n;
} table_proc;

static int
proc_table(ig_engine *e, const ig_batch *b, const ig_output **out, void *ud)
{
	(void)b;
	table_proc *p = ud;
	int64_t i = ig_engine_state(e)->iteration - 1;
	*out = &p->outs[(size_t)i % p->n];
	return IG_PROCESS_DONE;
}

/* Records metric `name` at every EPOCH_COMPLETED (added after attach). */
typedef struct metric_log {
	const char *name;
	double v[16];
	size_t n;
} metric_log;

static int
log_metric(ig_engine *e, int event, void *ud)
{
	(void)event;
	metric_log *m = ud;
	double v = NAN;
	assert_true(ig_engine_metric(e, m->name, &v));
	m->v[m->n++] = v;
	return 0;
}

#define FIELD(nm, val) \
	{ \
		.name = (nm), .value = (val) \
	}
#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void
run_metric(ig_metric *m, const ig_output *outs, size_t n, ig_data *d,
    int64_t epochs, metric_log *log, int event)
{
	table_proc p = { outs, n };
	ig_engine *e = ig_engine_new(proc_table, &p);
	assert_int_equal(ig_metric_attach(m, e, log->name), 0);
	assert_true(ig_metric_is_attached(e, log->name));
	assert_true(ig_engine_on(e, event, NULL, log_metric, log) != 0);
	ig_run_args a = run_args(epochs, (int64_t)n / epochs, IG_NONE);
	RUN_OK(e, d, &a);
	ig_engine_free(e);
}

/* Average: mean over the epoch, reset at EPOCH_STARTED; arrays count each element. */
static void
test_metric_average(void **state)
{
	(void)state;
	static const ig_field f[] = { FIELD("loss", 1), FIELD("loss", 2),
		FIELD("loss", 6), FIELD("loss", 10), FIELD("loss", 20),
		FIELD("loss", 30) };
	const ig_output outs[] = { { &f[0], 1 }, { &f[1], 1 }, { &f[2], 1 },
		{ &f[3], 1 }, { &f[4], 1 }, { &f[5], 1 } };
	ig_data *d = ig_data_range(3);
	metric_log log = { "avg", { 0 }, 0 };
	run_metric(ig_metric_average("loss"), outs, 6, d, 2, &log, E_EC);
	assert_int_equal(log.n, 2);
	NEAR(log.v[0], 3.0);
	NEAR(log.v[1], 20.0);

	static const double arr1[] = { 1, 2, 3 }, arr2[] = { 10 };
	static const ig_field fa[] = {
		{ .name = "v", .data = arr1, .len = 3, .cols = 1 },
		{ .name = "v", .data = arr2, .len = 1, .cols = 1 }
	};
	const ig_output outa[] = { { &fa[0], 1 }, { &fa[1], 1 } };
	ig_data *d2 = ig_data_range(2);
	metric_log loga = { "avgarr", { 0 }, 0 };
	run_metric(ig_metric_average("v"), outa, 2, d2, 1, &loga, E_EC);
	NEAR(loga.v[0], 16.0 / 4.0);
	ig_data_free(d);
	ig_data_free(d2);
}

/* Loss: weighted by the batch's rows (1 when the batch has none). */
static void
test_metric_loss_weighted(void **state)
{
	(void)state;
	static const ig_batch batches[] = { { .index = 0, .rows = 1 },
		{ .index = 1, .rows = 3 } };
	static const ig_field f[] = { FIELD("loss", 2), FIELD("loss", 6) };
	const ig_output outs[] = { { &f[0], 1 }, { &f[1], 1 } };
	ig_data *d = ig_data_array(batches, 2);
	metric_log log = { "loss", { 0 }, 0 };
	run_metric(ig_metric_loss("loss"), outs, 2, d, 1, &log, E_EC);
	NEAR(log.v[0], (2.0 * 1 + 6.0 * 3) / 4.0);
	ig_data_free(d);
	/* No rows: each batch weighs 1. */
	ig_data *r = ig_data_range(2);
	metric_log log2 = { "loss", { 0 }, 0 };
	run_metric(ig_metric_loss("loss"), outs, 2, r, 1, &log2, E_EC);
	NEAR(log2.v[0], 4.0);
	ig_data_free(r);
}

/* Accuracy: argmax over a rows x classes matrix; binary with a threshold. */
static void
test_metric_accuracy(void **state)
{
	(void)state;
	static const double pred[] = { 0.1, 0.9, 0.0, /* 1 */
		0.8, 0.1, 0.1, /* 0 */
		0.2, 0.3, 0.5, /* 2 */
		0.3, 0.4, 0.3 }; /* 1 */
	static const double target[] = { 1, 0, 1, 0 };
	static const ig_field f[] = {
		{ .name = "y_pred", .data = pred, .len = 12, .cols = 3 },
		{ .name = "y", .data = target, .len = 4, .cols = 1 }
	};
	const ig_output outs[] = { { f, 2 } };
	ig_data *d = ig_data_range(1);
	metric_log log = { "acc", { 0 }, 0 };
	run_metric(
	    ig_metric_accuracy("y_pred", "y", -1), outs, 1, d, 1, &log, E_EC);
	NEAR(log.v[0], 0.5);

	static const double scores[] = { 0.2, 0.7, 0.5, 0.9, 0.4 };
	static const double labels[] = { 0, 1, 0, 0, 1 };
	static const ig_field fb[] = {
		{ .name = "p", .data = scores, .len = 5, .cols = 1 },
		{ .name = "t", .data = labels, .len = 5, .cols = 1 }
	};
	const ig_output outb[] = { { fb, 2 } };
	metric_log logb = { "bacc", { 0 }, 0 };
	run_metric(
	    ig_metric_accuracy("p", "t", 0.6), outb, 1, d, 1, &logb, E_EC);
	NEAR(logb.v[0],
	    3.0 / 5.0); /* 0.2->0 ok, 0.7->1 ok, 0.5->0 ok, 0.9 no, 0.4 no */
	ig_data_free(d);
}

/* RunningAverage: v = alpha * v + (1 - alpha) * x from the first value,
 * computed every iteration, kept across epochs (reset at STARTED). */
static void
test_metric_running_average(void **state)
{
	(void)state;
	static const ig_field f[] = { FIELD("loss", 4), FIELD("loss", 8),
		FIELD("loss", 0), FIELD("loss", 2) };
	const ig_output outs[] = { { &f[0], 1 }, { &f[1], 1 }, { &f[2], 1 },
		{ &f[3], 1 } };
	ig_data *d = ig_data_range(2);
	metric_log log = { "ra", { 0 }, 0 };
	run_metric(
	    ig_metric_running_average("loss", 0.5), outs, 4, d, 2, &log, E_IC);
	assert_int_equal(log.n, 4);
	NEAR(log.v[0], 4.0);
	NEAR(log.v[1], 6.0);
	NEAR(log.v[2], 3.0);
	NEAR(log.v[3], 2.5);
	ig_data_free(d);
}

/* Output: the latest value of a scalar field. */
static void
test_metric_output(void **state)
{
	(void)state;
	static const ig_field f[] = { FIELD("lr", 0.1), FIELD("lr", 0.2),
		FIELD("lr", 0.3) };
	const ig_output outs[] = { { &f[0], 1 }, { &f[1], 1 }, { &f[2], 1 } };
	ig_data *d = ig_data_range(3);
	metric_log log = { "lr", { 0 }, 0 };
	run_metric(ig_metric_output("lr"), outs, 3, d, 1, &log, E_IC);
	assert_int_equal(log.n, 3);
	NEAR(log.v[0], 0.1);
	NEAR(log.v[2], 0.3);
	ig_data_free(d);
}

/* attach/detach: a name is taken once; detach stops updates; detaching a
 * missing metric is IG_ENOENT; a refused metric stays the caller's. */
static void
test_metric_attach_detach(void **state)
{
	fixture *f = *state;
	ig_metric *m = ig_metric_average("x");
	assert_int_equal(ig_metric_attach(m, f->e, "avg"), 0);
	ig_metric *dup = ig_metric_average("x");
	assert_true(ig_metric_attach(dup, f->e, "avg") < 0);
	ig_metric_free(dup);
	f->d = ig_data_range(4);
	RUN_OK(f->e, f->d, NULL);
	double v = 0;
	assert_true(ig_engine_metric(f->e, "avg", &v));
	NEAR(v, 1.5);
	assert_int_equal(ig_engine_metric_count(f->e), 1);
	double at = 0;
	assert_string_equal(ig_engine_metric_at(f->e, 0, &at), "avg");
	NEAR(at, 1.5);
	assert_int_equal(ig_metric_detach(f->e, "avg"), 0);
	assert_false(ig_metric_is_attached(f->e, "avg"));
	assert_int_equal(ig_metric_detach(f->e, "avg"), IG_ENOENT);
	assert_int_equal(ig_metric_detach(f->e, "nope"), IG_ENOENT);
	/* Detached: the next run no longer computes it. */
	ig_engine_set_metric(f->e, "avg", -1);
	RUN_OK(f->e, f->d, NULL);
	assert_true(ig_engine_metric(f->e, "avg", &v));
	NEAR(v, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metric_average),
		cmocka_unit_test(test_metric_loss_weighted),
		cmocka_unit_test(test_metric_accuracy),
		cmocka_unit_test(test_metric_running_average),
		cmocka_unit_test(test_metric_output),
		FX_TEST_BARE(test_metric_attach_detach),
	};
	return cmocka_run_group_tests_name("engine_metrics", tests, NULL, NULL);
}
