/*
 * json.c - --json output, and JSON specs to msgpack, through jansson.
 *
 * The keys printed here are an interface for scripts: add, never rename.
 */
#include <math.h>
#include <string.h>

#include "ignitectl.h"

json_t *
json_number(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *
json_opt_int(int64_t v)
{
	return v == IG_NONE ? json_null() : json_integer(v);
}

static json_t *
json_opt_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* Keys of a msgpack map: strings as they are, others printed. */
static json_t *
json_from_map(const msgpack_object_map *m)
{
	json_t *o = json_object();
	char key[64];

	for (uint32_t i = 0; o != NULL && i < m->size; i++) {
		const msgpack_object *k = &m->ptr[i].key;
		json_t *v = json_from_msgpack(&m->ptr[i].val);
		int rc;

		if (k->type == MSGPACK_OBJECT_STR) {
			rc = json_object_setn_new_nocheck(o, k->via.str.ptr,
			    k->via.str.size, v);
		} else {
			if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				snprintf(key, sizeof key, "%llu",
				    (unsigned long long)k->via.u64);
			else if (k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
				snprintf(key, sizeof key, "%lld",
				    (long long)k->via.i64);
			else
				snprintf(key, sizeof key, "?%u", i);
			rc = json_object_set_new(o, key, v);
		}
		if (rc != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *
json_from_msgpack(const msgpack_object *o)
{
	static const char hex[] = "0123456789abcdef";
	json_t *a;
	char *s;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return json_null();
	case MSGPACK_OBJECT_BOOLEAN:
		return json_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > INT64_MAX)
			return json_real((double)o->via.u64);
		return json_integer((json_int_t)o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return json_integer(o->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return json_number(o->via.f64);
	case MSGPACK_OBJECT_STR:
		return json_stringn_nocheck(o->via.str.ptr, o->via.str.size);
	case MSGPACK_OBJECT_BIN:
	case MSGPACK_OBJECT_EXT:
		/* Opaque bytes (a worker's state): hex, for people to see. */
		if ((s = malloc(2 * (size_t)o->via.bin.size + 1)) == NULL)
			return NULL;
		for (uint32_t i = 0; i < o->via.bin.size; i++) {
			s[2 * i] = hex[(unsigned char)o->via.bin.ptr[i] >> 4];
			s[2 * i + 1] = hex[(unsigned char)o->via.bin.ptr[i] & 15];
		}
		a = json_stringn(s, 2 * (size_t)o->via.bin.size);
		free(s);
		return a;
	case MSGPACK_OBJECT_ARRAY:
		if ((a = json_array()) == NULL)
			return NULL;
		for (uint32_t i = 0; i < o->via.array.size; i++)
			if (json_array_append_new(a,
			    json_from_msgpack(&o->via.array.ptr[i])) != 0) {
				json_decref(a);
				return NULL;
			}
		return a;
	case MSGPACK_OBJECT_MAP:
		return json_from_map(&o->via.map);
	}
	return NULL;
}

json_t *
json_summary(const ig_summary *s)
{
	json_t *m = json_object();
	const char *status = ig_status_name(s->status);

	for (size_t i = 0; m != NULL && i < s->nmetrics; i++)
		if (json_object_set_new(m, s->metrics[i].name,
		    json_number(s->metrics[i].value)) != 0) {
			json_decref(m);
			return NULL;
		}
	/* json_pack steals "o" references and fails whole on NULL. */
	return json_pack_ex(NULL, 0, "{sI s:o sI s:o s:s sI s:o sI s:o s:o"
	    " s:o s:o s:o s:o s:o}",
	    "id", (json_int_t)s->id,
	    "name", json_opt_str(s->name),
	    "owner", (json_int_t)s->owner,
	    "owner_name", json_opt_str(owner_name(s->owner)),
	    "status", status != NULL ? status : "unknown",
	    "epoch", (json_int_t)s->epoch,
	    "max_epochs", json_opt_int(s->max_epochs),
	    "iteration", (json_int_t)s->iteration,
	    "epoch_length", json_opt_int(s->epoch_length),
	    "rate", json_real(s->rate),
	    "metrics", m,
	    "reason", json_opt_str(s->reason),
	    "created", json_opt_int(s->created),
	    "started", json_opt_int(s->started),
	    "finished", json_opt_int(s->finished));
}

json_t *
json_series(const ig_series *s, size_t n)
{
	json_t *o = json_object(), *a, *p;

	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if ((a = json_array()) == NULL ||
		    json_object_set_new(o, s[i].name, a) != 0)
			goto fail;
		for (size_t j = 0; j < s[i].n; j++) {
			const ig_point *pt = &s[i].points[j];
			p = json_pack_ex(NULL, 0, "{sI sI s:o s:o}",
			    "epoch", (json_int_t)pt->epoch,
			    "iteration", (json_int_t)pt->iteration,
			    "time", json_number(pt->time),
			    "value", json_number(pt->value));
			if (json_array_append_new(a, p) != 0)
				goto fail;
		}
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *
json_log_line(const ig_log_line *l)
{
	return json_pack_ex(NULL, 0, "{sI s:o s:s}", "id", (json_int_t)l->id,
	    "time", json_number(l->time), "message", l->message);
}

void
json_to_msgpack(msgpack_packer *pk, const json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		msgpack_pack_map(pk, json_object_size(j));
		/* jansson's iteration wants a non-const object; it does
		 * not change it. */
		json_object_foreach((json_t *)j, key, v) {
			ig_pack_str(pk, key);
			json_to_msgpack(pk, v);
		}
		break;
	case JSON_ARRAY:
		msgpack_pack_array(pk, json_array_size(j));
		json_array_foreach(j, i, v)
			json_to_msgpack(pk, v);
		break;
	case JSON_STRING:
		msgpack_pack_str_with_body(pk, json_string_value(j),
		    json_string_length(j));
		break;
	case JSON_INTEGER:
		msgpack_pack_int64(pk, json_integer_value(j));
		break;
	case JSON_REAL:
		msgpack_pack_double(pk, json_real_value(j));
		break;
	case JSON_TRUE:
		msgpack_pack_true(pk);
		break;
	case JSON_FALSE:
		msgpack_pack_false(pk);
		break;
	case JSON_NULL:
		msgpack_pack_nil(pk);
		break;
	}
}

int
json_print(struct ctl *ctl, json_t *j)
{
	int rc;

	if (j == NULL)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "out of memory");
	/* ASCII only: what a worker wrote cannot reach a terminal raw, not
	 * even a C1 control, which JSON itself need not escape */
	rc = json_dumpf(j, ctl->out, JSON_COMPACT | JSON_ENCODE_ANY |
	    JSON_ENSURE_ASCII);
	json_decref(j);
	if (rc != 0 || fputc('\n', ctl->out) == EOF || fflush(ctl->out) != 0)
		return ig_err_set(&ctl->e, CTL_ELOCAL, "cannot write the output");
	return CTL_OK;
}
