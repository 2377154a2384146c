/*
 * server_int.h - what server.c (the listener and method table) and conn.c
 * (one client connection) share.  Not for the rest of the daemon.
 */
#ifndef IGNITED_SERVER_INT_H
#define IGNITED_SERVER_INT_H

#include <stdbool.h>
#include <sys/stat.h>

#include "ignite/protocol.h"
#include "server.h"

struct method {
	char *name;                     /* owned */
	server_method_fn *fn;
	void *ud;
};

struct server {
	uv_loop_t *loop;
	char *path;                     /* owned */
	gid_t group;
	size_t max_frame;
	size_t max_queue;
	uint64_t idle_timeout_ms;
	server_stop_fn *stop;
	void *stop_ud;

	int fd;                         /* listening socket; -1 once stopped */
	bool adopted;                   /* fd is systemd's: path is not ours */
	dev_t dev;                      /* the socket file we bound, so we */
	ino_t ino;                      /* never unlink someone else's */
	uv_poll_t poll;                 /* readable: connections to accept */
	uv_timer_t retry;               /* accepting paused on EMFILE */
	bool paused;
	int open_handles;               /* poll and retry until closed */

	struct method *methods;         /* owned, nmethods of them */
	size_t nmethods;

	struct server_conn *conns;      /* open connections, a list */
	uint64_t requests;              /* dispatched to a method, ever */
	bool closing;
};

struct server_conn {
	uv_pipe_t pipe;                 /* the client's socket */
	uv_timer_t timer;               /* stalled partial frame; linger on close */
	uv_shutdown_t shutdown;
	struct server *srv;             /* NULL once unlinked */
	struct server_conn *next, *prev; /* in srv->conns */
	uid_t uid;                      /* SO_PEERCRED */
	pid_t pid;
	int version;                    /* agreed by hello; 0 before */
	ig_decoder *dec;                /* owned */
	msgpack_sbuffer out;            /* frames not yet handed to uv_write */
	bool dispatching;               /* batch replies until the read ends */
	unsigned unanswered;            /* requests not answered yet */
	bool closing;
	int open_handles;               /* pipe and timer until closed */
	int refs;                       /* the handles' one, plus server_conn_ref's */
	char rbuf[64 * 1024];
};

/* The method called name, or NULL. */
const struct method *server_find_method(const struct server *srv,
                                        const char *name);

/* Wrap an accepted socket (fd, which it owns from now on, even when it
 * fails) in a connection and start reading.  Returns 0 or -1 with a
 * message in err. */
int conn_start(struct server *srv, int fd, char *err, size_t errlen);

/* Close conn: after flushing its queued output (bounded by a timer) when
 * linger, else at once. */
void conn_close(struct server_conn *conn, bool linger);

/* A connection's handles are closed: unlink it.  Frees srv when it was
 * the last thing the closing server waited for. */
void server_conn_gone(struct server *srv, struct server_conn *conn);

#endif
