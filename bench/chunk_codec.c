/*
 * chunk_codec.c - the chunk codec (daemon/store/chunk.h) on 1M points:
 * decode time into the store's columns (store.h, struct
 * store_series_data) against a memcpy of the raw 16 bytes a point
 * (iteration and value; the floor, measured in the same run), and the
 * chunks' bytes a point.  The database's size against rows, the target,
 * is store_ingest's.
 *
 * Series: a loss curve as PyTorch reports it (float32 values through
 * loss.item()), its running average (full float64), and random bits.
 * Each has iterations 1..N, epochs of 938 iterations and a wall clock of
 * about 200 us an iteration with jitter, as the store records them.
 *
 * Times are the thread's CPU time, median of ROUNDS: the codec and the
 * floor are one thread each, and on a machine shared with other work CPU
 * time is what tells the code from the load (wall time moved 3-7x with
 * the load average while writing this).
 *
 * usage: chunk_codec [--rows] [points]   (default 1000000)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchlib.h"
#include "store/chunk.h"

#define ROUNDS 9
#define BUCKETS 1000

enum kind {
	LOSS,
	AVERAGE,
	RANDOM
};

struct series {
	size_t n;
	int64_t *it, *ep;
	double *wall, *val;
	uint8_t *buf; /* the chunks, back to back */
	size_t *off; /* chunk k is buf[off[k], off[k + 1]) */
	size_t nchunks;
	double encode_s;
};

static void
die(const char *what, const char *msg)
{
	bench_warnx("%s: %s", what, msg);
	exit(1);
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		die("calloc", "out of memory");
	return p;
}

