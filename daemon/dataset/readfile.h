/*
 * readfile.h - read a whole file, gunzipping it when it is gzip data.
 */
#ifndef IGNITED_DATASET_READFILE_H
#define IGNITED_DATASET_READFILE_H

#include <stddef.h>
#include <stdint.h>

#include "ignite/protocol.h"

/* The most bytes a data file may have, gunzipped: 4 GiB unless set. */
#define READ_FILE_MAX_DEFAULT ((uint64_t)4 << 30)

/* Set the limit for every later read; once, before threads read. */
void read_file_limit(uint64_t bytes);

/* Read path into *buf (malloc'd, the caller frees; NUL-terminated after
 * *len bytes, so text can be parsed in place).  Only a regular file
 * outside /proc, /sys and /dev within the limit is read; a FIFO or device
 * is refused without blocking.  0, or an IG_PROTO_* code with err saying
 * "PATH: why" and *buf NULL. */
int read_file(const char *path, char **buf, size_t *len, ig_err *err);

#endif
