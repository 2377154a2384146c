/*
 * text_metrics.c - metrics for people: a table, CSV lines (--csv) or a
 * chart per series (--plot); output_text's (output.h).  Several runs are
 * compared: a column per run aligned on the axis (table and CSV), their
 * series of one name overlaid in one chart.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"

#define CHART_ROWS 10

static int
print_table(struct ctl *ctl, const struct history *h)
{
	static const char *const headers[] = { "NAME", ">EPOCH", ">ITERATION",
		"TIME", ">VALUE", NULL };
	char ep[32], it[32], when[32], val[32];
	const char *cells[5] = { NULL, ep, it, when, val };
	struct table *t = table_new(headers);
	int rc = 0;

	for (size_t i = 0; t != NULL && rc == 0 && i < h->n; i++)
		for (size_t j = 0; rc == 0 && j < h->s[i].n; j++) {
			const ig_point *p = &h->s[i].points[j];
			cells[0] = h->s[i].name;
			fmt_count(ep, sizeof ep, p->epoch);
			fmt_count(it, sizeof it, p->iteration);
			fmt_time(when, sizeof when, p->time);
			fmt_value(val, sizeof val, p->value);
			rc = table_add(t, cells);
		}
	if (t == NULL || rc != 0) {
		table_free(t);
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	}
	rc = table_print(t, ctl->out);
	table_free(t);
	return rc != 0 ?
	    ig_err_set(&ctl->e, CTL_ELOCAL, "cannot write the output") :
	    CTL_OK;
}

static void
print_csv(struct ctl *ctl, const struct history *h)
{
	fprintf(ctl->out, "name,epoch,iteration,time,value\n");
	for (size_t i = 0; i < h->n; i++)
		for (size_t j = 0; j < h->s[i].n; j++) {
			const ig_point *p = &h->s[i].points[j];
			put_text(ctl->out, h->s[i].name);
			fprintf(ctl->out, ",%lld,%lld,%.6f,%.17g\n",
			    (long long)p->epoch, (long long)p->iteration,
			    p->time, p->value);
		}
}

/* A point's place on the axis; by wall time, milliseconds since its
 * run's start. */
static int64_t
axis_of(const ig_point *p, enum maxis axis, double start)
{
	switch (axis) {
	case AX_EPOCH:
		return p->epoch;
	case AX_WALL:
		return llround((p->time - start) * 1000);
	default:
		return p->iteration;
	}
}

/* A chart's x: by wall time, seconds since the run's start. */
static double
chart_x(const ig_point *p, enum maxis axis, double start)
{
	return axis == AX_WALL ? p->time - start :
	                         (double)axis_of(p, axis, start);
}

static const char *
axis_label(enum maxis axis)
{
	return axis == AX_EPOCH ? "epoch" :
	    axis == AX_WALL     ? "seconds" :
	                          "iteration";
}

static int
print_plots(struct ctl *ctl, const struct history *h, enum maxis axis)
{
	int width = term_width(ctl->out);

	for (size_t i = 0; i < h->n; i++) {
		const ig_series *s = &h->s[i];
		double *xy = malloc(2 * (s->n + 1) * sizeof *xy);
		struct chart_series cs = { s->name, NULL, xy, xy + s->n, s->n,
			axis_label(axis) };
		char *text;
		int rc;

		if (xy == NULL)
			return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
		for (size_t j = 0; j < s->n; j++) {
			xy[j] = chart_x(&s->points[j], axis, h->start);
			xy[s->n + j] = s->points[j].value;
		}
		rc = chart_render(&cs, 1, width, CHART_ROWS, false, &text);
		free(xy);
		if (rc != 0)
			return ig_err_set(&ctl->e, CTL_ELOCAL,
			    "the terminal is "
			    "too narrow for a chart (%d columns)",
			    width);
		fprintf(ctl->out, "%s%s", i > 0 ? "\n" : "", text);
		free(text);
	}
	return CTL_OK;
}

/* ---- several runs --------------------------------------------------------- */

/* One series of one run: a column of the aligned forms, a line of a
 * chart. */
