/*
 * expo.h - the Prometheus text exposition format (version 0.0.4), written
 * into a growing buffer: metric families, samples with escaped labels,
 * histograms, and a budget of series that a scrape may show.
 *
 * Metric and label names are sanitised (a character the format does not
 * allow becomes '_'); label values are escaped (\\, \", \n) and made valid
 * UTF-8 (a bad byte becomes U+FFFD), since Prometheus refuses a whole
 * scrape over one bad series.
 */
#ifndef IGNITED_EXPO_H
#define IGNITED_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"

#define EXPO_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct expo_label {
	const char *name;
	const char *value; /* NULL: "" */
};

struct expo {
	char *buf; /* owned; NUL-terminated */
	size_t len, cap;
	bool failed; /* out of memory: the text is incomplete */
	size_t budget; /* series expo_take may still give */
	uint64_t dropped; /* series expo_take refused */
};

void expo_init(struct expo *x, size_t budget);
void expo_free(struct expo *x);

/* A family's # HELP and # TYPE lines (type: gauge, counter, histogram). */
void expo_family(
    struct expo *x, const char *name, const char *type, const char *help);
/* One sample: name{labels} value. */
void expo_sample(struct expo *x, const char *name,
    const struct expo_label *labels, size_t nlabels, double value);
/* A histogram family with its buckets, sum and count. */
void expo_hist(
    struct expo *x, const char *name, const char *help, const struct hist *h);
/* Take up to want series from the budget: how many may be shown; the
 * rest are counted as dropped. */
size_t expo_take(struct expo *x, size_t want);

#endif
