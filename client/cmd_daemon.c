/*
 * cmd_daemon.c - the commands about the daemon itself: ping, version,
 * shutdown.
 */
#include <time.h>

#include "output.h"

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
	return ctl->output->ping(ctl, ms);
}

int
cmd_version(struct ctl *ctl, int argc, char **argv)
{
	int rc;

	if ((rc = ctl_args(ctl, argc, argv, 0)) != CTL_CONTINUE)
		return rc;
	if ((rc = ctl_connect(ctl)) != CTL_OK)
		return rc;
	return ctl->output->version(ctl);
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
	return ctl->output->shutdown(ctl);
}
