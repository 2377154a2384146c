/*
 * main.c - ignited: options, paths, the store, the control socket and
 * signals on one libuv loop, in the foreground.
 *
 * Start:    paths -> socket (refusing a live daemon) -> store -> serve.
 * Shutdown: (SIGTERM, SIGINT or the shutdown method) stop accepting -> the
 *           shutdown hook (the run manager checkpoints its engines; until
 *           it exists, the store is flushed) -> close the connections and
 *           the store -> the loop runs dry -> exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "ignite/protocol.h"
#include "log.h"
#include "methods.h"
#include "paths.h"
#include "runs.h"
#include "server.h"
#include "store.h"

#ifndef IGNITE_VERSION
#define IGNITE_VERSION "unknown"
#endif

#define PATH_LEN 4096

struct options {
	char socket[PATH_LEN];
	char db[PATH_LEN];
	const char *log_file;
	enum log_level level;
	size_t max_frame;
	uint64_t idle_timeout_ms;
	uint64_t max_db_bytes;
	gid_t group;
};


struct ignited {
	uv_loop_t loop;
	struct server *srv;
	ig_store *store;
	struct runs *runs;
	uv_signal_t sigterm, sigint, sighup;
	bool stopping;
	int exit_status;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ignited [--socket PATH] [--db PATH] [--log-level LEVEL]\n"
	    "               [--log-file PATH] [--max-frame BYTES] [--group NAME]\n"
	    "               [--idle-timeout MS] [--max-db-size BYTES]\n"
	    "               [--help] [--version]\n"
	    "\n"
	    "Runs ignite training engines as managed jobs, in the foreground.\n"
	    "\n"
	    "  --socket PATH       control socket (default: /run/ignite/ignited.sock\n"
	    "                      as root, else $XDG_RUNTIME_DIR/ignite/ignited.sock)\n"
	    "  --db PATH           database (default: /var/lib/ignite/ignite.db as\n"
	    "                      root, else $XDG_STATE_HOME/ignite/ignite.db)\n"
	    "  --log-level LEVEL   debug, info, warn or error (default: info)\n"
	    "  --log-file PATH     log there instead of stderr; SIGHUP reopens it\n"
	    "  --max-frame BYTES   largest protocol frame (default: %u)\n"
	    "  --group NAME        let group NAME use the socket (mode 0660)\n"
	    "  --idle-timeout MS   drop a client stalled mid-frame (default: 30000)\n"
	    "  --max-db-size BYTES cap the database; a run whose writes hit the cap\n"
	    "                      pauses with the reason (default: no cap)\n",
	    IG_FRAME_MAX_DEFAULT);
}

/* Exit with a message: the one place, with main, that ends the process. */
static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("ignited: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
parse_number(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max)
		die("%s %s: expected a number from %" PRIu64 " to %" PRIu64,
		    opt, s, min, max);
	return v;
}

static void
copy_path(char *dst, const char *opt, const char *src)
{
	size_t n = strlen(src);

	if (n >= PATH_LEN)
		die("%s: path longer than %d bytes", opt, PATH_LEN - 1);
	if (src[0] != '/')
		die("%s %s: give an absolute path", opt, src);
	memcpy(dst, src, n + 1);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "db", required_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "log-file", required_argument, NULL, 'L' },
		{ "max-frame", required_argument, NULL, 'm' },
		{ "group", required_argument, NULL, 'g' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "max-db-size", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char err[512];
	struct group *gr;
	int c, level;

	*o = (struct options){ .level = LOG_INFO, .group = (gid_t)-1 };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			copy_path(o->socket, "--socket", optarg);
			break;
		case 'd':
			copy_path(o->db, "--db", optarg);
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) < 0)
				die("--log-level %s: expected debug, info, warn "
				    "or error", optarg);
			o->level = (enum log_level)level;
			break;
		case 'L':
			o->log_file = optarg;
			break;
		case 'm':
			/* A frame must hold a hello; 1 GiB keeps every
			 * write's length within uv_buf_t's. */
			o->max_frame = parse_number("--max-frame", optarg, 64,
			    (uint64_t)1 << 30);
			break;
		case 'g':
			if ((gr = getgrnam(optarg)) == NULL)
				die("--group %s: no such group", optarg);
			o->group = gr->gr_gid;
			break;
		case 'i':
			o->idle_timeout_ms = parse_number("--idle-timeout",
			    optarg, 1, UINT64_C(86400000));
			break;
		case 'S':
			o->max_db_bytes = parse_number("--max-db-size", optarg,
			    65536, UINT64_C(1) << 50);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("ignited %s (protocol %d)\n", IGNITE_VERSION,
			    IG_PROTO_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		die("unexpected argument %s; see ignited --help", argv[optind]);
	if (o->socket[0] == '\0' &&
	    paths_default_socket(o->socket, sizeof o->socket, err, sizeof err) < 0)
		die("%s; pass --socket", err);
	if (o->db[0] == '\0' &&
	    paths_default_db(o->db, sizeof o->db, err, sizeof err) < 0)
		die("%s", err);
}

