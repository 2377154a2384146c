/*
 * range_source.c - range:N, the items 0 .. N-1 as batch indices.
 *
 * Shuffled only when the spec asks, unlike ig_data_range, which shuffles
 * whenever the run has a seed.
 */
#include <stdlib.h>

#include "dataset/dataset.h"

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
range_open(const ig_spec_data *d, struct data_source *train,
    struct data_source *val, ig_err *err)
{
	struct range *r = malloc(sizeof(*r));

	(void)val;
	if (r == NULL)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "data: out of memory");
	*r = (struct range){ d->n, d->shuffle };
	*train = (struct data_source){ &range_ops, r };
	return 0;
}

const struct dataset dataset_range = { "range", false, range_open };
