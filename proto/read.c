/*
 * read.c - reading msgpack maps into C fields, with errors that name the
 * field: "handlers[2].every: expected a positive integer, got 0".
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *
proto_type_name(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return "nil";
	case MSGPACK_OBJECT_BOOLEAN:
		return "a boolean";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return "an integer";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return "a float";
	case MSGPACK_OBJECT_STR:
		return "a str";
	case MSGPACK_OBJECT_ARRAY:
		return "an array";
	case MSGPACK_OBJECT_MAP:
		return "a map";
	case MSGPACK_OBJECT_BIN:
		return "a bin";
	case MSGPACK_OBJECT_EXT:
		return "an ext";
	}
	return "an unknown type";
}

bool
proto_str_is(const msgpack_object_str *o, const char *s)
{
	size_t n = strlen(s);

	return o->size == n && (n == 0 || memcmp(o->ptr, s, n) == 0);
}

const msgpack_object *
ig_map_get(const msgpack_object *m, const char *key)
{
	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object_kv *kv = &m->via.map.ptr[i];

		if (kv->key.type == MSGPACK_OBJECT_STR &&
		    proto_str_is(&kv->key.via.str, key))
			return &kv->val;
	}
	return NULL;
}

const char *
proto_quote(char *buf, size_t size, const char *p, size_t len)
{
	size_t room = size - sizeof "\"...\"", n = len;

	if (n > room)
		n = proto_utf8_boundary(p, room);
	buf[0] = '"';
	for (size_t i = 0; i < n; i++)
		buf[i + 1] =
		    (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i];
	/* room was kept for the tail */
	memcpy(buf + 1 + n, n < len ? "...\"" : "\"", n < len ? 5 : 2);
	return buf;
}

/* Paths are built for every field read, a worker's answer each
 * iteration among them, and used only in an error: copies, no printf. */
static void
join(char *path, const char *where, const char *sep, const char *tail)
{
	const char *part[3];
	size_t n = 0;

	if (where == NULL || *where == '\0')
		where = sep = "";
	part[0] = where;
	part[1] = sep;
	part[2] = tail;
	for (int i = 0; i < 3; i++) {
		size_t len = strlen(part[i]);
		if (n + len >= PROTO_PATH_MAX) {
			memcpy(path + n, part[i], PROTO_PATH_MAX - 1 - n);
			path[PROTO_PATH_MAX - 1] = '\0';
			memcpy(path +
			        proto_utf8_boundary(path, PROTO_PATH_MAX - 4),
			    "...", 4);
			return;
		}
		memcpy(path + n, part[i], len);
		n += len;
	}
	path[n] = '\0';
}

void
proto_path_key(char *path, const char *where, const char *key)
{
	join(path, where, ".", key);
}

void
proto_path_index(char *path, const char *where, size_t i)
{
	char idx[32];

	snprintf(idx, sizeof idx, "[%zu]", i);
	join(path, where, "", idx);
}

char *
proto_str_dup(const msgpack_object_str *s, bool *nul)
{
	char *c;

	*nul = proto_mem_has(s->ptr, s->size, '\0');
	if (*nul || (c = malloc((size_t)s->size + 1)) == NULL)
		return NULL;
	proto_mem_copy(c, s->ptr, s->size);
	c[s->size] = '\0';
	return c;
}

void
ig_strv_free(ig_strv *sv)
{
	if (sv->v != NULL) {
		for (size_t i = 0; i < sv->n; i++)
			free(sv->v[i]);
		free(sv->v);
	}
	sv->v = NULL;
	sv->n = 0;
}

int
ig_name_check(const char *s, size_t len, const char *what, ig_err *err)
{
	bool digits = true;

	if (what == NULL)
		what = "name";
	if (len == 0 || len > IG_NAME_MAX)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: a name has 1 to %d characters, got %zu", what,
		    IG_NAME_MAX, len);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9');

		if (!alnum && c != '_' && (i == 0 || (c != '-' && c != '.')))
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: a name holds letters, digits, '_', '-' and '.', "
			    "and starts with a letter, digit or '_'",
			    what);
		if (c < '0' || c > '9')
			digits = false;
	}
	if (digits)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: a name cannot be all digits (run ids are)", what);
	return 0;
}

/* An integer o as int64 in *v; false when o is no integer or too big. */
static bool
int_of(const msgpack_object *o, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
		return true;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= INT64_MAX) {
		*v = (int64_t)o->via.u64;
		return true;
	}
	return false;
}

