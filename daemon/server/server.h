/*
 * server.h - ignited's control socket: the listener, client connections
 * and the method table requests are dispatched through.
 *
 * Layers, as in Neovim's msgpack-rpc: server.c owns the listening socket;
 * conn.c owns one client's byte stream (framing via libignite_proto,
 * output queue, timeouts); methods are plain functions registered by name.
 * Everything runs on the daemon's one libuv loop.
 *
 * A frame that cannot be decoded gets an "error" notification and the
 * connection is closed; a well-framed request that cannot be served gets an
 * error response and the connection stays.  No client can stop the daemon
 * short of the shutdown method, which only root and the daemon's own uid
 * may call.
 */
#ifndef IGNITED_SERVER_H
#define IGNITED_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>
#include <uv.h>

struct server;
struct server_conn;

struct server_options {
	const char *path; /* socket path; copied */
	gid_t group; /* (gid_t)-1: socket 0600, else 0660 for it */
	size_t max_frame; /* 0: IG_FRAME_MAX_DEFAULT */
	size_t
	    max_queue; /* unsent bytes before a client is dropped; 0: 64 MiB */
	uint64_t
	    idle_timeout_ms; /* partial frame stalled this long: drop; 0: 30 s */
	uint64_t
	    client_timeout_ms; /* idle between frames this long: drop; 0: 120 s */
	unsigned max_conns_per_uid; /* but root's and ours; 0: 64 */
	size_t max_buffered; /* all connections' buffers; 0: 256 MiB */
};

/* Asked to stop (the shutdown method): the owner starts its shutdown. */
typedef void server_stop_fn(void *ud);

/*
 * Bind the socket and start accepting.  An existing socket at the path is
 * probed first: a live daemon there is an error, a stale socket is
 * replaced.  Returns NULL with a message in err.  Free with server_close().
 */
struct server *server_open(uv_loop_t *loop, const struct server_options *opt,
    server_stop_fn *stop, void *stop_ud, ig_err *err);

/*
 * Serve fd, a listening Unix stream socket someone else bound (systemd's,
 * under socket activation), which the server owns from now on, even when
 * this fails.  opt->path and opt->group are not used: the socket's file
 * belongs to whoever bound it and is never removed.  Returns NULL with a
 * message in err.  Free with server_close().
 */
struct server *server_adopt(uv_loop_t *loop, int fd,
    const struct server_options *opt, server_stop_fn *stop, void *stop_ud,
    ig_err *err);

/* Stop accepting and remove the socket path (unless adopted); connections
 * stay. */
void server_stop_listening(struct server *srv);

/*
 * Stop listening, flush what each connection has queued (for a short
 * while) and close them all; the server's memory goes once the loop has
 * run the close callbacks.
 */
void server_close(struct server *srv);

/* ---- methods ------------------------------------------------------------ */

/*
 * A method handler.  params is the request's params (array or map) and is
 * valid only during the call.  It must answer exactly once, with
 * server_reply() or server_error(), now or later; conn stays valid for a
 * later answer only while the owner holds a reference (server_conn_ref).
 */
typedef void server_method_fn(struct server_conn *conn, uint32_t msgid,
    const msgpack_object *params, uid_t peer, void *ud);

/* A method the server answers before the connection said hello (hello
 * itself: the protocol's version is agreed on there). */
#define SERVER_BEFORE_HELLO 0x1

/* Register method name (copied) with its flags, fn and ud (borrowed).
 * Returns 0, or -1 when the name is taken or memory is out. */
int server_register(struct server *srv, const char *name, unsigned flags,
    server_method_fn *fn, void *ud);

/* Packs a result or notification params at pk; arg is the caller's. */
typedef void server_pack_fn(msgpack_packer *pk, void *arg);

/*
 * Make room for len more bytes of output before packing a large answer,
 * which would otherwise grow the buffer by doubling, each size copied and
 * faulted in anew.  Best effort: without the memory, packing grows it as
 * usual and reports what it cannot fit.
 */
void server_reserve(struct server_conn *conn, size_t len);

/*
 * Answer msgid with what pack packs (NULL: nil).  A result over the frame
 * limit is answered with IG_PROTO_TOO_LARGE instead.  Returns 0 or an
 * IG_PROTO_* code; a connection that is closing takes nothing and says 0.
 */
int server_reply(
    struct server_conn *conn, uint32_t msgid, server_pack_fn *pack, void *arg);
/*
 * Answer msgid with a result object packed elsewhere (a history page,
 * on the threadpool): buf[head, head + len), with at least SERVER_HEAD
 * bytes before it for the frame's header.  buf (malloc'd) is taken,
 * whatever happens, and goes to the socket without a copy.  Returns as
 * server_reply.
 */
#define SERVER_HEAD 16
int server_reply_buffer(struct server_conn *conn, uint32_t msgid, char *buf,
    size_t head, size_t len);
/* Answer msgid with error code (IG_PROTO_*) and a message. */
int server_error(struct server_conn *conn, uint32_t msgid, int code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Send notification method with params packed by pack (NULL: empty map). */
int server_notify(struct server_conn *conn, const char *method,
    server_pack_fn *pack, void *arg);

/* ---- connections -------------------------------------------------------- */

uid_t server_conn_uid(const struct server_conn *conn);
struct server *server_conn_server(const struct server_conn *conn);
/* The protocol version agreed by hello; 0 before. */
int server_conn_version(const struct server_conn *conn);
void server_conn_set_version(struct server_conn *conn, int version);

/*
 * Keep conn's memory alive past its close (for answers given later or
 * watch streams); every ref needs an unref.  Writes to a closed
 * connection are dropped.
 */
void server_conn_ref(struct server_conn *conn);
void server_conn_unref(struct server_conn *conn);
/* Has conn been closed (or begun closing)? */
int server_conn_closed(const struct server_conn *conn);
/*
 * conn waits for notifications about every run (watch without an id), or
 * no longer: it is not idle, however long it sends nothing.  (A watch of
 * one run, like an answer to come, holds a reference, which says the
 * same.)
 */
void server_conn_watching(struct server_conn *conn, bool on);

/* The largest frame, in bytes, this server reads (--max-frame); answers
 * that page (metric history) keep their pages within it too. */
size_t server_max_frame(const struct server *srv);

/* Requests dispatched to a method so far: the run manager shortens its
 * turns while they keep coming. */
uint64_t server_requests(const struct server *srv);

/* What the metrics endpoint shows: the clients connected, and the
 * requests each method has served (fn called for every method). */
size_t server_conns(const struct server *srv);
void server_each_method(const struct server *srv,
    void (*fn)(const char *name, uint64_t served, void *arg), void *arg);

/* The server's request to stop, from the shutdown method. */
void server_request_stop(struct server *srv);

#endif
