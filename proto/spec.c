/*
 * spec.c - reading a run spec map into struct ig_spec, checking shape and
 * types and naming the path of whatever is wrong.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ignite/spec.h"
#include "internal.h"

static const char *const engine_kinds[] = { "builtin", "plugin", "exec", NULL };
static const char *const metric_kinds[] = { "average", "loss", "accuracy",
	"running_average", "output", NULL };
static const char *const actions[] = { "log", "checkpoint", "terminate",
	"terminate_epoch", "early_stopping", "terminate_on_nan", "evaluate",
	NULL };
static const char *const splits[] = { "train", "val", NULL };
static const char *const modes[] = { "min", "max", NULL };
static const char *const rlimits[] = { "cpu", "as", "nofile", "nproc", "core",
	"fsize", NULL };

/*
 * The data kinds, indexed by enum ig_data_kind.  A new kind is a line here
 * and its source in daemon/dataset/ (docs/ARCHITECTURE.md): its keys are
 * what its data map may hold, and what is checked, packed and handed to
 * the source follows from them; its required keys must be set.
 */
#define DK(key) PROTO_DATA_##key
static const struct data_kind {
	const char *name;
	int form; /* enum ig_data_form */
	unsigned keys, required; /* enum proto_data_key bits */
} data_kinds[] = {
	{ "none", IG_DATA_FORM_NONE, 0, 0 },
	{ "range", IG_DATA_FORM_COUNT, DK(N) | DK(SHUFFLE), DK(N) },
	{ "csv", IG_DATA_FORM_PATH,
	    DK(PATH) | DK(BATCH_SIZE) | DK(SHUFFLE) | DK(COLUMNS) | DK(LABEL) |
	        DK(HEADER) | DK(SPLIT) | DK(SCALE),
	    DK(PATH) },
	{ "msgpack", IG_DATA_FORM_PATH,
	    DK(PATH) | DK(BATCH_SIZE) | DK(SHUFFLE) | DK(SPLIT), DK(PATH) },
	{ "worker", IG_DATA_FORM_WORD, 0, 0 },
};

/* Ignite's core events; a filter needs an event with a counter (rule 6). */
static const struct {
	const char *name;
	bool counter;
} events[] = {
	{ "STARTED", true },
	{ "EPOCH_STARTED", true },
	{ "GET_BATCH_STARTED", true },
	{ "GET_BATCH_COMPLETED", true },
	{ "ITERATION_STARTED", true },
	{ "ITERATION_COMPLETED", true },
	{ "DATALOADER_STOP_ITERATION", false },
	{ "EXCEPTION_RAISED", false },
	{ "TERMINATE_SINGLE_EPOCH", false },
	{ "TERMINATE", false },
	{ "INTERRUPT", false },
	{ "EPOCH_COMPLETED", true },
	{ "COMPLETED", true },
};

#define NELEM(a) (sizeof(a) / sizeof(a)[0])

static const char *
name_in(const char *const *names, size_t n, int v)
{
	return v >= 0 && (size_t)v < n - 1 ? names[v] : NULL;
}

const char *
ig_engine_kind_name(int v)
{
	return name_in(engine_kinds, NELEM(engine_kinds), v);
}
static const struct data_kind *
data_kind_at(int v)
{
	return v >= 0 && (size_t)v < NELEM(data_kinds) ? &data_kinds[v] : NULL;
}

const char *
ig_data_kind_name(int v)
{
	const struct data_kind *k = data_kind_at(v);

	return k != NULL ? k->name : NULL;
}

int
ig_data_kind_find(const char *name, size_t len)
{
	for (size_t i = 0; i < NELEM(data_kinds); i++) {
		if (strlen(data_kinds[i].name) == len &&
		    memcmp(data_kinds[i].name, name, len) == 0)
			return (int)i;
	}
	return -1;
}

int
ig_data_kind_form(int v)
{
	const struct data_kind *k = data_kind_at(v);

	return k != NULL ? k->form : IG_DATA_FORM_NONE;
}

unsigned
proto_data_keys(int v)
{
	const struct data_kind *k = data_kind_at(v);

	return k != NULL ? k->keys : 0;
}
const char *
ig_metric_kind_name(int v)
{
	return name_in(metric_kinds, NELEM(metric_kinds), v);
}
const char *
ig_action_name(int v)
{
	return name_in(actions, NELEM(actions), v);
}
const char *
ig_rlimit_name(int v)
{
	return name_in(rlimits, NELEM(rlimits), v);
}

static int
invalid(ig_err *err, const char *path, const char *what)
{
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS, "%s: %s", path, what);
}

static int
nomem(ig_err *err)
{
	return ig_err_set(
	    err, IG_PROTO_INTERNAL, "out of memory reading a spec");
}

static bool
present(const msgpack_object *m, const char *key)
{
	const msgpack_object *v = ig_map_get(m, key);

	return v != NULL && v->type != MSGPACK_OBJECT_NIL;
}

static int
too_many(size_t n, const char *path, ig_err *err)
{
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "%s: at most %d entries, got %zu", path, IG_SPEC_MAX_ITEMS, n);
}

/* A str field that names a metric or an output field: NULL (absent) or a
 * name (ig_name_check), so that what reaches logs and terminals is plain. */
static int
check_name(const char *name, const char *where, const char *key, ig_err *err)
{
	char path[PROTO_PATH_MAX];

	if (name == NULL)
		return 0;
	proto_path_key(path, where, key);
	return ig_name_check(name, strlen(name), path, err);
}

/* A zeroed array for a bounded count of entries, with one spare so that
 * string vectors end in NULL. */
static int
alloc_items(size_t n, size_t size, void **out, const char *path, ig_err *err)
{
	if (n > IG_SPEC_MAX_ITEMS)
		return too_many(n, path, err);
	if ((*out = calloc(n + 1, size)) == NULL)
		return nomem(err);
	return 0;
}

/* A malloc'd copy of n bytes at p. */
static int
dup_bytes(const char *p, size_t n, char **out, ig_err *err)
{
	if ((*out = malloc(n + 1)) == NULL)
		return nomem(err);
	proto_mem_copy(*out, p, n);
	(*out)[n] = '\0';
	return 0;
}

/*
 * Keys that only some kinds (or actions) use: naming the key when the kind
 * does not use it catches more mistakes than ignoring it would.
 */
struct scope {
	const char *key;
	unsigned kinds; /* bit per enum value */
};

