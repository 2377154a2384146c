/*
 * data.c - data sources and the deterministic shuffle.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct ig_data {
	const ig_data_ops *ops;
	void *ctx;
};

ig_data *
ig_data_new(const ig_data_ops *ops, void *ctx)
{
	ig_data *d;

	if (ops == NULL || ops->size == NULL ||
	    (ops->get == NULL && (ops->next == NULL || ops->rewind == NULL)))
		return NULL;
	if ((d = malloc(sizeof(*d))) == NULL)
		return NULL;
	d->ops = ops;
	d->ctx = ctx;
	return d;
}

void
ig_data_free(ig_data *d)
{
	if (d == NULL)
		return;
	if (d->ops->destroy != NULL)
		d->ops->destroy(d->ctx);
	free(d);
}

int64_t
ig_data_size(const ig_data *d)
{
	return d->ops->size(d->ctx);
}

bool
engine_data_random_access(const ig_data *d)
{
	return d->ops->get != NULL && d->ops->size(d->ctx) >= 0;
}

int
engine_data_restart(ig_data *d, char *err, size_t errlen)
{
	if (engine_data_random_access(d))
		return 0;
	return d->ops->rewind(d->ctx, err, errlen);
}

int
engine_data_get(
    ig_data *d, const ig_fetch *f, ig_batch *out, char *err, size_t errlen)
{
	return d->ops->get(d->ctx, f, out, err, errlen);
}

int
engine_data_next(ig_data *d, ig_batch *out, char *err, size_t errlen)
{
	return d->ops->next(d->ctx, out, err, errlen);
}

/* ---- the shuffle ----------------------------------------------------------- */

static uint64_t
mix64(uint64_t x)
{
	/* splitmix64's finaliser: a cheap, well-distributed bijection */
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/*
 * A keyed permutation of [0, n) without a table: a balanced Feistel network
 * on the smallest even-bit domain >= n, with cycle walking to stay inside
 * [0, n).  Memory is O(1) whatever n is, so a hosted engine stays small.
 */
int64_t
ig_shuffle_index(int64_t seed, int64_t pass, int64_t pos, int64_t n)
{
	if (seed < 0 || n <= 1)
		return pos;
	unsigned half = 1;
	while ((UINT64_C(1) << (2 * half)) < (uint64_t)n)
		half++;
	uint64_t mask = (UINT64_C(1) << half) - 1;
	uint64_t key = mix64((uint64_t)seed ^
	    mix64((uint64_t)pass + UINT64_C(0x9e3779b97f4a7c15)));
	uint64_t x = (uint64_t)pos;

	do {
		uint64_t l = x >> half, r = x & mask;
		for (unsigned round = 0; round < 4; round++) {
			uint64_t t = l ^
			    (mix64(r ^ key ^ ((uint64_t)round << 56)) & mask);
			l = r;
			r = t;
		}
		x = (l << half) | r;
	} while (x >= (uint64_t)n);
	return (int64_t)x;
}

/* ---- built-in sources ------------------------------------------------------- */

struct table {
	ig_batch *v; /* NULL for a range */
	int64_t n;
	int64_t pos; /* sequential sources */
	bool restartable;
};

static int64_t
table_size(void *ctx)
{
	return ((struct table *)ctx)->n;
}

static int64_t
iter_size(void *ctx)
{
	(void)ctx;
	return IG_NONE;
}

static void
table_fill(const struct table *t, int64_t i, ig_batch *out)
{
	/* a range fills only the index: the engine zeroes the batch when the
	 * data changes, and nothing else of it is ever set */
	if (t->v != NULL)
		*out = t->v[i];
	out->index = i;
}

static int
table_get(void *ctx, const ig_fetch *f, ig_batch *out, char *err, size_t errlen)
{
	struct table *t = ctx;

	(void)err;
	(void)errlen;
	table_fill(t, ig_shuffle_index(f->seed, f->pass, f->pos, t->n), out);
	return 0;
}

static int
iter_rewind(void *ctx, char *err, size_t errlen)
{
	struct table *t = ctx;

	(void)err;
	(void)errlen;
	/* A one-shot iterator, like a Python generator, stays where it is. */
	if (t->restartable)
		t->pos = 0;
	return 0;
}

static int
iter_next(void *ctx, ig_batch *out, char *err, size_t errlen)
{
	struct table *t = ctx;

	(void)err;
	(void)errlen;
	if (t->pos >= t->n)
		return 0;
	table_fill(t, t->pos++, out);
	return 1;
}

static void
table_destroy(void *ctx)
{
	struct table *t = ctx;

	free(t->v);
	free(t);
}

static const ig_data_ops table_ops = {
	.size = table_size,
	.get = table_get,
	.destroy = table_destroy,
};
static const ig_data_ops iter_ops = {
	.size = iter_size,
	.rewind = iter_rewind,
	.next = iter_next,
	.destroy = table_destroy,
};

static ig_data *
table_new(
    const ig_data_ops *ops, const ig_batch *v, int64_t n, bool restartable)
{
	struct table *t;
	ig_data *d;

	if (n < 0 || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->n = n;
	t->restartable = restartable;
	if (v != NULL && n > 0) {
		if ((t->v = malloc((size_t)n * sizeof(*t->v))) == NULL) {
			free(t);
			return NULL;
		}
		memcpy(t->v, v, (size_t)n * sizeof(*t->v));
	}
	if ((d = ig_data_new(ops, t)) == NULL)
		table_destroy(t);
	return d;
}

ig_data *
ig_data_range(int64_t n)
{
	return table_new(&table_ops, NULL, n, true);
}

ig_data *
ig_data_array(const ig_batch *batches, size_t n)
{
	return table_new(&table_ops, batches, (int64_t)n, true);
}

ig_data *
ig_data_iterator(const ig_batch *batches, size_t n, bool restartable)
{
	return table_new(&iter_ops, batches, (int64_t)n, restartable);
}
