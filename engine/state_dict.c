/*
 * state_dict.c - Ignite's state_dict and load_state_dict (rules 20, 21),
 * and their msgpack form.
 */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

void
ig_state_dict_clear(ig_state_dict *sd)
{
	for (size_t i = 0; i < sd->nuser; i++) {
		free(sd->user[i].key);
		engine_value_clear(&sd->user[i].value);
	}
	free(sd->user);
	sd->user = NULL;
	sd->nuser = 0;
}

static int
sd_add_user(
    ig_state_dict *sd, const char *key, size_t keylen, const ig_value *v)
{
	ig_user_entry *u = realloc(sd->user, (sd->nuser + 1) * sizeof(*u));

	if (u == NULL)
		return IG_ENOMEM;
	sd->user = u;
	u = &sd->user[sd->nuser];
	memset(u, 0, sizeof(*u));
	if ((u->key = strndup(key, keylen)) == NULL ||
	    engine_value_copy(&u->value, v) != 0) {
		free(u->key);
		return IG_ENOMEM;
	}
	sd->nuser++;
	return 0;
}

static const ig_user_entry *
sd_user(const ig_state_dict *sd, const char *key)
{
	for (size_t i = 0; i < sd->nuser; i++)
		if (strcmp(sd->user[i].key, key) == 0)
			return &sd->user[i];
	return NULL;
}

int
ig_engine_state_dict(const ig_engine *e, ig_state_dict *sd)
{
	static const ig_value nil = { .type = IG_VALUE_NIL };

	memset(sd, 0, sizeof(*sd));
	sd->iteration = e->state.iteration;
	sd->epoch = IG_NONE;
	sd->epoch_length = e->state.epoch_length;
	sd->max_epochs = e->state.max_epochs;
	for (size_t i = 0; i < e->nuser_keys; i++) {
		const ig_value *v = ig_engine_user(e, e->user_keys[i]);
		const char *k = e->user_keys[i];
		if (sd_add_user(sd, k, strlen(k), v != NULL ? v : &nil) != 0) {
			ig_state_dict_clear(sd);
			return IG_ENOMEM;
		}
	}
	return 0;
}

