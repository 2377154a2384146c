/*
 * runlog.c - a run's own log (the logs method, watchers), rate-limited.
 */
#include "runs/runs_int.h"

/* A run's log takes at most LOG_BURST lines (its worker's stderr, handler
 * log lines) a LOG_WINDOW_MS window; the rest are counted, and the count
 * logged when the window ends: a worker writing stderr as fast as it can
 * must not fill the disk through --log-file and the store. */
#define LOG_BURST 1000
#define LOG_WINDOW_MS 30000

static void
pack_log_line(msgpack_packer *pk, void *arg)
{
	ig_log_line_pack(pk, arg);
}

/* A line of the run's own log (logs, watchers), also to the daemon's log
 * at level.  What a worker wrote is data, kept as it is but for bytes that
 * are not UTF-8, which become U+FFFD: every str on the wire is valid
 * UTF-8. */
static void
keep_log_line(struct run *run, enum log_level level, const char *line)
{
	char *text = ig_utf8_repair(line, strlen(line));
	ig_log_line l = { run->id, store_now(), text };

	if (text == NULL) {
		log_msg(LOG_ERROR, run->id, "out of memory for a log line");
		return;
	}
	log_msg(level, run->id, "%s", text);
	store_log(run->mgr->store, run->id, text, strlen(text));
	if (run->watchers != NULL)
		broadcast_to(run, "log", pack_log_line, &l, NULL, NULL);
	free(text);
}

void
run_log(struct run *run, enum log_level level, const char *fmt, ...)
{
	char line[IG_ERR_MAX * 3];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	keep_log_line(run, level, line);
}

/* Say how many lines the window dropped once it is over, or at once with
 * force (the run ends). */
void
log_window_end(struct run *run, bool force)
{
	uint64_t now = uv_now(run->mgr->loop);

	if (!force && now - run->log_window < LOG_WINDOW_MS)
		return;
	if (run->log_dropped > 0)
		run_log(run, LOG_WARN,
		    "log: %llu lines dropped (more than %d in %d s)",
		    (unsigned long long)run->log_dropped, LOG_BURST,
		    LOG_WINDOW_MS / 1000);
	run->log_window = now;
	run->log_lines = 0;
	run->log_dropped = 0;
}

/* A worker's stderr line or a handler's log line: at most LOG_BURST a
 * window. */
void
hook_log(void *ud, const char *line)
{
	struct run *run = ud;

	log_window_end(run, false);
	if (run->log_lines < LOG_BURST) {
		run->log_lines++;
		keep_log_line(run, LOG_INFO, line);
	} else if (run->log_dropped++ == 0) {
		run_log(run, LOG_WARN,
		    "log: more than %d lines in %d s; dropping lines until "
		    "the %d s are over",
		    LOG_BURST, LOG_WINDOW_MS / 1000, LOG_WINDOW_MS / 1000);
	}
}
