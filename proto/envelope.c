/*
 * envelope.c - one frame body to one checked msgpack-RPC message.
 */
#include <limits.h>
#include <string.h>

#include "internal.h"

/* A NUL-terminated copy of s in zone, or NULL when out of memory. */
static const char *
zone_str(msgpack_zone *zone, const msgpack_object_str *s)
{
	char *c = msgpack_zone_malloc_no_align(zone, (size_t)s->size + 1);

	if (c != NULL) {
		proto_mem_copy(c, s->ptr, s->size);
		c[s->size] = '\0';
	}
	return c;
}

static int
read_msgid(const msgpack_object *o, ig_msg *msg, ig_err *err)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    o->via.u64 > UINT32_MAX)
		return ig_err_set(err, IG_PROTO_MSG_MSGID,
		    "bad msgid: expected an unsigned 32-bit integer, got %s",
		    proto_type_name(o));
	msg->msgid = (uint32_t)o->via.u64;
	return 0;
}

static int
read_method(
    const msgpack_object *o, msgpack_zone *zone, ig_msg *msg, ig_err *err)
{
	if (o->type != MSGPACK_OBJECT_STR)
		return ig_err_set(err, IG_PROTO_MSG_METHOD,
		    "bad method: expected a str, got %s", proto_type_name(o));
	if (o->via.str.size == 0 ||
	    proto_mem_has(o->via.str.ptr, o->via.str.size, '\0'))
		return ig_err_set(err, IG_PROTO_MSG_METHOD,
		    "bad method: the name is empty or holds a NUL byte");
	if ((msg->method = zone_str(zone, &o->via.str)) == NULL)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "out of memory decoding a message");
	return 0;
}

static int
read_params(const msgpack_object *o, ig_msg *msg, ig_err *err)
{
	if (o->type != MSGPACK_OBJECT_ARRAY && o->type != MSGPACK_OBJECT_MAP)
		return ig_err_set(err, IG_PROTO_MSG_PARAMS,
		    "bad params: expected an array or a map, got %s",
		    proto_type_name(o));
	msg->params = o;
	return 0;
}

/* nil, or {code: 1.., message: str} (other keys are for later versions). */
static int
read_error(
    const msgpack_object *o, msgpack_zone *zone, ig_msg *msg, ig_err *err)
{
	const msgpack_object *code, *message;

	if (o->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (o->type != MSGPACK_OBJECT_MAP)
		return ig_err_set(err, IG_PROTO_MSG_ERROR,
		    "bad error: expected nil or a map, got %s",
		    proto_type_name(o));
	code = ig_map_get(o, "code");
	message = ig_map_get(o, "message");
	if (code == NULL || code->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    code->via.u64 == 0 || code->via.u64 > INT_MAX)
		return ig_err_set(err, IG_PROTO_MSG_ERROR,
		    "bad error: code must be a positive integer");
	if (message == NULL || message->type != MSGPACK_OBJECT_STR ||
	    proto_mem_has(message->via.str.ptr, message->via.str.size, '\0'))
		return ig_err_set(err, IG_PROTO_MSG_ERROR,
		    "bad error: message must be a str without NUL bytes");
	msg->error_code = (int)code->via.u64;
	if ((msg->error_message = zone_str(zone, &message->via.str)) == NULL)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "out of memory decoding a message");
	return 0;
}

static int
read_envelope(
    const msgpack_object *root, msgpack_zone *zone, ig_msg *msg, ig_err *err)
{
	static const char *const what[] = { "a request", "a response",
		"a notification" };
	static const uint32_t arity[] = { 4, 4, 3 };
	const msgpack_object *a;
	uint32_t n;
	int rc;

	if (root->type != MSGPACK_OBJECT_ARRAY)
		return ig_err_set(err, IG_PROTO_MSG_NOT_ARRAY,
		    "bad message: expected an array, got %s",
		    proto_type_name(root));
	a = root->via.array.ptr;
	n = root->via.array.size;
	if (n == 0)
		return ig_err_set(
		    err, IG_PROTO_MSG_ARITY, "bad message: an empty array");
	if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    a[0].via.u64 > IG_MSG_NOTIFY)
		return ig_err_set(err, IG_PROTO_MSG_TYPE,
		    "bad message type: expected 0 (request), 1 (response) or "
		    "2 (notification)");
	msg->type = (int)a[0].via.u64;
	if (n != arity[msg->type])
		return ig_err_set(err, IG_PROTO_MSG_ARITY,
		    "bad message: %s has %u elements, got %u", what[msg->type],
		    arity[msg->type], n);

	switch (msg->type) {
	case IG_MSG_REQUEST:
		if ((rc = read_msgid(&a[1], msg, err)) != 0 ||
		    (rc = read_method(&a[2], zone, msg, err)) != 0)
			return rc;
		return read_params(&a[3], msg, err);
	case IG_MSG_RESPONSE:
		if ((rc = read_msgid(&a[1], msg, err)) != 0 ||
		    (rc = read_error(&a[2], zone, msg, err)) != 0)
			return rc;
		msg->result = &a[3];
		return 0;
	default:
		if ((rc = read_method(&a[1], zone, msg, err)) != 0)
			return rc;
		return read_params(&a[2], msg, err);
	}
}

int
ig_frame_decode(
    const void *body, size_t len, msgpack_zone *zone, ig_msg *msg, ig_err *err)
{
	msgpack_object root;
	size_t off = 0;
	int rc;

	memset(msg, 0, sizeof *msg);
	if ((rc = proto_scan(body, len, err)) != 0)
		return rc;
	switch (msgpack_unpack(body, len, &off, zone, &root)) {
	case MSGPACK_UNPACK_SUCCESS:
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "out of memory decoding a %zu-byte frame", len);
	default:
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "msgpack-c refused a frame that passed the scan");
	}
	if ((rc = read_envelope(&root, zone, msg, err)) != 0)
		memset(msg, 0, sizeof *msg);
	return rc;
}
