/*
 * test_ignited.c - start the real ignited on a temporary socket and
 * database, talk to it over a raw AF_UNIX socket, and check what it says.
 *
 * Frames are built here with msgpack-c alone, not libignite_proto, so the
 * daemon is checked against the wire format rather than against itself.
 * Every daemon started is killed and reaped in teardown, pass or fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <msgpack.h>

#define MAX_DAEMONS 4

struct fixture {
	char dir[64];
	char sock[96]; /* fits in sun_path */
	char db[128];
	char err[128]; /* a daemon's stderr */
	pid_t pids[MAX_DAEMONS];
	int npids;
};

static pid_t
spawn(struct fixture *f, const char *sock, const char *db, const char *extra)
{
	pid_t pid;
	int fd;

	assert_true(f->npids < MAX_DAEMONS);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(f->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, STDERR_FILENO);
		if (extra != NULL)
			execl(IGNITED_PATH, "ignited", "--socket", sock, "--db",
			    db, extra, (char *)NULL);
		else
			execl(IGNITED_PATH, "ignited", "--socket", sock, "--db",
			    db, (char *)NULL);
		_exit(127);
	}
	f->pids[f->npids++] = pid;
	return pid;
}

/* Wait for pid to exit (up to 5 s); its exit status, or -1. */
static int
reap(struct fixture *f, pid_t pid)
{
	int status;

	for (int i = 0; i < 500; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			for (int j = 0; j < f->npids; j++)
				if (f->pids[j] == pid)
					f->pids[j] = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		usleep(10000);
	}
	return -1;
}

static int
dial(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Connect, retrying while the daemon starts (up to 5 s). */
static int
dial_wait(const char *path)
{
	int fd;

	for (int i = 0; i < 500; i++) {
		if ((fd = dial(path)) >= 0)
			return fd;
		usleep(10000);
	}
	fail_msg("ignited did not come up on %s", path);
	return -1;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/ignited-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof f->sock, "%s/run/ignited.sock", f->dir);
	snprintf(f->db, sizeof f->db, "%s/state/ignite.db", f->dir);
	snprintf(f->err, sizeof f->err, "%s/stderr", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	for (int i = 0; i < f->npids; i++) {
		if (f->pids[i] > 0) {
			kill(f->pids[i], SIGKILL);
			waitpid(f->pids[i], NULL, 0);
		}
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f);
	return 0;
}

/* ---- frames ------------------------------------------------------------- */

static void
send_bytes(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void
send_frame(int fd, const msgpack_sbuffer *sb)
{
	unsigned char h[4] = { (unsigned char)(sb->size >> 24),
		(unsigned char)(sb->size >> 16), (unsigned char)(sb->size >> 8),
		(unsigned char)sb->size };

	send_bytes(fd, h, 4);
	send_bytes(fd, sb->data, sb->size);
}

/* Send [0, msgid, method, params]; params is {} or {"versions": [1]}. */
static void
request(int fd, uint32_t msgid, const char *method, bool versions)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint32(&pk, msgid);
	msgpack_pack_str_with_body(&pk, method, strlen(method));
	msgpack_pack_map(&pk, versions ? 1 : 0);
	if (versions) {
		msgpack_pack_str_with_body(&pk, "versions", 8);
		msgpack_pack_array(&pk, 1);
		msgpack_pack_int(&pk, 1);
	}
	send_frame(fd, &sb);
	msgpack_sbuffer_destroy(&sb);
}

/* Read exactly n bytes (5 s at most); false on EOF. */
static bool
read_full(int fd, void *buf, size_t n)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		assert_true(poll(&p, 1, 5000) == 1);
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* Read one frame into up (an unpacked object); false on EOF.  Its strs
 * point into a static buffer: valid until the next read_frame. */
static bool
read_frame(int fd, msgpack_unpacked *up)
{
	static char body[1 << 20];
	unsigned char h[4];
	size_t n;

	if (!read_full(fd, h, 4))
		return false;
	n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	assert_true(n <= sizeof body);
	assert_true(read_full(fd, body, n));
	msgpack_unpacked_init(up);
	assert_int_equal(
	    msgpack_unpack_next(up, body, n, NULL), MSGPACK_UNPACK_SUCCESS);
	return true;
}

static const msgpack_object *
elem(const msgpack_unpacked *up, uint32_t i)
{
	assert_int_equal(up->data.type, MSGPACK_OBJECT_ARRAY);
	assert_true(i < up->data.via.array.size);
	return &up->data.via.array.ptr[i];
}

static const msgpack_object *
map_val(const msgpack_object *m, const char *key)
{
	assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object_kv *kv = &m->via.map.ptr[i];
		if (kv->key.via.str.size == strlen(key) &&
		    memcmp(kv->key.via.str.ptr, key, strlen(key)) == 0)
			return &kv->val;
	}
	fail_msg("no key %s", key);
	return NULL;
}

