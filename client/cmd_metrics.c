/*
 * cmd_metrics.c - ignitectl metrics: the metric history of one run or of
 * several (compared, aligned on the axis), every page of it, for the output
 * to print as a table, CSV, charts or JSON; and the page by page reading
 * that export and ls --metric share.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define MAX_NAMES 64

struct mopts {
	char **runs; /* borrowed from argv */
	size_t nruns;
	struct mquery q; /* run set for each */
	const char *names[MAX_NAMES]; /* borrowed from argv */
	enum mformat format;
};

/* Returns CTL_CONTINUE, or the exit status (after --help too). */
static int
parse(struct ctl *ctl, int argc, char **argv, struct mopts *o)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "epochs", no_argument, NULL, 'e' },
		{ "iterations", no_argument, NULL, 'i' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "max-points", required_argument, NULL, 'm' },
		{ "csv", no_argument, NULL, 'c' },
		{ "plot", no_argument, NULL, 'p' },
		{ "align", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const axes[] = { "iteration", "epoch", "wall" };
	struct mquery *q = &o->q;
	int c, rc = CTL_OK;

	*o = (struct mopts){ .q = { .names = o->names,
		                 .from = IG_NONE,
		                 .to = IG_NONE,
		                 .max_points = IG_NONE } };
	while ((c = ctl_getopt(ctl, argc, argv, opts, &rc)) != -1) {
		switch (c) {
		case CTL_OPT_DONE:
			return rc; /* help printed or bad options */
		case 'n':
			if (q->nnames == MAX_NAMES)
				return ctl_usage(
				    ctl, "more than %d --name", MAX_NAMES);
			o->names[q->nnames++] = optarg;
			break;
		case 'e':
		case 'i':
			q->axis = c == 'e' ? AX_EPOCH : AX_ITERATION;
			break;
		case 'a':
			for (q->axis = AX_ITERATION;
			     strcmp(optarg, axes[q->axis]) != 0;)
				if (++q->axis > AX_WALL)
					return ctl_usage(ctl,
					    "--align %s: give iteration, "
					    "epoch or wall",
					    optarg);
			break;
		case 'f':
			rc = ctl_number(
			    ctl, "--from", optarg, 0, INT64_MAX, &q->from);
			break;
		case 't':
			rc = ctl_number(
			    ctl, "--to", optarg, 0, INT64_MAX, &q->to);
			break;
		case 'm':
			rc = ctl_number(ctl, "--max-points", optarg, 1,
			    INT64_MAX, &q->max_points);
			break;
		case 'c':
		case 'p':
			if (o->format != M_TABLE)
				return ctl_usage(ctl,
				    "--csv and --plot exclude "
				    "each other");
			o->format = c == 'c' ? M_CSV : M_PLOT;
			break;
		}
		if (rc != CTL_OK)
			return rc;
	}
	/* An option that conflicts with --json, not a way to print. */
	if (ctl->output == &output_json && o->format != M_TABLE)
		return ctl_usage(ctl, "--json excludes --csv and --plot");
	if (optind >= argc)
		return ctl_usage(ctl, "missing RUN");
	o->runs = argv + optind;
	o->nruns = (size_t)(argc - optind);
	/* a chart by iteration asks for min/max buckets as wide as itself
	 * (two braille dots a column): never the whole of a long history */
	if (o->format == M_PLOT && q->axis == AX_ITERATION &&
	    q->max_points == IG_NONE) {
		q->max_points = 2 * term_width(ctl->out);
		q->minmax = true;
	}
	return CTL_CONTINUE;
}

