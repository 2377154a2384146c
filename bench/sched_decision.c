/*
 * sched_decision.c - what one scheduling decision costs with 10,000 runs
 * queued (issue 18: under 1 ms): a run ends, its GPU and slot are
 * released, and sched_next picks who starts.  Two queues: a typical one
 * (100 users, GPU and CPU runs, three priorities), whose walk stops at the
 * first run that waits for CPU slots, and the worst, where every queued
 * run is held by its user's --max-running-per-user and each decision
 * walks all of them.
 *
 * Usage: sched_decision [--rows]; prints a row per queue (benchlib.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "benchlib.h"
#include "runs/sched.h"

#define QUEUED 10000
#define ROUNDS 2000

static void
die(const char *what)
{
	bench_warnx("%s: out of memory", what);
	exit(1);
}

/* Decisions timed with QUEUED runs waiting on a machine of 8 GPUs and 64
 * slots kept full; *p99 set, the median returned, in microseconds. */
static double
decisions(bool worst, double *p99)
{
	struct sched_config cfg = { .ngpus = 8,
		.ncpus = 64,
		.max_running = worst ? 1 : IG_NONE,
		.max_queued = IG_NONE };
	size_t n = QUEUED + 64 + ROUNDS;
	struct sched_entry *e = calloc(n, sizeof(*e)), *out[8];
	double *t = calloc(ROUNDS, sizeof(*t));
	struct sched *s;
	size_t next = 0, held = 0;
	int64_t seq = 1;

	for (int i = 0; i < 8; i++)
		cfg.gpu_ids[i] = i;
	if (e == NULL || t == NULL || (s = sched_new(&cfg)) == NULL)
		die("sched");
	/* the holders: 8 GPU runs, 56 CPU runs, one user each */
	for (; next < 64; next++) {
		e[next] = (struct sched_entry){ .owner = (uid_t)(1000 + next),
			.seq = seq++,
			.gpus = next < 8,
			.cpus = 1 };
		if (!sched_take(s, &e[next]))
			die("take");
	}
	/* the queue: in the worst case every run is a holder's user's */
	for (size_t k = 0; k < QUEUED + ROUNDS; k++) {
		struct sched_entry *q = &e[next + k];
		*q = (struct sched_entry){
			.owner = worst ? (uid_t)(1000 + k % 64) :
			                 (uid_t)(2000 + k % 100),
			.priority = (int64_t)(k % 3),
			.seq = seq++,
			.gpus = k % 2,
			.cpus = 1 + k % 2,
		};
		if (k < QUEUED && sched_enqueue(s, q) != 0)
			die("enqueue");
	}
	for (size_t r = 0; r < ROUNDS; r++) {
		struct sched_entry *end = &e[held++ % 64];
		double t0 = bench_now();
		size_t got;

		/* a holder ends: release, decide */
		sched_release(s, end);
		got = sched_next(s, out, 8);
		t[r] = (bench_now() - t0) * 1e6;
		/* keep the machine full and the queue at QUEUED */
		for (size_t i = 0; i < got; i++)
			sched_release(s, out[i]);
		sched_take(s, end);
		if (sched_enqueue(s, &e[next + QUEUED + r]) != 0)
			die("enqueue");
		for (size_t i = 0; i < got; i++)
			if (sched_enqueue(s, out[i]) != 0)
				die("enqueue");
	}
	double median = bench_median(t, ROUNDS);
	/* bench_median sorts */
	*p99 = t[ROUNDS * 99 / 100];
	sched_free(s);
	free(t);
	free(e);
	return median;
}

int
main(int argc, char **argv)
{
	double med, p99;
	char fig[64];

	bench_init("sched_decision", &argc, argv);
	for (int worst = 0; worst < 2; worst++) {
		med = decisions(worst, &p99);
		bench_row(worst ? "sched: decision, 10k queued, all at limit" :
		                  "sched: decision, 10k queued",
		    BENCH_FMT(fig, "%.1f/%.1f us (p50/p99)", med, p99), "-",
		    "-", "< 1 ms", bench_judge(p99 < 1000));
	}
	return bench_status();
}
