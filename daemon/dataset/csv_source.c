/*
 * csv_source.c - train and validation sources over one loaded CSV table.
 *
 * The table is loaded, split and scaled once at open; each source is then a
 * list of row numbers (its split) cut into batches, and get copies the rows
 * of one batch, in the pass's order, into the source's batch buffer.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin/params.h"
#include "dataset/dataset.h"

/* What the train and validation sources share. */
struct csv_table {
	int refs; /* sources alive; not atomic: one thread */
	struct data_table table;
	size_t *split; /* table.rows row numbers: train, then val */
	size_t ntrain;
};

struct csv_source {
	struct csv_table *shared;
	const size_t *rows; /* this source's rows, into shared->split */
	size_t nrows;
	size_t batch_size;
	bool drop_last;
	bool shuffle;
	double *x; /* batch_size x cols */
	double *y; /* batch_size labels, or NULL */
};

static void
csv_table_release(struct csv_table *t)
{
	if (t == NULL || --t->refs > 0)
		return;
	data_table_free(&t->table);
	free(t->split);
	free(t);
}

static void
csv_destroy(void *ctx)
{
	struct csv_source *s = ctx;

	if (s == NULL)
		return;
	csv_table_release(s->shared);
	free(s->x);
	free(s->y);
	free(s);
}

static int64_t
csv_size(void *ctx)
{
	const struct csv_source *s = ctx;
	size_t n = s->nrows / s->batch_size;

	if (!s->drop_last && s->nrows % s->batch_size != 0)
		n++;
	return (int64_t)n;
}

static int
csv_get(void *ctx, const ig_fetch *f, ig_batch *out, char *err, size_t errlen)
{
	struct csv_source *s = ctx;
	const struct data_table *t = &s->shared->table;

	if (f->pos < 0 || f->pos >= csv_size(s)) {
		snprintf(err, errlen, "csv: batch %lld out of range [0, %lld)",
		    (long long)f->pos, (long long)csv_size(s));
		return -1;
	}
	size_t first = (size_t)f->pos * s->batch_size;
	size_t count =
	    s->nrows - first < s->batch_size ? s->nrows - first : s->batch_size;
	int64_t seed = f->seed != IG_NONE ? f->seed : 0;

	for (size_t k = 0; k < count; k++) {
		size_t at = first + k;
		if (s->shuffle)
			at = (size_t)ig_shuffle_index(
			    seed, f->pass, (int64_t)at, (int64_t)s->nrows);
		size_t row = s->rows[at];
		memcpy(s->x + k * t->cols, t->x + row * t->cols,
		    t->cols * sizeof *s->x);
		if (s->y != NULL)
			s->y[k] = t->y[row];
	}
	*out = (ig_batch){
		.index = f->pos,
		.rows = count,
		.cols = t->cols,
		.x = s->x,
		.y = s->y,
	};
	return 0;
}

static const ig_data_ops csv_ops = {
	.size = csv_size,
	.get = csv_get,
	.destroy = csv_destroy,
};

const struct data_table *
csv_source_table(const struct data_source *src)
{
	if (src->ops != &csv_ops)
		return NULL;
	return &((const struct csv_source *)src->ctx)->shared->table;
}

/* ---- opening ----------------------------------------------------------- */

struct csv_params {
	struct data_table_options table;
	char label_buf[32]; /* an integer label param, as text */
	int64_t batch_size;
	bool drop_last, shuffle;
	double scale; /* 0: none */
	bool standardise;
	double val_fraction;
	int64_t split_seed;
};

/* label may be an index (int) or a name (string). */
static int
read_label(struct csv_params *p, const ig_param *params, size_t n, ig_err *err)
{
	const ig_value *v = params_find(params, n, "label");

	if (v == NULL)
		return 0;
	if (v->type == IG_VALUE_STR) {
		p->table.label = v->u.s;
		return 0;
	}
	if (v->type == IG_VALUE_INT) {
		snprintf(p->label_buf, sizeof p->label_buf, "%lld",
		    (long long)v->u.i);
		p->table.label = p->label_buf;
		return 0;
	}
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "csv: param label must be a column name or index, "
	    "got %s",
	    param_type_name(v->type));
}

