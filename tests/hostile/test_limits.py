#!/usr/bin/python3
"""The control socket's limits, against real users: no uid may freeze or
flood the daemon for the others (issue #13).  Offenders run as uid 65534
(nobody) in a forked child; the others are root and uid 65533.

usage: test_limits.py IGNITED [unittest args]
"""

import os
import resource
import socket
import struct
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
sys.path.insert(0, HERE)
from daemon import Client, Daemon, wait_for, wait_status  # noqa: E402
from test_hostile import Raw, frame  # noqa: E402

IGNITED = None
NOBODY, OTHER = 65534, 65533
UNAVAILABLE, FRAME_TRUNCATED = 7, 102
HELLO = frame([0, 1, "hello", {"versions": [1]}])
HELD = []           # a child's connections, kept open until it exits


def open_to_others(d):
    os.chmod(d.dir, 0o755)
    os.chmod(os.path.dirname(d.socket), 0o755)
    os.chmod(d.socket, 0o666)


class AsUser:
    """fn(report) in a child running as uid (and gid): report(line) sends a
    line to the parent, which reads them with line(); the child lives
    until fn returns and then until release()."""

    def __init__(self, uid, fn):
        self.up_r, up_w = os.pipe()
        down_r, self.down_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            code = 1
            try:
                os.close(self.up_r)
                os.close(self.down_w)
                os.setgid(uid)
                os.setuid(uid)
                fn(lambda text: os.write(up_w, (text + "\n").encode()))
                os.close(up_w)
                os.read(down_r, 1)              # until release()
                code = 0
            except BaseException as e:          # noqa: B902 -- say it, exit
                os.write(up_w, ("raised %r\n" % e).encode())
            finally:
                os._exit(code)
        os.close(up_w)
        os.close(down_r)
        self.up = os.fdopen(self.up_r, "r")

    def line(self):
        text = self.up.readline().strip()
        if text.startswith("raised"):
            raise AssertionError("the child " + text)
        return text

    def release(self):
        os.close(self.down_w)
        self.up.close()
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


def first_message(r):
    try:
        return r.read()
    except (socket.timeout, OSError):
        return "timeout"


def ping_as(uid, d):
    """Ping d as uid in a child; True when answered."""
    def check(report):
        c = Client(d.socket, timeout=10)
        report("ok" if c.call("ping") is None else "bad")
        c.close()
    child = AsUser(uid, check)
    try:
        return child.line() == "ok"
    finally:
        child.release()


def served_as(uid, d):
    """ping_as, false when the connection was refused."""
    try:
        return ping_as(uid, d)
    except AssertionError:
        return False