static int
check_scope(const msgpack_object *m, const char *where, const struct scope *t,
    size_t n, int kind, const char *what, const char *kind_name, ig_err *err)
{
	char path[PROTO_PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		if (present(m, t[i].key) && !(t[i].kinds & 1u << kind)) {
			proto_path_key(path, where, t[i].key);
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: not used by %s %s", path, what, kind_name);
		}
	}
	return 0;
}

/* ---- engine ------------------------------------------------------------- */

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* "exec:python3 -u worker.py": the command split at blanks. */
static int
split_command(const char *p, size_t len, ig_strv *argv, ig_err *err)
{
	size_t n = 0, i;
	int rc;

	for (i = 0; i < len; i++) {
		if (!is_blank(p[i]) && (i == 0 || is_blank(p[i - 1])))
			n++;
	}
	if (n == 0)
		return invalid(err, "engine", "exec: needs a command");
	if ((rc = alloc_items(
	         n, sizeof *argv->v, (void **)&argv->v, "engine", err)) != 0)
		return rc;
	for (i = 0; i < len;) {
		size_t start;

		while (i < len && is_blank(p[i]))
			i++;
		if (i == len)
			break;
		for (start = i; i < len && !is_blank(p[i]); i++)
			;
		if ((rc = dup_bytes(
		         p + start, i - start, &argv->v[argv->n], err)) != 0)
			return rc;
		argv->n++;
	}
	return 0;
}

static int
read_engine(const msgpack_object *o, ig_spec_engine *e, ig_err *err)
{
	static const struct {
		const char *prefix;
		int kind;
	} forms[] = {
		{ "builtin:", IG_ENGINE_BUILTIN },
		{ "plugin:", IG_ENGINE_PLUGIN },
		{ "exec:", IG_ENGINE_EXEC },
	};
	const char *p;
	size_t len;
	char q[48];
	int rc;

	if (o->type == MSGPACK_OBJECT_ARRAY) {
		e->kind = IG_ENGINE_EXEC;
		if (o->via.array.size == 0)
			return invalid(
			    err, "engine", "an exec argv needs a command");
		if (o->via.array.size > IG_SPEC_MAX_ITEMS)
			return too_many(o->via.array.size, "engine", err);
		if ((rc = proto_obj_read(
		         o, IG_F_STRV, NULL, &e->argv, "engine", err)) != 0)
			return rc;
		return e->argv.v[0][0] == '\0' ?
		    invalid(err, "engine[0]", "the command is empty") :
		    0;
	}
	if (o->type != MSGPACK_OBJECT_STR)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "engine: expected "
		    "a str or an exec argv array, got %s",
		    proto_type_name(o));
	p = o->via.str.ptr;
	len = o->via.str.size;
	if (proto_mem_has(p, len, '\0'))
		return invalid(err, "engine", "must not hold a NUL byte");
	for (size_t i = 0; i < NELEM(forms); i++) {
		size_t plen = strlen(forms[i].prefix);

		if (len < plen || memcmp(p, forms[i].prefix, plen) != 0)
			continue;
		e->kind = forms[i].kind;
		p += plen;
		len -= plen;
		if (e->kind == IG_ENGINE_EXEC)
			return split_command(p, len, &e->argv, err);
		if (e->kind == IG_ENGINE_BUILTIN &&
		    (rc = ig_name_check(p, len, "engine: builtin", err)) != 0)
			return rc;
		if (len == 0)
			return invalid(err, "engine", "plugin: needs a path");
		return dup_bytes(p, len, &e->target, err);
	}
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "engine: expected "
	    "builtin:NAME, plugin:PATH or exec:COMMAND, got %s",
	    proto_quote(q, sizeof q, o->via.str.ptr, o->via.str.size));
}

/* ---- params ------------------------------------------------------------- */

static int
read_param(const msgpack_object_kv *kv, ig_spec_param *p, const char *path,
    ig_err *err)
{
	const msgpack_object *v = &kv->val;

	switch (v->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		p->type = IG_PARAM_INT;
		return proto_obj_read(v, IG_F_INT, NULL, &p->v.i, path, err);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		p->type = IG_PARAM_DOUBLE;
		return proto_obj_read(v, IG_F_DOUBLE, NULL, &p->v.d, path, err);
	case MSGPACK_OBJECT_BOOLEAN:
		p->type = IG_PARAM_BOOL;
		p->v.b = v->via.boolean;
		return 0;
	case MSGPACK_OBJECT_STR:
		p->type = IG_PARAM_STR;
		return proto_obj_read(v, IG_F_STR, NULL, &p->v.s, path, err);
	default:
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected an "
		    "integer, a float, a boolean or a str, got %s",
		    path, proto_type_name(v));
	}
}

static int
read_params(const msgpack_object *o, ig_spec *s, ig_err *err)
{
	char path[PROTO_PATH_MAX];
	int rc;

	if ((rc = alloc_items(o->via.map.size, sizeof *s->params,
	         (void **)&s->params, "params", err)) != 0)
		return rc;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		ig_spec_param *p = &s->params[i];
		const msgpack_object_str *k;

		if (kv->key.type != MSGPACK_OBJECT_STR)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "params: keys must be str, got %s",
			    proto_type_name(&kv->key));
		k = &kv->key.via.str;
		if ((rc = ig_name_check(k->ptr, k->size, "params: key", err)) !=
		    0)
			return rc;
		for (uint32_t j = 0; j < i; j++) {
			if (proto_str_is(k, s->params[j].key)) {
				proto_path_key(
				    path, "params", s->params[j].key);
				return invalid(err, path, "duplicate key");
			}
		}
		if ((rc = dup_bytes(k->ptr, k->size, &p->key, err)) != 0)
			return rc;
		/* Counted before the value is read: a str value it allocated
		 * must be freed even when a later entry fails. */
		s->nparams++;
		proto_path_key(path, "params", p->key);
		if ((rc = read_param(kv, p, path, err)) != 0)
			return rc;
	}
	return 0;
}

/* ---- data --------------------------------------------------------------- */

#define K(kind) (1u << (kind))

static int
read_column(
    const msgpack_object *o, ig_column *c, const char *path, ig_err *err)
{
	c->index = IG_NONE;
	if (o->type == MSGPACK_OBJECT_STR) {
		if (o->via.str.size == 0)
			return invalid(
			    err, path, "a column name cannot be empty");
		return proto_obj_read(o, IG_F_STR, NULL, &c->name, path, err);
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= INT64_MAX) {
		c->index = (int64_t)o->via.u64;
		return 0;
	}
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "%s: expected a column "
	    "name or 0-based index, got %s",
	    path, proto_type_name(o));
}

