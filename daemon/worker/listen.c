/*
 * listen.c - workers that dial back over TCP: the hello, then the
 * connection handed to the run's remote worker (see listen.h).
 *
 * A connection is held here only until its hello: at most HELLO_MAX at a
 * time, each for at most HELLO_TIMEOUT_MS, with a decoder whose frames are
 * small, so that whoever reaches the port holds little of the daemon.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "worker/listen.h"
#include "worker/worker.h"

#ifndef IGNITE_VERSION
#define IGNITE_VERSION "unknown"
#endif

#define HELLO_TIMEOUT_MS 10000
#define HELLO_MAX 64 /* connections waiting for their hello */
#define HELLO_FRAME_MAX 4096

struct worker_listen {
	uv_tcp_t server; /* first: its close frees the struct */
	uv_loop_t *loop;
	worker_claim_fn *claim;
	void *ud;
	struct hello *conns; /* waiting for their hello */
	unsigned nconns;
};

/* A connection until its hello: its tcp is separately allocated, so that
 * it can go on to the worker when this is freed. */
struct hello {
	struct worker_listen *l;
	struct hello *next, **prev;
	uv_tcp_t *tcp;
	uv_timer_t timer;
	ig_decoder *dec;
	char peer[INET6_ADDRSTRLEN + 8];
	char buf[HELLO_FRAME_MAX];
};

static void
free_handle(uv_handle_t *h)
{
	free(h);
}

static void
free_hello(uv_handle_t *h)
{
	struct hello *c = h->data;

	ig_decoder_free(c->dec);
	free(c);
}

/* Done with c; its tcp is closed unless handed on (NULL). */
static void
hello_end(struct hello *c)
{
	if ((*c->prev = c->next) != NULL)
		c->next->prev = c->prev;
	c->l->nconns--;
	if (c->tcp != NULL)
		uv_close((uv_handle_t *)c->tcp, free_handle);
	uv_close((uv_handle_t *)&c->timer, free_hello);
}

