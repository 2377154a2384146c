/*
 * store_files.c - the database's directory and the files beside it, and
 * the key that vouches for the runs stored there.
 *
 * ignited runs as root and starts code as the owner a stored run names: a
 * database another user can write would let that user run code as anyone.
 * So the directory, the database and its -wal, -shm, .lock and .key must
 * belong to the daemon's uid, be writable by no one else, and be what
 * they claim (a directory, regular files: never symbolic links).  Files
 * are opened with O_NOFOLLOW and created with O_EXCL, in the directory
 * checked first, so nothing is created or truncated through a link.
 *
 * The key (<db>.key, 32 random bytes, mode 0600) signs each run's id,
 * owner and spec with HMAC-SHA256: a record changed outside ignited, or
 * copied without its key, is never trusted to start code (store.h).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "store/store_int.h"

/* Why a file or directory is refused, and what to do.  Never a chmod of
 * a directory: /tmp is shared on purpose, and root owns the system's. */
#define WHY \
	"(a database other users can change could make ignited run " \
	"their code as any user)"
#define FIX_HINT \
	WHY "; choose another --db, in a directory of your own " \
	    "(ignited makes a missing one, mode 0700)"

/* 0 when st, what lstat or fstat said of path, is a file (or directory,
 * dir) of ours that no one else may write; else a message in err. */
static int
check_stat(
    const struct stat *st, const char *path, bool dir, char *err, size_t errlen)
{
	if (S_ISLNK(st->st_mode)) {
		store_errf(err, errlen,
		    "%s is a symbolic link: refusing it " FIX_HINT, path);
		return IG_PROTO_PERMISSION_DENIED;
	}
	if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
		store_errf(err, errlen, "%s is not a %s: refusing it " FIX_HINT,
		    path, dir ? "directory" : "regular file");
		return IG_PROTO_PERMISSION_DENIED;
	}
	if (st->st_uid != geteuid()) {
		store_errf(err, errlen,
		    "%s is owned by uid %lu, not by ignited's "
		    "uid %lu: refusing it " FIX_HINT,
		    path, (unsigned long)st->st_uid, (unsigned long)geteuid());
		return IG_PROTO_PERMISSION_DENIED;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH) && dir) {
		store_errf(err, errlen,
		    "%s has mode %04o, writable by group or "
		    "others: refusing it " FIX_HINT,
		    path, (unsigned)(st->st_mode & 07777));
		return IG_PROTO_PERMISSION_DENIED;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		store_errf(err, errlen,
		    "%s has mode %04o, writable by group or "
		    "others: refusing it " WHY "; run 'chmod go-w %s' or "
		    "choose another --db",
		    path, (unsigned)(st->st_mode & 07777), path);
		return IG_PROTO_PERMISSION_DENIED;
	}
	return 0;
}

int
store_check_dir(const char *dbpath, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(dbpath, '/');
	size_t n = slash == NULL ? 1 :
	    slash == dbpath      ? 1 :
	                           (size_t)(slash - dbpath);
	struct stat st;

	if (n >= sizeof(dir)) {
		store_errf(err, errlen, "database path %s is too long", dbpath);
		return IG_PROTO_INVALID_PARAMS;
	}
	memcpy(dir, slash == NULL ? "." : dbpath, n);
	dir[n] = '\0';
	if (lstat(dir, &st) == -1) {
		store_errf(err, errlen,
		    "cannot use the database's directory "
		    "%s: %s",
		    dir, strerror(errno));
		return IG_PROTO_INTERNAL;
	}
	return check_stat(&st, dir, true, err, errlen);
}

int
store_check_path(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		store_errf(
		    err, errlen, "cannot check %s: %s", path, strerror(errno));
		return IG_PROTO_INTERNAL;
	}
	return check_stat(&st, path, false, err, errlen);
}