static int
read_int(const msgpack_object *o, ig_ftype t, int64_t *out, const char *path,
    ig_err *err)
{
	static const char *const what[] = {
		[IG_F_INT] = "an integer",
		[IG_F_UINT] = "a non-negative integer",
		[IG_F_POS] = "a positive integer",
	};
	int64_t min = t == IG_F_POS ? 1 : t == IG_F_UINT ? 0 : INT64_MIN;
	int64_t v;

	if (!int_of(o, &v)) {
		if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: %" PRIu64 " is out of range", path,
			    o->via.u64);
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected %s, got %s", path, what[t],
		    proto_type_name(o));
	}
	if (v < min)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected %s, got %" PRId64, path, what[t], v);
	*out = v;
	return 0;
}

bool
ig_obj_number(const msgpack_object *o, double *v)
{
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*v = o->via.f64;
		return true;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*v = (double)o->via.u64;
		return true;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*v = (double)o->via.i64;
		return true;
	default:
		return false;
	}
}

static int
read_double(const msgpack_object *o, double *out, const char *path, ig_err *err)
{
	double v;

	if (!ig_obj_number(o, &v))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected a number, got %s", path, proto_type_name(o));
	if (!isfinite(v))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected a finite number", path);
	*out = v;
	return 0;
}

static int
read_str(const msgpack_object *o, char **out, const char *path, ig_err *err)
{
	bool nul;
	char *s;

	if (o->type != MSGPACK_OBJECT_STR)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected a str, got %s", path, proto_type_name(o));
	if ((s = proto_str_dup(&o->via.str, &nul)) == NULL)
		return nul ?
		    ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		        "%s: must not hold a NUL byte", path) :
		    ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	*out = s;
	return 0;
}

static int
read_name(const msgpack_object *o, char *out, const char *path, ig_err *err)
{
	int rc;

	if (o->type != MSGPACK_OBJECT_STR)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected a name (a str), got %s", path,
		    proto_type_name(o));
	if ((rc = ig_name_check(o->via.str.ptr, o->via.str.size, path, err)) !=
	    0)
		return rc;
	memcpy(out, o->via.str.ptr, o->via.str.size);
	out[o->via.str.size] = '\0';
	return 0;
}

static int
read_strv(const msgpack_object *o, ig_strv *out, const char *path, ig_err *err)
{
	char ipath[PROTO_PATH_MAX];
	ig_strv sv;
	int rc;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected an array of str, got %s", path,
		    proto_type_name(o));
	sv.n = 0;
	if ((sv.v = calloc((size_t)o->via.array.size + 1, sizeof *sv.v)) ==
	    NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	for (; sv.n < o->via.array.size; sv.n++) {
		proto_path_index(ipath, path, sv.n);
		if ((rc = read_str(&o->via.array.ptr[sv.n], &sv.v[sv.n], ipath,
		         err)) != 0) {
			ig_strv_free(&sv);
			return rc;
		}
	}
	*out = sv;
	return 0;
}

static int
read_enum(const msgpack_object *o, const char *const *names, int *out,
    const char *path, ig_err *err)
{
	char list[IG_ERR_MAX] = "", q[48];
	size_t used = 0;

	if (o->type == MSGPACK_OBJECT_STR) {
		for (int i = 0; names[i] != NULL; i++) {
			if (proto_str_is(&o->via.str, names[i])) {
				*out = i;
				return 0;
			}
		}
	}
	for (int i = 0; names[i] != NULL && used < sizeof list; i++)
		used += (size_t)snprintf(list + used, sizeof list - used,
		    "%s%s", i ? ", " : "", names[i]);
	if (o->type != MSGPACK_OBJECT_STR)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected one of %s; got %s", path, list,
		    proto_type_name(o));
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "%s: expected one of %s; got %s", path, list,
	    proto_quote(q, sizeof q, o->via.str.ptr, o->via.str.size));
}

static int
read_run(
    const msgpack_object *o, ig_run_ref *out, const char *path, ig_err *err)
{
	int64_t id;

	if (o->type == MSGPACK_OBJECT_STR) {
		out->id = 0;
		return read_name(o, out->name, path, err);
	}
	if (!int_of(o, &id) || id < 1)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected a run id (a positive integer) or name, got %s",
		    path, proto_type_name(o));
	out->id = id;
	out->name[0] = '\0';
	return 0;
}

