#!/usr/bin/python3
"""End-to-end tests of the daemon's start with runs to take back whose
checkpoints are big files: each file is checked (all of it read, its size
and XXH3 sum) on the threadpool, so the daemon serves at once; each such
run shows the status it had, holds its place and what it held, and steps
once its newest good checkpoint is loaded.

usage: test_ckpt_start.py IGNITED [unittest args]
"""
import os
import sys
import time
import unittest

from daemon import RPCError, history, log_lines, wait_for, wait_status
from test_ckpt_files import WORKER, FilesCase, plugin_spec, resumed_at, spec

BIG = 512 << 20
# test_ckpt_files's worker, reading back a state of more than msgpack's
# default buffer (100 MiB)
LOAD = "u = msgpack.Unpacker(); u.feed(b)"
assert LOAD in WORKER
BIG_WORKER = WORKER.replace(LOAD, "u = msgpack.Unpacker(max_buffer_size=len(b)); u.feed(b)")
UNAVAILABLE, CONFLICT = 7, 6


def uncache(path):
    """Drop path's pages from the page cache (clean: the daemon synced
    them), so that the daemon reads it back from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


class StartChecks(FilesCase):
    # three runs running, two queued behind them
    extra = ("--cpus", "3")

    def corrupt_newest(self, rid, offset):
        """Damage run rid's newest checkpoint file (the daemon is down):
        the iteration of the one before, which it resumes from."""
        rows = self.rows(rid)
        with open(rows[-1][1], "r+b") as f:
            f.seek(offset)
            f.write(b"garbage!")
        for r in rows:
            uncache(r[1])
        return rows[-2][0]

    def held(self, rid):
        """Is run rid held while its job is set up?  resume answers
        UNAVAILABLE then, "already running" after, and changes nothing."""
        try:
            self.c.call("resume", {"id": rid})
        except RPCError as e:
            self.assertIn(e.code, (UNAVAILABLE, CONFLICT), e.message)
            return e.code == UNAVAILABLE
        self.fail("resume of running run %d answered" % rid)

    def queue_of(self, rid):
        st = self.c.call("status", {"id": rid})
        return st["status"], (st["queue"] or {}).get("position")

    def test_start_serves_while_big_files_are_checked(self):
        """kill -9 with an exec run of a 512 MiB state and a plugin's run,
        their newest checkpoints damaged: the daemon answers a ping and
        statuses within 200 ms at once, while the exec run's two files are
        read from the disk; both show running, the queued runs keep their
        places, and each resumes from its previous checkpoint, with why,
        bit-identically."""
        # the worker's w0 does not depend on its pad: a small run is the
        # reference.  Its state is BIG up to iteration 40 (the checkpoints
        # the restart checks), small after.
        p = dict(every=20, epoch_length=200, sleep=0.02)
        ref = self.run_spec(spec(self.tmp, pad=10, **p))
        plug = plugin_spec("IGNITE_BIGSTATE_PLUGIN", pad=16 << 20, sleep_ms=2, every=50)
        plug["epoch_length"] = 1000
        plug_ref = self.run_spec(plug)
        wait_status(self.c, ref, ("completed",), 120)
        wait_status(self.c, plug_ref, ("completed",), 120)
        want_w0 = history(self.c, ref)["w0"]
        want_loss = history(self.c, plug_ref)["loss"]

        big = self.run_spec(spec(self.tmp, worker=BIG_WORKER, pad=BIG, pad_after=10, grow=41, **p))
        other = self.run_spec({"engine": "builtin:sleep", "params": {"ms": 1},
                               "data": "range:10000000", "max_epochs": 1})
        wait_for(lambda: len(self.rows(big)) >= 2, "two big checkpoints", 120)
        plugin = self.run_spec(plug)
        queued = [self.run_spec({"engine": "builtin:sleep", "params": {"ms": 1},
                                 "data": "range:100", "max_epochs": 1}) for _ in range(2)]
        self.assertEqual([self.queue_of(q) for q in queued], [("queued", 1), ("queued", 2)])
        wait_for(lambda: len(self.rows(plugin)) >= 2, "two checkpoints of the plugin", 120)
        self.d.kill9()
        for rid in (big, plugin):
            self.assertEqual(self.query("SELECT status FROM runs WHERE id = ?", rid),
                             [("running",)], "run %d ended before the kill" % rid)
        big_at = self.corrupt_newest(big, BIG // 2)
        plugin_at = self.corrupt_newest(plugin, 1000)

        t0 = time.time()
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        # served while the exec run's files are read back
        self.assertTrue(self.held(big), "run %d was set up before the daemon served" % big)
        self.assertLess(time.time() - t0, 2.0)
        rounds = 0
        while self.held(big):
            t = time.time()
            self.assertIsNone(self.c.call("ping"))
            self.assertEqual(self.c.call("status", {"id": other})["status"], "running")
            self.assertLess(time.time() - t, 0.2)
            self.assertEqual(self.c.call("status", {"id": big})["status"], "running")
            if rounds == 0:
                self.assertEqual(self.c.call("status", {"id": plugin})["status"], "running")
            self.assertEqual([self.queue_of(q) for q in queued],
                             [("queued", 1), ("queued", 2)])
            rounds += 1
            time.sleep(0.01)
        self.assertGreater(rounds, 0)
        self.assertEqual(self.queue_of(queued[0]), ("queued", 1))

        self.assertEqual(resumed_at(self.c, big), big_at)
        self.assertEqual(resumed_at(self.c, plugin), plugin_at)
        for rid in (big, plugin):
            st = wait_status(self.c, rid, ("completed", "failed"), 120)
            self.assertEqual(st["status"], "completed", st)
            self.assertIn("refused", st["reason"] or "")
            self.assertIn("damaged", st["reason"] or "")
            self.assertTrue(any(l.startswith("resumed from an older checkpoint")
                                for l in log_lines(self.c, rid)), log_lines(self.c, rid))
        self.assertEqual(history(self.c, big)["w0"], want_w0)
        self.assertEqual(history(self.c, plugin)["loss"], want_loss)
        self.c.call("terminate", {"id": other})
        wait_status(self.c, queued[1], ("completed",), 60)

    def restart_held(self, rid):
        """Start the daemon again, run rid's files read from the disk:
        asserts it serves while rid is held."""
        for r in self.rows(rid):
            uncache(r[1])
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        self.assertTrue(self.held(rid), "run %d was set up before the daemon served" % rid)

    def test_shutdown_or_kill9_while_a_file_is_checked_loses_nothing(self):
        """A SIGTERM while a run's checkpoint is checked at the start: the
        daemon stops cleanly, the run still stored running; a kill -9 then
        neither.  The next start resumes it from its newest checkpoint."""
        p = dict(every=20, epoch_length=60, sleep=0.02)
        ref = self.run_spec(spec(self.tmp, pad=10, **p))
        wait_status(self.c, ref, ("completed",), 120)
        want = history(self.c, ref)
        rid = self.run_spec(spec(self.tmp, worker=BIG_WORKER, pad=BIG, pad_after=10, grow=21, **p))
        wait_for(lambda: self.rows(rid), "a committed checkpoint", 120)
        self.d.kill9()
        self.restart_held(rid)
        self.d.stop()
        self.assertEqual(self.d.proc.returncode, 0, self.d.logtext()[-2000:])
        self.assertEqual(self.query("SELECT status FROM runs WHERE id = ?", rid),
                         [("running",)])
        self.restart_held(rid)
        self.d.kill9()
        self.assertEqual(self.query("SELECT status FROM runs WHERE id = ?", rid),
                         [("running",)])
        at = self.rows(rid)[-1][0]
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        st = wait_status(self.c, rid, ("completed", "failed"), 120)
        self.assertEqual(st["status"], "completed", st)
        lines = [l for l in log_lines(self.c, rid) if l.startswith("resumed at")]
        self.assertIn("iteration %d after the daemon's restart" % at, lines[-1])
        self.assertEqual(history(self.c, rid)["w0"], want["w0"])

if __name__ == "__main__":
    FilesCase.ignited = os.path.abspath(sys.argv.pop(1))
    unittest.main()
