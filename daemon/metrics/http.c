/*
 * http.c - a minimal, strict HTTP/1.1 server for one resource (http.h).
 *
 * A connection reads its request's head into a fixed buffer, is answered
 * once, half-closes, and discards what else comes until the client hangs
 * up or its deadline passes: closing at once with unread bytes would reset
 * the connection and could lose the answer on the way.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "metrics/http.h"

struct http_conn {
	struct http *h;
	struct http_conn *next, *prev;
	uv_tcp_t tcp;
	uv_timer_t timer; /* the exchange's deadline */
	uv_write_t write;
	uv_shutdown_t shutdown;
	int open_handles;
	bool answered; /* what comes from now on is discarded */
	bool closing;
	char *out; /* the answer, owned */
	size_t len;
	char head[HTTP_HEAD_MAX + 1]; /* NUL-terminated once complete */
};

struct http {
	uv_loop_t *loop;
	uv_tcp_t listener;
	const char *path;
	http_get_fn *get;
	void *ud;
	struct http_conn *conns;
	size_t nconns;
	bool listener_open;
	bool closing;
};

static void
maybe_free(struct http *h)
{
	if (h->closing && !h->listener_open && h->conns == NULL)
		free(h);
}

static void
on_conn_closed(uv_handle_t *handle)
{
	struct http_conn *c = handle->data;
	struct http *h = c->h;

	if (--c->open_handles > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->nconns--;
	free(c->out);
	free(c);
	maybe_free(h);
}

static void
conn_close(struct http_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void
on_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	/* reading goes on (discarding) until the client hangs up */
	if (status < 0)
		conn_close(req->data);
}

static void
on_written(uv_write_t *req, int status)
{
	struct http_conn *c = req->data;

	if (c->closing)
		return;
	c->shutdown.data = c;
	if (status < 0 ||
	    uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
		conn_close(c);
}

static const char *
reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Service Unavailable";
	}
}

/* Answer code with body (owned; NULL: the reason) and stop reading the
 * request. */
static void
answer(struct http_conn *c, int code, char *body, size_t len, const char *type)
{
	char head[256];
	uv_buf_t buf;
	int n;

	c->answered = true;
	if (body == NULL) {
		char line[64];
		n = snprintf(line, sizeof(line), "%d %s\n", code, reason(code));
		len = (size_t)n;
		if ((body = malloc(len)) == NULL) {
			conn_close(c);
			return;
		}
		memcpy(body, line, len);
		type = "text/plain; charset=utf-8";
	}
	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "%sConnection: close\r\n\r\n",
	    code, reason(code), type, len, code == 405 ? "Allow: GET\r\n" : "");
	if ((c->out = malloc((size_t)n + len)) == NULL) {
		free(body);
		conn_close(c);
		return;
	}
	memcpy(c->out, head, (size_t)n);
	memcpy(c->out + n, body, len);
	free(body);
	buf = uv_buf_init(c->out, (unsigned)((size_t)n + len));
	c->write.data = c;
	if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written) <
	    0)
		conn_close(c);
}

/* RFC 9110's tchar. */
static bool
is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* A field value: visible characters, spaces, tabs, obs-text; no CTL. */
static bool
value_ok(const char *v)
{
	for (; *v != '\0'; v++) {
		unsigned char ch = (unsigned char)*v;
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return false;
	}
	return true;
}

/* A field value that says 0: one or more zeros, then spaces. */
static bool
zero(const char *v)
{
	size_t n = strspn(v, "0");

	return n > 0 && v[n + strspn(v + n, " \t")] == '\0';
}

/* The status for the request in head (NUL-terminated, ending with the
 * blank line); 0 when it is a GET of our path. */