static int
read_columns(const msgpack_object *o, ig_spec_data *d, ig_err *err)
{
	char path[PROTO_PATH_MAX];
	int rc;

	if ((rc = alloc_items(o->via.array.size, sizeof *d->columns,
	         (void **)&d->columns, "data.columns", err)) != 0)
		return rc;
	for (uint32_t i = 0; i < o->via.array.size; i++) {
		proto_path_index(path, "data.columns", i);
		d->ncolumns++;
		if ((rc = read_column(
		         &o->via.array.ptr[i], &d->columns[i], path, err)) != 0)
			return rc;
	}
	return 0;
}

/* "data: expected range:N, csv:PATH, msgpack:PATH, worker or a map, got
 * ...": the short forms the table of kinds gives. */
static int
expected_forms(const char *p, size_t len, ig_err *err)
{
	static const char *const arg[] = { "", "", ":N", ":PATH" };
	char forms[256] = "", q[48];
	size_t at = 0;

	for (size_t i = 0; i < NELEM(data_kinds); i++) {
		if (data_kinds[i].form == IG_DATA_FORM_NONE)
			continue;
		at += (size_t)snprintf(forms + at, sizeof forms - at, "%s%s%s",
		    at > 0 ? ", " : "", data_kinds[i].name,
		    arg[data_kinds[i].form]);
	}
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "data: expected %s or a map, got %s", forms,
	    proto_quote(q, sizeof q, p, len));
}

/* A count for the short form NAME:N: a positive integer. */
static int
read_count(const char *p, size_t len, const char *kind, int64_t *n, ig_err *err)
{
	size_t i;

	*n = 0;
	for (i = 0; i < len; i++) {
		int digit = p[i] - '0';

		if (digit < 0 || digit > 9 || *n > (INT64_MAX - digit) / 10)
			break;
		*n = *n * 10 + digit;
	}
	if (i == len && *n > 0)
		return 0;
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "data: %s: N must be a positive integer", kind);
}

/* A short form: "range:N", "csv:PATH", "worker" (enum ig_data_form). */
static int
read_data_str(const msgpack_object_str *o, ig_spec_data *d, ig_err *err)
{
	const char *p = o->ptr,
	           *colon = o->size ? memchr(p, ':', o->size) : NULL;
	size_t klen = colon ? (size_t)(colon - p) : o->size;
	size_t vlen = colon ? o->size - klen - 1 : 0;
	int kind = ig_data_kind_find(p, klen);
	int form = ig_data_kind_form(kind);

	if (form == IG_DATA_FORM_NONE ||
	    (form == IG_DATA_FORM_WORD) != (colon == NULL))
		return expected_forms(p, o->size, err);
	d->kind = kind;
	if (form == IG_DATA_FORM_WORD)
		return 0;
	if (vlen == 0 && form == IG_DATA_FORM_COUNT)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "data: %s: needs a count", data_kinds[kind].name);
	if (vlen == 0)
		return invalid(err, "data", "needs a path");
	if (proto_mem_has(colon + 1, vlen, '\0'))
		return invalid(err, "data", "must not hold a NUL byte");
	if (form == IG_DATA_FORM_COUNT)
		return read_count(
		    colon + 1, vlen, data_kinds[kind].name, &d->n, err);
	return dup_bytes(colon + 1, vlen, &d->path, err);
}

/* scale: a non-zero number, or "standard". */
static int
read_scale(const msgpack_object *o, ig_spec_data *d, ig_err *err)
{
	int rc;

	if (o->type == MSGPACK_OBJECT_STR &&
	    proto_str_is(&o->via.str, "standard")) {
		d->scale_standard = true;
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_FLOAT32 &&
	    o->type != MSGPACK_OBJECT_FLOAT64 &&
	    o->type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "data.scale: expected "
		    "a number or \"standard\", got %s",
		    proto_type_name(o));
	if ((rc = proto_obj_read(
	         o, IG_F_DOUBLE, NULL, &d->scale, "data.scale", err)) != 0)
		return rc;
	return d->scale == 0 ? invalid(err, "data.scale",
	                           "cannot divide by 0; "
	                           "leave scale out for none") :
	                       0;
}

static int
read_data_map(const msgpack_object *o, ig_spec_data *d, ig_err *err)
{
	/* the keys in the order they are checked */
	static const struct {
		const char *key;
		unsigned bit;
	} keys[] = {
		{ "n", DK(N) },
		{ "path", DK(PATH) },
		{ "batch_size", DK(BATCH_SIZE) },
		{ "shuffle", DK(SHUFFLE) },
		{ "columns", DK(COLUMNS) },
		{ "label", DK(LABEL) },
		{ "header", DK(HEADER) },
		{ "split", DK(SPLIT) },
		{ "scale", DK(SCALE) },
	};
	struct scope scope[NELEM(keys)];
	const char *names[NELEM(data_kinds) + 1];
	const msgpack_object *columns = NULL, *label = NULL, *scale = NULL;
	const ig_fdef defs[] = {
		{ "kind", IG_F_ENUM, true, names, &d->kind },
		{ "n", IG_F_POS, false, NULL, &d->n },
		{ "path", IG_F_STR, false, NULL, &d->path },
		{ "batch_size", IG_F_POS, false, NULL, &d->batch_size },
		{ "shuffle", IG_F_BOOL, false, NULL, &d->shuffle },
		{ "columns", IG_F_ARRAY, false, NULL, &columns },
		{ "label", IG_F_ANY, false, NULL, &label },
		{ "header", IG_F_BOOL, false, NULL, &d->header },
		{ "split", IG_F_DOUBLE, false, NULL, &d->split },
		{ "scale", IG_F_ANY, false, NULL, &scale },
	};
	const struct data_kind *k;
	int rc;

	for (size_t i = 0; i < NELEM(data_kinds); i++)
		names[i] = data_kinds[i].name;
	names[NELEM(data_kinds)] = NULL;
	for (size_t i = 0; i < NELEM(keys); i++) {
		scope[i] = (struct scope){ keys[i].key, 0 };
		for (size_t j = 0; j < NELEM(data_kinds); j++)
			if (data_kinds[j].keys & keys[i].bit)
				scope[i].kinds |= K(j);
	}
	if ((rc = ig_map_read(o, "data", defs, NELEM(defs), 0, err)) != 0)
		return rc;
	k = &data_kinds[d->kind];
	if ((rc = check_scope(o, "data", scope, NELEM(scope), d->kind, "kind",
	         k->name, err)) != 0)
		return rc;
	if ((k->required & DK(N)) && d->n == IG_NONE)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "data.n: required for kind %s", k->name);
	if ((k->required & DK(PATH)) && (d->path == NULL || d->path[0] == '\0'))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "data.path: required for kind %s", k->name);
	if (d->split < 0 || d->split >= 1)
		return invalid(err, "data.split",
		    "a validation fraction, "
		    "0 <= split < 1");
	if (columns != NULL && (rc = read_columns(columns, d, err)) != 0)
		return rc;
	if (scale != NULL && (rc = read_scale(scale, d, err)) != 0)
		return rc;
	if (label != NULL)
		return read_column(label, &d->label, "data.label", err);
	return 0;
}

