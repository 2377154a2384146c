/*
 * store_series.c - reading what runs recorded: metric history (a page of
 * points, downsampled when asked), events and the tail of a run's log,
 * as plain arrays the caller owns.  The read connection and its
 * statements are store_reader.c's.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/chunk.h"
#include "store/store_int.h"

/* ---- metric history ---------------------------------------------------- */

void
store_series_free(struct store_series_data *series, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(series[i].name);
		free(series[i].epoch);
		free(series[i].buckets);
	}
	free(series);
}

int
store_series_list(struct store_reader *r, int64_t run_id,
    struct store_series_data **series, size_t *n)
{
	sqlite3_stmt *st = reader_stmt(r, RS_SERIES);
	struct store_series_data *v = NULL, *nv;
	size_t cap = 0, count = 0;
	bool nomem = false;
	int rc;

	if (st == NULL)
		return reader_fail(
		    r, sqlite3_errcode(r->db), "list metric series");
	sqlite3_bind_int64(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nv = reader_grow(v, &cap, count + 1, sizeof(*v))) ==
		    NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		memset(&v[count], 0, sizeof(v[count]));
		v[count].id = sqlite3_column_int64(st, 0);
		v[count].name = reader_text(st, 1, &nomem);
		count++;
		if (nomem) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	if ((rc = reader_finish(st, rc)) != 0) {
		store_series_free(v, count);
		return reader_fail(r, rc, "list metric series");
	}
	*series = v;
	*n = count;
	return 0;
}

/* The column of s the query's axis is. */
static const int64_t *
axis_col(const struct store_series_data *s, enum store_axis axis)
{
	return axis == STORE_AXIS_EPOCH ? s->epoch : s->iteration;
}

/* Point j of s to point i, every column. */
static void
copy_point(struct store_series_data *s, size_t i, size_t j)
{
	s->epoch[i] = s->epoch[j];
	s->iteration[i] = s->iteration[j];
	s->time[i] = s->time[j];
	s->value[i] = s->value[j];
}

/* Room for cap points in s's columns, its first n kept: one block of
 * four columns.  0, or -1 when out of memory (s unchanged). */
static int
cols_alloc(struct store_series_data *s, size_t cap)
{
	int64_t *b;

	if (cap > SIZE_MAX / (4 * sizeof(*b)) ||
	    (b = ig_mem_alloc_large(4 * cap * sizeof(*b))) == NULL)
		return -1;
	if (s->n > 0) {
		memcpy(b, s->epoch, s->n * sizeof(*b));
		memcpy(b + cap, s->iteration, s->n * sizeof(*b));
		memcpy(b + 2 * cap, s->time, s->n * sizeof(*b));
		memcpy(b + 3 * cap, s->value, s->n * sizeof(*b));
	}
	free(s->epoch);
	s->epoch = b;
	s->iteration = b + cap;
	s->time = (double *)(b + 2 * cap);
	s->value = (double *)(b + 3 * cap);
	return 0;
}

/* Downsample s's points in place to at most max points (see store.h). */
static size_t
downsample(struct store_series_data *s, const struct store_query *q)
{
	const int64_t *ax = axis_col(s, q->axis);
	size_t i, j, n = s->n, out = 0;
	uint64_t width, bucket;
	int64_t lo, hi;
	double sum;

	if (q->max_points == 0 || n <= q->max_points)
		return n;
	lo = ax[0];
	hi = ax[n - 1];
	/* (hi - lo) / width < max_points, so at most max_points buckets. */
	width = (uint64_t)(hi - lo) / q->max_points + 1;
	for (i = 0; i < n; i = j) {
		bucket = (uint64_t)(ax[i] - lo) / width;
		sum = 0;
		for (j = i; j < n && (uint64_t)(ax[j] - lo) / width == bucket;
		     j++)
			sum += s->value[j];
		copy_point(s, out, j - 1);
		if (q->downsample == STORE_DS_MEAN)
			s->value[out] = sum / (double)(j - i);
		out++;
	}
	return out;
}