static void
pack_query(msgpack_packer *pk, const struct mquery *q)
{
	int64_t opt[] = { q->from, q->to, q->max_points };
	const char *keys[] = { "from", "to", "max_points" };
	size_t n = 2 + (q->nnames > 0) + q->minmax + (q->columns != 0);

	for (int i = 0; i < 3; i++)
		n += opt[i] != IG_NONE;
	msgpack_pack_map(pk, n);
	ig_pack_str(pk, "id");
	conn_pack_run(pk, q->run);
	ig_pack_str(pk, "axis");
	ig_pack_str(pk, q->axis == AX_EPOCH ? "epoch" : "iteration");
	if (q->minmax) {
		ig_pack_str(pk, "minmax");
		msgpack_pack_true(pk);
	}
	if (q->nnames > 0) {
		ig_pack_str(pk, "names");
		msgpack_pack_array(pk, q->nnames);
		for (size_t i = 0; i < q->nnames; i++)
			ig_pack_str(pk, q->names[i]);
	}
	for (int i = 0; i < 3; i++)
		if (opt[i] != IG_NONE) {
			ig_pack_str(pk, keys[i]);
			msgpack_pack_int64(pk, opt[i]);
		}
	if (q->columns != 0) {
		static const char *const cols[] = { "epoch", "iteration",
			"time", "value" };

		ig_pack_str(pk, "columns");
		msgpack_pack_array(pk, (size_t)__builtin_popcount(q->columns));
		for (int c = 0; c < 4; c++)
			if (q->columns & 1u << c)
				ig_pack_str(pk, cols[c]);
	}
}

/* One series' buckets {name, iteration, min, max, last} as points for a
 * chart: min then max at each bucket's iteration (its last value alone
 * when it has no value but NaN).  0, or -1 when it makes no sense. */
static int
bucket_points(const msgpack_object *b, ig_series *s)
{
	static const char *const keys[] = { "iteration", "min", "max", "last" };
	const msgpack_object *col[4], *name = ig_map_get(b, "name");
	size_t n;

	if (name == NULL || name->type != MSGPACK_OBJECT_STR)
		return -1;
	for (size_t k = 0; k < 4; k++)
		if ((col[k] = ig_map_get(b, keys[k])) == NULL ||
		    col[k]->type != MSGPACK_OBJECT_ARRAY)
			return -1;
	n = col[0]->via.array.size;
	for (size_t k = 1; k < 4; k++)
		if (col[k]->via.array.size != n)
			return -1;
	if ((s->name = strndup(name->via.str.ptr, name->via.str.size)) ==
	        NULL ||
	    (s->points = calloc(2 * n + 1, sizeof *s->points)) == NULL)
		return -1;
	for (size_t j = 0; j < n; j++) {
		double it, v[3];

		if (!ig_obj_number(&col[0]->via.array.ptr[j], &it))
			return -1;
		for (size_t k = 0; k < 3; k++)
			if (!ig_obj_number(
			        &col[k + 1]->via.array.ptr[j], &v[k]))
				return -1;
		for (size_t k = 0; k < 2; k++) {
			if (k == 1 && isnan(v[0]))
				break;
			s->points[s->n++] = (ig_point){ 0, (int64_t)it, 0,
				isnan(v[0]) ? v[2] : v[k] };
		}
	}
	return 0;
}

/* A minmax answer's buckets as a page of series. */
static int
unpack_buckets(const msgpack_object *o, ig_series **page, size_t *n)
{
	size_t i;

	*n = 0;
	*page = NULL;
	if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY ||
	    (*page = calloc(o->via.array.size + 1, sizeof **page)) == NULL)
		return -1;
	for (i = 0; i < o->via.array.size; i++) {
		(*n)++;
		if (bucket_points(&o->via.array.ptr[i], &(*page)[i]) != 0)
			return -1;
	}
	return 0;
}