static int
read_data(const msgpack_object *o, ig_spec_data *d, ig_err *err)
{
	if (o->type == MSGPACK_OBJECT_STR)
		return read_data_str(&o->via.str, d, err);
	if (o->type == MSGPACK_OBJECT_MAP)
		return read_data_map(o, d, err);
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "data: expected a str or a map, got %s", proto_type_name(o));
}

/* ---- metrics ------------------------------------------------------------ */

static int
read_metric(
    const msgpack_object *o, ig_spec_metric *m, const char *where, ig_err *err)
{
	static const struct scope scope[] = {
		{ "target", K(IG_METRIC_ACCURACY) },
		{ "threshold", K(IG_METRIC_ACCURACY) },
		{ "alpha", K(IG_METRIC_RUNNING_AVERAGE) },
	};
	const ig_fdef defs[] = {
		{ "name", IG_F_NAME, true, NULL, m->name },
		{ "kind", IG_F_ENUM, true, metric_kinds, &m->kind },
		{ "field", IG_F_STR, false, NULL, &m->field },
		{ "target", IG_F_STR, false, NULL, &m->target },
		{ "threshold", IG_F_DOUBLE, false, NULL, &m->threshold },
		{ "alpha", IG_F_DOUBLE, false, NULL, &m->alpha },
		{ "split", IG_F_ENUM, false, splits, &m->split },
	};
	char path[PROTO_PATH_MAX];
	int rc;

	m->threshold = -1;
	m->alpha = 0.98;
	m->split = IG_SPLIT_TRAIN;
	if ((rc = ig_map_read(o, where, defs, NELEM(defs), 0, err)) != 0 ||
	    (rc = check_scope(o, where, scope, NELEM(scope), m->kind, "kind",
	         metric_kinds[m->kind], err)) != 0)
		return rc;
	if (m->kind == IG_METRIC_ACCURACY) {
		if (present(o, "threshold") && m->threshold < 0) {
			proto_path_key(path, where, "threshold");
			return invalid(err, path, "must be >= 0");
		}
		if ((m->field == NULL &&
		        (rc = dup_bytes("y_pred", 6, &m->field, err)) != 0) ||
		    (m->target == NULL &&
		        (rc = dup_bytes("y", 1, &m->target, err)) != 0))
			return rc;
	} else if (m->field == NULL) {
		proto_path_key(path, where, "field");
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: required for kind %s", path, metric_kinds[m->kind]);
	}
	if ((rc = check_name(m->field, where, "field", err)) != 0 ||
	    (rc = check_name(m->target, where, "target", err)) != 0)
		return rc;
	if (m->alpha <= 0 || m->alpha >= 1) {
		proto_path_key(path, where, "alpha");
		return invalid(
		    err, path, "must be between 0 and 1 (exclusive)");
	}
	return 0;
}

static int
read_metrics(const msgpack_object *o, ig_spec *s, ig_err *err)
{
	char where[PROTO_PATH_MAX], path[PROTO_PATH_MAX];
	int rc;

	if ((rc = alloc_items(o->via.array.size, sizeof *s->metrics,
	         (void **)&s->metrics, "metrics", err)) != 0)
		return rc;
	for (uint32_t i = 0; i < o->via.array.size; i++) {
		ig_spec_metric *m = &s->metrics[i];

		proto_path_index(where, "metrics", i);
		s->nmetrics++;
		if ((rc = read_metric(&o->via.array.ptr[i], m, where, err)) !=
		    0)
			return rc;
		for (uint32_t j = 0; j < i; j++) {
			if (strcmp(s->metrics[j].name, m->name) == 0) {
				proto_path_key(path, where, "name");
				return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
				    "%s: duplicate metric name \"%s\"", path,
				    m->name);
			}
		}
	}
	return 0;
}

/* ---- handlers ----------------------------------------------------------- */

static int
read_event(
    const msgpack_object *o, ig_spec_handler *h, const char *path, ig_err *err)
{
	char q[48];

	if (o->type != MSGPACK_OBJECT_STR)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected an "
		    "event name, got %s",
		    path, proto_type_name(o));
	for (size_t i = 0; i < NELEM(events); i++) {
		if (proto_str_is(&o->via.str, events[i].name)) {
			h->event = events[i].name;
			return 0;
		}
	}
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "%s: unknown event %s "
	    "(expected a core event such as EPOCH_COMPLETED)",
	    path, proto_quote(q, sizeof q, o->via.str.ptr, o->via.str.size));
}

static bool
has_counter(const char *event)
{
	for (size_t i = 0; i < NELEM(events); i++) {
		if (events[i].name == event)
			return events[i].counter;
	}
	return false;
}

/* once: k or [k, ...], each a positive integer. */
static int
read_once(
    const msgpack_object *o, ig_spec_handler *h, const char *where, ig_err *err)
{
	const msgpack_object *v =
	    o->type == MSGPACK_OBJECT_ARRAY ? o->via.array.ptr : o;
	size_t n = o->type == MSGPACK_OBJECT_ARRAY ? o->via.array.size : 1;
	char path[PROTO_PATH_MAX];
	int rc;

	proto_path_key(path, where, "once");
	if (n == 0)
		return invalid(err, path, "an empty list matches nothing");
	if ((rc = alloc_items(
	         n, sizeof *h->once, (void **)&h->once, path, err)) != 0)
		return rc;
	h->nonce = n;
	for (size_t i = 0; i < n; i++) {
		char ipath[PROTO_PATH_MAX];

		proto_path_index(ipath, path, i);
		if ((rc = proto_obj_read(&v[i], IG_F_POS, NULL, &h->once[i],
		         o->type == MSGPACK_OBJECT_ARRAY ? ipath : path,
		         err)) != 0)
			return rc;
	}
	return 0;
}

