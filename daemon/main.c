/*
 * main.c - ignited: options, paths, the store, the control socket and
 * signals on one libuv loop, in the foreground.
 *
 * Start:    paths -> socket (refusing a live daemon) -> store -> serve.
 * Shutdown: (SIGTERM, SIGINT or the shutdown method) stop accepting -> the
 *           shutdown hook (the run manager checkpoints its engines; until
 *           it exists, the store is flushed) -> close the connections and
 *           the store -> the loop runs dry -> exit 0.
 *
 * Under systemd (sdnotify.h): the socket may be passed to us instead of
 * bound; READY=1 goes out once the runs are resumed, STATUS= follows the
 * number of running runs, WATCHDOG=1 keeps the watchdog fed and
 * STOPPING=1 starts the shutdown.
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
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "dataset/readfile.h"
#include "worker/exec_worker.h"
#include "ignite/protocol.h"
#include "log.h"
#include "api/api.h"
#include "metrics/metrics.h"
#include "paths.h"
#include "runs/runs.h"
#include "sdnotify.h"
#include "server/server.h"
#include "store/store.h"
#include "worker/listen.h"

#ifndef IGNITE_VERSION
#define IGNITE_VERSION "unknown"
#endif

#define PATH_LEN 4096
#define PLUGIN_DIRS_MAX 16
#define SD_STATUS_MS 2000 /* how often the running count is checked */

struct options {
	char socket[PATH_LEN];
	char db[PATH_LEN];
	char checkpoint_dir[PATH_LEN]; /* "": beside the database's dir */
	const char *log_file;
	enum log_level level;
	size_t max_frame;
	uint64_t idle_timeout_ms;
	uint64_t client_timeout_ms;
	unsigned max_conns_per_uid;
	size_t max_conn_memory;
	uint64_t max_db_bytes;
	size_t max_store_queue;
	uint64_t max_data_bytes;
	gid_t group;
	const char *plugin_dirs[PLUGIN_DIRS_MAX]; /* argv's strings */
	size_t nplugin_dirs;
	const char *metrics_listen; /* NULL: no metrics endpoint */
	const char *worker_listen; /* NULL: no workers dial back */
	struct sockaddr_storage worker_addr;
	char worker_dial[300]; /* the address workers are given */
	bool metrics_public;
	struct sockaddr_storage metrics_addr;
	struct sched_config sched; /* --gpus, --cpus, the per-user limits */
};

