/*
 * log.c - leveled lines on stderr, optionally redirected to a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static struct {
	enum log_level level;
	char *file; /* owned; NULL: plain stderr */
} logger = { LOG_INFO, NULL };

int
log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

/* Point stderr at the log file.  dup2 keeps fd 2 itself valid throughout,
 * so a concurrent write never goes to a closed descriptor. */
static int
open_file(const char *file, ig_err *err)
{
	/* never through a link: as root, that would append to any file */
	int fd = open(
	    file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);

	if (fd < 0) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "cannot open log file %s: %s", file,
		    errno == ELOOP ?
		        "it is a symbolic link; give the real path" :
		        strerror(errno));
	}
	if (fd != STDERR_FILENO) {
		if (dup2(fd, STDERR_FILENO) < 0) {
			ig_err_set(err, IG_PROTO_INTERNAL,
			    "cannot redirect stderr to %s: %s", file,
			    strerror(errno));
			close(fd);
			return IG_PROTO_INTERNAL;
		}
		close(fd);
	}
	return 0;
}

int
log_init(enum log_level level, const char *file, ig_err *err)
{
	logger.level = level;
	if (file == NULL)
		return 0;
	if (open_file(file, err) != 0)
		return err->code;
	logger.file = strdup(file);
	if (logger.file == NULL) {
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	}
	return 0;
}

void
log_reopen(void)
{
	ig_err err;

	if (logger.file == NULL) {
		log_info("SIGHUP: logging to stderr, nothing to reopen");
		return;
	}
	if (open_file(logger.file, &err) != 0) {
		log_error(
		    "SIGHUP: %s; still logging to the old file", err.message);
		return;
	}
	log_info("SIGHUP: reopened %s", logger.file);
}

/*
 * Control characters in a message (a run's log line quotes its worker's
 * stderr) are written as \xHH: whoever reads the log in a terminal gets
 * no escape sequences, and one message stays one line.
 */
void
log_msg(enum log_level level, int64_t run_id, const char *fmt, ...)
{
	char msg[2048], line[2048];
	const char *p;
	int n, m;
	va_list ap;

	if (level < logger.level)
		return;
	n = snprintf(line, sizeof line, "ignited[%ld]: %s: ", (long)getpid(),
	    level_names[level]);
	if (run_id > 0)
		n += snprintf(line + n, sizeof line - (size_t)n,
		    "run %lld: ", (long long)run_id);
	va_start(ap, fmt);
	m = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* room for "\xHH" and for "...\n" */
	for (p = msg; *p != '\0' && (size_t)n < sizeof line - 8; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f)
			n += snprintf(
			    line + n, sizeof line - (size_t)n, "\\x%02x", c);
		else
			line[n++] = (char)c;
	}
	/* Say so when a message was cut rather than cutting it silently. */
	if (*p != '\0' || m >= (int)sizeof msg) {
		memcpy(line + n, "...", 3);
		n += 3;
	}
	line[n++] = '\n';
	/* One write per line, so lines from a forked worker never interleave
	 * mid-line.  A failed log write has nowhere to be reported. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
