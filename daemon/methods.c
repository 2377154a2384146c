/*
 * methods.c - hello, ping and shutdown: the daemon's own methods; the
 * run methods are in run_methods.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ignite/protocol.h"
#include "log.h"
#include "methods.h"

#ifndef IGNITE_VERSION
#define IGNITE_VERSION "unknown"
#endif

/* ---- hello -------------------------------------------------------------- */

static void
pack_hello(msgpack_packer *pk, void *arg)
{
	const int *version = arg;

	msgpack_pack_map(pk, 2);
	ig_pack_str(pk, "version");
	msgpack_pack_int(pk, *version);
	ig_pack_str(pk, "daemon");
	ig_pack_str(pk, "ignited " IGNITE_VERSION);
}

static void
hello(struct server_conn *conn, uint32_t msgid, const msgpack_object *params,
      uid_t peer, void *ud)
{
	int version;
	ig_err e;

	(void)peer, (void)ud;
	if (ig_hello_negotiate(params, &version, &e) != 0) {
		server_error(conn, msgid, e.code, "%s", e.message);
		return;
	}
	server_conn_set_version(conn, version);
	server_reply(conn, msgid, pack_hello, &version);
}

/* ---- ping and shutdown -------------------------------------------------- */

static void
ping(struct server_conn *conn, uint32_t msgid, const msgpack_object *params,
     uid_t peer, void *ud)
{
	(void)params, (void)peer, (void)ud;
	server_reply(conn, msgid, NULL, NULL);
}

static void
shutdown_daemon(struct server_conn *conn, uint32_t msgid,
                const msgpack_object *params, uid_t peer, void *ud)
{
	(void)params, (void)ud;
	if (peer != 0 && peer != geteuid()) {
		server_error(conn, msgid, IG_PROTO_PERMISSION_DENIED,
		    "only root or uid %lu, which runs ignited, may shut it down",
		    (unsigned long)geteuid());
		return;
	}
	log_info("shutdown requested by uid %lu", (unsigned long)peer);
	server_reply(conn, msgid, NULL, NULL);
	server_request_stop(server_conn_server(conn));
}

int
methods_register(struct server *srv)
{
	if (server_register(srv, "hello", hello, NULL) < 0 ||
	    server_register(srv, "ping", ping, NULL) < 0 ||
	    server_register(srv, "shutdown", shutdown_daemon, NULL) < 0)
		return -1;
	return 0;
}
