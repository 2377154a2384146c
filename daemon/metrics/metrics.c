/*
 * metrics.c - the metrics endpoint (metrics.h): what a scrape shows.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics/expo.h"
#include "metrics/http.h"
#include "metrics/metrics.h"
#include "metrics/series.h"
#include "runs/run.h"
#include "server/server.h"
#include "store/store.h"

#define STR(x) #x
#define XSTR(x) STR(x)
#define CAP XSTR(METRICS_SERIES_MAX)

struct metrics {
	struct metrics_sources src;
	struct http *http;
	uint64_t dropped; /* series dropped by every scrape so far */
};

static void
write_methods(const char *name, uint64_t served, void *arg)
{
	struct expo_label l = { "method", name };

	expo_sample(arg, "ignited_requests_total", &l, 1, (double)served);
}

static void
write_daemon(struct metrics *m, struct expo *x)
{
	const struct runs_stats *rs = &m->src.runs->stats;
	struct store_stats ss;

	store_stats(m->src.store, &ss);
	expo_family(x, "ignited_store_queue_depth", "gauge",
	    "Store writes enqueued and not yet committed.");
	expo_sample(x, "ignited_store_queue_depth", NULL, 0, (double)ss.queued);
	expo_family(x, "ignited_store_queue_bytes", "gauge",
	    "What those writes hold, against --max-store-queue.");
	expo_sample(
	    x, "ignited_store_queue_bytes", NULL, 0, (double)ss.queued_bytes);
	expo_hist(x, "ignited_store_commit_seconds",
	    "How long the store's writer took to commit a transaction.",
	    ss.commit_seconds);
	expo_hist(x, "ignited_checkpoint_seconds",
	    "From a checkpoint asked for to its commit, for those a run waits "
	    "for (all but a run's last).",
	    &rs->ckpt_seconds);
	expo_hist(x, "ignited_checkpoint_bytes",
	    "Checkpoint sizes: state_dict and the process function's state.",
	    &rs->ckpt_bytes);
	expo_family(x, "ignited_worker_restarts_total", "counter",
	    "Exec workers restarted after they failed.");
	expo_sample(x, "ignited_worker_restarts_total", NULL, 0,
	    (double)rs->worker_restarts);
	expo_family(x, "ignited_connections", "gauge",
	    "Clients connected to the control socket.");
	expo_sample(x, "ignited_connections", NULL, 0,
	    (double)server_conns(m->src.srv));
	expo_family(x, "ignited_requests_total", "counter",
	    "Requests served on the control socket, by method.");
	server_each_method(m->src.srv, write_methods, x);
}

static int
scrape(void *ud, char **body, size_t *len, const char **type)
{
	struct metrics *m = ud;
	struct runs *mgr = m->src.runs;
	struct series_row *rows = NULL;
	struct expo x;
	size_t n = mgr->n;

	if (n > 0 && (rows = calloc(n, sizeof(*rows))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		run_summary(mgr->v[i], &rows[i].s);
	expo_init(&x, METRICS_SERIES_MAX);
	series_write_runs(&x, rows, n);
	write_daemon(m, &x);
	m->dropped += x.dropped;
	expo_family(&x, "ignited_metrics_series_dropped_total", "counter",
	    "Run series left out of scrapes over the cap of " CAP ".");
	expo_sample(&x, "ignited_metrics_series_dropped_total", NULL, 0,
	    (double)m->dropped);
	for (size_t i = 0; i < n; i++)
		run_summary_clear_metrics(&rows[i].s);
	free(rows);
	if (x.failed) {
		expo_free(&x);
		return -1;
	}
	*body = x.buf;
	*len = x.len;
	*type = EXPO_CONTENT_TYPE;
	return 0;
}

static bool
loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)
		                  ->sin_addr.s_addr) >>
		           24) == 127;
	const struct in6_addr *a =
	    &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a) ||
	    (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

int
metrics_parse_listen(
    const char *s, bool public, struct sockaddr_storage *ss, ig_err *err)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':'), *port = colon ? colon + 1 : s;
	size_t hostlen = colon ? (size_t)(colon - s) : 0;
	char *end;
	unsigned long p;

	p = strtoul(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || *end != '\0' || p < 1 ||
	    p > 65535)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "--metrics-listen %s: expected ADDRESS:PORT, [IPV6]:PORT "
		    "or PORT, with a port from 1 to 65535",
		    s);
	if (colon == NULL)
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (hostlen >= sizeof(host))
		hostlen = 0; /* refused below */
	else if (s[0] == '[' && hostlen >= 2 && s[hostlen - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)hostlen - 2, s + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)hostlen, s);
	memset(ss, 0, sizeof(*ss));
	if (colon != NULL &&
	    (hostlen == 0 ||
	        (uv_ip4_addr(host, (int)p, (struct sockaddr_in *)ss) != 0 &&
	            (s[0] != '[' ||
	                uv_ip6_addr(host, (int)p, (struct sockaddr_in6 *)ss) !=
	                    0))))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "--metrics-listen %s: the address is not a numeric IPv4 "
		    "address or a bracketed IPv6 one (e.g. 127.0.0.1:9464, "
		    "[::1]:9464)",
		    s);
	if (colon == NULL)
		uv_ip4_addr(host, (int)p, (struct sockaddr_in *)ss);
	if (!public && !loopback(ss))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "--metrics-listen %s: not a loopback address; the "
		    "endpoint shows every run's name, owner and metrics to "
		    "whoever connects: add --metrics-public to serve it there "
		    "anyway",
		    s);
	return 0;
}

/* "127.0.0.1:9464", "[::1]:9464" */
static const char *
addr_name(const struct sockaddr *sa)
{
	static char buf[INET6_ADDRSTRLEN + 8];
	char ip[INET6_ADDRSTRLEN];
	bool v6 = sa->sa_family == AF_INET6;
	int port = ntohs(v6 ? ((const struct sockaddr_in6 *)sa)->sin6_port :
	                      ((const struct sockaddr_in *)sa)->sin_port);

	uv_ip_name(sa, ip, sizeof(ip));
	snprintf(buf, sizeof(buf), v6 ? "[%s]:%d" : "%s:%d", ip, port);
	return buf;
}

struct metrics *
metrics_open(uv_loop_t *loop, const struct sockaddr *addr,
    const struct metrics_sources *src, ig_err *err)
{
	struct metrics *m;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		return NULL;
	}
	m->src = *src;
	if ((m->http = http_open(loop, addr, "/metrics", scrape, m, err)) ==
	    NULL) {
		free(m);
		return NULL;
	}
	log_info("metrics endpoint: GET /metrics on %s", addr_name(addr));
	return m;
}

void
metrics_close(struct metrics *m)
{
	http_close(m->http);
	free(m);
}
