/*
 * server.c - the control socket's listener and the method table.
 *
 * The listening socket is ours, not libuv's: we bind it ourselves (libuv
 * 1.44 truncates long paths silently and has no way to bind under a umask
 * of our choosing) and watch it with a uv_poll, so that when accept runs out
 * of descriptors we can stop watching for a while, as tmux does, instead
 * of spinning or dropping clients.
 *
 * Under socket activation the socket is systemd's: server_adopt() takes the
 * listening descriptor as it is, and the path stays the .socket unit's (we
 * neither probe, bind, chown nor unlink it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "server/server_int.h"

#define DEFAULT_MAX_QUEUE ((size_t)64 << 20)
#define DEFAULT_IDLE_MS 30000
#define DEFAULT_CLIENT_MS 120000
#define DEFAULT_CONNS_PER_UID 64
#define DEFAULT_MAX_BUFFERED ((size_t)256 << 20)
#define ACCEPT_RETRY_MS 500 /* after EMFILE: let some close first */
#define ACCEPT_BURST 64 /* per wake-up, so reads are not starved */

/* ---- binding ------------------------------------------------------------ */

static int
fill_addr(struct sockaddr_un *sun, const char *path, ig_err *err)
{
	size_t len = strlen(path);

	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (len >= sizeof sun->sun_path) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "socket path %s is %zu bytes, more than "
		    "the %zu a Unix socket address holds: choose a shorter "
		    "--socket",
		    path, len, sizeof sun->sun_path - 1);
	}
	memcpy(sun->sun_path, path, len + 1);
	return 0;
}

/*
 * Is a daemon serving the socket at path?  Connect to find out: a refused
 * connection means the file is left over from one that died, and is
 * removed.  Returns 0 when the path is free to bind.
 */
static int
claim_path(const struct sockaddr_un *sun, ig_err *err)
{
	const char *path = sun->sun_path;
	struct stat st;
	int fd, rc, saved;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return ig_err_set(err, IG_PROTO_INTERNAL, "cannot use %s: %s",
		    path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode)) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "%s exists and is not a socket: remove "
		    "it or choose another --socket",
		    path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "socket: %s", strerror(errno));
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	saved = errno;
	close(fd);
	if (rc == 0 || saved == EAGAIN) { /* EAGAIN: alive, backlog full */
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "another ignited is already serving %s", path);
	}
	if (saved != ECONNREFUSED) {
		return ig_err_set(err, IG_PROTO_INTERNAL, "cannot probe %s: %s",
		    path, strerror(saved));
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "cannot remove stale socket %s: %s", path, strerror(errno));
	}
	log_info("removed stale socket %s", path);
	return 0;
}

/*
 * Bind under umask 0177 so the socket is 0600 from its first moment
 * (fchmod does not apply to sockets, and uv_pipe_chmod would open it to
 * everyone); a group gets its access only after the chown.
 */
static int
bind_socket(struct server *srv, const struct sockaddr_un *sun, ig_err *err)
{
	mode_t old;
	struct stat st;
	int rc, saved;

	srv->fd =
	    socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv->fd < 0) {
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "socket: %s", strerror(errno));
	}
	old = umask(0177);
	rc = bind(srv->fd, (const struct sockaddr *)sun, sizeof *sun);
	saved = errno;
	umask(old);
	if (rc < 0) {
		if (saved == EADDRINUSE) /* lost a race with another */
			ig_err_set(err, IG_PROTO_INTERNAL,
			    "another ignited is already "
			    "serving %s",
			    sun->sun_path);
		else
			ig_err_set(err, IG_PROTO_INTERNAL, "cannot bind %s: %s",
			    sun->sun_path, strerror(saved));
		goto fail;
	}
	if (srv->group != (gid_t)-1 &&
	    (chown(sun->sun_path, (uid_t)-1, srv->group) < 0 ||
	        chmod(sun->sun_path, 0660) < 0)) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "cannot give group %lu access to %s: %s",
		    (unsigned long)srv->group, sun->sun_path, strerror(errno));
		goto unlink;
	}
	if (lstat(sun->sun_path, &st) < 0 || listen(srv->fd, SOMAXCONN) < 0) {
		ig_err_set(err, IG_PROTO_INTERNAL, "cannot listen on %s: %s",
		    sun->sun_path, strerror(errno));
		goto unlink;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	return 0;
unlink:
	unlink(sun->sun_path);
fail:
	close(srv->fd);
	srv->fd = -1;
	return err->code;
}