static int64_t
map_int(const msgpack_object *m, const char *key)
{
	return map_val(m, key)->via.i64;
}

/* Expect the response to msgid: error code (0: none).  Returns the
 * unpacked response for more checks; the caller destroys it. */
static void
expect_response(int fd, uint32_t msgid, int code, msgpack_unpacked *up)
{
	const msgpack_object *err;

	assert_true(read_frame(fd, up));
	assert_int_equal(elem(up, 0)->via.u64, 1);
	assert_int_equal(elem(up, 1)->via.u64, msgid);
	err = elem(up, 2);
	if (code == 0)
		assert_int_equal(err->type, MSGPACK_OBJECT_NIL);
	else
		assert_int_equal(map_int(err, "code"), code);
}

static void
expect_code(int fd, uint32_t msgid, int code)
{
	msgpack_unpacked up;

	expect_response(fd, msgid, code, &up);
	msgpack_unpacked_destroy(&up);
}

/* Expect an "error" notification with code, then the end of the stream. */
static void
expect_fatal(int fd, int code)
{
	msgpack_unpacked up;
	char c;

	assert_true(read_frame(fd, &up));
	assert_int_equal(elem(&up, 0)->via.u64, 2);
	assert_int_equal(elem(&up, 1)->via.str.size, 5);
	assert_int_equal(map_int(elem(&up, 2), "code"), code);
	msgpack_unpacked_destroy(&up);
	assert_false(read_full(fd, &c, 1));
}