/* header is true, false or "auto". */
static int
read_header(struct csv_params *p, const ig_param *params, size_t n, ig_err *err)
{
	const ig_value *v = params_find(params, n, "header");

	if (v == NULL ||
	    (v->type == IG_VALUE_STR && strcmp(v->u.s, "auto") == 0))
		p->table.header = HEADER_AUTO;
	else if (v->type == IG_VALUE_BOOL)
		p->table.header = v->u.b ? HEADER_YES : HEADER_NO;
	else {
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "csv: param header must be true, false or "
		    "\"auto\"");
	}
	return 0;
}

/* scale is a number or "standard". */
static int
read_scale(struct csv_params *p, const ig_param *params, size_t n, ig_err *err)
{
	const ig_value *v = params_find(params, n, "scale");

	if (v == NULL)
		return 0;
	if (v->type == IG_VALUE_STR && strcmp(v->u.s, "standard") == 0) {
		p->standardise = true;
		return 0;
	}
	if (params_double("csv", params, n, "scale", 0, &p->scale, err) != 0 ||
	    !(p->scale != 0 && isfinite(p->scale))) {
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "csv: param scale must be a non-zero number "
		    "or \"standard\"");
	}
	return 0;
}

static int
read_params(struct csv_params *p, const ig_param *params, size_t n, ig_err *err)
{
	static const char *const known[] = { "header", "label", "columns",
		"batch_size", "drop_last", "shuffle", "scale", "val_fraction",
		"split_seed", NULL };

	memset(p, 0, sizeof *p);
	if (params_check("csv", params, n, known, err) != 0 ||
	    read_header(p, params, n, err) != 0 ||
	    read_label(p, params, n, err) != 0 ||
	    read_scale(p, params, n, err) != 0 ||
	    params_str("csv", params, n, "columns", NULL, &p->table.columns,
	        err) != 0 ||
	    params_int(
	        "csv", params, n, "batch_size", 1, &p->batch_size, err) != 0 ||
	    params_bool("csv", params, n, "drop_last", false, &p->drop_last,
	        err) != 0 ||
	    params_bool("csv", params, n, "shuffle", false, &p->shuffle, err) ==
	        -1 ||
	    params_double("csv", params, n, "val_fraction", 0, &p->val_fraction,
	        err) != 0 ||
	    params_int(
	        "csv", params, n, "split_seed", 0, &p->split_seed, err) != 0)
		return -1;
	if (p->batch_size < 1 || p->batch_size > INT32_MAX) {
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "csv: param batch_size must be in [1, %d], "
		    "got %lld",
		    INT32_MAX, (long long)p->batch_size);
	}
	if (!(p->val_fraction >= 0 && p->val_fraction < 1)) {
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "csv: param val_fraction must be in [0, 1), "
		    "got %g",
		    p->val_fraction);
	}
	if (p->split_seed < 0) {
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "csv: param split_seed must be >= 0");
	}
	return 0;
}

static int
compare_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* Hold out the validation rows: see val_fraction in dataset.h. */
static int
split_rows(struct csv_table *ct, const char *path, const struct csv_params *p,
    ig_err *err)
{
	size_t rows = ct->table.rows;
	size_t nval = (size_t)llround(p->val_fraction * (double)rows);

	if (p->val_fraction > 0 && (nval == 0 || nval == rows)) {
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: val_fraction %g of %zu rows leaves %s", path,
		    p->val_fraction, rows,
		    nval == 0 ? "no validation rows" : "no training rows");
	}
	ct->split = malloc(rows * sizeof *ct->split);
	if (ct->split == NULL) {
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "%s: out of memory", path);
	}
	int64_t seed = nval > 0 ? p->split_seed : IG_NONE;
	for (size_t i = 0; i < rows; i++)
		ct->split[i] = (size_t)ig_shuffle_index(
		    seed, 0, (int64_t)i, (int64_t)rows);
	ct->ntrain = rows - nval;
	qsort(ct->split, ct->ntrain, sizeof *ct->split, compare_size);
	qsort(ct->split + ct->ntrain, nval, sizeof *ct->split, compare_size);
	return 0;
}

