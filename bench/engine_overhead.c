/*
 * engine_overhead - ns per iteration of the engine around a noop process
 * function: bare, with 3 handlers (one every=100), with one Average metric,
 * against a plain C loop calling the same function (the floor).
 * Median of 5 runs.  Each is held against Ignite 0.5.3's figure on the
 * reference machine (DESIGN.md, "Targets"): at least 200x faster.
 *
 * Usage: engine_overhead [--rows]; prints a row per figure (benchlib.h).
 */
#include <stdio.h>

#include "benchlib.h"
#include "ignite/engine.h"
#include "ignite/metrics.h"

#define ITERS 20000000LL
#define RUNS 5

static ig_field field = { .name = "x", .value = 1.0 };
static const ig_output output = { .fields = &field, .nfields = 1 };

static int __attribute__((noinline))
noop(ig_engine *e, const ig_batch *b, const ig_output **out, void *ud)
{
	(void)e;
	(void)b;
	(void)ud;
	*out = &output;
	return IG_PROCESS_DONE;
}

static int
count(ig_engine *e, int ev, void *ud)
{
	(void)e;
	(void)ev;
	(*(long long *)ud)++;
	return 0;
}

enum variant {
	FLOOR,
	BARE,
	HANDLERS,
	METRIC
};

/* ns per iteration of one run of variant v, or -1. */
static double
run_once(enum variant v)
{
	long long sink = 0;
	long long calls = 0;
	double t0;

	if (v == FLOOR) {
		const ig_output *out;
		ig_batch b = { 0 };
		t0 = bench_now();
		for (long long i = 0; i < ITERS; i++) {
			b.index = i;
			noop(NULL, &b, &out, NULL);
			sink += (long long)out->nfields;
		}
		double ns = (bench_now() - t0) * 1e9 / ITERS;
		return sink == ITERS ? ns :
		                       -1; /* uses sink so the loop stays */
	}
	ig_engine *e = ig_engine_new(noop, NULL);
	ig_data *d = ig_data_range(ITERS);
	ig_run_args a = IG_RUN_ARGS_INIT;
	if (v == HANDLERS) {
		ig_filter every = { .every = 100 };
		ig_engine_on(
		    e, IG_EVENT_ITERATION_COMPLETED, NULL, count, &calls);
		ig_engine_on(
		    e, IG_EVENT_ITERATION_STARTED, NULL, count, &calls);
		ig_engine_on(
		    e, IG_EVENT_ITERATION_COMPLETED, &every, count, &calls);
	} else if (v == METRIC) {
		ig_metric_attach(ig_metric_average("x"), e, "avg");
	}
	t0 = bench_now();
	double ns = -1;
	if (ig_engine_run(e, d, &a) == 0)
		ns = (bench_now() - t0) * 1e9 / ITERS;
	else
		bench_warnx("%s", ig_engine_error(e));
	ig_engine_free(e);
	ig_data_free(d);
	return ns;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *what;
		enum variant v;
		double
		    ignite_us; /* DESIGN.md: Ignite 0.5.3, 2 vCPU, median of 5 */
	} rows[] = {
		{ "engine, bare", BARE, 4.10 },
		{ "engine, 3 handlers", HANDLERS, 5.96 },
		{ "engine, Average metric", METRIC, 9.40 },
	};
	char fig[48], flo[32], rat[16], target[32];
	double t[RUNS];

	bench_init("engine_overhead", &argc, argv);
	for (int i = 0; i < RUNS; i++)
		t[i] = run_once(FLOOR);
	double floor_ns = bench_median(t, RUNS);
	bench_row("plain C loop (floor)",
	    BENCH_FMT(fig, "%.2f ns/it", floor_ns), "-", "-", "(floor)",
	    BENCH_INFO);
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		double ign = rows[r].ignite_us * 1e3;

		BENCH_FMT(target, "<= %.0f ns (200x Ignite)", ign / 200);
		for (int i = 0; i < RUNS; i++)
			t[i] = run_once(rows[r].v);
		double med = bench_median(t, RUNS);
		if (med < 0) {
			bench_error(rows[r].what, target);
			continue;
		}
		bench_row(rows[r].what,
		    BENCH_FMT(
		        fig, "%.2f ns/it, loop +%.2f", med, med - floor_ns),
		    BENCH_FMT(flo, "Ignite %.0f ns", ign),
		    BENCH_FMT(rat, "%.0fx faster", ign / med), target,
		    bench_judge(ign / med >= 200));
	}
	return bench_status();
}
