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

/* A run as one scrape shows it. */
struct row {
	ig_summary s; /* metrics allocated: run_summary_clear_metrics */
	char id[24], owner[24];
	size_t shown; /* of its series, within the budget */
};

static bool
unfinished(int status)
{
	return status == IG_STATUS_QUEUED || status == IG_STATUS_RUNNING ||
	    status == IG_STATUS_PAUSED;
}

/* Unfinished runs first, then the newest: what the budget keeps. */
static int
row_cmp(const void *a, const void *b)
{
	const ig_summary *x = &((const struct row *)a)->s;
	const ig_summary *y = &((const struct row *)b)->s;

	if (unfinished(x->status) != unfinished(y->status))
		return unfinished(x->status) ? -1 : 1;
	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

static bool
has_progress(const ig_summary *s)
{
	return s->max_epochs > 0 && s->epoch_length > 0;
}

/* ignited_runs{status, owner}: every status of every owner with a run. */
static void
write_counts(struct expo *x, const struct row *rows, size_t n)
{
	struct expo_label l[2] = { { "status", NULL }, { "owner", NULL } };

	expo_family(x, "ignited_runs", "gauge",
	    "Runs the daemon knows, by status and owner (uid).");
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		size_t count[IG_STATUS_COUNT] = { 0 };

		for (size_t j = 0; j < i && !seen; j++)
			seen = rows[j].s.owner == rows[i].s.owner;
		if (seen)
			continue;
		for (size_t j = i; j < n; j++)
			if (rows[j].s.owner == rows[i].s.owner &&
			    rows[j].s.status >= 0 &&
			    rows[j].s.status < IG_STATUS_COUNT)
				count[rows[j].s.status]++;
		l[1].value = rows[i].owner;
		for (int st = 0; st < IG_STATUS_COUNT; st++) {
			l[0].value = ig_status_name(st);
			expo_sample(x, "ignited_runs", l, 2, (double)count[st]);
		}
	}
}

/* The gauges every run has, as sample k of its series. */
static const struct {
	const char *name, *help;
} run_gauges[] = {
	{ "ignited_run_iterations_per_second",
	    "Iterations per second, recent; 0 unless running." },
	{ "ignited_run_iteration", "Iterations done, over every epoch." },
	{ "ignited_run_epoch", "The current epoch." },
	{ "ignited_run_progress",
	    "Iterations done of max_epochs times epoch_length, 0 to 1; only "
	    "when both are known." },
};

static double
run_gauge(const ig_summary *s, size_t k)
{
	double total;

	switch (k) {
	case 0:
		return s->rate;
	case 1:
		return (double)s->iteration;
	case 2:
		return (double)s->epoch;
	default:
		total = (double)s->max_epochs * (double)s->epoch_length;
		return (double)s->iteration < total ?
		    (double)s->iteration / total :
		    1;
	}
}

static void
write_runs(struct expo *x, struct row *rows, size_t n)
{
	struct expo_label l[4] = { { "run", NULL }, { "name", NULL },
		{ "owner", NULL }, { "metric", NULL } };
	size_t ngauges = sizeof(run_gauges) / sizeof(run_gauges[0]);

	for (size_t i = 0; i < n; i++) {
		size_t base = ngauges - !has_progress(&rows[i].s);
		rows[i].shown = expo_take(x, base + rows[i].s.nmetrics);
	}
	for (size_t k = 0; k < ngauges; k++) {
		expo_family(x, run_gauges[k].name, "gauge", run_gauges[k].help);
		for (size_t i = 0; i < n; i++) {
			const struct row *r = &rows[i];
			/* the progress gauge is the last: k is its index */
			if (k >= r->shown || (k == 3 && !has_progress(&r->s)))
				continue;
			l[0].value = r->id;
			l[1].value = r->s.name;
			l[2].value = r->owner;
			expo_sample(
			    x, run_gauges[k].name, l, 3, run_gauge(&r->s, k));
		}
	}
	expo_family(x, "ignited_run_metric", "gauge",
	    "The last value of each metric of a run.");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		size_t base = ngauges - !has_progress(&r->s);
		for (size_t k = 0; base + k < r->shown; k++) {
			l[0].value = r->id;
			l[1].value = r->s.name;
			l[2].value = r->owner;
			l[3].value = r->s.metrics[k].name;
			expo_sample(x, "ignited_run_metric", l, 4,
			    r->s.metrics[k].value);
		}
	}
}

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
	struct row *rows = NULL;
	struct expo x;
	size_t n = mgr->n;

	if (n > 0 && (rows = calloc(n, sizeof(*rows))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		run_summary(mgr->v[i], &rows[i].s);
		snprintf(
		    rows[i].id, sizeof(rows[i].id), "%" PRId64, rows[i].s.id);
		snprintf(rows[i].owner, sizeof(rows[i].owner), "%" PRId64,
		    rows[i].s.owner);
	}
	if (n > 0)
		qsort(rows, n, sizeof(*rows), row_cmp);
	expo_init(&x, METRICS_SERIES_MAX);
	write_counts(&x, rows, n);
	write_runs(&x, rows, n);
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
