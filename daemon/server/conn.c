/*
 * conn.c - one client connection: bytes in through the streaming frame
 * decoder, requests out to their methods, answers back through a bounded
 * output queue.
 *
 * Replies made while a read is being dispatched are batched into one
 * write at its end; others are written at once.  A client that stops
 * reading while its unsent output passes srv->max_queue is dropped, and
 * so is one that stalls in the middle of a frame, or sends it too slowly:
 * none may pin the daemon's memory.  What all connections buffer counts
 * against one budget (srv->max_buffered; server_shed drops the largest).
 *
 * Fairness: a connection reads at most CONN_SLICE bytes in a loop turn,
 * then waits for the next, so one sending without pause does not hold the
 * others; a frame of CONN_DEFER bytes or more is decoded on the
 * threadpool (a 16 MiB one can take half a second), its connection not
 * reading meanwhile.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "server/server_int.h"

#define LINGER_MS 2000 /* to flush a last error before closing */
/* Answers to the requests of one read are written together, up to this
 * much at a time; a buffer this small is kept for the next answers. */
#define OUT_CHUNK (64u * 1024)
#define MAX_UNANSWERED 64u /* requests of one connection in progress */
#define CONN_SLICE (128u * 1024) /* bytes read per turn */
#define CONN_DEFER (64u * 1024) /* frames decoded off the loop */
/* A partial frame older than the idle timeout must have averaged this */
#define MIN_FRAME_RATE (1024u * 1024) /* bytes per second */

struct write_req {
	uv_write_t req;
	char *data; /* owned: released from conn->out, or an answer's */
};

/* ---- references and closing -------------------------------------------- */

void
server_conn_ref(struct server_conn *conn)
{
	conn->refs++;
}

void
server_conn_unref(struct server_conn *conn)
{
	if (--conn->refs > 0)
		return;
	ig_decoder_free(conn->dec);
	msgpack_sbuffer_destroy(&conn->out);
	free(conn);
}

/*
 * Unlink conn once its handles are closed and no decode uses it.  Its
 * buffers go now, not with the last reference: a watch of a paused run
 * may keep that one for long.
 */
void
conn_maybe_gone(struct server_conn *conn)
{
	if (conn->open_handles > 0 || conn->decoding || conn->srv == NULL)
		return;
	log_debug("client uid %lu pid %ld: closed", (unsigned long)conn->uid,
	    (long)conn->pid);
	ig_decoder_free(conn->dec);
	conn->dec = NULL;
	msgpack_sbuffer_destroy(&conn->out);
	msgpack_sbuffer_init(&conn->out);
	if (conn->counted)
		server_uid_remove(conn->srv, conn->uid);
	server_conn_gone(conn->srv, conn);
	server_conn_unref(conn);
}

static void
on_conn_handle_closed(uv_handle_t *h)
{
	struct server_conn *conn = h->data;

	conn->open_handles--;
	conn_maybe_gone(conn);
}

/*
 * Bring conn's share of srv->buffered up to date (nothing once closing);
 * when it grew past the budget, the largest holders are dropped.  No
 * syscall: this runs for every answer.
 */
static void
charge(struct server_conn *conn)
{
	struct server *srv = conn->srv;
	size_t now = 0, was = conn->charged;

	if (srv == NULL)
		return;
	/* the threadpool may be changing the decoder's */
	if (!conn->closing)
		now = (conn->decoding ? conn->decode_held :
		                        ig_decoder_buffered(conn->dec)) +
		    conn->out.alloc + conn->pipe.write_queue_size;
	srv->buffered = srv->buffered - was + now;
	conn->charged = now;
	if (now > was && srv->buffered > srv->max_buffered)
		server_shed(srv);
}

static void
close_handles(struct server_conn *conn)
{
	if (uv_is_closing((uv_handle_t *)&conn->pipe))
		return;
	uv_close((uv_handle_t *)&conn->pipe, on_conn_handle_closed);
	uv_close((uv_handle_t *)&conn->timer, on_conn_handle_closed);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	close_handles(req->data);
}

static void on_timer(uv_timer_t *timer);

