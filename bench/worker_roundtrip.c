/*
 * worker_roundtrip - the per-iteration round trip of a noop exec worker
 * through the real ignited, against a raw Unix-socket ping-pong between two
 * processes measured in the same run (DESIGN.md's "Targets": the C worker
 * at most 1.5 times the raw figure).
 *
 *   - floor: socketpair + fork; the parent writes a frame (4-byte length and
 *     a payload as long as the daemon's process request), the child reads
 *     it and writes it back.  Microseconds per round trip.
 *   - the C worker (examples/workers/c_echo_worker) and a Python worker
 *     (python/ignite_worker serving a process that returns {}), each run
 *     by ignited on {engine: [...], data: "range:N", max_epochs: 1}.  The
 *     run's status is polled; the figure is the time between the polls
 *     that saw iterations N/10 and 9N/10, over the iterations in between,
 *     so the worker's start-up and the final checkpoint stay out of it.
 *
 * Each figure is the median of RUNS runs, the three kinds taking turns.
 * Usage:
 *   worker_roundtrip [IGNITED [C_WORKER]]
 * by default the ignited and c_echo_worker built next to this program
 * (../daemon/ignited, ../examples/c_echo_worker).
 *
 * Processes: the daemon and the ping-pong echo child are recorded in
 * `children`, stopped (SIGTERM, then SIGKILL) and reaped when their part
 * ends, at exit and on SIGINT/SIGTERM; the daemon reaps its workers.  The
 * daemon's socket, database and log live in one mkdtemp directory,
 * removed at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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

#include "ignite/protocol.h"

#define RUNS 3                  /* per figure; the median is printed */
#define PINGPONG_N 30000        /* round trips per floor run */
#define C_WORKER_N 30000        /* iterations per C worker run */
#define PY_WORKER_N 10000       /* iterations per Python worker run */
#define POLL_S 0.005            /* status polling period */
#define RUN_TIMEOUT_S 30.0
#define TARGET_RATIO 1.5
#define PYTHON "/usr/bin/python3"
#define PY_NOOP "from ignite_worker import serve; serve(lambda engine, batch: {})"

/* ---- time, messages ------------------------------------------------------ */

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
	fputs("worker_roundtrip: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of n figures, or -1 when any of them is -1 (failed). */
static double median(double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0)
			return -1;
	qsort(v, n, sizeof v[0], cmp_double);
	return v[n / 2];
}

/* ---- children and the temp dir -------------------------------------------- */

static pid_t children[2];       /* the daemon, the ping-pong echo */
static char tmp_dir[PATH_MAX];

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

static void child_forget(pid_t pid)
{
	for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
		if (children[i] == pid)
			children[i] = 0;
}

/* SIGTERM, SIGKILL after timeout seconds, reaped either way; the wait
 * status. */