struct ignited {
	uv_loop_t loop;
	struct server *srv;
	struct store *store;
	struct runs *runs;
	struct metrics *metrics; /* NULL: not asked for */
	struct worker_listen *workers; /* NULL: --worker-listen not given */
	uv_signal_t sigterm, sigint, sighup;
	/* systemd's notifications, when it listens (sd_status open) */
	uv_timer_t sd_status, sd_watchdog;
	bool sd_status_open, sd_watchdog_open;
	size_t sd_running; /* the count STATUS= last said */
	bool stopping;
	int exit_status;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ignited [--socket PATH] [--db PATH] [--log-level LEVEL]\n"
	    "               [--log-file PATH] [--max-frame BYTES] [--group NAME]\n"
	    "               [--idle-timeout MS] [--client-timeout MS]\n"
	    "               [--max-conns-per-uid N] [--max-conn-memory BYTES]\n"
	    "               [--max-db-size BYTES] [--max-data-size BYTES]\n"
	    "               [--max-store-queue BYTES]\n"
	    "               [--plugin-dir DIR]... [--checkpoint-dir DIR]\n"
	    "               [--metrics-listen ADDR:PORT]\n"
	    "               [--metrics-public] [--worker-listen HOST:PORT]\n"
	    "               [--gpus auto|none|N,N...]\n"
	    "               [--cpus N] [--max-running-per-user N]\n"
	    "               [--max-queued-per-user N] [--help] [--version]\n"
	    "\n"
	    "Runs ignite training engines as managed jobs, in the foreground.\n"
	    "Started by a systemd .socket unit, it serves the socket passed to\n"
	    "it (--socket and --group do not apply) and notifies systemd.\n"
	    "\n"
	    "  --socket PATH       control socket (default: /run/ignite/ignited.sock\n"
	    "                      as root, else $XDG_RUNTIME_DIR/ignite/ignited.sock,\n"
	    "                      else /tmp/ignite-UID/ignited.sock)\n"
	    "  --db PATH           database (default: /var/lib/ignite/ignite.db as\n"
	    "                      root, else $XDG_STATE_HOME/ignite/ignite.db,\n"
	    "                      else ~/.local/state/ignite/ignite.db)\n"
	    "  --checkpoint-dir DIR  runs' checkpoint files, in DIR/run-ID\n"
	    "                      (default: beside the database's directory,\n"
	    "                      /var/lib/ignite-checkpoints for /var/lib/ignite)\n"
	    "  --log-level LEVEL   debug, info, warn or error (default: info)\n"
	    "  --log-file PATH     log there instead of stderr; SIGHUP reopens it\n"
	    "  --max-frame BYTES   largest protocol frame (default: %u)\n"
	    "  --group NAME        let group NAME use the socket (mode 0660)\n"
	    "  --idle-timeout MS   drop a client stalled mid-frame, or whose frame\n"
	    "                      then averages under 1 MiB/s (default: 30000)\n"
	    "  --client-timeout MS close a connection that sent nothing this long\n"
	    "                      and waits for nothing (default: 120000)\n"
	    "  --max-conns-per-uid N  connections one uid may have open; root and\n"
	    "                      the daemon's uid are not limited (default: 64)\n"
	    "  --max-conn-memory BYTES  what all connections may buffer; over it\n"
	    "                      the largest are dropped (default: 268435456)\n"
	    "  --max-db-size BYTES cap the database; a run whose writes hit the cap\n"
	    "                      pauses with the reason (default: no cap)\n"
	    "  --max-store-queue BYTES  writes not yet committed; over it, runs\n"
	    "                      whose metrics outpace the database wait\n"
	    "                      (default: 16777216)\n"
	    "  --max-data-size BYTES\n"
	    "                      the largest data file a run may name, in\n"
	    "                      bytes gunzipped (default: 4 GiB)\n"
	    "  --plugin-dir DIR    users other than root may load plugins from DIR\n"
	    "                      only; repeat for more (default: /usr/lib/ignite/\n"
	    "                      plugins and /usr/local/lib/ignite/plugins)\n"
	    "  --metrics-listen ADDR:PORT\n"
	    "                      serve GET /metrics (Prometheus text format)\n"
	    "                      over HTTP there; a loopback address only\n"
	    "                      (default: off)\n"
	    "  --metrics-public    let --metrics-listen take another address:\n"
	    "                      whoever connects sees every run's name,\n"
	    "                      owner and metrics\n"
	    "  --worker-listen HOST:PORT\n"
	    "                      let exec workers placed on a cluster (spec\n"
	    "                      placement.slurm) dial back over TCP there;\n"
	    "                      a numeric address (default: off)\n"
	    "  --gpus auto|none|N,N...  the GPUs runs may ask for: auto, those in\n"
	    "                      /proc/driver/nvidia/gpus; or CUDA device numbers\n"
	    "                      (default: auto)\n"
	    "  --cpus N            CPU slots runs may ask for (default: one a CPU)\n"
	    "  --max-running-per-user N  runs one user may have running; the rest\n"
	    "                      wait queued; root is not limited (default: none)\n"
	    "  --max-queued-per-user N  runs one user may have waiting; more are\n"
	    "                      refused; root is not limited (default: none)\n",
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

/* The address workers dial: the one listened on, or this host's name
 * where that is any address (0.0.0.0, [::]). */
static void
worker_dial(struct options *o)
{
	const char *port = strrchr(o->worker_listen, ':') + 1;
	char host[256];

	if (strncmp(o->worker_listen, "0.0.0.0:", 8) != 0 &&
	    strncmp(o->worker_listen, "[::]:", 5) != 0) {
		snprintf(o->worker_dial, sizeof(o->worker_dial), "%s",
		    o->worker_listen);
		return;
	}
	if (gethostname(host, sizeof(host)) != 0)
		die("--worker-listen %s: cannot tell this host's name for the "
		    "workers to dial: %s",
		    o->worker_listen, strerror(errno));
	host[sizeof(host) - 1] = '\0';
	snprintf(o->worker_dial, sizeof(o->worker_dial), "%s:%s", host, port);
}

static uint64_t
parse_number(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < min ||
	    v > max)
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
		{ "client-timeout", required_argument, NULL, 'c' },
		{ "max-conns-per-uid", required_argument, NULL, 'u' },
		{ "max-conn-memory", required_argument, NULL, 'M' },
		{ "max-db-size", required_argument, NULL, 'S' },
		{ "max-data-size", required_argument, NULL, 'D' },
		{ "max-store-queue", required_argument, NULL, 'q' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "metrics-listen", required_argument, NULL, 'x' },
		{ "metrics-public", no_argument, NULL, 'X' },
		{ "worker-listen", required_argument, NULL, 'W' },
		{ "gpus", required_argument, NULL, 'G' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "max-running-per-user", required_argument, NULL, 'R' },
		{ "max-queued-per-user", required_argument, NULL, 'Q' },
		{ "checkpoint-dir", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	ig_err err;
	struct group *gr;
	int c, level;

	*o = (struct options){ .level = LOG_INFO,
		.group = (gid_t)-1,
		.max_data_bytes = READ_FILE_MAX_DEFAULT,
		.sched = { .max_running = IG_NONE, .max_queued = IG_NONE } };
	const char *gpus = "auto", *cpus = "0";
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
				    "or error",
				    optarg);
			o->level = (enum log_level)level;
			break;
		case 'L':
			o->log_file = optarg;
			break;
		case 'm':
			/* A frame must hold a hello; 1 GiB keeps every
			 * write's length within uv_buf_t's. */
			o->max_frame = parse_number(
			    "--max-frame", optarg, 64, (uint64_t)1 << 30);
			break;
		case 'g':
			if ((gr = getgrnam(optarg)) == NULL)
				die("--group %s: no such group", optarg);
			o->group = gr->gr_gid;
			break;
		case 'i':
			o->idle_timeout_ms = parse_number(
			    "--idle-timeout", optarg, 1, UINT64_C(86400000));
			break;
		case 'c':
			o->client_timeout_ms = parse_number(
			    "--client-timeout", optarg, 1, UINT64_C(86400000));
			break;
		case 'u':
			o->max_conns_per_uid = (unsigned)parse_number(
			    "--max-conns-per-uid", optarg, 1, 65536);
			break;
		case 'M':
			/* room for a largest frame and its answer */
			o->max_conn_memory =
			    (size_t)parse_number("--max-conn-memory", optarg,
			        UINT64_C(1) << 20, UINT64_C(1) << 40);
			break;
		case 'S':
			o->max_db_bytes = parse_number(
			    "--max-db-size", optarg, 65536, UINT64_C(1) << 50);
			break;
		case 'D':
			o->max_data_bytes = parse_number("--max-data-size",
			    optarg, 65536, UINT64_C(1) << 50);
			break;
		case 'q':
			o->max_store_queue =
			    (size_t)parse_number("--max-store-queue", optarg,
			        65536, UINT64_C(1) << 40);
			break;
		case 'K':
			if (optarg[0] != '/')
				die("--checkpoint-dir %s: give an absolute path",
				    optarg);
			copy_path(
			    o->checkpoint_dir, "--checkpoint-dir", optarg);
			break;
		case 'P':
			if (o->nplugin_dirs == PLUGIN_DIRS_MAX)
				die("--plugin-dir: at most %d",
				    PLUGIN_DIRS_MAX);
			if (optarg[0] != '/')
				die("--plugin-dir %s: give an absolute path",
				    optarg);
			o->plugin_dirs[o->nplugin_dirs++] = optarg;
			break;
		case 'W':
			o->worker_listen = optarg;
			break;
		case 'x':
			o->metrics_listen = optarg;
			break;
		case 'X':
			o->metrics_public = true;
			break;
		case 'G':
			gpus = optarg;
			break;
		case 'C':
			cpus = optarg;
			break;
		case 'R':
			o->sched.max_running = (int64_t)parse_number(
			    "--max-running-per-user", optarg, 1, 1000000);
			break;
		case 'Q':
			o->sched.max_queued = (int64_t)parse_number(
			    "--max-queued-per-user", optarg, 1, 1000000);
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
	if (o->metrics_listen != NULL &&
	    metrics_parse_listen(o->metrics_listen, o->metrics_public,
	        &o->metrics_addr, &err) != 0)
		die("%s", err.message);
	if (o->worker_listen != NULL) {
		if (worker_listen_parse(
		        o->worker_listen, &o->worker_addr, &err) != 0)
			die("%s", err.message);
		worker_dial(o);
	}
	if (o->metrics_public && o->metrics_listen == NULL)
		die("--metrics-public: give --metrics-listen ADDR:PORT too");
	if (sched_parse_gpus(&o->sched, gpus, &err) != 0 ||
	    sched_parse_cpus(&o->sched, cpus, &err) != 0)
		die("%s", err.message);
	if (o->nplugin_dirs == 0) {
		o->plugin_dirs[o->nplugin_dirs++] = "/usr/lib/ignite/plugins";
		o->plugin_dirs[o->nplugin_dirs++] =
		    "/usr/local/lib/ignite/plugins";
	}
	if (o->socket[0] == '\0' &&
	    paths_default_socket(o->socket, sizeof o->socket, &err) != 0)
		die("%s; pass --socket", err.message);
	if (o->db[0] == '\0' &&
	    paths_default_db(o->db, sizeof o->db, &err) != 0)
		die("%s", err.message);
}

