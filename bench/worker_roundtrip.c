/*
 * worker_roundtrip - the per-iteration round trip of a noop exec worker
 * through the real ignited, against a raw ping-pong between two processes
 * measured in the same run (DESIGN.md's "Targets" and issue #16: a worker
 * at most 1.5 times the raw figure).
 *
 *   - floors: the parent writes as many bytes as the daemon's process
 *     request frame (length prefix included), the child writes them back,
 *     over a pair of pipes as the daemon talks to a worker.  For the C
 *     worker cat(1), bytes as they come; for the Python worker python3
 *     reading the frame by its length prefix, the least a Python worker
 *     must do.  Microseconds per round trip.
 *   - the C worker (examples/workers/c_echo_worker) and a Python worker
 *     (python/ignite_worker serving a process that returns {}), each run
 *     by ignited on {engine: [...], data: "range:N", max_epochs: 1}.  The
 *     run's status is polled; the figure is the time between the polls
 *     that saw iterations N/10 and 9N/10, over the iterations in between,
 *     so the worker's start-up and the final checkpoint stay out of it.
 *
 * Each figure is the median of RUNS runs, the three kinds taking turns.
 * Usage:
 *   worker_roundtrip [--rows] [IGNITED [C_WORKER]]
 * by default the ignited and c_echo_worker built next to this program
 * (../daemon/ignited, ../examples/c_echo_worker).  Prints a row per figure
 * (benchlib.h).  The daemon and the echo child are benchlib's children,
 * stopped at exit and on SIGINT/SIGTERM; the daemon reaps its workers.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"

#define RUNS 3 /* per figure; the median is printed */
#define PINGPONG_N 30000 /* round trips per floor run */
#define C_WORKER_N 30000 /* iterations per C worker run */
#define PY_WORKER_N 10000 /* iterations per Python worker run */
#define POLL_S 0.005 /* status polling period */
#define RUN_TIMEOUT_S 30.0
#define TARGET_RATIO 1.5
#define PYTHON "/usr/bin/python3"
#define CAT "/bin/cat"
#define PY_NOOP \
	"from ignite_worker import serve; serve(lambda engine, batch: {})"
/* a frame in, the same frame out: the Python floor */
#define PY_ECHO \
	"import os, struct\n" \
	"def read(n):\n" \
	"    b = b''\n" \
	"    while len(b) < n:\n" \
	"        c = os.read(0, n - len(b))\n" \
	"        if not c: raise SystemExit\n" \
	"        b += c\n" \
	"    return b\n" \
	"while True:\n" \
	"    h = read(4)\n" \
	"    os.write(1, h + read(struct.unpack('>I', h)[0]))\n"

/* ---- the floor: raw ping-pong ------------------------------------------- */

/* Bytes of the frame the daemon sends per iteration of a range run
 * (docs/PROTOCOL.md, "process"), length prefix included. */
static size_t
process_frame_size(void)
{
	msgpack_sbuffer sb;
	ig_frame f;
	ig_err e = { 0 };
	size_t n;

	msgpack_sbuffer_init(&sb);
	ig_frame_request(&f, &sb, 12345, "process");
	msgpack_pack_map(&f.pk, 3);
	ig_pack_str(&f.pk, "epoch");
	msgpack_pack_int64(&f.pk, 1);
	ig_pack_str(&f.pk, "iteration");
	msgpack_pack_int64(&f.pk, 12345);
	ig_pack_str(&f.pk, "batch");
	msgpack_pack_map(&f.pk, 1);
	ig_pack_str(&f.pk, "index");
	msgpack_pack_int64(&f.pk, 12344);
	n = ig_frame_end(&f, &e) == 0 ? sb.size : 64;
	msgpack_sbuffer_destroy(&sb);
	return n;
}

/* Microseconds per round trip of a frame of size bytes (a length prefix
 * and zeros) over n round trips (after n / 10 to warm up) with an echo
 * process that reads rfd and writes wfd back, or -1. */
