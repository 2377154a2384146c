/*
 * vars.c - small named-value lists: state.metrics, counters, user keys.
 *
 * Linear search on purpose: an engine has a handful of each, and lookups
 * happen at epoch boundaries or in handlers, not in the bare loop.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

void ig_value_clear(ig_value *v)
{
	if (v->type == IG_VALUE_STR)
		free(v->u.s);
	v->type = IG_VALUE_NIL;
}

int ig_value_copy(ig_value *dst, const ig_value *src)
{
	ig_value tmp = *src;

	if (src->type == IG_VALUE_STR && (tmp.u.s = strdup(src->u.s)) == NULL)
		return IG_ENOMEM;
	ig_value_clear(dst);
	*dst = tmp;
	return 0;
}

struct ig_var *ig_vars_find(const struct ig_vars *vs, const char *name)
{
	for (size_t i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].name, name) == 0)
			return &vs->v[i];
	return NULL;
}

struct ig_var *ig_vars_get(struct ig_vars *vs, const char *name)
{
	struct ig_var *var = ig_vars_find(vs, name);

	if (var != NULL)
		return var;
	if (vs->n == vs->cap) {
		size_t cap = vs->cap ? vs->cap * 2 : 8;
		struct ig_var *v = realloc(vs->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		vs->v = v;
		vs->cap = cap;
	}
	var = &vs->v[vs->n];
	if ((var->name = strdup(name)) == NULL)
		return NULL;
	var->v.type = IG_VALUE_NIL;
	vs->n++;
	return var;
}

int ig_vars_remove(struct ig_vars *vs, const char *name)
{
	struct ig_var *var = ig_vars_find(vs, name);

	if (var == NULL)
		return IG_ENOENT;
	free(var->name);
	ig_value_clear(&var->v);
	memmove(var, var + 1, (size_t)(vs->v + vs->n - (var + 1)) * sizeof(*var));
	vs->n--;
	return 0;
}

void ig_vars_clear(struct ig_vars *vs)
{
	for (size_t i = 0; i < vs->n; i++) {
		free(vs->v[i].name);
		ig_value_clear(&vs->v[i].v);
	}
	free(vs->v);
	memset(vs, 0, sizeof(*vs));
}