static int
read_handler(
    const msgpack_object *o, ig_spec_handler *h, const char *where, ig_err *err)
{
	static const unsigned ES = K(IG_ACTION_EARLY_STOPPING);
	static const struct scope scope[] = {
		{ "metric", ES },
		{ "patience", ES },
		{ "mode", ES },
		{ "min_delta", ES },
		{ "field", K(IG_ACTION_TERMINATE_ON_NAN) },
		{ "message", K(IG_ACTION_LOG) },
	};
	static const char *const filters[] = { "every", "before", "after" };
	const msgpack_object *event = NULL, *once = NULL;
	const ig_fdef defs[] = {
		{ "event", IG_F_ANY, true, NULL, &event },
		{ "every", IG_F_POS, false, NULL, &h->every },
		{ "once", IG_F_ANY, false, NULL, &once },
		{ "before", IG_F_POS, false, NULL, &h->before },
		{ "after", IG_F_UINT, false, NULL, &h->after },
		{ "action", IG_F_ENUM, true, actions, &h->action },
		{ "metric", IG_F_STR, false, NULL, &h->metric },
		{ "patience", IG_F_POS, false, NULL, &h->patience },
		{ "mode", IG_F_ENUM, false, modes, &h->mode },
		{ "min_delta", IG_F_DOUBLE, false, NULL, &h->min_delta },
		{ "field", IG_F_STR, false, NULL, &h->field },
		{ "message", IG_F_STR, false, NULL, &h->message },
	};
	const char *filter;
	char path[PROTO_PATH_MAX];
	int rc;

	h->mode = IG_MODE_MAX;
	if ((rc = ig_map_read(o, where, defs, NELEM(defs), 0, err)) != 0)
		return rc;
	proto_path_key(path, where, "event");
	if ((rc = read_event(event, h, path, err)) != 0 ||
	    (rc = check_scope(o, where, scope, NELEM(scope), h->action,
	         "action", actions[h->action], err)) != 0)
		return rc;

	filter = once ? "once" : NULL;
	for (size_t i = 0; i < NELEM(filters); i++) {
		if (!present(o, filters[i]))
			continue;
		if (once != NULL)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: once "
			    "cannot be combined with every, before or after",
			    where);
		if (filter == NULL)
			filter = filters[i];
	}
	if (filter != NULL && !has_counter(h->event)) {
		proto_path_key(path, where, filter);
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: %s has no "
		    "counter to filter on",
		    path, h->event);
	}
	if ((once != NULL && (rc = read_once(once, h, where, err)) != 0) ||
	    (rc = check_name(h->metric, where, "metric", err)) != 0 ||
	    (rc = check_name(h->field, where, "field", err)) != 0)
		return rc;

	if (h->action == IG_ACTION_EARLY_STOPPING) {
		const char *missing = h->metric == NULL ? "metric" :
		    h->patience == 0                    ? "patience" :
		                                          NULL;

		if (missing != NULL) {
			proto_path_key(path, where, missing);
			return invalid(
			    err, path, "required for action early_stopping");
		}
		if (h->min_delta < 0) {
			proto_path_key(path, where, "min_delta");
			return invalid(err, path, "must be >= 0");
		}
	}
	return 0;
}

static int
read_handlers(const msgpack_object *o, ig_spec *s, ig_err *err)
{
	char where[PROTO_PATH_MAX];
	int rc;

	if ((rc = alloc_items(o->via.array.size, sizeof *s->handlers,
	         (void **)&s->handlers, "handlers", err)) != 0)
		return rc;
	for (uint32_t i = 0; i < o->via.array.size; i++) {
		proto_path_index(where, "handlers", i);
		s->nhandlers++;
		if ((rc = read_handler(&o->via.array.ptr[i], &s->handlers[i],
		         where, err)) != 0)
			return rc;
	}
	return 0;
}

/* ---- checkpoint, state_dict, worker ------------------------------------- */

/* checkpoint.best: {metric, mode, n}, as Ignite's score_function. */
static int
read_best(const msgpack_object *o, ig_spec_checkpoint *c, ig_err *err)
{
	const ig_fdef defs[] = {
		{ "metric", IG_F_NAME, true, NULL, c->best_metric },
		{ "mode", IG_F_ENUM, false, modes, &c->best_mode },
		{ "n", IG_F_POS, false, NULL, &c->best_n },
	};

	return ig_map_read(o, "checkpoint.best", defs, NELEM(defs), 0, err);
}

static int
read_checkpoint(const msgpack_object *o, ig_spec_checkpoint *c, ig_err *err)
{
	const msgpack_object *best = NULL;
	const ig_fdef defs[] = {
		{ "every", IG_F_POS, false, NULL, &c->every },
		{ "seconds", IG_F_DOUBLE, false, NULL, &c->seconds },
		{ "epoch_completed", IG_F_BOOL, false, NULL,
		    &c->epoch_completed },
		{ "n_saved", IG_F_POS, false, NULL, &c->n_saved },
		{ "best", IG_F_MAP, false, NULL, &best },
		{ "dir", IG_F_STR, false, NULL, &c->dir },
	};
	int rc;

	if ((rc = ig_map_read(o, "checkpoint", defs, NELEM(defs), 0, err)) != 0)
		return rc;
	if (present(o, "seconds") && c->seconds <= 0)
		return invalid(err, "checkpoint.seconds", "must be > 0");
	if (best != NULL && (rc = read_best(best, c, err)) != 0)
		return rc;
	/* the daemon names DIR/run-ID: a relative path would be its cwd's */
	if (c->dir != NULL && c->dir[0] != '/')
		return invalid(err, "checkpoint.dir",
		    "must be an absolute path (shared storage the run's owner "
		    "can write)");
	if (c->dir != NULL && strlen(c->dir) > IG_CKPT_DIR_MAX)
		return invalid(err, "checkpoint.dir", "at most 3072 bytes");
	return 0;
}

/* Kept as msgpack bytes: the engine reads it (ig_state_dict_unpack).  Its
 * user keys are names, at most IG_SPEC_MAX_ITEMS of them. */
static int
read_state_dict(const msgpack_object *o, ig_spec *s, ig_err *err)
{
	static const char *const engine_keys[] = {
		"iteration",
		"epoch",
		"epoch_length",
		"max_epochs",
	};
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	if (o->via.map.size > IG_SPEC_MAX_ITEMS + NELEM(engine_keys))
		return too_many(o->via.map.size, "state_dict", err);
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;
		bool engine_key = false;

		if (k->type != MSGPACK_OBJECT_STR)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "state_dict: keys must be str, got %s",
			    proto_type_name(k));
		for (size_t j = 0; j < NELEM(engine_keys); j++)
			engine_key |= proto_str_is(&k->via.str, engine_keys[j]);
		if (!engine_key &&
		    (rc = ig_name_check(k->via.str.ptr, k->via.str.size,
		         "state_dict: user key", err)) != 0)
			return rc;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (msgpack_pack_object(&pk, *o) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return nomem(err);
	}
	s->state_dict_len = sb.size;
	s->state_dict = msgpack_sbuffer_release(&sb);
	return 0;
}

