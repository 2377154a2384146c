/*
 * meanstd.c - per-column mean and standard deviation, the seed's example.
 *
 * Ignite's docs compute an image set's mean and std with two Average
 * metrics, on the batch mean and the batch mean of squares.  Here a batch's
 * x is rows x cols; for every column j the output has two array fields:
 *
 *   "mean.J"   the column's values in this batch      (rows elements)
 *   "mean2.J"  their squares                          (rows elements)
 *
 * Our Average counts each element of an array, so Average("mean.J") over an
 * epoch is exactly the column's mean, and Average("mean2.J") its mean
 * square, however the batches are cut (a short last batch weighs what its
 * rows weigh; per-batch means would overweight it).  The daemon then
 * reports the population standard deviation
 *
 *   std.J = sqrt(max(0, mean2.J - mean.J * mean.J))
 *
 * (the max guards against rounding making a constant column's variance
 * slightly negative).  No params, no state.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "builtin/builtin.h"
#include "builtin/params.h"

struct meanstd {
	size_t cols; /* fixed by the first batch; 0 before it */
	char *names; /* 2 * cols NUL-terminated field names */
	ig_field *fields; /* 2 * cols: mean.0.., then mean2.0.. */
	ig_output out;
	double *values; /* 2 * cap doubles: column-major x, then x^2 */
	size_t cap; /* elements of each half of values */
};

static void *
meanstd_create(const ig_param *params, size_t n, char *err, size_t errlen)
{
	static const char *const known[] = { NULL };
	ig_err e;

	if (params_check("meanstd", params, n, known, &e) != 0) {
		params_abi_err(&e, err, errlen);
		return NULL;
	}
	struct meanstd *m = calloc(1, sizeof *m);
	if (m == NULL)
		snprintf(err, errlen, "meanstd: out of memory");
	return m;
}

static void
meanstd_destroy(void *self)
{
	struct meanstd *m = self;

	if (m == NULL)
		return;
	free(m->names);
	free(m->fields);
	free(m->values);
	free(m);
}

/* Name the 2 * cols fields once the column count is known. */
static int
meanstd_init_fields(struct meanstd *m, size_t cols)
{
	/* "mean2." plus up to 20 digits plus NUL */
	enum {
		NAME_MAX_LEN = 32
	};

	if (cols > SIZE_MAX / (2 * NAME_MAX_LEN))
		return -1;
	m->names = malloc(2 * cols * NAME_MAX_LEN);
	m->fields = calloc(2 * cols, sizeof *m->fields);
	if (m->names == NULL || m->fields == NULL) {
		free(m->names);
		free(m->fields);
		m->names = NULL;
		m->fields = NULL;
		return -1;
	}
	for (size_t k = 0; k < 2 * cols; k++) {
		char *name = m->names + k * NAME_MAX_LEN;
		snprintf(name, NAME_MAX_LEN, "%s.%zu",
		    k < cols ? "mean" : "mean2", k % cols);
		m->fields[k].name = name;
		m->fields[k].cols = 1;
	}
	m->cols = cols;
	m->out.fields = m->fields;
	m->out.nfields = 2 * cols;
	return 0;
}

/* Room for elems values in each half of m->values. */
static int
meanstd_reserve(struct meanstd *m, size_t elems)
{
	if (elems <= m->cap)
		return 0;
	if (elems > SIZE_MAX / (2 * sizeof(double)))
		return -1;
	double *v = realloc(m->values, 2 * elems * sizeof *v);
	if (v == NULL)
		return -1;
	m->values = v;
	m->cap = elems;
	return 0;
}

static int
meanstd_process(void *self, const ig_batch *batch, int mode,
    const ig_output **out, char *err, size_t errlen)
{
	struct meanstd *m = self;

	(void)mode;
	if (batch == NULL || batch->x == NULL || batch->rows == 0 ||
	    batch->cols == 0) {
		snprintf(err, errlen,
		    "meanstd: the batch has no x values; "
		    "use a csv: or msgpack: source whose records have x");
		return -1;
	}
	if (m->cols == 0 && meanstd_init_fields(m, batch->cols) == -1) {
		snprintf(err, errlen, "meanstd: out of memory for %zu columns",
		    batch->cols);
		return -1;
	}
	if (batch->cols != m->cols) {
		snprintf(err, errlen,
		    "meanstd: batch has %zu columns, earlier "
		    "batches had %zu",
		    batch->cols, m->cols);
		return -1;
	}
	size_t rows = batch->rows, cols = m->cols;
	if ((rows != 0 && cols > SIZE_MAX / rows) ||
	    meanstd_reserve(m, rows * cols) == -1) {
		snprintf(err, errlen,
		    "meanstd: out of memory for a %zu x %zu batch", rows, cols);
		return -1;
	}

	/* Transpose so each column's values are contiguous, as a field needs. */
	double *x = m->values, *x2 = m->values + m->cap;
	for (size_t i = 0; i < rows; i++) {
		for (size_t j = 0; j < cols; j++) {
			double v = batch->x[i * cols + j];
			x[j * rows + i] = v;
			x2[j * rows + i] = v * v;
		}
	}
	for (size_t j = 0; j < cols; j++) {
		m->fields[j].data = x + j * rows;
		m->fields[j].len = rows;
		m->fields[cols + j].data = x2 + j * rows;
		m->fields[cols + j].len = rows;
	}
	*out = &m->out;
	return 0;
}

const ig_plugin builtin_meanstd = {
	.abi_version = IG_PLUGIN_ABI_VERSION,
	.name = "meanstd",
	.create = meanstd_create,
	.process = meanstd_process,
	.destroy = meanstd_destroy,
};