/*
 * The default --checkpoint-dir: beside the database's directory, DIR-
 * checkpoints (/var/lib/ignite-checkpoints for /var/lib/ignite/ignite.db).
 * Workers run as their owners and must reach run-ID in it; a directory
 * inside the database's would need that one opened to search, and the
 * database's stays 0700 (SECURITY.md).
 */
static void
default_checkpoint_dir(struct options *o)
{
	char dir[PATH_LEN], real[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof dir, "%s", o->db);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (realpath(dir, real) == NULL)
		die("--db %s: cannot resolve its directory: %s", o->db,
		    strerror(errno));
	if ((size_t)snprintf(o->checkpoint_dir, sizeof o->checkpoint_dir,
	        "%s-checkpoints",
	        strcmp(real, "/") == 0 ? "" : real) >= sizeof o->checkpoint_dir)
		die("--db %s: path too long for its checkpoint directory; "
		    "pass --checkpoint-dir",
		    o->db);
}

/* ---- systemd ------------------------------------------------------------ */

static void
sd_send(const char *state)
{
	int rc = sdnotify_send(state);

	if (rc < 0)
		log_warn("cannot notify systemd: %s", strerror(-rc));
}

/* Tell systemd how many runs are running: with READY=1 when ready is set,
 * else only when the count changed. */
