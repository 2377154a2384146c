/*
 * vars.c - named-value lists: state.metrics, counters, user keys.
 *
 * An engine has a handful of each, found by a plain scan; a worker may
 * report up to a thousand metrics, and then names are found by binary
 * search in by_name, an index kept sorted as names are added.  Removal (of
 * a user key, rare) shifts both arrays.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Up to this many entries a scan beats the index. */
#define VARS_SCAN 8

void
engine_value_clear(ig_value *v)
{
	if (v->type == IG_VALUE_STR)
		free(v->u.s);
	v->type = IG_VALUE_NIL;
}

int
engine_value_copy(ig_value *dst, const ig_value *src)
{
	ig_value tmp = *src;

	if (src->type == IG_VALUE_STR && (tmp.u.s = strdup(src->u.s)) == NULL)
		return IG_ENOMEM;
	engine_value_clear(dst);
	*dst = tmp;
	return 0;
}

/* Where name is or would go in by_name. */
static size_t
rank(const struct vars *vs, const char *name, int *cmp)
{
	size_t lo = 0, hi = vs->n;

	*cmp = 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(vs->v[vs->by_name[mid]].name, name);
		if (c == 0) {
			*cmp = 0;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct var *
engine_vars_find(const struct vars *vs, const char *name)
{
	size_t at;
	int cmp;

	if (vs->n <= VARS_SCAN) {
		for (size_t i = 0; i < vs->n; i++)
			if (strcmp(vs->v[i].name, name) == 0)
				return &vs->v[i];
		return NULL;
	}
	at = rank(vs, name, &cmp);
	return cmp == 0 ? &vs->v[vs->by_name[at]] : NULL;
}

struct var *
engine_vars_get(struct vars *vs, const char *name)
{
	struct var *var = engine_vars_find(vs, name);
	size_t at;
	int cmp;

	if (var != NULL)
		return var;
	if (vs->n == vs->cap) {
		size_t cap = vs->cap ? vs->cap * 2 : 8;
		struct var *v = realloc(vs->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		vs->v = v;
		size_t *ix = realloc(vs->by_name, cap * sizeof(*ix));
		if (ix == NULL)
			return NULL;
		vs->by_name = ix;
		vs->cap = cap;
	}
	var = &vs->v[vs->n];
	if ((var->name = strdup(name)) == NULL)
		return NULL;
	var->v.type = IG_VALUE_NIL;
	at = rank(vs, name, &cmp);
	memmove(&vs->by_name[at + 1], &vs->by_name[at],
	    (vs->n - at) * sizeof(*vs->by_name));
	vs->by_name[at] = vs->n++;
	return var;
}

int
engine_vars_remove(struct vars *vs, const char *name)
{
	struct var *var = engine_vars_find(vs, name);
	size_t i, at;
	int cmp;

	if (var == NULL)
		return IG_ENOENT;
	i = (size_t)(var - vs->v);
	at = rank(vs, name, &cmp);
	free(var->name);
	engine_value_clear(&var->v);
	memmove(var, var + 1, (vs->n - i - 1) * sizeof(*var));
	memmove(&vs->by_name[at], &vs->by_name[at + 1],
	    (vs->n - at - 1) * sizeof(*vs->by_name));
	vs->n--;
	for (size_t k = 0; k < vs->n; k++)
		if (vs->by_name[k] > i)
			vs->by_name[k]--;
	return 0;
}

void
engine_vars_clear(struct vars *vs)
{
	for (size_t i = 0; i < vs->n; i++) {
		free(vs->v[i].name);
		engine_value_clear(&vs->v[i].v);
	}
	free(vs->v);
	free(vs->by_name);
	memset(vs, 0, sizeof(*vs));
}
