/*
 * ckfile.c - checkpoint files: the run's directory, sealing a file a worker
 * wrote (or the daemon writes for it), checking one before a resume.
 *
 * Everything here blocks on the disk: it runs on the threadpool (and at
 * the daemon's start, before it serves), never on the loop.
 *
 * A run's directory is its owner's, mode 0700.  Under the daemon's
 * --checkpoint-dir (root's, mode 0711) the daemon makes run-ID and gives
 * it to the owner; under a spec's checkpoint.dir (shared storage, perhaps
 * squashing root) it acts as the owner throughout.  Acting as the owner is
 * setfsuid/setfsgid, which Linux keeps per thread, so nothing else the
 * daemon does meanwhile changes identity.
 *
 * A worker may answer with a directory at the path it was given (one
 * shard a rank, torch.distributed.checkpoint): every file in it is summed
 * and fsynced, and a manifest of their names, sizes and sums written
 * beside them; its sum and their total size are the checkpoint's record.
 */
#include <sys/fsuid.h>
#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <pwd.h>

#include <xxhash.h>

#include "runs/runs_int.h"

#define CHUNK (1 << 20)
/* A sealed directory's list of its files: the head line, then one line a
 * file, "SUM SIZE NAME" (hex, decimal), in the order of strcmp. */
#define MANIFEST ".ignite-manifest"
#define MANIFEST_HEAD "ignite-manifest 1\n"
#define MANIFEST_MAX (64 << 20)
#define SHARDS_MAX 100000

/* Act as the run's owner on this thread when the daemon is root (and the
 * owner is not); undone by as_daemon. */
static bool
as_owner(uid_t owner)
{
	struct passwd pwbuf, *pw = NULL;
	char buf[4096];

	if (geteuid() != 0 || owner == 0)
		return false;
	getpwuid_r(owner, &pwbuf, buf, sizeof(buf), &pw);
	setfsgid(pw != NULL ? pw->pw_gid : (gid_t)owner);
	setfsuid(owner);
	return true;
}

/* Whose the run's files are: the owner's, or the daemon's when it is not
 * root (its workers then run as itself). */
static uid_t
file_uid(uid_t owner)
{
	return geteuid() == 0 ? owner : geteuid();
}

static void
as_daemon(bool was)
{
	if (!was)
		return;
	setfsuid(0);
	setfsgid(0);
}

static int
fail_errno(ig_err *err, const char *what, const char *path)
{
	return ig_err_set(err, IG_PROTO_INTERNAL,
	    "checkpoint: cannot %s %s: %s", what, path, strerror(errno));
}

/* A directory of the owner's that no one else may enter. */
static int
check_dir(int fd, const char *path, uid_t owner, ig_err *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return fail_errno(err, "stat", path);
	if (st.st_uid != file_uid(owner))
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "checkpoint: %s is owned by uid %lu, not by the run's "
		    "owner %lu: move it aside",
		    path, (unsigned long)st.st_uid,
		    (unsigned long)file_uid(owner));
	if ((st.st_mode & 0077) != 0 && fchmod(fd, 0700) != 0)
		return fail_errno(err, "chmod 0700", path);
	return 0;
}

int
ckfile_base(const char *dir, ig_err *err)
{
	struct stat st;

	if (mkdir(dir, 0711) != 0 && errno != EEXIST) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "--checkpoint-dir %s: cannot create it: %s; pass "
		    "--checkpoint-dir DIR to choose another",
		    dir, strerror(errno));
	}
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 0022) != 0) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "--checkpoint-dir %s: not a directory of ignited's uid "
		    "that only it may write; choose another",
		    dir);
	}
	/* owners reach their run-ID directories; none lists the others' */
	if ((st.st_mode & 0777) != 0711 && chmod(dir, 0711) != 0) {
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "--checkpoint-dir %s: cannot chmod: %s", dir,
		    strerror(errno));
	}
	return 0;
}

