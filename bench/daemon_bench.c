/*
 * daemon_bench - the hosted figures of DESIGN.md's "Targets", each beside a
 * floor measured in the same run:
 *
 *   a. hosted noop throughput (with and without a checkpoint every 1000
 *      iterations) against the same engine unhosted in this process;
 *   b. control request latency and requests/s from 16 clients while 1, 16
 *      and 64 noop engines run flat out, against a raw Unix-socket
 *      ping-pong between two processes;
 *   c. restart-to-ready with 1000 stored runs (100 unfinished), against a
 *      start on an empty database;
 *   d. RSS: idle, per hosted engine, and over 10M iterations of one run;
 *   e. a 1M-point metric history read to the client, against 10k points.
 *
 * Usage: daemon_bench [PATH-TO-IGNITED]; by default the ignited built next
 * to this program (../daemon/ignited).  Prints one table.
 *
 * Processes: every child (daemons, the ping-pong echo) is recorded in
 * `children`; each part stops its own, and after each part whatever is left
 * is sent SIGTERM, then SIGKILL, and reaped, as it is at exit and on
 * SIGINT/SIGTERM.  Everything lives under one mkdtemp directory, removed
 * at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ignite/engine.h"
#include "ignite/protocol.h"

#define NCLIENTS 16             /* b: client connections */
#define LOAD_SECONDS 2.0        /* b: per engine count and method */
#define BIG_RANGE "range:1000000000000"
#define WINDOW_SECONDS 2.0      /* a: hosted measuring window */
#define UNHOSTED_ITERS 50000000LL
#define STORED_DONE 1000        /* c */
#define STORED_LIVE 100         /* c */
#define RESTARTS 5              /* c */
#define HISTORY_ROWS 1000       /* e: CSV rows; epochs make up the rest */
#define HISTORY_POINTS 1000000  /* e */

/* ---- time, errors -------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("daemon_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* snprintf into buf, cutting what does not fit (paths and table cells here
 * are far below their sizes); returns buf. */
static const char *fmt(char *buf, size_t len, const char *f, ...)
	__attribute__((format(printf, 3, 4)));
static const char *fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	vsnprintf(buf, len, f, ap);
	va_end(ap);
	return buf;
}
#define FMT(buf, ...) fmt(buf, sizeof buf, __VA_ARGS__)

/* ---- the table ----------------------------------------------------------- */

struct row {
	char what[48], figure[48], floor[40], ratio[16], target[24];
	const char *verdict;    /* "pass", "short" or "error" */
};
static struct row rows[32];
static size_t nrows;

enum verdict { SHORT, PASS, INFO, FAILED };

static void add_row(const char *what, const char *figure, const char *floor,
                    const char *ratio, const char *target, enum verdict v)
{
	if (nrows == sizeof rows / sizeof rows[0])
		return;
	struct row *r = &rows[nrows++];
	fmt(r->what, sizeof r->what, "%s", what);
	fmt(r->figure, sizeof r->figure, "%s", figure);
	fmt(r->floor, sizeof r->floor, "%s", floor);
	fmt(r->ratio, sizeof r->ratio, "%s", ratio);
	fmt(r->target, sizeof r->target, "%s", target);
	static const char *const names[] = { "short", "pass", "-", "error" };
	r->verdict = names[v];
}

static void add_error(const char *what, const char *target)
{
	add_row(what, "error (see stderr)", "-", "-", target, FAILED);
}


static void print_table(void)
{
	printf("%-34s %-30s %-26s %-9s %-18s %s\n", "what", "figure",
	       "floor/reference", "ratio", "target", "verdict");
	for (size_t i = 0; i < nrows; i++)
		printf("%-34s %-30s %-26s %-9s %-18s %s\n", rows[i].what,
		       rows[i].figure, rows[i].floor, rows[i].ratio,
		       rows[i].target, rows[i].verdict);
}

/* ---- children and the temp dir ------------------------------------------- */

static pid_t children[16];
static char tmp_root[PATH_MAX];

static void child_add(pid_t pid)
{
	for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
		if (children[i] == 0) {
			children[i] = pid;
			return;
		}
	kill(pid, SIGKILL);     /* cannot track it: do not leave it behind */
	waitpid(pid, NULL, 0);
}

/* Wait up to timeout seconds for pid; its wait status, or -1 if it lives. */
static int reap_within(pid_t pid, double timeout)
{
	double end = now() + timeout;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid || (r == -1 && errno == ECHILD)) {
			for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
				if (children[i] == pid)
					children[i] = 0;
			return r == pid ? st : 0;
		}
		if (now() > end)
			return -1;
		sleep_s(0.002);
	}
}

/* SIGTERM, then SIGKILL after timeout seconds; reaped either way.
 * Returns the wait status (SIGKILL shows as a signal). */
static int child_stop(pid_t pid, double timeout)
{
	kill(pid, SIGTERM);
	int st = reap_within(pid, timeout);
	if (st == -1) {
		warnx("pid %d ignored SIGTERM for %.0f s; SIGKILL", (int)pid, timeout);
		kill(pid, SIGKILL);
		st = reap_within(pid, 5);
	}
	return st;
}

