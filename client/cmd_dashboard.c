/*
 * cmd_dashboard.c - ignitectl dashboard: the page (web/, built in) and a
 * JSON API over HTTP on 127.0.0.1 (http.c), each API request answered by
 * running the ignitectl command that does it, with --json's output, over
 * the caller's own connection to the daemon; the daemon's watch
 * notifications relayed to the page as server-sent events.
 *
 * The daemon sees only this user's connections, so the page shows what
 * this user may see.  The port itself is open to every local user and to
 * every web page the browser visits: a request must carry the token
 * printed at start, name this address in its Host (DNS rebinding), and a
 * POST must come from this origin (docs/SECURITY.md).
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/random.h>

#include "http.h"
#include "output.h"

#define TOKEN_BYTES 16
#define RUN_ID_MAX 19 /* digits of an int64 */

struct dash {
	char socket[108];
	char token[2 * TOKEN_BYTES + 1];
	int port;
	struct http_server *srv;
	struct conn *watch; /* watch {}: every run we may follow */
};

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* ---- who may ask ---------------------------------------------------------- */

/* Equal, in a time that does not tell how much of the token matched. */
static bool
token_equal(const char *a, const char *b)
{
	size_t n = strlen(b);
	unsigned char d = 0;

	if (strlen(a) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/*
 * The value of key in a query: 1 found (copied to buf), 0 absent, -1 too
 * long or not plain (letters, digits, '-', '_'): nothing the page sends
 * needs escaping.
 */
static int
query_get(const char *q, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key), n;

	while (*q != '\0') {
		n = strcspn(q, "&");
		if (n > klen && strncmp(q, key, klen) == 0 && q[klen] == '=') {
			q += klen + 1;
			n -= klen + 1;
			if (n == 0 || n >= len ||
			    strspn(q,
			        "abcdefghijklmnopqrstuvwxyz"
			        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") < n)
				return -1;
			memcpy(buf, q, n);
			buf[n] = '\0';
			return 1;
		}
		q += n + (q[n] == '&');
	}
	return 0;
}

/* "127.0.0.1:PORT" or "localhost:PORT", after prefix. */
static bool
is_us(const struct dash *d, const char *prefix, const char *s)
{
	char a[64], b[64];

	snprintf(a, sizeof a, "%s127.0.0.1:%d", prefix, d->port);
	snprintf(b, sizeof b, "%slocalhost:%d", prefix, d->port);
	return strcmp(s, a) == 0 || strcmp(s, b) == 0;
}

/* NULL when r may be served, else why not. */
static const char *
refused(const struct dash *d, const struct http_request *r)
{
	char token[2 * TOKEN_BYTES + 2];
	int found;

	/* A name that resolves here is not this page's origin. */
	if (!is_us(d, "", r->host))
		return "the Host header names another site: open the address "
		       "ignitectl dashboard printed";
	found = query_get(r->query, "token", token, sizeof token);
	if (found == 0 && r->token != NULL && strlen(r->token) < sizeof token)
		found = snprintf(token, sizeof token, "%s", r->token) > 0;
	if (found != 1 || !token_equal(token, d->token))
		return "no valid token: open the address ignitectl dashboard "
		       "printed, token included";
	/* A page elsewhere may not make us act, even with the token. */
	if (strcmp(r->method, "POST") == 0 &&
	    (r->origin == NULL || !is_us(d, "http://", r->origin) ||
	        (r->fetch_site != NULL &&
	            strcmp(r->fetch_site, "same-origin") != 0)))
		return "a POST from another origin";
	return NULL;
}

/* ---- answers -------------------------------------------------------------- */

static void
send_json(struct http_client *c, int status, json_t *j)
{
	char *s = j != NULL ?
	    json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY) :
	    NULL;

	json_decref(j);
	if (s == NULL) {
		http_respond(c, 500, "text/plain", NULL, "out of memory", 13);
		return;
	}
	http_respond(
	    c, status, "application/json; charset=utf-8", NULL, s, strlen(s));
	free(s);
}

static void
send_error(
    struct http_client *c, int status, const char *message, const char *code)
{
	send_json(c, status,
	    json_pack("{s:s s:o}", "error", message, "code",
	        code != NULL ? json_string(code) : json_null()));
}

/* The HTTP status for a command's failure. */
static int
http_status(int rc, int code)
{
	if (rc == CTL_EUSAGE)
		return 400;
	if (rc == CTL_EUNAVAILABLE)
		return 503;
	if (rc != CTL_EDAEMON)
		return 500;
	switch (code) {
	case IG_PROTO_INVALID_PARAMS:
		return 400;
	case IG_PROTO_PERMISSION_DENIED:
		return 403;
	case IG_PROTO_NOT_FOUND:
		return 404;
	case IG_PROTO_CONFLICT:
		return 409;
	case IG_PROTO_UNAVAILABLE:
		return 503;
	default:
		return 502;
	}
}

/* Run an ignitectl command as `ignitectl --json ARGV` would, and answer
 * with its document or its error. */
static void
api_command(struct dash *d, struct http_client *c, int argc, char **argv)
{
	struct ctl ctl = { .socket = d->socket, .output = &output_json };
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	int rc;

	ctl.out = open_memstream(&out, &outlen);
	ctl.err = open_memstream(&err, &errlen);
	if (ctl.out == NULL || ctl.err == NULL)
		rc = ig_err_set(&ctl.e, CTL_ELOCAL, "out of memory");
	else
		rc = ctl_command(&ctl, argc, argv);
	if (ctl.out != NULL)
		fclose(ctl.out);
	if (ctl.err != NULL)
		fclose(ctl.err);
	if (rc == CTL_OK)
		http_respond(c, 200, "application/json; charset=utf-8", NULL,
		    out, outlen);
	else
		send_error(c, http_status(rc, ctl.e.code),
		    ctl.e.message[0] != '\0' ? ctl.e.message :
		        err != NULL          ? err :
		                               "failed",
		    rc == CTL_EDAEMON && ctl.e.code > 0 ?
		        ig_proto_code_name(ctl.e.code) :
		        NULL);
	free(out);
	free(err);
}

/* A file; the page "/" with its token in the addresses of its scripts and
 * styles. */
static void
send_asset(struct dash *d, struct http_client *c, const struct http_asset *a)
{
	static const char mark[] = "@TOKEN@";
	const char *p = (const char *)a->data, *end = p + a->len, *m;
	char *page, *o;

	size_t marks = 0;

	if (strcmp(a->path, "/") != 0) {
		http_respond(c, 200, a->type, NULL, a->data, a->len);
		return;
	}
	for (m = p;
	     (m = memmem(m, (size_t)(end - m), mark, sizeof mark - 1)) != NULL;
	     m += sizeof mark - 1)
		marks++;
	if ((page = o = malloc(a->len + marks * strlen(d->token) + 1)) ==
	    NULL) {
		send_error(c, 500, "out of memory", NULL);
		return;
	}
	while (
	    (m = memmem(p, (size_t)(end - p), mark, sizeof mark - 1)) != NULL) {
		memcpy(o, p, (size_t)(m - p));
		o += m - p;
		memcpy(o, d->token, strlen(d->token));
		o += strlen(d->token);
		p = m + sizeof mark - 1;
	}
	memcpy(o, p, (size_t)(end - p));
	o += end - p;
	http_respond(c, 200, a->type, NULL, page, (size_t)(o - page));
	free(page);
}

static void
send_me(struct dash *d, struct http_client *c)
{
	const char *user = owner_name((int64_t)geteuid());

	send_json(c, 200,
	    json_pack("{s:I s:o s:s s:s}", "uid", (json_int_t)geteuid(), "user",
	        user != NULL ? json_string(user) : json_null(), "daemon",
	        d->watch != NULL ? conn_daemon(d->watch) : "", "client",
	        "ignitectl " IGNITE_VERSION));
}

/* ---- the watch relay ------------------------------------------------------ */

static int
watch_open(struct dash *d, ig_err *err)
{
	const msgpack_object *res;
	int rc;

	if (d->watch != NULL)
		return CTL_OK;
	if ((rc = conn_open(d->socket, &d->watch, NULL, err)) != CTL_OK)
		return rc;
	msgpack_pack_map(conn_begin(d->watch, "watch"), 0);
	if ((rc = conn_call(d->watch, &res, err)) != CTL_OK) {
		conn_close(d->watch);
		d->watch = NULL;
	}
	return rc;
}

/* One notification to every page, as an event whose data is the line
 * `ignitectl --json watch` prints for it. */
static int
relay(struct dash *d, const char *method, const msgpack_object *params)
{
	ig_series *series = NULL;
	size_t nseries = 0;
	char *s = NULL, *ev;
	json_t *j;
	ig_err e;
	int n;

	if (strcmp(method, "metrics") == 0 &&
	    ig_series_unpack(
	        ig_map_get(params, "series"), &series, &nseries, &e) != 0)
		return 0; /* a batch that makes no sense: skip it */
	j = json_note(method, params, series, nseries);
	ig_series_free(series, nseries);
	if (j != NULL)
		s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(j);
	if (s == NULL || (n = asprintf(&ev, "data: %s\n\n", s)) < 0) {
		free(s);
		return -1;
	}
	http_broadcast(d->srv, ev, (size_t)n);
	free(ev);
	free(s);
	return 0;
}

static int
watch_fd(void *arg)
{
	struct dash *d = arg;

	return d->watch != NULL ? conn_fd(d->watch) : -1;
}

/* Relay what the daemon sent; when the connection broke, the pages'
 * streams end too, and their reconnection opens it again. */
static void
watch_read(void *arg)
{
	struct dash *d = arg;
	const msgpack_object *params;
	const char *method;
	ig_err e;

	for (;;) {
		if (conn_next(d->watch, 0, &method, &params, &e) != CTL_OK ||
		    (method != NULL && relay(d, method, params) != 0)) {
			conn_close(d->watch);
			d->watch = NULL;
			http_drop_streams(d->srv);
			return;
		}
		if (method == NULL)
			return;
	}
}

/* ---- routes --------------------------------------------------------------- */

/* "/api/runs/ID" and what follows it: *rest is "" or "/WHAT". */
static bool
run_path(const char *path, char *id, const char **rest)
{
	static const char prefix[] = "/api/runs/";
	size_t n;

	if (strncmp(path, prefix, sizeof prefix - 1) != 0)
		return false;
	path += sizeof prefix - 1;
	if ((n = strspn(path, "0123456789")) == 0 || n > RUN_ID_MAX ||
	    path[0] == '0')
		return false;
	memcpy(id, path, n);
	id[n] = '\0';
	*rest = path + n;
	return true;
}

/* The action a POST to "/api/runs/ID/ACTION" asks for, or NULL. */
static const char *
action_of(const char *rest)
{
	static const char *const actions[] = { "pause", "resume", "terminate",
		"terminate-epoch" };

	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (rest[0] == '/' && strcmp(rest + 1, actions[i]) == 0)
			return actions[i];
	return NULL;
}

/* A run's page of the API: GET its status, metrics, logs, spec and
 * checkpoints, POST the actions on it. */
static void
api_run(struct dash *d, struct http_client *c, const struct http_request *r,
    char *id, const char *rest)
{
	char cmd[32], opt[16], value[24], nowait[] = "--no-wait";
	bool get = strcmp(r->method, "GET") == 0;
	const char *action;
	char *argv[6];
	int argc = 0, found = 0;

	argv[argc++] = cmd;
	if (get && rest[0] == '\0') {
		strcpy(cmd, "status");
	} else if (get && strcmp(rest, "/metrics") == 0) {
		strcpy(cmd, "metrics");
		strcpy(opt, "--max-points");
		found = query_get(r->query, "max_points", value, sizeof value);
	} else if (get && strcmp(rest, "/logs") == 0) {
		strcpy(cmd, "logs");
		strcpy(opt, "--tail");
		found = query_get(r->query, "tail", value, sizeof value);
	} else if (get &&
	    (strcmp(rest, "/spec") == 0 || strcmp(rest, "/checkpoints") == 0)) {
		strcpy(cmd, rest + 1);
	} else if (!get && (action = action_of(rest)) != NULL) {
		snprintf(cmd, sizeof cmd, "%s", action);
		/* the page hears the end from its event stream */
		if (strcmp(cmd, "terminate") == 0 || strcmp(cmd, "pause") == 0)
			argv[argc++] = nowait;
	} else {
		send_error(c, 404, "no such page", NULL);
		return;
	}
	if (found < 0) {
		send_error(c, 400, "a bad query value", NULL);
		return;
	}
	argv[argc++] = id;
	if (found > 0) {
		argv[argc++] = opt;
		argv[argc++] = value;
	}
	api_command(d, c, argc, argv);
}

/* A built-in file by its path, or NULL. */
static const struct http_asset *
asset(const char *path)
{
	for (size_t i = 0; i < http_nassets; i++)
		if (strcmp(path, http_assets[i].path) == 0)
			return &http_assets[i];
	return NULL;
}

static void
handle(void *arg, struct http_client *c, const struct http_request *r)
{
	struct dash *d = arg;
	char id[RUN_ID_MAX + 1], cmd[] = "ls";
	char *ls[] = { cmd };
	const struct http_asset *a;
	const char *why, *rest;
	ig_err e;

	if ((why = refused(d, r)) != NULL)
		send_error(c, 403, why, NULL);
	else if (run_path(r->path, id, &rest))
		api_run(d, c, r, id, rest);
	else if (strcmp(r->method, "GET") != 0)
		send_error(c, 404, "no such page", NULL);
	else if (strcmp(r->path, "/api/runs") == 0)
		api_command(d, c, 1, ls);
	else if (strcmp(r->path, "/api/me") == 0)
		send_me(d, c);
	else if (strcmp(r->path, "/api/events") != 0 && (a = asset(r->path)))
		send_asset(d, c, a);
	else if (strcmp(r->path, "/api/events") != 0)
		send_error(c, 404, "no such page", NULL);
	else if (watch_open(d, &e) != CTL_OK)
		send_error(c, 503, e.message, NULL);
	else
		http_stream(c);
}

/* ---- the command ---------------------------------------------------------- */

static int
make_token(struct dash *d, ig_err *err)
{
	unsigned char raw[TOKEN_BYTES];
	ssize_t n;

	do
		n = getrandom(raw, sizeof raw, 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof raw)
		return ig_err_set(err, CTL_ELOCAL, "getrandom: %s",
		    n < 0 ? strerror(errno) : "short read");
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(d->token + 2 * i, 3, "%02x", raw[i]);
	return CTL_OK;
}

int
cmd_dashboard(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct dash d = { .watch = NULL };
	const char *how;
	int64_t port = 0;
	char url[128];
	int c, rc;

	while ((c = ctl_getopt(ctl, argc, argv, opts, &rc)) != -1) {
		if (c == CTL_OPT_DONE)
			return rc;
		if ((rc = ctl_number(ctl, "--port", optarg, 0, 65535, &port)) !=
		    CTL_OK)
			return rc;
	}
	if ((rc = ctl_operands(ctl, argc, argv, 0)) != CTL_OK ||
	    (rc = conn_socket_path(ctl->socket, d.socket, sizeof d.socket, &how,
	         &ctl->e)) != CTL_OK ||
	    (rc = make_token(&d, &ctl->e)) != CTL_OK)
		return rc;
	/* Fail now, not in the browser, when the daemon is not there. */
	if ((rc = watch_open(&d, &ctl->e)) != CTL_OK)
		return rc;
	if ((rc = http_listen(&d.srv, (int)port, handle, &d, &ctl->e)) !=
	    CTL_OK)
		goto out;
	d.port = http_port(d.srv);
	snprintf(
	    url, sizeof url, "http://127.0.0.1:%d/?token=%s", d.port, d.token);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((rc = ctl->output->dashboard(ctl, url, d.port)) == CTL_OK)
		rc = http_serve(
		    d.srv, watch_fd, watch_read, &d, &stopping, &ctl->e);
out:
	http_free(d.srv);
	conn_close(d.watch);
	return rc;
}
