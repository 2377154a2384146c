/*
 * builtin.c - the table of builtin process functions.
 */
#include <string.h>

#include "builtin/builtin.h"

static const ig_plugin *const builtins[] = {
	&builtin_noop,
	&builtin_sleep,
	&builtin_meanstd,
	&builtin_softmax,
};

const ig_plugin *
builtin_at(size_t i)
{
	return i < sizeof builtins / sizeof builtins[0] ? builtins[i] : NULL;
}

const ig_plugin *
builtin_find(const char *name)
{
	const ig_plugin *p;

	for (size_t i = 0; (p = builtin_at(i)) != NULL; i++) {
		if (strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}