/* Bind a statement for series s and the query's range. */
static sqlite3_stmt *
points_stmt(struct store_reader *r, enum rstmt_id id,
    const struct store_query *q, int64_t series)
{
	sqlite3_stmt *st = reader_stmt(r, id);

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, series);
		sqlite3_bind_int64(st, 2, q->from);
		sqlite3_bind_int64(st, 3, q->to);
	}
	return st;
}

/* Decode the chunk in column 0 of st's row onto the end of s's columns
 * (room for *cap points, grown when short): those of q (all without q),
 * the others untouched. */
static int
decode_onto(sqlite3_stmt *st, const struct store_query *q,
    struct store_series_data *s, size_t *cap)
{
	unsigned cols = q != NULL && q->columns != 0 ? q->columns : IG_COL_ALL;
	const uint8_t *b = sqlite3_column_blob(st, 0);
	size_t len = (size_t)sqlite3_column_bytes(st, 0);
	struct chunk_info ci;
	struct chunk_out out;
	ig_err err;

	if (chunk_info(b, len, &ci, &err) != 0)
		return SQLITE_CORRUPT;
	if (s->n + ci.n > *cap) {
		size_t c = *cap ? 2 * *cap : 16;

		if (c < s->n + ci.n)
			c = s->n + ci.n;
		if (cols_alloc(s, c) != 0)
			return SQLITE_NOMEM;
		*cap = c;
	}
	if (q != NULL && q->axis == STORE_AXIS_EPOCH)
		cols |= IG_COL_EPOCH;
	out = (struct chunk_out){ s->iteration,
		cols & IG_COL_EPOCH ? s->epoch : NULL,
		cols & IG_COL_TIME ? s->time : NULL,
		cols & IG_COL_VALUE ? s->value : NULL, 8, s->n, *cap };
	if (chunk_decode(b, len, &out, &err) != 0)
		return SQLITE_CORRUPT;
	s->n = out.n;
	return SQLITE_OK;
}

/* Keep of s's points [start, n) those in the query's range (a chunk's
 * ends may pass it). */
static void
clip(struct store_series_data *s, size_t start, const struct store_query *q)
{
	const int64_t *ax = axis_col(s, q->axis);
	size_t i = start, end = s->n, k = 0;

	while (i < end && ax[i] < q->from)
		i++;
	while (end > i && ax[end - 1] > q->to)
		end--;
	if (i > start) {
		k = (end - i) * sizeof(int64_t);
		memmove(&s->epoch[start], &s->epoch[i], k);
		memmove(&s->iteration[start], &s->iteration[i], k);
		memmove(&s->time[start], &s->time[i], k);
		memmove(&s->value[start], &s->value[i], k);
	}
	s->n = start + (end - i);
}

/* The chunks st gives onto s, decoded and clipped, until limit points (0:
 * all). */
static int
read_chunks(sqlite3_stmt *st, const struct store_query *q, size_t limit,
    struct store_series_data *s, size_t *cap)
{
	size_t start;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		start = s->n;
		if ((rc = decode_onto(st, q, s, cap)) != SQLITE_OK)
			break;
		clip(s, start, q);
		if (limit > 0 && s->n >= limit) {
			rc = SQLITE_DONE;
			break;
		}
	}
	return reader_finish(st, rc);
}

/* The last point of the range alone: a seek, where downsampling would
 * read the whole range; from the last chunk's row when that point is in
 * the range (loading every stored run's last metrics at start decodes
 * nothing). */
static int
read_last(struct store_reader *r, const struct store_query *q,
    struct store_series_data *s)
{
	sqlite3_stmt *st = points_stmt(r,
	    q->axis == STORE_AXIS_EPOCH ? RS_LAST_CHUNK_BY_EPOCH :
	                                  RS_LAST_CHUNK_BY_ITERATION,
	    q, s->id);
	size_t cap = 0;
	int rc;

