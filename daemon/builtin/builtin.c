/*
 * builtin.c - the table of builtin process functions.
 */
#include <string.h>

#include "builtin/builtin.h"

static const ig_plugin *const builtins[] = {
	&ig_builtin_noop,
	&ig_builtin_sleep,
	&ig_builtin_meanstd,
	&ig_builtin_softmax,
};

const ig_plugin *
ig_builtin_at(size_t i)
{
	return i < sizeof builtins / sizeof builtins[0] ? builtins[i] : NULL;
}

const ig_plugin *
ig_builtin_find(const char *name)
{
	const ig_plugin *p;

	for (size_t i = 0; (p = ig_builtin_at(i)) != NULL; i++) {
		if (strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}
