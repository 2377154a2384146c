/*
 * cmd_daemon.c - the commands about the daemon itself: ping, version,
 * shutdown.
 */
#include <time.h>

#include "ignitectl.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
cmd_ping(struct ctl *ctl, int argc, char **argv)
{
	const msgpack_object *res;
	double t0, ms;
	int rc;

	if ((rc = ctl_args(ctl, argc, argv, 0)) != CTL_CONTINUE)
		return rc;
	if ((rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	t0 = now_ms();
	msgpack_pack_map(conn_begin(ctl->conn, "ping"), 0);
	if ((rc = conn_call(ctl->conn, &res, &ctl->e)) != CTL_OK)
		return rc;
	ms = now_ms() - t0;
	if (ctl->json)
		return json_print(ctl, json_pack("{sbsf}", "ok", 1,
		    "latency_ms", ms));
	fprintf(ctl->out, "%s is alive: %.3f ms\n", conn_daemon(ctl->conn), ms);
	return CTL_OK;
}

int
cmd_version(struct ctl *ctl, int argc, char **argv)
{
	int rc;

	if ((rc = ctl_args(ctl, argc, argv, 0)) != CTL_CONTINUE)
		return rc;
	if ((rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	if (ctl->json)
		return json_print(ctl, json_pack("{sssssi}",
		    "client", "ignitectl " IGNITE_VERSION,
		    "daemon", conn_daemon(ctl->conn),
		    "protocol", IG_PROTO_VERSION));
	fprintf(ctl->out, "ignitectl %s\n%s\nprotocol %d\n", IGNITE_VERSION,
	    conn_daemon(ctl->conn), IG_PROTO_VERSION);
	return CTL_OK;
}

int
cmd_shutdown(struct ctl *ctl, int argc, char **argv)
{
	const msgpack_object *res;
	int rc;

	if ((rc = ctl_args(ctl, argc, argv, 0)) != CTL_CONTINUE)
		return rc;
	if ((rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	msgpack_pack_map(conn_begin(ctl->conn, "shutdown"), 0);
	if ((rc = conn_call(ctl->conn, &res, &ctl->e)) != CTL_OK)
		return rc;
	if (ctl->json)
		return json_print(ctl, json_pack("{sb}", "ok", 1));
	fprintf(ctl->out, "%s is shutting down; unfinished runs resume when "
	    "it starts again\n", conn_daemon(ctl->conn));
	return CTL_OK;
}