static int
read_env(const msgpack_object *o, ig_strv *env, ig_err *err)
{
	int rc;

	if ((rc = alloc_items(o->via.map.size, sizeof *env->v, (void **)&env->v,
	         "worker.env", err)) != 0)
		return rc;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;
		const msgpack_object *v = &o->via.map.ptr[i].val;
		size_t klen, vlen;
		char *kv;

		if (k->type != MSGPACK_OBJECT_STR || k->via.str.size == 0 ||
		    proto_mem_has(k->via.str.ptr, k->via.str.size, '=') ||
		    proto_mem_has(k->via.str.ptr, k->via.str.size, '\0'))
			return invalid(err, "worker.env",
			    "keys must be non-empty "
			    "str without '=' or NUL");
		if (v->type != MSGPACK_OBJECT_STR ||
		    proto_mem_has(v->via.str.ptr, v->via.str.size, '\0'))
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "worker.env: values must be str without NUL, got %s",
			    proto_type_name(v));
		klen = k->via.str.size;
		vlen = v->via.str.size;
		if ((kv = malloc(klen + vlen + 2)) == NULL)
			return nomem(err);
		memcpy(kv, k->via.str.ptr, klen);
		kv[klen] = '=';
		proto_mem_copy(kv + klen + 1, v->via.str.ptr, vlen);
		kv[klen + 1 + vlen] = '\0';
		env->v[env->n++] = kv;
	}
	return 0;
}

/* {cpu: 60, nofile: 64, ...}: each optional, an integer >= 0. */
static int
read_rlimits(const msgpack_object *o, ig_spec_worker *w, ig_err *err)
{
	ig_fdef defs[IG_RLIMIT_COUNT];
	char q[48];

	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;
		int r;

		if (k->type != MSGPACK_OBJECT_STR)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "worker.rlimits: "
			    "keys must be str, got %s",
			    proto_type_name(k));
		for (r = 0; r < IG_RLIMIT_COUNT &&
		     !proto_str_is(&k->via.str, rlimits[r]);
		     r++)
			;
		if (r == IG_RLIMIT_COUNT) {
			/* the key as a path step: quoted and cut by proto_quote, then
			 * without its quotes */
			proto_quote(
			    q, sizeof q, k->via.str.ptr, k->via.str.size);
			q[strlen(q) - 1] = '\0';
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "worker.rlimits.%s: unknown limit; expected cpu, as, "
			    "nofile, nproc, core or fsize",
			    q + 1);
		}
	}
	for (int r = 0; r < IG_RLIMIT_COUNT; r++)
		defs[r] = (ig_fdef){ rlimits[r], IG_F_UINT, false, NULL,
			&w->rlimits[r] };
	return ig_map_read(o, "worker.rlimits", defs, IG_RLIMIT_COUNT, 0, err);
}

static int
read_worker(const msgpack_object *o, ig_spec_worker *w, ig_err *err)
{
	const msgpack_object *env = NULL, *limits = NULL;
	const ig_fdef defs[] = {
		{ "timeout_ms", IG_F_POS, false, NULL, &w->timeout_ms },
		{ "max_restarts", IG_F_UINT, false, NULL, &w->max_restarts },
		{ "env", IG_F_MAP, false, NULL, &env },
		{ "cwd", IG_F_STR, false, NULL, &w->cwd },
		{ "rlimits", IG_F_MAP, false, NULL, &limits },
	};
	int rc;

	if ((rc = ig_map_read(o, "worker", defs, NELEM(defs), 0, err)) != 0)
		return rc;
	if (w->cwd != NULL && w->cwd[0] == '\0')
		return invalid(err, "worker.cwd", "must not be empty");
	if (w->timeout_ms > IG_WORKER_TIMEOUT_MAX_MS)
		return invalid(
		    err, "worker.timeout_ms", "at most 3600000 (an hour)");
	if (limits != NULL && (rc = read_rlimits(limits, w, err)) != 0)
		return rc;
	return env != NULL ? read_env(env, &w->env, err) : 0;
}

static int
read_resources(const msgpack_object *o, ig_spec_resources *r, ig_err *err)
{
	const ig_fdef defs[] = {
		{ "gpus", IG_F_UINT, false, NULL, &r->gpus },
		{ "cpus", IG_F_POS, false, NULL, &r->cpus },
	};

	return ig_map_read(o, "resources", defs, NELEM(defs), 0, err);
}

/* placement: {slurm: {...}}, the only placement so far. */
static int
read_placement(const msgpack_object *o, ig_spec_slurm *sl, ig_err *err)
{
	const msgpack_object *slurm = NULL;
	const ig_fdef pdefs[] = {
		{ "slurm", IG_F_MAP, true, NULL, &slurm },
	};
	const ig_fdef defs[] = {
		{ "partition", IG_F_STR, false, NULL, &sl->partition },
		{ "gres", IG_F_STR, false, NULL, &sl->gres },
		{ "nodes", IG_F_POS, false, NULL, &sl->nodes },
		{ "ntasks_per_node", IG_F_POS, false, NULL,
		    &sl->ntasks_per_node },
		{ "cpus_per_task", IG_F_POS, false, NULL, &sl->cpus_per_task },
		{ "mem", IG_F_STR, false, NULL, &sl->mem },
		{ "time", IG_F_STR, false, NULL, &sl->time },
		{ "account", IG_F_STR, false, NULL, &sl->account },
		{ "qos", IG_F_STR, false, NULL, &sl->qos },
		{ "constraint", IG_F_STR, false, NULL, &sl->constraint },
		{ "extra_args", IG_F_STRV, false, NULL, &sl->extra_args },
	};
	int rc;

	if ((rc = ig_map_read(o, "placement", pdefs, NELEM(pdefs), 0, err)) !=
	        0 ||
	    (rc = ig_map_read(
	         slurm, "placement.slurm", defs, NELEM(defs), 0, err)) != 0)
		return rc;
	sl->set = true;
	const char *strs[] = { sl->partition, sl->gres, sl->mem, sl->time,
		sl->account, sl->qos, sl->constraint };
	for (size_t i = 0; i < NELEM(strs); i++)
		if (strs[i] != NULL && strs[i][0] == '\0')
			return invalid(err, "placement.slurm",
			    "a value must not be empty; leave the key out for "
			    "Slurm's default");
	for (size_t i = 0; i < sl->extra_args.n; i++)
		if (sl->extra_args.v[i][0] != '-')
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "placement.slurm.extra_args[%zu]: \"%.40s\" is not "
			    "an sbatch option; each starts with - (\"--exclusive\", "
			    "\"--signal=USR1@60\")",
			    i, sl->extra_args.v[i]);
	return 0;
}

