/*
 * store_lock.c - one ignited per database.
 *
 * flock() on a sidecar "<db>.lock" that holds the owner's pid.  flock, not
 * fcntl: its lock belongs to the open file, so a second open in the same
 * process is refused too, and the kernel drops it when the owner dies,
 * kill -9 included.  The file is never unlinked: unlinking a lock file
 * lets two processes each lock a different inode.  It is opened like every
 * file beside the database (store_open_own): never through a symbolic
 * link, and truncated only once it is known to be ours.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_int.h"

static long
read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int
store_lock_acquire(const char *dbpath, char *err, size_t errlen)
{
	char path[PATH_MAX], pid[32];
	bool created;
	int fd, len;

	if (snprintf(path, sizeof(path), "%s.lock", dbpath) >=
	    (int)sizeof(path)) {
		store_errf(err, errlen, "database path %s is too long", dbpath);
		return -1;
	}
	if ((fd = store_open_own(path, O_RDWR, &created, err, errlen)) == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			store_errf(err, errlen,
			    "database %s is in use by another "
			    "ignited (pid %ld)",
			    dbpath, read_pid(fd));
		else
			store_errf(err, errlen, "cannot lock %s: %s", path,
			    strerror(errno));
		close(fd);
		return -1;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)len, 0) != len) {
		store_errf(err, errlen, "cannot write lock file %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
store_lock_release(int fd)
{
	if (fd != -1)
		close(fd);
}