static double
pingpong_us(int wfd, int rfd, size_t size, long n)
{
	unsigned char out[4096] = { 0 }, in[4096];
	double t0 = 0;
	long i;

	out[2] = (unsigned char)((size - 4) >> 8);
	out[3] = (unsigned char)(size - 4);
	for (i = -n / 10; i < n; i++) {
		if (i == 0)
			t0 = bench_now();
		if (bench_write_all(wfd, out, size) != 0 ||
		    bench_read_exact(rfd, in, size) != 0) {
			bench_warnx(
			    "ping-pong: the echo process went away (%s)",
			    strerror(errno));
			return -1;
		}
	}
	return (bench_now() - t0) * 1e6 / (double)n;
}

/* A floor: argv echoing frames over pipes. */
static double
pipe_pingpong_us(const char *const argv[], size_t size, long n)
{
	double us;
	int wfd, rfd;
	pid_t pid;

	if ((pid = bench_pipe_echo_start(argv, &wfd, &rfd)) == -1)
		return -1;
	us = pingpong_us(wfd, rfd, size, n);
	close(wfd);
	bench_echo_stop(pid, rfd);
	return us;
}

/* ---- a worker's round trip ---------------------------------------------- */

struct worker_kind {
	const char *what;
	const char *const *argv; /* NULL-terminated */
	const char *pythonpath; /* worker.env PYTHONPATH, or NULL */
	long n; /* iterations */
	const char *floor_what;
	const char *const *floor_argv; /* the echo, NULL-terminated */
};

static int64_t
run_start(struct bench_client *c, const struct worker_kind *k)
{
	msgpack_packer *pk = bench_client_begin(c, "run");
	char data[32];
	size_t argc = 0;

	while (k->argv[argc] != NULL)
		argc++;
	snprintf(data, sizeof data, "range:%ld", k->n);
	msgpack_pack_map(pk, k->pythonpath != NULL ? 4 : 3);
	ig_pack_str(pk, "engine");
	msgpack_pack_array(pk, argc);
	for (size_t i = 0; i < argc; i++)
		ig_pack_str(pk, k->argv[i]);
	ig_pack_str(pk, "data");
	ig_pack_str(pk, data);
	ig_pack_str(pk, "max_epochs");
	msgpack_pack_int64(pk, 1);
	if (k->pythonpath != NULL) {
		ig_pack_str(pk, "worker");
		msgpack_pack_map(pk, 1);
		ig_pack_str(pk, "env");
		msgpack_pack_map(pk, 1);
		ig_pack_str(pk, "PYTHONPATH");
		ig_pack_str(pk, k->pythonpath);
	}
	return bench_run_start(c);
}

/*
 * One run of k: microseconds per iteration between the polls that first
 * saw iteration >= n/10 and >= 9n/10, or -1.  Waits for the run to
 * complete; a run that fails or stalls is an error.
 */
static double
worker_us(struct bench_client *c, const struct worker_kind *k)
{
	int64_t id = run_start(c, k), lo = k->n / 10, hi = k->n - k->n / 10;
	int64_t it_a = -1, it_b = -1;
	double t_a = 0, t_b = 0, end = bench_now() + RUN_TIMEOUT_S;

	if (id < 0)
		return -1;
	for (;;) {
		ig_summary s;
		double t;

		if (bench_run_status(c, id, &s) != 0)
			return -1;
		t = bench_now();
		if (it_a < 0 && s.iteration >= lo && s.iteration < hi) {
			it_a = s.iteration;
			t_a = t;
		} else if (it_a >= 0 && it_b < 0 && s.iteration >= hi) {
			it_b = s.iteration;
			t_b = t;
		}
		if (s.status >= IG_STATUS_COMPLETED || t > end) {
			bool ok = s.status == IG_STATUS_COMPLETED;

			if (!ok)
				bench_warnx("%s: run %lld %s: %s", k->what,
				    (long long)id,
				    t > end ? "timed out" :
				              ig_status_name(s.status),
				    s.reason != NULL ? s.reason :
				                       "(no reason)");
			ig_summary_clear(&s);
			if (!ok)
				return -1;
			break;
		}
		ig_summary_clear(&s);
		bench_sleep(POLL_S);
	}
	if (it_a < 0 || it_b <= it_a) {
		bench_warnx(
		    "%s: the run went by too fast to time; raise its iterations",
		    k->what);
		return -1;
	}
	return (t_b - t_a) * 1e6 / (double)(it_b - it_a);
}