static void children_stop_all(void)
{
	for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
		if (children[i] != 0)
			child_stop(children[i], 10);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

static void cleanup(void)
{
	children_stop_all();
	if (tmp_root[0] != '\0')
		nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmp_root[0] = '\0';
}

/* On SIGINT/SIGTERM: kill the children (async-signal-safe calls only) and
 * leave; the temp dir stays behind in that case. */
static void on_signal(int sig)
{
	for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
		if (children[i] != 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
		}
	_exit(128 + sig);
}

/* A fresh directory (mode 0700) under tmp_root, into out. */
static int subdir(char *out, size_t len, const char *name)
{
	fmt(out, len, "%s/%s", tmp_root, name);
	if (mkdir(out, 0700) == -1) {
		warnx("mkdir %s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- a protocol client ------------------------------------------------- */

/*
 * One connection, used by one thread.  A request is built with
 * client_begin() (which returns the packer for its params) and sent with
 * client_call(), whose reply points into the client until the next call.
 * The client owns its decoder, buffers and socket: client_close().
 */
struct client {
	int fd;
	ig_decoder *dec;
	msgpack_sbuffer sb;
	ig_frame f;
	uint32_t msgid;
	char *buf;              /* BUF_SIZE bytes; [off, len) not fed yet */
	size_t off, len;
	char err[IG_ERR_MAX + 64];
};
#define BUF_SIZE (256u << 10)

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	ig_decoder_free(c->dec);
	msgpack_sbuffer_destroy(&c->sb);
	free(c->buf);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

/* Connect without retrying; -1 with errno set when the socket is not up. */
static int client_open(struct client *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof *c);
	msgpack_sbuffer_init(&c->sb);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c->dec = ig_decoder_new(0);
	c->buf = malloc(BUF_SIZE);
	fmt(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (c->fd < 0 || c->dec == NULL || c->buf == NULL ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		int e = errno;
		client_close(c);
		errno = e;
		return -1;
	}
	return 0;
}

static msgpack_packer *client_begin(struct client *c, const char *method)
{
	msgpack_sbuffer_clear(&c->sb);
	ig_frame_request(&c->f, &c->sb, ++c->msgid, method);
	return &c->f.pk;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w, n -= (size_t)w;
	}
	return 0;
}

/*
 * Send the request begun by client_begin() and wait for its response
 * (notifications in between are skipped).  Returns 0 with reply->result
 * set, the daemon's error code, or -1 when the stream failed; c->err says
 * why in the last two cases.
 */
static int client_call(struct client *c, ig_msg *reply)
{
	ig_err e = { 0 };
	uint32_t want = c->msgid;

	if (ig_frame_end(&c->f, &e) != 0) {
		fmt(c->err, sizeof c->err, "encode: %s", e.message);
		return -1;
	}
	if (write_all(c->fd, c->sb.data, c->sb.size) == -1) {
		fmt(c->err, sizeof c->err, "write: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		while (c->off < c->len) {
			size_t used;
			int r = ig_decoder_feed(c->dec, c->buf + c->off, c->len - c->off,
			                        &used, reply);
			c->off += used;
			if (r == IG_DECODE_ERROR) {
				fmt(c->err, sizeof c->err, "decode: %s",
				         ig_decoder_error(c->dec)->message);
				return -1;
			}
			if (r == IG_DECODE_MESSAGE && reply->type == IG_MSG_RESPONSE &&
			    reply->msgid == want) {
				if (reply->error_code == 0)
					return 0;
				fmt(c->err, sizeof c->err, "%s: %s",
				         ig_proto_code_name(reply->error_code),
				         reply->error_message ? reply->error_message : "");
				return reply->error_code;
			}
		}
		ssize_t n = read(c->fd, c->buf, BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fmt(c->err, sizeof c->err, "read: %s",
			         n == 0 ? "connection closed by the daemon" : strerror(errno));
			return -1;
		}
		c->off = 0;
		c->len = (size_t)n;
	}
}

/* method with params {} (id < 0) or {id}. */
static int client_simple(struct client *c, const char *method, int64_t id,
                         ig_msg *reply)
{
	msgpack_packer *pk = client_begin(c, method);
	if (id < 0) {
		msgpack_pack_map(pk, 0);
	} else {
		msgpack_pack_map(pk, 1);
		ig_pack_str(pk, "id");
		msgpack_pack_int64(pk, id);
	}
	return client_call(c, reply);
}

static int client_hello(struct client *c)
{
	ig_msg reply;
	msgpack_packer *pk = client_begin(c, "hello");
	msgpack_pack_map(pk, 1);
	ig_pack_str(pk, "versions");
	msgpack_pack_array(pk, 1);
	msgpack_pack_int(pk, IG_PROTO_VERSION);
	return client_call(c, &reply);
}

/* Connect and say hello; -1 with a message on stderr. */
static int client_ready(struct client *c, const char *path)
{
	if (client_open(c, path) == -1) {
		warnx("connect %s: %s", path, strerror(errno));
		return -1;
	}
	if (client_hello(c) != 0) {
		warnx("hello: %s", c->err);
		client_close(c);
		return -1;
	}
	return 0;
}

/* ---- run specs ----------------------------------------------------------- */

/* The few spec shapes this benchmark starts.  Zero fields are left out. */
struct spec {
	const char *engine;
	const char *data;       /* "range:N"; NULL when csv is set */
	const char *csv;        /* columns a, b, y: softmax data, batch 1 */
	int64_t max_epochs;
	int64_t ckpt_every;
	const char *param;      /* one integer param of the process function */
	int64_t param_value;
	bool loss_metric;       /* running_average of "loss": a point per iteration */
};

static void pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	ig_pack_str(pk, k);
	ig_pack_str(pk, v);
}

static void pack_kv_int(msgpack_packer *pk, const char *k, int64_t v)
{
	ig_pack_str(pk, k);
	msgpack_pack_int64(pk, v);
}

static void pack_spec(msgpack_packer *pk, const struct spec *s)
{
	msgpack_pack_map(pk, 2u + (s->max_epochs > 0) + (s->ckpt_every > 0) +
	                 (s->param != NULL) + s->loss_metric);
	pack_kv_str(pk, "engine", s->engine);
	if (s->csv != NULL) {
		ig_pack_str(pk, "data");
		msgpack_pack_map(pk, 4);
		pack_kv_str(pk, "kind", "csv");
		pack_kv_str(pk, "path", s->csv);
		pack_kv_str(pk, "label", "y");
		pack_kv_int(pk, "batch_size", 1);
	} else {
		pack_kv_str(pk, "data", s->data);
	}
	if (s->max_epochs > 0)
		pack_kv_int(pk, "max_epochs", s->max_epochs);
	if (s->ckpt_every > 0) {
		ig_pack_str(pk, "checkpoint");
		msgpack_pack_map(pk, 1);
		pack_kv_int(pk, "every", s->ckpt_every);
	}
	if (s->param != NULL) {
		ig_pack_str(pk, "params");
		msgpack_pack_map(pk, 1);
		pack_kv_int(pk, s->param, s->param_value);
	}
	if (s->loss_metric) {
		ig_pack_str(pk, "metrics");
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 3);
		pack_kv_str(pk, "name", "loss");
		pack_kv_str(pk, "kind", "running_average");
		pack_kv_str(pk, "field", "loss");
	}
}

/* Start a run; its id, or -1 with a message on stderr. */
static int64_t run_start(struct client *c, const struct spec *s)
{
	ig_msg reply;

	pack_spec(client_begin(c, "run"), s);
	if (client_call(c, &reply) != 0) {
		warnx("run %s: %s", s->engine, c->err);
		return -1;
	}
	const msgpack_object *id = ig_map_get(reply.result, "id");
	if (id == NULL || id->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		warnx("run: no id in the reply");
		return -1;
	}
	return (int64_t)id->via.u64;
}

/* status {id} into *s (to clear with ig_summary_clear); -1 on failure. */
static int run_status(struct client *c, int64_t id, ig_summary *s)
{
	ig_msg reply;
	ig_err e = { 0 };

	if (client_simple(c, "status", id, &reply) != 0) {
		warnx("status %lld: %s", (long long)id, c->err);
		return -1;
	}
	if (ig_summary_unpack(reply.result, s, &e) != 0) {
		warnx("status %lld: %s", (long long)id, e.message);
		return -1;
	}
	return 0;
}

static int run_terminate(struct client *c, int64_t id)
{
	ig_msg reply;
	if (client_simple(c, "terminate", id, &reply) != 0) {
		warnx("terminate %lld: %s", (long long)id, c->err);
		return -1;
	}
	return 0;
}

/* Poll until run id has ended (any final status) or timeout seconds pass;
 * its status, or -1. */
static int run_wait_end(struct client *c, int64_t id, double timeout)
{
	double end = now() + timeout;
	for (;;) {
		ig_summary s;
		if (run_status(c, id, &s) == -1)
			return -1;
		int st = s.status;
		ig_summary_clear(&s);
		if (st >= IG_STATUS_COMPLETED)
			return st;
		if (now() > end) {
			warnx("run %lld still %s after %.0f s", (long long)id,
			      ig_status_name(st), timeout);
			return -1;
		}
		sleep_s(0.05);
	}
}

/* How many runs are queued or running; -1 on failure. */
static long runs_live(struct client *c)
{
	ig_msg reply;
	msgpack_packer *pk = client_begin(c, "list");
	msgpack_pack_map(pk, 1);
	ig_pack_str(pk, "status");
	msgpack_pack_array(pk, 2);
	ig_pack_str(pk, "queued");
	ig_pack_str(pk, "running");
	if (client_call(c, &reply) != 0 || reply.result->type != MSGPACK_OBJECT_ARRAY) {
		warnx("list: %s", c->err);
		return -1;
	}
	return (long)reply.result->via.array.size;
}

/* ---- the daemon ---------------------------------------------------------- */

static char ignited_path[PATH_MAX];

/* One ignited on dir/s.sock and dir/db.sqlite, logging to dir/ignited.log. */
struct daemon {
	pid_t pid;
	char dir[PATH_MAX - 32];
	char sock[PATH_MAX], db[PATH_MAX], log[PATH_MAX];
};

static void daemon_init(struct daemon *d, const char *dir)
{
	memset(d, 0, sizeof *d);
	fmt(d->dir, sizeof d->dir, "%s", dir);
	fmt(d->sock, sizeof d->sock, "%s/s.sock", dir);
	fmt(d->db, sizeof d->db, "%s/db.sqlite", dir);
	fmt(d->log, sizeof d->log, "%s/ignited.log", dir);
}

static int daemon_spawn(struct daemon *d)
{
	pid_t pid = fork();
	if (pid < 0) {
		warnx("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(ignited_path, ignited_path, "--socket", d->sock, "--db", d->db,
		      "--log-level", "warn", (char *)NULL);
		_exit(127);
	}
	child_add(pid);
	d->pid = pid;
	return 0;
}

/*
 * Spawn the daemon and connect c to it as soon as it answers a ping: the
 * seconds from fork to that answer, or -1 (daemon stopped, message on
 * stderr).  c is left connected.
 */
static double daemon_start(struct daemon *d, struct client *c)
{
	double t0 = now();
	ig_msg reply;

	if (daemon_spawn(d) == -1)
		return -1;
	for (;;) {
		if (client_open(c, d->sock) == 0) {
			if (client_hello(c) == 0 && client_simple(c, "ping", -1, &reply) == 0)
				return now() - t0;
			warnx("first request: %s", c->err);
			client_close(c);
			break;
		}
		if (waitpid(d->pid, NULL, WNOHANG) != 0 || now() - t0 > 20) {
			warnx("ignited did not come up; see its log %s", d->log);
			break;
		}
		sleep_s(0.0002);
	}
	child_stop(d->pid, 10);
	return -1;
}

/* SIGTERM and reap; -1 unless it exited 0 within 20 s. */
static int daemon_stop(struct daemon *d)
{
	int st = child_stop(d->pid, 20);
	d->pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		warnx("ignited did not exit cleanly on SIGTERM (wait status 0x%x); log: %s",
		      (unsigned)st, d->log);
		return -1;
	}
	return 0;
}