static void
on_written(uv_write_t *req, int status)
{
	struct write_req *w = req->data;
	struct server_conn *conn = req->handle->data;

	free(w->data);
	free(w);
	if (status < 0 && status != UV_ECANCELED && !conn->closing) {
		log_debug("client uid %lu pid %ld: write: %s",
		    (unsigned long)conn->uid, (long)conn->pid,
		    uv_strerror(status));
		conn_close(conn, false);
	} else if (!conn->closing) {
		charge(conn);
	}
}

static void
write_failed(struct server_conn *conn, int rc)
{
	log_debug("client uid %lu pid %ld: write: %s", (unsigned long)conn->uid,
	    (long)conn->pid, uv_strerror(rc));
	conn_close(conn, false);
}

/* Queue data[done, len) (data taken) behind what the socket did not take
 * at once. */
static void
queue_write(struct server_conn *conn, char *data, size_t done, size_t len)
{
	struct write_req *w;
	uv_buf_t buf;
	int rc;

	if ((w = malloc(sizeof *w)) == NULL) {
		free(data);
		log_error("client uid %lu: out of memory for a reply: closing",
		    (unsigned long)conn->uid);
		conn_close(conn, false);
		return;
	}
	w->data = data;
	w->req.data = w;
	buf = uv_buf_init(data + done, (unsigned)(len - done));
	rc = uv_write(&w->req, (uv_stream_t *)&conn->pipe, &buf, 1, on_written);
	if (rc < 0) {
		free(w->data);
		free(w);
		write_failed(conn, rc);
	}
}

/*
 * Write conn->out.  Most answers fit in the socket at once: uv_try_write
 * sends them with one syscall and leaves the poll watcher alone (a
 * uv_write that completes at once still costs an epoll_ctl to stop
 * watching for POLLOUT, more than the write itself).  What the socket
 * does not take goes to uv_write, which queues it (counted in the pipe's
 * write_queue_size); uv_try_write refuses while anything is queued, so
 * the order holds.
 */
void
conn_flush(struct server_conn *conn)
{
	uv_buf_t buf;
	size_t len = conn->out.size, done = 0;
	int rc;

	if (len == 0 || uv_is_closing((uv_handle_t *)&conn->pipe))
		return;
	/* len fits: the queue limit and the frame limit are both <= 1 GiB. */
	buf = uv_buf_init(conn->out.data, (unsigned)len);
	rc = uv_try_write((uv_stream_t *)&conn->pipe, &buf, 1);
	if (rc > 0)
		done = (size_t)rc;
	else if (rc != UV_EAGAIN)
		goto failed;
	if (done == len) {
		conn->out.size = 0;
		if (conn->out.alloc > OUT_CHUNK) { /* one big answer */
			msgpack_sbuffer_destroy(&conn->out);
			msgpack_sbuffer_init(&conn->out);
		}
		return;
	}
	queue_write(conn, msgpack_sbuffer_release(&conn->out), done, len);
	return;
failed:
	write_failed(conn, rc);
}

void
conn_close(struct server_conn *conn, bool linger)
{
	if (conn->closing)
		return;
	conn->closing = true;
	charge(conn);
	uv_read_stop((uv_stream_t *)&conn->pipe);
	if (linger) {
		conn_flush(conn);
		if (conn->pipe.write_queue_size > 0 &&
		    uv_shutdown(&conn->shutdown, (uv_stream_t *)&conn->pipe,
		        on_shutdown) == 0) {
			/* A client that never reads must not hold us. */
			uv_timer_start(&conn->timer, on_timer, LINGER_MS, 0);
			return;
		}
	}
	close_handles(conn);
}

/* ---- output ------------------------------------------------------------- */

/* Output was appended to conn->out: enforce the queue limit, then write
 * now, or when the read being dispatched ends or OUT_CHUNK has piled up. */
static int
queued(struct server_conn *conn)
{
	size_t pending = conn->out.size + conn->pipe.write_queue_size;

	conn->active = uv_now(conn->pipe.loop);
	if (pending > conn->srv->max_queue) {
		log_warn("client uid %lu pid %ld: %zu bytes unread, over the "
		         "limit of %zu: dropping it",
		    (unsigned long)conn->uid, (long)conn->pid, pending,
		    conn->srv->max_queue);
		conn_close(conn, false);
		return IG_PROTO_UNAVAILABLE;
	}
	if (!conn->dispatching || conn->out.size >= OUT_CHUNK)
		conn_flush(conn);
	charge(conn);
	return conn->closing ? IG_PROTO_UNAVAILABLE : 0;
}

