/*
 * store_chunks.c - metric history as sealed chunks (chunk.h), on the
 * writer thread: appending a run's points, sealing a series' open tail,
 * cutting a run's history back to a checkpoint, and the migration of
 * schema 5's point rows into chunks.
 *
 * A series is its sealed chunks (table chunks, one row of up to CHUNK_MAX
 * points each, keyed by series and first iteration) followed by its open
 * tail, fewer than CHUNK_MAX points as rows of table points, the values as
 * their float64 bits so that they come back bit for bit.  series.open_n
 * counts the tail: it is updated in the same transaction as the rows, so a
 * rolled back operation leaves it right.  Once the tail and new points
 * make CHUNK_MAX, those go into a chunk at once; the rest stays rows.  A
 * run that ends has its tails sealed, whatever their size.
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

static int
cols_reserve(struct cols *c, size_t need)
{
	size_t cap = c->cap ? c->cap : 64;
	void *a, *b, *d, *e;

	if (need <= c->cap)
		return SQLITE_OK;
	while (cap < need)
		cap *= 2;
	a = realloc(c->it, cap * sizeof(*c->it));
	if (a != NULL)
		c->it = a;
	b = realloc(c->ep, cap * sizeof(*c->ep));
	if (b != NULL)
		c->ep = b;
	d = realloc(c->wall, cap * sizeof(*c->wall));
	if (d != NULL)
		c->wall = d;
	e = realloc(c->val, cap * sizeof(*c->val));
	if (e != NULL)
		c->val = e;
	if (a == NULL || b == NULL || d == NULL || e == NULL)
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

static int
open_count(struct store *s, int64_t series, int64_t *n)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = bind_series(s, ST_OPEN_N, series, &st)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_NOTFOUND; /* no such series */
	}
	sqlite3_reset(st);
	return rc;
}

static int
set_open_count(struct store *s, int64_t series, int64_t n)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = bind_series(s, ST_OPEN_N_SET, series, &st)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 2, n);
	return store_step_done(st);
}

static int
insert_row(sqlite3_stmt *st, int64_t series, int64_t it, int64_t ep,
    double wall, double val)
{
	sqlite3_bind_int64(st, 1, series);
	sqlite3_bind_int64(st, 2, it);
	sqlite3_bind_int64(st, 3, ep);
	sqlite3_bind_double(st, 4, wall);
	sqlite3_bind_int64(st, 5, store_bits(val));
	return store_step_done(st);
}

/* The tail's rows into c, by iteration. */
static int
read_open(struct store *s, int64_t series, struct cols *c)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = bind_series(s, ST_OPEN_READ, series, &st)) != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cols_push(c, sqlite3_column_int64(st, 0),
		        sqlite3_column_int64(st, 1),
		        sqlite3_column_double(st, 2),
		        store_unbits(sqlite3_column_int64(st, 3))) !=
		    SQLITE_OK) {
			rc = SQLITE_NOMEM;
			break;
		}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* New points must come after the sealed ones (a chunk is never
 * rewritten to take a point in its middle). */
static int
after_sealed(struct store *s, int64_t series, int64_t first)
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
 * Seal series: its tail and c's points (sorted by iteration, none equal)
 * become chunks of CHUNK_MAX; what is left stays rows, or becomes one
 * last short chunk when all.
 */
static int
seal(struct store *s, int64_t series, struct cols *c, bool all)
{
	struct cols t = { 0 };
	sqlite3_stmt *ins, *row, *del;
	size_t full, i;
	int rc;

	if ((rc = read_open(s, series, &t)) != SQLITE_OK)
		goto out;
	for (i = 0; i < c->n && rc == SQLITE_OK; i++)
		rc = cols_push(&t, c->it[i], c->ep[i], c->wall[i], c->val[i]);
	if (rc != SQLITE_OK || t.n == 0)
		goto out;
	for (i = 1; i < t.n; i++)
		if (t.it[i] <= t.it[i - 1]) {
			rc = SQLITE_CONSTRAINT; /* a point twice */
			goto out;
		}
	if ((rc = bind_series(s, ST_OPEN_CLEAR, series, &del)) != SQLITE_OK ||
	    (rc = store_step_done(del)) != SQLITE_OK)
		goto out;
	if ((ins = writer_stmt(s, ST_CHUNK_INSERT)) == NULL ||
	    (row = writer_stmt(s, ST_POINT)) == NULL) {
		rc = sqlite3_errcode(s->db);
		goto out;
	}
	full = all ? t.n : t.n / CHUNK_MAX * CHUNK_MAX;
	for (i = 0; i < full && rc == SQLITE_OK; i += CHUNK_MAX)
		rc = chunk_insert(ins, series, &t, i,
		    full - i < CHUNK_MAX ? full - i : CHUNK_MAX);
	for (i = full; i < t.n && rc == SQLITE_OK; i++)
		rc = insert_row(
		    row, series, t.it[i], t.ep[i], t.wall[i], t.val[i]);
	if (rc == SQLITE_OK)
		rc = set_open_count(s, series, (int64_t)(t.n - full));
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

/* Append m points of one series, sorted by iteration. */
static int
append_series(struct store *s, const struct store_point *v, size_t m)
{
	int64_t series = v[0].series_id, open = 0;
	struct cols c = { 0 };
	sqlite3_stmt *row;
	size_t i;
	int rc;

	if ((rc = open_count(s, series, &open)) != SQLITE_OK ||
	    (rc = after_sealed(s, series, v[0].iteration)) != SQLITE_OK)
		return rc;
	if ((size_t)open + m < CHUNK_MAX) {
		if ((row = writer_stmt(s, ST_POINT)) == NULL)
			return sqlite3_errcode(s->db);
		for (i = 0; i < m && rc == SQLITE_OK; i++)
			rc = insert_row(row, series, v[i].iteration, v[i].epoch,
			    v[i].wall, v[i].value);
		return rc == SQLITE_OK ?
		    set_open_count(s, series, open + (int64_t)m) :
		    rc;
	}
	for (i = 0; i < m && rc == SQLITE_OK; i++)
		rc = cols_push(
		    &c, v[i].iteration, v[i].epoch, v[i].wall, v[i].value);
	if (rc == SQLITE_OK)
		rc = seal(s, series, &c, false);
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

static int
seal_one(struct store *s, int64_t series, int64_t unused)
{
	struct cols none = { 0 };

	(void)unused;
	return seal(s, series, &none, true);
}

int
store_chunks_seal_run(struct store *s, int64_t run_id)
{
	return each_series(s, run_id, seal_one, 0);
}

/* Decode the chunk of the row st is on into c. */
static int
decode_row(sqlite3_stmt *st, int col, struct cols *c)
{
	struct chunk_out out;
	ig_err err;

	if (cols_reserve(c, CHUNK_MAX) != SQLITE_OK)
		return SQLITE_NOMEM;
	out = (struct chunk_out){ c->it, c->ep, c->wall, c->val, 8, 0, c->cap };
	if (chunk_decode(sqlite3_column_blob(st, col),
	        (size_t)sqlite3_column_bytes(st, col), &out, &err) != 0)
		return SQLITE_CORRUPT;
	c->n = out.n;
	return SQLITE_OK;
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
	/* the tail rows past it are gone by then (ST_TRUNC_POINTS) */
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
		rc = sqlite3_exec(db, "DROP TABLE points_v5", NULL, NULL, NULL);
	return rc;
}
