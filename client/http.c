/*
 * http.c - the dashboard's HTTP/1.1 server (http.h): non-blocking sockets
 * under one poll(2), a fixed table of connections, and a parser that
 * refuses whatever it does not need rather than guess.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "http.h"

#define MAX_CLIENTS 64
#define HEAD_MAX 8192
#define BODY_MAX 4096
#define TARGET_MAX 2048
#define HEADERS_MAX 64
#define REQUEST_MS 10000 /* the whole request, from accept */
#define SEND_MS 30000 /* a response, until the browser has taken it */
#define STREAM_UNSENT_MAX (4 << 20)
#define KEEPALIVE_MS 15000 /* a comment on idle streams: finds dead ones */

/* What every response says: no framing, sniffing, caching, referrers,
 * nor anything loaded from elsewhere. */
#define COMMON_HEADERS \
	"Cache-Control: no-store\r\n" \
	"X-Content-Type-Options: nosniff\r\n" \
	"X-Frame-Options: DENY\r\n" \
	"Referrer-Policy: no-referrer\r\n" \
	"Cross-Origin-Resource-Policy: same-origin\r\n" \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; " \
	"style-src 'self'; connect-src 'self'; img-src 'self' data:; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n" \
	"Connection: close\r\n"

enum client_state {
	C_READ,
	C_WRITE, /* the response, then close */
	C_STREAM /* an event stream */
};

struct http_client {
	struct http_server *srv;
	int fd;
	enum client_state state;
	int64_t deadline; /* ms on the monotonic clock; 0: none */
	char in[HEAD_MAX + BODY_MAX + 1];
	size_t inlen;
	char head[HEAD_MAX + 1]; /* the head, split in place by parse_head */
	char *out;
	size_t outlen, outoff;
	bool broken; /* out of memory or a dead socket: close */
};

struct http_server {
	int fd, port;
	http_handler handler;
	void *arg;
	struct http_client *clients[MAX_CLIENTS];
	int64_t keepalive_at;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
http_listen(struct http_server **out, int port, http_handler handler, void *arg,
    ig_err *err)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	struct http_server *srv;
	int one = 1;

