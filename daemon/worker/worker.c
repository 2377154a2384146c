/*
 * worker.c - an exec worker process and its channel (see worker.h).
 *
 * Five handles: the process, its stdin, stdout and stderr pipes, and one
 * timer (the answer deadline while requests are out; the kill deadline
 * once the worker is let go).  The process handle is closed only in its
 * exit callback, so the child is always reaped; the struct is freed when
 * the last handle's close callback has run.
 *
 * The process is started by the local launcher (launch/launch_local.c:
 * through ignited --exec-worker, exec_worker.h, which enters the working
 * directory and sets the limits as the owner); when it cannot, its one
 * stderr line is the reason the worker failed.
 *
 * A remote worker (worker_remote) is the same channel over a TCP
 * connection the listener (listen.c) hands over: two handles, the
 * connection and the timer.  Until one is attached, requests are queued
 * and their frames held, and no deadline runs: the worker may wait in a
 * cluster's queue for hours.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launch/launch.h"
#include "worker/exec_worker.h"
#include "worker/worker.h"

#define QUEUE_MAX 16 /* requests in flight */
#define SB_KEEP (64 * 1024) /* a request buffer larger is freed once sent */
#define LINE_MAX_LEN 1024 /* a longer stderr line is split */
#define TAIL_LINES 2 /* stderr lines quoted in a failure */
#define TAIL_LEN 160
#define GRACE_MS 2000 /* from shutdown to SIGKILL */
#define DRAIN_MAX (64 * 1024) /* stderr read once the worker is gone */
#define NHANDLES 5
#define REMOTE_HANDLES 1 /* the timer; the connection once attached */

struct pending {
	uint32_t msgid;
	const char *method; /* static: a protocol method name */
	uint64_t timeout_ms;
	worker_reply_fn *reply;
	void *arg;
};

struct wreq;

struct worker {
	uv_loop_t *loop;
	uv_process_t proc;
	uv_pipe_t in, out, err;
	uv_timer_t timer;
	/* remote: the connection (NULL until attached), malloc'd by the
	 * listener, freed here once closed; frames held until then */
	bool remote;
	bool leave; /* freed without shutdown: it dials again */
	uv_tcp_t *tcp;
	uv_shutdown_t shut;
	struct wreq *held, **held_tail;
	uv_stream_t *tx, *rx; /* where frames go and answers come from */
	int open; /* handles not yet closed */
	bool exited, failed, detached;
	bool heard; /* it wrote to stdout */

	struct worker_cb cb;
	uint64_t timeout_ms;
	ig_decoder *dec;
	msgpack_sbuffer sb; /* the request being sent */
	uint32_t next_id;
	uint64_t due; /* loop time the head's answer is due by */
	struct pending q[QUEUE_MAX];
	size_t qhead, qlen;

	char line[LINE_MAX_LEN + 1]; /* stderr: the line being read */
	size_t linelen;
	char tail[TAIL_LINES][TAIL_LEN]; /* the last lines, oldest first */
	char rbuf[64 * 1024]; /* stdout reads */
	char ebuf[4096]; /* stderr reads */
};

struct wreq {
	uv_write_t req;
	msgpack_sbuffer sb;
	struct wreq *next; /* held, while a remote worker is not attached */
};

static void on_timer(uv_timer_t *t);

/* ---- closing ------------------------------------------------------------ */

static void
destroy(struct worker *w)
{
	struct wreq *wr;

	while ((wr = w->held) != NULL) {
		w->held = wr->next;
		msgpack_sbuffer_destroy(&wr->sb);
		free(wr);
	}
	ig_decoder_free(w->dec);
	msgpack_sbuffer_destroy(&w->sb);
	free(w);
}

/* Freed once its owner let it go and libuv is done with every handle. */
static void
on_closed(uv_handle_t *h)
{
	struct worker *w = h->data;

	if (h == (uv_handle_t *)w->tcp) {
		w->tcp = NULL;
		w->tx = w->rx = NULL;
		free(h);
	}
	if (--w->open == 0 && w->detached)
		destroy(w);
}

static void
close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, on_closed);
}

/* Everything but the process, which waits for its exit callback. */
static void
close_pipes(struct worker *w)
{
	if (w->remote) {
		if (w->tcp != NULL)
			close_handle((uv_handle_t *)w->tcp);
		close_handle((uv_handle_t *)&w->timer);
		return;
	}
	close_handle((uv_handle_t *)&w->in);
	close_handle((uv_handle_t *)&w->out);
	close_handle((uv_handle_t *)&w->err);
	close_handle((uv_handle_t *)&w->timer);
}

