/*
 * conn.c - the control socket: find it, connect, hello, then requests and
 * notifications over blocking I/O, one at a time.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ignitectl.h"

struct conn {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ig_decoder *dec;
	uint32_t msgid;
	msgpack_sbuffer sb;
	ig_frame frame;
	char daemon[64];
	/* Bytes read but not yet fed to the decoder. */
	char buf[65536];
	size_t off, len;
	/* Notifications that came while a call waited for its answer, as
	 * packed [method, params], for conn_next to hand out in order. */
	msgpack_sbuffer held;
	size_t held_off;
	msgpack_unpacked out;
	char held_method[64];
};

int
conn_socket_path(
    const char *path, char *buf, size_t len, const char **how, ig_err *err)
{
	const char *run;
	int n;

	if (path != NULL) {
		*how = "--socket";
	} else if ((path = getenv("IGNITE_SOCKET")) != NULL &&
	    path[0] != '\0') {
		*how = "IGNITE_SOCKET";
	} else if (geteuid() == 0) {
		*how = "the default for root";
		path = "/run/ignite/ignited.sock";
	} else if ((run = getenv("XDG_RUNTIME_DIR")) != NULL && run[0] == '/') {
		*how = "the default under $XDG_RUNTIME_DIR";
		n = snprintf(buf, len, "%s/ignite/ignited.sock", run);
		goto check;
	} else {
		*how = "the default without $XDG_RUNTIME_DIR";
		n = snprintf(buf, len, "/tmp/ignite-%lu/ignited.sock",
		    (unsigned long)geteuid());
		goto check;
	}
	n = snprintf(buf, len, "%s", path);
check:
	if (n < 0 || (size_t)n >= len)
		return ig_err_set(err, CTL_EUSAGE,
		    "socket path from %s is longer "
		    "than %zu bytes, the most a Unix socket takes",
		    *how, len - 1);
	return CTL_OK;
}

static int
unavailable(ig_err *err, const char *path, const char *what)
{
	return ig_err_set(err, CTL_EUNAVAILABLE, "%s: %s", path, what);
}