class LimitsCase(unittest.TestCase):
    def daemon(self, *extra, nofile=None):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
        try:
            d = Daemon(IGNITED, extra=list(extra)).start()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        self.addCleanup(d.remove)
        open_to_others(d)
        return d

    # ---- finding: 1000 idle connections of one user lock everyone out ----
    def test_per_uid_limit(self):
        """nobody opens more connections than the daemon has descriptors
        for: past its 64 it is refused with UNAVAILABLE, and root and
        another uid are still served."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard < 400:
            self.skipTest("RLIMIT_NOFILE hard limit %d" % hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        d = self.daemon(nofile=128)

        def hog(report):
            conns, kinds = [], {"served": 0, "refused": 0, "other": 0}
            for _ in range(150):
                try:
                    r = Raw(d.socket, timeout=3)
                except OSError:
                    kinds["other"] += 1
                    continue
                try:
                    r.send(HELLO)
                except OSError:
                    pass        # refused and closed first: its error is there to read
                conns.append(r)
            for r in conns:
                msg = first_message(r)
                if isinstance(msg, list) and msg[:3] == [1, 1, None]:
                    kinds["served"] += 1
                elif (isinstance(msg, list) and msg[:2] == [2, "error"]
                      and msg[2]["code"] == UNAVAILABLE
                      and "--max-conns-per-uid" in msg[2]["message"]):
                    kinds["refused"] += 1
                    if r.read() is not None:
                        kinds["other"] += 1
                else:
                    kinds["other"] += 1
            HELD.extend(conns)                  # open until release()
            report("%(served)d %(refused)d %(other)d" % kinds)
        child = AsUser(NOBODY, hog)
        try:
            served, refused, other = map(int, child.line().split())
            # nobody still holds its connections: the others get in
            self.assertTrue(ping_as(OTHER, d), d.logtext()[-2000:])
            c = Client(d.socket, timeout=10)
            self.assertIsNone(c.call("ping"))
            c.close()
        finally:
            child.release()
        self.assertEqual((served, refused, other), (64, 86, 0))
        self.assertIn("uid %d has 64 connections open" % NOBODY, d.logtext())
        # the count goes down as the daemon sees them close
        wait_for(lambda: served_as(NOBODY, d), "uid %d to be served again" % NOBODY, 10)

    def test_idle_between_frames(self):
        """A connection that sends nothing and waits for nothing is closed
        after --client-timeout; watchers are not, however silent."""
        d = self.daemon("--client-timeout", "400")
        c = d.client()
        rid = c.call("run", {"engine": "builtin:sleep", "params": {"ms": 5},
                             "data": "range:100000"})["id"]
        wait_status(c, rid, ("running",))
        c.call("pause", {"id": rid})
        wait_status(c, rid, ("paused",))
        c.close()
        one = d.client()
        one.call("watch", {"id": rid})          # a paused run: silence
        every = d.client()
        every.call("watch", {})
        idle = Raw(d.socket)
        idle.send(HELLO)
        self.assertEqual(idle.read()[:3], [1, 1, None])
        t0 = time.time()
        msg = idle.read()
        took = time.time() - t0
        self.assertIsNotNone(msg, "closed without saying why")
        self.assertEqual(msg[:2], [2, "error"], msg)
        self.assertEqual(msg[2]["code"], UNAVAILABLE, msg)
        self.assertIn("idle", msg[2]["message"])
        self.assertIsNone(idle.read())
        self.assertGreater(took, 0.3)
        self.assertLess(took, 5)
        # the watchers were silent since before idle connected: the sweep
        # that closed it would have closed them too
        for w in (one, every):
            self.assertIsNone(w.call("ping"))
        one.call("terminate", {"id": rid})
        for w in (one, every):
            w.close()

    # ---- finding: trickled frames and unread answers hold memory ----------
    def test_trickled_frame_is_dropped(self):
        """A frame that keeps coming, a byte at a time, is dropped once it
        falls under the minimum rate after the idle timeout."""
        d = self.daemon("--idle-timeout", "500")

        def trickle(report):
            r = Raw(d.socket, timeout=15)
            r.send(HELLO)
            r.read()
            r.send(struct.pack(">I", 16 << 20) + b"\x94" + b"\xc0" * (1 << 20))
            t0 = time.time()
            r.s.settimeout(0.1)
            msg = None
            while time.time() - t0 < 15:
                try:
                    r.send(b"\xc0")
                    msg = r.read()
                    break
                except socket.timeout:
                    continue
                except OSError:
                    break
            r.close()
            report("%.2f %r" % (time.time() - t0, msg))
        child = AsUser(NOBODY, trickle)
        try:
            took, msg = child.line().split(" ", 1)
        finally:
            child.release()
        self.assertIn("'code': %d" % FRAME_TRUNCATED, msg)
        self.assertIn("bytes/s", msg)
        self.assertLess(float(took), 10)

    def test_memory_budget(self):
        """Partial frames of one user, together over --max-conn-memory:
        the largest are dropped, with its uid in the log, and the daemon
        serves on."""
        d = self.daemon("--max-conn-memory", str(16 << 20))

        def hold(report):
            conns = []
            for _ in range(6):
                r = Raw(d.socket, timeout=15)
                r.send(HELLO)
                r.read()
                try:
                    r.send(struct.pack(">I", 16 << 20) + b"\x94" + b"\xc0" * (6 << 20))
                except OSError:
                    pass                        # dropped while sending
                conns.append(r)
            dropped = 0
            for r in conns:
                r.s.settimeout(2)
                msg = first_message(r)
                if isinstance(msg, list) or msg is None:
                    dropped += 1
                r.close()
            report("%d" % dropped)
        child = AsUser(NOBODY, hold)
        try:
            dropped = int(child.line())
            c = Client(d.socket, timeout=10)
            self.assertIsNone(c.call("ping"))
            c.close()
        finally:
            child.release()
        # 6 x 8 MiB buffers against 16 MiB: at most two can stay
        self.assertGreaterEqual(dropped, 4, d.logtext()[-2000:])
        self.assertIn("client uid %d" % NOBODY, d.logtext())
        self.assertIn("--max-conn-memory", d.logtext())

    def test_memory_budget_of_clients_that_do_not_read(self):
        """Answers piling up for clients that never read count against
        --max-conn-memory too: one user's non-reading connections are
        dropped, largest first, and everyone else is served."""
        d = self.daemon("--max-conn-memory", str(16 << 20))
        path = os.path.join(d.dir, "col.csv")
        with open(path, "w") as f:
            f.write("0.5\n" * 200000)
        open_to_others(d)
        os.chmod(path, 0o644)
        c = Client(d.socket, timeout=30)
        rid = c.call("run", {"engine": "builtin:meanstd", "data": {
            "kind": "csv", "path": path, "header": False, "batch_size": 1},
            "metrics": [{"name": "m", "kind": "output", "field": "mean.0"}]})["id"]
        wait_status(c, rid, ("completed",))
        req = [0, 0, "metrics", {"id": rid, "names": ["m"]}]

        def flood(report):
            conns = []
            for k in range(4):
                r = Raw(d.socket, timeout=15)
                r.send(HELLO)
                r.read()
                try:
                    for i in range(12):         # about 5 MB an answer
                        req[1] = 100 + i
                        r.send(frame(req))
                except OSError:
                    pass                        # dropped while sending
                conns.append(r)
            HELD.extend(conns)                  # never read; held until released
            report("sent")
        child = AsUser(NOBODY, flood)
        try:
            self.assertEqual(child.line(), "sent")
            deadline = time.time() + 60
            while "--max-conn-memory" not in d.logtext():
                self.assertLess(time.time(), deadline, d.logtext()[-2000:])
                time.sleep(0.05)
            self.assertIsNone(c.call("ping"))
        finally:
            child.release()
        self.assertIn("client uid %d" % NOBODY, d.logtext())
        c.close()

    # ---- finding: large frames freeze everyone's pings -------------------
    def test_pings_answered_while_large_frames_decode(self):
        """Two clients send frames that take long to decode; a third one's
        pings are not held up for the whole decode."""
        d = self.daemon()
        n = (8 << 20) - 32
        body = (b"\x94\x00\x02\xa4ping\x81\xa3pad\xdd" + struct.pack(">I", n)
                + b"\xc0" * n)
        big = struct.pack(">I", len(body)) + body
        pinger = d.client()
        lat, stop = [], threading.Event()

        def ping_loop():
            while not stop.is_set():
                t = time.time()
                pinger.call("ping")
                lat.append(time.time() - t)
        senders = [d.client() for _ in range(2)]
        th = threading.Thread(target=ping_loop)
        th.start()
        try:
            t0 = time.time()
            for s in senders:
                s.send_raw(big)
            for s in senders:
                msg = s.read()
                self.assertEqual(msg[1], 2, msg)     # refused: "pad" is unknown
            took = time.time() - t0
        finally:
            stop.set()
            th.join()
        worst = max(lat)
        print("\n  two %d MiB frames answered in %.2f s; %d pings meanwhile, the "
              "slowest %.3f s" % (len(body) >> 20, took, len(lat), worst),
              file=sys.stderr)
        # decoded on the loop, a ping waits for a whole decode (about as
        # long as `took`); off it, for a slice of a loop turn
        self.assertLess(worst, took / 4)
        self.assertGreater(len(lat), 10)
        for s in senders + [pinger]:
            s.close()


if __name__ == "__main__":
    IGNITED = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
