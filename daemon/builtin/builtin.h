/*
 * builtin.h - the process functions compiled into ignited.
 *
 * Each is an ig_plugin (include/ignite/plugin.h), driven exactly like a
 * plugin loaded from a shared object:
 *
 *   noop     does nothing and outputs nothing: the hosting overhead floor.
 *   sleep    param ms (milliseconds per iteration, default 1): simulated
 *            work; BLOCKING, so the daemon runs it off the loop thread.
 *   meanstd  per-column mean and std over a batch source (see meanstd.c).
 *   softmax  multinomial logistic regression trained by minibatch SGD
 *            (see softmax.c).
 *
 * The ig_plugin values have static storage.
 */
#ifndef IGNITED_BUILTIN_BUILTIN_H
#define IGNITED_BUILTIN_BUILTIN_H

#include <stddef.h>

#include "ignite/plugin.h"

extern const ig_plugin builtin_noop;
extern const ig_plugin builtin_sleep;
extern const ig_plugin builtin_meanstd;
extern const ig_plugin builtin_softmax;

/* The builtin called name ("softmax", as in "builtin:softmax"), or NULL. */
const ig_plugin *builtin_find(const char *name);
/* The i-th builtin, NULL past the last: for listings and error messages. */
const ig_plugin *builtin_at(size_t i);

#endif