/* ---- accepting ---------------------------------------------------------- */

static void on_acceptable(uv_poll_t *poll, int status, int events);

static void
on_retry(uv_timer_t *timer)
{
	struct server *srv = timer->data;

	srv->paused = false;
	log_info("accepting connections again");
	uv_poll_start(&srv->poll, UV_READABLE, on_acceptable);
}

/* Out of descriptors: the pending connections wait in the backlog until
 * some close, rather than being accepted and dropped. */
static void
pause_accepting(struct server *srv, int error)
{
	if (!srv->paused)
		log_warn("accept: %s; pausing new connections for %d ms",
		    strerror(error), ACCEPT_RETRY_MS);
	srv->paused = true;
	uv_poll_stop(&srv->poll);
	uv_timer_start(&srv->retry, on_retry, ACCEPT_RETRY_MS, 0);
}

static void
on_acceptable(uv_poll_t *poll, int status, int events)
{
	struct server *srv = poll->data;
	ig_err err;
	int fd;

	(void)events;
	if (status < 0) {
		log_error("listening socket: %s", uv_strerror(status));
		return;
	}
	for (int i = 0; i < ACCEPT_BURST && srv->fd >= 0; i++) {
		fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				pause_accepting(srv, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_error("accept: %s", strerror(errno));
			return;
		}
		if (conn_start(srv, fd, &err) != 0 && err.message[0] != '\0')
			log_warn("dropping a new connection: %s", err.message);
	}
}

/* ---- limits ------------------------------------------------------------- */

int
server_uid_add(struct server *srv, uid_t uid, ig_err *err)
{
	struct uid_conns *u;
	size_t i, cap;

	/* root may stop the daemon anyway, and so may its own uid */
	if (uid == 0 || uid == srv->self)
		return 0;
	/* a short array: one entry per uid with a connection open */
	for (i = 0; i < srv->nuids && srv->uids[i].uid != uid; i++)
		;
	if (i < srv->nuids) {
		if (srv->uids[i].n >= srv->max_conns_per_uid) {
			ig_err_set(err, IG_PROTO_UNAVAILABLE,
			    "uid %lu has %u connections open, "
			    "the most one user may (ignited --max-conns-per-uid):"
			    " close one first",
			    (unsigned long)uid, srv->uids[i].n);
			/* once while at the limit: a client retrying in a
			 * loop must not flood the log */
			if (!srv->uids[i].warned)
				log_warn(
				    "refusing connections: %s", err->message);
			srv->uids[i].warned = true;
			return -1;
		}
		srv->uids[i].n++;
		return 1;
	}
	if (srv->nuids == srv->uidcap) {
		cap = srv->uidcap ? srv->uidcap * 2 : 16;
		if ((u = realloc(srv->uids, cap * sizeof *u)) == NULL) {
			ig_err_set(err, IG_PROTO_UNAVAILABLE, "out of memory");
			log_error("refusing a connection of uid %lu: %s",
			    (unsigned long)uid, err->message);
			return -1;
		}
		srv->uids = u;
		srv->uidcap = cap;
	}
	srv->uids[srv->nuids++] = (struct uid_conns){ uid, 1, false };
	return 1;
}

void
server_uid_remove(struct server *srv, uid_t uid)
{
	for (size_t i = 0; i < srv->nuids; i++)
		if (srv->uids[i].uid == uid) {
			srv->uids[i].warned = false;
			if (--srv->uids[i].n == 0)
				srv->uids[i] = srv->uids[--srv->nuids];
			return;
		}
}

void
server_shed(struct server *srv)
{
	struct server_conn *big;

	while (srv->buffered > srv->max_buffered) {
		big = NULL;
		for (struct server_conn *c = srv->conns; c != NULL; c = c->next)
			if (!c->closing &&
			    (big == NULL || c->charged > big->charged))
				big = c;
		if (big == NULL || big->charged == 0)
			return;
		log_warn("client uid %lu pid %ld: buffers %zu bytes, the most "
		         "while connections buffer %zu, over the budget of %zu "
		         "(--max-conn-memory): dropping it",
		    (unsigned long)big->uid, (long)big->pid, big->charged,
		    srv->buffered, srv->max_buffered);
		conn_over_budget(big);
	}
}

