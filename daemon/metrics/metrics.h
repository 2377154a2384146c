/*
 * metrics.h - the metrics endpoint (ignited --metrics-listen): GET
 * /metrics in the Prometheus text format, over a minimal HTTP server on
 * the daemon's loop (http.h).  What it shows is read on the loop, from
 * the run manager's, the store's and the server's read-only views, at
 * each scrape; none of them knows HTTP.
 *
 * Off unless asked for, and on a loopback address unless the operator
 * says otherwise: anyone who can connect sees every run's name, owner and
 * metric values (SECURITY.md).
 */
#ifndef IGNITED_METRICS_H
#define IGNITED_METRICS_H

#include <stdbool.h>
#include <sys/socket.h>

#include <uv.h>

#include "ignite/protocol.h"

/* Series of runs (their gauges and last metric values) a scrape shows at
 * most; past it, the newest and unfinished runs first, the rest dropped
 * and counted (ignited_metrics_series_dropped_total). */
#define METRICS_SERIES_MAX 10000

struct runs;
struct store;
struct server;
struct metrics;

struct metrics_sources {
	struct runs *runs;
	struct store *store;
	struct server *srv;
};

/* Read --metrics-listen's ADDR:PORT ([ADDR]:PORT for IPv6; a PORT alone
 * is 127.0.0.1's) into ss.  An address other than loopback is refused
 * unless public is set.  0, or an IG_PROTO_* code with a message in err. */
int metrics_parse_listen(
    const char *s, bool public, struct sockaddr_storage *ss, ig_err *err);
/* Serve the endpoint at addr; src is copied.  NULL with a message in err. */
struct metrics *metrics_open(uv_loop_t *loop, const struct sockaddr *addr,
    const struct metrics_sources *src, ig_err *err);
/* Stop serving, before the sources are closed. */
void metrics_close(struct metrics *m);

#endif
