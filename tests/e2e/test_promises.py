#!/usr/bin/python3
"""Promises of docs/PROTOCOL.md and ignited(8) that had no test (issue 21):
what another uid may not do, the socket's --group, SIGINT, the checkpoint
taken on terminate, pause and shutdown, the error codes TOO_LARGE and
FRAME_TOO_LARGE under --max-frame, and the worker's faults: code that
raises, restarts used up, a slow setup.  Real daemon, real workers, real
second users (uids 65533 and 65534 by fork and setuid).
usage: test_promises.py IGNITED [unittest args]
"""
import grp
import os
import signal
import sqlite3
import stat
import struct
import sys
import time
import unittest

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon import (PY, PYPATH, SRC, Client, Daemon, DaemonCase, RPCError, as_uid,  # noqa: E402
                    log_lines, logged_iterations, resumed_after_restart, wait_iteration,
                    wait_status)

SLOW_WORKER = os.path.join(SRC, "tests", "workers", "slow_worker.py")
BAD_WORKER = os.path.join(SRC, "tests", "workers", "bad_worker.py")
IGNITED = None
OTHER = 65533
PERMISSION_DENIED, TOO_LARGE = 5, 9
FRAME_TOO_LARGE = 101


def sleep_spec(n=100000):
    """A blocking builtin in one long epoch, checkpointed only when asked."""
    return {"engine": "builtin:sleep", "params": {"ms": 2}, "data": "range:%d" % n,
            "checkpoint": {"epoch_completed": False}}


def slow_spec(n=100000):
    """An exec worker in one long epoch, checkpointed only when asked."""
    return {"engine": [PY, SLOW_WORKER, "5"], "data": "range:%d" % n,
            "checkpoint": {"epoch_completed": False}, "worker": {"env": PYPATH}}


def python_worker(body):
    """An exec engine running body after importing ignite_worker."""
    return [PY, "-c", "import sys, time\nsys.path.insert(0, %r)\nimport ignite_worker\n%s"
            % (os.path.join(SRC, "python"), body)]


def last_checkpoint(db, rid, want=None, timeout=10):
    """The iteration of the run's last committed checkpoint, read only;
    with want, once it is that (the store commits a moment after the run's
    status changed in memory), or what it is at the deadline."""
    deadline = time.time() + timeout
    while True:
        conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        try:
            got = conn.execute("SELECT max(iteration) FROM checkpoints WHERE run_id = ?",
                               (rid,)).fetchone()[0]
        finally:
            conn.close()
        if want is None or got == want or time.time() > deadline:
            return got
        time.sleep(0.01)


class TestOthersMayNot(DaemonCase):
    """PROTOCOL.md, Who may do what: resume, terminate_epoch and shutdown
    are refused to another uid, and change nothing."""

    def test_resume_terminate_epoch_and_shutdown(self):
        if os.getuid() != 0:
            self.skipTest("needs root to act as another uid")
        paused = self.run_spec(sleep_spec())
        running = self.run_spec(sleep_spec())
        wait_iteration(self.c, paused, 3)
        self.c.call("pause", {"id": paused})
        wait_status(self.c, paused, ("paused",))

        def check(c):
            codes = []
            for method, params in (("resume", {"id": paused}),
                                   ("resume", {"id": paused, "max_epochs": 5}),
                                   ("terminate_epoch", {"id": running}),
                                   ("shutdown", {})):
                try:
                    c.call(method, params)
                    codes.append(0)
                except RPCError as e:
                    codes.append(e.code)
            return codes == [PERMISSION_DENIED] * 4
        self.assertEqual(as_uid(self.d, OTHER, check), 0)
        self.assertIsNone(self.d.proc.poll(), "the daemon stopped for another uid")
        self.assertIsNone(self.c.call("ping"))
        self.assertEqual(self.c.call("status", {"id": paused})["status"], "paused")
        st = self.c.call("status", {"id": running})
        self.assertEqual((st["status"], st["epoch"]), ("running", 1))
        for rid in (paused, running):
            self.assertEqual([l for l in log_lines(self.c, rid) if "uid %d" % OTHER in l], [])
            self.c.call("terminate", {"id": rid})