/* VmRSS in KiB, or -1. */
static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;

	fmt(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* ---- statistics ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof v[0], cmp_double);
	return v[n / 2];
}

/* Latencies in ns, merged from threads; percentile p of the sorted array. */
struct lat {
	uint32_t *v;
	size_t n, cap;
};

static int lat_push(struct lat *l, double seconds)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 65536;
		uint32_t *v = realloc(l->v, cap * sizeof v[0]);
		if (v == NULL)
			return -1;
		l->v = v, l->cap = cap;
	}
	double ns = seconds * 1e9;
	l->v[l->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* µs at percentile p (0..1) of sorted l. */
static double lat_pct(const struct lat *l, double p)
{
	size_t i = (size_t)(p * (double)(l->n - 1) + 0.5);
	return l->n ? l->v[i] / 1e3 : NAN;
}

/* ---- a. hosted vs unhosted noop ------------------------------------------ */

static int noop_fn(ig_engine *e, const ig_batch *b, const ig_output **out, void *ud)
{
	(void)e; (void)b; (void)ud;
	*out = NULL;
	return IG_PROCESS_DONE;
}

/* ns per iteration of a noop engine over range:n, unhosted: one
 * ig_engine_run() when step is 0, else ig_engine_step() step iterations at
 * a time, as a host drives it. */
static double unhosted_ns(int64_t n, uint64_t step)
{
	ig_engine *e = ig_engine_new(noop_fn, NULL);
	ig_data *d = ig_data_range(n);
	ig_run_args a = IG_RUN_ARGS_INIT;
	double ns = -1, t0 = now();
	int ok = e != NULL && d != NULL;

	if (ok && step == 0) {
		ok = ig_engine_run(e, d, &a) == 0;
	} else if (ok) {
		ig_run_status st = IG_RUN_YIELD;
		ok = ig_engine_start(e, d, &a) == 0;
		while (ok && st == IG_RUN_YIELD)
			st = ig_engine_step(e, step);
		ok = ok && st == IG_RUN_DONE;
	}
	if (ok)
		ns = (now() - t0) * 1e9 / (double)n;
	else
		warnx("unhosted engine: %s", e ? ig_engine_error(e) : "out of memory");
	ig_engine_free(e);
	ig_data_free(d);
	return ns;
}

/* ns per iteration of a hosted run, from its iteration count in status
 * over WINDOW_SECONDS after a short warm-up. */
static double hosted_ns(struct client *c, const struct spec *s)
{
	ig_summary a, b;
	int64_t id = run_start(c, s);
	double ns = -1;

	if (id < 0)
		return -1;
	sleep_s(0.3);
	double t0 = now();
	if (run_status(c, id, &a) == 0) {
		sleep_s(WINDOW_SECONDS);
		double t1 = now();
		if (run_status(c, id, &b) == 0) {
			if (b.iteration > a.iteration)
				ns = (t1 - t0) * 1e9 / (double)(b.iteration - a.iteration);
			else
				warnx("hosted run %lld did not advance (%s)", (long long)id,
				      ig_status_name(b.status));
			ig_summary_clear(&b);
		}
		ig_summary_clear(&a);
	}
	if (run_terminate(c, id) == -1)
		ns = -1;
	return ns;
}

static void part_hosted(void)
{
	struct daemon d;
	struct client c;
	char dir[PATH_MAX], fig[48], flo[40], rat[16];
	double un[3];

	for (size_t i = 0; i < 3; i++)
		un[i] = unhosted_ns(UNHOSTED_ITERS, 0);
	double floor_ns = median(un, 3);
	for (size_t i = 0; i < 3; i++)
		un[i] = unhosted_ns(UNHOSTED_ITERS, 20000);
	double stepped = median(un, 3);
	add_row("unhosted noop, stepped 20k/call", FMT(fig, "%.1f ns/it", stepped),
	        FMT(flo, "ig_engine_run %.1f ns/it", floor_ns),
	        FMT(rat, "%+.0f%%", (stepped / floor_ns - 1) * 100), "(reference)", INFO);

	static const struct { const char *what; int64_t every; } kinds[] = {
		{ "hosted noop, checkpoint/1000 it", 1000 },
		{ "hosted noop, no checkpoints", 0 },
	};
	if (subdir(dir, sizeof dir, "hosted") == -1)
		goto fail;
	daemon_init(&d, dir);
	if (daemon_start(&d, &c) < 0)
		goto fail;
	for (size_t k = 0; k < 2; k++) {
		struct spec s = { .engine = "builtin:noop", .data = BIG_RANGE,
		                  .ckpt_every = kinds[k].every };
		double ns = hosted_ns(&c, &s);
		if (ns < 0 || floor_ns < 0) {
			add_error(kinds[k].what, "<= 5% slower");
			continue;
		}
		double slow = (ns / floor_ns - 1) * 100;
		add_row(kinds[k].what, FMT(fig, "%.1f ns/it", ns),
		        FMT(flo, "unhosted %.1f ns/it", floor_ns),
		        FMT(rat, "%+.0f%%", slow), "<= 5% slower", slow <= 5);
	}
	client_close(&c);
	daemon_stop(&d);
	return;
fail:
	add_error("hosted noop", "<= 5% slower");
}

/* ---- b. control latency under load --------------------------------------- */

/* One client thread: method ("ping" or "status" of run id) in a loop. */
struct loader {
	pthread_t th;
	const char *sock;
	const char *method;
	int64_t id;             /* -1: no params */
	pthread_barrier_t *go;
	struct lat lat;         /* owned; freed by the part */
	int failed;
};

static void *loader_main(void *arg)
{
	struct loader *l = arg;
	struct client c;
	ig_msg reply;
	int ok = client_ready(&c, l->sock);

	pthread_barrier_wait(l->go);
	if (ok == -1) {
		l->failed = 1;
		return NULL;
	}
	double end = now() + LOAD_SECONDS;
	for (double t = now(); t < end;) {
		int r = client_simple(&c, l->method, l->id, &reply);
		double t1 = now();
		if (r != 0 || lat_push(&l->lat, t1 - t) == -1) {
			warnx("%s: %s", l->method, r ? c.err : "out of memory");
			l->failed = 1;
			break;
		}
		t = t1;
	}
	client_close(&c);
	return NULL;
}

/* Run NCLIENTS loaders; merged sorted latencies into *all, requests/s
 * into *rps.  -1 on failure. */
static int load(const char *sock, const char *method, const int64_t *ids,
                size_t nids, struct lat *all, double *rps)
{
	struct loader ls[NCLIENTS];
	pthread_barrier_t go;
	size_t started = 0;
	int failed = 0;

	memset(ls, 0, sizeof ls);
	memset(all, 0, sizeof *all);
	pthread_barrier_init(&go, NULL, NCLIENTS + 1);
	for (size_t i = 0; i < NCLIENTS; i++) {
		ls[i] = (struct loader){ .sock = sock, .method = method,
		                         .id = ids ? ids[i % nids] : -1, .go = &go };
		if (pthread_create(&ls[i].th, NULL, loader_main, &ls[i]) != 0)
			break;
		started++;
	}
	if (started < NCLIENTS) {
		/* the barrier cannot be met: nothing started waits past abort */
		warnx("pthread_create failed");
		abort();
	}
	pthread_barrier_wait(&go);
	double t0 = now();
	for (size_t i = 0; i < NCLIENTS; i++) {
		pthread_join(ls[i].th, NULL);
		failed |= ls[i].failed;
	}
	double t = now() - t0;
	pthread_barrier_destroy(&go);
	for (size_t i = 0; i < NCLIENTS; i++) {
		for (size_t j = 0; j < ls[i].lat.n && !failed; j++)
			if (lat_push(all, ls[i].lat.v[j] / 1e9) == -1)
				failed = 1;
		free(ls[i].lat.v);
	}
	qsort(all->v, all->n, sizeof all->v[0], cmp_u32);
	*rps = (double)all->n / t;
	return failed ? -1 : 0;
}

/* The floor: a round trip of 16 bytes between two processes over a Unix
 * socketpair, rt round trips; latencies sorted into *l. */
static int raw_pingpong(size_t rt, struct lat *l, double *rps)
{
	int sv[2];
	char b[16] = { 0 };

	memset(l, 0, sizeof *l);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]), close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		while (read(sv[1], b, sizeof b) == (ssize_t)sizeof b &&
		       write(sv[1], b, sizeof b) == (ssize_t)sizeof b)
			;
		_exit(0);
	}
	child_add(pid);
	close(sv[1]);
	int rc = 0;
	double t0 = now();
	for (size_t i = 0; i < rt && rc == 0; i++) {
		double t = now();
		if (write(sv[0], b, sizeof b) != (ssize_t)sizeof b ||
		    read(sv[0], b, sizeof b) != (ssize_t)sizeof b ||
		    lat_push(l, now() - t) == -1)
			rc = -1;
	}
	*rps = (double)rt / (now() - t0);
	close(sv[0]);           /* the echo sees EOF and exits */
	if (reap_within(pid, 5) == -1)
		child_stop(pid, 1);
	qsort(l->v, l->n, sizeof l->v[0], cmp_u32);
	return rc;
}

