/*
 * listen.h - ignited --worker-listen: workers that dial back over TCP
 * (PROTOCOL.md, "Workers that dial back").
 *
 * A connection's first frame must be a request hello {versions: [1],
 * run: int, secret: bin 32} within HELLO_TIMEOUT; the listener asks its
 * claim function which worker it is, and hands the connection to that
 * remote worker (worker_attach), which answers the hello.  Anything else
 * is logged with the peer's address and closed: without an answer when
 * the run or its secret is wrong (telling nothing), with CONFLICT when
 * the run has a worker connected, with the answer and shutdown when the
 * run wants no worker any more.
 */
#ifndef IGNITED_WORKER_LISTEN_H
#define IGNITED_WORKER_LISTEN_H

#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "ignite/protocol.h"

#define WORKER_SECRET_LEN 32

struct worker;
struct worker_listen;

enum worker_claim {
	WORKER_CLAIM_TAKE, /* *w waits for this connection */
	WORKER_CLAIM_UNKNOWN, /* no such run, or the wrong secret: drop */
	WORKER_CLAIM_BUSY, /* a worker of the run is connected: CONFLICT */
	WORKER_CLAIM_ENDED, /* the run wants no worker: answer, shutdown */
};

/* Which worker the run's hello is for; why says why not, for the log. */
typedef enum worker_claim worker_claim_fn(void *ud, int64_t run,
    const unsigned char *secret, struct worker **w, char *why, size_t whylen);

/* HOST:PORT (a numeric IPv4 address or a bracketed IPv6 one) into ss. */
int worker_listen_parse(
    const char *s, struct sockaddr_storage *ss, ig_err *err);

/* Listen at addr; NULL with a message in err. */
struct worker_listen *worker_listen_open(uv_loop_t *loop,
    const struct sockaddr *addr, worker_claim_fn *claim, void *ud, ig_err *err);

/* Stop listening and drop the connections that have not said hello. */
void worker_listen_close(struct worker_listen *l);

#endif