void
server_reserve(struct server_conn *conn, size_t len)
{
	msgpack_sbuffer *sb = &conn->out;
	size_t want = sb->size + len, cap = sb->alloc * 2;
	char *p;

	/* at least double, as the buffer would itself: answers that pile up
	 * unsent (a client not reading) must not be copied once each */
	if (conn->closing || sb->alloc >= want)
		return;
	if (cap < want)
		cap = want;
	if ((p = realloc(sb->data, cap)) == NULL)
		return;
	ig_mem_advise_huge(p, cap);
	sb->data = p;
	sb->alloc = cap;
}

/* Pack the rest of frame f with pack (NULL: pack nothing here) and end it. */
static int
end_frame(struct server_conn *conn, ig_frame *f, server_pack_fn *pack,
    void *arg, ig_err *e)
{
	f->limit = conn->srv->max_frame;
	if (pack != NULL)
		pack(&f->pk, arg);
	return ig_frame_end(f, e);
}

static int
append_error(struct server_conn *conn, uint32_t msgid, const ig_err *e)
{
	int rc = ig_pack_error(&conn->out, msgid, e);

	if (rc != 0) {
		/* The client would wait for this answer forever. */
		log_error("client uid %lu: cannot pack an error reply: closing",
		    (unsigned long)conn->uid);
		conn_close(conn, false);
		return rc;
	}
	return queued(conn);
}

static void
answered(struct server_conn *conn)
{
	if (conn->unanswered > 0)
		conn->unanswered--;
}

int
server_reply(
    struct server_conn *conn, uint32_t msgid, server_pack_fn *pack, void *arg)
{
	ig_frame f;
	ig_err e;
	int rc;

	answered(conn);
	if (conn->closing)
		return 0;
	ig_frame_response(&f, &conn->out, msgid);
	if (pack == NULL)
		msgpack_pack_nil(&f.pk);
	if ((rc = end_frame(conn, &f, pack, arg, &e)) != 0) {
		log_warn("client uid %lu: reply to %lu: %s",
		    (unsigned long)conn->uid, (unsigned long)msgid, e.message);
		append_error(conn, msgid, &e);
		return rc;
	}
	return queued(conn);
}

int
server_reply_buffer(struct server_conn *conn, uint32_t msgid, char *buf,
    size_t head, size_t len)
{
	/* [0, 2, msgid, nil] as msgpack: the msgid as a uint32 always */
	size_t body = 8 + len;
	unsigned char *p = (unsigned char *)buf + head - 12;
	uv_buf_t b;
	int rc;

	if (conn->closing) { /* its server may be gone */
		answered(conn);
		free(buf);
		return 0;
	}
	if (head < 12 || body > conn->srv->max_frame) {
		free(buf);
		return server_error(conn, msgid, IG_PROTO_TOO_LARGE,
		    "reply too large: it would exceed the frame limit of %zu "
		    "bytes",
		    conn->srv->max_frame);
	}
	answered(conn);
	p[0] = (unsigned char)(body >> 24);
	p[1] = (unsigned char)(body >> 16);
	p[2] = (unsigned char)(body >> 8);
	p[3] = (unsigned char)body;
	p[4] = 0x94; /* an array of 4 */
	p[5] = IG_MSG_RESPONSE;
	p[6] = 0xce; /* a uint32 */
	p[7] = (unsigned char)(msgid >> 24);
	p[8] = (unsigned char)(msgid >> 16);
	p[9] = (unsigned char)(msgid >> 8);
	p[10] = (unsigned char)msgid;
	p[11] = 0xc0; /* no error */
	conn_flush(conn); /* what came before goes first */
	if (conn->closing) {
		free(buf);
		return IG_PROTO_UNAVAILABLE;
	}
	b = uv_buf_init((char *)p, (unsigned)(12 + len));
	rc = uv_try_write((uv_stream_t *)&conn->pipe, &b, 1);
	if (rc < 0 && rc != UV_EAGAIN) {
		free(buf);
		write_failed(conn, rc);
		return IG_PROTO_UNAVAILABLE;
	}
	if (rc >= 0 && (size_t)rc == 12 + len)
		free(buf);
	else
		queue_write(conn, buf,
		    (size_t)((char *)p - buf) + (rc > 0 ? (size_t)rc : 0),
		    head + len);
	return queued(conn);
}