static void part_latency(void)
{
	static const size_t engines[] = { 0, 1, 16, 64, 256 };
	static const char *const methods[] = { "ping", "status" };
	struct lat raw, all;
	struct daemon d;
	struct client c;
	char dir[PATH_MAX], what[48], fig[48], flo[40], rat[16];
	double raw_rps, rps;
	int64_t ids[256];

	if (raw_pingpong(200000, &raw, &raw_rps) == -1) {
		warnx("raw ping-pong failed");
		free(raw.v);
		add_error("raw ping-pong", "-");
		return;
	}
	double raw_p99 = lat_pct(&raw, 0.99);
	add_row("raw socket ping-pong, 1 pair", FMT(fig, "%.1f/%.1f/%.1f us",
	        lat_pct(&raw, 0.5), raw_p99, lat_pct(&raw, 0.999)),
	        FMT(flo, "%.0fk round trips/s", raw_rps / 1e3), "-", "(floor)", INFO);
	free(raw.v);

	if (subdir(dir, sizeof dir, "latency") == -1)
		goto fail;
	daemon_init(&d, dir);
	if (daemon_start(&d, &c) < 0)
		goto fail;
	size_t running = 0;
	for (size_t e = 0; e < sizeof engines / sizeof engines[0]; e++) {
		struct spec s = { .engine = "builtin:noop", .data = BIG_RANGE };
		for (; running < engines[e]; running++)
			if ((ids[running] = run_start(&c, &s)) < 0)
				goto stop;
		if (running > 0)
			sleep_s(0.2);
		for (size_t m = 0; m < (running ? 2u : 1u); m++) {
			FMT(what, "%s, %zu engines, 16 clients", methods[m], engines[e]);
			if (load(d.sock, methods[m], m ? ids : NULL, running, &all, &rps) == -1) {
				add_error(what, "p99 < 1 ms");
				free(all.v);
				continue;
			}
			double p99 = lat_pct(&all, 0.99);
			FMT(fig, "%.0f/%.0f/%.0f us", lat_pct(&all, 0.5), p99,
			    lat_pct(&all, 0.999));
			add_row(what, fig, FMT(flo, "raw p99 %.1f us", raw_p99),
			        FMT(rat, "%.0fx", p99 / raw_p99), "p99 < 1 ms",
			        engines[e] != 64 ? INFO : p99 < 1000 ? PASS : SHORT);
			FMT(what, "  %s req/s, %zu engines", methods[m], engines[e]);
			add_row(what, FMT(fig, "%.0f req/s", rps),
			        FMT(flo, "raw %.0f rt/s", raw_rps),
			        FMT(rat, "%.2f", rps / raw_rps), ">= 50k req/s",
			        engines[e] != 64 ? INFO : rps >= 50000 ? PASS : SHORT);
			free(all.v);
		}
	}
stop:
	for (size_t i = 0; i < running; i++)
		run_terminate(&c, ids[i]);
	client_close(&c);
	daemon_stop(&d);
	return;
fail:
	add_error("control latency", "p99 < 1 ms");
}

