/*
 * codes.c - error codes: their names and the ig_err value that carries them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const struct {
	int code;
	const char *name;
} codes[] = {
	{ IG_PROTO_OK, "OK" },
	{ IG_PROTO_BAD_REQUEST, "BAD_REQUEST" },
	{ IG_PROTO_UNKNOWN_METHOD, "UNKNOWN_METHOD" },
	{ IG_PROTO_INVALID_PARAMS, "INVALID_PARAMS" },
	{ IG_PROTO_NOT_FOUND, "NOT_FOUND" },
	{ IG_PROTO_PERMISSION_DENIED, "PERMISSION_DENIED" },
	{ IG_PROTO_CONFLICT, "CONFLICT" },
	{ IG_PROTO_UNAVAILABLE, "UNAVAILABLE" },
	{ IG_PROTO_INTERNAL, "INTERNAL" },
	{ IG_PROTO_TOO_LARGE, "TOO_LARGE" },
	{ IG_PROTO_VERSION_MISMATCH, "VERSION_MISMATCH" },
	{ IG_PROTO_FRAME_EMPTY, "FRAME_EMPTY" },
	{ IG_PROTO_FRAME_TOO_LARGE, "FRAME_TOO_LARGE" },
	{ IG_PROTO_FRAME_TRUNCATED, "FRAME_TRUNCATED" },
	{ IG_PROTO_FRAME_TRAILING, "FRAME_TRAILING" },
	{ IG_PROTO_FRAME_INVALID, "FRAME_INVALID" },
	{ IG_PROTO_FRAME_TOO_DEEP, "FRAME_TOO_DEEP" },
	{ IG_PROTO_FRAME_COUNT, "FRAME_COUNT" },
	{ IG_PROTO_FRAME_UTF8, "FRAME_UTF8" },
	{ IG_PROTO_MSG_NOT_ARRAY, "MSG_NOT_ARRAY" },
	{ IG_PROTO_MSG_ARITY, "MSG_ARITY" },
	{ IG_PROTO_MSG_TYPE, "MSG_TYPE" },
	{ IG_PROTO_MSG_MSGID, "MSG_MSGID" },
	{ IG_PROTO_MSG_METHOD, "MSG_METHOD" },
	{ IG_PROTO_MSG_PARAMS, "MSG_PARAMS" },
	{ IG_PROTO_MSG_ERROR, "MSG_ERROR" },
};

const char *
ig_proto_code_name(int code)
{
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		if (codes[i].code == code)
			return codes[i].name;
	}
	return "UNKNOWN";
}

bool
ig_proto_code_fatal(int code)
{
	return code >= 100 && code < 200;
}

int
ig_err_set(ig_err *err, int code, const char *fmt, ...)
{
	char msg[sizeof err->message];
	va_list ap;
	int n;

	if (err == NULL)
		return code;
	/* into a copy: callers wrap err's own message ("...: %s", err->message) */
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	err->code = code;
	memcpy(err->message, msg, sizeof msg);
	if (n < 0)
		snprintf(err->message, sizeof err->message, "%s",
		    ig_proto_code_name(code));
	else if ((size_t)n >= sizeof err->message)
		memcpy(err->message +
		        proto_utf8_boundary(
		            err->message, sizeof err->message - 4),
		    "...", 4);
	return code;
}