int
server_error(
    struct server_conn *conn, uint32_t msgid, int code, const char *fmt, ...)
{
	char msg[IG_ERR_MAX * 2];
	ig_err e;
	va_list ap;

	answered(conn);
	if (conn->closing)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* ig_err_set marks a message that does not fit with "...". */
	ig_err_set(&e, code, "%s", msg);
	return append_error(conn, msgid, &e);
}

int
server_notify(struct server_conn *conn, const char *method,
    server_pack_fn *pack, void *arg)
{
	ig_frame f;
	ig_err e;
	int rc;

	if (conn->closing)
		return 0;
	ig_frame_notify(&f, &conn->out, method);
	if (pack == NULL)
		msgpack_pack_map(&f.pk, 0);
	if ((rc = end_frame(conn, &f, pack, arg, &e)) != 0) {
		log_warn("client uid %lu: notification %s: %s",
		    (unsigned long)conn->uid, method, e.message);
		return rc;
	}
	return queued(conn);
}

/* The stream cannot be used any more: say why, then close. */
void
conn_fail_stream(struct server_conn *conn, const ig_err *e)
{
	log_info("client uid %lu pid %ld: %s (%s): closing",
	    (unsigned long)conn->uid, (long)conn->pid, e->message,
	    ig_proto_code_name(e->code));
	if (ig_pack_error_notify(&conn->out, e) != 0)
		log_warn("client uid %lu: cannot pack the error notification",
		    (unsigned long)conn->uid);
	conn_close(conn, true);
}

void
conn_over_budget(struct server_conn *conn)
{
	bool unread = conn->out.size + conn->pipe.write_queue_size > 0;
	ig_err e;

	/* A client that reads gets the reason; one that does not would
	 * only hold its buffers longer while we linger. */
	ig_err_set(&e, IG_PROTO_UNAVAILABLE,
	    "this connection buffers %zu "
	    "bytes, the most while the daemon's connection buffers are over "
	    "their budget: closing it; send smaller frames, read answers "
	    "sooner",
	    conn->charged);
	if (!unread && ig_pack_error_notify(&conn->out, &e) != 0)
		unread = true;
	conn_close(conn, !unread);
}

void
conn_sweep(struct server_conn *conn, uint64_t now)
{
	uint64_t limit = conn->srv->client_timeout_ms;
	ig_err e;

	/* watches and answers to come hold a reference; a partial frame
	 * has its own timer */
	if (conn->closing || conn->refs > 1 || conn->unanswered > 0 ||
	    conn->watching || conn->in_frame || conn->decoding ||
	    now - conn->active < limit)
		return;
	ig_err_set(&e, IG_PROTO_UNAVAILABLE,
	    "idle for %llu ms, with no "
	    "request in progress and nothing watched: closing; connect again "
	    "when needed",
	    (unsigned long long)limit);
	conn_fail_stream(conn, &e);
}

/* In the middle of a frame: no bytes for the idle timeout, or the frame
 * came too slowly.  Or done lingering. */
static void
on_timer(uv_timer_t *timer)
{
	struct server_conn *conn = timer->data;
	uint64_t now = uv_now(timer->loop), idle = conn->srv->idle_timeout_ms;
	uint64_t took = now - conn->frame_start;
	ig_err e;

	if (conn->closing) {
		close_handles(conn);
		return;
	}
	if (now - conn->active >= idle)
		ig_err_set(&e, IG_PROTO_FRAME_TRUNCATED,
		    "no bytes for %llu ms "
		    "in the middle of a frame",
		    (unsigned long long)idle);
	else
		ig_err_set(&e, IG_PROTO_FRAME_TRUNCATED,
		    "a frame arriving at "
		    "%llu bytes/s: after %llu ms one must average %u",
		    (unsigned long long)(conn->frame_bytes * 1000 /
		        (took > 0 ? took : 1)),
		    (unsigned long long)idle, MIN_FRAME_RATE);
	conn_fail_stream(conn, &e);
}

/* conn holds part of a frame: drop it when no bytes come for the idle
 * timeout, or when the frame, older than that, falls below
 * MIN_FRAME_RATE (a trickle must not hold its buffer for ever). */