static int child_stop(pid_t pid, double timeout)
{
	double end = now() + timeout;
	int st = 0;
	pid_t r;

	kill(pid, SIGTERM);
	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && now() < end)
		sleep_s(0.002);
	if (r == 0) {
		warnx("pid %d ignored SIGTERM for %.0f s; SIGKILL", (int)pid, timeout);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	child_forget(pid);
	return st;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void cleanup(void)
{
	for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
		if (children[i] != 0)
			child_stop(children[i], 10);
	if (tmp_dir[0] != '\0')
		nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmp_dir[0] = '\0';
}

/* SIGINT/SIGTERM: kill and reap the children (async-signal-safe calls
 * only) and leave; the temp dir stays behind then. */
static void on_signal(int sig)
{
	for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
		if (children[i] != 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
		}
	_exit(128 + sig);
}

/* ---- blocking I/O ---------------------------------------------------------- */

static int read_exact(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- the floor: raw ping-pong ----------------------------------------------- */

/* Bytes of the frame the daemon sends per iteration of a range run
 * (docs/PROTOCOL.md, "process"), length prefix included. */
static size_t process_frame_size(void)
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

/* The child: echo each frame (length, then body) until EOF. */
static void echo_main(int fd)
{
	unsigned char buf[4096];

	for (;;) {
		uint32_t n;

		if (read_exact(fd, buf, IG_FRAME_HEADER) != 0)
			_exit(0);
		n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
		    (uint32_t)buf[2] << 8 | buf[3];
		if (n > sizeof buf - IG_FRAME_HEADER ||
		    read_exact(fd, buf + IG_FRAME_HEADER, n) != 0 ||
		    write_all(fd, buf, IG_FRAME_HEADER + n) != 0)
			_exit(1);
	}
}

/* Microseconds per round trip of a frame of size bytes over n round trips
 * (after n / 10 to warm up), or -1. */
static double pingpong_us(size_t size, long n)
{
	unsigned char out[4096] = { 0 }, in[4096];
	uint32_t body = (uint32_t)(size - IG_FRAME_HEADER);
	int sv[2], st;
	double t0 = 0, us = -1;
	pid_t pid;
	long i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		warnx("socketpair: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		warnx("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		echo_main(sv[1]);
	}
	child_add(pid);
	close(sv[1]);
	out[0] = (unsigned char)(body >> 24);
	out[1] = (unsigned char)(body >> 16);
	out[2] = (unsigned char)(body >> 8);
	out[3] = (unsigned char)body;
	for (i = -n / 10; i < n; i++) {
		if (i == 0)
			t0 = now();
		if (write_all(sv[0], out, size) != 0 || read_exact(sv[0], in, size) != 0) {
			warnx("ping-pong: the echo process went away (%s)", strerror(errno));
			break;
		}
	}
	if (i == n)
		us = (now() - t0) * 1e6 / (double)n;
	close(sv[0]);           /* EOF: the echo exits */
	waitpid(pid, &st, 0);
	child_forget(pid);
	return us;
}

/* ---- a protocol client ------------------------------------------------------ */

/*
 * One blocking connection to the daemon.  client_call() sends the request
 * begun with client_begin() and waits for its response, which points into
 * the client until the next call.  The client owns its socket, decoder and
 * buffers: client_close().
 */
struct client {
	int fd;
	ig_decoder *dec;
	msgpack_sbuffer sb;
	ig_frame f;
	uint32_t msgid;
	char buf[64 * 1024];    /* [off, len) not fed to the decoder yet */
	size_t off, len;
};

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ig_decoder_free(c->dec);
	c->dec = NULL;
	msgpack_sbuffer_destroy(&c->sb);
}

/* Connect; -1 with errno set when the socket is not up (yet). */
static int client_open(struct client *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int e;

	c->off = c->len = 0;
	c->msgid = 0;
	msgpack_sbuffer_init(&c->sb);
	c->dec = ig_decoder_new(0);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (strlen(path) >= sizeof sa.sun_path) {
		client_close(c);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (c->dec != NULL && c->fd >= 0 &&
	    connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return 0;
	e = c->dec == NULL ? ENOMEM : errno;
	client_close(c);
	errno = e;
	return -1;
}

static msgpack_packer *client_begin(struct client *c, const char *method)
{
	msgpack_sbuffer_clear(&c->sb);
	ig_frame_request(&c->f, &c->sb, ++c->msgid, method);
	return &c->f.pk;
}

/* 0 with reply->result set, or -1 with a message on stderr. */
static int client_call(struct client *c, const char *method, ig_msg *reply)
{
	ig_err e = { 0 };

	if (ig_frame_end(&c->f, &e) != 0) {
		warnx("%s: cannot encode: %s", method, e.message);
		return -1;
	}
	if (write_all(c->fd, c->sb.data, c->sb.size) != 0) {
		warnx("%s: cannot write to the daemon: %s", method, strerror(errno));
		return -1;
	}
	for (;;) {
		while (c->off < c->len) {
			size_t used;
			int r = ig_decoder_feed(c->dec, c->buf + c->off, c->len - c->off,
			                        &used, reply);

			c->off += used;
			if (r == IG_DECODE_ERROR) {
				warnx("%s: bad reply: %s", method, ig_decoder_error(c->dec)->message);
				return -1;
			}
			if (r != IG_DECODE_MESSAGE || reply->type != IG_MSG_RESPONSE ||
			    reply->msgid != c->msgid)
				continue;       /* a notification */
			if (reply->error_code == 0)
				return 0;
			warnx("%s: %s: %s", method, ig_proto_code_name(reply->error_code),
			      reply->error_message != NULL ? reply->error_message : "");
			return -1;
		}
		ssize_t n = read(c->fd, c->buf, sizeof c->buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			warnx("%s: %s", method, n == 0 ? "the daemon closed the connection"
			                               : strerror(errno));
			return -1;
		}
		c->off = 0;
		c->len = (size_t)n;
	}
}

static int client_hello(struct client *c)
{
	ig_msg reply;
	msgpack_packer *pk = client_begin(c, "hello");

	msgpack_pack_map(pk, 1);
	ig_pack_str(pk, "versions");
	msgpack_pack_array(pk, 1);
	msgpack_pack_int(pk, IG_PROTO_VERSION);
	return client_call(c, "hello", &reply);
}

/* status {id} into *s (cleared by the caller); -1 on failure. */
static int run_status(struct client *c, int64_t id, ig_summary *s)
{
	msgpack_packer *pk = client_begin(c, "status");
	ig_err e = { 0 };
	ig_msg reply;

	msgpack_pack_map(pk, 1);
	ig_pack_str(pk, "id");
	msgpack_pack_int64(pk, id);
	if (client_call(c, "status", &reply) != 0)
		return -1;
	if (ig_summary_unpack(reply.result, s, &e) != 0) {
		warnx("status: %s", e.message);
		return -1;
	}
	return 0;
}

/* ---- the daemon ------------------------------------------------------------- */

/* Start ignited on dir (socket, database, log) and connect c to it; the
 * daemon's pid, or -1 with a message on stderr. */
static pid_t daemon_start(const char *ignited, const char *dir, struct client *c)
{
	char sock[PATH_MAX], db[PATH_MAX], log[PATH_MAX];
	double end = now() + 20;
	pid_t pid;

	if (snprintf(sock, sizeof sock, "%s/s.sock", dir) >= (int)sizeof sock ||
	    snprintf(db, sizeof db, "%s/db.sqlite", dir) >= (int)sizeof db ||
	    snprintf(log, sizeof log, "%s/ignited.log", dir) >= (int)sizeof log) {
		warnx("%s: path too long for the daemon's files", dir);
		return -1;
	}
	if ((pid = fork()) == -1) {
		warnx("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(ignited, ignited, "--socket", sock, "--db", db, "--log-level", "warn",
		      (char *)NULL);
		_exit(127);
	}
	child_add(pid);
	while (client_open(c, sock) != 0) {
		if (waitpid(pid, NULL, WNOHANG) != 0 || now() > end) {
			warnx("%s did not come up; its log: %s", ignited, log);
			child_stop(pid, 5);
			return -1;
		}
		sleep_s(0.002);
	}
	if (client_hello(c) != 0) {
		client_close(c);
		child_stop(pid, 10);
		return -1;
	}
	return pid;
}

/* ---- a worker's round trip ------------------------------------------------- */

struct worker_kind {
	const char *what;
	const char *const *argv;        /* NULL-terminated */
	const char *pythonpath;         /* worker.env PYTHONPATH, or NULL */
	long n;                         /* iterations */
};

static int64_t run_start(struct client *c, const struct worker_kind *k)
{
	msgpack_packer *pk = client_begin(c, "run");
	const msgpack_object *id;
	char data[32];
	ig_msg reply;
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
	if (client_call(c, "run", &reply) != 0)
		return -1;
	id = ig_map_get(reply.result, "id");
	if (id == NULL || id->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		warnx("run: no id in the reply");
		return -1;
	}
	return (int64_t)id->via.u64;
}

/*
 * One run of k: microseconds per iteration between the polls that first
 * saw iteration >= n/10 and >= 9n/10, or -1.  Waits for the run to
 * complete; a run that fails or stalls is an error.
 */
static double worker_us(struct client *c, const struct worker_kind *k)
{
	int64_t id = run_start(c, k), lo = k->n / 10, hi = k->n - k->n / 10;
	int64_t it_a = -1, it_b = -1;
	double t_a = 0, t_b = 0, end = now() + RUN_TIMEOUT_S;

	if (id < 0)
		return -1;
	for (;;) {
		ig_summary s;
		double t;

		if (run_status(c, id, &s) != 0)
			return -1;
		t = now();
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
				warnx("%s: run %lld %s: %s", k->what, (long long)id,
				      t > end ? "timed out" : ig_status_name(s.status),
				      s.reason != NULL ? s.reason : "(no reason)");
			ig_summary_clear(&s);
			if (!ok)
				return -1;
			break;
		}
		ig_summary_clear(&s);
		sleep_s(POLL_S);
	}
	if (it_a < 0 || it_b <= it_a) {
		warnx("%s: the run went by too fast to time; raise its iterations", k->what);
		return -1;
	}
	return (t_b - t_a) * 1e6 / (double)(it_b - it_a);
}

/* ---- main -------------------------------------------------------------------- */

/* dir/rel into out for a path next to this program's directory. */
static int beside_me(char *out, size_t len, const char *rel)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return -1;
	*slash = '\0';
	return snprintf(out, len, "%s/%s", self, rel) < (int)len ? 0 : -1;
}

static void print_row(const char *what, const char *figure, const char *ref,
                      const char *ratio, const char *target, const char *verdict)
{
	printf("%-30s %-16s %-22s %-7s %-16s %s\n", what, figure, ref, ratio, target,
	       verdict);
}

int main(int argc, char **argv)
{
	char ignited[PATH_MAX], c_worker[PATH_MAX], ref[40], fig[40], ratio[16];
	const char *c_argv[] = { c_worker, NULL };
	const char *py_argv[] = { PYTHON, "-c", PY_NOOP, NULL };
	struct worker_kind kinds[] = {
		{ "C worker (c_echo_worker)", c_argv, NULL, C_WORKER_N },
		{ "Python worker (ignite_worker)", py_argv, IGNITE_SOURCE_DIR "/python",
		  PY_WORKER_N },
	};
#define NKINDS (sizeof kinds / sizeof kinds[0])
	double raw[RUNS], runs[NKINDS][RUNS], fig_us[NKINDS], raw_us;
	size_t frame = process_frame_size();
	struct client c;
	int status = 0;
	pid_t daemon;

	if (argc > 3 || (argc > 1 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: worker_roundtrip [IGNITED [C_WORKER]]\n");
		return 2;
	}
	if ((argc > 1 ? snprintf(ignited, sizeof ignited, "%s", argv[1]) < 0
	              : beside_me(ignited, sizeof ignited, "../daemon/ignited") != 0) ||
	    (argc > 2 ? snprintf(c_worker, sizeof c_worker, "%s", argv[2]) < 0
	              : beside_me(c_worker, sizeof c_worker,
	                          "../examples/c_echo_worker") != 0)) {
		warnx("cannot tell where ignited and c_echo_worker are; name them");
		return 2;
	}
	if (access(ignited, X_OK) != 0 || access(c_worker, X_OK) != 0) {
		warnx("%s: %s", access(ignited, X_OK) != 0 ? ignited : c_worker,
		      strerror(errno));
		return 2;
	}
	snprintf(tmp_dir, sizeof tmp_dir, "%s/ignite-wrt-XXXXXX",
	         getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmp_dir) == NULL) {
		warnx("mkdtemp %s: %s", tmp_dir, strerror(errno));
		return 1;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	if ((daemon = daemon_start(ignited, tmp_dir, &c)) == -1)
		return 1;
	/* interleaved, so that a slower spell of the machine hits all alike */
	for (int r = 0; r < RUNS; r++) {
		raw[r] = pingpong_us(frame, PINGPONG_N);
		for (size_t k = 0; k < NKINDS; k++)
			runs[k][r] = worker_us(&c, &kinds[k]);
	}
	raw_us = median(raw, RUNS);
	for (size_t k = 0; k < NKINDS; k++)
		fig_us[k] = median(runs[k], RUNS);
	client_close(&c);
	if (!WIFEXITED(child_stop(daemon, 20)))
		warnx("ignited did not exit by itself on SIGTERM");

	print_row("what", "figure", "floor", "ratio", "target", "verdict");
	snprintf(fig, sizeof fig, "%.1f us/rt", raw_us);
	snprintf(ref, sizeof ref, "%zu-byte frames", frame);
	if (raw_us < 0) {
		print_row("raw socket ping-pong", "error", ref, "-", "(floor)", "error");
		return 1;
	}
	print_row("raw socket ping-pong", fig, ref, "-", "(floor)", "-");
	snprintf(ref, sizeof ref, "raw %.1f us/rt", raw_us);
	for (size_t k = 0; k < NKINDS; k++) {
		bool judged = k == 0;
		const char *target = judged ? "<= 1.5x raw" : "(reference)";

		if (fig_us[k] < 0) {
			print_row(kinds[k].what, "error", ref, "-", target, "error");
			status = 1;
			continue;
		}
		snprintf(fig, sizeof fig, "%.1f us/it", fig_us[k]);
		snprintf(ratio, sizeof ratio, "%.2fx", fig_us[k] / raw_us);
		print_row(kinds[k].what, fig, ref, ratio, target,
		          !judged ? "-" : fig_us[k] <= TARGET_RATIO * raw_us ? "pass" : "short");
	}
	return status;
}