/* ---- main ---------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	char ignited[PATH_MAX], c_worker[PATH_MAX], ref[40], fig[40], ratio[16];
	const char *c_argv[] = { c_worker, NULL };
	const char *py_argv[] = { PYTHON, "-c", PY_NOOP, NULL };
	const char *cat_argv[] = { CAT, NULL };
	const char *py_echo_argv[] = { PYTHON, "-c", PY_ECHO, NULL };
	struct worker_kind kinds[] = {
		{ "C worker (c_echo_worker)", c_argv, NULL, C_WORKER_N,
		    "raw pipe ping-pong, C (cat)", cat_argv },
		{ "Python worker (ignite_worker)", py_argv,
		    IGNITE_SOURCE_DIR "/python", PY_WORKER_N,
		    "raw pipe ping-pong, python3", py_echo_argv },
	};
#define NKINDS (sizeof kinds / sizeof kinds[0])
	double raw[NKINDS][RUNS], runs[NKINDS][RUNS];
	size_t frame = process_frame_size();
	struct bench_daemon d;
	struct bench_client *c;
	char dir[PATH_MAX];

	bench_init("worker_roundtrip", &argc, argv);
	if (argc > 3 || (argc > 1 && argv[1][0] == '-')) {
		fprintf(stderr,
		    "usage: worker_roundtrip [--rows] [IGNITED [C_WORKER]]\n");
		return 2;
	}
	if (bench_program(ignited, sizeof ignited, argc > 1 ? argv[1] : NULL,
	        "../daemon/ignited") == -1 ||
	    bench_program(c_worker, sizeof c_worker, argc > 2 ? argv[2] : NULL,
	        "../examples/c_echo_worker") == -1)
		return 2;
	if (bench_subdir(dir, sizeof dir, "daemon") == -1 ||
	    bench_daemon_init(&d, ignited, dir) == -1 ||
	    bench_daemon_start(&d, &c) < 0)
		return 1;
	/* interleaved, so that a slower spell of the machine hits all alike */
	for (int r = 0; r < RUNS; r++)
		for (size_t k = 0; k < NKINDS; k++) {
			raw[k][r] = pipe_pingpong_us(
			    kinds[k].floor_argv, frame, PINGPONG_N);
			runs[k][r] = worker_us(c, &kinds[k]);
		}
	bench_client_close(c);
	bench_daemon_stop(&d);

	for (size_t k = 0; k < NKINDS; k++) {
		double raw_us = bench_median(raw[k], RUNS);
		double us = bench_median(runs[k], RUNS);

		if (raw_us < 0) {
			bench_error(kinds[k].floor_what, "(floor)");
			bench_error(kinds[k].what, "<= 1.5x raw");
			continue;
		}
		bench_row(kinds[k].floor_what,
		    BENCH_FMT(fig, "%.1f us/rt", raw_us),
		    BENCH_FMT(ref, "%zu-byte frames", frame), "-", "(floor)",
		    BENCH_INFO);
		if (us < 0) {
			bench_error(kinds[k].what, "<= 1.5x raw");
			continue;
		}
		bench_row(kinds[k].what, BENCH_FMT(fig, "%.1f us/it", us),
		    BENCH_FMT(ref, "raw %.1f us/rt", raw_us),
		    BENCH_FMT(ratio, "%.2fx", us / raw_us), "<= 1.5x raw",
		    bench_judge(us <= TARGET_RATIO * raw_us));
	}
	return bench_status();
}
