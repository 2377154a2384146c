/*
 * chunk_codec.c - the chunk codec (daemon/store/chunk.h) on 1M points:
 * decode time into the wire's point layout against a memcpy of the raw 16
 * bytes a point (iteration and value; the floor, measured in the same
 * run), and bytes a point against today's store, one SQLite row a point,
 * measured by writing the same points through the store and dividing the
 * database's size.
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
#include <sys/stat.h>
#include <time.h>

#include "benchlib.h"
#include "store/chunk.h"
#include "store/store.h"

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
	char err[256];
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
		if (chunk_encode(&c, n, s->buf + at, chunk_bound(n), &len, err,
		        sizeof err) != 0)
			die("encode", err);
		s->off[k] = at;
		at += len;
	}
	s->off[k] = at;
	s->encode_s = cpu_now() - t;
}

/* Median seconds to decode every chunk into pts; checks the points. */
static double
decode(const struct series *s, ig_point *pts)
{
	double t[ROUNDS];
	char err[256];

	for (int r = 0; r < ROUNDS; r++) {
		struct chunk_out out = { &pts[0].iteration, &pts[0].epoch,
			&pts[0].time, &pts[0].value, sizeof pts[0], 0, s->n };

		t[r] = cpu_now();
		for (size_t k = 0; k < s->nchunks; k++)
			if (chunk_decode(s->buf + s->off[k],
			        s->off[k + 1] - s->off[k], &out, err,
			        sizeof err) != 0)
				die("decode", err);
		t[r] = cpu_now() - t[r];
	}
	for (size_t i = 0; i < s->n; i++)
		if (pts[i].iteration != s->it[i] || pts[i].epoch != s->ep[i] ||
		    memcmp(&pts[i].time, &s->wall[i], 8) != 0 ||
		    memcmp(&pts[i].value, &s->val[i], 8) != 0)
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
	char err[256];

	for (int r = 0; r < ROUNDS; r++) {
		memset(b, 0, sizeof b);
		t[r] = cpu_now();
		for (size_t k = 0; k < s->nchunks; k++)
			if (chunk_buckets(s->buf + s->off[k],
			        s->off[k + 1] - s->off[k], 1, width, b, BUCKETS,
			        err, sizeof err) != 0)
				die("buckets", err);
		t[r] = cpu_now() - t[r];
	}
	return bench_median(t, ROUNDS);
}

/* Median seconds to memcpy 16 bytes a point. */
static double
floor_memcpy(size_t n, ig_point *scratch)
{
	char *src = (char *)scratch, *dst = src + n * 16;
	double t[ROUNDS];

	memset(scratch, 1, n * sizeof *scratch); /* fault it in */
	for (int r = 0; r < ROUNDS; r++) {
		t[r] = cpu_now();
		memcpy(dst, src, n * 16);
		t[r] = cpu_now() - t[r];
		src[r] = dst[n * 16 - 1 - (size_t)r]; /* keep the copy */
	}
	return bench_median(t, ROUNDS);
}

static void
flushed(void *arg, const ig_err *err)
{
	if (err != NULL)
		die("flush", err->message);
	*(int *)arg = 1;
}

/* Bytes a point of s written through today's store into dir. */
static double
sqlite_bytes(const struct series *s, const char *dir)
{
	struct store_run spec = { .name = "bench",
		.status = IG_STATUS_RUNNING };
	char path[PATH_MAX + 16], wal[PATH_MAX + 32], err[512];
	ig_err e;
	struct stat st, sw;
	struct store *db;
	uv_loop_t loop;
	int64_t run, sid;
	int done = 0;

	BENCH_FMT(path, "%s/today.db", dir);
	BENCH_FMT(wal, "%s-wal", path);
	uv_loop_init(&loop);
	if ((db = store_open(&loop, path, NULL, err, sizeof err)) == NULL ||
	    store_create_run(db, &spec, &run, NULL, NULL, &e) ||
	    store_series(db, run, "loss", &sid, &e))
		die("store", db == NULL ? err : e.message);
	for (size_t i = 0; i < s->n; i++) {
		struct store_point p = { sid, s->ep[i], s->it[i], s->wall[i],
			s->val[i] };

		if (store_points(db, run, &p, 1) != 0)
			die("store", "cannot enqueue");
		if ((i + 1) % 10000 == 0)
			uv_run(&loop, UV_RUN_NOWAIT);
	}
	store_flush(db, flushed, &done);
	while (!done)
		uv_run(&loop, UV_RUN_ONCE);
	store_close(db); /* checkpoints the WAL into the database */
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (stat(path, &st) == -1)
		die(path, "cannot stat");
	if (stat(wal, &sw) == -1)
		sw.st_size = 0;
	return (double)(st.st_size + sw.st_size) / (double)s->n;
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
	char dir[PATH_MAX], what[64], fig[64], flo[48], rat[16];
	struct series s[3];
	double floor_s, today, dec;
	ig_point *pts;
	size_t n;

	bench_init("chunk_codec", &argc, argv);
	n = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
	if (n == 0)
		die("usage", "chunk_codec [--rows] [points]");
	if (bench_subdir(dir, sizeof dir, "chunk") == -1)
		return 1;
	pts = xcalloc(n, sizeof *pts);
	for (int k = LOSS; k <= RANDOM; k++) {
		generate(&s[k], n, (enum kind)k);
		encode(&s[k]);
	}
	today = sqlite_bytes(&s[LOSS], dir);
	floor_s = floor_memcpy(n, pts);

	bench_row(BENCH_FMT(what, "memcpy 16 B/point (floor)"),
	    BENCH_FMT(fig, "%.2f ms, %zu points", floor_s * 1e3, n), "-", "-",
	    "(floor)", BENCH_INFO);
	bench_row("today: a SQLite row a point",
	    BENCH_FMT(fig, "%.1f B/point", today), "-", "-", "(reference)",
	    BENCH_INFO);
	for (int k = LOSS; k <= RANDOM; k++) {
		dec = decode(&s[k], pts);
		bench_row(BENCH_FMT(what, "chunk decode, %s", names[k]),
		    BENCH_FMT(fig, "%.2f ms, %.0f M points/s", dec * 1e3,
		        (double)n / dec * 1e-6),
		    BENCH_FMT(flo, "memcpy %.2f ms", floor_s * 1e3),
		    BENCH_FMT(rat, "%.1fx", dec / floor_s),
		    "< 50 ms per 1M points",
		    bench_judge(dec * 1e6 / (double)n < 50e-3));
		bench_row(BENCH_FMT(what, "chunk size, %s", names[k]),
		    BENCH_FMT(fig, "%.2f B/point", chunk_bytes(&s[k])),
		    BENCH_FMT(flo, "SQLite %.1f B/point", today),
		    BENCH_FMT(rat, "%.2fx", chunk_bytes(&s[k]) / today),
		    k == RANDOM ? "(reference)" : "<= 1/3 of SQLite",
		    k == RANDOM ? BENCH_INFO :
		                  bench_judge(chunk_bytes(&s[k]) * 3 <= today));
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