void
server_pause(struct server *srv, struct server_conn *conn)
{
	server_conn_ref(conn);
	conn->paused = true;
	conn->pause_next = srv->paused_conns;
	srv->paused_conns = conn;
}

/* The paused connections read again (those still open). */
static void
resume_paused(struct server *srv)
{
	struct server_conn *conn, *next;

	conn = srv->paused_conns;
	srv->paused_conns = NULL;
	for (; conn != NULL; conn = next) {
		next = conn->pause_next;
		conn_resume(conn);
		server_conn_unref(conn);
	}
}

/* A loop turn has ended: the next may read again. */
static void
on_turn_end(uv_check_t *check)
{
	struct server *srv = check->data;

	srv->turn++;
	resume_paused(srv);
}

static void
on_sweep(uv_timer_t *timer)
{
	struct server *srv = timer->data;
	uint64_t now = uv_now(srv->loop);

	for (struct server_conn *c = srv->conns; c != NULL; c = c->next)
		conn_sweep(c, now);
}

/* ---- life cycle --------------------------------------------------------- */

static void
server_free(struct server *srv)
{
	for (size_t i = 0; i < srv->nmethods; i++)
		free(srv->methods[i].name);
	free(srv->methods);
	free(srv->uids);
	free(srv->path);
	free(srv);
}

/* Free the server once it is closing and nothing of it is left open. */
static void
maybe_free(struct server *srv)
{
	if (srv->closing && srv->open_handles == 0 && srv->conns == NULL)
		server_free(srv);
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct server *srv = h->data;

	srv->open_handles--;
	maybe_free(srv);
}

/* A server with opt's settings and path (copied), not yet listening. */
static struct server *
server_new(uv_loop_t *loop, const struct server_options *opt, const char *path,
    server_stop_fn *stop, void *stop_ud, ig_err *err)
{
	struct server *srv;

	if ((srv = calloc(1, sizeof *srv)) == NULL ||
	    (srv->path = strdup(path)) == NULL) {
		free(srv);
		ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		return NULL;
	}
	srv->loop = loop;
	srv->fd = -1;
	srv->group = opt->group;
	srv->max_frame = opt->max_frame ? opt->max_frame : IG_FRAME_MAX_DEFAULT;
	srv->max_queue = opt->max_queue ? opt->max_queue : DEFAULT_MAX_QUEUE;
	srv->idle_timeout_ms =
	    opt->idle_timeout_ms ? opt->idle_timeout_ms : DEFAULT_IDLE_MS;
	srv->client_timeout_ms =
	    opt->client_timeout_ms ? opt->client_timeout_ms : DEFAULT_CLIENT_MS;
	srv->max_conns_per_uid = opt->max_conns_per_uid ?
	    opt->max_conns_per_uid :
	    DEFAULT_CONNS_PER_UID;
	srv->max_buffered =
	    opt->max_buffered ? opt->max_buffered : DEFAULT_MAX_BUFFERED;
	srv->self = geteuid();
	srv->stop = stop;
	srv->stop_ud = stop_ud;
	return srv;
}

/* srv->fd listens: watch it, and the connections to come. */
static void
start_accepting(struct server *srv)
{
	uint64_t sweep = srv->client_timeout_ms / 4;

	/* None fails on Linux for a valid loop and socket. */
	uv_poll_init(srv->loop, &srv->poll, srv->fd);
	uv_timer_init(srv->loop, &srv->retry);
	uv_check_init(srv->loop, &srv->turn_end);
	uv_timer_init(srv->loop, &srv->sweep);
	srv->poll.data = srv->retry.data = srv;
	srv->turn_end.data = srv->sweep.data = srv;
	srv->open_handles = 4;
	srv->loop_handles = true;
	uv_poll_start(&srv->poll, UV_READABLE, on_acceptable);
	/* neither keeps the loop running by itself */
	uv_check_start(&srv->turn_end, on_turn_end);
	uv_unref((uv_handle_t *)&srv->turn_end);
	uv_timer_start(
	    &srv->sweep, on_sweep, sweep ? sweep : 1, sweep ? sweep : 1);
	uv_unref((uv_handle_t *)&srv->sweep);
}