int
ckfile_mkdir(const char *path, uid_t owner, bool shared, ig_err *err)
{
	bool was = shared && as_owner(owner);
	int fd, rc = 0;

	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		rc = fail_errno(err, "create the run's directory", path);
		goto out;
	}
	if ((fd = open(path,
	         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		rc = fail_errno(err, "open the run's directory", path);
		goto out;
	}
	/* under the daemon's directory: made by root, given to the owner */
	if (!shared && geteuid() == 0 && fchown(fd, owner, (gid_t)-1) != 0)
		rc = fail_errno(err, "give the owner", path);
	else
		rc = check_dir(fd, path, owner, err);
	close(fd);
out:
	as_daemon(was);
	return rc;
}

/* The sum and size of the file open as fd, read whole; the bytes too
 * when keep is set and it is at most keep_max. */
static int
hash_fd(int fd, const char *path, struct ckfile *f, size_t keep_max,
    void **keep, ig_err *err)
{
	XXH3_state_t *h = XXH3_createState();
	char *buf = malloc(CHUNK), *copy = NULL;
	struct stat st;
	ssize_t n;
	int rc = 0;

	if (h == NULL || buf == NULL) {
		rc = ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = fail_errno(err, "stat", path);
		goto out;
	}
	if (keep != NULL && (size_t)st.st_size <= keep_max &&
	    (copy = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		rc = ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		goto out;
	}
	XXH3_64bits_reset(h);
	f->size = 0;
	while ((n = read(fd, buf, CHUNK)) > 0) {
		XXH3_64bits_update(h, buf, (size_t)n);
		if (copy != NULL && f->size + n <= st.st_size)
			memcpy(copy + f->size, buf, (size_t)n);
		f->size += n;
	}
	if (n < 0) {
		rc = fail_errno(err, "read", path);
		goto out;
	}
	f->sum = XXH3_64bits_digest(h);
	if (copy != NULL && f->size == st.st_size) {
		*keep = copy;
		copy = NULL;
	}
out:
	free(copy);
	free(buf);
	XXH3_freeState(h);
	return rc;
}

/* Open path for reading as a regular file of the owner's, never through
 * a link. */
static int
open_owned(const char *path, uid_t owner, ig_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1) {
		fail_errno(err, "open", path);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != file_uid(owner)) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "checkpoint: %s is not a regular file of the run's owner",
		    path);
		close(fd);
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const char *path, const void *buf, size_t len, ig_err *err)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return fail_errno(err, "write", path);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The .part the daemon writes for a worker that answered {state: bin}. */
static int
write_part(const char *part, const void *bytes, size_t len, ig_err *err)
{
	int fd = open(
	    part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc;

	if (fd == -1)
		return fail_errno(err, "create", part);
	rc = write_all(fd, part, bytes, len, err);
	close(fd);
	return rc;
}

struct syncer {
	int fd;
	int rc; /* 0, or fsync's errno */
};

static void
sync_main(void *arg)
{
	struct syncer *sy = arg;

	sy->rc = fsync(sy->fd) == 0 ? 0 : errno;
}

/* Sum the file open as fd (of path) and fsync it, the two at once: the
 * disk writes it on another thread while this one sums it from the page
 * cache, so a checkpoint costs about the write's own fsync, not that plus
 * a read of every byte. */
static int
sum_and_sync(int fd, const char *path, struct ckfile *f, ig_err *err)
{
	struct syncer sy = { fd, 0 };
	uv_thread_t th;
	bool apart = uv_thread_create(&th, sync_main, &sy) == 0;
	int rc = hash_fd(fd, path, f, 0, NULL, err);

	if (apart)
		uv_thread_join(&th);
	else
		sync_main(&sy);
	if (rc == 0 && sy.rc != 0) {
		errno = sy.rc;
		rc = fail_errno(err, "fsync", path);
	}
	return rc;
}

/* Is name, in the directory dir open as dfd, a regular file of the
 * owner's?  Then it is opened (never through a link) and its fd returned. */
static int
open_shard(int dfd, const char *dir, const char *name, uid_t owner, ig_err *err)
{
	struct stat st, fst;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT && strcmp(name, MANIFEST) == 0)
			ig_err_set(err, IG_PROTO_INTERNAL,
			    "checkpoint directory %s has no manifest: it was "
			    "never sealed",
			    dir);
		else if (errno == ENOENT)
			ig_err_set(err, IG_PROTO_INTERNAL,
			    "checkpoint: shard %s is missing from %s", name,
			    dir);
		else
			fail_errno(err, "stat a shard of", dir);
		return -1;
	}
	if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode) ||
	    st.st_uid != file_uid(owner) || strchr(name, '\n') != NULL) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "checkpoint: %s in %s is %s; a checkpoint directory holds "
		    "only regular files of the run's owner",
		    name, dir,
		    S_ISLNK(st.st_mode)              ? "a symbolic link" :
		        !S_ISREG(st.st_mode)         ? "not a regular file" :
		        st.st_uid != file_uid(owner) ? "owned by another user" :
		                                       "named with a newline");
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		fail_errno(err, "open a shard of", dir);
		return -1;
	}
	/* the same file the checks were made on, not one put there since */
	if (fstat(fd, &fst) != 0 || fst.st_ino != st.st_ino ||
	    fst.st_dev != st.st_dev) {
		ig_err_set(err, IG_PROTO_INTERNAL,
		    "checkpoint: %s in %s changed while it was checked", name,
		    dir);
		close(fd);
		return -1;
	}
	return fd;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_names(char **names, size_t n)
{
	while (n > 0)
		free(names[--n]);
	free(names);
}