/* ---- c. restart with stored runs ---------------------------------------- */

/* Median seconds from fork to first ping of `times` starts on d's db. */
static double restart_median(struct daemon *d, int times, long expect_live)
{
	double t[RESTARTS];
	struct client c;

	for (int i = 0; i < times; i++) {
		if ((t[i] = daemon_start(d, &c)) < 0)
			return -1;
		long live = expect_live >= 0 && i == 0 ? runs_live(&c) : expect_live;
		client_close(&c);
		if (daemon_stop(d) == -1)
			return -1;
		if (live != expect_live) {
			warnx("after restart %ld runs are live, expected %ld", live, expect_live);
			return -1;
		}
	}
	return median(t, (size_t)times);
}

static void part_restart(void)
{
	static const char *const target = "< 200 ms";
	struct daemon d, empty;
	struct client c;
	char dir[PATH_MAX], fig[48], flo[40], rat[16];

	if (subdir(dir, sizeof dir, "restart") == -1)
		goto fail;
	daemon_init(&d, dir);
	if (daemon_start(&d, &c) < 0)
		goto fail;
	struct spec done = { .engine = "builtin:noop", .data = "range:10" };
	struct spec live = { .engine = "builtin:sleep", .data = "range:1000000",
	                     .param = "ms", .param_value = 50 };
	int ok = 1;
	for (int i = 0; i < STORED_DONE && ok; i++)
		ok = run_start(&c, &done) > 0;
	for (double end = now() + 30; ok;) {
		long n = runs_live(&c);
		if (n == 0)
			break;
		if (n < 0 || now() > end) {
			warnx("short runs did not finish");
			ok = 0;
		}
		sleep_s(0.05);
	}
	for (int i = 0; i < STORED_LIVE && ok; i++)
		ok = run_start(&c, &live) > 0;
	client_close(&c);
	if (daemon_stop(&d) == -1 || !ok)
		goto fail;

	double t = restart_median(&d, RESTARTS, STORED_LIVE);
	if (subdir(dir, sizeof dir, "restart-empty") == -1)
		goto fail;
	daemon_init(&empty, dir);
	double t0 = restart_median(&empty, 3, 0);
	if (t < 0 || t0 < 0)
		goto fail;
	add_row("restart, 1000 runs (100 live)", FMT(fig, "%.1f ms", t * 1e3),
	        FMT(flo, "empty db %.1f ms", t0 * 1e3), FMT(rat, "%.1fx", t / t0),
	        target, t < 0.2);
	return;
fail:
	add_error("restart, 1000 runs (100 live)", target);
}

