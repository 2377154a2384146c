/*
 * store_chunks.c - metric history as sealed chunks (chunk.h), on the
 * writer thread: appending a run's points, sealing a series' open tail,
 * cutting a run's history back to a checkpoint, and the migration of
 * schema 5's point rows into chunks.
 *
 * A series is its chunks, keyed by series and first iteration: full ones
 * of CHUNK_MAX points, then its open part, the short chunks after the last
 * full one (series.open_n points from series.open_first on, updated in the
 * same transaction, so that a rolled back operation leaves them right).
 * A transaction adds a short chunk of the points it brings to each series;
 * once the open part and new points make CHUNK_MAX, they are decoded and
 * sealed into full chunks and one short one of what is left.  So a point
 * costs a row write only in a transaction that brings one point alone,
 * and a series never holds more than CHUNK_MAX points in short chunks.
 * A run that ends has its open part merged into one chunk.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/chunk.h"
#include "store/store_int.h"

/* Points as columns, for the codec. */
struct cols {
	int64_t *it, *ep;
	double *wall, *val;
	size_t n, cap;
};

static void
cols_free(struct cols *c)
{
	free(c->it);
	free(c->ep);
	free(c->wall);
	free(c->val);
	memset(c, 0, sizeof(*c));
}

/* Grow the array *slot points at (any column) to bytes. */
static int
grow(void *slot, size_t bytes)
{
	void *p, *q;

	memcpy(&p, slot, sizeof(p));
	if ((q = realloc(p, bytes)) == NULL)
		return SQLITE_NOMEM;
	memcpy(slot, &q, sizeof(q));
	return SQLITE_OK;
}

static int
cols_reserve(struct cols *c, size_t need)
{
	size_t cap = c->cap ? c->cap : 64;

	if (need <= c->cap)
		return SQLITE_OK;
	while (cap < need)
		cap *= 2;
	/* 8 bytes a point in each */
	if (grow(&c->it, cap * 8) != SQLITE_OK ||
	    grow(&c->ep, cap * 8) != SQLITE_OK ||
	    grow(&c->wall, cap * 8) != SQLITE_OK ||
	    grow(&c->val, cap * 8) != SQLITE_OK)
		return SQLITE_NOMEM;
	c->cap = cap;
	return SQLITE_OK;
}

static int
cols_push(struct cols *c, int64_t it, int64_t ep, double wall, double val)
{
	if (cols_reserve(c, c->n + 1) != SQLITE_OK)
		return SQLITE_NOMEM;
	c->it[c->n] = it;
	c->ep[c->n] = ep;
	c->wall[c->n] = wall;
	c->val[c->n] = val;
	c->n++;
	return SQLITE_OK;
}

