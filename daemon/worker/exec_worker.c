/*
 * exec_worker.c - start an exec worker's program through ignited itself
 * (see exec_worker.h): the argv the daemon builds, and the hidden mode
 * that reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uv.h>

#include "worker/exec_worker.h"
#include "ignite/protocol.h"
#include "ignite/spec.h"

#define LIMIT_ARG_LEN 48 /* "NAME=N" */
#define CPUS_ARG "cpus=" /* the affinity: "cpus=0,2" */

/* setrlimit(2)'s resource for each enum ig_rlimit. */
static const int rlimit_resource[IG_RLIMIT_COUNT] = {
	[IG_RLIMIT_CPU] = RLIMIT_CPU,
	[IG_RLIMIT_AS] = RLIMIT_AS,
	[IG_RLIMIT_NOFILE] = RLIMIT_NOFILE,
	[IG_RLIMIT_NPROC] = RLIMIT_NPROC,
	[IG_RLIMIT_CORE] = RLIMIT_CORE,
	[IG_RLIMIT_FSIZE] = RLIMIT_FSIZE,
};

char **
exec_worker_argv(char *const *argv, const char *cwd, const int64_t *rlimits,
    const char *cpus)
{
	bool affine = cpus != NULL && cpus[0] != '\0';
	size_t n = 0, i = 0,
	       clen = affine ? strlen(CPUS_ARG) + strlen(cpus) + 1 : 0;
	char **v, *lim;

	while (argv[n] != NULL)
		n++;
	/* "ignited", the flag, cwd, the CPUs, the limits, "--", argv, NULL;
	 * then the limits' text and the CPUs' */
	v = malloc((n + 6 + IG_RLIMIT_COUNT) * sizeof(*v) +
	    IG_RLIMIT_COUNT * LIMIT_ARG_LEN + clen);
	if (v == NULL)
		return NULL;
	lim = (char *)(v + n + 6 + IG_RLIMIT_COUNT);
	v[i++] = "ignited";
	v[i++] = EXEC_WORKER_FLAG;
	v[i++] = (char *)cwd;
	if (affine) {
		v[i] = lim + IG_RLIMIT_COUNT * LIMIT_ARG_LEN;
		snprintf(v[i++], clen, "%s%s", CPUS_ARG, cpus);
	}
	for (int r = 0; r < IG_RLIMIT_COUNT; r++) {
		if (rlimits[r] == IG_NONE)
			continue;
		snprintf(lim, LIMIT_ARG_LEN, "%s=%" PRId64, ig_rlimit_name(r),
		    rlimits[r]);
		v[i++] = lim;
		lim += LIMIT_ARG_LEN;
	}
	v[i++] = "--";
	memcpy(v + i, argv, (n + 1) * sizeof(*v));
	return v;
}

/*
 * Spawn with real pipes, not the socketpairs libuv's UV_CREATE_PIPE makes:
 * a small write and its wakeup cost less on a pipe than on a Unix socket
 * (which allocates and frees a buffer for each), a good part of a
 * worker's round trip (bench/worker_roundtrip.c).  The child's ends are
 * inherited and closed here, ours opened into io[].  A pipe that cannot
 * be had is left to UV_CREATE_PIPE, so that uv_spawn always runs and says
 * what failed (the process handle then needs closing, as the header says).
 */
int
exec_worker_spawn(uv_loop_t *loop, uv_process_t *proc, uv_exit_cb exit_cb,
    char **args, char **env, uv_pipe_t *const io[3], bool setid, uid_t uid,
    gid_t gid)
{
	uv_process_options_t po = { 0 };
	uv_stdio_container_t stdio[3];
	uv_file child[3] = { -1, -1, -1 };
	int rc;

	for (int i = 0; i < 3; i++) {
		/* the child reads its stdin and writes the others */
		int theirs = i == 0 ? 0 : 1, fds[2];

		stdio[i] = (uv_stdio_container_t){ UV_CREATE_PIPE |
			    (i == 0 ? UV_READABLE_PIPE : UV_WRITABLE_PIPE),
			{ (uv_stream_t *)io[i] } };
		if (uv_pipe(fds, theirs == 0 ? 0 : UV_NONBLOCK_PIPE,
		        theirs == 1 ? 0 : UV_NONBLOCK_PIPE) != 0)
			continue;
		if (uv_pipe_open(io[i], fds[1 - theirs]) != 0) {
			close(fds[0]);
			close(fds[1]);
			continue;
		}
		child[i] = fds[theirs];
		stdio[i] =
		    (uv_stdio_container_t){ UV_INHERIT_FD, { .fd = child[i] } };
	}
	po.exit_cb = exit_cb;
	po.file = EXEC_WORKER_SELF;
	po.args = args;
	po.env = env;
	po.stdio = stdio;
	po.stdio_count = 3;
	if (setid) {
		po.flags |= UV_PROCESS_SETUID | UV_PROCESS_SETGID;
		po.uid = uid;
		po.gid = gid;
	}
	rc = uv_spawn(loop, proc, &po);
	for (int i = 0; i < 3; i++)
		if (child[i] != -1)
			close(child[i]);
	return rc;
}