static void
sd_report(struct ignited *d, bool ready)
{
	size_t n = runs_count(d->runs, IG_STATUS_RUNNING);
	char msg[64];

	if (!ready && n == d->sd_running)
		return;
	d->sd_running = n;
	snprintf(msg, sizeof msg, "%sSTATUS=%zu run%s running",
	    ready ? "READY=1\n" : "", n, n == 1 ? "" : "s");
	sd_send(msg);
}

static void
on_sd_status(uv_timer_t *t)
{
	sd_report(t->data, false);
}

static void
on_sd_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_send("WATCHDOG=1");
}

/* The store is open and the runs resumed: tell systemd, if it listens,
 * and keep it told. */
static void
sd_ready(struct ignited *d)
{
	uint64_t wd_ms = sdnotify_watchdog_usec() / 1000;

	if (!sdnotify_enabled())
		return;
	sd_report(d, true);
	uv_timer_init(&d->loop, &d->sd_status);
	d->sd_status.data = d;
	uv_timer_start(&d->sd_status, on_sd_status, SD_STATUS_MS, SD_STATUS_MS);
	d->sd_status_open = true;
	if (wd_ms > 0) {
		/* every half of WATCHDOG_USEC, as sd_watchdog_enabled(3) says */
		wd_ms = wd_ms / 2 > 0 ? wd_ms / 2 : 1;
		uv_timer_init(&d->loop, &d->sd_watchdog);
		uv_timer_start(&d->sd_watchdog, on_sd_watchdog, wd_ms, wd_ms);
		d->sd_watchdog_open = true;
	}
}

