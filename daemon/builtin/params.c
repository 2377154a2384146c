/*
 * params.c - typed reads of ig_param arrays.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "builtin/params.h"

const ig_value *
params_find(const ig_param *params, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(params[i].key, key) == 0)
			return &params[i].value;
	}
	return NULL;
}

const char *
param_type_name(ig_value_type t)
{
	switch (t) {
	case IG_VALUE_NIL:
		return "nil";
	case IG_VALUE_INT:
		return "int";
	case IG_VALUE_DOUBLE:
		return "double";
	case IG_VALUE_BOOL:
		return "bool";
	case IG_VALUE_STR:
		return "string";
	}
	return "unknown";
}

int
params_check(const char *who, const ig_param *params, size_t n,
    const char *const *known, ig_err *err)
{
	char msg[IG_ERR_MAX];
	size_t len = sizeof(msg);

	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; known[k] != NULL; k++) {
			if (strcmp(params[i].key, known[k]) == 0)
				break;
		}
		if (known[k] != NULL)
			continue;

		if (known[0] == NULL)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: unknown param '%s' (it takes none)", who,
			    params[i].key);
		int used = snprintf(msg, len,
		    "%s: unknown param '%s' (known:", who, params[i].key);
		for (k = 0; known[k] != NULL && used >= 0 && (size_t)used < len;
		     k++) {
			int m = snprintf(msg + used, len - (size_t)used,
			    "%s %s", k == 0 ? "" : ",", known[k]);
			used = m < 0 ? m : used + m;
		}
		if (used >= 0 && (size_t)used < len)
			snprintf(msg + used, len - (size_t)used, ")");
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS, "%s", msg);
	}
	return 0;
}

int
params_abi_err(const ig_err *e, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", e->message);
	return -1;
}

static int
wrong_type(const char *who, const char *key, const char *want,
    const ig_value *v, ig_err *err)
{
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "%s: param %s must be %s, got %s", who, key, want,
	    param_type_name(v->type));
}

int
params_double(const char *who, const ig_param *params, size_t n,
    const char *key, double def, double *out, ig_err *err)
{
	const ig_value *v = params_find(params, n, key);

	if (v == NULL)
		*out = def;
	else if (v->type == IG_VALUE_DOUBLE)
		*out = v->u.d;
	else if (v->type == IG_VALUE_INT)
		*out = (double)v->u.i;
	else
		return wrong_type(who, key, "a number", v, err);
	return 0;
}

int
params_int(const char *who, const ig_param *params, size_t n, const char *key,
    int64_t def, int64_t *out, ig_err *err)
{
	const ig_value *v = params_find(params, n, key);

	if (v == NULL) {
		*out = def;
	} else if (v->type == IG_VALUE_INT) {
		*out = v->u.i;
	} else if (v->type == IG_VALUE_DOUBLE) {
		/* JSON clients often send 32.0 for 32; accept exact integers only,
		 * within the range where the conversion is defined. */
		double d = v->u.d;
		if (!(d == floor(d) && fabs(d) < 0x1p62)) {
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: param %s must be an integer, got %g", who, key,
			    d);
		}
		*out = (int64_t)d;
	} else {
		return wrong_type(who, key, "an integer", v, err);
	}
	return 0;
}

int
params_bool(const char *who, const ig_param *params, size_t n, const char *key,
    bool def, bool *out, ig_err *err)
{
	const ig_value *v = params_find(params, n, key);

	if (v == NULL)
		*out = def;
	else if (v->type == IG_VALUE_BOOL)
		*out = v->u.b;
	else
		return wrong_type(who, key, "true or false", v, err);
	return 0;
}

int
params_str(const char *who, const ig_param *params, size_t n, const char *key,
    const char *def, const char **out, ig_err *err)
{
	const ig_value *v = params_find(params, n, key);

	if (v == NULL)
		*out = def;
	else if (v->type == IG_VALUE_STR)
		*out = v->u.s;
	else
		return wrong_type(who, key, "a string", v, err);
	return 0;
}
