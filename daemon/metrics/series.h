/*
 * series.h - the series of runs a scrape shows (metrics.c): the runs
 * counted by status and owner, and each run's gauges and last metric
 * values within the scrape's budget of series, unfinished and newer runs
 * first.  Apart from the run manager, to be tested alone.
 */
#ifndef IGNITED_SERIES_H
#define IGNITED_SERIES_H

#include <stddef.h>

#include "ignite/protocol.h"
#include "metrics/expo.h"

/* A run as one scrape shows it: s as run_summary() gives it. */
struct series_row {
	ig_summary s;
	char id[24], owner[24]; /* set by series_write_runs */
	size_t shown; /* of its series, within the budget */
};

/* Sort rows, then write ignited_runs and the families of runs into x,
 * taking each run's series from x's budget. */
void series_write_runs(struct expo *x, struct series_row *rows, size_t n);

#endif