static int
hello(struct fixture *f)
{
	int fd = dial_wait(f->sock);

	request(fd, 1, "hello", true);
	expect_code(fd, 1, 0);
	return fd;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_requests(void **state)
{
	struct fixture *f = *state;
	msgpack_unpacked up;
	int fd;

	spawn(f, f->sock, f->db, NULL);
	fd = dial_wait(f->sock);
	request(fd, 7, "ping", false);
	expect_code(fd, 7, 10); /* VERSION_MISMATCH: no hello */
	request(fd, 8, "hello", true);
	expect_response(fd, 8, 0, &up);
	assert_int_equal(map_int(elem(&up, 3), "version"), 1);
	msgpack_unpacked_destroy(&up);
	request(fd, 9, "ping", false);
	expect_code(fd, 9, 0);
	request(fd, 10, "list", false);
	expect_response(fd, 10, 0, &up);
	assert_int_equal(
	    map_val(elem(&up, 3), "runs")->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(map_val(elem(&up, 3), "runs")->via.array.size, 0);
	msgpack_unpacked_destroy(&up);
	request(fd, 11, "no_such_method", false);
	expect_code(fd, 11, 2); /* UNKNOWN_METHOD */
	request(fd, 12, "run", false); /* a spec needs an engine */
	expect_code(fd, 12, 3); /* INVALID_PARAMS */
	request(fd, 13, "ping", false); /* still served */
	expect_code(fd, 13, 0);
	close(fd);
}

static void
test_garbage(void **state)
{
	struct fixture *f = *state;
	static const unsigned char invalid[] = { 0, 0, 0, 1, 0xc1 };
	static const unsigned char huge[] = { 0x7f, 0xff, 0xff, 0xff };
	static const unsigned char empty[] = { 0, 0, 0, 0 };
	int fd;

	spawn(f, f->sock, f->db, NULL);
	fd = hello(f);
	send_bytes(fd, invalid, sizeof invalid);
	expect_fatal(fd, 104); /* FRAME_INVALID */
	close(fd);
	fd = hello(f);
	send_bytes(fd, huge, sizeof huge);
	expect_fatal(fd, 101); /* FRAME_TOO_LARGE */
	close(fd);
	fd = hello(f);
	send_bytes(fd, empty, sizeof empty);
	expect_fatal(fd, 100); /* FRAME_EMPTY */
	close(fd);
	fd = hello(f); /* the daemon serves on */
	request(fd, 2, "ping", false);
	expect_code(fd, 2, 0);
	close(fd);
}

static void
test_idle_timeout(void **state)
{
	struct fixture *f = *state;
	static const unsigned char partial[] = { 0, 0, 0, 9, 0x94 };
	int fd;

	spawn(f, f->sock, f->db, "--idle-timeout=200");
	fd = hello(f);
	send_bytes(fd, partial, sizeof partial);
	expect_fatal(fd, 102); /* FRAME_TRUNCATED */
	close(fd);
}

static void
test_modes_and_sigterm(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char run[160];
	pid_t pid;

	pid = spawn(f, f->sock, f->db, NULL);
	close(dial_wait(f->sock));
	assert_int_equal(stat(f->sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(run, sizeof run, "%s/run", f->dir);
	assert_int_equal(stat(run, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	kill(pid, SIGTERM);
	assert_int_equal(reap(f, pid), 0);
	assert_int_equal(stat(f->sock, &st), -1); /* removed */
}

/* The daemon's stderr, as the refusal it printed. */
static void
read_err(struct fixture *f, char *msg, size_t len)
{
	int fd = open(f->err, O_RDONLY);
	ssize_t n = read(fd, msg, len - 1);

	close(fd);
	assert_true(n > 0);
	msg[n] = '\0';
}

static void
test_second_daemon_refused(void **state)
{
	struct fixture *f = *state;
	char db2[160], msg[512];
	int fd;

	spawn(f, f->sock, f->db, NULL);
	close(dial_wait(f->sock));
	snprintf(db2, sizeof db2, "%s/other.db", f->dir);
	assert_int_equal(reap(f, spawn(f, f->sock, db2, NULL)), 1);
	read_err(f, msg, sizeof msg);
	assert_non_null(strstr(msg, "another ignited is already serving"));
	fd = hello(f); /* the first one is unharmed */
	close(fd);
}

static void
test_stale_socket_replaced(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char run[160];
	int fd;

	snprintf(run, sizeof run, "%s/run", f->dir);
	assert_int_equal(mkdir(run, 0700), 0);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", f->sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	close(fd); /* left behind, as by a crash */
	spawn(f, f->sock, f->db, NULL);
	fd = hello(f);
	close(fd);
}

/* An existing directory open to others is refused, never chmod-ed, and
 * the advice is another --socket, never a chmod: a shared one (mode 1777,
 * like /tmp) is open on purpose. */
static void
test_unsafe_dir_refused(void **state)
{
	struct fixture *f = *state;
	static const mode_t modes[] = { 0755, 01777 };
	char run[160], msg[1024];
	struct stat st;

	snprintf(run, sizeof run, "%s/run", f->dir);
	assert_int_equal(mkdir(run, 0700), 0);
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		assert_int_equal(chmod(run, modes[i]), 0);
		assert_int_equal(reap(f, spawn(f, f->sock, f->db, NULL)), 1);
		read_err(f, msg, sizeof msg);
		assert_non_null(strstr(msg, "choose another --socket"));
		assert_null(strstr(msg, "chmod"));
		assert_int_equal(stat(run, &st), 0);
		assert_int_equal(st.st_mode & 07777, modes[i]);
	}
}

static void
test_long_path_refused(void **state)
{
	struct fixture *f = *state;
	char sock[200];

	snprintf(sock, sizeof sock, "%s/%0120d.sock", f->dir, 0);
	assert_int_equal(reap(f, spawn(f, sock, f->db, NULL)), 1);
}

static void
test_shutdown_method(void **state)
{
	struct fixture *f = *state;
	pid_t pid = spawn(f, f->sock, f->db, NULL);
	int fd = hello(f);

	request(fd, 5, "shutdown", false);
	expect_code(fd, 5, 0);
	close(fd);
	assert_int_equal(reap(f, pid), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_modes_and_sigterm, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_second_daemon_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stale_socket_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unsafe_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_long_path_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_shutdown_method, setup, teardown),
	};

	/* A daemon that hangs up on us must fail a test, not kill the run. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
