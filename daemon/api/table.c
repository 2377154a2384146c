/*
 * table.c - the methods of the control protocol in one table, each with
 * who may call it, and the one place that rule is checked.
 */
#include <string.h>
#include <unistd.h>

#include "api/api_int.h"

static const struct api_method methods[] = {
	{ "hello", api_hello, API_ANYONE, API_BEFORE_HELLO },
	{ "ping", api_ping, API_ANYONE, 0 },
	{ "machine", api_machine, API_ANYONE, 0 },
	{ "shutdown", api_shutdown, API_ROOT, 0 },
	{ "run", api_run, API_ANYONE, API_WRITES },
	{ "list", api_list, API_ANYONE, 0 },
	{ "status", api_status, API_READER, 0 },
	{ "metrics", api_metrics, API_READER, 0 },
	{ "watch", api_watch, API_READER, 0 },
	{ "unwatch", api_unwatch, API_READER, 0 },
	{ "state_dict", api_state_dict, API_OWNER, 0 },
	{ "logs", api_logs, API_OWNER, 0 },
	{ "checkpoints", api_checkpoints, API_OWNER, 0 },
	{ "spec", api_spec, API_OWNER, 0 },
	{ "terminate", api_terminate, API_OWNER, API_WRITES },
	{ "terminate_epoch", api_terminate_epoch, API_OWNER, API_WRITES },
	{ "pause", api_pause, API_OWNER, API_WRITES },
	{ "resume", api_resume, API_OWNER, API_WRITES },
	{ "delete", api_delete, API_OWNER, API_WRITES },
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/* What the server hands each method: its entry and the run manager.  One
 * daemon, one table. */
static struct api_binding {
	const struct api_method *method;
	struct runs *mgr;
	struct server *srv;
} bound[NMETHODS];

bool
api_no_params(const struct api_call *c)
{
	return c->params->type == MSGPACK_OBJECT_ARRAY &&
	    c->params->via.array.size == 0;
}

struct run *
api_resolve(struct runs *mgr, const ig_run_ref *ref, uid_t peer, ig_err *err)
{
	struct run *run;
	size_t named = 0;

	if (ref->id > 0) {
		if ((run = runs_find(mgr, ref->id)) == NULL)
			ig_err_set(err, IG_PROTO_NOT_FOUND, "no run %lld",
			    (long long)ref->id);
		return run;
	}
	if ((run = runs_find_name(mgr, ref->name, peer, &named)) == NULL &&
	    named == 0)
		ig_err_set(
		    err, IG_PROTO_NOT_FOUND, "no run called %s", ref->name);
	else if (run == NULL)
		ig_err_set(err, IG_PROTO_NOT_FOUND,
		    "no run of yours is called %s, and %zu "
		    "of other users' are: give the id",
		    ref->name, named);
	return run;
}

struct run *
api_find_run(struct api_call *c, ig_fdef *extra, size_t nextra)
{
	ig_run_ref ref = { 0 };
	ig_fdef defs[8] = {
		{ .key = "id", .type = IG_F_RUN, .required = true, .out = &ref }
	};
	struct run *run = NULL;
	ig_err err = { 0 };

	if (nextra > 0)
		memcpy(&defs[1], extra, nextra * sizeof(*extra));
	if (ig_map_read(c->params, "params", defs, 1 + nextra, 0, &err) != 0 ||
	    (run = api_resolve(c->mgr, &ref, c->peer, &err)) == NULL)
		goto refused;
	if (c->method->access == API_OWNER && !run_owned_by(run, c->peer)) {
		ig_err_set(&err, IG_PROTO_PERMISSION_DENIED,
		    "run %lld belongs to uid %lu", (long long)run->id,
		    (unsigned long)run->owner);
		goto refused;
	}
	if ((c->method->flags & API_WRITES) && runs_writable(c->mgr, &err) != 0)
		goto refused;
	return run;
refused:
	server_error(c->conn, c->msgid, err.code, "%s", err.message);
	return NULL;
}

static void
dispatch(struct server_conn *conn, uint32_t msgid, const msgpack_object *params,
    uid_t peer, void *ud)
{
	const struct api_binding *b = ud;
	struct api_call c = { b->method, b->mgr, b->srv, conn, msgid, params,
		peer };

	if (b->method->access == API_ROOT && peer != 0 && peer != geteuid()) {
		server_error(conn, msgid, IG_PROTO_PERMISSION_DENIED,
		    "only root or uid %lu, which runs ignited, may call %s",
		    (unsigned long)geteuid(), b->method->name);
		return;
	}
	b->method->fn(&c);
}

int
api_register(struct server *srv, struct runs *mgr)
{
	for (size_t i = 0; i < NMETHODS; i++) {
		bound[i] = (struct api_binding){ &methods[i], mgr, srv };
		if (server_register(srv, methods[i].name,
		        methods[i].flags & API_BEFORE_HELLO ?
		            SERVER_BEFORE_HELLO :
		            0,
		        dispatch, &bound[i]) < 0)
			return -1;
	}
	api_watch_open(srv, mgr);
	return 0;
}
