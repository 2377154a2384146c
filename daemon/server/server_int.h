/*
 * server_int.h - what server.c (the listener and method table) and conn.c
 * (one client connection) share.  Not for the rest of the daemon.
 */
#ifndef IGNITED_SERVER_INT_H
#define IGNITED_SERVER_INT_H

#include <stdbool.h>
#include <sys/stat.h>

#include "ignite/protocol.h"
#include "server/server.h"

struct method {
	char *name; /* owned */
	unsigned flags; /* SERVER_BEFORE_HELLO */
	server_method_fn *fn;
	void *ud;
};

/* Connections open for one uid (root and the daemon's own uid are not
 * counted: they are not limited). */
struct uid_conns {
	uid_t uid;
	unsigned n;
	bool warned; /* logged that it is at the limit */
};

struct server {
	uv_loop_t *loop;
	char *path; /* owned */
	gid_t group;
	size_t max_frame;
	size_t max_queue;
	uint64_t idle_timeout_ms;
	uint64_t client_timeout_ms;
	unsigned max_conns_per_uid;
	size_t max_buffered;
	uid_t self; /* our euid: not limited, as root */
	server_stop_fn *stop;
	void *stop_ud;

	int fd; /* listening socket; -1 once stopped */
	bool adopted; /* fd is systemd's: path is not ours */
	dev_t dev; /* the socket file we bound, so we */
	ino_t ino; /* never unlink someone else's */
	uv_poll_t poll; /* readable: connections to accept */
	uv_timer_t retry; /* accepting paused on EMFILE */
	bool paused;
	int open_handles; /* poll and retry until closed */

	struct method *methods; /* owned, nmethods of them */
	size_t nmethods;

	struct server_conn *conns; /* open connections, a list */
	uint64_t requests; /* dispatched to a method, ever */
	bool closing;

	struct uid_conns *uids; /* owned, nuids of them, in no order */
	size_t nuids, uidcap;
	size_t buffered; /* sum of the connections' charged */

	/* Fairness: a connection read its slice of a loop turn, or has a
	 * large frame being decoded on the threadpool, and waits. */
	uv_check_t turn_end; /* counts turns, resumes the paused */
	uint64_t turn;
	struct server_conn *paused_conns; /* via pause_next, referenced */
	unsigned decoding; /* decodes on the threadpool */
	struct server_conn *decode_first, *decode_last; /* waiting for one */
	uv_timer_t sweep; /* closes idle connections */
	bool loop_handles; /* turn_end and sweep are open */
};

struct server_conn {
	uv_pipe_t pipe; /* the client's socket */
	uv_timer_t timer; /* stalled partial frame; linger on close */
	uv_shutdown_t shutdown;
	struct server *srv; /* NULL once unlinked */
	struct server_conn *next, *prev; /* in srv->conns */
	uid_t uid; /* SO_PEERCRED */
	pid_t pid;
	int version; /* agreed by hello; 0 before */
	ig_decoder *dec; /* owned; NULL once closed */
	msgpack_sbuffer out; /* frames not yet handed to uv_write */
	bool dispatching; /* batch replies until the read ends */
	unsigned unanswered; /* requests not answered yet */
	bool watching; /* watch {}: waits for notifications */
	bool counted; /* in srv->uids */
	bool closing;
	int open_handles; /* pipe and timer until closed */
	int refs; /* the handles' one, plus server_conn_ref's */
	size_t charged; /* its buffers' bytes, in srv->buffered */
	uint64_t active; /* loop time of the last read or answer */
	uint64_t frame_start; /* loop time a partial frame began */
	size_t frame_bytes; /* of it, received so far */
	bool in_frame; /* the decoder holds a partial frame */

	uint64_t turn; /* srv->turn of the slice below */
	size_t slice; /* bytes read in that turn */
	bool paused; /* on srv->paused_conns, not reading */
	struct server_conn *pause_next;

	bool decoding; /* a large frame: waits for or is on the
	                                 * threadpool; the pipe does not read */
	uv_work_t work;
	struct server_conn *decode_next;
	int decode_rc; /* IG_DECODE_* of the threadpool's call */
	size_t decode_held; /* the decoder's buffer, for charge() */
	ig_msg msg; /* what it decoded */
	const char *rest; /* the read's bytes after that frame */
	size_t nrest;

	char rbuf[64 * 1024];
};

/* The method called name, or NULL. */
const struct method *server_find_method(
    const struct server *srv, const char *name);

/* Wrap an accepted socket (fd, which it owns from now on, even when it
 * fails) in a connection and start reading.  Returns 0 or an IG_PROTO_*
 * code with a message in err, empty when it is logged already. */
int conn_start(struct server *srv, int fd, ig_err *err);

/* Close conn: after flushing its queued output (bounded by a timer) when
 * linger, else at once. */
void conn_close(struct server_conn *conn, bool linger);

/* Count a new connection of uid: 1, 0 when uid is not limited (root,
 * ours), or -1 (not counted) when uid has as many as it may, with the
 * error (IG_PROTO_UNAVAILABLE) to refuse the client with in err. */
int server_uid_add(struct server *srv, uid_t uid, ig_err *err);
void server_uid_remove(struct server *srv, uid_t uid);

/* srv->buffered is over the budget: drop the largest holders. */
void server_shed(struct server *srv);

/* Reading paused for the rest of the turn: resumed at its end (conn_resume). */
void server_pause(struct server *srv, struct server_conn *conn);
void conn_resume(struct server_conn *conn);

/* Close conn when it has been idle for the client timeout at loop time
 * now: nothing received or sent, nothing in progress. */
void conn_sweep(struct server_conn *conn, uint64_t now);
/* Drop conn, the largest holder of buffers while there are too many. */
void conn_over_budget(struct server_conn *conn);

/* A connection's handles are closed: unlink it.  Frees srv when it was
 * the last thing the closing server waited for. */
void server_conn_gone(struct server *srv, struct server_conn *conn);

/* conn.c, for decode.c: a connection's stream */
void conn_flush(struct server_conn *conn);
void conn_feed(struct server_conn *conn, const char *p, size_t len);
void conn_dispatch(struct server_conn *conn, const ig_msg *msg);
void conn_fail_stream(struct server_conn *conn, const ig_err *e);
void conn_read_again(struct server_conn *conn);
/* Free conn once it is closed and unreferenced; it may free the server. */
void conn_maybe_gone(struct server_conn *conn);

/* decode.c: large frames decoded on the threadpool */
/* conn's decoder holds a whole large frame: stop reading until it is
 * decoded and dispatched, in the order connections asked. */
void decode_later(struct server_conn *conn);
/* Start waiting decodes while fewer than MAX_DECODING run. */
void decode_next(struct server *srv);

#endif
