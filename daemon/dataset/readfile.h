/*
 * readfile.h - read a whole file, gunzipping it when it is gzip data.
 */
#ifndef IGNITED_DATASET_READFILE_H
#define IGNITED_DATASET_READFILE_H

#include <stddef.h>

/* Read path into *buf (malloc'd, the caller frees; NUL-terminated after
 * *len bytes, so text can be parsed in place).  On failure err says
 * "PATH: why" and *buf is NULL. */
int ig_read_file(const char *path, char **buf, size_t *len,
                 char *err, size_t errlen);

#endif
