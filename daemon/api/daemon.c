/*
 * daemon.c - hello, ping and shutdown: the daemon's own methods; the
 * run methods are in runs.c.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ignite/protocol.h"
#include "log.h"
#include "api/api.h"

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

/* Params that must be empty: {} or [] (how msgpack-RPC clients often say
 * "none"); anything else is refused, as PROTOCOL.md says of unknown keys.
 * Replies with the error itself and returns false. */
static bool
params_empty(struct server_conn *conn, uint32_t msgid, const msgpack_object *params)
{
	ig_err e;

	if (params->type == MSGPACK_OBJECT_ARRAY && params->via.array.size == 0)
		return true;
	if (ig_map_read(params, "params", NULL, 0, 0, &e) == 0)
		return true;
	server_error(conn, msgid, e.code, "%s", e.message);
	return false;
}

static void
hello(struct server_conn *conn, uint32_t msgid, const msgpack_object *params,
      uid_t peer, void *ud)
{
	const msgpack_object *versions = NULL;
	char *client = NULL;
	ig_fdef defs[] = {
		{ .key = "versions", .type = IG_F_ARRAY, .required = true, .out = &versions },
		{ .key = "client", .type = IG_F_STR, .out = &client },
	};
	int version;
	ig_err e;

	(void)peer, (void)ud;
	if (ig_map_read(params, "params", defs, 2, 0, &e) != 0 ||
	    ig_hello_negotiate(params, &version, &e) != 0) {
		free(client);
		server_error(conn, msgid, e.code, "%s", e.message);
		return;
	}
	free(client);
	server_conn_set_version(conn, version);
	server_reply(conn, msgid, pack_hello, &version);
}

/* ---- ping and shutdown -------------------------------------------------- */

static void
ping(struct server_conn *conn, uint32_t msgid, const msgpack_object *params,
     uid_t peer, void *ud)
{
	(void)peer, (void)ud;
	if (params_empty(conn, msgid, params))
		server_reply(conn, msgid, NULL, NULL);
}

static void
shutdown_daemon(struct server_conn *conn, uint32_t msgid,
                const msgpack_object *params, uid_t peer, void *ud)
{
	(void)ud;
	if (!params_empty(conn, msgid, params))
		return;
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
api_daemon_register(struct server *srv)
{
	if (server_register(srv, "hello", hello, NULL) < 0 ||
	    server_register(srv, "ping", ping, NULL) < 0 ||
	    server_register(srv, "shutdown", shutdown_daemon, NULL) < 0)
		return -1;
	return 0;
}