struct column {
	const struct history *h;
	const ig_series *s;
	size_t at; /* the next point */
	char label[128]; /* RUN, or RUN:NAME when the runs have several */
	double v; /* this row's value */
	bool have; /* ... when the series has a point there */
};

/* Every series of every run, in the order asked; *n of them. */
static struct column *
columns(const struct history *h, size_t nh, size_t *n)
{
	struct column *c;
	const char *first = NULL;
	bool several = false;

	*n = 0;
	for (size_t i = 0; i < nh; i++)
		for (size_t j = 0; j < h[i].n; j++) {
			(*n)++;
			if (first == NULL)
				first = h[i].s[j].name;
			several |= strcmp(first, h[i].s[j].name) != 0;
		}
	if ((c = calloc(*n + 1, sizeof *c)) == NULL)
		return NULL;
	*n = 0;
	for (size_t i = 0; i < nh; i++)
		for (size_t j = 0; j < h[i].n; j++, (*n)++) {
			c[*n].h = &h[i];
			c[*n].s = &h[i].s[j];
			if (several)
				snprintf(c[*n].label, sizeof c[*n].label,
				    "%s:%s", h[i].run, h[i].s[j].name);
			else
				snprintf(c[*n].label, sizeof c[*n].label, "%s",
				    h[i].run);
		}
	return c;
}

/*
 * The next row of the aligned form: the lowest axis value any column has
 * left, and each column's value there (by epoch, its last point of that
 * epoch).  False when all are done.
 */
static bool
next_row(struct column *c, size_t n, enum maxis axis, int64_t *x)
{
	bool any = false;

	*x = INT64_MAX;
	for (size_t i = 0; i < n; i++)
		if (c[i].at < c[i].s->n) {
			int64_t v = axis_of(
			    &c[i].s->points[c[i].at], axis, c[i].h->start);
			*x = v < *x ? v : *x;
			any = true;
		}
	for (size_t i = 0; any && i < n; i++) {
		c[i].have = false;
		while (c[i].at < c[i].s->n &&
		    axis_of(&c[i].s->points[c[i].at], axis, c[i].h->start) ==
		        *x) {
			c[i].v = c[i].s->points[c[i].at++].value;
			c[i].have = true;
		}
	}
	return any;
}

static int
aligned_csv(struct ctl *ctl, struct column *c, size_t n, enum maxis axis)
{
	int64_t x;

	fputs(axis == AX_WALL ? "wall_ms" : axis_label(axis), ctl->out);
	for (size_t i = 0; i < n; i++) {
		fputc(',', ctl->out);
		put_text(ctl->out, c[i].label);
	}
	fputc('\n', ctl->out);
	while (next_row(c, n, axis, &x)) {
		fprintf(ctl->out, "%lld", (long long)x);
		for (size_t i = 0; i < n; i++)
			if (c[i].have)
				fprintf(ctl->out, ",%.17g", c[i].v);
			else
				fputc(',', ctl->out);
		fputc('\n', ctl->out);
	}
	return ferror(ctl->out) ?
	    ig_err_set(&ctl->e, CTL_ELOCAL, "cannot write the output") :
	    CTL_OK;
}

static int
aligned_table(struct ctl *ctl, struct column *c, size_t n, enum maxis axis)
{
	const char **cells = calloc(n + 2, sizeof *cells);
	char *heads = malloc((n + 1) * sizeof c->label),
	     (*vals)[32] = malloc((n + 1) * sizeof *vals);
	struct table *t = NULL;
	int64_t x;
	int rc = -1;

	if (cells == NULL || heads == NULL || vals == NULL)
		goto out;
	cells[0] = axis == AX_EPOCH ? ">EPOCH" :
	    axis == AX_WALL         ? ">WALL_MS" :
	                              ">ITERATION";
	for (size_t i = 0; i < n; i++) {
		snprintf(heads + i * sizeof c->label, sizeof c->label, ">%s",
		    c[i].label);
		cells[i + 1] = heads + i * sizeof c->label;
	}
	if ((t = table_new(cells)) == NULL)
		goto out;
	rc = 0;
	while (rc == 0 && next_row(c, n, axis, &x)) {
		fmt_count(vals[n], sizeof vals[n], x);
		cells[0] = vals[n];
		for (size_t i = 0; i < n; i++) {
			fmt_value(vals[i], sizeof vals[i], c[i].v);
			cells[i + 1] = c[i].have ? vals[i] : "";
		}
		rc = table_add(t, cells);
	}
	if (rc == 0)
		rc = table_print(t, ctl->out) != 0 ? 1 : 0;
out:
	table_free(t);
	free(cells);
	free(heads);
	free(vals);
	if (rc == 1)
		return ig_err_set(
		    &ctl->e, CTL_ELOCAL, "cannot write the output");
	return rc != 0 ? ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory") :
	                 CTL_OK;
}