	if (st == NULL)
		return sqlite3_errcode(r->db);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return reader_finish(st, rc);
	if ((q->axis == STORE_AXIS_EPOCH ?
	            sqlite3_column_int64(st, 1) :
	            sqlite3_column_int64(st, 2)) <= q->to) {
		if (cols_alloc(s, 1) != 0) {
			sqlite3_reset(st);
			return SQLITE_NOMEM;
		}
		s->epoch[0] = sqlite3_column_int64(st, 1);
		s->iteration[0] = sqlite3_column_int64(st, 2);
		s->time[0] = sqlite3_column_double(st, 3);
		s->value[0] = store_unbits(sqlite3_column_int64(st, 4));
		s->n = 1;
		sqlite3_reset(st);
		return SQLITE_OK;
	}
	/* past the range: decode it */
	if ((rc = decode_onto(st, NULL, s, &cap)) == SQLITE_OK)
		clip(s, 0, q);
	sqlite3_reset(st);
	if (rc == SQLITE_OK && s->n > 1) {
		copy_point(s, 0, s->n - 1);
		s->n = 1;
	}
	return rc;
}

/* ---- min/max/last buckets ---- */

struct fold {
	int64_t lo, hi, width; /* bucket k: [lo + k * width, ...) */
	struct chunk_bucket *b;
	size_t nb;
};

/* Fold n values (lo and hi their min and max but NaN, last the one at
 * iteration it) into their bucket; as chunk_buckets() does. */
static void
fold_into(
    struct fold *f, int64_t it, size_t n, double lo, double hi, double last)
{
	struct chunk_bucket *k =
	    &f->b[(uint64_t)(it - f->lo) / (uint64_t)f->width];

	if (k->n == 0)
		k->min = k->max = NAN;
	k->n += n;
	if (!isnan(lo) && (isnan(k->min) || lo < k->min))
		k->min = lo;
	if (!isnan(hi) && (isnan(k->max) || hi > k->max))
		k->max = hi;
	k->last = last;
	k->last_iteration = it;
}

static void
fold_point(struct fold *f, const struct store_query *q, int64_t it, double v)
{
	if (it >= q->from && it <= q->to)
		fold_into(f, it, 1, v, v, v);
}

static double
column_bits(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ?
	    NAN :
	    store_unbits(sqlite3_column_int64(st, i));
}

/* Fold the chunk of series s on st's row: from its row when it is
 * narrower than a bucket, else its data read and decoded (iterations and
 * values only). */
static int
fold_chunk(struct store_reader *r, sqlite3_stmt *st, int64_t s,
    const struct store_query *q, struct fold *f)
{
	int64_t first = sqlite3_column_int64(st, 0);
	int64_t last = sqlite3_column_int64(st, 1);
	int64_t its[CHUNK_MAX];
	double vals[CHUNK_MAX];
	struct chunk_out out = {
		.iteration = its, .value = vals, .stride = 8, .cap = CHUNK_MAX
	};
	sqlite3_stmt *ds;
	const uint8_t *data;
	size_t len;
	ig_err err;
	int rc;

	/* narrower than a bucket: whole, in the bucket of its last point,
	 * rather than decoded to be split */
	if (first >= q->from && last <= q->to && last - first < f->width) {
		fold_into(f, last, (size_t)sqlite3_column_int64(st, 2),
		    column_bits(st, 3), column_bits(st, 4), column_bits(st, 5));
		return SQLITE_OK;
	}
	if ((ds = reader_stmt(r, RS_CHUNK_DATA)) == NULL)
		return sqlite3_errcode(r->db);
	sqlite3_bind_int64(ds, 1, s);
	sqlite3_bind_int64(ds, 2, first);
	if ((rc = sqlite3_step(ds)) != SQLITE_ROW)
		return reader_finish(
		    ds, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc);
	data = sqlite3_column_blob(ds, 0);
	len = (size_t)sqlite3_column_bytes(ds, 0);
	if (first >= q->from && last <= q->to)
		rc = chunk_buckets(
		         data, len, f->lo, f->width, f->b, f->nb, &err) == 0 ?
		    SQLITE_OK :
		    SQLITE_CORRUPT;
	else if (chunk_decode(data, len, &out, &err) != 0)
		rc = SQLITE_CORRUPT;
	else /* across from or to: its points inside them */
		for (size_t i = 0; i < out.n; i++)
			fold_point(f, q, its[i], vals[i]);
	sqlite3_reset(ds);
	return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* The buckets of f that hold points, as s's answer. */
static int
bucket_answer(const struct fold *f, struct store_series_data *s)
{
	size_t i, n = 0;

	if ((s->buckets = calloc(f->nb, sizeof(*s->buckets))) == NULL)
		return SQLITE_NOMEM;
	for (i = 0; i < f->nb; i++)
		if (f->b[i].n > 0)
			s->buckets[n++] =
			    (struct store_bucket){ f->b[i].last_iteration,
				    f->b[i].min, f->b[i].max, f->b[i].last };
	s->n = n;
	return SQLITE_OK;
}

static int
read_buckets(struct store_reader *r, const struct store_query *q,
    struct store_series_data *s)
{
	struct fold f = { .nb = q->max_points };
	bool any = false;
	sqlite3_stmt *st;
	int rc;

	/* the range: the series' first to last iteration within it */
	if ((st = points_stmt(r, RS_CHUNK_RANGE, q, s->id)) == NULL)
		return sqlite3_errcode(r->db);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		f.lo = sqlite3_column_int64(st, 0);
		f.hi = sqlite3_column_int64(st, 1);
		f.lo = f.lo > q->from ? f.lo : q->from;
		f.hi = f.hi < q->to ? f.hi : q->to;
		any = f.lo <= f.hi;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	if (!any)
		return SQLITE_OK; /* no point in the range */
	/* (hi - lo) / width < nb, so at most nb buckets; no more than the
	 * range has iterations */
	if ((uint64_t)(f.hi - f.lo) < f.nb)
		f.nb = (size_t)(f.hi - f.lo) + 1;
	f.width = (int64_t)((uint64_t)(f.hi - f.lo) / f.nb + 1);
	if ((f.b = calloc(f.nb, sizeof(*f.b))) == NULL)
		return SQLITE_NOMEM;
	if ((st = points_stmt(r, RS_CHUNK_SUMMARIES, q, s->id)) == NULL) {
		rc = sqlite3_errcode(r->db);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = fold_chunk(r, st, s->id, q, &f)) != SQLITE_OK)
			break;
	if ((rc = reader_finish(st, rc)) == SQLITE_OK)
		rc = bucket_answer(&f, s);
out:
	free(f.b);
	return rc;
}