static uint64_t
rnd(void)
{
	static uint64_t x = 88172645463325252u;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static double
uniform(void)
{
	return (double)(rnd() >> 11) * 0x1p-53;
}

static void
generate(struct series *s, size_t n, enum kind kind)
{
	double wall = 1.7e9, avg = 2.4;

	s->n = n;
	s->it = xcalloc(n, 8);
	s->ep = xcalloc(n, 8);
	s->wall = xcalloc(n, 8);
	s->val = xcalloc(n, 8);
	for (size_t i = 0; i < n; i++) {
		double loss = (float)(2.3 * exp(-(double)i / 50000) + 0.1 +
		    0.05 * uniform());

		s->it[i] = (int64_t)i + 1;
		s->ep[i] = (int64_t)i / 938 + 1;
		wall += 200e-6 * (0.9 + 0.2 * uniform());
		s->wall[i] = wall;
		avg = 0.98 * avg + 0.02 * loss;
		if (kind == LOSS)
			s->val[i] = loss;
		else if (kind == AVERAGE)
			s->val[i] = avg;
		else
			memcpy(&s->val[i], &(uint64_t){ rnd() }, 8);
	}
}

static void
encode(struct series *s)
{
	size_t k, at = 0, len;
	ig_err err = { 0 };
	double t;

	s->nchunks = (s->n + CHUNK_MAX - 1) / CHUNK_MAX;
	s->buf = xcalloc(s->nchunks, chunk_bound(CHUNK_MAX));
	s->off = xcalloc(s->nchunks + 1, sizeof *s->off);
	t = cpu_now();
	for (k = 0; k < s->nchunks; k++) {
		size_t first = k * CHUNK_MAX, n = s->n - first;
		struct chunk_cols c = { s->it + first, s->ep + first,
			s->wall + first, s->val + first };

		if (n > CHUNK_MAX)
			n = CHUNK_MAX;
		if (chunk_encode(
		        &c, n, s->buf + at, chunk_bound(n), &len, &err) != 0)
			die("encode", err.message);
		s->off[k] = at;
		at += len;
	}
	s->off[k] = at;
	s->encode_s = cpu_now() - t;
}

/* Median seconds to decode every chunk into the columns of cols (4 of n
 * words); checks the points. */
static double
decode(const struct series *s, int64_t *cols)
{
	int64_t *ep = cols, *it = cols + s->n;
	double *wall = (double *)(cols + 2 * s->n);
	double *val = (double *)(cols + 3 * s->n);
	double t[ROUNDS];
	ig_err err = { 0 };

	for (int r = 0; r < ROUNDS; r++) {
		struct chunk_out out = { it, ep, wall, val, 8, 0, s->n };

		t[r] = cpu_now();
		for (size_t k = 0; k < s->nchunks; k++)
			if (chunk_decode(s->buf + s->off[k],
			        s->off[k + 1] - s->off[k], &out, &err) != 0)
				die("decode", err.message);
		t[r] = cpu_now() - t[r];
	}
	if (memcmp(it, s->it, s->n * 8) != 0 ||
	    memcmp(ep, s->ep, s->n * 8) != 0 ||
	    memcmp(wall, s->wall, s->n * 8) != 0 ||
	    memcmp(val, s->val, s->n * 8) != 0)
		die("decode", "a point came back different");
	return bench_median(t, ROUNDS);
}

/* Median seconds to fold every chunk into BUCKETS buckets. */
static double
buckets(const struct series *s)
{
	static struct chunk_bucket b[BUCKETS];
	int64_t width = (int64_t)(s->n + BUCKETS - 1) / BUCKETS;
	double t[ROUNDS];
	ig_err err = { 0 };

	for (int r = 0; r < ROUNDS; r++) {
		memset(b, 0, sizeof b);
		t[r] = cpu_now();
		for (size_t k = 0; k < s->nchunks; k++)
			if (chunk_buckets(s->buf + s->off[k],
			        s->off[k + 1] - s->off[k], 1, width, b, BUCKETS,
			        &err) != 0)
				die("buckets", err.message);
		t[r] = cpu_now() - t[r];
	}
	return bench_median(t, ROUNDS);
}

/* Median seconds to memcpy 16 bytes a point (scratch: 32 bytes a point). */
static double
floor_memcpy(size_t n, int64_t *scratch)
{
	char *src = (char *)scratch, *dst = src + n * 16;
	double t[ROUNDS];

	memset(scratch, 1, n * 32); /* fault it in */
	for (int r = 0; r < ROUNDS; r++) {
		t[r] = cpu_now();
		memcpy(dst, src, n * 16);
		t[r] = cpu_now() - t[r];
		src[r] = dst[n * 16 - 1 - (size_t)r]; /* keep the copy */
	}
	return bench_median(t, ROUNDS);
}

static double
chunk_bytes(const struct series *s)
{
	return (double)s->off[s->nchunks] / (double)s->n;
}

int
main(int argc, char **argv)
{
	static const char *const names[] = { "loss curve",
		"running average (f64)", "random values" };
	char what[64], fig[64], flo[48], rat[16];
	struct series s[3];
	double floor_s, dec;
	int64_t *cols;
	size_t n;

	bench_init("chunk_codec", &argc, argv);
	n = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
	if (n == 0)
		die("usage", "chunk_codec [--rows] [points]");
	cols = xcalloc(n, 4 * sizeof *cols);
	for (int k = LOSS; k <= RANDOM; k++) {
		generate(&s[k], n, (enum kind)k);
		encode(&s[k]);
	}
	floor_s = floor_memcpy(n, cols);

	bench_row(BENCH_FMT(what, "memcpy 16 B/point (floor)"),
	    BENCH_FMT(fig, "%.2f ms, %zu points", floor_s * 1e3, n), "-", "-",
	    "(floor)", BENCH_INFO);
	for (int k = LOSS; k <= RANDOM; k++) {
		dec = decode(&s[k], cols);
		bench_row(BENCH_FMT(what, "chunk decode, %s", names[k]),
		    BENCH_FMT(fig, "%.2f ms, %.0f M points/s", dec * 1e3,
		        (double)n / dec * 1e-6),
		    BENCH_FMT(flo, "memcpy %.2f ms", floor_s * 1e3),
		    BENCH_FMT(rat, "%.1fx", dec / floor_s),
		    "< 50 ms per 1M points",
		    bench_judge(dec * 1e6 / (double)n < 50e-3));
		bench_row(BENCH_FMT(what, "chunk size, %s", names[k]),
		    BENCH_FMT(fig, "%.2f B/point", chunk_bytes(&s[k])), "-",
		    "-", "(database: store_ingest)", BENCH_INFO);
	}
	bench_row("chunk encode, loss curve",
	    BENCH_FMT(
	        fig, "%.1f M points/s", (double)n / s[LOSS].encode_s * 1e-6),
	    "-", "-", "(ingest >= 1M points/s)", BENCH_INFO);
	dec = buckets(&s[LOSS]);
	bench_row(BENCH_FMT(what, "chunk buckets, %d of loss curve", BUCKETS),
	    BENCH_FMT(fig, "%.2f ms, %.0f M points/s", dec * 1e3,
	        (double)n / dec * 1e-6),
	    "-", "-", "(plot 10M in < 20 ms)", BENCH_INFO);
	return bench_status();
}
