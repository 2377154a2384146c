/*
 * log.h - ignited's log: one line per message on stderr,
 *
 *	ignited[1234]: info: run 12: started
 *
 * Messages below the configured level are dropped.  With a log file, stderr
 * itself is pointed at it, so anything else written to stderr (sanitizer
 * reports, a library's complaints) lands there too; SIGHUP reopens it, which
 * is what logrotate expects.
 */
#ifndef IGNITED_LOG_H
#define IGNITED_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "ignite/protocol.h"

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
};

/* The level called name ("debug", "info", "warn", "error"), or -1. */
int log_level_parse(const char *name);

/*
 * Start logging at level.  file (may be NULL: plain stderr) is copied.
 * Returns 0, or an IG_PROTO_* code with a message in err when the file
 * cannot be opened.
 */
int log_init(enum log_level level, const char *file, ig_err *err);

/* Reopen the log file (SIGHUP).  Without one there is nothing to reopen:
 * it says so in the log.  Failures are logged to the old stream. */
void log_reopen(void);

/* Log a message; run_id > 0 puts "run N: " before it. */
void log_msg(enum log_level level, int64_t run_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_msg(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, 0, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, 0, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, 0, __VA_ARGS__)

#endif
