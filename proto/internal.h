/*
 * internal.h - helpers shared by the files of libignite_proto; not installed.
 */
#ifndef IGNITE_PROTO_INTERNAL_H
#define IGNITE_PROTO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "ignite/protocol.h"

/*
 * msgpack-c leaves the pointer of an empty str or bin NULL, and the mem*
 * functions must not get NULL even with a length of 0: these take it.
 */
static inline bool
proto_mem_has(const void *p, size_t n, int c)
{
	return n > 0 && memchr(p, c, n) != NULL;
}

static inline void
proto_mem_copy(void *dst, const void *src, size_t n)
{
	if (n > 0)
		memcpy(dst, src, n);
}

/* Room for a field path such as "handlers[12].once[3]" or "params.lr". */
#define PROTO_PATH_MAX 160

#include "scan.h" /* proto_scan */

bool proto_utf8_valid(const unsigned char *s, size_t len);
/* The start of the UTF-8 sequence that holds byte `at` of s: where to cut
 * text that goes on the wire as a msgpack str and must stay valid. */
size_t proto_utf8_boundary(const char *s, size_t at);

/* The keys of a data map, a bit each: a data kind's keys are those its
 * map may hold, the canonical form packs and the daemon's source reads. */
enum proto_data_key {
	PROTO_DATA_N = 1 << 0,
	PROTO_DATA_PATH = 1 << 1,
	PROTO_DATA_BATCH_SIZE = 1 << 2,
	PROTO_DATA_SHUFFLE = 1 << 3,
	PROTO_DATA_COLUMNS = 1 << 4,
	PROTO_DATA_LABEL = 1 << 5,
	PROTO_DATA_HEADER = 1 << 6,
	PROTO_DATA_SPLIT = 1 << 7,
	PROTO_DATA_SCALE = 1 << 8,
};
/* The keys data kind takes (enum proto_data_key bits); 0 out of range. */
unsigned proto_data_keys(int kind);

/* Read one value o of type t into out as ig_map_read() does, naming path
 * in errors.  names is for IG_F_ENUM. */
int proto_obj_read(const msgpack_object *o, ig_ftype t,
    const char *const *names, void *out, const char *path, ig_err *err);

/* Undo what proto_obj_read() allocated for type t in out, and reset it. */
void proto_obj_release(ig_ftype t, void *out);

/* A NUL-terminated malloc'd copy of a str object; NULL when out of memory.
 * Refuses strings with NUL bytes (returns NULL, sets *nul). */
char *proto_str_dup(const msgpack_object_str *s, bool *nul);

/* path = "where.key" (or "key" when where is NULL or empty). */
void proto_path_key(char *path, const char *where, const char *key);
/* path = "where[i]". */
void proto_path_index(char *path, const char *where, size_t i);
/* A printable, quoted excerpt of bytes for messages: "abc" or "abcd...". */
const char *proto_quote(char *buf, size_t size, const char *p, size_t len);

/* Any number, NaN and infinities included (a diverged loss is a value
 * too); false when o is not a number. */

/* A map of name -> number into a malloc'd array (*n entries, NaN kept);
 * free with proto_named_values_free(). */
int proto_named_values_read(const msgpack_object *m, const char *where,
    ig_named_value **out, size_t *n, ig_err *err);
void proto_named_values_free(ig_named_value *nv, size_t n);

/* "an integer", "a str", "nil"...: what o is, for messages. */
const char *proto_type_name(const msgpack_object *o);
void proto_pack_bool(msgpack_packer *pk, bool b);

/* Is a str object equal to the C string s? */
bool proto_str_is(const msgpack_object_str *o, const char *s);

#endif