/* Apply the scale param to every row, with statistics from train rows. */
static void
scale_features(struct csv_table *ct, const struct csv_params *p)
{
	struct data_table *t = &ct->table;

	for (size_t j = 0; j < t->cols; j++) {
		double shift = 0, div = p->scale != 0 ? p->scale : 1;
		if (p->standardise) {
			/* two passes: exact for columns with a large mean */
			double sum = 0, dev2 = 0;
			for (size_t i = 0; i < ct->ntrain; i++)
				sum += t->x[ct->split[i] * t->cols + j];
			shift = sum / (double)ct->ntrain;
			for (size_t i = 0; i < ct->ntrain; i++) {
				double d =
				    t->x[ct->split[i] * t->cols + j] - shift;
				dev2 += d * d;
			}
			/* a constant column is only centred */
			div = dev2 > 0 ? sqrt(dev2 / (double)ct->ntrain) : 1;
		}
		for (size_t i = 0; i < t->rows; i++) {
			double *v = &t->x[i * t->cols + j];
			*v = (*v - shift) / div;
		}
	}
}

/* The train source follows shuffle and drop_last; the validation source
 * must see every row, in a fixed order. */
static struct csv_source *
source_new(struct csv_table *ct, const size_t *rows, size_t nrows,
    const struct csv_params *p, bool train)
{
	struct csv_source *s = calloc(1, sizeof *s);
	size_t bs = (size_t)p->batch_size, cols = ct->table.cols;

	if (s == NULL)
		return NULL;
	/* a batch never holds more rows than the source has */
	if (bs > nrows)
		bs = nrows;
	s->x = cols <= SIZE_MAX / sizeof(double) / bs ?
	    malloc(bs * cols * sizeof *s->x) :
	    NULL;
	if (ct->table.y != NULL)
		s->y = malloc(bs * sizeof *s->y);
	if (s->x == NULL || (ct->table.y != NULL && s->y == NULL)) {
		free(s->x);
		free(s->y);
		free(s);
		return NULL;
	}
	s->shared = ct;
	ct->refs++;
	s->rows = rows;
	s->nrows = nrows;
	s->batch_size = (size_t)p->batch_size;
	s->drop_last = train && p->drop_last;
	s->shuffle = train && p->shuffle;
	return s;
}

int
csv_open(const char *path, const ig_param *params, size_t n,
    struct data_source *train, struct data_source *val, ig_err *err)
{
	struct csv_params p;
	struct csv_table *ct;

	*train = *val = (struct data_source){ NULL, NULL };
	if (read_params(&p, params, n, err) != 0)
		return err->code;
	if ((ct = calloc(1, sizeof *ct)) == NULL) {
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "%s: out of memory", path);
	}
	/* refs stays 1 while opening, so a failure below frees ct once */
	ct->refs = 1;
	if (data_table_load(&ct->table, path, &p.table, err) != 0 ||
	    split_rows(ct, path, &p, err) != 0)
		goto fail;
	scale_features(ct, &p);
	size_t nval = ct->table.rows - ct->ntrain;
	if (p.drop_last && ct->ntrain < (size_t)p.batch_size) {
		ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: drop_last with batch_size %lld and %zu "
		    "training rows leaves no batch",
		    path, (long long)p.batch_size, ct->ntrain);
		goto fail;
	}

	struct csv_source *ts = source_new(ct, ct->split, ct->ntrain, &p, true);
	struct csv_source *vs = nval == 0 ?
	    NULL :
	    source_new(ct, ct->split + ct->ntrain, nval, &p, false);
	if (ts == NULL || (nval != 0 && vs == NULL)) {
		csv_destroy(ts);
		csv_destroy(vs);
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "%s: out of memory for batches", path);
		goto fail;
	}
	*train = (struct data_source){ &csv_ops, ts };
	if (vs != NULL)
		*val = (struct data_source){ &csv_ops, vs };
	csv_table_release(ct);
	return 0;
