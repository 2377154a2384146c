/*
 * benchlib.h - what the programs in bench/ share: the one row format every
 * figure is printed in, timing, child processes and a temp directory that
 * are cleaned up at exit and on SIGINT/SIGTERM, and a blocking client of
 * ignited with a daemon to run it against.
 *
 * Threads: a bench_client is used by one thread at a time (distinct
 * clients by distinct threads); everything else belongs to the main
 * thread.  Functions that can fail return -1 (or NULL) after saying why
 * on stderr, unless their comment says otherwise.
 */
#ifndef BENCHLIB_H
#define BENCHLIB_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ignite/protocol.h"

/* ---- the program --------------------------------------------------------- */

/*
 * Call first in main.  prog names the program in messages (not copied: a
 * string literal).  Takes "--rows" out of argv: rows are then printed
 * tab-separated without a header, for scripts/bench.sh to gather.
 * Ignores SIGPIPE; stops the children and removes the temp directory at
 * exit, and kills the children on SIGINT/SIGTERM.
 */
void bench_init(const char *prog, int *argc, char **argv);

/* A message on stderr, after the program's name. */
void bench_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* snprintf into buf, cutting what does not fit; returns buf. */
const char *bench_fmt(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define BENCH_FMT(buf, ...) bench_fmt(buf, sizeof buf, __VA_ARGS__)

/*
 * The path of a program into out: arg when not NULL, else rel from the
 * directory of this program (bench/ in the build tree).  -1 unless it is
 * executable.
 */
int bench_program(char *out, size_t len, const char *arg, const char *rel);

/* ---- rows ---------------------------------------------------------------- */

enum bench_verdict {
	BENCH_INFO, /* a floor, a reference or growth: not judged */
	BENCH_PASS,
	BENCH_SHORT,
	BENCH_ERROR, /* not measured; bench_status() turns 1 */
};

/* BENCH_PASS when ok, else BENCH_SHORT. */
enum bench_verdict bench_judge(int ok);

/*
 * Print one row: what is measured, the figure, the floor or reference it
 * is held against (measured in the same run, or DESIGN.md's), their
 * ratio, the target from DESIGN.md ("Targets") and the verdict.  "-" for
 * an empty cell.  Printed at once; no cell may hold a tab.
 */
void bench_row(const char *what, const char *figure, const char *floor,
    const char *ratio, const char *target, enum bench_verdict v);

/* A row for what could not be measured (the reason went to stderr). */
void bench_error(const char *what, const char *target);

/* The exit status for main: 1 when a row was an error, else 0. */
int bench_status(void);

/* ---- time ---------------------------------------------------------------- */

double bench_now(void); /* monotonic seconds */
void bench_sleep(double seconds);

/* The median of v[0..n) (sorted in place), or -1 when one of them is
 * negative: a measurement that failed. */
double bench_median(double *v, size_t n);

/* ---- the temp directory -------------------------------------------------- */

/*
 * A fresh directory (mode 0700) called name under this run's temp
 * directory (made on first use, under $TMPDIR or /tmp), its path into
 * out.  Everything under it is removed at exit.
 */
int bench_subdir(char *out, size_t len, const char *name);

/* ---- blocking I/O -------------------------------------------------------- */

/* All n bytes; -1 with errno (0 at end of file for bench_read_exact). */
int bench_write_all(int fd, const void *buf, size_t n);
int bench_read_exact(int fd, void *buf, size_t n);

/*
 * The raw floor: a child process on the other end of a Unix socketpair
 * that writes back every byte it reads until end of file.  Its pid, with
 * the parent's end in *fd.  bench_echo_stop() closes fd and reaps it.
 */
pid_t bench_echo_start(int *fd);
void bench_echo_stop(pid_t pid, int fd);

/*
 * The same over a pair of pipes, as the daemon talks to a worker: argv
 * (argv[0] a path) runs with stdin and stdout on them and writes back
 * what it reads.  Its pid, with the parent's ends in *wfd and *rfd;
 * close *wfd, then bench_echo_stop(pid, *rfd).
 */
pid_t bench_pipe_echo_start(const char *const argv[], int *wfd, int *rfd);

/* ---- a client of ignited ------------------------------------------------- */

/*
 * One connection.  A request is begun with bench_client_begin(), which
 * returns the packer for its params, and sent with bench_client_call(),
 * whose reply points into the client until its next call.  The client
 * owns its socket, decoder and buffers: bench_client_close() frees it.
 */
struct bench_client;

/* Connect to the daemon at sock and say hello. */
struct bench_client *bench_client_open(const char *sock);
void bench_client_close(struct bench_client *c); /* NULL is fine */

msgpack_packer *bench_client_begin(struct bench_client *c, const char *method);

/*
 * Send the request begun and wait for its response (notifications in
 * between are skipped).  0 with reply->result set; the daemon's error
 * code, or -1 when the stream failed, with bench_client_error() saying
 * why (nothing is printed).
 */
int bench_client_call(struct bench_client *c, ig_msg *reply);
const char *bench_client_error(const struct bench_client *c);

/* method with params {} (id < 0) or {id}; as bench_client_call(). */
int bench_client_simple(
    struct bench_client *c, const char *method, int64_t id, ig_msg *reply);

/* Send a "run" request begun and packed by the caller: the new run's id. */
int64_t bench_run_start(struct bench_client *c);

/* status {id} into *s, which the caller clears with ig_summary_clear(). */
int bench_run_status(struct bench_client *c, int64_t id, ig_summary *s);

/* ---- a daemon ------------------------------------------------------------ */

/* One ignited on dir/s.sock and dir/db.sqlite, logging to dir/ignited.log. */
struct bench_daemon {
	const char *ignited; /* the program; not copied */
	pid_t pid; /* 0 when not running */
	char sock[PATH_MAX], db[PATH_MAX], log[PATH_MAX];
};

int bench_daemon_init(
    struct bench_daemon *d, const char *ignited, const char *dir);

/*
 * Spawn the daemon and connect *c to it once it answers a ping: the
 * seconds from fork to that answer, or -1 (the daemon stopped).  *c is
 * the caller's to close.
 */
double bench_daemon_start(struct bench_daemon *d, struct bench_client **c);

/* SIGTERM and reap; -1 unless it exited 0 within 20 s. */
int bench_daemon_stop(struct bench_daemon *d);

/* Stop (SIGTERM, then SIGKILL) and reap every child still running, as
 * after a part that failed half-way. */
void bench_children_stop(void);

#endif