/* ---- shutdown ----------------------------------------------------------- */

static void
close_signals(struct ignited *d)
{
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
}

/* Everything has stopped: close what is left, and the loop runs dry. */
static void
shutdown_done(void *arg, int status)
{
	struct ignited *d = arg;

	if (status != 0)
		d->exit_status = 1;
	server_close(d->srv);
	/* the store's last callbacks still reach runs */
	ig_store_close(d->store);
	runs_close(d->runs);
	close_signals(d);
	log_info("stopped");
}

static void
begin_shutdown(struct ignited *d, const char *why)
{
	if (d->stopping) {
		log_info("%s: already shutting down", why);
		return;
	}
	d->stopping = true;
	log_info("%s: shutting down", why);
	server_stop_listening(d->srv);
	/* every run stops after its iteration and is checkpointed */
	runs_shutdown(d->runs, shutdown_done, d);
}

static void
on_stop_request(void *ud)
{
	begin_shutdown(ud, "shutdown method");
}

static void
on_signal(uv_signal_t *sig, int signum)
{
	struct ignited *d = sig->data;

	if (signum == SIGHUP)
		log_reopen();
	else
		begin_shutdown(d, strsignal(signum));
}

static void
watch_signal(struct ignited *d, uv_signal_t *sig, int signum)
{
	int rc;

	uv_signal_init(&d->loop, sig);
	sig->data = d;
	if ((rc = uv_signal_start(sig, on_signal, signum)) < 0)
		die("cannot watch %s: %s", strsignal(signum), uv_strerror(rc));
}

/* ---- main --------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	static struct ignited d;
	struct options o;
	struct server_options so;
	char err[1024];
	int rc;

	parse_options(argc, argv, &o);
	if (log_init(o.level, o.log_file, err, sizeof err) < 0)
		die("%s", err);
	/* A client that hangs up must cost an EPIPE, not the daemon. */
	signal(SIGPIPE, SIG_IGN);

	if (paths_runtime_dir(o.socket, o.group, err, sizeof err) < 0 ||
	    paths_make_parents(o.db, err, sizeof err) < 0)
		die("%s", err);
	if ((rc = uv_loop_init(&d.loop)) < 0)
		die("uv_loop_init: %s", uv_strerror(rc));
	/* Before the socket exists: a client that sees it may signal us at
	 * once.  The signals are handled once the loop runs. */
	watch_signal(&d, &d.sigterm, SIGTERM);
	watch_signal(&d, &d.sigint, SIGINT);
	watch_signal(&d, &d.sighup, SIGHUP);

	so = (struct server_options){
		.path = o.socket,
		.group = o.group,
		.max_frame = o.max_frame,
		.idle_timeout_ms = o.idle_timeout_ms,
	};
	if ((d.srv = server_open(&d.loop, &so, on_stop_request, &d, err,
	    sizeof err)) == NULL)
		die("%s", err);
	if ((d.store = ig_store_open(&d.loop, o.db, NULL, err,
	    sizeof err)) == NULL) {
		server_close(d.srv);
		close_signals(&d);
		uv_run(&d.loop, UV_RUN_DEFAULT);
		die("cannot open the store: %s", err);
	}
	if (o.max_db_bytes > 0 &&
	    ig_store_limit_size(d.store, (int64_t)o.max_db_bytes, NULL, NULL) != 0)
		die("cannot cap the database at %" PRIu64 " bytes", o.max_db_bytes);
	if (methods_register(d.srv) < 0)
		die("out of memory");
	/* Resumed before the loop runs, so before any request is read. */
	if ((d.runs = runs_open(&d.loop, d.store, d.srv, err, sizeof err)) == NULL)
		die("cannot load the runs: %s", err);
	log_info("ignited %s ready: socket %s, database %s", IGNITE_VERSION,
	    o.socket, o.db);

	uv_run(&d.loop, UV_RUN_DEFAULT);
	if ((rc = uv_loop_close(&d.loop)) < 0)
		log_error("handles left open at exit: %s", uv_strerror(rc));
	return d.exit_status;
}
