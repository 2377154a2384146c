/*
 * series.c - the series of runs a scrape shows (series.h).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics/series.h"

static bool
unfinished(int status)
{
	return status == IG_STATUS_QUEUED || status == IG_STATUS_RUNNING ||
	    status == IG_STATUS_PAUSED;
}

/* Unfinished runs first, then the newest: what the budget keeps. */
static int
row_cmp(const void *a, const void *b)
{
	const ig_summary *x = &((const struct series_row *)a)->s;
	const ig_summary *y = &((const struct series_row *)b)->s;

	if (unfinished(x->status) != unfinished(y->status))
		return unfinished(x->status) ? -1 : 1;
	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

static bool
has_progress(const ig_summary *s)
{
	return s->max_epochs > 0 && s->epoch_length > 0;
}

/* ignited_runs{status, owner}: every status of every owner with a run. */
static void
write_counts(struct expo *x, const struct series_row *rows, size_t n)
{
	struct expo_label l[2] = { { "status", NULL }, { "owner", NULL } };

	expo_family(x, "ignited_runs", "gauge",
	    "Runs the daemon knows, by status and owner (uid).");
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		size_t count[IG_STATUS_COUNT] = { 0 };

		for (size_t j = 0; j < i && !seen; j++)
			seen = rows[j].s.owner == rows[i].s.owner;
		if (seen)
			continue;
		for (size_t j = i; j < n; j++)
			if (rows[j].s.owner == rows[i].s.owner &&
			    rows[j].s.status >= 0 &&
			    rows[j].s.status < IG_STATUS_COUNT)
				count[rows[j].s.status]++;
		l[1].value = rows[i].owner;
		for (int st = 0; st < IG_STATUS_COUNT; st++) {
			l[0].value = ig_status_name(st);
			expo_sample(x, "ignited_runs", l, 2, (double)count[st]);
		}
	}
}

/* The gauges every run has, as sample k of its series. */
static const struct {
	const char *name, *help;
} run_gauges[] = {
	{ "ignited_run_iterations_per_second",
	    "Iterations per second, recent; 0 unless running." },
	{ "ignited_run_iteration", "Iterations done, over every epoch." },
	{ "ignited_run_epoch", "The current epoch." },
	{ "ignited_run_progress",
	    "Iterations done of max_epochs times epoch_length, 0 to 1; only "
	    "when both are known." },
};

static double
run_gauge(const ig_summary *s, size_t k)
{
	double total;

	switch (k) {
	case 0:
		return s->rate;
	case 1:
		return (double)s->iteration;
	case 2:
		return (double)s->epoch;
	default:
		total = (double)s->max_epochs * (double)s->epoch_length;
		return (double)s->iteration < total ?
		    (double)s->iteration / total :
		    1;
	}
}

static void
write_runs(struct expo *x, struct series_row *rows, size_t n)
{
	struct expo_label l[4] = { { "run", NULL }, { "name", NULL },
		{ "owner", NULL }, { "metric", NULL } };
	size_t ngauges = sizeof(run_gauges) / sizeof(run_gauges[0]);

	for (size_t i = 0; i < n; i++) {
		size_t base = ngauges - !has_progress(&rows[i].s);
		rows[i].shown = expo_take(x, base + rows[i].s.nmetrics);
	}
	for (size_t k = 0; k < ngauges; k++) {
		expo_family(x, run_gauges[k].name, "gauge", run_gauges[k].help);
		for (size_t i = 0; i < n; i++) {
			const struct series_row *r = &rows[i];
			/* the progress gauge is the last: k is its index */
			if (k >= r->shown || (k == 3 && !has_progress(&r->s)))
				continue;
			l[0].value = r->id;
			l[1].value = r->s.name;
			l[2].value = r->owner;
			expo_sample(
			    x, run_gauges[k].name, l, 3, run_gauge(&r->s, k));
		}
	}
	expo_family(x, "ignited_run_metric", "gauge",
	    "The last value of each metric of a run.");
	for (size_t i = 0; i < n; i++) {
		const struct series_row *r = &rows[i];
		size_t base = ngauges - !has_progress(&r->s);
		for (size_t k = 0; base + k < r->shown; k++) {
			l[0].value = r->id;
			l[1].value = r->s.name;
			l[2].value = r->owner;
			l[3].value = r->s.metrics[k].name;
			expo_sample(x, "ignited_run_metric", l, 4,
			    r->s.metrics[k].value);
		}
	}
}

void
series_write_runs(struct expo *x, struct series_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(
		    rows[i].id, sizeof(rows[i].id), "%" PRId64, rows[i].s.id);
		snprintf(rows[i].owner, sizeof(rows[i].owner), "%" PRId64,
		    rows[i].s.owner);
	}
	if (n > 0)
		qsort(rows, n, sizeof(*rows), row_cmp);
	write_counts(x, rows, n);
	write_runs(x, rows, n);
}