/* ---- stderr -------------------------------------------------------------- */

static void
keep_tail(struct worker *w, const char *line)
{
	size_t n = strlen(line);

	memmove(w->tail[0], w->tail[1], sizeof(w->tail) - sizeof(w->tail[0]));
	if (n < TAIL_LEN)
		memcpy(w->tail[TAIL_LINES - 1], line, n + 1);
	else
		snprintf(w->tail[TAIL_LINES - 1], TAIL_LEN, "...%s",
		    line + n - (TAIL_LEN - 4));
}

static void
emit_line(struct worker *w)
{
	while (w->linelen > 0 && w->line[w->linelen - 1] == '\r')
		w->linelen--;
	w->line[w->linelen] = '\0';
	w->linelen = 0;
	keep_tail(w, w->line);
	if (!w->detached)
		w->cb.log(w->cb.ud, w->line);
}

static void
take_stderr(struct worker *w, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			emit_line(w);
			continue;
		}
		w->line[w->linelen++] = p[i];
		if (w->linelen == LINE_MAX_LEN)
			emit_line(
			    w); /* split, not cut: the rest is the next line */
	}
}

/* The process is gone: what it wrote to stderr is in the pipe.  A child it
 * left behind may hold the pipe and write on, so only what fits in
 * DRAIN_MAX is read; the pipe is closed right after. */
static void
drain_stderr(struct worker *w)
{
	uv_os_fd_t fd;
	ssize_t n;
	size_t total = 0;

	if (uv_fileno((uv_handle_t *)&w->err, &fd) != 0)
		return;
	while (
	    total < DRAIN_MAX && (n = read(fd, w->ebuf, sizeof(w->ebuf))) > 0) {
		take_stderr(w, w->ebuf, (size_t)n);
		total += (size_t)n;
	}
	if (w->linelen > 0)
		emit_line(w);
}

static void
alloc_err(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct worker *w = h->data;

	(void)hint;
	*buf = uv_buf_init(w->ebuf, sizeof(w->ebuf));
}

static void
on_stderr(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct worker *w = s->data;

	if (n > 0)
		take_stderr(w, buf->base, (size_t)n);
	else if (n < 0)
		uv_read_stop(s);
}

/* ---- failing ------------------------------------------------------------ */

static void fail(struct worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct worker *w, const char *fmt, ...)
{
	char reason[IG_ERR_MAX * 3];
	size_t used;
	va_list ap;

	if (w->failed)
		return;
	w->failed = true;
	w->qlen = 0;
	uv_timer_stop(&w->timer);
	if (w->rx != NULL)
		uv_read_stop(w->rx);
	if (w->remote && w->tcp != NULL)
		close_handle((uv_handle_t *)w->tcp); /* drop the connection */
	else if (!w->remote && !w->exited)
		uv_process_kill(&w->proc, SIGKILL);
	if (w->detached)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	for (int i = 0; i < TAIL_LINES; i++) {
		if (w->tail[i][0] == '\0')
			continue;
		used = strlen(reason);
		snprintf(reason + used, sizeof(reason) - used, "%s%s",
		    strstr(reason, "; stderr: ") == NULL ? "; stderr: " : " | ",
		    w->tail[i]);
	}
	w->cb.fail(w->cb.ud, reason);
}

static void
on_exited(uv_process_t *p, int64_t status, int sig)
{
	struct worker *w = p->data;

	w->exited = true;
	drain_stderr(w);
	if (sig == 0 && status == EXEC_WORKER_FAILED && !w->heard &&
	    w->line[0] != '\0') {
		/* the program never started: the trampoline's line, the last
		 * one emitted, says why, and is all the reason needs */
		memset(w->tail, 0, sizeof(w->tail));
		fail(w, "%s", w->line);
	} else if (sig != 0)
		fail(w, "the worker was killed by signal %d (%s)", sig,
		    strsignal(sig));
	else
		fail(w, "the worker exited with status %lld%s",
		    (long long)status,
		    w->qlen > 0 ? " without answering" :
		                  " before the run ended");
	close_pipes(w);
	close_handle((uv_handle_t *)p);
}

/* ---- the request queue -------------------------------------------------- */

static struct pending *
head(struct worker *w)
{
	return w->qlen > 0 ? &w->q[w->qhead] : NULL;
}

/*
 * The deadline is for the oldest answer still out, counted from when it
 * became the oldest.  The timer is not moved for every request: it is
 * left to fire at an earlier deadline, and then set again for the one
 * due, so that an iteration costs no timer update (each would change the
 * timeout of the next epoll_wait).
 */