/* close_range(lowfd, ~0U, flags), or one descriptor at a time where the
 * kernel is older (5.9; 5.11 for CLOEXEC) or a seccomp filter refuses it. */
static void
close_from(int lowfd, unsigned flags)
{
	long max = sysconf(_SC_OPEN_MAX);

	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, flags) == 0)
		return;
	for (long fd = lowfd; fd < max; fd++) {
		if (flags & CLOSE_RANGE_CLOEXEC)
			fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		else
			close((int)fd);
	}
}

void
exec_worker_cloexec_inherited(void)
{
	close_from(3, CLOSE_RANGE_CLOEXEC);
}

/* ---- the hidden mode ---------------------------------------------------- */

static int __attribute__((format(printf, 1, 2))) failed(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXEC_WORKER_FAILED;
}

/* "NAME=N" as a limit; false when it is not one. */
static bool
parse_limit(const char *arg, int *res, rlim_t *value)
{
	for (int r = 0; r < IG_RLIMIT_COUNT; r++) {
		const char *name = ig_rlimit_name(r);
		size_t n = strlen(name);
		char *end;

		if (strncmp(arg, name, n) != 0 || arg[n] != '=' ||
		    arg[n + 1] < '0' || arg[n + 1] > '9')
			continue;
		errno = 0;
		*value = strtoull(arg + n + 1, &end, 10);
		*res = r;
		return *end == '\0' && errno == 0;
	}
	return false;
}

/* "cpus=0,2": the worker's affinity, set before its program starts so
 * that every thread it makes inherits it. */
static int
set_cpus(const char *list)
{
	cpu_set_t set;
	const char *p = list;

	CPU_ZERO(&set);
	for (;;) {
		char *end;
		long c = strtol(p, &end, 10);
		if (end == p || c < 0 || c >= CPU_SETSIZE ||
		    (*end != ',' && *end != '\0'))
			return failed(
			    "engine: ignited %s: %s%s is not a CPU list",
			    EXEC_WORKER_FLAG, CPUS_ARG, list);
		CPU_SET((int)c, &set);
		if (*end == '\0')
			break;
		p = end + 1;
	}
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		return failed("engine: cannot set the worker's CPUs to %s: %s",
		    list, strerror(errno));
	return 0;
}

/* Lowering a limit needs no privilege; raising the hard limit needs root,
 * and nofile stops at fs.nr_open even for root. */
static int
set_limit(int r, rlim_t value)
{
	struct rlimit want = { value, value }, old;
	int e;

	if (setrlimit(rlimit_resource[r], &want) == 0)
		return 0;
	e = errno;
	if (e == EPERM && getrlimit(rlimit_resource[r], &old) == 0 &&
	    value > old.rlim_max)
		return failed(
		    "worker.rlimits.%s: cannot raise the worker's hard limit %llu "
		    "to %llu: %s (only root's workers may; nofile at most to "
		    "fs.nr_open)",
		    ig_rlimit_name(r), (unsigned long long)old.rlim_max,
		    (unsigned long long)value, strerror(e));
	return failed("worker.rlimits.%s: cannot set %llu: %s",
	    ig_rlimit_name(r), (unsigned long long)value, strerror(e));
}

int
exec_worker_main(int argc, char **argv)
{
	rlim_t limits[IG_RLIMIT_COUNT];
	bool given[IG_RLIMIT_COUNT] = { false };
	const char *cwd = argc > 2 ? argv[2] : NULL;
	int i, r, rc;

	close_from(3, 0);
	for (i = 3; i < argc && strcmp(argv[i], "--") != 0; i++) {
		rlim_t v;
		if (strncmp(argv[i], CPUS_ARG, strlen(CPUS_ARG)) == 0) {
			if ((rc = set_cpus(argv[i] + strlen(CPUS_ARG))) != 0)
				return rc;
			continue;
		}
		if (!parse_limit(argv[i], &r, &v))
			return failed("engine: ignited %s: %s is not LIMIT=N",
			    EXEC_WORKER_FLAG, argv[i]);
		limits[r] = v;
		given[r] = true;
	}
	if (cwd == NULL || i + 1 >= argc)
		return failed(
		    "engine: usage: ignited %s CWD [LIMIT=N]... -- PROGRAM [ARG]...",
		    EXEC_WORKER_FLAG);
	argv += i + 1;
	/* as the owner: a directory the owner cannot enter is refused, and
	 * the answer is the one the owner would get */
	if (chdir(cwd) != 0)
		return failed("engine: cannot start %s in %s: %s", argv[0], cwd,
		    uv_strerror(uv_translate_sys_error(errno)));
	for (r = 0; r < IG_RLIMIT_COUNT; r++)
		if (given[r] && (rc = set_limit(r, limits[r])) != 0)
			return rc;
	execvp(argv[0], argv);
	return failed("engine: cannot start %s in %s: %s", argv[0], cwd,
	    uv_strerror(uv_translate_sys_error(errno)));
}
