"""A real ignited for end-to-end tests, and a raw client for it.

Each Daemon lives in a fresh temporary directory (socket and database) and
is stopped, killed if need be, and reaped by stop() -- also when a test
fails, through unittest's cleanups.
"""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import msgpack

DIGITS = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
NUMPY_WORKER = os.path.join(SRC, "examples", "workers", "numpy_softmax.py")
PYPATH = {"PYTHONPATH": os.path.join(SRC, "python")}
# CPU slots enough that the tests' runs all start at once on a small
# machine (the default is one a core); the queue's tests give their own.
CPUS = ["--cpus", "256"]


# SQL taking a database of this schema back to schema 5 (its metric history
# without points, no run_launch), for the migrations' tests.
UNDO_TO_V5 = ("DROP TABLE run_launch;"
              "DROP TABLE chunks;"
              "CREATE TABLE points (series_id INTEGER NOT NULL"
              " REFERENCES series ON DELETE CASCADE,"
              " iteration INTEGER NOT NULL, epoch INTEGER NOT NULL,"
              " wall REAL NOT NULL, value REAL,"
              " PRIMARY KEY (series_id, iteration)) WITHOUT ROWID;"
              "ALTER TABLE series DROP COLUMN open_n;"
              "ALTER TABLE series DROP COLUMN open_first;")


class RPCError(Exception):
    def __init__(self, code, message):
        super().__init__("%d: %s" % (code, message))
        self.code = code
        self.message = message


class Client:
    """msgpack-RPC over the control socket (docs/PROTOCOL.md)."""

    def __init__(self, path, hello=True, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.msgid = 0
        self.notes = []
        if hello:
            self.call("hello", {"versions": [1]})

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, obj):
        body = msgpack.packb(obj, use_bin_type=True)
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def _read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("daemon closed the connection")
            buf += chunk
        return buf

    def read(self):
        (n,) = struct.unpack(">I", self._read_exact(4))
        return msgpack.unpackb(self._read_exact(n), raw=False, strict_map_key=False)

    def call(self, method, params=None):
        self.msgid += 1
        self.send([0, self.msgid, method, params if params is not None else {}])
        while True:
            msg = self.read()
            if msg[0] == 2:
                self.notes.append(msg)
                continue
            if msg[0] == 1 and msg[1] == self.msgid:
                if msg[2] is not None:
                    raise RPCError(msg[2]["code"], msg[2]["message"])
                return msg[3]

    def next_note(self):
        if self.notes:
            return self.notes.pop(0)
        msg = self.read()
        assert msg[0] == 2, msg
        return msg


def stop_process(proc, timeout=60):
    """SIGTERM proc unless it has exited, SIGKILL it after timeout seconds,
    and reap it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Daemon:
    def __init__(self, binary, workdir=None, extra=(), prefix=(), popen=None):
        """prefix: a command that execs the rest (setpriv ...); popen:
        more subprocess.Popen arguments (pass_fds, env)."""
        self.binary = binary
        self.prefix = list(prefix)
        self.popen = dict(popen or {})
        self.dir = workdir or tempfile.mkdtemp(prefix="ignite-e2e-")
        os.chmod(self.dir, 0o700)
        self.socket = os.path.join(self.dir, "run", "ignited.sock")
        self.db = os.path.join(self.dir, "ignite.db")
        self.log = os.path.join(self.dir, "ignited.log")
        self.extra = list(extra)
        self.proc = None

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            self.prefix + [self.binary, "--socket", self.socket, "--db", self.db,
                           "--log-level", "debug"] + CPUS + self.extra,
            stdout=logf, stderr=logf, **self.popen)
        logf.close()
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ignited exited %d:\n%s" % (self.proc.returncode, self.logtext()))
            try:
                c = Client(self.socket)
                c.call("ping")
                c.close()
                return self
            except (FileNotFoundError, ConnectionRefusedError, EOFError, OSError):
                time.sleep(0.02)
        raise RuntimeError("ignited did not come up:\n" + self.logtext())

    def client(self):
        return Client(self.socket)

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=60):
        return self.proc.wait(timeout)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)

    def remove(self):
        """Stop, then delete the directory, unless the daemon's log shows a
        sanitizer report: then keep it and say where."""
        self.stop()
        text = self.logtext()
        if "runtime error" in text or "Sanitizer" in text:
            raise AssertionError("sanitizer report in %s:\n%s" % (self.log, text[-4000:]))
        shutil.rmtree(self.dir, ignore_errors=True)
        # the default --checkpoint-dir, beside the database's directory
        shutil.rmtree(self.dir + "-checkpoints", ignore_errors=True)


def daemon_for(case, binary, *extra):
    """A daemon (binary with the extra options) and a client to it, both
    stopped when the test case ends: (daemon, client)."""
    d = Daemon(binary, extra=list(extra)).start()
    case.addCleanup(d.remove)
    c = d.client()
    case.addCleanup(c.close)
    return d, c


class DaemonCase(unittest.TestCase):
    """A fresh daemon (ignited with the extra options) and a client to it
    for each test; each test file sets DaemonCase.ignited."""

    ignited = None
    extra = ()

    def setUp(self):
        self.d = Daemon(self.ignited, extra=self.extra).start()
        self.addCleanup(self.d.remove)
        self.c = self.d.client()
        self.addCleanup(self.c.close)

    def run_spec(self, spec):
        return self.c.call("run", spec)["id"]


def rss_kib(pid):
    """The process's VmRSS in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def wait_status(client, run_id, statuses, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = client.call("status", {"id": run_id})
        if st["status"] in statuses:
            return st
        time.sleep(0.02)
    raise AssertionError("run %s never reached %s: %r" % (run_id, statuses, st))