static void drop(struct hello *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Closed without an answer, telling the peer nothing; logged. */
static void
drop(struct hello *c, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warn("worker connection from %s refused: %s", c->peer, why);
	hello_end(c);
}

static void
on_hello_timeout(uv_timer_t *t)
{
	drop(t->data, "no hello within %d s", HELLO_TIMEOUT_MS / 1000);
}

/* The answer to hello: {version: 1, daemon: str}. */
static int
pack_answer(msgpack_sbuffer *sb, uint32_t msgid)
{
	ig_frame f;
	ig_err err;

	ig_frame_response(&f, sb, msgid);
	msgpack_pack_map(&f.pk, 2);
	ig_pack_str(&f.pk, "version");
	msgpack_pack_int(&f.pk, IG_PROTO_VERSION);
	ig_pack_str(&f.pk, "daemon");
	ig_pack_str(&f.pk, "ignited " IGNITE_VERSION);
	return ig_frame_end(&f, &err);
}

/* A last frame (an error, or the answer and shutdown) before the close. */
static void
say_and_end(struct hello *c, msgpack_sbuffer *sb)
{
	uv_buf_t b = uv_buf_init(sb->data, (unsigned)sb->size);

	uv_try_write((uv_stream_t *)c->tcp, &b, 1);
	hello_end(c);
}

static void
take_hello(struct hello *c, const ig_msg *msg, const char *rest, size_t nrest)
{
	const msgpack_object *versions = NULL, *secret = NULL;
	int64_t run = 0;
	const ig_fdef defs[] = {
		{ "versions", IG_F_ARRAY, true, NULL, &versions },
		{ "run", IG_F_POS, true, NULL, &run },
		{ "secret", IG_F_ANY, true, NULL, &secret },
	};
	struct worker *w = NULL;
	msgpack_sbuffer sb;
	char why[200] = "";
	bool v1 = false;
	ig_err err;

	if (msg->type != IG_MSG_REQUEST || strcmp(msg->method, "hello") != 0) {
		drop(c, "its first frame is not a hello request");
		return;
	}
	if (ig_map_read(msg->params, "hello", defs, 3, 0, &err) != 0) {
		drop(c, "%s", err.message);
		return;
	}
	for (uint32_t i = 0; i < versions->via.array.size; i++)
		v1 |= versions->via.array.ptr[i].type ==
		        MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    versions->via.array.ptr[i].via.u64 == IG_PROTO_VERSION;
	if (secret->type != MSGPACK_OBJECT_BIN ||
	    secret->via.bin.size != WORKER_SECRET_LEN) {
		drop(c, "run %lld: the secret is not %d bytes", (long long)run,
		    WORKER_SECRET_LEN);
		return;
	}
	msgpack_sbuffer_init(&sb);
	if (!v1) {
		ig_err_set(&err, IG_PROTO_VERSION_MISMATCH,
		    "ignited speaks worker protocol version %d only",
		    IG_PROTO_VERSION);
		log_warn("worker connection from %s refused: %s", c->peer,
		    err.message);
		if (ig_pack_error(&sb, msg->msgid, &err) == 0)
			say_and_end(c, &sb);
		else
			hello_end(c);
		msgpack_sbuffer_destroy(&sb);
		return;
	}
	switch (c->l->claim(c->l->ud, run,
	    (const unsigned char *)secret->via.bin.ptr, &w, why, sizeof(why))) {
	case WORKER_CLAIM_TAKE:
		if (pack_answer(&sb, msg->msgid) == 0 &&
		    worker_attach(w, c->tcp, sb.data, sb.size, rest, nrest) ==
		        0) {
			log_msg(
			    LOG_INFO, run, "worker connected from %s", c->peer);
			c->tcp = NULL; /* the worker's now */
		}
		hello_end(c);
		break;
	case WORKER_CLAIM_BUSY:
		log_msg(LOG_WARN, run, "worker connection from %s refused: %s",
		    c->peer, why);
		ig_err_set(&err, IG_PROTO_CONFLICT, "%s", why);
		if (ig_pack_error(&sb, msg->msgid, &err) == 0)
			say_and_end(c, &sb);
		else
			hello_end(c);
		break;
	case WORKER_CLAIM_ENDED: {
		ig_frame f;
		log_msg(LOG_INFO, run, "worker from %s told to shut down: %s",
		    c->peer, why);
		if (pack_answer(&sb, msg->msgid) != 0) {
			hello_end(c);
			break;
		}
		ig_frame_request(&f, &sb, 1, "shutdown");
		msgpack_pack_map(&f.pk, 0);
		ig_frame_end(&f, &err);
		say_and_end(c, &sb);
		break;
	}
	default:
		drop(c, "run %lld: %s", (long long)run, why);
		break;
	}
	msgpack_sbuffer_destroy(&sb);
}

static void
alloc_hello(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct hello *c = h->data;

	(void)hint;
	*buf = uv_buf_init(c->buf, sizeof(c->buf));
}

static void
on_hello_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct hello *c = s->data;
	const char *p = buf->base;
	size_t left = n > 0 ? (size_t)n : 0, used;
	ig_msg msg;
	int r;

	if (n < 0) {
		drop(c, "it closed before its hello (%s)", uv_strerror((int)n));
		return;
	}
	while (left > 0) {
		r = ig_decoder_feed(c->dec, p, left, &used, &msg);
		p += used;
		left -= used;
		if (r == IG_DECODE_ERROR) {
			drop(c, "%s", ig_decoder_error(c->dec)->message);
			return;
		}
		if (r == IG_DECODE_MESSAGE) {
			uv_read_stop(s);
			take_hello(c, &msg, p, left);
			return;
		}
	}
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct worker_listen *l = server->data;
	uv_tcp_t *tcp;
	struct hello *c;
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (status != 0 || (tcp = malloc(sizeof(*tcp))) == NULL)
		return;
	uv_tcp_init(l->loop, tcp);
	if (uv_accept(server, (uv_stream_t *)tcp) != 0 ||
	    l->nconns >= HELLO_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
		if (l->nconns >= HELLO_MAX)
			log_warn("worker connection refused: %d are already "
			         "waiting for their hello",
			    HELLO_MAX);
		uv_close((uv_handle_t *)tcp, free_handle);
		return;
	}
	if ((c->dec = ig_decoder_new(HELLO_FRAME_MAX)) == NULL) {
		free(c);
		uv_close((uv_handle_t *)tcp, free_handle);
		return;
	}
	c->l = l;
	c->tcp = tcp;
	tcp->data = c;
	snprintf(c->peer, sizeof(c->peer), "an unknown address");
	if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) == 0) {
		char host[INET6_ADDRSTRLEN];
		int port;
		if (ss.ss_family == AF_INET6) {
			uv_ip6_name(
			    (struct sockaddr_in6 *)&ss, host, sizeof(host));
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
			snprintf(
			    c->peer, sizeof(c->peer), "[%s]:%d", host, port);
		} else {
			uv_ip4_name(
			    (struct sockaddr_in *)&ss, host, sizeof(host));
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
		}
	}
	if ((c->next = l->conns) != NULL)
		c->next->prev = &c->next;
	c->prev = &l->conns;
	l->conns = c;
	l->nconns++;
	uv_timer_init(l->loop, &c->timer);
	c->timer.data = c;
	uv_timer_start(&c->timer, on_hello_timeout, HELLO_TIMEOUT_MS, 0);
	uv_tcp_nodelay(tcp, 1);
	uv_read_start((uv_stream_t *)tcp, alloc_hello, on_hello_read);
}

