/*
 * testutil.h - building msgpack test inputs from JSON-like text.
 *
 * The text is JSON with two conveniences: strings may be 'single-quoted',
 * \xHH puts any byte in a string (to build invalid UTF-8), and b'...' is a
 * bin.  nan and inf are numbers.  A syntax error fails the test.
 */
#ifndef IGNITE_TESTUTIL_H
#define IGNITE_TESTUTIL_H

#include <stddef.h>

#include <msgpack.h>

/* Pack text with pk. */
void tu_pack(msgpack_packer *pk, const char *text);
/* The object text describes; it and its bytes live in zone. */
msgpack_object tu_obj(msgpack_zone *zone, const char *text);
/* A complete frame (length prefix and body) for text, appended to sb. */
void tu_frame(msgpack_sbuffer *sb, const char *text);
/* Append a raw frame: the prefix for len, then body. */
void tu_raw_frame(msgpack_sbuffer *sb, const void *body, size_t len);

#endif
