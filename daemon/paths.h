/*
 * paths.h - where ignited keeps its socket and database, and the checks
 * that make those places safe to use.
 *
 * Errors are values: functions return 0, or an IG_PROTO_* code with a
 * message for the user in err.
 */
#ifndef IGNITED_PATHS_H
#define IGNITED_PATHS_H

#include <stddef.h>
#include <sys/types.h>

#include "ignite/protocol.h"

/*
 * The default socket path: /run/ignite/ignited.sock for root, else
 * $XDG_RUNTIME_DIR/ignite/ignited.sock, else /tmp/ignite-UID/ignited.sock.
 */
int paths_default_socket(char *buf, size_t len, ig_err *err);

/*
 * The default database: /var/lib/ignite/ignite.db for root, else
 * $XDG_STATE_HOME/ignite/ignite.db, else ~/.local/state/ignite/ignite.db.
 */
int paths_default_db(char *buf, size_t len, ig_err *err);

/* Create the directories above path that are missing (0700 each). */
int paths_make_parents(const char *path, ig_err *err);

/*
 * Make the directory that holds the socket ready, as tmux does: a missing
 * one is created with its parents, mode 0700 (0750 and group gid when gid
 * != (gid_t)-1); an existing one is used as it is, never chmod-ed, and
 * refused, with advice to choose another --socket, unless it is a real
 * directory owned by us and closed to others (and to the group, unless
 * gid is given: then it must be the group's, searchable, not writable).
 */
int paths_runtime_dir(const char *socket_path, gid_t gid, ig_err *err);

#endif