/* ---- d. memory ----------------------------------------------------------- */

static void part_memory(void)
{
	struct daemon d;
	struct client c;
	char dir[PATH_MAX], fig[48], flo[40], rat[16];
	int64_t ids[64];
	size_t n = 0;

	if (subdir(dir, sizeof dir, "memory") == -1)
		goto fail;
	daemon_init(&d, dir);
	if (daemon_start(&d, &c) < 0)
		goto fail;
	sleep_s(0.1);
	long idle = rss_kib(d.pid);
	add_row("RSS idle, empty db", FMT(fig, "%ld KiB", idle), "-", "-",
	        "< 8 MiB", idle >= 0 && idle < 8192);

	struct spec s = { .engine = "builtin:noop", .data = BIG_RANGE,
	                  .ckpt_every = 1000 };
	for (; n < 64; n++)
		if ((ids[n] = run_start(&c, &s)) < 0)
			goto stop;
	sleep_s(0.5);
	long rss64 = rss_kib(d.pid);
	double per = (double)(rss64 - idle) / 64;
	add_row("RSS per hosted engine (64)", FMT(fig, "%.1f KiB", per),
	        FMT(flo, "%ld KiB with 64", rss64), "-", "< 64 KiB", per < 64);
	for (; n > 0; n--)
		run_terminate(&c, ids[n - 1]);

	/* one run over 10M iterations: RSS at 1M and at 10M */
	int64_t id = run_start(&c, &s);
	long at[2] = { -1, -1 };
	static const int64_t marks[2] = { 1000000, 10000000 };
	double end = now() + 60;
	for (int k = 0; id > 0 && k < 2 && now() < end;) {
		ig_summary st;
		if (run_status(&c, id, &st) == -1)
			break;
		int64_t it = st.iteration;
		ig_summary_clear(&st);
		if (it >= marks[k])
			at[k++] = rss_kib(d.pid);
		else
			sleep_s(0.005);
	}
	if (id > 0)
		run_terminate(&c, id);
	if (at[1] < 0) {
		add_error("RSS over 10M iterations", "flat");
	} else {
		long grow = at[1] - at[0];
		add_row("RSS over 10M iterations", FMT(fig, "%ld KiB at 10M", at[1]),
		        FMT(flo, "%ld KiB at 1M", at[0]), FMT(rat, "%+ld KiB", grow),
		        "flat (< +256 KiB)", grow < 256);
	}
stop:
	for (; n > 0; n--)
		run_terminate(&c, ids[n - 1]);
	client_close(&c);
	daemon_stop(&d);
	return;
fail:
	add_error("RSS", "< 8 MiB, < 64 KiB/engine");
}