class TestGroup(unittest.TestCase):
    """ignited(8) --group: the socket 0660 and its directory 0750, both of
    the group; a uid in the group connects, one outside it does not."""

    def test_group_members_connect_others_do_not(self):
        if os.getuid() != 0:
            self.skipTest("needs root to act as other uids")
        group = grp.getgrnam("users") if "users" in {g.gr_name for g in grp.getgrall()} \
            else [g for g in grp.getgrall() if g.gr_gid not in (0, OTHER, 65534)][0]
        d = Daemon(IGNITED, extra=["--group", group.gr_name]).start()
        self.addCleanup(d.remove)
        for path, mode in ((os.path.dirname(d.socket), 0o750), (d.socket, 0o660)):
            st = os.lstat(path)
            self.assertEqual((stat.S_IMODE(st.st_mode), st.st_gid), (mode, group.gr_gid), path)
        self.assertTrue(stat.S_ISSOCK(os.lstat(d.socket).st_mode))

        def ping(c):            # as_uid: 0 served, 3 the connection refused
            return c.call("ping") is None
        self.assertEqual(as_uid(d, OTHER, ping, groups=[group.gr_gid]), 0)
        self.assertEqual(as_uid(d, OTHER, ping, groups=[]), 3)


class TestStopCheckpoints(unittest.TestCase):
    """PROTOCOL.md: a run is checkpointed when it is terminated, paused or
    stopped for a shutdown (SIGTERM, SIGINT, the shutdown method), a
    blocking builtin as an exec worker: the last checkpoint is where it
    stopped, and a restart resumes it there."""

    def setUp(self):
        self.d = Daemon(IGNITED).start()
        self.addCleanup(self.d.remove)
        self.c = self.d.client()
        self.addCleanup(lambda: self.c.close())

    def start_both(self):
        rids = [self.c.call("run", spec)["id"] for spec in (sleep_spec(), slow_spec())]
        for rid in rids:
            wait_iteration(self.c, rid, 5)
        return rids

    def test_terminate_and_pause(self):
        for action, status in (("terminate", "terminated"), ("pause", "paused")):
            for rid in self.start_both():
                with self.subTest(action=action, run=rid):
                    self.c.call(action, {"id": rid})
                    it = wait_status(self.c, rid, (status,))["iteration"]
                    self.assertGreaterEqual(it, 5)
                    self.assertEqual(last_checkpoint(self.d.db, rid, it), it)
                    if action == "pause":
                        self.assertEqual(logged_iterations(self.c, rid, "paused"), [it])
                        self.c.call("terminate", {"id": rid})

    def stopped_then_resumed(self, stop):
        rids = self.start_both()
        stop()
        self.assertEqual(self.d.wait(), 0, self.d.logtext()[-3000:])
        self.c.close()
        stopped = {rid: last_checkpoint(self.d.db, rid) for rid in rids}
        self.d.start()
        self.c = self.d.client()
        for rid in rids:
            with self.subTest(run=rid):
                at = logged_iterations(self.c, rid, "stopped for the daemon's shutdown")
                self.assertEqual(at, [stopped[rid]])
                self.assertGreaterEqual(stopped[rid], 5)
                self.assertEqual(resumed_after_restart(self.c, rid), [stopped[rid]])
                self.c.call("terminate", {"id": rid})

    def test_sigint_stops_like_sigterm(self):
        self.stopped_then_resumed(lambda: self.d.signal(signal.SIGINT))

    def test_shutdown_method(self):
        self.stopped_then_resumed(lambda: self.assertIsNone(self.c.call("shutdown")))


