/*
 * job_data.c - the train and validation data a spec names.
 *
 * range:N is opened here (shuffled only when the spec asks, unlike
 * ig_data_range, which shuffles whenever the run has a seed); csv: and
 * msgpack: files are opened by daemon/dataset with the owner's file access.
 * Paths are taken as given: the client made them absolute.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/dataset.h"
#include "job/job_int.h"

/* ---- range:N ------------------------------------------------------------ */

struct range {
	int64_t n;
	bool shuffle;
};

static int64_t
range_size(void *ctx)
{
	return ((const struct range *)ctx)->n;
}

static int
range_get(void *ctx, const ig_fetch *f, ig_batch *out, char *err, size_t errlen)
{
	const struct range *r = ctx;

	(void)err;
	(void)errlen;
	/* as csv: shuffle without a run seed uses seed 0 */
	*out = (ig_batch){ .index = r->shuffle ?
		    ig_shuffle_index(f->seed != IG_NONE ? f->seed : 0, f->pass,
		        f->pos, r->n) :
		    f->pos };
	return 0;
}

static const ig_data_ops range_ops = {
	.size = range_size, .get = range_get, .destroy = free
};

static int
open_range(const ig_spec_data *d, struct data_source *train, ig_err *err)
{
	struct range *r = malloc(sizeof(*r));

	if (r == NULL)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "data: out of memory");
	*r = (struct range){ d->n, d->shuffle };
	*train = (struct data_source){ &range_ops, r };
	return 0;
}

/* ---- files -------------------------------------------------------------- */

/* Room for every csv param the spec maps to. */
#define MAX_PARAMS 8

struct file_open {
	const ig_spec_data *data;
	ig_param params[MAX_PARAMS];
	size_t nparams;
	struct data_source train, val;
};

static void
add_param(struct file_open *o, const char *key, ig_value v)
{
	o->params[o->nparams++] = (ig_param){ key, v };
}

/* data.columns as the csv source takes them: "name,name" or "0,3,5". */
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

static void
csv_params(struct file_open *o, char *columns)
{
	const ig_spec_data *d = o->data;

	add_param(
	    o, "header", (ig_value){ .type = IG_VALUE_BOOL, .u.b = d->header });
	if (d->label.name != NULL)
		add_param(o, "label",
		    (ig_value){ .type = IG_VALUE_STR, .u.s = d->label.name });
	else if (d->label.index != IG_NONE)
		add_param(o, "label",
		    (ig_value){ .type = IG_VALUE_INT, .u.i = d->label.index });
	if (columns != NULL)
		add_param(o, "columns",
		    (ig_value){ .type = IG_VALUE_STR, .u.s = columns });
	if (d->batch_size != IG_NONE)
		add_param(o, "batch_size",
		    (ig_value){ .type = IG_VALUE_INT, .u.i = d->batch_size });
	add_param(o, "shuffle",
	    (ig_value){ .type = IG_VALUE_BOOL, .u.b = d->shuffle });
	add_param(o, "val_fraction",
	    (ig_value){ .type = IG_VALUE_DOUBLE, .u.d = d->split });
	if (d->scale_standard)
		add_param(o, "scale",
		    (ig_value){ .type = IG_VALUE_STR, .u.s = "standard" });
	else if (d->scale != 0)
		add_param(o, "scale",
		    (ig_value){ .type = IG_VALUE_DOUBLE, .u.d = d->scale });
}

/* Runs with the owner's file access (job_owner.c). */
static int
open_file(void *arg, ig_err *err)
{
	struct file_open *o = arg;
	const char *path = o->data->path;
	ig_err e;
	int fd, rc;

	/* Open once first, so that a missing or forbidden file is reported
	 * against data.path, before the parser's own messages; without
	 * blocking, as a FIFO would.  What it is, the reader judges. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "data.path: cannot open "
		    "%s: %s",
		    path, strerror(errno));
	close(fd);
	if (o->data->kind == IG_DATA_CSV)
		rc = csv_open(
		    path, o->params, o->nparams, &o->train, &o->val, &e);
	else
		rc = msgpack_source_open(
		    path, o->params, o->nparams, &o->train, &e);
	/* INVALID_PARAMS whatever the source's code: what the protocol has
	 * said of bad data */
	return rc == 0 ?
	    0 :
	    ig_err_set(err, IG_PROTO_INVALID_PARAMS, "data: %s", e.message);
}

static int
check_msgpack(const ig_spec_data *d, ig_err *err)
{
	if (d->batch_size != IG_NONE && d->batch_size != 1)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "data.batch_size: a "
		    "msgpack file's batches are its records; leave it out");
	if (d->split > 0)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "data.split: a validation "
		    "split of msgpack data is not supported yet");
	return 0;
}

static int
open_file_as(const ig_spec_data *d, uid_t owner, struct data_source *train,
    struct data_source *val, ig_err *err)
{
	struct file_open o = { .data = d };
	char *columns = NULL;
	int rc;

	if (d->kind == IG_DATA_CSV) {
		if (d->ncolumns > 0 &&
		    (rc = join_columns(d, &columns, err)) != 0)
			return rc;
		csv_params(&o, columns);
	} else {
		if ((rc = check_msgpack(d, err)) != 0)
			return rc;
		add_param(&o, "shuffle",
		    (ig_value){ .type = IG_VALUE_BOOL, .u.b = d->shuffle });
	}
	rc = job_as_owner(owner, open_file, &o, "data.path", err);
	free(columns);
	*train = o.train;
	*val = o.val;
	return rc;
}

/* ---- into the job ------------------------------------------------------- */

/* Hand src to a new ig_data; src is consumed either way. */
static int
take(struct data_source *src, ig_data **out, ig_err *err)
{
	if (src->ops == NULL)
		return 0;
	if ((*out = ig_data_new(src->ops, src->ctx)) == NULL) {
		if (src->ops->destroy != NULL)
			src->ops->destroy(src->ctx);
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "data: out of memory");
	}
	return 0;
}

int
job_data_open(struct job *job, const ig_spec *spec, uid_t owner, ig_err *err)
{
	struct data_source train = { NULL, NULL }, val = { NULL, NULL };
	int rc = 0;

	switch (spec->data.kind) {
	case IG_DATA_RANGE:
		rc = open_range(&spec->data, &train, err);
		break;
	case IG_DATA_CSV:
	case IG_DATA_MSGPACK:
		rc = open_file_as(&spec->data, owner, &train, &val, err);
		break;
	default:
		/* none (checked by job_new); worker is refused there too */
		return 0;
	}
	if (rc != 0)
		return rc;
	if (train.ops != NULL)
		job->table = csv_source_table(&train);
	rc = take(&train, &job->train, err);
	/* val is consumed even when train failed */
	int rv = take(&val, &job->val, err);
	return rc != 0 ? rc : rv;
}