/* ---- notify ------------------------------------------------------------- */

static const char *const notify_ons[] = { "completed", "failed", "terminated",
	"paused", "nan", NULL };

const char *
ig_notify_on_name(int v)
{
	return name_in(notify_ons, NELEM(notify_ons), v);
}

/* on: [event, ...], at least one, each once. */
static int
read_notify_on(
    const msgpack_object *o, ig_spec_notify *n, const char *path, ig_err *err)
{
	char ipath[PROTO_PATH_MAX];
	int rc, ev;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected an array of events (completed, failed, "
		    "terminated, paused, nan), got %s",
		    path, proto_type_name(o));
	if (o->via.array.size == 0)
		return invalid(err, path, "an empty list fires on nothing");
	for (uint32_t i = 0; i < o->via.array.size; i++) {
		proto_path_index(ipath, path, i);
		if ((rc = proto_obj_read(&o->via.array.ptr[i], IG_F_ENUM,
		         notify_ons, &ev, ipath, err)) != 0)
			return rc;
		if (n->on & 1u << ev)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: %s is given twice", ipath, notify_ons[ev]);
		n->on |= 1u << ev;
	}
	return 0;
}

/* exec: the command's argv, bounded so that an alert's start stays cheap. */
static int
read_notify_exec(
    const msgpack_object *o, ig_spec_notify *n, const char *path, ig_err *err)
{
	char ipath[PROTO_PATH_MAX];
	int rc;

	if (o->type == MSGPACK_OBJECT_ARRAY &&
	    (o->via.array.size == 0 || o->via.array.size > IG_NOTIFY_ARGV_MAX))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: a command of 1 to %d strings, got %u", path,
		    IG_NOTIFY_ARGV_MAX, (unsigned)o->via.array.size);
	if ((rc = proto_obj_read(o, IG_F_STRV, NULL, &n->exec, path, err)) != 0)
		return rc;
	for (size_t i = 0; i < n->exec.n; i++) {
		size_t len = strlen(n->exec.v[i]);

		proto_path_index(ipath, path, i);
		if (len > IG_NOTIFY_ARG_MAX)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: at most %d bytes, got %zu", ipath,
			    IG_NOTIFY_ARG_MAX, len);
		if (i == 0 && len == 0)
			return invalid(err, ipath, "the command is empty");
	}
	return 0;
}

static int
read_notify_entry(
    const msgpack_object *o, ig_spec_notify *n, const char *where, ig_err *err)
{
	const msgpack_object *on = NULL, *exec = NULL;
	const ig_fdef defs[] = {
		{ "on", IG_F_ANY, true, NULL, &on },
		{ "exec", IG_F_ANY, true, NULL, &exec },
		{ "timeout_ms", IG_F_POS, false, NULL, &n->timeout_ms },
	};
	char path[PROTO_PATH_MAX];
	int rc;

	n->timeout_ms = IG_NONE;
	if ((rc = ig_map_read(o, where, defs, NELEM(defs), 0, err)) != 0)
		return rc;
	proto_path_key(path, where, "on");
	if ((rc = read_notify_on(on, n, path, err)) != 0)
		return rc;
	proto_path_key(path, where, "exec");
	if ((rc = read_notify_exec(exec, n, path, err)) != 0)
		return rc;
	if (n->timeout_ms > IG_NOTIFY_TIMEOUT_MAX_MS) {
		proto_path_key(path, where, "timeout_ms");
		return invalid(err, path, "at most 600000 (ten minutes)");
	}
	return 0;
}

static int
read_notify(const msgpack_object *o, ig_spec *s, ig_err *err)
{
	char where[PROTO_PATH_MAX];
	int rc;

	if (o->via.array.size > IG_NOTIFY_MAX)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "notify: at most %d entries, got %u", IG_NOTIFY_MAX,
		    (unsigned)o->via.array.size);
	if ((s->notify = calloc(o->via.array.size + 1, sizeof *s->notify)) ==
	    NULL)
		return nomem(err);
	for (uint32_t i = 0; i < o->via.array.size; i++) {
		proto_path_index(where, "notify", i);
		s->nnotify++;
		if ((rc = read_notify_entry(
		         &o->via.array.ptr[i], &s->notify[i], where, err)) != 0)
			return rc;
	}
	return 0;
}

/* ---- tags --------------------------------------------------------------- */

/* {KEY: VALUE}: names to short strs, for people to find runs by. */
static int
read_tags(const msgpack_object *o, ig_spec *s, ig_err *err)
{
	char path[PROTO_PATH_MAX];
	int rc;

	if (o->via.map.size > IG_SPEC_MAX_TAGS)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "tags: at most %d, got %u", IG_SPEC_MAX_TAGS,
		    o->via.map.size);
	if ((s->tags = calloc(o->via.map.size + 1, sizeof *s->tags)) == NULL)
		return nomem(err);
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;
		const msgpack_object *v = &o->via.map.ptr[i].val;
		ig_tag *t = &s->tags[i];

		if (k->type != MSGPACK_OBJECT_STR)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "tags: keys must be str, got %s",
			    proto_type_name(k));
		if ((rc = ig_name_check(k->via.str.ptr, k->via.str.size,
		         "tags: key", err)) != 0)
			return rc;
		for (uint32_t j = 0; j < i; j++)
			if (proto_str_is(&k->via.str, s->tags[j].key)) {
				proto_path_key(path, "tags", s->tags[j].key);
				return invalid(err, path, "duplicate key");
			}
		if ((rc = dup_bytes(
		         k->via.str.ptr, k->via.str.size, &t->key, err)) != 0)
			return rc;
		s->ntags++;
		proto_path_key(path, "tags", t->key);
		if (v->type != MSGPACK_OBJECT_STR ||
		    proto_mem_has(v->via.str.ptr, v->via.str.size, '\0'))
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: expected a str without NUL, got %s", path,
			    proto_type_name(v));
		if (v->via.str.size > IG_TAG_VALUE_MAX)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: at most %d bytes, got %u", path,
			    IG_TAG_VALUE_MAX, v->via.str.size);
		if ((rc = dup_bytes(
		         v->via.str.ptr, v->via.str.size, &t->value, err)) != 0)
			return rc;
	}
	return 0;
}

