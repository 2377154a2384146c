/*
 * hist.h - a histogram of fixed buckets, counted where things happen (the
 * store's commits, the run manager's checkpoints) and shown by the metrics
 * endpoint (metrics/).  Loop thread only; no locking.
 */
#ifndef IGNITED_HIST_H
#define IGNITED_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_BOUNDS_MAX 16

enum hist_kind {
	HIST_SECONDS, /* 1 ms to 10 s */
	HIST_BYTES, /* 1 KiB to 1 GiB, by fours */
};

struct hist {
	const double *bounds; /* upper bounds, increasing */
	size_t nbounds;
	uint64_t counts[HIST_BOUNDS_MAX + 1]; /* per bucket; the last: +Inf */
	uint64_t count;
	double sum;
};

static inline void
hist_init(struct hist *h, enum hist_kind kind)
{
	static const double seconds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025,
		0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
	static const double bytes[] = { 1024, 4096, 16384, 65536, 262144,
		1048576, 4194304, 16777216, 67108864, 268435456, 1073741824 };

	*h = (struct hist){ 0 };
	if (kind == HIST_SECONDS) {
		h->bounds = seconds;
		h->nbounds = sizeof(seconds) / sizeof(seconds[0]);
	} else {
		h->bounds = bytes;
		h->nbounds = sizeof(bytes) / sizeof(bytes[0]);
	}
}

static inline void
hist_add(struct hist *h, double v)
{
	size_t i = 0;

	while (i < h->nbounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += v;
}

#endif
