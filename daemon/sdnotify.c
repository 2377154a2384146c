/*
 * sdnotify.c - systemd's service protocols through libsystemd, or nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdnotify.h"

#ifdef IGNITE_HAVE_SYSTEMD

#include <sys/socket.h>
#include <systemd/sd-daemon.h>

int
sdnotify_listen_fd(int *fd, ig_err *err)
{
	/* unset_environment=1: workers must not think they were activated */
	int n = sd_listen_fds(1), rc;

	*fd = -1;
	if (n < 0) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "reading the sockets systemd passed: %s", strerror(-n));
	}
	if (n == 0)
		return 0;
	if (n > 1) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "systemd passed %d sockets; ignited "
		    "listens on one: give its .socket unit one ListenStream=",
		    n);
	}
	rc = sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0);
	if (rc <= 0) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "the socket systemd passed is not a "
		    "listening Unix stream socket%s%s",
		    rc < 0 ? ": " : "", rc < 0 ? strerror(-rc) : "");
	}
	*fd = SD_LISTEN_FDS_START;
	return 0;
}

bool
sdnotify_enabled(void)
{
	return getenv("NOTIFY_SOCKET") != NULL;
}

int
sdnotify_send(const char *state)
{
	int rc = sd_notify(0, state);

	return rc < 0 ? rc : 0;
}

uint64_t
sdnotify_watchdog_usec(void)
{
	uint64_t usec = 0;

	return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

#else /* !IGNITE_HAVE_SYSTEMD */

int
sdnotify_listen_fd(int *fd, ig_err *err)
{
	(void)err;
	*fd = -1;
	return 0;
}

bool
sdnotify_enabled(void)
{
	return false;
}

int
sdnotify_send(const char *state)
{
	(void)state;
	return 0;
}

uint64_t
sdnotify_watchdog_usec(void)
{
	return 0;
}

#endif