/* The watchdog is fed until the very end: a shutdown may take a while. */
static void
sd_close(struct ignited *d)
{
	if (d->sd_status_open)
		uv_close((uv_handle_t *)&d->sd_status, NULL);
	if (d->sd_watchdog_open)
		uv_close((uv_handle_t *)&d->sd_watchdog, NULL);
	d->sd_status_open = d->sd_watchdog_open = false;
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
	/* it reads the runs, the store and the server */
	if (d->metrics != NULL)
		metrics_close(d->metrics);
	worker_listen_close(d->workers);
	server_close(d->srv);
	/* the store's last callbacks still reach runs */
	store_close(d->store);
	runs_close(d->runs);
	api_close();
	close_signals(d);
	sd_close(d);
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
	if (d->sd_status_open)
		uv_timer_stop(&d->sd_status);
	sd_send("STOPPING=1\nSTATUS=shutting down: checkpointing the runs");
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
	struct store_options stopt;
	struct job_config jc;
	char err[1024];
	ig_err e;
	int rc, listen_fd;

	/* a worker being started (exec_worker.h): none of the daemon's set-up */
	if (argc > 1 && strcmp(argv[1], EXEC_WORKER_FLAG) == 0)
		return exec_worker_main(argc, argv);
	exec_worker_cloexec_inherited();
	parse_options(argc, argv, &o);
	read_file_limit(o.max_data_bytes);
	if (log_init(o.level, o.log_file, &e) != 0)
		die("%s", e.message);
	/* A client that hangs up must cost an EPIPE, not the daemon. */
	signal(SIGPIPE, SIG_IGN);

	/* A passed socket's directory is its .socket unit's, not ours. */
	if (sdnotify_listen_fd(&listen_fd, &e) != 0 ||
	    (listen_fd < 0 && paths_runtime_dir(o.socket, o.group, &e) != 0) ||
	    paths_make_parents(o.db, &e) != 0)
		die("%s", e.message);
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
		.client_timeout_ms = o.client_timeout_ms,
		.max_conns_per_uid = o.max_conns_per_uid,
		.max_buffered = o.max_conn_memory,
	};
	d.srv = listen_fd >= 0 ?
	    server_adopt(&d.loop, listen_fd, &so, on_stop_request, &d, &e) :
	    server_open(&d.loop, &so, on_stop_request, &d, &e);
	if (d.srv == NULL)
		die("%s", e.message);
	/* text, not an ig_err: store.h says why */
	stopt = (struct store_options){ .queue_bytes = o.max_store_queue };
	if ((d.store = store_open(&d.loop, o.db, &stopt, err, sizeof err)) ==
	    NULL) {
		server_close(d.srv);
		close_signals(&d);
		uv_run(&d.loop, UV_RUN_DEFAULT);
		die("cannot open the store: %s", err);
	}
	if (o.max_db_bytes > 0 &&
	    store_limit_size(d.store, (int64_t)o.max_db_bytes, NULL, NULL) != 0)
		die("cannot cap the database at %" PRIu64 " bytes",
		    o.max_db_bytes);
	/* Resumed before the loop runs, so before any request is read. */
	jc = (struct job_config){ { o.plugin_dirs, o.nplugin_dirs },
		o.checkpoint_dir, o.checkpoint_dir[0] == '\0',
		o.worker_listen != NULL ? o.worker_dial : NULL };
	if (jc.checkpoint_dir_later)
		default_checkpoint_dir(&o);
	if ((d.runs = runs_open(&d.loop, &jc, &o.sched, d.store, &e)) == NULL)
		die("cannot load the runs: %s", e.message);
	if (api_register(d.srv, d.runs) < 0)
		die("out of memory");
	if (o.worker_listen != NULL &&
	    (d.workers = worker_listen_open(&d.loop,
	         (const struct sockaddr *)&o.worker_addr, runs_worker_claim,
	         d.runs, &e)) == NULL)
		die("--worker-listen %s: %s", o.worker_listen, e.message);
	if (o.metrics_listen != NULL) {
		struct metrics_sources src = { d.runs, d.store, d.srv };
		if ((d.metrics = metrics_open(&d.loop,
		         (const struct sockaddr *)&o.metrics_addr, &src, &e)) ==
		    NULL)
			die("--metrics-listen %s: %s", o.metrics_listen,
			    e.message);
	}
	log_info("ignited %s ready: socket %s, database %s, %d GPU%s, "
	         "%d CPU slot%s",
	    IGNITE_VERSION, listen_fd >= 0 ? "passed by systemd" : o.socket,
	    o.db, o.sched.ngpus, o.sched.ngpus == 1 ? "" : "s", o.sched.ncpus,
	    o.sched.ncpus == 1 ? "" : "s");
	sd_ready(&d);

	uv_run(&d.loop, UV_RUN_DEFAULT);
	if ((rc = uv_loop_close(&d.loop)) < 0)
		log_error("handles left open at exit: %s", uv_strerror(rc));
	return d.exit_status;
}
