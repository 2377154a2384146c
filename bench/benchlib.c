/*
 * benchlib.c - the helpers every program in bench/ shares (benchlib.h).
 *
 * Processes: every child (daemons, the ping-pong echo) is recorded in
 * `children` until it is reaped.  At exit whatever is left is sent
 * SIGTERM, then SIGKILL, and reaped, and the temp directory is removed;
 * on SIGINT/SIGTERM the children are killed and the directory stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

static const char *progname = "bench";
static int rows_only; /* --rows: tab-separated, no header */
static int rows_failed; /* a row was BENCH_ERROR */
static pid_t children[16];
static char tmp_root[PATH_MAX];

/* ---- messages, time ------------------------------------------------------ */

void
bench_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

const char *
bench_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void
bench_sleep(double s)
{
	struct timespec ts = { (time_t)s,
		(long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
bench_median(double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0)
			return -1;
	qsort(v, n, sizeof v[0], cmp_double);
	return v[n / 2];
}

/* ---- rows ---------------------------------------------------------------- */

enum bench_verdict
bench_judge(int ok)
{
	return ok ? BENCH_PASS : BENCH_SHORT;
}

static void
print_line(const char *what, const char *figure, const char *floor,
    const char *ratio, const char *target, const char *verdict)
{
	if (rows_only)
		printf("%s\t%s\t%s\t%s\t%s\t%s\n", what, figure, floor, ratio,
		    target, verdict);
	else /* alone, a program aligns what it can; bench.sh aligns all */
		printf("%-34s %-30s %-26s %-10s %-22s %s\n", what, figure,
		    floor, ratio, target, verdict);
	fflush(stdout);
}

void
bench_row(const char *what, const char *figure, const char *floor,
    const char *ratio, const char *target, enum bench_verdict v)
{
	static const char *const names[] = { "-", "pass", "short", "error" };
	static int header;

	if (v == BENCH_ERROR)
		rows_failed = 1;
	if (!rows_only && !header) {
		print_line("what", "figure", "floor/reference", "ratio",
		    "target", "verdict");
		header = 1;
	}
	print_line(what, figure, floor, ratio, target, names[v]);
}

void
bench_error(const char *what, const char *target)
{
	bench_row(what, "error (see stderr)", "-", "-", target, BENCH_ERROR);
}

int
bench_status(void)
{
	return rows_failed;
}

/* ---- children ------------------------------------------------------------ */

static void
child_add(pid_t pid)
{
	for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
		if (children[i] == 0) {
			children[i] = pid;
			return;
		}
	kill(pid, SIGKILL); /* cannot track it: do not leave it behind */
	waitpid(pid, NULL, 0);
}

/* Wait up to timeout seconds for pid; its wait status, or -1 if it lives. */
static int
child_reap(pid_t pid, double timeout)
{
	double end = bench_now() + timeout;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid || (r == -1 && errno == ECHILD)) {
			for (size_t i = 0;
			     i < sizeof children / sizeof children[0]; i++)
				if (children[i] == pid)
					children[i] = 0;
			return r == pid ? st : 0;
		}
		if (bench_now() > end)
			return -1;
		bench_sleep(0.002);
	}
}

/* SIGTERM, then SIGKILL after timeout seconds; reaped either way.
 * Returns the wait status (SIGKILL shows as a signal). */
static int
child_stop(pid_t pid, double timeout)
{
	int st;

	kill(pid, SIGTERM);
	if ((st = child_reap(pid, timeout)) == -1) {
		bench_warnx("pid %d ignored SIGTERM for %.0f s; SIGKILL",
		    (int)pid, timeout);
		kill(pid, SIGKILL);
		st = child_reap(pid, 5);
	}
	return st;
}

void
bench_children_stop(void)
{
	for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
		if (children[i] != 0)
			child_stop(children[i], 10);
}

/* ---- set-up and clean-up ------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
cleanup(void)
{
	bench_children_stop();
	if (tmp_root[0] != '\0')
		nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmp_root[0] = '\0';
}

/* Async-signal-safe calls only; the temp dir stays behind. */
static void
on_signal(int sig)
{
	for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
		if (children[i] != 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
		}
	_exit(128 + sig);
}

void
bench_init(const char *prog, int *argc, char **argv)
{
	int n = 1;

	progname = prog;
	for (int i = 1; i < *argc; i++)
		if (strcmp(argv[i], "--rows") == 0)
			rows_only = 1;
		else
			argv[n++] = argv[i];
	argv[n] = NULL;
	*argc = n;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	atexit(cleanup);
}