int
store_open_own(
    const char *path, int flags, bool *created, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	flags |= O_NOFOLLOW | O_CLOEXEC;
	*created = false;
	fd = open(path, flags);
	if (fd == -1 && errno == ENOENT) {
		fd = open(path, flags | O_CREAT | O_EXCL, 0600);
		*created = fd != -1;
	}
	if (fd == -1) {
		if (errno == ELOOP)
			store_errf(err, errlen,
			    "%s is a symbolic link: refusing "
			    "it " FIX_HINT,
			    path);
		else
			store_errf(err, errlen, "cannot open %s: %s", path,
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		store_errf(
		    err, errlen, "cannot check %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (check_stat(&st, path, false, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
store_same_file(int fd, const char *path, char *err, size_t errlen)
{
	struct stat fst, lst;

	if (fstat(fd, &fst) == -1 || lstat(path, &lst) == -1 ||
	    fst.st_dev != lst.st_dev || fst.st_ino != lst.st_ino) {
		store_errf(err, errlen,
		    "%s was replaced while ignited opened it: "
		    "refusing it " FIX_HINT,
		    path);
		return IG_PROTO_PERMISSION_DENIED;
	}
	return 0;
}

/* ---- the key ------------------------------------------------------------ */

static int
read_key(int fd, const char *path, unsigned char *key, char *err, size_t errlen)
{
	unsigned char extra;
	ssize_t n = pread(fd, key, STORE_KEY_LEN, 0);

	if (n == STORE_KEY_LEN && pread(fd, &extra, 1, STORE_KEY_LEN) == 0)
		return 0;
	store_errf(err, errlen,
	    "key file %s is damaged (not %d bytes): move it "
	    "aside and start ignited again; the runs it signed will then "
	    "be marked failed",
	    path, STORE_KEY_LEN);
	return IG_PROTO_CONFLICT;
}

static int
write_key(
    int fd, const char *path, unsigned char *key, char *err, size_t errlen)
{
	crypto_auth_hmacsha256_keygen(key);
	if (pwrite(fd, key, STORE_KEY_LEN, 0) == STORE_KEY_LEN &&
	    fsync(fd) == 0)
		return 0;
	store_errf(
	    err, errlen, "cannot write key file %s: %s", path, strerror(errno));
	/* a half-written key would be read back as damaged */
	unlink(path);
	return IG_PROTO_INTERNAL;
}

int
store_key_load(const char *dbpath, unsigned char *key, char *err, size_t errlen)
{
	char path[PATH_MAX];
	bool created;
	int fd, rc;

	if (snprintf(path, sizeof(path), "%s.key", dbpath) >=
	    (int)sizeof(path)) {
		store_errf(err, errlen, "database path %s is too long", dbpath);
		return IG_PROTO_INVALID_PARAMS;
	}
	if (sodium_init() < 0) {
		store_errf(err, errlen, "cannot initialise libsodium");
		return IG_PROTO_INTERNAL;
	}
	if ((fd = store_open_own(path, O_RDWR, &created, err, errlen)) == -1)
		return IG_PROTO_PERMISSION_DENIED;
	rc = created ? write_key(fd, path, key, err, errlen) :
	               read_key(fd, path, key, err, errlen);
	close(fd);
	return rc;
}

/* The message signed: a fixed-size head, then the spec as it is stored. */
void
store_tag(const unsigned char *key, int64_t id, uint32_t owner,
    const void *spec, size_t len, unsigned char *tag)
{
	static const char domain[] = "ignite run v1";
	crypto_auth_hmacsha256_state h;
	unsigned char head[12];
	int i;

	for (i = 0; i < 8; i++)
		head[i] = (unsigned char)((uint64_t)id >> (8 * i));
	for (i = 0; i < 4; i++)
		head[8 + i] = (unsigned char)(owner >> (8 * i));
	crypto_auth_hmacsha256_init(&h, key, STORE_KEY_LEN);
	crypto_auth_hmacsha256_update(
	    &h, (const unsigned char *)domain, sizeof(domain));
	crypto_auth_hmacsha256_update(&h, head, sizeof(head));
	crypto_auth_hmacsha256_update(&h, spec, len);
	crypto_auth_hmacsha256_final(&h, tag);
}

bool
store_tag_ok(const unsigned char *key, int64_t id, uint32_t owner,
    const void *spec, size_t len, const void *tag, size_t tag_len)
{
	unsigned char want[STORE_TAG_LEN];

	if (tag == NULL || tag_len != STORE_TAG_LEN)
		return false;
	store_tag(key, id, owner, spec, len, want);
	return sodium_memcmp(want, tag, STORE_TAG_LEN) == 0;
}

/*
 * A checkpoint's entry name in the directory open as dfd removed, a
 * directory of shards with everything in it.  Never through a link: a
 * symbolic link inside is removed, not followed, and each directory is
 * entered by a descriptor opened relative to its parent with O_NOFOLLOW,
 * so a path the owner renames meanwhile leads nowhere else.
 */
int
store_remove_at(int dfd, const char *name, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (unlinkat(dfd, name, 0) == 0)
		return 0;
	if ((errno != EISDIR && errno != EPERM) || depth <= 0)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			store_remove_at(dirfd(d), de->d_name, depth - 1);
	closedir(d);
	return unlinkat(dfd, name, AT_REMOVEDIR);
}

int
store_remove(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int dfd, rc;

	if (slash == NULL || (size_t)(slash - path) >= sizeof(dir))
		return unlink(path);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if ((dfd = open(dir[0] != '\0' ? dir : "/",
	         O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = store_remove_at(dfd, slash + 1, STORE_REMOVE_DEPTH);
	close(dfd);
	return rc;
}
