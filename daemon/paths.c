/*
 * paths.c - default locations and safe directories.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"

/* snprintf that reports a path that does not fit instead of cutting it. */
static int
path_fmt(char *buf, size_t len, ig_err *err, const char *fmt, const char *a,
    const char *b)
{
	int n = snprintf(buf, len, fmt, a, b);

	if (n < 0 || (size_t)n >= len) {
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "path too long: %s%s...", a, b);
	}
	return 0;
}

/* An absolute path from the environment, or NULL: the XDG spec says a
 * relative one is to be ignored. */
static const char *
env_dir(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] == '/' ? v : NULL;
}

int
paths_default_socket(char *buf, size_t len, ig_err *err)
{
	const char *run;
	char uid[32];

	if (geteuid() == 0)
		return path_fmt(
		    buf, len, err, "%s%s", "/run/ignite", "/ignited.sock");
	if ((run = env_dir("XDG_RUNTIME_DIR")) != NULL)
		return path_fmt(
		    buf, len, err, "%s%s", run, "/ignite/ignited.sock");
	snprintf(uid, sizeof uid, "%lu", (unsigned long)geteuid());
	return path_fmt(
	    buf, len, err, "/tmp/ignite-%s%s", uid, "/ignited.sock");
}

int
paths_default_db(char *buf, size_t len, ig_err *err)
{
	const char *state, *home;
	struct passwd *pw;

	if (geteuid() == 0)
		return path_fmt(
		    buf, len, err, "%s%s", "/var/lib/ignite", "/ignite.db");
	if ((state = env_dir("XDG_STATE_HOME")) != NULL)
		return path_fmt(
		    buf, len, err, "%s%s", state, "/ignite/ignite.db");
	if ((home = env_dir("HOME")) == NULL) {
		pw = getpwuid(geteuid());
		if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] != '/') {
			return ig_err_set(err, IG_PROTO_INTERNAL,
			    "no home directory for uid %lu: "
			    "set HOME or XDG_STATE_HOME, or pass --db",
			    (unsigned long)geteuid());
		}
		home = pw->pw_dir;
	}
	return path_fmt(
	    buf, len, err, "%s%s", home, "/.local/state/ignite/ignite.db");
}

/* mkdir -p of the directory part of path, without its last component. */
int
paths_make_parents(const char *path, ig_err *err)
{
	char dir[4096];
	char *slash;
	size_t n = strlen(path);

	if (n >= sizeof dir) {
		return ig_err_set(
		    err, IG_PROTO_INVALID_PARAMS, "path too long: %s", path);
	}
	memcpy(dir, path, n + 1);
	if ((slash = strrchr(dir, '/')) == NULL)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (dir[0] != '\0' && mkdir(dir, 0700) < 0 && errno != EEXIST)
		goto fail;
	return 0;
fail:
	return ig_err_set(err, IG_PROTO_INTERNAL,
	    "cannot create directory %s: %s", dir, strerror(errno));
}

/*
 * What to tell a user whose socket directory dir is refused: another
 * --socket, the default one when it lies elsewhere.  Never a chmod of a
 * directory ignited did not make: /tmp is shared on purpose, and root
 * owns the system's directories.
 */
static const char *
another_socket(const char *dir, char *buf, size_t len)
{
	char def[4096];
	ig_err err;
	size_t n;

	if (paths_default_socket(def, sizeof def, &err) != 0)
		return "choose another --socket, in a directory of your own";
	n = (size_t)(strrchr(def, '/') - def);
	if (strlen(dir) == n && strncmp(def, dir, n) == 0)
		return "choose another --socket, in a directory of your own";
	snprintf(buf, len,
	    "choose another --socket, e.g. %s (ignited makes "
	    "its directory, mode 0700), or leave --socket out",
	    def);
	return buf;
}

int
paths_runtime_dir(const char *socket_path, gid_t gid, ig_err *err)
{
	char dir[4096], hint[4200];
	const char *slash = strrchr(socket_path, '/');
	mode_t forbidden = gid == (gid_t)-1 ? 0077 : 0027;
	struct stat st;
	size_t n;
	int made;

	if (slash == NULL) {
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "socket path %s is not absolute", socket_path);
	}
	n = slash == socket_path ? 1 : (size_t)(slash - socket_path);
	if (n >= sizeof dir) {
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "path too long: %s", socket_path);
	}
	memcpy(dir, socket_path, n);
	dir[n] = '\0';
	/* lstat: a link to a directory someone else owns is not ours */
	made = lstat(dir, &st) < 0 && errno == ENOENT;
	if (made && paths_make_parents(socket_path, err) != 0)
		return err->code;
	if (lstat(dir, &st) < 0) {
		return ig_err_set(err, IG_PROTO_INTERNAL, "cannot use %s: %s",
		    dir, strerror(errno));
	}
	if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "%s is %s: refusing to put the socket "
		    "there; %s",
		    dir,
		    S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory",
		    another_socket(dir, hint, sizeof hint));
	}
	if (st.st_uid != geteuid()) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "%s is owned by uid %lu, not by ignited's "
		    "uid %lu: refusing to put the socket there; %s",
		    dir, (unsigned long)st.st_uid, (unsigned long)geteuid(),
		    another_socket(dir, hint, sizeof hint));
	}
	/* Only a directory we just made is opened to the group. */
	if (made && gid != (gid_t)-1 &&
	    (chown(dir, (uid_t)-1, gid) < 0 || chmod(dir, 0750) < 0 ||
	        lstat(dir, &st) < 0)) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "cannot give group %lu access to %s: %s",
		    (unsigned long)gid, dir, strerror(errno));
	}
	if (gid != (gid_t)-1 &&
	    (st.st_gid != gid || (st.st_mode & 0050) != 0050)) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "%s is not open to --group's gid %lu (its "
		    "group is %lu, its mode %04o): refusing it; %s",
		    dir, (unsigned long)gid, (unsigned long)st.st_gid,
		    (unsigned)(st.st_mode & 07777),
		    another_socket(dir, hint, sizeof hint));
	}
	if ((st.st_mode & forbidden) != 0) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "%s has mode %04o, open to %s: refusing to "
		    "put the socket there; %s",
		    dir, (unsigned)(st.st_mode & 07777),
		    gid == (gid_t)-1 ? "group or others" : "others",
		    another_socket(dir, hint, sizeof hint));
	}
	return 0;
}
