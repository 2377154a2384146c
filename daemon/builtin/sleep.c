/*
 * sleep.c - simulated work: sleep a fixed time per iteration.
 *
 * Param ms (a number of milliseconds, default 1, may be fractional or 0).
 * The process function blocks, so the plugin is flagged BLOCKING and the
 * daemon runs it off the loop thread.  It outputs nothing.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builtin/builtin.h"
#include "builtin/params.h"

/* A day per iteration is certainly a mistake, and keeps tv_sec in range. */
#define SLEEP_MAX_MS (24.0 * 3600 * 1000)

struct sleeper {
	struct timespec duration;
};

static void *
sleep_create(const ig_param *params, size_t n, char *err, size_t errlen)
{
	static const char *const known[] = { "ms", NULL };
	double ms;
	ig_err e;

	if (params_check("sleep", params, n, known, &e) != 0 ||
	    params_double("sleep", params, n, "ms", 1.0, &ms, &e) != 0) {
		params_abi_err(&e, err, errlen);
		return NULL;
	}
	if (!(ms >= 0 && ms <= SLEEP_MAX_MS)) {
		snprintf(err, errlen,
		    "sleep: param ms must be in [0, %.0f], got %g",
		    SLEEP_MAX_MS, ms);
		return NULL;
	}

	struct sleeper *s = malloc(sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "sleep: out of memory");
		return NULL;
	}
	int64_t ns = llround(ms * 1e6);
	s->duration.tv_sec = (time_t)(ns / 1000000000);
	s->duration.tv_nsec = (long)(ns % 1000000000);
	return s;
}

static int
sleep_process(void *self, const ig_batch *batch, int mode,
    const ig_output **out, char *err, size_t errlen)
{
	const struct sleeper *s = self;
	struct timespec left = s->duration;

	(void)batch;
	(void)mode;
	/* A signal may cut the sleep short; sleep the rest. */
	while (nanosleep(&left, &left) == -1) {
		if (errno != EINTR) {
			snprintf(err, errlen, "sleep: nanosleep: %s",
			    strerror(errno));
			return -1;
		}
	}
	*out = NULL;
	return 0;
}

const ig_plugin builtin_sleep = {
	.abi_version = IG_PLUGIN_ABI_VERSION,
	.flags = IG_PLUGIN_BLOCKING,
	.name = "sleep",
	.create = sleep_create,
	.process = sleep_process,
	.destroy = free,
};
