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
	char *file;             /* owned; NULL: plain stderr */
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
open_file(const char *file, char *err, size_t errlen)
{
	/* never through a link: as root, that would append to any file */
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0640);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open log file %s: %s", file,
		    errno == ELOOP ? "it is a symbolic link; give the real path" :
		    strerror(errno));
		return -1;
	}
	if (fd != STDERR_FILENO) {
		if (dup2(fd, STDERR_FILENO) < 0) {
			snprintf(err, errlen, "cannot redirect stderr to %s: %s",
			    file, strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

int
log_init(enum log_level level, const char *file, char *err, size_t errlen)
{
	logger.level = level;
	if (file == NULL)
		return 0;
	if (open_file(file, err, errlen) < 0)
		return -1;
	logger.file = strdup(file);
	if (logger.file == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void
log_reopen(void)
{
	char err[512];

	if (logger.file == NULL) {
		log_info("SIGHUP: logging to stderr, nothing to reopen");
		return;
	}
	if (open_file(logger.file, err, sizeof err) < 0) {
		log_error("SIGHUP: %s; still logging to the old file", err);
		return;
	}
	log_info("SIGHUP: reopened %s", logger.file);
}

void
log_msg(enum log_level level, int64_t run_id, const char *fmt, ...)
{
	char line[2048];
	int n, m;
	va_list ap;

	if (level < logger.level)
		return;
	n = snprintf(line, sizeof line, "ignited[%ld]: %s: ", (long)getpid(),
	    level_names[level]);
	if (run_id > 0)
		n += snprintf(line + n, sizeof line - (size_t)n, "run %lld: ",
		    (long long)run_id);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	/* Say so when a message was cut rather than cutting it silently. */
	if ((size_t)n + (size_t)m >= sizeof line - 1) {
		n = (int)sizeof line - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	} else
		n += m;
	line[n++] = '\n';
	/* One write per line, so lines from a forked worker never interleave
	 * mid-line.  A failed log write has nowhere to be reported. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
