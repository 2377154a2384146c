/*
 * store_backpressure.c - the daemon's memory under metrics as fast as
 * runs can record them (issue 17): 16 softmax runs, each recording 10
 * running averages every iteration, for --seconds S (default 60); the
 * daemon's peak RSS (the kernel's VmHWM) against the target of 64 MiB
 * for 10 minutes, with the points persisted per second and how often a
 * run was seen throttled (the store's queue full) beside it.
 *
 * usage: store_backpressure [--rows] [--seconds S] [IGNITED]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"

#define RUNS 16
#define METRICS 10
#define TARGET_KIB (64 * 1024)

/* Two separable classes, a few rows. */
static const char data_csv[] = "a,b,y\n"
                               "0.3,0.1,1\n-0.2,-0.4,0\n0.5,-0.1,1\n"
                               "-0.1,-0.3,0\n0.2,0.4,1\n-0.5,0.1,0\n"
                               "0.1,0.2,1\n-0.3,-0.2,0\n";

static int
write_data(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(data_csv, f);
	return fclose(f);
}

/* A softmax run on path, batch 1, for ever, with METRICS running
 * averages of its loss: METRICS points an iteration.  No checkpoints,
 * which would hold it up each epoch for their commit: as fast as it can. */
static int64_t
start_run(struct bench_client *c, const char *path)
{
	msgpack_packer *pk = bench_client_begin(c, "run");
	char name[16];

	msgpack_pack_map(pk, 5);
	ig_pack_str(pk, "engine");
	ig_pack_str(pk, "builtin:softmax");
	ig_pack_str(pk, "data");
	msgpack_pack_map(pk, 4);
	ig_pack_str(pk, "kind");
	ig_pack_str(pk, "csv");
	ig_pack_str(pk, "path");
	ig_pack_str(pk, path);
	ig_pack_str(pk, "label");
	ig_pack_str(pk, "y");
	ig_pack_str(pk, "batch_size");
	msgpack_pack_int64(pk, 1);
	ig_pack_str(pk, "max_epochs");
	msgpack_pack_int64(pk, INT64_C(1) << 40);
	ig_pack_str(pk, "checkpoint");
	msgpack_pack_map(pk, 1);
	ig_pack_str(pk, "epoch_completed");
	msgpack_pack_false(pk);
	ig_pack_str(pk, "metrics");
	msgpack_pack_array(pk, METRICS);
	for (int i = 0; i < METRICS; i++) {
		msgpack_pack_map(pk, 4);
		ig_pack_str(pk, "name");
		ig_pack_str(pk, BENCH_FMT(name, "avg%d", i));
		ig_pack_str(pk, "kind");
		ig_pack_str(pk, "running_average");
		ig_pack_str(pk, "field");
		ig_pack_str(pk, "loss");
		ig_pack_str(pk, "alpha");
		msgpack_pack_double(pk, 0.5 + i / 25.0);
	}
	return bench_run_start(c);
}

/* The peak resident set of pid in KiB (VmHWM), or -1. */
static long
peak_kib(pid_t pid)
{
	char path[64], buf[4096];
	const char *p;
	size_t n;
	FILE *f;

	if ((f = fopen(BENCH_FMT(path, "/proc/%d/status", (int)pid), "r")) ==
	    NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strstr(buf, "VmHWM:")) == NULL)
		return -1;
	return strtol(p + 6, NULL, 10);
}

/* Sum the runs' iterations; count those throttled into *throttled. */
static int
sample(struct bench_client *c, const int64_t *ids, int64_t *iterations,
    int *throttled)
{
	ig_summary s;

	*iterations = 0;
	for (int i = 0; i < RUNS; i++) {
		if (bench_run_status(c, ids[i], &s) != 0)
			return -1;
		*iterations += s.iteration;
		*throttled += s.throttled != NULL;
		ig_summary_clear(&s);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *row = "daemon RSS, 16 runs x 10 metrics/it";
	char ignited[PATH_MAX], dir[PATH_MAX], csv[PATH_MAX + 16], fig[64],
	    flo[48], rat[32];
	struct bench_daemon d;
	struct bench_client *c = NULL;
	int64_t ids[RUNS], iterations = 0;
	double seconds = 60;
	int ch, throttled = 0, samples = 0;

	bench_init("store_backpressure", &argc, argv);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 's' || (seconds = atof(optarg)) <= 0) {
			fprintf(stderr,
			    "usage: store_backpressure [--rows] "
			    "[--seconds S] [IGNITED]\n");
			return 2;
		}
	}
	if (bench_program(ignited, sizeof ignited,
	        optind < argc ? argv[optind] : NULL, "../daemon/ignited") == -1)
		return 1;
	if (bench_subdir(dir, sizeof dir, "backpressure") == -1 ||
	    write_data(BENCH_FMT(csv, "%s/data.csv", dir)) != 0 ||
	    bench_daemon_init(&d, ignited, dir) == -1 ||
	    bench_daemon_start(&d, &c) < 0)
		goto fail;
	for (int i = 0; i < RUNS; i++)
		if ((ids[i] = start_run(c, csv)) < 0)
			goto fail;
	double t0 = bench_now();
	while (bench_now() - t0 < seconds) {
		bench_sleep(0.25);
		if (sample(c, ids, &iterations, &throttled) != 0)
			goto fail;
		samples++;
	}
	double took = bench_now() - t0;
	long peak = peak_kib(d.pid);
	if (peak < 0)
		goto fail;
	bench_row(row, BENCH_FMT(fig, "%ld KiB peak in %.0f s", peak, took),
	    BENCH_FMT(flo, "target %d KiB", TARGET_KIB),
	    BENCH_FMT(rat, "%.2fx", (double)peak / TARGET_KIB),
	    "< 64 MiB for 10 min", bench_judge(peak < TARGET_KIB));
	bench_row("  (points recorded)",
	    BENCH_FMT(
	        fig, "%.0f points/s", (double)iterations * METRICS / took),
	    BENCH_FMT(flo, "throttled in %.0f%% of looks",
	        100.0 * throttled / ((double)samples * RUNS)),
	    "-", "-", BENCH_INFO);
	bench_client_close(c);
	bench_daemon_stop(&d);
	return bench_status();
fail:
	bench_client_close(c);
	bench_children_stop();
	bench_error(row, "< 64 MiB for 10 min");
	return bench_status();
}