/* The names in the directory open as dfd but its manifest, in strcmp's
 * order. */
static int
list_shards(int dfd, const char *dir, char ***names, size_t *n, ig_err *err)
{
	int fd = dup(dfd); /* closedir closes it, not dfd */
	DIR *d = fd != -1 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char **v;
	int rc = 0;

	*names = NULL;
	*n = 0;
	if (d == NULL) {
		if (fd != -1)
			close(fd);
		return fail_errno(err, "list", dir);
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, MANIFEST) == 0)
			continue;
		if (*n == SHARDS_MAX)
			rc = ig_err_set(err, IG_PROTO_INTERNAL,
			    "checkpoint: %s holds more than %d files", dir,
			    SHARDS_MAX);
		else if ((v = realloc(*names, (*n + 1) * sizeof(*v))) == NULL ||
		    (*names = v, v[*n] = strdup(de->d_name)) == NULL)
			rc =
			    ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		else
			(*n)++;
	}
	closedir(d);
	if (rc != 0) {
		free_names(*names, *n);
		*names = NULL;
		*n = 0;
		return rc;
	}
	qsort(*names, *n, sizeof(**names), cmp_names);
	return 0;
}

/* The manifest's text into the directory open as dfd, on disk. */
static int
write_manifest(
    int dfd, const char *dir, const char *text, size_t len, ig_err *err)
{
	int fd, rc;

	/* a worker's own file of that name is replaced, never written
	 * through */
	if (unlinkat(dfd, MANIFEST, 0) != 0 && errno != ENOENT)
		return fail_errno(err, "replace the manifest in", dir);
	fd = openat(dfd, MANIFEST,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return fail_errno(err, "write the manifest in", dir);
	if ((rc = write_all(fd, dir, text, len, err)) == 0 && fsync(fd) != 0)
		rc = fail_errno(err, "fsync the manifest in", dir);
	close(fd);
	return rc;
}

/*
 * Seal the directory part: each file summed and fsynced, the manifest
 * written, the directory fsynced.  f gets the files' total size and the
 * manifest's sum.
 */
static int
seal_dir(const char *part, uid_t owner, struct ckfile *f, ig_err *err)
{
	int dfd = open(part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char **names = NULL, *text = NULL;
	size_t n = 0, len = 0;
	struct ckfile one;
	FILE *m = NULL;
	int fd, rc;

	if (dfd == -1)
		return fail_errno(err, "open", part);
	if ((rc = check_dir(dfd, part, owner, err)) != 0 ||
	    (rc = list_shards(dfd, part, &names, &n, err)) != 0)
		goto out;
	if ((m = open_memstream(&text, &len)) == NULL) {
		rc = ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		goto out;
	}
	fputs(MANIFEST_HEAD, m);
	f->size = 0;
	for (size_t i = 0; i < n; i++) {
		if ((fd = open_shard(dfd, part, names[i], owner, err)) == -1) {
			rc = err->code;
			goto out;
		}
		rc = sum_and_sync(fd, part, &one, err);
		close(fd);
		if (rc != 0)
			goto out;
		fprintf(m, "%016llx %lld %s\n", (unsigned long long)one.sum,
		    (long long)one.size, names[i]);
		f->size += one.size;
	}
	if (fclose(m) != 0) {
		m = NULL;
		rc = ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
		goto out;
	}
	m = NULL;
	f->sum = XXH3_64bits(text, len);
	if ((rc = write_manifest(dfd, part, text, len, err)) == 0 &&
	    fsync(dfd) != 0)
		rc = fail_errno(err, "fsync", part);
out:
	if (m != NULL)
		fclose(m);
	free(text);
	free_names(names, n);
	close(dfd);
	return rc;
}

/* Is the sealed directory path what its record says: its manifest's sum,
 * every file it lists there with its size and sum, and no other? */
static int
verify_dir(
    const char *path, int64_t size, uint64_t sum, uid_t owner, ig_err *err)
{
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char **names = NULL, *text = NULL, *p, *nl, *end;
	void *bytes = NULL;
	size_t n = 0, listed = 0;
	struct ckfile mf, one;
	unsigned long long want_sum;
	long long want_size, total = 0;
	int fd = -1, rc;

	if (dfd == -1)
		return fail_errno(err, "open", path);
	if ((rc = check_dir(dfd, path, owner, err)) != 0)
		goto out;
	if ((fd = open_shard(dfd, path, MANIFEST, owner, err)) == -1 ||
	    (rc = hash_fd(fd, path, &mf, MANIFEST_MAX, &bytes, err)) != 0) {
		rc = err->code;
		goto out;
	}
	text = bytes;
	if (text == NULL || mf.sum != sum) {
		rc = ig_err_set(err, IG_PROTO_INTERNAL,
		    "checkpoint directory %s: its manifest is damaged "
		    "(checksum %016llx; its record says %016llx)",
		    path, (unsigned long long)mf.sum, (unsigned long long)sum);
		goto out;
	}
	if (mf.size < (int64_t)strlen(MANIFEST_HEAD) ||
	    memcmp(text, MANIFEST_HEAD, strlen(MANIFEST_HEAD)) != 0)
		goto garbled;
	for (p = text + strlen(MANIFEST_HEAD); p < text + mf.size;
	     p = nl + 1, listed++) {
		if ((nl = memchr(p, '\n', (size_t)(text + mf.size - p))) ==
		    NULL)
			goto garbled;
		*nl = '\0';
		want_sum = strtoull(p, &end, 16);
		want_size = strtoll(end, &end, 10);
		/* names of this directory, never a path out of it */
		if (end == p || *end != ' ' || strchr(end + 1, '/') != NULL)
			goto garbled;
		close(fd);
		if ((fd = open_shard(dfd, path, end + 1, owner, err)) == -1) {
			rc = err->code;
			goto out;
		}
		if ((rc = hash_fd(fd, path, &one, 0, NULL, err)) != 0)
			goto out;
		if (one.size != want_size || one.sum != want_sum) {
			rc = ig_err_set(err, IG_PROTO_INTERNAL,
			    "checkpoint: shard %s in %s is damaged (%lld bytes, "
			    "checksum %016llx; the manifest says %lld, %016llx)",
			    end + 1, path, (long long)one.size,
			    (unsigned long long)one.sum, want_size, want_sum);
			goto out;
		}
		total += one.size;
	}
	if ((rc = list_shards(dfd, path, &names, &n, err)) != 0)
		goto out;
	if (n != listed || total != size)
		rc = ig_err_set(err, IG_PROTO_INTERNAL,
		    "checkpoint directory %s holds %zu files of %lld bytes; "
		    "its manifest lists %zu, its record says %lld bytes",
		    path, n, total, listed, (long long)size);
	goto out;
garbled:
	rc = ig_err_set(err, IG_PROTO_INTERNAL,
	    "checkpoint directory %s: its manifest is not one ignited wrote",
	    path);
out:
	if (fd != -1)
		close(fd);
	free(text);
	free_names(names, n);
	close(dfd);
	return rc;
}

void
ckfile_name(char *buf, size_t len, const char *dir, int64_t iteration,
    uint64_t tag, const char *ext)
{
	snprintf(buf, len, "%s/ckpt-%lld-%016llx.%s", dir, (long long)iteration,
	    (unsigned long long)tag, ext);
}

uint64_t
ckfile_tag(void)
{
	uint64_t tag;

	/* without the kernel's randomness, the clock: names differ still */
	if (uv_random(NULL, NULL, &tag, sizeof(tag), 0, NULL) != 0)
		tag = uv_hrtime() ^ (uint64_t)time(NULL) << 32;
	return tag;
}

int
ckfile_seal(const char *dir, int64_t iteration, uint64_t tag, uid_t owner,
    const void *bytes, size_t len, struct ckfile *f, ig_err *err)
{
	bool was = as_owner(owner);
	char part[PATH_MAX];
	struct stat st;
	int fd = -1, dfd = -1, rc = 0;

	ckfile_name(part, sizeof(part), dir, iteration, tag, "part");
	ckfile_name(f->path, sizeof(f->path), dir, iteration, tag, "bin");
	if (bytes != NULL && (rc = write_part(part, bytes, len, err)) != 0)
		goto out;
	if (lstat(part, &st) == 0 && S_ISDIR(st.st_mode)) {
		ckfile_name(
		    f->path, sizeof(f->path), dir, iteration, tag, "dir");
		rc = seal_dir(part, owner, f, err);
	} else if ((fd = open_owned(part, owner, err)) == -1)
		rc = err->code;
	else
		rc = sum_and_sync(fd, part, f, err);
	if (rc != 0)
		goto out;
	if ((dfd = open(
	         dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		rc = fail_errno(err, "open", dir);
		goto out;
	}
	if (rename(part, f->path) != 0) {
		rc = fail_errno(err, "rename", part);
		goto out;
	}
	if (fsync(dfd) != 0)
		rc = fail_errno(err, "fsync", dir);
out:
	/* a half-written file is never left for a later resume to try */
	if (rc != 0)
		store_remove(part);
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	as_daemon(was);
	return rc;
}

int
ckfile_run_dir(const char *dir, uid_t owner, bool shared, ig_err *err)
{
	char base[PATH_MAX];
	char *slash;
	int rc;

	/* the daemon's --checkpoint-dir (made here when it is the default),
	 * then run-ID */
	if (!shared) {
		snprintf(base, sizeof(base), "%s", dir);
		if ((slash = strrchr(base, '/')) != NULL)
			*slash = '\0';
		if ((rc = ckfile_base(base, err)) != 0)
			return rc;
	}
	return ckfile_mkdir(dir, owner, shared, err);
}

/* Copy src into the new part, both opened as the caller is now. */
static int
copy_file(const char *src, const char *part, ig_err *err)
{
	char *buf = malloc(CHUNK);
	int in = -1, out = -1, rc = 0;
	ssize_t n;

	if (buf == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	if ((in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		rc = fail_errno(err, "open", src);
		goto out;
	}
	if ((out = open(part,
	         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) ==
	    -1) {
		rc = fail_errno(err, "create", part);
		goto out;
	}
	while (rc == 0 && (n = read(in, buf, CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = fail_errno(err, "read", src);
		else
			rc = write_all(out, part, buf, (size_t)n, err);
	}
out:
	if (in != -1)
		close(in);
	if (out != -1 && close(out) != 0 && rc == 0)
		rc = fail_errno(err, "write", part);
	free(buf);
	return rc;
}

/* A sealed file is never written again, and a link keeps its bytes when
 * the source's retention unlinks its own name. */
static int
branch_file(const char *src, const char *part, bool link_ok, ig_err *err)
{
	if (link_ok && link(src, part) == 0)
		return 0;
	return copy_file(src, part, err);
}

/* A sealed directory's files (not its manifest: sealing writes it anew,
 * the same when the files are) into the new directory part. */
static int
branch_dir(const char *src, const char *part, bool link_ok, ig_err *err)
{
	char from[PATH_MAX], to[PATH_MAX], **names = NULL;
	size_t n = 0;
	int sfd, rc;

	if (mkdir(part, 0700) != 0)
		return fail_errno(err, "create", part);
	sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd == -1)
		return fail_errno(err, "open", src);
	rc = list_shards(sfd, src, &names, &n, err);
	close(sfd);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (snprintf(from, sizeof(from), "%s/%s", src, names[i]) >=
		        (int)sizeof(from) ||
		    snprintf(to, sizeof(to), "%s/%s", part, names[i]) >=
		        (int)sizeof(to))
			rc = ig_err_set(err, IG_PROTO_INTERNAL,
			    "checkpoint: a path in %s is too long", src);
		else
			rc = branch_file(from, to, link_ok, err);
	}
	free_names(names, n);
	return rc;
}

int
ckfile_branch(const char *src, int64_t size, uint64_t sum, bool link_ok,
    const char *dir, int64_t iteration, uint64_t tag, uid_t owner,
    struct ckfile *f, ig_err *err)
{
	bool was = as_owner(owner);
	char part[PATH_MAX];
	struct stat st;
	int rc;

	ckfile_name(part, sizeof(part), dir, iteration, tag, "part");
	if (lstat(src, &st) == 0 && S_ISDIR(st.st_mode))
		rc = branch_dir(src, part, link_ok, err);
	else
		rc = branch_file(src, part, link_ok, err);
	if (rc != 0)
		store_remove(part);
	as_daemon(was);
	if (rc != 0)
		return rc;
	if ((rc = ckfile_seal(dir, iteration, tag, owner, NULL, 0, f, err)) !=
	    0)
		return rc;
	if (f->size != size || f->sum != sum) {
		was = as_owner(owner);
		unlink(f->path);
		as_daemon(was);
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "checkpoint file %s changed while it was copied", src);
	}
	return 0;
}

int
ckfile_verify(const char *path, int64_t size, uint64_t sum, uid_t owner,
    size_t keep_max, void **keep, size_t *keep_len, ig_err *err)
{
	bool was = as_owner(owner);
	struct ckfile f;
	struct stat st;
	int fd, rc;

	*keep = NULL;
	*keep_len = 0;
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = verify_dir(path, size, sum, owner, err);
		as_daemon(was);
		return rc;
	}
	if ((fd = open_owned(path, owner, err)) == -1) {
		as_daemon(was);
		return err->code;
	}
	rc = hash_fd(fd, path, &f, keep_max, keep, err);
	close(fd);
	as_daemon(was);
	if (rc == 0 && (f.size != size || f.sum != sum))
		rc = ig_err_set(err, IG_PROTO_INTERNAL,
		    "checkpoint file %s is damaged (%lld bytes, checksum "
		    "%016llx; its record says %lld bytes, %016llx)",
		    path, (long long)f.size, (unsigned long long)f.sum,
		    (long long)size, (unsigned long long)sum);
	if (rc != 0) {
		free(*keep);
		*keep = NULL;
	}
	*keep_len = *keep != NULL ? (size_t)f.size : 0;
	return rc;
}

void
ckfile_sweep(const char *dir, uid_t owner, const struct store_checkpoint *keep,
    size_t nkeep)
{
	bool was = as_owner(owner);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = dfd != -1 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	char path[PATH_MAX];
	size_t i;

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "ckpt-", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		for (i = 0; i < nkeep; i++)
			if (keep[i].file != NULL &&
			    strcmp(keep[i].file, path) == 0)
				break;
		if (i == nkeep)
			store_remove_at(dfd, de->d_name, STORE_REMOVE_DEPTH);
	}
	if (d != NULL)
		closedir(d);
	else if (dfd != -1)
		close(dfd);
	as_daemon(was);
}

void
ckfile_drop(const char *dir, int64_t iteration, uint64_t tag, uid_t owner)
{
	bool was = as_owner(owner);
	char part[PATH_MAX];

	ckfile_name(part, sizeof(part), dir, iteration, tag, "part");
	store_remove(part);
	as_daemon(was);
}

/* Is the directory holding path the daemon's own, which no one else may
 * write (its --checkpoint-dir)? */
static bool
parent_is_ours(const char *path)
{
	char parent[PATH_MAX];
	char *slash;
	struct stat st;

	snprintf(parent, sizeof(parent), "%s", path);
	if ((slash = strrchr(parent, '/')) == NULL || slash == parent)
		return false;
	*slash = '\0';
	return lstat(parent, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid() && (st.st_mode & 0022) == 0;
}

/* Remove the run's directory: the files the daemon named, then it. */
void
ckfile_remove_dir(const char *dir, uid_t owner)
{
	bool was;
	int rc, e;

	ckfile_sweep(dir, owner, NULL, 0);
	was = as_owner(owner);
	rc = rmdir(dir);
	e = errno;
	as_daemon(was);
	/* run-ID under the daemon's --checkpoint-dir is an entry of the
	 * daemon's directory, which the owner may not change */
	if (rc != 0 && e == EACCES && was && parent_is_ours(dir))
		rmdir(dir);
}