int
bench_subdir(char *out, size_t len, const char *name)
{
	if (tmp_root[0] == '\0') {
		const char *tmp = getenv("TMPDIR");

		BENCH_FMT(
		    tmp_root, "%s/ignite-bench.XXXXXX", tmp ? tmp : "/tmp");
		if (mkdtemp(tmp_root) == NULL) {
			bench_warnx(
			    "mkdtemp %s: %s", tmp_root, strerror(errno));
			tmp_root[0] = '\0';
			return -1;
		}
	}
	if (snprintf(out, len, "%s/%s", tmp_root, name) >= (int)len) {
		bench_warnx("%s/%s: path too long", tmp_root, name);
		return -1;
	}
	if (mkdir(out, 0700) == -1) {
		bench_warnx("mkdir %s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

int
bench_program(char *out, size_t len, const char *arg, const char *rel)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (arg != NULL) {
		bench_fmt(out, len, "%s", arg);
	} else if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) >
	    0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		bench_fmt(out, len, "%s/%s", self, rel);
	} else {
		bench_warnx("cannot tell where %s is; name it", rel);
		return -1;
	}
	if (access(out, X_OK) == -1) {
		bench_warnx("%s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- blocking I/O -------------------------------------------------------- */

int
bench_write_all(int fd, const void *buf, size_t n)
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

int
bench_read_exact(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

pid_t
bench_echo_start(int *fd)
{
	char buf[4096];
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		bench_warnx("socketpair: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		bench_warnx("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		ssize_t n;

		/* the parent's handler would kill the parent's other children */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(sv[0]);
		while ((n = read(sv[1], buf, sizeof buf)) > 0 &&
		    bench_write_all(sv[1], buf, (size_t)n) == 0)
			;
		_exit(0);
	}
	child_add(pid);
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

void
bench_echo_stop(pid_t pid, int fd)
{
	close(fd); /* the echo sees end of file and exits */
	if (child_reap(pid, 5) == -1)
		child_stop(pid, 1);
}

pid_t
bench_pipe_echo_start(const char *const argv[], int *wfd, int *rfd)
{
	int in[2], out[2];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) == -1) {
		bench_warnx("pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) == -1) {
		bench_warnx("pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		return -1;
	}
	if ((pid = fork()) == -1) {
		bench_warnx("fork: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		/* dup2 clears close-on-exec on 0 and 1 only */
		if (dup2(in[0], 0) == -1 || dup2(out[1], 1) == -1)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	child_add(pid);
	close(in[0]);
	close(out[1]);
	*wfd = in[1];
	*rfd = out[0];
	return pid;
}

/* ---- a client of ignited ------------------------------------------------- */

struct bench_client {
	int fd;
	ig_decoder *dec;
	msgpack_sbuffer sb;
	ig_frame f;
	uint32_t msgid;
	char *buf; /* BUF_SIZE bytes; [off, len) not fed yet */
	size_t off, len;
	char err[IG_ERR_MAX + 64];
};
#define BUF_SIZE (256u << 10)

void
bench_client_close(struct bench_client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	ig_decoder_free(c->dec);
	msgpack_sbuffer_destroy(&c->sb);
	free(c->buf);
	free(c);
}

/* Connect without retrying or a word: NULL with errno set when the socket
 * is not up (yet). */
static struct bench_client *
client_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct bench_client *c;
	int e;

	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	msgpack_sbuffer_init(&c->sb);
	c->dec = ig_decoder_new(0);
	c->buf = malloc(BUF_SIZE);
	c->fd = -1;
	if (c->dec != NULL) /* as ignitectl does (client/conn.c) */
		ig_decoder_keep(c->dec, 4u << 20);
	if (c->dec == NULL || c->buf == NULL) {
		bench_client_close(c);
		errno = ENOMEM;
		return NULL;
	}
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
	    connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return c;
	e = errno;
	bench_client_close(c);
	errno = e;
	return NULL;
}

msgpack_packer *
bench_client_begin(struct bench_client *c, const char *method)
{
	msgpack_sbuffer_clear(&c->sb);
	ig_frame_request(&c->f, &c->sb, ++c->msgid, method);
	return &c->f.pk;
}

const char *
bench_client_error(const struct bench_client *c)
{
	return c->err;
}

int
bench_client_call(struct bench_client *c, ig_msg *reply)
{
	ig_err e = { 0 };
	uint32_t want = c->msgid;

	if (ig_frame_end(&c->f, &e) != 0) {
		BENCH_FMT(c->err, "encode: %s", e.message);
		return -1;
	}
	if (bench_write_all(c->fd, c->sb.data, c->sb.size) == -1) {
		BENCH_FMT(c->err, "write: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		while (c->off < c->len) {
			size_t used;
			int r = ig_decoder_feed(c->dec, c->buf + c->off,
			    c->len - c->off, &used, reply);
			c->off += used;
			if (r == IG_DECODE_ERROR) {
				BENCH_FMT(c->err, "decode: %s",
				    ig_decoder_error(c->dec)->message);
				return -1;
			}
			if (r != IG_DECODE_MESSAGE ||
			    reply->type != IG_MSG_RESPONSE ||
			    reply->msgid != want)
				continue; /* a notification */
			if (reply->error_code == 0)
				return 0;
			BENCH_FMT(c->err, "%s: %s",
			    ig_proto_code_name(reply->error_code),
			    reply->error_message ? reply->error_message : "");
			return reply->error_code;
		}
		ssize_t n = read(c->fd, c->buf, BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			BENCH_FMT(c->err, "read: %s",
			    n == 0 ? "connection closed by the daemon" :
			             strerror(errno));
			return -1;
		}
		c->off = 0;
		c->len = (size_t)n;
	}
}

int
bench_client_simple(
    struct bench_client *c, const char *method, int64_t id, ig_msg *reply)
{
	msgpack_packer *pk = bench_client_begin(c, method);

	if (id < 0) {
		msgpack_pack_map(pk, 0);
	} else {
		msgpack_pack_map(pk, 1);
		ig_pack_str(pk, "id");
		msgpack_pack_int64(pk, id);
	}
	return bench_client_call(c, reply);
}

static int
client_hello(struct bench_client *c)
{
	msgpack_packer *pk = bench_client_begin(c, "hello");
	ig_msg reply;

	msgpack_pack_map(pk, 1);
	ig_pack_str(pk, "versions");
	msgpack_pack_array(pk, 1);
	msgpack_pack_int(pk, IG_PROTO_VERSION);
	if (bench_client_call(c, &reply) != 0) {
		bench_warnx("hello: %s", c->err);
		return -1;
	}
	return 0;
}

struct bench_client *
bench_client_open(const char *sock)
{
	struct bench_client *c = client_connect(sock);

	if (c == NULL) {
		bench_warnx("connect %s: %s", sock, strerror(errno));
		return NULL;
	}
	if (client_hello(c) == -1) {
		bench_client_close(c);
		return NULL;
	}
	return c;
}

int64_t
bench_run_start(struct bench_client *c)
{
	const msgpack_object *id;
	ig_msg reply;

	if (bench_client_call(c, &reply) != 0) {
		bench_warnx("run: %s", c->err);
		return -1;
	}
	id = ig_map_get(reply.result, "id");
	if (id == NULL || id->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		bench_warnx("run: no id in the reply");
		return -1;
	}
	return (int64_t)id->via.u64;
}

int
bench_run_status(struct bench_client *c, int64_t id, ig_summary *s)
{
	ig_msg reply;
	ig_err e = { 0 };

	if (bench_client_simple(c, "status", id, &reply) != 0) {
		bench_warnx("status %lld: %s", (long long)id, c->err);
		return -1;
	}
	if (ig_summary_unpack(reply.result, s, &e) != 0) {
		bench_warnx("status %lld: %s", (long long)id, e.message);
		return -1;
	}
	return 0;
}

/* ---- a daemon ------------------------------------------------------------ */

int
bench_daemon_init(struct bench_daemon *d, const char *ignited, const char *dir)
{
	memset(d, 0, sizeof *d);
	d->ignited = ignited;
	if (snprintf(d->sock, sizeof d->sock, "%s/s.sock", dir) >=
	        (int)sizeof d->sock ||
	    snprintf(d->db, sizeof d->db, "%s/db.sqlite", dir) >=
	        (int)sizeof d->db ||
	    snprintf(d->log, sizeof d->log, "%s/ignited.log", dir) >=
	        (int)sizeof d->log) {
		bench_warnx("%s: path too long for the daemon's files", dir);
		return -1;
	}
	return 0;
}

static int
daemon_spawn(struct bench_daemon *d)
{
	pid_t pid = fork();

	if (pid < 0) {
		bench_warnx("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(
		    d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* every engine runs at once, however many cores */
		execl(d->ignited, d->ignited, "--socket", d->sock, "--db",
		    d->db, "--log-level", "warn", "--cpus", "1024",
		    (char *)NULL);
		_exit(127);
	}
	child_add(pid);
	d->pid = pid;
	return 0;
}

double
bench_daemon_start(struct bench_daemon *d, struct bench_client **c)
{
	double t0 = bench_now();
	ig_msg reply;

	if (daemon_spawn(d) == -1)
		return -1;
	for (;;) {
		if ((*c = client_connect(d->sock)) != NULL) {
			if (client_hello(*c) == 0) {
				if (bench_client_simple(
				        *c, "ping", -1, &reply) == 0)
					return bench_now() - t0;
				bench_warnx("ping: %s", (*c)->err);
			}
			bench_client_close(*c);
			*c = NULL;
			break;
		}
		if (waitpid(d->pid, NULL, WNOHANG) != 0 ||
		    bench_now() - t0 > 20) {
			bench_warnx("%s did not come up; see its log %s",
			    d->ignited, d->log);
			break;
		}
		bench_sleep(0.0002);
	}
	child_stop(d->pid, 10);
	d->pid = 0;
	return -1;
}

int
bench_daemon_stop(struct bench_daemon *d)
{
	int st = child_stop(d->pid, 20);

	d->pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		bench_warnx(
		    "ignited did not exit cleanly on SIGTERM (wait status 0x%x); "
		    "log: %s",
		    (unsigned)st, d->log);
		return -1;
	}
	return 0;
}
