/*
 * job_owner.c - open a run's files with its owner's file access.
 *
 * A daemon running as root must not read, for a user, a file that user
 * could not read.  Checking mode bits by hand misses ACLs and security
 * modules, and checking before opening races with the user's renames.  So
 * the loop thread itself takes the owner's filesystem identity (fsuid,
 * fsgid and supplementary groups) for as long as fn runs, and the kernel
 * decides every open, with every rule it has.
 *
 * Linux credentials belong to a thread, not a process: the raw syscalls
 * below change only the calling thread, so the threadpool and the store's
 * writer keep root meanwhile.  (glibc's setgroups() would change every
 * thread, so it is not used; its setfsuid() and setfsgid() are per thread.)
 * The section is short and never yields to the loop.
 *
 * A daemon not running as root opens files as itself, and refuses files
 * for any other uid: it cannot tell what that uid may read.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "job/job_int.h"

/* The owner's groups, primary first, from the user database. */
static int
owner_groups(
    uid_t owner, gid_t **groups, int *n, const char *field, ig_err *err)
{
	struct passwd pw, *found;
	char buf[4096];
	int rc, cap = 32;

	if ((rc = getpwuid_r(owner, &pw, buf, sizeof(buf), &found)) != 0 ||
	    found == NULL)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "%s: uid %u has no "
		    "user database entry%s%s, so its file access is unknown",
		    field, (unsigned)owner, rc != 0 ? ": " : "",
		    rc != 0 ? strerror(rc) : "");
	for (;;) {
		gid_t *g = malloc((size_t)cap * sizeof(*g));
		int want = cap;

		if (g == NULL)
			return ig_err_set(
			    err, IG_PROTO_INTERNAL, "%s: out of memory", field);
		if (getgrouplist(pw.pw_name, pw.pw_gid, g, &want) >= 0) {
			*groups = g;
			*n = want;
			return 0;
		}
		free(g);
		/* want now holds the count needed */
		if (want <= cap)
			return ig_err_set(err, IG_PROTO_INTERNAL,
			    "%s: cannot list the "
			    "groups of uid %u",
			    field, (unsigned)owner);
		cap = want;
	}
}

/* Set this thread's groups and filesystem ids; check they took, since
 * setfsuid and setfsgid report no errors. */
static bool
become(uid_t uid, gid_t gid, const gid_t *groups, size_t n)
{
	if (syscall(SYS_setgroups, n, groups) != 0)
		return false;
	setfsgid(gid);
	setfsuid(uid);
	return (uid_t)setfsuid((uid_t)-1) == uid &&
	    (gid_t)setfsgid((gid_t)-1) == gid;
}

int
job_as_owner(uid_t owner, int (*fn)(void *arg, ig_err *err), void *arg,
    const char *field, ig_err *err)
{
	gid_t *groups = NULL, *saved = NULL, egid = getegid();
	int n, nsaved, rc;

	if (geteuid() != 0) {
		if (owner != geteuid())
			return ig_err_set(err, IG_PROTO_PERMISSION_DENIED,
			    "%s: the daemon "
			    "runs as uid %u and cannot open files for uid %u",
			    field, (unsigned)geteuid(), (unsigned)owner);
		return fn(arg, err);
	}
	if (owner == 0)
		return fn(arg, err);
	if ((nsaved = getgroups(0, NULL)) < 0 ||
	    (saved = malloc(((size_t)nsaved + 1) * sizeof(*saved))) == NULL ||
	    (nsaved = getgroups(nsaved, saved)) < 0) {
		free(saved);
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "%s: cannot save the daemon's "
		    "groups",
		    field);
	}
	if ((rc = owner_groups(owner, &groups, &n, field, err)) != 0) {
		free(saved);
		return rc;
	}
	if (!become(owner, groups[0], groups, (size_t)n))
		rc = ig_err_set(err, IG_PROTO_INTERNAL,
		    "%s: cannot take the file "
		    "access of uid %u: %s",
		    field, (unsigned)owner, strerror(errno));
	else
		rc = fn(arg, err);
	/* Root may always return to uid 0; should it ever fail, going on would
	 * serve every client with this user's access, so stop hard. */
	if (!become(0, egid, saved, (size_t)nsaved))
		abort();
	free(groups);
	free(saved);
	return rc;
}
