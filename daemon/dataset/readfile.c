/*
 * readfile.c - read a whole file, gunzipping it when it is gzip data.
 *
 * zlib's gz* functions read plain files unchanged, so one path serves
 * "digits.csv.gz" and "iris.csv" alike.
 *
 * Data is named by users: the file is opened without blocking (a FIFO
 * would wait for a writer forever), judged on what was opened (no race
 * with a rename), and must be a regular file outside /proc, /sys and /dev,
 * no larger than the limit, gunzipped or not.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <zlib.h>

#include "dataset/readfile.h"

/* gzread takes an unsigned count: read at most this much per call. */
#define READ_CHUNK (1u << 30)

static uint64_t max_bytes = READ_FILE_MAX_DEFAULT;

void
read_file_limit(uint64_t bytes)
{
	max_bytes = bytes;
}

/* Is the opened fd a file of the kernel's (/proc, /sys, /dev) rather than
 * data?  Judged by its file system and by the path it was opened at. */
static bool
kernel_file(int fd)
{
	static const char *const dirs[] = { "/proc/", "/sys/", "/dev/" };
	char link[64], real[4096];
	struct statfs fs;
	ssize_t n;

	if (fstatfs(fd, &fs) == 0 &&
	    (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC ||
	        fs.f_type == DEVPTS_SUPER_MAGIC))
		return true;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, real, sizeof(real) - 1)) < 0)
		return false;
	real[n] = '\0';
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (strncmp(real, dirs[i], strlen(dirs[i])) == 0)
			return true;
	return false;
}

/* Open path for reading, if it is data; -1 with err set if not. */
static int
open_data(const char *path, ig_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1) {
		ig_err_set(err, IG_PROTO_INVALID_PARAMS, "%s: cannot open: %s",
		    path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0)
		ig_err_set(err, IG_PROTO_INVALID_PARAMS, "%s: cannot stat: %s",
		    path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: not a regular file (a FIFO, device or "
		    "directory cannot be data)",
		    path);
	else if (kernel_file(fd))
		ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: a file under /proc, /sys or /dev cannot "
		    "be data",
		    path);
	else if ((uint64_t)st.st_size > max_bytes)
		ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: %lld bytes, more than the %" PRIu64
		    " a data file may have (ignited --max-data-size)",
		    path, (long long)st.st_size, max_bytes);
	else
		return fd;
	close(fd);
	return -1;
}

/* Double *cap, keeping the contents; -1 when memory runs out. */
static int
grow(char **text, size_t *cap)
{
	char *p = *cap > SIZE_MAX / 2 ? NULL : realloc(*text, 2 * *cap);

	if (p == NULL)
		return -1;
	*text = p;
	*cap *= 2;
	return 0;
}

int
read_file(const char *path, char **buf, size_t *len, ig_err *err)
{
	size_t cap = 1 << 16, used = 0;
	char *text = malloc(cap);

	*buf = NULL;
	*len = 0;
	if (text == NULL) {
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "%s: out of memory", path);
	}
	int fd = open_data(path, err);
	if (fd == -1) {
		free(text);
		return err->code;
	}
	gzFile gz = gzdopen(fd, "rb");
	if (gz == NULL) {
		ig_err_set(err, IG_PROTO_INTERNAL, "%s: out of memory", path);
		close(fd);
		free(text);
		return err->code;
	}
	for (;;) {
		if (used > max_bytes) {
			ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: more than the %" PRIu64 " bytes a "
			    "data file may have, gunzipped (ignited "
			    "--max-data-size)",
			    path, max_bytes);
			goto fail;
		}
		/* keep a byte for the terminating NUL */
		if (used == cap - 1 && grow(&text, &cap) == -1) {
			ig_err_set(err, IG_PROTO_INTERNAL,
			    "%s: out of memory after %zu bytes", path, used);
			goto fail;
		}
		/* one byte past the limit is enough to know */
		uint64_t room = cap - used - 1;
		if (room > max_bytes + 1 - used)
			room = max_bytes + 1 - used;
		int got = gzread(gz, text + used,
		    room > READ_CHUNK ? READ_CHUNK : (unsigned)room);
		if (got < 0) {
			int zerr;
			const char *msg = gzerror(gz, &zerr);
			ig_err_set(err, IG_PROTO_INTERNAL, "%s: read error: %s",
			    path, zerr == Z_ERRNO ? strerror(errno) : msg);
			goto fail;
		}
		if (got == 0)
			break;
		used += (size_t)got;
	}
	/* zlib reports a cut-off gzip stream only through gzerror */
	int zerr;
	gzerror(gz, &zerr);
	if (zerr == Z_BUF_ERROR) {
		ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: gzip data ends early: file truncated?", path);
		goto fail;
	}
	gzclose(gz);
	text[used] = '\0';
	*buf = text;
	*len = used;
	return 0;
fail:
	gzclose(gz);
	free(text);
	return err->code;
}
