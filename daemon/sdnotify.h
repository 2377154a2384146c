/*
 * sdnotify.h - ignited's side of systemd's service protocols: socket
 * activation (sd_listen_fds), readiness and status (sd_notify) and the
 * watchdog (sd_watchdog_enabled).
 *
 * Built with libsystemd (IGNITE_HAVE_SYSTEMD) these call it; built without,
 * every function answers "not under systemd": no socket was passed, nobody
 * listens to notifications, no watchdog.  Either way the daemon runs.
 */
#ifndef IGNITED_SDNOTIFY_H
#define IGNITED_SDNOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ignite/protocol.h"

/*
 * The listening socket systemd passed us (LISTEN_FDS), if any.  Sets *fd
 * to it (ours from now on, close-on-exec) or to -1 when we were not socket
 * activated.  Returns 0, or an IG_PROTO_* code with a message in err when
 * what was passed is not exactly one listening Unix stream socket.  The
 * LISTEN_* variables are removed from the environment, so workers do not
 * see them.
 */
int sdnotify_listen_fd(int *fd, ig_err *err);

/* Does anyone listen to our notifications (NOTIFY_SOCKET is set)? */
bool sdnotify_enabled(void);

/*
 * Send state, newline-separated VAR=value assignments ("READY=1",
 * "STATUS=...").  Returns 0 when sent or when nobody listens, or a
 * negative errno value when sending failed (the caller logs it; the daemon
 * goes on).
 */
int sdnotify_send(const char *state);

/* The watchdog interval systemd asks for (WATCHDOG_USEC, for this pid),
 * in microseconds; 0 when there is no watchdog. */
uint64_t sdnotify_watchdog_usec(void);

#endif