static int
read_points(struct store_reader *r, const struct store_query *q,
    struct store_series_data *s)
{
	/* a page's limit holds unless the points are downsampled, which
	 * takes the whole range */
	size_t limit = q->max_points == 0 ? q->limit : 0;
	sqlite3_stmt *st;
	size_t cap = 0, n = 0;
	int rc;

	if (q->max_points == 1 && q->downsample == STORE_DS_LAST)
		return read_last(r, q, s);
	if (q->max_points > 0 && q->downsample == STORE_DS_MINMAX)
		return read_buckets(r, q, s);
	/* the array at its size at once: grown by doubling, a page of 16
	 * MiB would be copied and faulted in again at each step */
	st = points_stmt(r,
	    q->axis == STORE_AXIS_EPOCH ? RS_COUNT_BY_EPOCH :
	                                  RS_COUNT_BY_ITERATION,
	    q, s->id);
	if (st == NULL)
		return sqlite3_errcode(r->db);
	/* up to the limit: the rest of a long series is later pages' */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    (limit == 0 || n < limit)) {
		int64_t k = sqlite3_column_int64(st, 0);

		/* a count no chunk holds would size the block wrong */
		if (k < 1 || k > CHUNK_MAX) {
			rc = SQLITE_CORRUPT;
			break;
		}
		n += (size_t)k;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	/* exactly, and when the count stopped at the limit a chunk more, for
	 * the one after it that a first chunk clipped at `from` makes up for:
	 * a power of two would be twice a page, mapped afresh and faulted in
	 * on every read, and growing copies every column */
	if (limit > 0 && n >= limit)
		n += CHUNK_MAX;
	if (n > 0 && cols_alloc(s, n) != 0)
		return SQLITE_NOMEM;
	cap = n;
	st = points_stmt(r,
	    q->axis == STORE_AXIS_EPOCH ? RS_CHUNKS_BY_EPOCH :
	                                  RS_CHUNKS_BY_ITERATION,
	    q, s->id);
	if (st == NULL)
		return sqlite3_errcode(r->db);
	if ((rc = read_chunks(st, q, limit, s, &cap)) != 0)
		return rc;
	if (limit > 0 && s->n > limit)
		s->n = limit;
	s->n = downsample(s, q);
	return SQLITE_OK;
}

