/*
 * http.h - a minimal, strict HTTP/1.1 server on the daemon's libuv loop,
 * for one resource (the metrics endpoint): GET only, one request a
 * connection (answered with Connection: close), the request's head at
 * most HTTP_HEAD_MAX bytes, every exchange done within HTTP_TIMEOUT_MS,
 * at most HTTP_CONNS_MAX connections at once.  A malformed request is
 * answered 400, another path 404, another method 405; nothing a client
 * sends or withholds blocks the loop.
 */
#ifndef IGNITED_HTTP_H
#define IGNITED_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include <uv.h>

#include "ignite/protocol.h"

#define HTTP_HEAD_MAX 8192
#define HTTP_TIMEOUT_MS 10000
#define HTTP_CONNS_MAX 16

struct http;

/* The body for a GET of the path: 0 with *body (malloc'd, the server's
 * from then on), *len and *type set, or -1 (answered 503). */
typedef int http_get_fn(void *ud, char **body, size_t *len, const char **type);

/* Listen on addr and serve path (borrowed) through get.  NULL with a
 * message in err. */
struct http *http_open(uv_loop_t *loop, const struct sockaddr *addr,
    const char *path, http_get_fn *get, void *ud, ig_err *err);
/* Stop listening and drop every connection; the memory goes once the
 * loop has run the close callbacks. */
void http_close(struct http *h);

#endif
