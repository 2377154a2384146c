/*
 * json.c - JSON from msgpack (the daemon's answers, for --json and the
 * text of state) and to msgpack (specs), through jansson.
 */
#include <math.h>
#include <string.h>

#include "ignitectl.h"

json_t *
json_number(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
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
			rc = json_object_setn_new_nocheck(
			    o, k->via.str.ptr, k->via.str.size, v);
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
			s[2 * i + 1] =
			    hex[(unsigned char)o->via.bin.ptr[i] & 15];
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
		json_object_foreach((json_t *)j, key, v)
		{
			ig_pack_str(pk, key);
			json_to_msgpack(pk, v);
		}
		break;
	case JSON_ARRAY:
		msgpack_pack_array(pk, json_array_size(j));
		json_array_foreach(j, i, v) json_to_msgpack(pk, v);
		break;
	case JSON_STRING:
		msgpack_pack_str_with_body(
		    pk, json_string_value(j), json_string_length(j));
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