static bool
wanted(const struct store_query *q, const char *name)
{
	size_t i;

	if (q->names == NULL)
		return true;
	for (i = 0; i < q->nnames; i++)
		if (strcmp(q->names[i], name) == 0)
			return true;
	return false;
}

struct history {
	const struct store_query *q;
	struct store_series_data *v;
	size_t n;
};

static int
read_history(struct store_reader *r, void *arg)
{
	struct history *h = arg;
	size_t i, kept = 0;
	int rc;

	if ((rc = store_series_list(r, h->q->run_id, &h->v, &h->n)) != 0)
		return rc;
	for (i = 0; i < h->n; i++) {
		if (!wanted(h->q, h->v[i].name)) {
			free(h->v[i].name);
			continue;
		}
		h->v[kept++] = h->v[i];
	}
	h->n = kept;
	for (i = 0; i < h->n; i++)
		if ((rc = read_points(r, h->q, &h->v[i])) != 0)
			return reader_fail(r, rc, "read metric history");
	return 0;
}

int
store_history(struct store_reader *r, const struct store_query *q,
    struct store_series_data **series, size_t *n)
{
	struct history h = { q, NULL, 0 };
	int rc = reader_snapshot(r, read_history, &h);

	if (rc != 0) {
		store_series_free(h.v, h.n);
		return rc;
	}
	*series = h.v;
	*n = h.n;
	return 0;
}

/* ---- events and logs --------------------------------------------------- */

void
store_events_free(struct store_event *events, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free((void *)events[i].kind);
		free((void *)events[i].detail);
	}
	free(events);
}

int
store_events(struct store_reader *r, int64_t run_id, int64_t after_id,
    size_t limit, struct store_event **events, size_t *n)
{
	sqlite3_stmt *st = reader_stmt(r, RS_EVENTS);
	struct store_event *v = NULL, *nv, *ev;
	size_t cap = 0, count = 0;
	bool nomem = false;
	int rc;

	if (st == NULL)
		return reader_fail(r, sqlite3_errcode(r->db), "read events");
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, after_id);
	sqlite3_bind_int64(st, 3, limit ? (int64_t)limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nv = reader_grow(v, &cap, count + 1, sizeof(*v))) ==
		    NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		ev = &v[count++];
		ev->id = sqlite3_column_int64(st, 0);
		ev->run_id = run_id;
		ev->time = sqlite3_column_double(st, 1);
		ev->kind = reader_text(st, 2, &nomem);
		ev->epoch = sqlite3_column_int64(st, 3);
		ev->iteration = sqlite3_column_int64(st, 4);
		ev->detail = reader_text(st, 5, &nomem);
		if (nomem) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	if ((rc = reader_finish(st, rc)) != 0) {
		store_events_free(v, count);
		return reader_fail(r, rc, "read events");
	}
	*events = v;
	*n = count;
	return 0;
}

void
store_logs_free(struct store_logline *lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free((void *)lines[i].line);
	free(lines);
}

int
store_log_tail(struct store_reader *r, int64_t run_id, size_t n,
    struct store_logline **lines, size_t *count)
{
	sqlite3_stmt *st = reader_stmt(r, RS_LOG_TAIL);
	struct store_logline *v = NULL, *nv, *l;
	size_t cap = 0, got = 0;
	bool nomem = false;
	int rc;

	if (st == NULL)
		return reader_fail(r, sqlite3_errcode(r->db), "read logs");
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, (int64_t)n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nv = reader_grow(v, &cap, got + 1, sizeof(*v))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		l = &v[got++];
		l->seq = sqlite3_column_int64(st, 0);
		l->time = sqlite3_column_double(st, 1);
		l->line = reader_text(st, 2, &nomem);
		l->len = (size_t)sqlite3_column_bytes(st, 2);
		if (nomem) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	if ((rc = reader_finish(st, rc)) != 0) {
		store_logs_free(v, got);
		return reader_fail(r, rc, "read logs");
	}
	*lines = v;
	*count = got;
	return 0;
}