def wait_for(cond, what, timeout=60):
    """cond()'s first true value, polled until timeout seconds pass."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.01)
    raise AssertionError("timed out waiting for " + what)


def wait_iteration(client, run_id, target, timeout=60):
    """The run's iteration once it is at least target (>= 1)."""
    def reached():
        it = client.call("status", {"id": run_id})["iteration"]
        return it if it >= target else None
    return wait_for(reached, "run %s to reach iteration %d" % (run_id, target), timeout)


def log_lines(client, run_id):
    return [line["message"] for line in client.call("logs", {"id": run_id})["lines"]]


def logged_iterations(client, run_id, what, then=""):
    """The iterations of the run's lifecycle lines "WHAT at epoch E,
    iteration I THEN" (PROTOCOL.md, logs), in order."""
    pattern = re.compile(re.escape(what) + r" at epoch \d+, iteration (\d+)" + re.escape(then))
    return [int(m.group(1)) for m in map(pattern.match, log_lines(client, run_id)) if m]


def resumed_after_restart(client, run_id, restarts=1):
    """The iterations the run resumed at after the daemon's restarts, once
    its log has at least that many (a line is committed a moment after the
    daemon serves)."""
    def resumed():
        at = logged_iterations(client, run_id, "resumed", " after the daemon's restart")
        return at if len(at) >= restarts else None
    return wait_for(resumed, "run %s to resume %d times" % (run_id, restarts))


def rate(client, run_id, series):
    """The run's iterations a second, from the wall times of the first page
    of a per-iteration series of its history."""
    page = client.call("metrics", {"id": run_id, "names": [series]})["series"][series]
    n = len(page["time"]) // 8
    times = struct.unpack(">%dd" % n, page["time"])
    return (n - 1) / max(times[-1] - times[0], 1e-6)


def history(client, run_id, **kw):
    """Every point of every series: {name: [(epoch, iteration, value)]}."""
    out = {}
    params = dict(kw, id=run_id)
    while True:
        res = client.call("metrics", params)
        for name, cols in res["series"].items():
            n = len(cols["value"]) // 8
            ep = struct.unpack(">%dQ" % n, cols["epoch"])
            it = struct.unpack(">%dQ" % n, cols["iteration"])
            va = struct.unpack(">%dd" % n, cols["value"])
            out.setdefault(name, []).extend(zip(ep, it, va))
        if res["next"] is None:
            return out
        params["from"] = res["next"]


def with_options(spec, name, every, extra):
    """spec with a name, a checkpoint every `every` iterations and the
    extra keys, where given."""
    if every is not None:
        spec["checkpoint"] = {"every": every}
    if name:
        spec["name"] = name
    spec.update(extra)
    return spec


def softmax_spec(name=None, epochs=8, every=None, **extra):
    spec = {
        "engine": "builtin:softmax",
        "params": {"lr": 0.5, "momentum": 0.5, "classes": 10, "seed": 3},
        "data": {"kind": "csv", "path": DIGITS, "header": False, "label": 64,
                 "batch_size": 32, "shuffle": True, "split": 0.2, "scale": 16},
        "max_epochs": epochs,
        "seed": 7,
        "metrics": [
            {"name": "loss", "kind": "loss", "field": "loss"},
            {"name": "acc", "kind": "accuracy", "field": "y_pred", "target": "y"},
            {"name": "loss_avg", "kind": "running_average", "field": "loss", "alpha": 0.9},
            {"name": "val_acc", "kind": "accuracy", "field": "y_pred", "target": "y",
             "split": "val"},
        ],
        "handlers": [{"event": "EPOCH_COMPLETED", "action": "evaluate"}],
    }
    return with_options(spec, name, every, extra)


def numpy_spec(name=None, epochs=3, every=None, **extra):
    """The numpy softmax exec worker on the digits."""
    spec = {
        "engine": [PY, NUMPY_WORKER],
        "params": {"classes": 10, "lr": 0.5},
        "data": {"kind": "csv", "path": DIGITS, "header": False, "label": 64,
                 "batch_size": 32, "shuffle": True, "scale": 16},
        "max_epochs": epochs,
        "seed": 7,
        "metrics": [{"name": "loss", "kind": "loss", "field": "loss"},
                    {"name": "acc", "kind": "accuracy", "field": "y_pred", "target": "y"},
                    {"name": "loss_avg", "kind": "running_average", "field": "loss"}],
        "worker": {"env": PYPATH},
    }
    return with_options(spec, name, every, extra)


def as_nobody(d, check):
    """check(client) in a child process connected to d as uid and gid 65534
    (nobody), with d's socket opened to others for it.  The child's exit
    code: 0 when check returned true, 2 when false, 1 when it raised."""
    return as_uid(d, 65534, check)


def as_uid(d, uid, check, groups=None):
    """as_nobody, as uid (and gid) uid: 65533 serves as a second user.
    With groups (a list, maybe empty), the child has those supplementary
    groups and d's socket is left as the daemon made it; exit code 3 then
    says that the socket refused the connection (EACCES)."""
    if groups is None:
        os.chmod(os.path.dirname(d.socket), 0o755)
        os.chmod(d.socket, 0o666)
    os.chmod(d.dir, 0o755)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if groups is not None:
                os.setgroups(groups)
            os.setgid(uid)
            os.setuid(uid)
            try:
                c = Client(d.socket)
            except PermissionError:
                code = 3
            else:
                code = 0 if check(c) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
