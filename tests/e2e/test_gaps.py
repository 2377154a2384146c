#!/usr/bin/python3
"""Promises of PROTOCOL.md that only scripts/mutants.sh showed untested:
each test here kills a mutant of its list (named in the test's doc).
usage: test_gaps.py IGNITED [unittest args]
"""
import grp
import os
import pwd
import sqlite3
import struct
import sys
import tempfile
import time
import unittest

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon import PY, PYPATH, SRC, Daemon, as_uid, wait_status  # noqa: E402

SLOW_SETUP_WORKER = os.path.join(SRC, "tests", "workers", "slow_setup_worker.py")
IGNITED = None
INVALID_PARAMS, FRAME_TOO_LARGE = 3, 101


class Case(unittest.TestCase):
    extra = ()

    def setUp(self):
        self.d = Daemon(IGNITED, extra=self.extra).start()
        self.addCleanup(self.d.remove)
        self.c = self.d.client()
        self.addCleanup(self.c.close)


class TestRequestFrames(Case):
    extra = ("--max-frame", "4096")

    def frame(self, size):
        """A ping request whose frame body is exactly size bytes."""
        n = size
        while True:
            body = msgpack.packb([0, 7, "ping", {"pad": b"x" * n}], use_bin_type=True)
            if len(body) == size:
                break
            n -= len(body) - size
        return struct.pack(">I", size) + body

    def test_max_frame_bounds_requests(self):
        """--max-frame holds for requests, on the length prefix
        (mutant conn-requests-ignore-max-frame)."""
        self.c.send_raw(self.frame(4096))
        msg = self.c.read()
        # answered: an unknown param, but read whole
        self.assertEqual(msg[:2], [1, 7])
        self.assertEqual(msg[2]["code"], INVALID_PARAMS)
        c = self.d.client()
        c.send_raw(self.frame(4097))
        msg = c.read()
        self.assertEqual(msg[:2], [2, "error"], msg)
        self.assertEqual(msg[2]["code"], FRAME_TOO_LARGE, msg)
        self.assertIn("4097", msg[2]["message"])
        with self.assertRaises(EOFError):
            c.read()
        c.close()


class TestCheckpointRate(Case):
    def test_every_1_checkpoints_at_most_100_a_second(self):
        """A checkpoint by count is taken at most 100 times a second
        (mutant every-no-rate-limit): counted by the store's sequence of
        the run's checkpoints, which trimming does not lower."""
        t = time.time()
        rid = self.c.call("run", {"engine": "builtin:noop", "data": "range:400000", "max_epochs": 30,
                                  "checkpoint": {"every": 1, "epoch_completed": False}})["id"]
        st = wait_status(self.c, rid, ("completed", "failed"))
        took = time.time() - t
        self.assertEqual(st["status"], "completed", st.get("reason"))
        self.d.stop()
        db = sqlite3.connect(self.d.db)
        (taken,) = db.execute("SELECT max(seq) FROM checkpoints WHERE run_id = ?",
                              (rid,)).fetchone()
        db.close()
        # and one at the end
        self.assertLessEqual(taken, 100 * took + 2, (taken, took))
        self.assertGreaterEqual(taken, 2, took)


class TestSetupTimeout(Case):
    def test_setup_gets_a_minute_whatever_timeout_ms(self):
        """setup waits at least 60 s for a worker's answer (imports take a
        while), whatever a shorter worker.timeout_ms says (mutant
        timeout-per-request-ignored)."""
        rid = self.c.call("run", {"engine": [PY, SLOW_SETUP_WORKER, "1.5"],
                                  "data": "range:5",
                                  "worker": {"env": PYPATH, "timeout_ms": 500}})["id"]
        st = wait_status(self.c, rid, ("completed", "failed"), 60)
        self.assertEqual(st["status"], "completed", st.get("reason"))


def user_with_supplementary_group():
    """(uid, gid) of a user and a group it is in besides its own."""
    for g in grp.getgrall():
        for name in g.gr_mem:
            try:
                pw = pwd.getpwnam(name)
            except KeyError:
                continue
            if pw.pw_uid != 0 and pw.pw_gid != g.gr_gid:
                return pw.pw_uid, g.gr_gid
    return None


class TestOwnerGroups(Case):
    def test_files_are_opened_with_the_owners_groups(self):
        """A run's data is opened with its owner's supplementary groups, and
        no others (mutant files-keep-root-groups)."""
        if os.getuid() != 0:
            self.skipTest("needs root to act as another uid")
        found = user_with_supplementary_group()
        if found is None:
            self.skipTest("no user with a supplementary group in the user database")
        uid, gid = found
        tmp = tempfile.mkdtemp(prefix="ignite-groups-")
        self.addCleanup(lambda: [os.unlink(os.path.join(tmp, f)) for f in os.listdir(tmp)]
                        and os.rmdir(tmp))
        os.chmod(tmp, 0o755)
        for name, group in (("theirs.csv", gid), ("roots.csv", 0)):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write("1,2,0\n3,4,1\n")
            os.chown(path, 0, group)
            os.chmod(path, 0o640)

        def spec(name):
            return {"engine": "builtin:noop", "data": {
                "kind": "csv", "path": os.path.join(tmp, name), "header": False,
                "label": 2}}

        def check(c):
            rid = c.call("run", spec("theirs.csv"))["id"]
            st = wait_status(c, rid, ("completed", "failed"), 60)
            try:
                c.call("run", spec("roots.csv"))
                return False
            except Exception as e:       # refused: the owner cannot read it
                return st["status"] == "completed" and "roots.csv" in str(e)
        self.assertEqual(as_uid(self.d, uid, check), 0)


if __name__ == "__main__":
    IGNITED = os.path.abspath(sys.argv.pop(1))
    unittest.main()