fail:
	csv_table_release(ct);
	return err->code;
}

/* ---- from a run spec ---------------------------------------------------- */

/* Room for every csv param the spec maps to. */
#define SPEC_PARAMS 8

static void
add_param(ig_param *params, size_t *n, const char *key, ig_value v)
{
	params[(*n)++] = (ig_param){ key, v };
}

/* data.columns as csv_open takes them: "name,name" or "0,3,5". */
static int
join_columns(const ig_spec_data *d, char **out, ig_err *err)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < d->ncolumns; i++) {
		if (d->columns[i].name != NULL &&
		    strchr(d->columns[i].name, ',') != NULL)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "data.columns[%zu]: a "
			    "column name cannot contain a comma",
			    i);
		len +=
		    (d->columns[i].name != NULL ? strlen(d->columns[i].name) :
		                                  20) +
		    1;
	}
	if ((s = p = malloc(len)) == NULL)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "data: out of memory");
	for (size_t i = 0; i < d->ncolumns; i++) {
		const char *sep = i > 0 ? "," : "";
		if (d->columns[i].name != NULL)
			p += sprintf(p, "%s%s", sep, d->columns[i].name);
		else
			p += sprintf(
			    p, "%s%lld", sep, (long long)d->columns[i].index);
	}
	*p = '\0';
	*out = s;
	return 0;
}

static size_t
spec_params(const ig_spec_data *d, char *columns, ig_param *params)
{
	size_t n = 0;

	add_param(params, &n, "header",
	    (ig_value){ .type = IG_VALUE_BOOL, .u.b = d->header });
	if (d->label.name != NULL)
		add_param(params, &n, "label",
		    (ig_value){ .type = IG_VALUE_STR, .u.s = d->label.name });
	else if (d->label.index != IG_NONE)
		add_param(params, &n, "label",
		    (ig_value){ .type = IG_VALUE_INT, .u.i = d->label.index });
	if (columns != NULL)
		add_param(params, &n, "columns",
		    (ig_value){ .type = IG_VALUE_STR, .u.s = columns });
	if (d->batch_size != IG_NONE)
		add_param(params, &n, "batch_size",
		    (ig_value){ .type = IG_VALUE_INT, .u.i = d->batch_size });
	add_param(params, &n, "shuffle",
	    (ig_value){ .type = IG_VALUE_BOOL, .u.b = d->shuffle });
	add_param(params, &n, "val_fraction",
	    (ig_value){ .type = IG_VALUE_DOUBLE, .u.d = d->split });
	if (d->scale_standard)
		add_param(params, &n, "scale",
		    (ig_value){ .type = IG_VALUE_STR, .u.s = "standard" });
	else if (d->scale != 0)
		add_param(params, &n, "scale",
		    (ig_value){ .type = IG_VALUE_DOUBLE, .u.d = d->scale });
	return n;
}

static int
csv_spec_open(const ig_spec_data *d, struct data_source *train,
    struct data_source *val, ig_err *err)
{
	ig_param params[SPEC_PARAMS];
	char *columns = NULL;
	ig_err e;
	size_t n;
	int rc;

	if (d->ncolumns > 0 && (rc = join_columns(d, &columns, err)) != 0)
		return rc;
	n = spec_params(d, columns, params);
	if ((rc = dataset_check_path(d->path, err)) == 0 &&
	    csv_open(d->path, params, n, train, val, &e) != 0)
		rc = ig_err_set(
		    err, IG_PROTO_INVALID_PARAMS, "data: %s", e.message);
	free(columns);
	return rc;
}

const struct dataset dataset_csv = { "csv", true, csv_spec_open };