static int
read_object(const msgpack_object *o, ig_ftype t, const msgpack_object **out,
    const char *path, ig_err *err)
{
	if ((t == IG_F_MAP && o->type != MSGPACK_OBJECT_MAP) ||
	    (t == IG_F_ARRAY && o->type != MSGPACK_OBJECT_ARRAY))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected %s, got %s", path,
		    t == IG_F_MAP ? "a map" : "an array", proto_type_name(o));
	*out = o;
	return 0;
}

int
proto_obj_read(const msgpack_object *o, ig_ftype t, const char *const *names,
    void *out, const char *path, ig_err *err)
{
	switch (t) {
	case IG_F_INT:
	case IG_F_UINT:
	case IG_F_POS:
		return read_int(o, t, out, path, err);
	case IG_F_DOUBLE:
		return read_double(o, out, path, err);
	case IG_F_BOOL:
		if (o->type != MSGPACK_OBJECT_BOOLEAN)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: expected true or false, got %s", path,
			    proto_type_name(o));
		*(bool *)out = o->via.boolean;
		return 0;
	case IG_F_STR:
		return read_str(o, out, path, err);
	case IG_F_NAME:
		return read_name(o, out, path, err);
	case IG_F_STRV:
		return read_strv(o, out, path, err);
	case IG_F_ENUM:
		return read_enum(o, names, out, path, err);
	case IG_F_RUN:
		return read_run(o, out, path, err);
	case IG_F_MAP:
	case IG_F_ARRAY:
	case IG_F_ANY:
		return read_object(o, t, out, path, err);
	}
	return ig_err_set(err, IG_PROTO_INTERNAL,
	    "%s: bug: unknown field type %d", path, (int)t);
}

void
proto_obj_release(ig_ftype t, void *out)
{
	if (t == IG_F_STR) {
		free(*(char **)out);
		*(char **)out = NULL;
	} else if (t == IG_F_STRV) {
		ig_strv_free(out);
	}
}

int
ig_map_read(const msgpack_object *m, const char *where, const ig_fdef *defs,
    size_t n, unsigned flags, ig_err *err)
{
	char path[PROTO_PATH_MAX], q[48];
	uint64_t seen = 0, set = 0;
	int rc = 0;

	if (n > 64)
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "bug: ig_map_read takes at most 64 fields");
	if (m->type != MSGPACK_OBJECT_MAP)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: expected a map, got %s", where ? where : "params",
		    proto_type_name(m));
	for (uint32_t k = 0; k < m->via.map.size && rc == 0; k++) {
		const msgpack_object_kv *kv = &m->via.map.ptr[k];
		size_t i;

		if (kv->key.type != MSGPACK_OBJECT_STR) {
			rc = ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: keys must be str, got %s",
			    where ? where : "params",
			    proto_type_name(&kv->key));
			break;
		}
		for (i = 0;
		     i < n && !proto_str_is(&kv->key.via.str, defs[i].key); i++)
			;
		if (i == n) {
			if (flags & IG_READ_ALLOW_UNKNOWN)
				continue;
			proto_quote(q, sizeof q, kv->key.via.str.ptr,
			    kv->key.via.str.size);
			rc = ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s%sunknown key %s", where ? where : "",
			    where ? ": " : "", q);
			break;
		}
		proto_path_key(path, where, defs[i].key);
		if (seen & UINT64_C(1) << i) {
			rc = ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "%s: duplicate key", path);
			break;
		}
		seen |= UINT64_C(1) << i;
		if (kv->val.type == MSGPACK_OBJECT_NIL)
			continue;
		rc = proto_obj_read(&kv->val, defs[i].type, defs[i].names,
		    defs[i].out, path, err);
		if (rc == 0)
			set |= UINT64_C(1) << i;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (defs[i].required && !(set & UINT64_C(1) << i)) {
			proto_path_key(path, where, defs[i].key);
			rc = ig_err_set(
			    err, IG_PROTO_INVALID_PARAMS, "%s: required", path);
		}
	}
	if (rc != 0) {
		for (size_t i = 0; i < n; i++) {
			if (set & UINT64_C(1) << i)
				proto_obj_release(defs[i].type, defs[i].out);
		}
	}
	return rc;
}