int64_t
store_bits(double v)
{
	int64_t b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

double
store_unbits(int64_t b)
{
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

/*
 * Insert points [off, off + n) of c as one chunk of series, through ins
 * (STORE_CHUNK_INSERT): the codec's bytes and what a downsampling read
 * needs without them (min and max over the values not NaN, NULL when
 * none, and the last value, all as float64 bits).
 */
static int
chunk_insert(sqlite3_stmt *ins, int64_t series, const struct cols *c,
    size_t off, size_t n)
{
	struct chunk_cols cc = { c->it + off, c->ep + off, c->wall + off,
		c->val + off };
	size_t cap = chunk_bound(n), len, i;
	double lo = NAN, hi = NAN;
	uint8_t *buf;
	ig_err err;
	int rc;

	if ((buf = malloc(cap)) == NULL)
		return SQLITE_NOMEM;
	if (chunk_encode(&cc, n, buf, cap, &len, &err) != 0) {
		/* iterations not increasing: the points' fault */
		free(buf);
		return SQLITE_CONSTRAINT;
	}
	for (i = 0; i < n; i++) {
		double v = cc.value[i];

		if (isnan(v))
			continue;
		if (isnan(lo) || v < lo)
			lo = v;
		if (isnan(hi) || v > hi)
			hi = v;
	}
	sqlite3_bind_int64(ins, 1, series);
	sqlite3_bind_int64(ins, 2, cc.iteration[0]);
	sqlite3_bind_int64(ins, 3, cc.iteration[n - 1]);
	sqlite3_bind_int64(ins, 4, cc.epoch[0]);
	sqlite3_bind_int64(ins, 5, cc.epoch[n - 1]);
	sqlite3_bind_int64(ins, 6, (int64_t)n);
	if (isnan(lo)) {
		sqlite3_bind_null(ins, 7);
		sqlite3_bind_null(ins, 8);
	} else {
		sqlite3_bind_int64(ins, 7, store_bits(lo));
		sqlite3_bind_int64(ins, 8, store_bits(hi));
	}
	sqlite3_bind_int64(ins, 9, store_bits(cc.value[n - 1]));
	sqlite3_bind_blob64(ins, 10, buf, len, SQLITE_STATIC);
	sqlite3_bind_double(ins, 11, cc.wall[n - 1]);
	rc = store_step_done(ins);
	sqlite3_clear_bindings(ins);
	free(buf);
	return rc;
}

/* Insert every point of c as chunks of CHUNK_MAX, the last one shorter. */
static int
insert_all(sqlite3_stmt *ins, int64_t series, const struct cols *c)
{
	size_t off, n;
	int rc = SQLITE_OK;

	for (off = 0; rc == SQLITE_OK && off < c->n; off += n) {
		n = c->n - off < CHUNK_MAX ? c->n - off : CHUNK_MAX;
		rc = chunk_insert(ins, series, c, off, n);
	}
	return rc;
}

/* ---- the writer ------------------------------------------------------- */

static int
bind_series(
    struct store *s, enum stmt_id id, int64_t series, sqlite3_stmt **out)
{
	if ((*out = writer_stmt(s, id)) == NULL)
		return sqlite3_errcode(s->db);
	sqlite3_bind_int64(*out, 1, series);
	return SQLITE_OK;
}

/* The open part of series: *n points from iteration *first on. */
static int
open_get(struct store *s, int64_t series, int64_t *n, int64_t *first)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = bind_series(s, ST_OPEN_GET, series, &st)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		*first = sqlite3_column_int64(st, 1);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_NOTFOUND; /* no such series */
	}
	sqlite3_reset(st);
	return rc;
}

static int
open_set(struct store *s, int64_t series, int64_t n, int64_t first)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = bind_series(s, ST_OPEN_SET, series, &st)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 2, n);
	if (n > 0)
		sqlite3_bind_int64(st, 3, first);
	else
		sqlite3_bind_null(st, 3);
	return store_step_done(st);
}

/* Decode the chunk in column col of st's row onto the end of c. */
static int
decode_row(sqlite3_stmt *st, int col, struct cols *c)
{
	struct chunk_out out;
	ig_err err;

	if (cols_reserve(c, c->n + CHUNK_MAX) != SQLITE_OK)
		return SQLITE_NOMEM;
	out = (struct chunk_out){ c->it, c->ep, c->wall, c->val, 8, c->n,
		c->cap };
	if (chunk_decode(sqlite3_column_blob(st, col),
	        (size_t)sqlite3_column_bytes(st, col), &out, &err) != 0)
		return SQLITE_CORRUPT;
	c->n = out.n;
	return SQLITE_OK;
}

/* The open part's chunks, from first on, decoded into c. */
static int
read_open(struct store *s, int64_t series, int64_t first, struct cols *c)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = bind_series(s, ST_OPEN_READ, series, &st)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 2, first);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = decode_row(st, 0, c)) != SQLITE_OK)
			break;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* New points must come after the stored ones (a chunk is never
 * rewritten to take a point in its middle). */
static int
after_stored(struct store *s, int64_t series, int64_t first)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = bind_series(s, ST_CHUNK_LAST, series, &st)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = sqlite3_column_int64(st, 0) < first ? SQLITE_OK :
		                                           SQLITE_CONSTRAINT;
	else if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_reset(st);
	return rc;
}

/*
 * Seal series: the chunks of its open part (n points from first on) and
 * c's points become chunks of CHUNK_MAX and, of what is left, one open
 * chunk.
 */