/* ---- e. metric history read ---------------------------------------------- */

/* Write a CSV of HISTORY_ROWS rows a,b,y (two separable classes). */
static int write_csv(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs("a,b,y\n", f);
	unsigned x = 12345;
	for (int i = 0; i < HISTORY_ROWS; i++) {
		x = x * 1103515245u + 12345u;
		double a = (double)(x >> 16 & 0x7fff) / 32768.0 - 0.5;
		x = x * 1103515245u + 12345u;
		double b = (double)(x >> 16 & 0x7fff) / 32768.0 - 0.5;
		fprintf(f, "%.6f,%.6f,%d\n", a, b, a + b > 0);
	}
	return fclose(f) == 0 ? 0 : -1;
}

/*
 * Read run id's history up to iteration `to` (all when < 0), following
 * next: the seconds it took, with *points and *frames counted and the
 * seconds spent unpacking the series in *decode; -1.
 */
static double history_read(struct client *c, int64_t id, int64_t to,
                           size_t *points, size_t *frames, double *decode)
{
	int64_t from = 0;
	double t0 = now();

	*points = *frames = 0;
	*decode = 0;
	for (;;) {
		ig_msg reply;
		ig_err e = { 0 };
		ig_series *s;
		size_t n;
		msgpack_packer *pk = client_begin(c, "metrics");

		msgpack_pack_map(pk, 2 + (to >= 0));
		pack_kv_int(pk, "id", id);
		pack_kv_int(pk, "from", from);
		if (to >= 0)
			pack_kv_int(pk, "to", to);
		if (client_call(c, &reply) != 0) {
			warnx("metrics: %s", c->err);
			return -1;
		}
		const msgpack_object *next = ig_map_get(reply.result, "next");
		double td = now();
		if (ig_series_unpack(ig_map_get(reply.result, "series"), &s, &n, &e) != 0) {
			warnx("metrics: %s", e.message);
			return -1;
		}
		*decode += now() - td;
		for (size_t i = 0; i < n; i++)
			*points += s[i].n;
		ig_series_free(s, n);
		++*frames;
		if (next == NULL || next->type == MSGPACK_OBJECT_NIL)
			return now() - t0;
		if (next->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    (int64_t)next->via.u64 <= from) {
			warnx("metrics: next does not advance");
			return -1;
		}
		from = (int64_t)next->via.u64;
	}
}