static void
set_deadline(struct worker *w)
{
	struct pending *p = head(w);
	uint64_t in;

	if (p == NULL)
		return;
	if (w->remote && w->tcp == NULL) {
		uv_timer_stop(&w->timer); /* waiting in a queue: no deadline */
		return;
	}
	w->due = uv_now(w->loop) + p->timeout_ms;
	in = p->timeout_ms;
	if (!uv_is_active((uv_handle_t *)&w->timer) ||
	    uv_timer_get_due_in(&w->timer) > in)
		uv_timer_start(&w->timer, on_timer, in, 0);
}

static void
on_timer(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct pending *p = head(w);
	uint64_t now = uv_now(w->loop);

	if (w->detached) {
		if (w->remote)
			close_pipes(w);
		else
			uv_process_kill(&w->proc, SIGKILL);
		return;
	}
	if (p == NULL)
		return; /* answered: the next request sets it again */
	if (now < w->due)
		uv_timer_start(&w->timer, on_timer, w->due - now, 0);
	else
		fail(w, "the worker timed out: no answer to %s within %llu ms",
		    p->method, (unsigned long long)p->timeout_ms);
}

/* ---- stdout: answers and notifications ---------------------------------- */

static void
handle_msg(struct worker *w, const ig_msg *msg)
{
	struct pending *p = head(w), done;

	if (msg->type == IG_MSG_NOTIFY) {
		const msgpack_object *m = ig_map_get(msg->params, "message");
		char line[LINE_MAX_LEN + 1];
		if (strcmp(msg->method, "log") != 0 || m == NULL ||
		    m->type != MSGPACK_OBJECT_STR) {
			fail(w,
			    "the worker sent notification \"%s\"; only log {message: str} exists",
			    msg->method);
			return;
		}
		snprintf(line, sizeof(line), "%.*s", (int)m->via.str.size,
		    m->via.str.ptr);
		w->cb.log(w->cb.ud, line);
		return;
	}
	if (msg->type == IG_MSG_REQUEST) {
		fail(w,
		    "the worker wrote garbage: a request (%s); workers only answer",
		    msg->method);
		return;
	}
	if (p == NULL || p->msgid != msg->msgid) {
		fail(w,
		    "the worker wrote garbage: an answer to request %u, which is not the one "
		    "out",
		    msg->msgid);
		return;
	}
	done = *p;
	w->qhead = (w->qhead + 1) % QUEUE_MAX;
	w->qlen--;
	set_deadline(w);
	done.reply(done.arg, msg);
}

/* Feed n bytes of stdout; stops at a failure. */
static void
take_stdout(struct worker *w, const char *p, size_t n)
{
	size_t used;
	ig_msg msg;
	int r;

	w->heard = true;
	while (n > 0 && !w->failed && !w->detached) {
		r = ig_decoder_feed(w->dec, p, n, &used, &msg);
		p += used;
		n -= used;
		if (r == IG_DECODE_ERROR)
			fail(w, "the worker wrote garbage: %s",
			    ig_decoder_error(w->dec)->message);
		else if (r == IG_DECODE_MESSAGE)
			handle_msg(w, &msg);
	}
}

static void
alloc_out(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct worker *w = h->data;

	(void)hint;
	*buf = uv_buf_init(w->rbuf, sizeof(w->rbuf));
}

/* EOF is not reported here: the exit callback says how the worker ended;
 * a remote worker's connection ending is its end. */
static void
on_stdout(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct worker *w = s->data;

	/* once let go, the answers (to shutdown) are read and dropped */
	if (n > 0 && !w->detached)
		take_stdout(w, buf->base, (size_t)n);
	else if (n < 0 && w->remote && w->detached)
		close_pipes(w);
	else if (n < 0 && w->remote)
		fail(w, "the worker's connection dropped (%s)%s",
		    n == UV_EOF ? "closed by the worker's side" :
		                  uv_strerror((int)n),
		    w->qlen > 0 ? " without answering" : "");
	else if (n < 0)
		uv_read_stop(s);
}

/* ---- starting ----------------------------------------------------------- */