static int
check_request(struct http *h, char *head)
{
	char *line, *next, *sp, *target, *version, *value;
	bool http11;
	int hosts = 0;

	/* request-line = method SP request-target SP HTTP-version CRLF */
	if ((next = strstr(head, "\r\n")) == NULL)
		return 400;
	*next = '\0';
	next += 2;
	if ((sp = strchr(head, ' ')) == NULL || sp == head)
		return 400;
	*sp = '\0';
	for (char *m = head; *m != '\0'; m++)
		if (!is_tchar(*m))
			return 400;
	target = sp + 1;
	if ((sp = strchr(target, ' ')) == NULL)
		return 400;
	*sp = '\0';
	version = sp + 1;
	if (target[0] != '/' || !value_ok(target) || strchr(target, '\t'))
		return 400;
	if (strcmp(version, "HTTP/1.1") == 0)
		http11 = true;
	else if (strcmp(version, "HTTP/1.0") == 0)
		http11 = false;
	else
		return 400;

	/* field-line = field-name ":" OWS field-value OWS, no folding */
	for (line = next; *line != '\0'; line = next) {
		if ((next = strstr(line, "\r\n")) == NULL)
			return 400;
		*next = '\0';
		next += 2;
		if (*line == '\0')
			break; /* the blank line */
		if ((value = strchr(line, ':')) == NULL || value == line)
			return 400;
		*value++ = '\0';
		for (char *n = line; *n != '\0'; n++)
			if (!is_tchar(*n))
				return 400;
		if (!value_ok(value))
			return 400;
		value += strspn(value, " \t");
		if (strcasecmp(line, "Host") == 0)
			hosts++;
		/* a GET has no body: one announced is a smuggling attempt
		 * or a mistake, never ours to skip */
		else if (strcasecmp(line, "Transfer-Encoding") == 0 ||
		    (strcasecmp(line, "Content-Length") == 0 && !zero(value)))
			return 400;
	}
	if (hosts > 1 || (http11 && hosts == 0))
		return 400;
	if ((sp = strchr(target, '?')) != NULL)
		*sp = '\0';
	if (strcmp(target, h->path) != 0)
		return 404;
	if (strcmp(head, "GET") != 0)
		return 405;
	return 0;
}

static void
serve(struct http_conn *c)
{
	struct http *h = c->h;
	char *body;
	size_t len;
	const char *type;
	int code;

	if (memchr(c->head, '\0', c->len) != NULL) {
		answer(c, 400, NULL, 0, NULL);
		return;
	}
	c->head[c->len] = '\0';
	if ((code = check_request(h, c->head)) != 0)
		answer(c, code, NULL, 0, NULL);
	else if (h->get(h->ud, &body, &len, &type) != 0)
		answer(c, 503, NULL, 0, NULL);
	else
		answer(c, 200, body, len, type);
}

static void
on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	static char discard[4096]; /* the loop's alone */
	struct http_conn *c = handle->data;

	(void)suggested;
	if (c->answered)
		*buf = uv_buf_init(discard, sizeof(discard));
	else
		*buf = uv_buf_init(c->head + c->len, HTTP_HEAD_MAX - c->len);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct http_conn *c = s->data;
	size_t from;

	(void)buf;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0 || c->answered)
		return;
	from = c->len > 3 ? c->len - 3 : 0;
	c->len += (size_t)nread;
	for (size_t i = from; i + 4 <= c->len; i++)
		if (memcmp(c->head + i, "\r\n\r\n", 4) == 0) {
			c->len = i + 4; /* anything after is not read */
			serve(c);
			return;
		}
	if (c->len == HTTP_HEAD_MAX)
		answer(c, 431, NULL, 0, NULL);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct http *h = server->data;
	struct http_conn *c;

	if (status < 0 || h->closing) {
		log_warn(
		    "metrics endpoint: cannot accept: %s", uv_strerror(status));
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("metrics endpoint: out of memory");
		return;
	}
	c->h = h;
	uv_tcp_init(h->loop, &c->tcp);
	uv_timer_init(h->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->open_handles = 2;
	if ((c->next = h->conns) != NULL)
		c->next->prev = c;
	h->conns = c;
	h->nconns++;
	/* accepted even over the limit, so that it leaves the backlog */
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 ||
	    h->nconns > HTTP_CONNS_MAX) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timeout, HTTP_TIMEOUT_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		conn_close(c);
}

static void
on_listener_closed(uv_handle_t *handle)
{
	struct http *h = handle->data;

	h->listener_open = false;
	maybe_free(h);
}

struct http *
http_open(uv_loop_t *loop, const struct sockaddr *addr, const char *path,
    http_get_fn *get, void *ud, ig_err *err)
{
	struct http *h;
	int rc;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		return NULL;
	}
	*h = (struct http){ .loop = loop, .path = path, .get = get, .ud = ud };
	uv_tcp_init(loop, &h->listener);
	h->listener.data = h;
	h->listener_open = true;
	if ((rc = uv_tcp_bind(&h->listener, addr, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&h->listener, 16, on_connection)) <
	        0) {
		ig_err_set(err, IG_PROTO_UNAVAILABLE, "%s", uv_strerror(rc));
		http_close(h);
		return NULL;
	}
	return h;
}

void
http_close(struct http *h)
{
	h->closing = true;
	uv_close((uv_handle_t *)&h->listener, on_listener_closed);
	for (struct http_conn *c = h->conns; c != NULL; c = c->next)
		conn_close(c);
}
