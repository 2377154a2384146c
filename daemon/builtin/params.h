/*
 * params.h - typed reads of ig_param arrays, for builtins and data sources.
 *
 * Every reader takes `who` (the component's name, for messages), looks key
 * up in params, and on a missing key stores def.  A value of the wrong type
 * or out of range is an error naming who, key and what was expected.  All
 * return 0 or IG_PROTO_INVALID_PARAMS with err set.
 *
 * A builtin calls them inside its plugin.h callbacks, which report in the
 * caller's char buffer (the plugin ABI): params_abi_err() copies an error
 * there.
 */
#ifndef IGNITED_BUILTIN_PARAMS_H
#define IGNITED_BUILTIN_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ignite/plugin.h"
#include "ignite/protocol.h"

/* The value of key, or NULL when absent.  Borrowed from params. */
const ig_value *params_find(const ig_param *params, size_t n, const char *key);

/* Fail on the first key not in known (a NULL-terminated list), listing the
 * known keys so a typo is obvious. */
int params_check(const char *who, const ig_param *params, size_t n,
    const char *const *known, ig_err *err);

/* A number (int or double). */
int params_double(const char *who, const ig_param *params, size_t n,
    const char *key, double def, double *out, ig_err *err);
/* An integer, or a double with an integral value. */
int params_int(const char *who, const ig_param *params, size_t n,
    const char *key, int64_t def, int64_t *out, ig_err *err);
int params_bool(const char *who, const ig_param *params, size_t n,
    const char *key, bool def, bool *out, ig_err *err);
/* A string; *out is borrowed from params. */
int params_str(const char *who, const ig_param *params, size_t n,
    const char *key, const char *def, const char **out, ig_err *err);

/* Copy e into a plugin.h callback's err buffer; returns -1, what those
 * callbacks return on failure. */
int params_abi_err(const ig_err *e, char *err, size_t errlen);

/* The type's name for messages: "int", "double", "bool", "string", "nil". */
const char *param_type_name(ig_value_type t);

#endif