int
worker_start(uv_loop_t *loop, const struct launcher *l,
    const struct launch_req *req, uint64_t timeout_ms,
    const struct worker_cb *cb, struct worker **out, ig_err *err)
{
	struct worker *w = calloc(1, sizeof(*w));
	int rc;

	*out = NULL;
	if (w == NULL || (w->dec = ig_decoder_new(0)) == NULL) {
		free(w);
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "worker: out of memory");
	}
	w->loop = loop;
	w->cb = *cb;
	w->timeout_ms = timeout_ms;
	w->next_id = 1;
	w->open = NHANDLES;
	uv_pipe_init(loop, &w->in, 0);
	uv_pipe_init(loop, &w->out, 0);
	uv_pipe_init(loop, &w->err, 0);
	uv_timer_init(loop, &w->timer);
	w->proc.data = w->in.data = w->out.data = w->err.data = w->timer.data =
	    w;
	if ((rc = l->spawn(loop, req, &w->proc, on_exited,
	         (uv_pipe_t *const[3]){ &w->in, &w->out, &w->err }, err)) !=
	    0) {
		w->detached = true;
		close_pipes(w);
		/* a launcher that failed before spawning left it zeroed */
		if (uv_handle_get_type((uv_handle_t *)&w->proc) == UV_PROCESS)
			close_handle((uv_handle_t *)&w->proc);
		else
			w->open--;
		return rc;
	}
	w->tx = (uv_stream_t *)&w->in;
	w->rx = (uv_stream_t *)&w->out;
	uv_read_start((uv_stream_t *)&w->out, alloc_out, on_stdout);
	uv_read_start((uv_stream_t *)&w->err, alloc_err, on_stderr);
	*out = w;
	return 0;
}

int
worker_remote(uv_loop_t *loop, uint64_t timeout_ms, const struct worker_cb *cb,
    struct worker **out, ig_err *err)
{
	struct worker *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w == NULL || (w->dec = ig_decoder_new(0)) == NULL) {
		free(w);
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "worker: out of memory");
	}
	w->loop = loop;
	w->cb = *cb;
	w->remote = true;
	w->timeout_ms = timeout_ms;
	w->next_id = 1;
	w->held_tail = &w->held;
	w->open = REMOTE_HANDLES;
	uv_timer_init(loop, &w->timer);
	w->timer.data = w;
	*out = w;
	return 0;
}

void
worker_leave(struct worker *w)
{
	w->leave = true;
}

bool
worker_attached(const struct worker *w)
{
	return !w->remote || w->tcp != NULL;
}

static void on_written(uv_write_t *req, int status);

int
worker_attach(struct worker *w, uv_tcp_t *tcp, const void *first, size_t len,
    const char *rest, size_t nrest)
{
	struct wreq *wr;
	uv_buf_t b;

	if (!w->remote || w->tcp != NULL || w->failed || w->detached)
		return -1;
	w->tcp = tcp;
	w->open++;
	tcp->data = w;
	w->tx = w->rx = (uv_stream_t *)tcp;
	b = uv_buf_init((char *)first, (unsigned)len);
	/* the answer to hello, then what was asked meanwhile: libuv
	 * copies the buffer list, not the bytes, so first is written now */
	if (uv_try_write(w->tx, &b, 1) != (int)len) {
		fail(w,
		    "the worker's connection dropped before its hello was answered");
		return 0;
	}
	while ((wr = w->held) != NULL) {
		w->held = wr->next;
		b = uv_buf_init(wr->sb.data, (unsigned)wr->sb.size);
		wr->req.data = wr;
		if (uv_write(&wr->req, w->tx, &b, 1, on_written) != 0) {
			msgpack_sbuffer_destroy(&wr->sb);
			free(wr);
		}
	}
	w->held_tail = &w->held;
	uv_read_start(w->rx, alloc_out, on_stdout);
	if (nrest > 0)
		take_stdout(w, rest, nrest);
	if (!w->failed)
		set_deadline(w);
	return 0;
}

/* ---- requests ----------------------------------------------------------- */

static void
on_written(uv_write_t *req, int status)
{
	struct wreq *wr = req->data;

	/* a failed write means the worker is gone: its exit says how */
	(void)status;
	msgpack_sbuffer_destroy(&wr->sb);
	free(wr);
}

/* A frame that did not go out whole at once: queued with its own copy of
 * the rest (libuv keeps the buffer, not the bytes). */
static int
queue_frame(struct worker *w, const char *p, size_t n)
{
	struct wreq *wr = calloc(1, sizeof(*wr));
	uv_buf_t b;

	if (wr == NULL)
		return UV_ENOMEM;
	msgpack_sbuffer_init(&wr->sb);
	if (msgpack_sbuffer_write(&wr->sb, p, n) != 0) {
		free(wr);
		return UV_ENOMEM;
	}
	if (w->tx == NULL) {
		/* a remote worker not yet attached: sent when it is */
		*w->held_tail = wr;
		w->held_tail = &wr->next;
		return 0;
	}
	b = uv_buf_init(wr->sb.data, (unsigned)wr->sb.size);
	wr->req.data = wr;
	return uv_write(&wr->req, w->tx, &b, 1, on_written);
}