struct server *
server_open(uv_loop_t *loop, const struct server_options *opt,
    server_stop_fn *stop, void *stop_ud, ig_err *err)
{
	struct server *srv;
	struct sockaddr_un sun;

	if (fill_addr(&sun, opt->path, err) != 0 || claim_path(&sun, err) != 0)
		return NULL;
	if ((srv = server_new(loop, opt, opt->path, stop, stop_ud, err)) ==
	    NULL)
		return NULL;
	if (bind_socket(srv, &sun, err) != 0) {
		server_free(srv);
		return NULL;
	}
	start_accepting(srv);
	log_info("listening on %s", srv->path);
	return srv;
}

struct server *
server_adopt(uv_loop_t *loop, int fd, const struct server_options *opt,
    server_stop_fn *stop, void *stop_ud, ig_err *err)
{
	struct server *srv;
	struct sockaddr_un sun;
	socklen_t len = sizeof sun;
	int flags;

	/* The path is only for the log: the socket is named by its unit. */
	memset(&sun, 0, sizeof sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &len) < 0 ||
	    sun.sun_family != AF_UNIX) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "the passed socket: getsockname: %s", strerror(errno));
		goto fail;
	}
	sun.sun_path[sizeof sun.sun_path - 1] = '\0';
	/* accept runs until EAGAIN: it must not block */
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "the passed socket: fcntl: %s", strerror(errno));
		goto fail;
	}
	if ((srv = server_new(loop, opt,
	         sun.sun_path[0] != '\0' ? sun.sun_path : "(unnamed)", stop,
	         stop_ud, err)) == NULL)
		goto fail;
	srv->fd = fd;
	srv->adopted = true;
	start_accepting(srv);
	log_info("listening on %s, passed by systemd", srv->path);
	return srv;
fail:
	close(fd);
	return NULL;
}

void
server_stop_listening(struct server *srv)
{
	struct stat st;

	if (srv->fd < 0)
		return;
	uv_close((uv_handle_t *)&srv->poll, on_handle_closed);
	uv_close((uv_handle_t *)&srv->retry, on_handle_closed);
	/* uv_close has removed the fd from epoll; it is ours to close. */
	close(srv->fd);
	srv->fd = -1;
	if (!srv->adopted && lstat(srv->path, &st) == 0 &&
	    st.st_dev == srv->dev && st.st_ino == srv->ino &&
	    unlink(srv->path) < 0)
		log_warn("cannot remove %s: %s", srv->path, strerror(errno));
}

void
server_close(struct server *srv)
{
	server_stop_listening(srv);
	if (srv->loop_handles) {
		uv_close((uv_handle_t *)&srv->turn_end, on_handle_closed);
		uv_close((uv_handle_t *)&srv->sweep, on_handle_closed);
		srv->loop_handles = false;
	}
	srv->closing = true;
	for (struct server_conn *c = srv->conns; c != NULL; c = c->next)
		conn_close(c, true);
	resume_paused(srv); /* to let go of them */
	maybe_free(srv);
}

void
server_conn_gone(struct server *srv, struct server_conn *conn)
{
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		srv->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	conn->next = conn->prev = NULL;
	conn->srv = NULL;
	maybe_free(srv);
}

void
server_request_stop(struct server *srv)
{
	srv->stop(srv->stop_ud);
}

/* ---- methods ------------------------------------------------------------ */

int
server_register(struct server *srv, const char *name, unsigned flags,
    server_method_fn *fn, void *ud)
{
	struct method *m;
	char *copy;

	if (server_find_method(srv, name) != NULL)
		return -1;
	if ((copy = strdup(name)) == NULL)
		return -1;
	m = realloc(srv->methods, (srv->nmethods + 1) * sizeof *m);
	if (m == NULL) {
		free(copy);
		return -1;
	}
	srv->methods = m;
	m[srv->nmethods++] = (struct method){ copy, flags, fn, ud };
	return 0;
}

/* A linear scan: a dozen methods, and strcmp stops at the first byte. */
const struct method *
server_find_method(const struct server *srv, const char *name)
{
	for (size_t i = 0; i < srv->nmethods; i++)
		if (strcmp(srv->methods[i].name, name) == 0)
			return &srv->methods[i];
	return NULL;
}

uint64_t
server_requests(const struct server *srv)
{
	return srv->requests;
}

size_t
server_max_frame(const struct server *srv)
{
	return srv->max_frame;
}