/* ---- the spec ----------------------------------------------------------- */

static void
defaults(ig_spec *s)
{
	s->max_epochs = s->epoch_length = s->seed = IG_NONE;
	s->data.kind = IG_DATA_NONE;
	s->data.n = s->data.batch_size = IG_NONE;
	s->data.label.index = IG_NONE;
	s->data.header = true;
	s->checkpoint.every = IG_NONE;
	s->checkpoint.epoch_completed = true;
	s->checkpoint.n_saved = 2;
	s->checkpoint.best_mode = IG_MODE_MAX;
	s->checkpoint.best_n = 1;
	s->worker.timeout_ms = s->worker.max_restarts = IG_NONE;
	for (int r = 0; r < IG_RLIMIT_COUNT; r++)
		s->worker.rlimits[r] = IG_NONE;
	s->resources.cpus = 1;
	s->slurm.nodes = s->slurm.ntasks_per_node = s->slurm.cpus_per_task =
	    IG_NONE;
}

static int
read_spec(const msgpack_object *o, ig_spec *s, ig_err *err)
{
	const msgpack_object *engine = NULL, *params = NULL, *data = NULL,
	                     *metrics = NULL, *handlers = NULL,
	                     *checkpoint = NULL, *state_dict = NULL,
	                     *worker = NULL, *resources = NULL, *notify = NULL,
	                     *tags = NULL, *placement = NULL;
	const ig_fdef defs[] = {
		{ "engine", IG_F_ANY, true, NULL, &engine },
		{ "name", IG_F_NAME, false, NULL, s->name },
		{ "params", IG_F_MAP, false, NULL, &params },
		{ "data", IG_F_ANY, false, NULL, &data },
		{ "max_epochs", IG_F_POS, false, NULL, &s->max_epochs },
		{ "epoch_length", IG_F_POS, false, NULL, &s->epoch_length },
		{ "seed", IG_F_UINT, false, NULL, &s->seed },
		{ "metrics", IG_F_ARRAY, false, NULL, &metrics },
		{ "handlers", IG_F_ARRAY, false, NULL, &handlers },
		{ "checkpoint", IG_F_MAP, false, NULL, &checkpoint },
		{ "state_dict", IG_F_MAP, false, NULL, &state_dict },
		{ "worker", IG_F_MAP, false, NULL, &worker },
		{ "resources", IG_F_MAP, false, NULL, &resources },
		{ "placement", IG_F_MAP, false, NULL, &placement },
		{ "priority", IG_F_INT, false, NULL, &s->priority },
		{ "preemptible", IG_F_BOOL, false, NULL, &s->preemptible },
		{ "notify", IG_F_ARRAY, false, NULL, &notify },
		{ "tags", IG_F_MAP, false, NULL, &tags },
	};
	int rc;

	if (o->type != MSGPACK_OBJECT_MAP)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "spec: expected a map, got %s", proto_type_name(o));
	if ((rc = ig_map_read(o, NULL, defs, NELEM(defs), 0, err)) != 0 ||
	    (rc = read_engine(engine, &s->engine, err)) != 0 ||
	    (params && (rc = read_params(params, s, err)) != 0) ||
	    (data && (rc = read_data(data, &s->data, err)) != 0) ||
	    (metrics && (rc = read_metrics(metrics, s, err)) != 0) ||
	    (handlers && (rc = read_handlers(handlers, s, err)) != 0) ||
	    (checkpoint &&
	        (rc = read_checkpoint(checkpoint, &s->checkpoint, err)) != 0) ||
	    (state_dict && (rc = read_state_dict(state_dict, s, err)) != 0) ||
	    (worker && (rc = read_worker(worker, &s->worker, err)) != 0) ||
	    (resources &&
	        (rc = read_resources(resources, &s->resources, err)) != 0) ||
	    (placement &&
	        (rc = read_placement(placement, &s->slurm, err)) != 0) ||
	    (notify && (rc = read_notify(notify, s, err)) != 0) ||
	    (tags && (rc = read_tags(tags, s, err)) != 0))
		return rc;
	if (s->engine.kind != IG_ENGINE_EXEC && placement != NULL)
		return invalid(err, "placement",
		    "only for exec engines (the worker is what is placed)");
	if (s->engine.kind != IG_ENGINE_EXEC && worker != NULL)
		return invalid(err, "worker", "only for exec engines");
	if (s->engine.kind != IG_ENGINE_EXEC && s->data.kind == IG_DATA_WORKER)
		return invalid(err, "data", "kind worker needs an exec engine");
	return 0;
}

int
ig_spec_read(const msgpack_object *o, ig_spec **out, ig_err *err)
{
	ig_spec *s = calloc(1, sizeof *s);
	int rc;

	*out = NULL;
	if (s == NULL)
		return nomem(err);
	defaults(s);
	if ((rc = read_spec(o, s, err)) != 0) {
		ig_spec_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
ig_spec_free(ig_spec *s)
{
	if (s == NULL)
		return;
	free(s->engine.target);
	ig_strv_free(&s->engine.argv);
	for (size_t i = 0; i < s->nparams; i++) {
		free(s->params[i].key);
		if (s->params[i].type == IG_PARAM_STR)
			free(s->params[i].v.s);
	}
	free(s->params);
	free(s->data.path);
	for (size_t i = 0; i < s->data.ncolumns; i++)
		free(s->data.columns[i].name);
	free(s->data.columns);
	free(s->data.label.name);
	for (size_t i = 0; i < s->nmetrics; i++) {
		free(s->metrics[i].field);
		free(s->metrics[i].target);
	}
	free(s->metrics);
	for (size_t i = 0; i < s->nhandlers; i++) {
		ig_spec_handler *h = &s->handlers[i];

		free(h->once);
		free(h->metric);
		free(h->field);
		free(h->message);
	}
	free(s->handlers);
	free(s->state_dict);
	free(s->checkpoint.dir);
	ig_strv_free(&s->worker.env);
	free(s->worker.cwd);
	free(s->slurm.partition);
	free(s->slurm.gres);
	free(s->slurm.mem);
	free(s->slurm.time);
	free(s->slurm.account);
	free(s->slurm.qos);
	free(s->slurm.constraint);
	ig_strv_free(&s->slurm.extra_args);
	for (size_t i = 0; i < s->nnotify; i++)
		ig_strv_free(&s->notify[i].exec);
	free(s->notify);
	for (size_t i = 0; i < s->ntags; i++) {
		free(s->tags[i].key);
		free(s->tags[i].value);
	}
	free(s->tags);
	free(s);
}