/*
 * A request's frame, packed into the worker's own buffer and written at
 * once when nothing is queued before it (uv_try_write refuses then, so
 * the order holds): an iteration's request costs one write(2), no
 * allocation and no write callback, whose pending turn of the loop would
 * cost another epoll_wait.
 */
static int
send_frame(struct worker *w, const char *method, uint32_t msgid,
    worker_pack_fn *pack, void *arg, ig_err *err)
{
	ig_frame f;
	size_t done = 0;
	int rc;

	w->sb.size = 0;
	ig_frame_request(&f, &w->sb, msgid, method);
	pack(&f.pk, arg);
	if ((rc = ig_frame_end(&f, err)) == 0 && w->tx != NULL) {
		uv_buf_t b = uv_buf_init(w->sb.data, (unsigned)w->sb.size);
		int n = uv_try_write(w->tx, &b, 1);
		done = n > 0 ? (size_t)n : 0;
	}
	if (rc == 0 && done < w->sb.size &&
	    (rc = queue_frame(w, w->sb.data + done, w->sb.size - done)) != 0)
		rc = ig_err_set(err, IG_PROTO_INTERNAL,
		    "worker: cannot write %s: %s", method, uv_strerror(rc));
	/* a setup's state need not be held for the worker's life */
	if (w->sb.alloc > SB_KEEP) {
		msgpack_sbuffer_destroy(&w->sb);
		msgpack_sbuffer_init(&w->sb);
	}
	return rc;
}

int
worker_request(struct worker *w, const char *method, uint64_t timeout_ms,
    worker_pack_fn *pack, void *arg, worker_reply_fn *reply, void *rarg,
    ig_err *err)
{
	uint32_t msgid = w->next_id++;
	int rc;

	if (w->failed)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "worker: it has failed");
	if (w->qlen == QUEUE_MAX)
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "worker: %d requests already out", QUEUE_MAX);
	if ((rc = send_frame(w, method, msgid, pack, arg, err)) != 0)
		return rc;
	w->q[(w->qhead + w->qlen++) % QUEUE_MAX] = (struct pending){
		msgid,
		method,
		timeout_ms > 0 ? timeout_ms : w->timeout_ms,
		reply,
		rarg,
	};
	if (w->qlen == 1)
		set_deadline(w);
	return 0;
}

void
worker_fail(struct worker *w, const char *reason)
{
	fail(w, "%s", reason);
}

bool
worker_failed(const struct worker *w)
{
	return w->failed;
}

static void
pack_empty(msgpack_packer *pk, void *arg)
{
	(void)arg;
	msgpack_pack_map(pk, 0);
}

static void
on_shut(uv_shutdown_t *req, int status)
{
	struct worker *w = req->data;

	/* the worker closes its side after shutdown: its EOF closes ours,
	 * or the grace timer does */
	(void)status;
	(void)w;
}

/* A remote worker let go: told to shut down if well, its connection
 * closed once it closed its side or after the grace period. */
static void
free_remote(struct worker *w)
{
	ig_err err;

	if (w->tcp == NULL || w->failed || w->leave) {
		close_pipes(w);
		return;
	}
	send_frame(w, "shutdown", w->next_id++, pack_empty, NULL, &err);
	w->shut.data = w;
	if (uv_shutdown(&w->shut, w->tx, on_shut) != 0) {
		close_pipes(w);
		return;
	}
	uv_timer_start(&w->timer, on_timer, GRACE_MS, 0);
}

void
worker_free(struct worker *w)
{
	ig_err err;

	if (w == NULL)
		return;
	w->detached = true;
	w->qlen = 0;
	if (w->open == 0) {
		destroy(w);
		return;
	}
	if (w->remote) {
		free_remote(w);
		return;
	}
	if (w->exited)
		return;
	/* A worker that failed is already killed; one that is well gets its
	 * shutdown and a grace period to exit by itself. */
	if (!w->failed)
		send_frame(w, "shutdown", w->next_id++, pack_empty, NULL, &err);
	close_handle((uv_handle_t *)&w->in);
	uv_timer_start(&w->timer, on_timer, GRACE_MS, 0);
	/* a full stdout pipe must not keep the worker from exiting */
	uv_read_start((uv_stream_t *)&w->out, alloc_out, on_stdout);
}