static void part_history(void)
{
	static const char *const target = "< 250 ms";
	struct daemon d;
	struct client c;
	char dir[PATH_MAX], csv[PATH_MAX + 16], fig[48], flo[40], rat[16];
	size_t points = 0, frames = 0, small_points = 0;
	double big[3], small[5], dec = 0;

	if (subdir(dir, sizeof dir, "history") == -1)
		goto fail;
	fmt(csv, sizeof csv, "%s/data.csv", dir);
	if (write_csv(csv) == -1) {
		warnx("cannot write %s", csv);
		goto fail;
	}
	daemon_init(&d, dir);
	if (daemon_start(&d, &c) < 0)
		goto fail;
	struct spec s = { .engine = "builtin:softmax", .csv = csv,
	                  .max_epochs = HISTORY_POINTS / HISTORY_ROWS,
	                  .param = "classes", .param_value = 2,
	                  .loss_metric = true };
	int64_t id = run_start(&c, &s);
	double t0 = now();
	int st = id > 0 ? run_wait_end(&c, id, 90) : -1;
	double gen = now() - t0;
	int ok = st == IG_STATUS_COMPLETED;
	if (st >= 0 && !ok)
		warnx("history run ended %s", ig_status_name(st));
	for (size_t i = 0; i < 5 && ok; i++)
		ok = (small[i] = history_read(&c, id, 10000, &small_points, &frames, &dec)) >= 0;
	for (size_t i = 0; i < 3 && ok; i++)
		ok = (big[i] = history_read(&c, id, -1, &points, &frames, &dec)) >= 0;
	/* growth: ten times the points, read once */
	size_t huge_points = 0, huge_frames = 0;
	double huge = -1, huge_dec = 0;
	s.max_epochs *= 10;
	int64_t id10 = ok ? run_start(&c, &s) : -1;
	if (id10 > 0 && run_wait_end(&c, id10, 300) == IG_STATUS_COMPLETED)
		huge = history_read(&c, id10, -1, &huge_points, &huge_frames, &huge_dec);
	client_close(&c);
	daemon_stop(&d);
	if (!ok)
		goto fail;
	if (points != HISTORY_POINTS || small_points != 10000)
		warnx("history holds %zu points (10k read: %zu); expected %d and 10000",
		      points, small_points, HISTORY_POINTS);
	double tb = median(big, 3), ts = median(small, 5);
	add_row("history read, 1M points", FMT(fig, "%.0f ms, %zu frames", tb * 1e3, frames),
	        FMT(flo, "10k pts %.2f ms", ts * 1e3),
	        FMT(rat, "%.2fx lin", tb / (ts * (double)points / 1e4)), target, tb < 0.25);
	add_row("  history read rate", FMT(fig, "%.2f M points/s", (double)points / tb / 1e6),
	        FMT(flo, "client unpack %.0f ms", dec * 1e3), "-", "-", INFO);
	add_row("  (run producing them)", FMT(fig, "%.2f s, %.0fk pts/s", gen,
	        (double)points / gen / 1e3), "-", "-", "-", INFO);
	if (huge < 0 || huge_points != 10 * (size_t)HISTORY_POINTS)
		add_error("history read, 10M points", "linear");
	else
		add_row("history read, 10M points", FMT(fig, "%.0f ms, %zu frames", huge * 1e3,
		        huge_frames), FMT(flo, "1M pts %.0f ms", tb * 1e3),
		        FMT(rat, "%.2fx lin", huge / (tb * 10)), "linear", INFO);
	return;
fail:
	add_error("history read, 1M points", target);
}

/* ---- main ---------------------------------------------------------------- */

static int find_ignited(const char *arg)
{
	char self[PATH_MAX];
	ssize_t n;

	if (arg != NULL) {
		fmt(ignited_path, sizeof ignited_path, "%s", arg);
	} else if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		*slash = '\0';
		fmt(ignited_path, sizeof ignited_path, "%s/../daemon/ignited", self);
	}
	if (access(ignited_path, X_OK) == -1) {
		warnx("no ignited at %s; give its path as the first argument",
		      ignited_path[0] ? ignited_path : "(unknown)");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static void (*const parts[])(void) = {
		part_hosted, part_latency, part_restart, part_memory, part_history,
	};

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: daemon_bench [PATH-TO-IGNITED]\n");
		return 2;
	}
	if (find_ignited(argc == 2 ? argv[1] : NULL) == -1)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fmt(tmp_root, sizeof tmp_root, "/tmp/ignite-bench.XXXXXX");
	if (mkdtemp(tmp_root) == NULL) {
		warnx("mkdtemp: %s", strerror(errno));
		return 1;
	}
	atexit(cleanup);
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		parts[i]();
		children_stop_all();    /* whatever a failed part left behind */
	}
	print_table();
	for (size_t i = 0; i < nrows; i++)
		if (strcmp(rows[i].verdict, "error") == 0)
			return 1;
	return 0;
}
