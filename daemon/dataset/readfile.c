/*
 * readfile.c - read a whole file, gunzipping it when it is gzip data.
 *
 * zlib's gz* functions read plain files unchanged, so one path serves
 * "digits.csv.gz" and "iris.csv" alike.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dataset/readfile.h"

/* gzread takes an unsigned count: read at most this much per call. */
#define READ_CHUNK (1u << 30)

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
ig_read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	size_t cap = 1 << 16, used = 0;
	char *text = malloc(cap);

	*buf = NULL;
	*len = 0;
	if (text == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	errno = 0;
	gzFile gz = gzopen(path, "rb");
	if (gz == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		         errno != 0 ? strerror(errno) : "out of memory");
		free(text);
		return -1;
	}
	for (;;) {
		/* keep a byte for the terminating NUL */
		if (used == cap - 1 && grow(&text, &cap) == -1) {
			snprintf(err, errlen, "%s: out of memory after %zu bytes",
			         path, used);
			goto fail;
		}
		size_t room = cap - used - 1;
		int got = gzread(gz, text + used,
		                 room > READ_CHUNK ? READ_CHUNK : (unsigned)room);
		if (got < 0) {
			int zerr;
			const char *msg = gzerror(gz, &zerr);
			snprintf(err, errlen, "%s: read error: %s", path,
			         zerr == Z_ERRNO ? strerror(errno) : msg);
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
		snprintf(err, errlen, "%s: gzip data ends early: file truncated?",
		         path);
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
	return -1;
}