int
worker_listen_parse(const char *s, struct sockaddr_storage *ss, ig_err *err)
{
	const char *colon = strrchr(s, ':');
	char host[INET6_ADDRSTRLEN + 2], *end;
	size_t hlen = colon != NULL ? (size_t)(colon - s) : 0;
	unsigned long port = colon != NULL ? strtoul(colon + 1, &end, 10) : 0;
	int rc;

	if (colon == NULL || colon[1] < '0' || colon[1] > '9' || *end != '\0' ||
	    port < 1 || port > 65535 || hlen == 0 || hlen >= sizeof(host))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "--worker-listen %s: expected HOST:PORT, a numeric "
		    "address and a port from 1 to 65535 (10.0.0.5:7070, "
		    "[fd00::5]:7070)",
		    s);
	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[' && s[hlen - 1] == ']') {
		snprintf(host, sizeof(host), "%.*s", (int)hlen - 2, s + 1);
		rc = uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss);
	} else {
		snprintf(host, sizeof(host), "%.*s", (int)hlen, s);
		rc = uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss);
	}
	if (rc != 0)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "--worker-listen %s: %s is not a numeric IPv4 address or "
		    "a bracketed IPv6 one",
		    s, host);
	return 0;
}

struct worker_listen *
worker_listen_open(uv_loop_t *loop, const struct sockaddr *addr,
    worker_claim_fn *claim, void *ud, ig_err *err)
{
	struct worker_listen *l = calloc(1, sizeof(*l));
	int rc;

	if (l == NULL) {
		ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		return NULL;
	}
	l->loop = loop;
	l->claim = claim;
	l->ud = ud;
	uv_tcp_init(loop, &l->server);
	l->server.data = l;
	if ((rc = uv_tcp_bind(&l->server, addr, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&l->server, 128, on_connection)) !=
	        0) {
		ig_err_set(err, IG_PROTO_INTERNAL, "cannot listen: %s",
		    uv_strerror(rc));
		uv_close((uv_handle_t *)&l->server, free_handle);
		return NULL;
	}
	return l;
}

void
worker_listen_close(struct worker_listen *l)
{
	if (l == NULL)
		return;
	while (l->conns != NULL)
		hello_end(l->conns);
	uv_close((uv_handle_t *)&l->server, free_handle);
}
