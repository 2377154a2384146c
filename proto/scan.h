/*
 * scan.h - a bounded walk over untrusted msgpack, before msgpack-c sees it.
 *
 * Internal to ignite, not installed: the protocol library walks frames
 * with it, and the daemon's msgpack: data source finds its records with
 * it (daemon/dataset/msgpack_source.c).  Include it as "proto/scan.h".
 */
#ifndef IGNITE_PROTO_SCAN_H
#define IGNITE_PROTO_SCAN_H

#include <stddef.h>

#include "ignite/protocol.h"

/* What proto_scan_object checks beyond bounds and nesting. */
#define PROTO_SCAN_UTF8 0x1 /* every str valid UTF-8 */

/*
 * Walk the msgpack object at the start of p (len bytes) without allocating
 * and without recursion: nesting within IG_FRAME_MAX_DEPTH, every
 * array/map count backed by the bytes left (each element takes at least
 * one byte), nothing truncated, and what flags ask.  Bytes after the
 * object are not looked at.  Returns 0 with the object's length in *span,
 * or an IG_PROTO_FRAME_* code with err set.  After it passes, msgpack-c
 * allocates at most one msgpack_object per byte of the object.
 */
int proto_scan_object(
    const unsigned char *p, size_t len, int flags, size_t *span, ig_err *err);

/* A frame: one object of exactly len bytes, every str valid UTF-8. */
int proto_scan(const unsigned char *p, size_t len, ig_err *err);

#endif
