/*
 * http.h - a small, strict HTTP/1.1 server for `ignitectl dashboard`: one
 * thread, poll(2), 127.0.0.1 only.  GET and POST, a request head of at
 * most 8 KiB and a body of at most 4 KiB, each request within 10 seconds;
 * one request a connection (Connection: close), or an event stream kept
 * open.  What a request may do is the handler's to decide
 * (cmd_dashboard.c); every response carries the headers that keep a
 * browser from framing, sniffing or caching it.
 */
#ifndef HTTP_H
#define HTTP_H

#include <signal.h>
#include <stddef.h>

#include "ignitectl.h"

struct http_request {
	const char *method; /* "GET" or "POST" */
	const char *path; /* from '/', without the query */
	const char *query; /* after '?', or "" */
	/* header values, or NULL when absent */
	const char *host, *origin, *token, *fetch_site;
};

struct http_server;
struct http_client;

/* Called once a request has arrived whole; it answers with http_respond
 * or http_stream before it returns. */
typedef void (*http_handler)(
    void *arg, struct http_client *, const struct http_request *);

/* Listen on 127.0.0.1:port (0: any free port). */
int http_listen(struct http_server **out, int port, http_handler handler,
    void *arg, ig_err *err);
int http_port(const struct http_server *);
void http_free(struct http_server *);

/* The whole response; headers: more header lines, each ending "\r\n", or
 * NULL.  The connection closes once it is sent. */
void http_respond(struct http_client *, int status, const char *type,
    const char *headers, const void *body, size_t len);
/* Make the request an event stream (text/event-stream), kept open until
 * the browser or http_drop_streams closes it. */
void http_stream(struct http_client *);
/* Send bytes to every event stream; one that holds too much unsent is
 * closed (the browser reconnects). */
void http_broadcast(struct http_server *, const char *data, size_t len);
void http_drop_streams(struct http_server *);
size_t http_nstreams(const struct http_server *);

/*
 * Serve until *stop is set (by a signal) or poll fails.  Each turn polls
 * the fd that poll_fd(arg) gives (-1: none) for reading too, and calls
 * on_fd(arg) when it is readable.
 */
int http_serve(struct http_server *, int (*poll_fd)(void *),
    void (*on_fd)(void *), void *arg, volatile sig_atomic_t *stop, ig_err *err);

/* The page's files, built in: dashboard_assets.c, which embed.cmake
 * writes from web/ at build time. */
struct http_asset {
	const char *path, *type;
	const unsigned char *data;
	size_t len;
};
extern const struct http_asset http_assets[];
extern const size_t http_nassets;

#endif