int
history_pages(struct ctl *ctl, struct mquery q, page_fn *fn, void *arg)
{
	const msgpack_object *res, *next, *id;
	ig_series *page;
	size_t n;
	ig_err e;
	int rc;

	for (;;) {
		pack_query(conn_begin(ctl->conn, "metrics"), &q);
		if ((rc = conn_call(ctl->conn, &res, &ctl->e)) != CTL_OK)
			return rc;
		id = ig_map_get(res, "id");
		if (id == NULL || id->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    id->via.u64 > INT64_MAX)
			return ig_err_set(&ctl->e, CTL_EUNAVAILABLE,
			    "the daemon's answer to metrics has no id");
		if (q.minmax) {
			if (unpack_buckets(
			        ig_map_get(res, "buckets"), &page, &n) != 0) {
				ig_series_free(page, n);
				return ig_err_set(&ctl->e, CTL_EUNAVAILABLE,
				    "the daemon's answer to metrics has "
				    "buckets that make no sense");
			}
		} else if (ig_series_unpack(
		               ig_map_get(res, "series"), &page, &n, &e) != 0)
			return ig_err_set(&ctl->e, CTL_EUNAVAILABLE,
			    "the daemon's "
			    "answer to metrics makes no sense: %s",
			    e.message);
		const msgpack_object *st = ig_map_get(res, "started");
		if (q.started != NULL && st != NULL)
			(void)ig_obj_number(st, q.started);
		/* read next before fn: the answer lives until the next call */
		next = ig_map_get(res, "next");
		if (next != NULL && next->type != MSGPACK_OBJECT_NIL &&
		    (next->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		        next->via.u64 > INT64_MAX ||
		        (int64_t)next->via.u64 <= q.from)) {
			/* a next that does not move on would loop for ever */
			ig_series_free(page, n);
			return ig_err_set(&ctl->e, CTL_EUNAVAILABLE,
			    "the daemon's "
			    "answer to metrics has a bad next page");
		}
		int64_t more =
		    next != NULL && next->type != MSGPACK_OBJECT_NIL ?
		    (int64_t)next->via.u64 :
		    IG_NONE;
		rc = fn(ctl, arg, (int64_t)id->via.u64, page, n);
		ig_series_free(page, n);
		if (rc != CTL_OK || more == IG_NONE)
			return rc;
		q.from = more;
	}
}

/* Append page's series to the history arg; page is emptied (its names and
 * points moved or freed). */
static int
merge(struct ctl *ctl, void *arg, int64_t id, ig_series *page, size_t n)
{
	struct history *h = arg;

	h->id = id;
	for (size_t i = 0; i < n; i++) {
		ig_series *s = NULL;
		ig_point *p;

		for (size_t j = 0; j < h->n; j++)
			if (strcmp(h->s[j].name, page[i].name) == 0)
				s = &h->s[j];
		if (s == NULL) {
			if ((s = realloc(h->s, (h->n + 1) * sizeof *s)) == NULL)
				goto nomem;
			h->s = s;
			s = &h->s[h->n++];
			*s = page[i];
			page[i] = (ig_series){ 0 };
			continue;
		}
		if ((p = realloc(s->points, (s->n + page[i].n) * sizeof *p)) ==
		    NULL)
			goto nomem;
		memcpy(p + s->n, page[i].points, page[i].n * sizeof *p);
		s->points = p;
		s->n += page[i].n;
	}
	return CTL_OK;
nomem:
	return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
}

int
cmd_metrics(struct ctl *ctl, int argc, char **argv)
{
	struct history *h;
	struct mopts o;
	int rc;

	if ((rc = parse(ctl, argc, argv, &o)) != CTL_CONTINUE)
		return rc;
	if ((rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	if ((h = calloc(o.nruns, sizeof *h)) == NULL)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	for (size_t i = 0; i < o.nruns && rc == CTL_OK; i++) {
		h[i].run = o.runs[i];
		o.q.run = o.runs[i];
		o.q.started = &h[i].start;
		rc = history_pages(ctl, o.q, merge, &h[i]);
		/* not started by this daemon's account: its first point */
		for (size_t j = 0; h[i].start == 0 && j < h[i].n; j++)
			if (h[i].s[j].n > 0)
				h[i].start = h[i].s[j].points[0].time;
	}
	if (rc == CTL_OK)
		rc = ctl->output->metrics(ctl, h, o.nruns, o.q.axis, o.format);
	for (size_t i = 0; i < o.nruns; i++)
		ig_series_free(h[i].s, h[i].n);
	free(h);
	return rc;
}