/* Colours only for a terminal that has them, as NO_COLOR asks. */
static bool
has_colour(FILE *f)
{
	const char *term = getenv("TERM");

	return isatty(fileno(f)) && getenv("NO_COLOR") == NULL &&
	    term != NULL && strcmp(term, "dumb") != 0;
}

/* A chart per series name, each overlaying that series of every run. */
static int
overlay_plots(struct ctl *ctl, struct column *c, size_t n, enum maxis axis)
{
	struct chart_series *cs = calloc(n + 1, sizeof *cs);
	bool *done = calloc(n + 1, sizeof *done), colour = has_colour(ctl->out);
	int width = term_width(ctl->out), rc = CTL_OK;
	size_t charts = 0;

	if (cs == NULL || done == NULL)
		rc = ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	for (size_t i = 0; rc == CTL_OK && i < n; i++) {
		size_t k = 0;
		char *text = NULL;

		if (done[i])
			continue;
		for (size_t j = i; j < n; j++) {
			const ig_series *s = c[j].s;
			double *xy;

			if (done[j] || strcmp(s->name, c[i].s->name) != 0)
				continue;
			done[j] = true;
			if ((xy = malloc(2 * (s->n + 1) * sizeof *xy)) ==
			    NULL) {
				rc = ig_err_set(
				    &ctl->e, CTL_ELOCAL, "out of memory");
				break;
			}
			for (size_t p = 0; p < s->n; p++) {
				xy[p] =
				    chart_x(&s->points[p], axis, c[j].h->start);
				xy[s->n + p] = s->points[p].value;
			}
			cs[k++] = (struct chart_series){ s->name, c[j].h->run,
				xy, xy + s->n, s->n, axis_label(axis) };
		}
		if (rc == CTL_OK &&
		    chart_render(cs, k, width, CHART_ROWS, colour, &text) != 0)
			rc = ig_err_set(&ctl->e, CTL_ELOCAL,
			    "out of memory, or the terminal is too narrow "
			    "for a chart (%d columns)",
			    width);
		else if (rc == CTL_OK)
			fprintf(
			    ctl->out, "%s%s", charts++ > 0 ? "\n" : "", text);
		free(text);
		for (size_t j = 0; j < k; j++)
			free((double *)cs[j].x);
	}
	free(cs);
	free(done);
	return rc;
}

static int
compare(struct ctl *ctl, const struct history *h, size_t nh, enum maxis axis,
    enum mformat format)
{
	size_t n;
	struct column *c = columns(h, nh, &n);
	int rc;

	if (c == NULL)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	switch (format) {
	case M_CSV:
		rc = aligned_csv(ctl, c, n, axis);
		break;
	case M_PLOT:
		rc = overlay_plots(ctl, c, n, axis);
		break;
	default:
		rc = aligned_table(ctl, c, n, axis);
		break;
	}
	free(c);
	return rc;
}

int
text_metrics(struct ctl *ctl, const struct history *h, size_t n,
    enum maxis axis, enum mformat format)
{
	if (n > 1)
		return compare(ctl, h, n, axis, format);
	switch (format) {
	case M_CSV:
		print_csv(ctl, h);
		return CTL_OK;
	case M_PLOT:
		return print_plots(ctl, h, axis);
	default:
		return print_table(ctl, h);
	}
}
