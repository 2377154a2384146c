/*
 * engine_overhead - ns per iteration of the engine around a noop process
 * function: bare, with 3 handlers (one every=100), with one Average metric,
 * against a plain C loop calling the same function (the floor).
 * Median of 5 runs.  Ignite 0.5.3's figures on the reference machine
 * (DESIGN.md) are printed beside it for the 200x target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ignite/engine.h"
#include "ignite/metrics.h"

#define ITERS 20000000LL
#define RUNS 5

static ig_field field = { .name = "x", .value = 1.0 };
static const ig_output output = { .fields = &field, .nfields = 1 };

static int __attribute__((noinline)) noop(ig_engine *e, const ig_batch *b, const ig_output **out, void *ud)
{
	(void)e;
	(void)b;
	(void)ud;
	*out = &output;
	return IG_PROCESS_DONE;
}

static int count(ig_engine *e, int ev, void *ud)
{
	(void)e;
	(void)ev;
	(*(long long *)ud)++;
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum variant { FLOOR, BARE, HANDLERS, METRIC };

static double run_once(enum variant v)
{
	long long sink = 0;
	long long calls = 0;
	double t0;

	if (v == FLOOR) {
		const ig_output *out;
		ig_batch b = { 0 };
		t0 = now();
		for (long long i = 0; i < ITERS; i++) {
			b.index = i;
			noop(NULL, &b, &out, NULL);
			sink += (long long)out->nfields;
		}
		double ns = (now() - t0) * 1e9 / ITERS;
		return sink == ITERS ? ns : -1;   /* uses sink so the loop stays */
	}
	ig_engine *e = ig_engine_new(noop, NULL);
	ig_data *d = ig_data_range(ITERS);
	ig_run_args a = IG_RUN_ARGS_INIT;
	if (v == HANDLERS) {
		ig_filter every = { .every = 100 };
		ig_engine_on(e, IG_EVENT_ITERATION_COMPLETED, NULL, count, &calls);
		ig_engine_on(e, IG_EVENT_ITERATION_STARTED, NULL, count, &calls);
		ig_engine_on(e, IG_EVENT_ITERATION_COMPLETED, &every, count, &calls);
	} else if (v == METRIC) {
		ig_metric_attach(ig_metric_average("x"), e, "avg");
	}
	t0 = now();
	if (ig_engine_run(e, d, &a) != 0) {
		fprintf(stderr, "engine_overhead: %s\n", ig_engine_error(e));
		exit(1);
	}
	double ns = (now() - t0) * 1e9 / ITERS;
	ig_engine_free(e);
	ig_data_free(d);
	return ns;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	static const struct {
		const char *what;
		enum variant v;
		double ignite_us;   /* DESIGN.md: Ignite 0.5.3, 2 vCPU, median of 5 */
	} rows[] = {
		{ "plain C loop (floor)", FLOOR, 0 },
		{ "engine, bare", BARE, 4.10 },
		{ "engine, 3 handlers", HANDLERS, 5.96 },
		{ "engine, Average metric", METRIC, 9.40 },
	};
	double floor_ns = 0;

	printf("%-24s %10s %12s %12s %10s %8s\n", "what", "ns/iter", "over floor", "Ignite ns",
	       "x faster", "target");
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		double t[RUNS];
		for (int i = 0; i < RUNS; i++)
			t[i] = run_once(rows[r].v);
		qsort(t, RUNS, sizeof(t[0]), cmp);
		double med = t[RUNS / 2];
		if (rows[r].v == FLOOR) {
			floor_ns = med;
			printf("%-24s %10.2f %12s %12s %10s %8s\n", rows[r].what, med, "-", "-", "-", "-");
			continue;
		}
		double ign = rows[r].ignite_us * 1e3, ratio = ign / med;
		printf("%-24s %10.2f %12.2f %12.0f %10.0f %8s\n", rows[r].what, med, med - floor_ns, ign,
		       ratio, ratio >= 200 ? "pass" : "short");
	}
	return 0;
}