static int
send_all(struct conn *c, const char *p, size_t n, ig_err *err)
{
	ssize_t w;

	while (n > 0) {
		if ((w = send(c->fd, p, n, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return unavailable(err, c->path, strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return CTL_OK;
}

/*
 * The next message of any type into *msg, waiting up to timeout_ms (-1:
 * for ever).  Returns CTL_OK with msg->method NULL and msg->type -1 when
 * the time ran out.
 */
static int
read_msg(struct conn *c, ig_msg *msg, int timeout_ms, ig_err *err)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	size_t used;
	ssize_t r;
	int rc;

	for (;;) {
		while (c->off < c->len) {
			rc = ig_decoder_feed(c->dec, c->buf + c->off,
			    c->len - c->off, &used, msg);
			c->off += used;
			if (rc == IG_DECODE_MESSAGE)
				return CTL_OK;
			if (rc == IG_DECODE_ERROR)
				return ig_err_set(err, CTL_EUNAVAILABLE,
				    "bad frame from the daemon at %s: %s (%s)",
				    c->path, ig_decoder_error(c->dec)->message,
				    ig_proto_code_name(
				        ig_decoder_error(c->dec)->code));
		}
		c->off = c->len = 0;
		if ((rc = poll(&pfd, 1, timeout_ms)) == 0) {
			msg->type = -1;
			msg->method = NULL;
			return CTL_OK;
		}
		if (rc < 0 && errno != EINTR)
			return unavailable(err, c->path, strerror(errno));
		if (rc < 0)
			continue;
		if ((r = recv(c->fd, c->buf, sizeof c->buf, 0)) < 0) {
			if (errno == EINTR)
				continue;
			return unavailable(err, c->path, strerror(errno));
		}
		if (r == 0)
			return ig_err_set(err, CTL_EUNAVAILABLE,
			    "the daemon at %s "
			    "closed the connection",
			    c->path);
		c->len = (size_t)r;
	}
}

msgpack_packer *
conn_begin(struct conn *c, const char *method)
{
	msgpack_sbuffer_clear(&c->sb);
	ig_frame_request(&c->frame, &c->sb, ++c->msgid, method);
	return &c->frame.pk;
}

/* A notification "error" ends the stream: say why. */
static int
stream_error(struct conn *c, const ig_msg *msg, ig_err *err)
{
	const msgpack_object *m = ig_map_get(msg->params, "message");
	const msgpack_object *code = ig_map_get(msg->params, "code");

	return ig_err_set(err, CTL_EUNAVAILABLE,
	    "the daemon at %s dropped the "
	    "connection: %.*s (%s)",
	    c->path,
	    m != NULL && m->type == MSGPACK_OBJECT_STR ? (int)m->via.str.size :
	                                                 7,
	    m != NULL && m->type == MSGPACK_OBJECT_STR ? m->via.str.ptr :
	                                                 "no reason",
	    ig_proto_code_name(
	        code != NULL && code->type == MSGPACK_OBJECT_POSITIVE_INTEGER ?
	            (int)code->via.u64 :
	            0));
}

/* Keep a notification for conn_next: a watch subscribed before a call
 * must not lose what arrives while the call waits. */
static void
hold(struct conn *c, const ig_msg *msg)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, &c->held, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	ig_pack_str(&pk, msg->method);
	msgpack_pack_object(&pk, *msg->params);
}

/* The next held notification; false when none is left. */
static bool
take_held(struct conn *c, const char **method, const msgpack_object **params)
{
	const msgpack_object *m;

	if (c->held_off >= c->held.size) {
		/* the last one handed out is no longer in use */
		c->held.size = c->held_off = 0;
		return false;
	}
	if (msgpack_unpack_next(&c->out, c->held.data, c->held.size,
	        &c->held_off) != MSGPACK_UNPACK_SUCCESS) {
		c->held.size = c->held_off = 0;
		return false;
	}
	m = c->out.data.via.array.ptr;
	snprintf(c->held_method, sizeof c->held_method, "%.*s",
	    (int)m[0].via.str.size, m[0].via.str.ptr);
	*method = c->held_method;
	*params = &m[1];
	return true;
}

int
conn_call(struct conn *c, const msgpack_object **result, ig_err *err)
{
	ig_msg msg;
	int rc;

	if ((rc = ig_frame_end(&c->frame, err)) != 0)
		return ig_err_set(
		    err, CTL_EUSAGE, "request too large: %s", err->message);
	if ((rc = send_all(c, c->sb.data, c->sb.size, err)) != CTL_OK)
		return rc;
	for (;;) {
		if ((rc = read_msg(c, &msg, -1, err)) != CTL_OK)
			return rc;
		if (msg.type == IG_MSG_NOTIFY &&
		    strcmp(msg.method, "error") == 0)
			return stream_error(c, &msg, err);
		if (msg.type == IG_MSG_NOTIFY)
			hold(c, &msg);
		if (msg.type == IG_MSG_RESPONSE && msg.msgid == c->msgid)
			break;
	}
	if (msg.error_code != 0) {
		/* ig_err keeps the daemon's code, for the message and --json. */
		ig_err_set(err, msg.error_code, "%s", msg.error_message);
		return CTL_EDAEMON;
	}
	*result = msg.result;
	return CTL_OK;
}

void
conn_pack_run(msgpack_packer *pk, const char *run)
{
	char *end;
	unsigned long long id;

	errno = 0;
	id = strtoull(run, &end, 10);
	if (run[0] >= '0' && run[0] <= '9' && *end == '\0' && errno == 0 &&
	    id <= INT64_MAX)
		msgpack_pack_int64(pk, (int64_t)id);
	else
		ig_pack_str(pk, run);
}

int
conn_call_run(struct conn *c, const char *method, const char *run,
    const msgpack_object **result, ig_err *err)
{
	msgpack_packer *pk = conn_begin(c, method);

	msgpack_pack_map(pk, 1);
	ig_pack_str(pk, "id");
	conn_pack_run(pk, run);
	return conn_call(c, result, err);
}

int
conn_next(struct conn *c, int timeout_ms, const char **method,
    const msgpack_object **params, ig_err *err)
{
	ig_msg msg;
	int rc;

	if (take_held(c, method, params))
		return CTL_OK;
	do {
		if ((rc = read_msg(c, &msg, timeout_ms, err)) != CTL_OK)
			return rc;
	} while (msg.type != IG_MSG_NOTIFY && msg.type != -1);
	if (msg.type == -1) {
		*method = NULL;
		return CTL_OK;
	}
	if (strcmp(msg.method, "error") == 0)
		return stream_error(c, &msg, err);
	*method = msg.method;
	*params = msg.params;
	return CTL_OK;
}

static int
hello(struct conn *c, ig_err *err)
{
	const msgpack_object *res, *d;
	msgpack_packer *pk = conn_begin(c, "hello");
	int rc;

	msgpack_pack_map(pk, 2);
	ig_pack_str(pk, "versions");
	msgpack_pack_array(pk, 1);
	msgpack_pack_int(pk, IG_PROTO_VERSION);
	ig_pack_str(pk, "client");
	ig_pack_str(pk, "ignitectl " IGNITE_VERSION);
	if ((rc = conn_call(c, &res, err)) != CTL_OK)
		return rc;
	d = ig_map_get(res, "daemon");
	snprintf(c->daemon, sizeof c->daemon, "%.*s",
	    d != NULL && d->type == MSGPACK_OBJECT_STR ? (int)d->via.str.size :
	                                                 7,
	    d != NULL && d->type == MSGPACK_OBJECT_STR ? d->via.str.ptr :
	                                                 "ignited");
	return CTL_OK;
}

int
conn_open(const char *path, struct conn **out, bool *nobody, ig_err *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct conn *c;
	int rc;

	*out = NULL;
	if (strlen(path) >= sizeof sun.sun_path)
		return ig_err_set(err, CTL_EUSAGE,
		    "%s: longer than %zu bytes, "
		    "the most a Unix socket takes",
		    path, sizeof sun.sun_path - 1);
	if ((c = calloc(1, sizeof *c)) == NULL ||
	    (c->dec = ig_decoder_new(0)) == NULL) {
		free(c);
		return ig_err_set(err, CTL_ELOCAL, "out of memory");
	}
	/* a history page (2 MiB) arrives into the same buffer as the last */
	ig_decoder_keep(c->dec, 4u << 20);
	c->fd = -1;
	msgpack_sbuffer_init(&c->sb);
	msgpack_sbuffer_init(&c->held);
	msgpack_unpacked_init(&c->out);
	snprintf(c->path, sizeof c->path, "%s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		rc = ig_err_set(err, CTL_ELOCAL, "socket: %s", strerror(errno));
		goto fail;
	}
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		rc = unavailable(err, path, strerror(errno));
		if (nobody != NULL)
			*nobody = true;
		goto fail;
	}
	if ((rc = hello(c, err)) != CTL_OK)
		goto fail;
	*out = c;
	return CTL_OK;
fail:
	conn_close(c);
	return rc;
}

int
conn_fd(const struct conn *c)
{
	return c->fd;
}

const char *
conn_daemon(const struct conn *c)
{
	return c->daemon;
}

void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	ig_decoder_free(c->dec);
	msgpack_sbuffer_destroy(&c->sb);
	msgpack_sbuffer_destroy(&c->held);
	msgpack_unpacked_destroy(&c->out);
	free(c);
}
