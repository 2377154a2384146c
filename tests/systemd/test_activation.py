#!/usr/bin/python3
"""ignited under systemd's protocols, without systemd as PID 1:
systemd-socket-activate passes it a listening socket (LISTEN_FDS), and the
test itself plays the service manager's notification socket (NOTIFY_SOCKET,
an AF_UNIX datagram socket) and watchdog (WATCHDOG_USEC).

usage: test_activation.py IGNITED [unittest args]
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from daemon import Client, Daemon, wait_iteration, wait_status  # noqa: E402

IGNITED = None
ACTIVATE = shutil.which("systemd-socket-activate")
WATCHDOG_USEC = 400000


class Notifications:
    """The service manager's end of sd_notify: every datagram with the pid
    the kernel says sent it (SO_PASSCRED)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(path)
        self.seen = []          # (pid, {var: value}) in arrival order

    def close(self):
        self.sock.close()

    def next(self, timeout):
        self.sock.settimeout(timeout)
        data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        msg = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
        self.seen.append((pid, msg))
        return pid, msg

    def wait_for(self, var, value=None, timeout=30):
        """The first message from now on that sets var (to value)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                pid, msg = self.next(max(deadline - time.time(), 0.01))
            except socket.timeout:
                break
            if var in msg and (value is None or msg[var] == value):
                return pid, msg
        raise AssertionError("no %s=%s within %ss; got %r" % (var, value, timeout, self.seen))


class ActivationCase(unittest.TestCase):
    def setUp(self):
        if ACTIVATE is None:
            self.skipTest("systemd-socket-activate not installed (Debian's systemd package)")
        self.dir = tempfile.mkdtemp(prefix="ignite-sd-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "ignite.db")
        self.log = os.path.join(self.dir, "activated.log")
        # Open to others on purpose: ignited refuses such a directory for a
        # socket it binds, but a passed socket's directory is not its own.
        sockdir = os.path.join(self.dir, "run")
        os.mkdir(sockdir, 0o755)
        os.chmod(sockdir, 0o755)
        self.socket = os.path.join(sockdir, "ignited.sock")
        self.proc = None
        self.addCleanup(self.reap)

    def reap(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        text = self.logtext()
        if "runtime error" in text or "Sanitizer" in text:
            raise AssertionError("sanitizer report:\n" + text[-4000:])

    def logtext(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def activate(self, env=(), sockets=1):
        """systemd-socket-activate listening on our socket(s); ignited
        starts at the first connection."""
        cmd = [ACTIVATE]
        for i in range(sockets):
            cmd += ["-l", self.socket if i == 0 else self.socket + str(i)]
        for e in env:
            cmd += ["-E", e]
        cmd += [IGNITED, "--db", self.db, "--log-level", "debug"]
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=logf)
        deadline = time.time() + 10
        while not os.path.exists(self.socket):
            self.assertIsNone(self.proc.poll(), self.logtext())
            self.assertLess(time.time(), deadline, "socket never appeared")
            time.sleep(0.01)

    def connect(self, hello=True):
        """A client of the activated daemon: the socket file exists a
        moment before the activator listens on it, so refused connects
        are tried again."""
        deadline = time.time() + 10
        while True:
            try:
                return Client(self.socket, hello=hello)
            except ConnectionRefusedError:
                self.assertIsNone(self.proc.poll(), self.logtext())
                self.assertLess(time.time(), deadline, "the activator never listened")
                time.sleep(0.01)

    def unfinished_run(self):
        """A database holding a run that was running when its daemon
        stopped: SIGTERM checkpoints it and leaves it 'running'."""
        first = os.path.join(self.dir, "first")
        os.mkdir(first, 0o700)
        d = Daemon(IGNITED, workdir=first)
        d.db = self.db
        d.start()
        try:
            c = d.client()
            rid = c.call("run", {"engine": "builtin:sleep", "params": {"ms": 20},
                                 "data": "range:100000", "max_epochs": 100,
                                 "name": "long"})["id"]
            wait_iteration(c, rid, 3)
            c.close()
        finally:
            d.stop()
        self.assertEqual(d.proc.returncode, 0, d.logtext())
        return rid


class TestActivation(ActivationCase):
    def test_ready_after_resume_status_watchdog_stopping(self):
        rid = self.unfinished_run()
        notify = Notifications(os.path.join(self.dir, "notify"))
        self.addCleanup(notify.close)
        self.activate(["NOTIFY_SOCKET=" + notify.path,
                       "WATCHDOG_USEC=%d" % WATCHDOG_USEC])
        # Connecting starts the daemon; the connection waits in the
        # backlog until it serves.
        c = self.connect(hello=False)
        self.addCleanup(c.close)
        pid, ready = notify.wait_for("READY", "1")
        # READY=1 is the first thing said, by the daemon itself (what
        # NotifyAccess=main accepts: socket-activate exec'd into it) ...
        self.assertEqual(notify.seen[0][1], ready)
        self.assertEqual(pid, self.proc.pid)
        # ... and only once the unfinished run was resumed: the same
        # message counts it running, and so does the daemon when asked.
        self.assertEqual(ready.get("STATUS"), "1 run running")
        self.assertEqual(c.call("hello", {"versions": [1]})["version"], 1)
        self.assertIsNone(c.call("ping"))
        st = c.call("status", {"id": rid})
        self.assertEqual(st["status"], "running")
        self.assertEqual(st["name"], "long")

        # WATCHDOG=1 keeps coming, well within WATCHDOG_USEC each time
        # (the daemon sends it every half of it; the slack is for a busy
        # machine, where a tighter bound would flake)
        for _ in range(3):
            notify.wait_for("WATCHDOG", "1", timeout=3 * WATCHDOG_USEC / 1e6)

        # STATUS= follows the number of running runs.
        c.call("terminate", {"id": rid})
        wait_status(c, rid, ("terminated",))
        notify.wait_for("STATUS", "0 runs running", timeout=10)

        self.proc.send_signal(signal.SIGTERM)
        notify.wait_for("STOPPING", "1", timeout=10)
        self.assertEqual(self.proc.wait(60), 0, self.logtext())
        # The socket's path is systemd's: the daemon leaves it.
        self.assertTrue(os.path.exists(self.socket))
        self.assertIn("passed by systemd", self.logtext())
        # Nothing but the daemon's own messages, READY=1 once.
        self.assertEqual({p for p, _ in notify.seen}, {self.proc.pid})
        self.assertEqual(sum("READY" in m for _, m in notify.seen), 1)

    def test_serves_without_notify_socket(self):
        self.activate()
        c = self.connect()
        self.addCleanup(c.close)
        self.assertIsNone(c.call("ping"))
        self.assertEqual(c.call("list", {})["runs"], [])
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(60), 0, self.logtext())
        self.assertTrue(os.path.exists(self.socket))

    def test_refuses_two_sockets(self):
        self.activate(sockets=2)
        # the activator spawns ignited at the first connection; the socket
        # file exists a moment before it listens, so try until it does
        deadline = time.time() + 10
        while self.proc.poll() is None and time.time() < deadline:
            with socket.socket(socket.AF_UNIX) as s:
                try:
                    s.connect(self.socket)
                    break
                except OSError:
                    time.sleep(0.01)
        self.assertEqual(self.proc.wait(30), 1)
        self.assertIn("passed 2 sockets", self.logtext())


if __name__ == "__main__":
    IGNITED = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