int
ig_engine_load_state_dict(ig_engine *e, const ig_state_dict *sd)
{
	int64_t iteration, epoch;

	if (e->running && !e->suspended)
		return engine_set_error(
		    e, IG_ESTATE, "load_state_dict: a run is in progress");
	if ((sd->iteration == IG_NONE) == (sd->epoch == IG_NONE))
		return engine_set_error(e, IG_EINVAL,
		    "load_state_dict: give exactly one of iteration and epoch");
	if (sd->iteration < IG_NONE || sd->epoch < IG_NONE)
		return engine_set_error(e, IG_EINVAL,
		    "load_state_dict: iteration and epoch must not be negative");
	if (sd->epoch_length == 0 || sd->epoch_length < IG_NONE)
		return engine_set_error(e, IG_EINVAL,
		    "load_state_dict: epoch_length must be a positive integer");
	if (sd->max_epochs == 0 || sd->max_epochs < IG_NONE)
		return engine_set_error(e, IG_EINVAL,
		    "load_state_dict: max_epochs must be a positive integer");
	if (sd->iteration != IG_NONE) {
		iteration = sd->iteration;
		epoch = sd->epoch_length != IG_NONE ?
		    iteration / sd->epoch_length :
		    0;
	} else {
		epoch = sd->epoch;
		if (epoch > 0 && sd->epoch_length == IG_NONE)
			return engine_set_error(e, IG_EINVAL,
			    "load_state_dict: epoch is given but epoch_length is unknown");
		iteration = epoch > 0 ? epoch * sd->epoch_length : 0;
	}
	if (sd->max_epochs != IG_NONE && epoch > sd->max_epochs)
		return engine_set_error(e, IG_EINVAL,
		    "load_state_dict: epoch %lld is beyond max_epochs %lld",
		    (long long)epoch, (long long)sd->max_epochs);
	for (size_t i = 0; i < e->nuser_keys; i++)
		if (sd_user(sd, e->user_keys[i]) == NULL)
			return engine_set_error(e, IG_EINVAL,
			    "load_state_dict: required user key %s is absent",
			    e->user_keys[i]);

	/* Everything is valid; copy values before touching the state so that
	 * running out of memory changes nothing either. */
	struct vars fresh = { 0 };
	for (size_t i = 0; i < e->nuser_keys; i++) {
		struct var *v = engine_vars_get(&fresh, e->user_keys[i]);
		if (v == NULL ||
		    engine_value_copy(
		        &v->v, &sd_user(sd, e->user_keys[i])->value) != 0) {
			engine_vars_clear(&fresh);
			return engine_set_error(
			    e, IG_ENOMEM, "load_state_dict: out of memory");
		}
	}
	for (size_t i = 0; i < fresh.n; i++) {
		struct var *u = engine_vars_get(&e->user, fresh.v[i].name);
		if (u == NULL) {
			engine_vars_clear(&fresh);
			return engine_set_error(
			    e, IG_ENOMEM, "load_state_dict: out of memory");
		}
		engine_value_clear(&u->v);
		u->v = fresh.v[i].v;
		fresh.v[i].v.type = IG_VALUE_NIL;
	}
	engine_vars_clear(&fresh);

	e->state.iteration = iteration;
	e->state.epoch = epoch;
	e->state.epoch_length = sd->epoch_length;
	e->state.max_epochs = sd->max_epochs;
	/* A loaded state replaces any suspended run; rule 18 says where the
	 * next one starts. */
	e->running = false;
	e->suspended = false;
	e->iter_live = false;
	e->phase = PH_IDLE;
	e->status = IG_RUN_IDLE;
	e->init_iter = IG_NONE;
	e->cursor_valid = false;
	return 0;
}

/* ---- msgpack ---------------------------------------------------------------- */

static void
pack_int_or_nil(msgpack_packer *pk, int64_t v)
{
	if (v == IG_NONE)
		msgpack_pack_nil(pk);
	else
		msgpack_pack_int64(pk, v);
}

static void
pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void
pack_value(msgpack_packer *pk, const ig_value *v)
{
	switch (v->type) {
	case IG_VALUE_NIL:
		msgpack_pack_nil(pk);
		break;
	case IG_VALUE_INT:
		msgpack_pack_int64(pk, v->u.i);
		break;
	case IG_VALUE_DOUBLE:
		msgpack_pack_double(pk, v->u.d);
		break;
	case IG_VALUE_BOOL:
		if (v->u.b)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case IG_VALUE_STR:
		pack_str(pk, v->u.s);
		break;
	}
}

int
ig_state_dict_pack(const ig_state_dict *sd, msgpack_packer *pk)
{
	bool has_epoch = sd->epoch != IG_NONE,
	     has_iteration = sd->iteration != IG_NONE;

	msgpack_pack_map(
	    pk, 2 + (size_t)has_epoch + (size_t)has_iteration + sd->nuser);
	pack_str(pk, "epoch_length");
	pack_int_or_nil(pk, sd->epoch_length);
	pack_str(pk, "max_epochs");
	pack_int_or_nil(pk, sd->max_epochs);
	if (has_iteration) {
		pack_str(pk, "iteration");
		msgpack_pack_int64(pk, sd->iteration);
	}
	if (has_epoch) {
		pack_str(pk, "epoch");
		msgpack_pack_int64(pk, sd->epoch);
	}
	for (size_t i = 0; i < sd->nuser; i++) {
		pack_str(pk, sd->user[i].key);
		pack_value(pk, &sd->user[i].value);
	}
	return 0;
}

