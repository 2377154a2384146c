/*
 * params.h - typed reads of ig_param arrays, for builtins and data sources.
 *
 * Every reader takes `who` (the component's name, for messages), looks key
 * up in params, and on a missing key stores def.  A value of the wrong type
 * or out of range is an error naming who, key and what was expected.  All
 * return 0 or -1 with err set.
 */
#ifndef IGNITED_BUILTIN_PARAMS_H
#define IGNITED_BUILTIN_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ignite/plugin.h"

/* The value of key, or NULL when absent.  Borrowed from params. */
const ig_value *params_find(const ig_param *params, size_t n, const char *key);

/* Fail on the first key not in known (a NULL-terminated list), listing the
 * known keys so a typo is obvious. */
int params_check(const char *who, const ig_param *params, size_t n,
    const char *const *known, char *err, size_t errlen);

/* A number (int or double). */
int params_double(const char *who, const ig_param *params, size_t n,
    const char *key, double def, double *out, char *err, size_t errlen);
/* An integer, or a double with an integral value. */
int params_int(const char *who, const ig_param *params, size_t n,
    const char *key, int64_t def, int64_t *out, char *err, size_t errlen);
int params_bool(const char *who, const ig_param *params, size_t n,
    const char *key, bool def, bool *out, char *err, size_t errlen);
/* A string; *out is borrowed from params. */
int params_str(const char *who, const ig_param *params, size_t n,
    const char *key, const char *def, const char **out, char *err,
    size_t errlen);

/* The type's name for messages: "int", "double", "bool", "string", "nil". */
const char *param_type_name(ig_value_type t);

#endif