static int
seal(struct store *s, int64_t series, int64_t n, int64_t first,
    const struct cols *c)
{
	struct cols t = { 0 };
	sqlite3_stmt *ins, *del;
	size_t full, i;
	int rc = SQLITE_OK;

	if (n > 0 && (rc = read_open(s, series, first, &t)) == SQLITE_OK &&
	    (rc = bind_series(s, ST_OPEN_CLEAR, series, &del)) == SQLITE_OK) {
		sqlite3_bind_int64(del, 2, first);
		rc = store_step_done(del);
	}
	for (i = 0; i < c->n && rc == SQLITE_OK; i++)
		rc = cols_push(&t, c->it[i], c->ep[i], c->wall[i], c->val[i]);
	if (rc != SQLITE_OK || t.n == 0)
		goto out;
	if ((ins = writer_stmt(s, ST_CHUNK_INSERT)) == NULL) {
		rc = sqlite3_errcode(s->db);
		goto out;
	}
	full = t.n / CHUNK_MAX * CHUNK_MAX;
	if ((rc = insert_all(ins, series, &t)) == SQLITE_OK)
		rc = open_set(s, series, (int64_t)(t.n - full),
		    full < t.n ? t.it[full] : 0);
out:
	cols_free(&t);
	return rc;
}

/* By series, then by iteration. */
static int
by_series(const void *a, const void *b)
{
	const struct store_point *p = a, *q = b;

	if (p->series_id != q->series_id)
		return p->series_id < q->series_id ? -1 : 1;
	if (p->iteration != q->iteration)
		return p->iteration < q->iteration ? -1 : 1;
	return 0;
}

/*
 * Append m points of one series, sorted by iteration: one short chunk
 * more in its open part, or, once that makes CHUNK_MAX, sealed.  A
 * transaction writes a row a series, however many points it brings.
 */
static int
append_series(struct store *s, const struct store_point *v, size_t m)
{
	int64_t series = v[0].series_id, n = 0, first = 0;
	struct cols c = { 0 };
	sqlite3_stmt *ins;
	size_t i;
	int rc;

	if ((rc = open_get(s, series, &n, &first)) != SQLITE_OK ||
	    (rc = after_stored(s, series, v[0].iteration)) != SQLITE_OK)
		return rc;
	for (i = 1; i < m; i++)
		if (v[i].iteration == v[i - 1].iteration)
			return SQLITE_CONSTRAINT; /* a point twice */
	for (i = 0; i < m && rc == SQLITE_OK; i++)
		rc = cols_push(
		    &c, v[i].iteration, v[i].epoch, v[i].wall, v[i].value);
	if (rc != SQLITE_OK)
		goto out;
	if ((size_t)n + m >= CHUNK_MAX) {
		rc = seal(s, series, n, first, &c);
		goto out;
	}
	if ((ins = writer_stmt(s, ST_CHUNK_INSERT)) == NULL)
		rc = sqlite3_errcode(s->db);
	else if ((rc = chunk_insert(ins, series, &c, 0, m)) == SQLITE_OK)
		rc = open_set(
		    s, series, n + (int64_t)m, n > 0 ? first : v[0].iteration);
out:
	cols_free(&c);
	return rc;
}

int
store_chunks_append(struct store *s, const struct store_point *v, size_t n)
{
	struct store_point *w;
	size_t i, j;
	int rc = SQLITE_OK;

	if (n == 0)
		return SQLITE_OK;
	if ((w = malloc(n * sizeof(*w))) == NULL)
		return SQLITE_NOMEM;
	memcpy(w, v, n * sizeof(*w));
	qsort(w, n, sizeof(*w), by_series);
	for (i = 0; i < n && rc == SQLITE_OK; i = j) {
		for (j = i + 1; j < n && w[j].series_id == w[i].series_id; j++)
			;
		rc = append_series(s, w + i, j - i);
	}
	free(w);
	return rc;
}

/* Run fn on each series of run_id. */
static int
each_series(struct store *s, int64_t run_id,
    int (*fn)(struct store *, int64_t, int64_t), int64_t arg)
{
	sqlite3_stmt *st = writer_stmt(s, ST_RUN_SERIES);
	int64_t *ids = NULL, *nv;
	size_t n = 0, i;
	int rc;

	if (st == NULL)
		return sqlite3_errcode(s->db);
	sqlite3_bind_int64(st, 1, run_id);
	/* collected first: fn runs statements of its own */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nv = realloc(ids, (n + 1) * sizeof(*ids))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		ids = nv;
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	for (i = 0; i < n && rc == SQLITE_OK; i++)
		rc = fn(s, ids[i], arg);
	free(ids);
	return rc;
}

