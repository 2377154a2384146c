/*
 * text_metrics.c - metrics for people: a table, CSV lines (--csv) or a
 * chart per series (--plot); output_text's (output.h).
 */
#include <stdlib.h>

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

static int
print_plots(struct ctl *ctl, const struct history *h, bool epochs)
{
	int width = term_width(ctl->out);

	for (size_t i = 0; i < h->n; i++) {
		const ig_series *s = &h->s[i];
		double *xy = malloc(2 * (s->n + 1) * sizeof *xy);
		struct chart_series cs = { s->name, xy, xy + s->n, s->n,
			epochs ? "epoch" : "iteration" };
		char *text;
		int rc;

		if (xy == NULL)
			return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
		for (size_t j = 0; j < s->n; j++) {
			xy[j] = (double)(epochs ? s->points[j].epoch :
			                          s->points[j].iteration);
			xy[s->n + j] = s->points[j].value;
		}
		rc = chart_render(&cs, width, CHART_ROWS, &text);
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

int
text_metrics(
    struct ctl *ctl, const struct history *h, bool epochs, enum mformat format)
{
	switch (format) {
	case M_CSV:
		print_csv(ctl, h);
		return CTL_OK;
	case M_PLOT:
		return print_plots(ctl, h, epochs);
	default:
		return print_table(ctl, h);
	}
}