class TestFrameLimits(DaemonCase):
    """With --max-frame: a request over it is FRAME_TOO_LARGE on its length
    prefix and the connection closes; an answer over it is TOO_LARGE and the
    connection serves on."""

    MAX = 4096
    extra = ("--max-frame", str(MAX))

    def test_request_over_max_frame(self):
        body = msgpack.packb([0, 2, "ping", {"pad": "x" * self.MAX}], use_bin_type=True)
        self.assertGreater(len(body), self.MAX)
        c = Client(self.d.socket, timeout=10)
        self.addCleanup(c.close)
        c.send_raw(struct.pack(">I", len(body)))   # the prefix alone is refused
        note = c.read()
        self.assertEqual(note[:2], [2, "error"], note)
        self.assertEqual(note[2]["code"], FRAME_TOO_LARGE, note)
        self.assertIn(str(self.MAX), note[2]["message"])
        with self.assertRaises((EOFError, ConnectionResetError)):
            c.read()
        # one just under it is served
        fits = {"pad": "x" * (self.MAX - 64)}
        with self.assertRaises(RPCError) as e:          # pad: an unknown key
            self.c.call("ping", fits)
        self.assertEqual(e.exception.code, 3)

    def test_answer_over_max_frame(self):
        rid = self.run_spec({"engine": "builtin:noop", "data": "range:200",
                             "handlers": [{"event": "ITERATION_COMPLETED", "action": "log",
                                           "message": "y" * 60}]})
        wait_status(self.c, rid, ("completed",))
        with self.assertRaises(RPCError) as e:
            self.c.call("logs", {"id": rid})
        self.assertEqual(e.exception.code, TOO_LARGE)
        self.assertEqual(len(self.c.call("logs", {"id": rid, "tail": 5})["lines"]), 5)


class TestWorkerFaults(DaemonCase):
    def test_code_that_raises_fails_without_restart(self):
        """PROTOCOL.md Failures: an error response (INTERNAL) from the
        worker's code fails the run with "the worker's process failed: ...",
        and max_restarts does not restart it."""
        rid = self.run_spec({"engine": python_worker(
            "def process(engine, batch):\n"
            "    raise ValueError('no good at %d' % engine.state.iteration)\n"
            "ignite_worker.serve(process)\n"),
            "data": "range:10", "worker": {"max_restarts": 2}})
        st = wait_status(self.c, rid, ("failed", "completed"), 60)
        self.assertEqual(st["status"], "failed")
        self.assertEqual(st["reason"], "the worker's process failed: ValueError: no good at 1")
        self.assertEqual([l for l in log_lines(self.c, rid) if l.startswith("restart")], [])

    def test_max_restarts_used_up(self):
        """max_restarts 2: the third death of the worker fails the run, with
        the restarts in its reason and its log."""
        rid = self.run_spec({"engine": [PY, BAD_WORKER, "crash"], "data": "range:10",
                             "checkpoint": {"every": 1}, "worker": {"max_restarts": 2}})
        st = wait_status(self.c, rid, ("failed", "completed"), 60)
        self.assertEqual(st["status"], "failed")
        self.assertTrue(st["reason"].startswith(
            "after 2 restarts of its worker: the worker exited with status 3"), st["reason"])
        lines = log_lines(self.c, rid)
        self.assertEqual([l.split(" from")[0] for l in lines if l.startswith("restart ")],
                         ["restart 1 of 2", "restart 2 of 2"])
        self.assertEqual(lines.count("bad_worker: going crash"), 3)

    def test_setup_gets_at_least_60_s(self):
        """worker.timeout_ms 1000, a setup (imports) of 2 s: the run starts
        and completes, setup having at least 60 s."""
        rid = self.run_spec({"engine": python_worker(
            "time.sleep(2)\nignite_worker.serve(lambda engine, batch: {'x': 1.0})\n"),
            "data": "range:3", "worker": {"timeout_ms": 1000}})
        st = wait_status(self.c, rid, ("failed", "completed"), 60)
        self.assertEqual(st["status"], "completed", st["reason"])
        self.assertEqual(st["iteration"], 3)


if __name__ == "__main__":
    IGNITED = DaemonCase.ignited = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
