/*
 * job_data.c - the train and validation data a spec names, opened by its
 * kind's source (dataset/dataset.h): with the owner's file access when the
 * source reads files.  Paths are taken as given: the client made them
 * absolute.
 */
#include "dataset/dataset.h"
#include "job/job_int.h"

struct data_open {
	const struct dataset *ds;
	const ig_spec_data *data;
	struct data_source train, val;
};

/* Runs with the owner's file access when the source reads files. */
static int
open_source(void *arg, ig_err *err)
{
	struct data_open *o = arg;

	return o->ds->open(o->data, &o->train, &o->val, err);
}

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
	struct data_open o = { dataset_find(spec->data.kind), &spec->data,
		{ NULL, NULL }, { NULL, NULL } };
	int rc;

	/* none (checked by job_new); worker is refused there too */
	if (o.ds == NULL)
		return 0;
	rc = o.ds->files ?
	    job_as_owner(owner, open_source, &o, "data.path", err) :
	    open_source(&o, err);
	if (rc != 0)
		return rc;
	if (o.train.ops != NULL)
		job->table = csv_source_table(&o.train);
	rc = take(&o.train, &job->train, err);
	/* val is consumed even when train failed */
	int rv = take(&o.val, &job->val, err);
	return rc != 0 ? rc : rv;
}