static void
arm_frame_timer(struct server_conn *conn)
{
	uint64_t now = uv_now(conn->pipe.loop),
	         idle = conn->srv->idle_timeout_ms;
	uint64_t due = conn->frame_start + idle +
	    (uint64_t)conn->frame_bytes * 1000 / MIN_FRAME_RATE;

	if (due > now + idle)
		due = now + idle;
	uv_timer_start(&conn->timer, on_timer, due > now ? due - now : 0, 0);
}

/* ---- input -------------------------------------------------------------- */

void
conn_dispatch(struct server_conn *conn, const ig_msg *msg)
{
	struct method *m;

	if (msg->type == IG_MSG_NOTIFY) {
		/* No notification has a meaning to us yet: ignore, as
		 * msgpack-RPC allows. */
		log_debug("client uid %lu: ignoring a notification",
		    (unsigned long)conn->uid);
		return;
	}
	/* Answers that come later (a history read, a run's record) must not
	 * let a client that sends without reading queue work without end. */
	if (++conn->unanswered > MAX_UNANSWERED) {
		server_error(conn, msg->msgid, IG_PROTO_UNAVAILABLE,
		    "%u requests of this connection wait for their answers: "
		    "read them before sending more",
		    MAX_UNANSWERED);
		return;
	}
	if (msg->type == IG_MSG_RESPONSE) {
		server_error(conn, msg->msgid, IG_PROTO_BAD_REQUEST,
		    "a response (msgid %lu) where a request was due: the daemon "
		    "asks clients nothing",
		    (unsigned long)msg->msgid);
		return;
	}
	m = server_find_method(conn->srv, msg->method);
	if (conn->version == 0 &&
	    (m == NULL || !(m->flags & SERVER_BEFORE_HELLO))) {
		server_error(conn, msg->msgid, IG_PROTO_VERSION_MISMATCH,
		    "call hello first to agree on a protocol version");
		return;
	}
	if (m == NULL) {
		server_error(conn, msg->msgid, IG_PROTO_UNKNOWN_METHOD,
		    "no method named \"%s\"", msg->method);
		return;
	}
	conn->srv->requests++;
	m->served++;
	m->fn(conn, msg->msgid, msg->params, conn->uid, m->ud);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct server_conn *conn = h->data;

	(void)suggested;
	/* One buffer per connection is enough: every message is handled
	 * before the read callback returns (or reading stops until it is),
	 * and the decoder copies a partial frame's bytes. */
	*buf = uv_buf_init(conn->rbuf, sizeof conn->rbuf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

/* Read again, unless something else holds the reading. */
void
conn_read_again(struct server_conn *conn)
{
	if (!conn->closing && !conn->decoding && !conn->paused &&
	    uv_read_start((uv_stream_t *)&conn->pipe, on_alloc, on_read) < 0)
		conn_close(conn, false);
}

void
conn_resume(struct server_conn *conn)
{
	conn->paused = false;
	conn_read_again(conn);
}

/* Take len bytes at p: messages out to their methods, until the bytes
 * run out, the stream fails or a large frame goes to the threadpool
 * (then conn->rest keeps what follows it). */
void
conn_feed(struct server_conn *conn, const char *p, size_t len)
{
	size_t used;
	int r;
	ig_msg msg;

	conn->dispatching = true;
	while (len > 0 && !conn->closing) {
		r = ig_decoder_feed(conn->dec, p, len, &used, &msg);
		p += used;
		len -= used;
		conn->frame_bytes += used;
		if (r == IG_DECODE_MORE)
			continue;
		conn->frame_bytes = 0;
		conn->in_frame = false;
		if (r == IG_DECODE_ERROR) {
			conn_fail_stream(conn, ig_decoder_error(conn->dec));
		} else if (r == IG_DECODE_MESSAGE) {
			conn_dispatch(conn, &msg);
		} else {
			conn->rest = p;
			conn->nrest = len;
			decode_later(conn);
			break;
		}
	}
	conn->dispatching = false;
	if (conn->closing)
		return;
	conn_flush(conn);
	charge(conn);
	if (conn->closing)
		return;
	if (conn->frame_bytes == 0 || conn->decoding) {
		uv_timer_stop(&conn->timer);
		return;
	}
	if (!conn->in_frame) {
		conn->in_frame = true;
		conn->frame_start = uv_now(conn->pipe.loop);
	}
	arm_frame_timer(conn);
}

static void
on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct server_conn *conn = stream->data;
	struct server *srv = conn->srv;

	if (nread < 0) {
		/* PROTOCOL.md: a stream that ends inside a frame is
		 * FRAME_TRUNCATED; a half-closed client still reads it */
		if (nread == UV_EOF && ig_decoder_eof(conn->dec) != 0) {
			conn_fail_stream(conn, ig_decoder_error(conn->dec));
			return;
		}
		if (nread != UV_EOF)
			log_debug("client uid %lu: read: %s",
			    (unsigned long)conn->uid, uv_strerror((int)nread));
		/* A client may half-close after its requests: answer them. */
		conn_close(conn, nread == UV_EOF);
		return;
	}
	if (nread == 0)
		return;
	conn->active = uv_now(stream->loop);
	conn_feed(conn, buf->base, (size_t)nread);
	if (conn->turn != srv->turn) {
		conn->turn = srv->turn;
		conn->slice = 0;
	}
	conn->slice += (size_t)nread;
	if (conn->slice >= CONN_SLICE && !conn->closing && !conn->decoding) {
		uv_read_stop(stream);
		server_pause(srv, conn);
	}
}

/* ---- set-up ------------------------------------------------------------- */

/* Refuse the client on fd, saying why, and close fd. */
static void
refuse(int fd, const ig_err *why)
{
	msgpack_sbuffer sb;
	ssize_t n;

	msgpack_sbuffer_init(&sb);
	/* a new socket takes these few bytes at once; if not, never mind */
	if (ig_pack_error_notify(&sb, why) == 0) {
		n = write(fd, sb.data, sb.size);
		(void)n;
	}
	msgpack_sbuffer_destroy(&sb);
	close(fd);
}

int
conn_start(struct server *srv, int fd, ig_err *err)
{
	struct server_conn *conn;
	struct ucred cred;
	socklen_t credlen = sizeof cred;
	int rc;

	/* Before any handle exists, so failing here needs no async close. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0) {
		ig_err_set(
		    err, IG_PROTO_INTERNAL, "SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return IG_PROTO_INTERNAL;
	}
	if ((rc = server_uid_add(srv, cred.uid, err)) < 0) {
		refuse(fd, err);
		err->message[0] = '\0'; /* logged */
		return IG_PROTO_UNAVAILABLE;
	}
	if ((conn = calloc(1, sizeof *conn)) == NULL ||
	    (conn->dec = ig_decoder_new(srv->max_frame)) == NULL) {
		free(conn);
		if (rc == 1)
			server_uid_remove(srv, cred.uid);
		close(fd);
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	}
	conn->counted = rc == 1;
	ig_decoder_defer(conn->dec, CONN_DEFER);
	conn->active = uv_now(srv->loop);
	conn->turn = srv->turn;
	conn->uid = cred.uid;
	conn->pid = cred.pid;
	msgpack_sbuffer_init(&conn->out);
	uv_pipe_init(srv->loop, &conn->pipe, 0);
	uv_timer_init(srv->loop, &conn->timer);
	conn->pipe.data = conn->timer.data = conn->shutdown.data = conn;
	conn->open_handles = 2;
	conn->refs = 1;
	conn->srv = srv;
	conn->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = conn;
	srv->conns = conn;
	if ((rc = uv_pipe_open(&conn->pipe, fd)) < 0)
		close(fd); /* the pipe took no ownership */
	if (rc < 0 ||
	    (rc = uv_read_start(
	         (uv_stream_t *)&conn->pipe, on_alloc, on_read)) < 0) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "cannot watch the socket: %s", uv_strerror(rc));
		conn->closing = true;
		close_handles(conn);
		return IG_PROTO_INTERNAL;
	}
	log_debug("client uid %lu pid %ld: connected", (unsigned long)conn->uid,
	    (long)conn->pid);
	return 0;
}

/* ---- accessors ---------------------------------------------------------- */

uid_t
server_conn_uid(const struct server_conn *conn)
{
	return conn->uid;
}

struct server *
server_conn_server(const struct server_conn *conn)
{
	return conn->srv;
}

int
server_conn_version(const struct server_conn *conn)
{
	return conn->version;
}

void
server_conn_set_version(struct server_conn *conn, int version)
{
	conn->version = version;
}

int
server_conn_closed(const struct server_conn *conn)
{
	return conn->closing;
}

void
server_conn_watching(struct server_conn *conn, bool on)
{
	conn->watching = on;
}
