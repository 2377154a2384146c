/*
 * daemon.c - hello, ping and shutdown: the daemon's own methods; the
 * run methods are in runs.c, the table of them all in table.c.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ignite/protocol.h"
#include "log.h"
#include "api/api_int.h"

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

bool
api_params_empty(struct api_call *c)
{
	ig_err e;

	if (api_no_params(c) ||
	    ig_map_read(c->params, "params", NULL, 0, 0, &e) == 0)
		return true;
	server_error(c->conn, c->msgid, e.code, "%s", e.message);
	return false;
}

void
api_hello(struct api_call *c)
{
	const msgpack_object *versions = NULL;
	char *client = NULL;
	ig_fdef defs[] = {
		{ .key = "versions",
		    .type = IG_F_ARRAY,
		    .required = true,
		    .out = &versions },
		{ .key = "client", .type = IG_F_STR, .out = &client },
	};
	int version;
	ig_err e;

	if (ig_map_read(c->params, "params", defs, 2, 0, &e) != 0 ||
	    ig_hello_negotiate(c->params, &version, &e) != 0) {
		free(client);
		server_error(c->conn, c->msgid, e.code, "%s", e.message);
		return;
	}
	free(client);
	server_conn_set_version(c->conn, version);
	server_reply(c->conn, c->msgid, pack_hello, &version);
}

/* ---- ping and shutdown -------------------------------------------------- */

void
api_ping(struct api_call *c)
{
	if (api_params_empty(c))
		server_reply(c->conn, c->msgid, NULL, NULL);
}

/* Who may: the table says (root and the daemon's own uid). */
void
api_shutdown(struct api_call *c)
{
	if (!api_params_empty(c))
		return;
	log_info("shutdown requested by uid %lu", (unsigned long)c->peer);
	server_reply(c->conn, c->msgid, NULL, NULL);
	server_request_stop(server_conn_server(c->conn));
}