static bool
key_is(const msgpack_object *k, const char *name)
{
	size_t n = strlen(name);
	return k->via.str.size == n && memcmp(k->via.str.ptr, name, n) == 0;
}

/* An Ignite counter: a non-negative integer or nil (unknown). */
static int
read_count(const msgpack_object *v, int64_t *out)
{
	if (v->type == MSGPACK_OBJECT_NIL) {
		*out = IG_NONE;
		return 0;
	}
	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    v->via.u64 > INT64_MAX)
		return -1;
	*out = (int64_t)v->via.u64;
	return 0;
}

static int
read_value(const msgpack_object *v, ig_value *out)
{
	switch (v->type) {
	case MSGPACK_OBJECT_NIL:
		out->type = IG_VALUE_NIL;
		return 0;
	case MSGPACK_OBJECT_BOOLEAN:
		out->type = IG_VALUE_BOOL;
		out->u.b = v->via.boolean;
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (v->via.u64 > INT64_MAX)
			return -1;
		out->type = IG_VALUE_INT;
		out->u.i = (int64_t)v->via.u64;
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		out->type = IG_VALUE_INT;
		out->u.i = v->via.i64;
		return 0;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		out->type = IG_VALUE_DOUBLE;
		out->u.d = v->via.f64;
		return 0;
	case MSGPACK_OBJECT_STR:
		/* a borrowed view; sd_add_user copies it */
		if (memchr(v->via.str.ptr, '\0', v->via.str.size) != NULL)
			return -1;
		out->type = IG_VALUE_STR;
		out->u.s = strndup(v->via.str.ptr, v->via.str.size);
		return out->u.s != NULL ? 0 : -1;
	default:
		return -1;
	}
}

int
ig_state_dict_unpack(
    const msgpack_object *o, ig_state_dict *sd, char *err, size_t errlen)
{
	bool seen_len = false, seen_max = false;

	memset(sd, 0, sizeof(*sd));
	sd->iteration = sd->epoch = sd->epoch_length = sd->max_epochs = IG_NONE;
	if (o->type != MSGPACK_OBJECT_MAP) {
		snprintf(err, errlen, "state_dict: expected a map");
		return IG_EINVAL;
	}
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key,
		                     *v = &o->via.map.ptr[i].val;
		int64_t *slot = NULL;

		if (k->type != MSGPACK_OBJECT_STR) {
			snprintf(
			    err, errlen, "state_dict: keys must be strings");
			goto bad;
		}
		if (key_is(k, "iteration"))
			slot = &sd->iteration;
		else if (key_is(k, "epoch"))
			slot = &sd->epoch;
		else if (key_is(k, "epoch_length"))
			slot = &sd->epoch_length, seen_len = true;
		else if (key_is(k, "max_epochs"))
			slot = &sd->max_epochs, seen_max = true;
		if (slot != NULL) {
			if (read_count(v, slot) != 0) {
				snprintf(err, errlen,
				    "state_dict: %.*s must be a non-negative integer or nil",
				    (int)k->via.str.size, k->via.str.ptr);
				goto bad;
			}
			continue;
		}
		ig_value val = { .type = IG_VALUE_NIL };
		if (read_value(v, &val) != 0) {
			snprintf(err, errlen,
			    "state_dict: user key %.*s must be nil, a boolean, "
			    "a number or a string",
			    (int)k->via.str.size, k->via.str.ptr);
			goto bad;
		}
		int rc = sd_add_user(sd, k->via.str.ptr, k->via.str.size, &val);
		engine_value_clear(&val);
		if (rc != 0) {
			snprintf(err, errlen, "state_dict: out of memory");
			goto bad;
		}
	}
	if (!seen_len || !seen_max) {
		snprintf(err, errlen, "state_dict: %s is required",
		    seen_len ? "max_epochs" : "epoch_length");
		goto bad;
	}
	return 0;
bad:
	ig_state_dict_clear(sd);
	return IG_EINVAL;
}
