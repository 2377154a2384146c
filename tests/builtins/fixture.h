/*
 * fixture.h - shared helpers for the builtin and data source tests.
 */
#ifndef IGNITE_TESTS_BUILTINS_FIXTURE_H
#define IGNITE_TESTS_BUILTINS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "dataset/dataset.h"
#include "ignite/plugin.h"

/* Where Debian's python3-sklearn keeps its small datasets. */
#define SKLEARN_DATA "/usr/lib/python3/dist-packages/sklearn/datasets/data"
#define DIGITS_PATH SKLEARN_DATA "/digits.csv.gz"
#define IRIS_PATH SKLEARN_DATA "/iris.csv"

/* Write len bytes (gzip-compressed when gz) to a file called name in a
 * per-process temporary directory; returns its path (static storage,
 * valid until the next call).  Fails the test on error. */
const char *fx_file(const char *name, const void *data, size_t len, bool gz);
/* Same for a NUL-terminated text. */
const char *fx_text(const char *name, const char *text, bool gz);
/* Remove the files and the directory; for a group teardown. */
int fx_cleanup(void **state);

/* Param constructors, for building ig_param arrays inline. */
ig_param fx_int(const char *key, long long v);
ig_param fx_dbl(const char *key, double v);
ig_param fx_bool(const char *key, bool v);
ig_param fx_str(const char *key, const char *v);

/* Open a csv source and fail the test with the message if it errs. */
void fx_csv(const char *path, const ig_param *params, size_t n,
    struct data_source *train, struct data_source *val);
/* Fetch batch pos of pass (seed IG_NONE or >= 0) and fail on error. */
ig_batch fx_get(
    const struct data_source *s, long long seed, long long pass, long long pos);
/* Release an opened source (ops NULL: nothing). */
void fx_close(struct data_source *s);

#endif