/* An ended run's open part in as few chunks as it takes. */
static int
seal_one(struct store *s, int64_t series, int64_t unused)
{
	struct cols none = { 0 };
	int64_t n = 0, first = 0;
	int rc;

	(void)unused;
	if ((rc = open_get(s, series, &n, &first)) != SQLITE_OK || n == 0)
		return rc;
	return seal(s, series, n, first, &none);
}

int
store_chunks_seal_run(struct store *s, int64_t run_id)
{
	return each_series(s, run_id, seal_one, 0);
}

/* Cut series' chunk that holds iteration it and later ones at it:
 * re-encoded with the points up to it. */
static int
cut_one(struct store *s, int64_t series, int64_t it)
{
	struct cols c = { 0 };
	sqlite3_stmt *st, *del, *ins;
	int64_t first = 0;
	size_t keep = 0;
	int rc;

	if ((rc = bind_series(s, ST_CHUNK_STRADDLE, series, &st)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 2, it);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		first = sqlite3_column_int64(st, 0);
		rc = decode_row(st, 1, &c);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) /* none straddles it */
		return SQLITE_OK;
	while (keep < c.n && c.it[keep] <= it)
		keep++;
	if (rc == SQLITE_OK &&
	    (rc = bind_series(s, ST_CHUNK_DELETE, series, &del)) == SQLITE_OK) {
		sqlite3_bind_int64(del, 2, first);
		rc = store_step_done(del);
	}
	if (rc == SQLITE_OK && keep > 0) {
		if ((ins = writer_stmt(s, ST_CHUNK_INSERT)) == NULL)
			rc = sqlite3_errcode(s->db);
		else
			rc = chunk_insert(ins, series, &c, 0, keep);
	}
	cols_free(&c);
	return rc;
}

static int
recount(struct store *s, int64_t series, int64_t unused)
{
	sqlite3_stmt *st;
	int rc;

	(void)unused;
	if ((rc = bind_series(s, ST_OPEN_RECOUNT, series, &st)) != SQLITE_OK)
		return rc;
	return store_step_done(st);
}

int
store_chunks_truncate(struct store *s, int64_t run_id, int64_t iteration)
{
	sqlite3_stmt *st = writer_stmt(s, ST_TRUNC_CHUNKS);
	int rc;

	if (st == NULL)
		return sqlite3_errcode(s->db);
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, iteration);
	if ((rc = store_step_done(st)) != SQLITE_OK ||
	    (rc = each_series(s, run_id, cut_one, iteration)) != SQLITE_OK)
		return rc;
	return each_series(s, run_id, recount, 0);
}

/* ---- migration from schema 5 ------------------------------------------ */

int
store_chunks_migrate(sqlite3 *db)
{
	sqlite3_stmt *rd = NULL, *ins = NULL;
	struct cols c = { 0 };
	int64_t series = 0;
	int rc;

	rc = sqlite3_prepare_v2(db,
	    "SELECT series_id, iteration, epoch, wall, value"
	    " FROM points_v5 ORDER BY series_id, iteration",
	    -1, &rd, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, STORE_CHUNK_INSERT, -1, &ins, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(rd)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(rd, 0);

		rc = SQLITE_OK;
		if (id != series && c.n > 0) {
			rc = insert_all(ins, series, &c);
			c.n = 0;
		}
		series = id;
		/* schema 5 stored NaN as NULL */
		if (rc == SQLITE_OK)
			rc = cols_push(&c, sqlite3_column_int64(rd, 1),
			    sqlite3_column_int64(rd, 2),
			    sqlite3_column_double(rd, 3),
			    sqlite3_column_type(rd, 4) == SQLITE_NULL ?
			        NAN :
			        sqlite3_column_double(rd, 4));
		if (rc == SQLITE_OK && c.n == CHUNK_MAX) {
			rc = insert_all(ins, series, &c);
			c.n = 0;
		}
	}
	if (rc == SQLITE_DONE)
		rc = c.n > 0 ? insert_all(ins, series, &c) : SQLITE_OK;
	sqlite3_finalize(rd);
	sqlite3_finalize(ins);
	cols_free(&c);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db,
		    "DROP TABLE points_v5;"
		    "UPDATE series SET (open_n, open_first) = " STORE_OPEN_PART(
		        "series.id") ";",
		    NULL, NULL, NULL);
	return rc;
}