	*out = NULL;
	if ((srv = calloc(1, sizeof *srv)) == NULL)
		return ig_err_set(err, CTL_ELOCAL, "out of memory");
	srv->handler = handler;
	srv->arg = arg;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if ((srv->fd = socket(
	         AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		free(srv);
		return ig_err_set(
		    err, CTL_ELOCAL, "socket: %s", strerror(errno));
	}
	setsockopt(srv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(srv->fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    listen(srv->fd, 16) < 0 ||
	    getsockname(srv->fd, (struct sockaddr *)&sin, &len) < 0) {
		ig_err_set(err, CTL_EUSAGE,
		    "cannot listen on 127.0.0.1:%d: %s; "
		    "choose another --port, or 0 for any free one",
		    port, strerror(errno));
		http_free(srv);
		return CTL_EUSAGE;
	}
	srv->port = ntohs(sin.sin_port);
	*out = srv;
	return CTL_OK;
}

int
http_port(const struct http_server *srv)
{
	return srv->port;
}

static void
client_close(struct http_client *c)
{
	struct http_server *srv = c->srv;

	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (srv->clients[i] == c)
			srv->clients[i] = NULL;
	close(c->fd);
	free(c->out);
	free(c);
}

void
http_free(struct http_server *srv)
{
	if (srv == NULL)
		return;
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (srv->clients[i] != NULL)
			client_close(srv->clients[i]);
	close(srv->fd);
	free(srv);
}

/* Queue bytes to send; a failure marks the client broken. */
static void
client_put(struct http_client *c, const void *p, size_t n)
{
	char *o;

	if (c->broken)
		return;
	if (c->outoff > 0 && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if ((o = realloc(c->out, c->outlen + n)) == NULL) {
		c->broken = true;
		return;
	}
	memcpy(o + c->outlen, p, n);
	c->out = o;
	c->outlen += n;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

static void
put_head(struct http_client *c, int status, const char *type,
    const char *headers, const char *length)
{
	char line[256];
	int n;

	n = snprintf(line, sizeof line,
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n", status, reason(status),
	    type);
	client_put(c, line, (size_t)n);
	client_put(c, COMMON_HEADERS, sizeof COMMON_HEADERS - 1);
	if (headers != NULL)
		client_put(c, headers, strlen(headers));
	client_put(c, length, strlen(length));
	client_put(c, "\r\n", 2);
}

void
http_respond(struct http_client *c, int status, const char *type,
    const char *headers, const void *body, size_t len)
{
	char length[64];

	snprintf(length, sizeof length, "Content-Length: %zu\r\n", len);
	put_head(c, status, type, headers, length);
	client_put(c, body, len);
	c->state = C_WRITE;
	c->deadline = now_ms() + SEND_MS;
}

void
http_stream(struct http_client *c)
{
	put_head(c, 200, "text/event-stream", NULL, "");
	c->state = C_STREAM;
	c->deadline = 0;
}

void
http_broadcast(struct http_server *srv, const char *data, size_t len)
{
	for (size_t i = 0; i < MAX_CLIENTS; i++) {
		struct http_client *c = srv->clients[i];

		if (c == NULL || c->state != C_STREAM)
			continue;
		client_put(c, data, len);
		if (c->outlen - c->outoff > STREAM_UNSENT_MAX)
			c->broken = true; /* a reader this slow starts over */
	}
}

void
http_drop_streams(struct http_server *srv)
{
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (srv->clients[i] != NULL &&
		    srv->clients[i]->state == C_STREAM)
			srv->clients[i]->broken = true;
}

size_t
http_nstreams(const struct http_server *srv)
{
	size_t n = 0;

	for (size_t i = 0; i < MAX_CLIENTS; i++)
		n += srv->clients[i] != NULL &&
		    srv->clients[i]->state == C_STREAM &&
		    !srv->clients[i]->broken;
	return n;
}

/* A plain-text error, and the connection closes. */
static void
refuse(struct http_client *c, int status, const char *why)
{
	http_respond(c, status, "text/plain; charset=utf-8",
	    status == 405 ? "Allow: GET, POST\r\n" : NULL, why, strlen(why));
}

/* A header name's characters (RFC 9110 token). */
static bool
is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strchr("!#$%&'*+-.^_`|~", s[i]) == NULL &&
		    !((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

/* Visible ASCII and tabs only: no controls, no bytes above 0x7e. */
static bool
is_visible(const char *s)
{
	for (; *s != '\0'; s++)
		if ((*s < 0x20 && *s != '\t') || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* Keep one header's value; a second copy is refused. */
static int
take_header(const char **slot, const char *value)
{
	if (*slot != NULL)
		return -1;
	*slot = value;
	return 0;
}

/*
 * Parse a head (NUL-terminated after its last header's CRLF), splitting
 * it in place; *body_len from Content-Length.  Returns 0, or the status to
 * refuse it with and *why.
 */
static int
parse_head(
    char *line, struct http_request *r, size_t *body_len, const char **why)
{
	char *next, *colon, *v, *end;
	const char *length = NULL;
	int nheaders = 0;

	*r = (struct http_request){ .query = "" };
	*body_len = 0;
	next = strstr(line, "\r\n");
	*next = '\0';
	next += 2;
	/* METHOD SP TARGET SP HTTP/1.1, nothing more */
	if ((v = strchr(line, ' ')) == NULL ||
	    (end = strchr(v + 1, ' ')) == NULL || strchr(end + 1, ' ') != NULL)
		return *why = "malformed request line", 400;
	*v++ = '\0';
	*end++ = '\0';
	if (strcmp(end, "HTTP/1.1") != 0)
		return *why = "only HTTP/1.1 is served", 505;
	if (strcmp(line, "GET") != 0 && strcmp(line, "POST") != 0)
		return *why = "only GET and POST are served", 405;
	if (v[0] != '/' || strlen(v) > TARGET_MAX || !is_visible(v) ||
	    strchr(v, '\t') != NULL || strchr(v, '#') != NULL)
		return *why = "malformed request target", 400;
	r->method = line;
	r->path = v;
	if ((v = strchr(v, '?')) != NULL) {
		*v = '\0';
		r->query = v + 1;
	}
	for (line = next; *line != '\0'; line = next) {
		if ((next = strstr(line, "\r\n")) == NULL)
			return *why = "malformed header", 400;
		*next = '\0';
		next += 2;
		if (++nheaders > HEADERS_MAX)
			return *why = "too many headers", 431;
		/* no folded lines, no space before the colon */
		if ((colon = strchr(line, ':')) == NULL ||
		    !is_token(line, (size_t)(colon - line)) ||
		    !is_visible(colon + 1))
			return *why = "malformed header", 400;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (end = v + strlen(v);
		     end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		if ((strcasecmp(line, "Host") == 0 &&
		        take_header(&r->host, v) != 0) ||
		    (strcasecmp(line, "Origin") == 0 &&
		        take_header(&r->origin, v) != 0) ||
		    (strcasecmp(line, "X-Ignite-Token") == 0 &&
		        take_header(&r->token, v) != 0) ||
		    (strcasecmp(line, "Sec-Fetch-Site") == 0 &&
		        take_header(&r->fetch_site, v) != 0) ||
		    (strcasecmp(line, "Content-Length") == 0 &&
		        take_header(&length, v) != 0))
			return *why = "a header given twice", 400;
		if (strcasecmp(line, "Transfer-Encoding") == 0)
			return *why = "no transfer codings are served", 501;
	}
	if (r->host == NULL)
		return *why = "no Host header", 400;
	if (length != NULL) {
		if (length[0] == '\0' ||
		    strspn(length, "0123456789") != strlen(length) ||
		    strlen(length) > 5 ||
		    (*body_len = (size_t)atoi(length)) > BODY_MAX)
			return *why = "a body of at most 4096 bytes", 413;
	}
	return 0;
}

/* Read what the client sent; call the handler once it is whole. */
static void
client_read(struct http_client *c)
{
	struct http_request r;
	const char *why;
	size_t body_len, head_len;
	char *blank;
	ssize_t n;
	int status;

	n = recv(c->fd, c->in + c->inlen, sizeof c->in - 1 - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->broken = true;
		return;
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	if (memchr(c->in, '\0', c->inlen) != NULL) {
		refuse(c, 400, "a NUL byte in the request");
		return;
	}
	if ((blank = strstr(c->in, "\r\n\r\n")) == NULL) {
		if (c->inlen >= HEAD_MAX)
			refuse(c, 431, "a request head of at most 8192 bytes");
		return;
	}
	head_len = (size_t)(blank - c->in) + 4;
	if (head_len > HEAD_MAX) {
		refuse(c, 431, "a request head of at most 8192 bytes");
		return;
	}
	/* parsed from a copy: a body still on its way parses it again */
	memcpy(c->head, c->in, head_len - 2);
	c->head[head_len - 2] = '\0';
	if ((status = parse_head(c->head, &r, &body_len, &why)) != 0)
		refuse(c, status, why);
	else if (c->inlen >= head_len + body_len)
		c->srv->handler(c->srv->arg, c, &r);
}

static void
client_write(struct http_client *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			c->broken = true;
			return;
		}
		c->outoff += (size_t)n;
	}
}

static void
client_accept(struct http_server *srv)
{
	struct http_client *c;
	size_t i;
	int fd;

	while ((fd = accept4(
	            srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		for (i = 0; i < MAX_CLIENTS && srv->clients[i] != NULL; i++)
			;
		/* full, or out of memory: the browser retries */
		if (i == MAX_CLIENTS || (c = calloc(1, sizeof *c)) == NULL) {
			close(fd);
			continue;
		}
		c->srv = srv;
		c->fd = fd;
		c->deadline = now_ms() + REQUEST_MS;
		srv->clients[i] = c;
	}
}

/* Close what is done, broken or out of time. */
static void
sweep(struct http_server *srv, int64_t now)
{
	for (size_t i = 0; i < MAX_CLIENTS; i++) {
		struct http_client *c = srv->clients[i];

		if (c == NULL)
			continue;
		if (c->state == C_READ && c->deadline != 0 &&
		    now >= c->deadline && !c->broken) {
			refuse(c, 408, "the request took too long");
			client_write(c); /* a last try; it closes next */
			c->broken = true;
		}
		if (c->broken ||
		    (c->state == C_WRITE &&
		        (c->outoff == c->outlen || now >= c->deadline)))
			client_close(c);
	}
}

int
http_serve(struct http_server *srv, int (*poll_fd)(void *),
    void (*on_fd)(void *), void *arg, volatile sig_atomic_t *stop, ig_err *err)
{
	struct pollfd pfd[MAX_CLIENTS + 2];
	struct http_client *who[MAX_CLIENTS + 2];
	int64_t now;
	nfds_t n;
	int fd, rc;

	srv->keepalive_at = now_ms() + KEEPALIVE_MS;
	while (!*stop) {
		n = 0;
		pfd[n++] = (struct pollfd){ .fd = srv->fd, .events = POLLIN };
		fd = poll_fd(arg);
		pfd[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		for (size_t i = 0; i < MAX_CLIENTS; i++) {
			struct http_client *c = srv->clients[i];

			if (c == NULL)
				continue;
			who[n] = c;
			/* a stream's reads only tell that it closed */
			pfd[n++] = (struct pollfd){
				.fd = c->fd,
				.events =
				    (short)((c->state != C_WRITE ? POLLIN : 0) |
				        (c->outoff < c->outlen ? POLLOUT : 0))
			};
		}
		if ((rc = poll(pfd, n, 1000)) < 0 && errno != EINTR)
			return ig_err_set(
			    err, CTL_ELOCAL, "poll: %s", strerror(errno));
		if (rc > 0 && (pfd[0].revents & POLLIN))
			client_accept(srv);
		if (rc > 0 && fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP)))
			on_fd(arg);
		for (nfds_t k = 2; rc > 0 && k < n; k++) {
			struct http_client *c = who[k];
			char sink[512];

			if (pfd[k].revents & (POLLERR | POLLNVAL))
				c->broken = true;
			else if ((pfd[k].revents & (POLLIN | POLLHUP)) &&
			    c->state == C_READ)
				client_read(c);
			else if ((pfd[k].revents & (POLLIN | POLLHUP)) &&
			    recv(c->fd, sink, sizeof sink, 0) <= 0)
				c->broken = true;
			if (!c->broken && c->outoff < c->outlen)
				client_write(c);
		}
		now = now_ms();
		if (now >= srv->keepalive_at) {
			http_broadcast(srv, ": keep-alive\n\n", 14);
			srv->keepalive_at = now + KEEPALIVE_MS;
		}
		sweep(srv, now);
	}
	return CTL_OK;
}
