#!/usr/bin/python3
"""End-to-end tests of run's `from` (issue #16, ignitectl run --from): a
new run started from another run's checkpoint, its file copied (or
linked) into the new run's directory, the source untouched.

usage: test_branch.py IGNITED [unittest args]
"""
import os
import sqlite3
import sys
import unittest

from daemon import (DaemonCase, RPCError, as_uid, history, log_lines,
                    softmax_spec, wait_status)
from test_ckpt_files import spec as worker_spec

INVALID_PARAMS, NOT_FOUND, PERMISSION_DENIED = 3, 4, 5


class Branch(DaemonCase):
    def checkpoints(self, rid):
        return self.c.call("checkpoints", {"id": rid})["checkpoints"]

    def rows(self, rid):
        db = sqlite3.connect("file:%s?mode=ro" % self.d.db, uri=True)
        try:
            return db.execute("SELECT iteration, epoch, file, file_size, file_sum"
                              " FROM checkpoints WHERE run_id = ? ORDER BY seq",
                              (rid,)).fetchall()
        finally:
            db.close()

    def source(self, s):
        rid = self.run_spec(s)
        wait_status(self.c, rid, ("completed",), 120)
        return rid, self.checkpoints(rid), history(self.c, rid)

    def assertUntouched(self, rid, ckpts, hist):
        self.assertEqual(self.c.call("status", {"id": rid})["status"], "completed")
        self.assertEqual(self.checkpoints(rid), ckpts)
        self.assertEqual(history(self.c, rid), hist)

    def assertContinues(self, branch, reference, at):
        """branch's history is reference's past iteration at, and only that."""
        got = history(self.c, branch)
        want = {k: [p for p in v if p[1] > at] for k, v in reference.items()}
        self.assertEqual(sorted(got), sorted(want))
        for k in want:
            self.assertEqual(got[k], want[k], k)

    def test_softmax_newest_and_at_iteration(self):
        """Branched at its newest checkpoint (the end of epoch 2) with more
        epochs, and at a middle iteration: each goes on exactly as one run
        that never stopped, and the source stays as it was."""
        keep = {"every": 5, "n_saved": 1000}
        src, ckpts, hist = self.source(softmax_spec(epochs=2, checkpoint=keep))
        ref = self.run_spec(softmax_spec(epochs=4, checkpoint=keep))
        wait_status(self.c, ref, ("completed",), 120)
        want = history(self.c, ref)

        # at most 100 checkpoints a second: how many epoch 1 has varies
        newest = ckpts[-1]
        middle = [c for c in ckpts if c["epoch"] == 1][-1]
        b1 = self.run_spec(dict(softmax_spec(epochs=4, checkpoint=keep),
                                **{"from": {"id": src}}))
        b2 = self.run_spec(dict(softmax_spec(epochs=4, checkpoint=keep),
                                **{"from": {"id": src, "iteration": middle["iteration"]}}))
        for b, at in ((b1, newest), (b2, middle)):
            st = wait_status(self.c, b, ("completed", "failed"), 120)
            self.assertEqual(st["status"], "completed", st)
            self.assertEqual(st["iteration"], want["loss"][-1][1])
            self.assertContinues(b, want, at["iteration"])
            self.assertIn("branched from run %d at epoch %d, iteration %d"
                          % (src, at["epoch"], at["iteration"]), log_lines(self.c, b))
            self.assertEqual(self.rows(b)[0][:2], (at["iteration"], at["epoch"]))
        self.assertEqual(self.c.call("state_dict", {"id": b1}),
                         self.c.call("state_dict", {"id": ref}))
        self.assertUntouched(src, ckpts, hist)

    def test_worker_file(self):
        """An exec worker's checkpoint file: the new run's directory holds
        its own link to it, setup names that one, and the worker goes on
        from its state (its digest chain equals the source's)."""
        s = worker_spec(self.d.dir, pad=1000, every=5, epoch_length=40,
                        sleep=0.003, checkpoint={"n_saved": 100})
        src, ckpts, hist = self.source(s)
        before = self.rows(src)
        at = before[len(before) // 2][0]
        b = self.run_spec(dict(s, **{"from": {"id": src, "iteration": at}}))
        st = wait_status(self.c, b, ("completed", "failed"), 120)
        self.assertEqual(st["status"], "completed", st)
        self.assertContinues(b, hist, at)
        first = self.rows(b)[0]
        source = before[len(before) // 2]
        base = self.d.dir + "-checkpoints"
        self.assertTrue(first[2].startswith("%s/run-%d/" % (base, b)), first)
        self.assertEqual(first[3:], source[3:])
        # the same owner: a hard link, which outlives the source's retention
        self.assertEqual(os.stat(first[2]).st_ino, os.stat(source[2]).st_ino)
        self.assertEqual(self.rows(src), before)
        self.assertUntouched(src, ckpts, hist)

    def test_another_user_may_not(self):
        """Root's run: uid 65533 cannot start from it, and nothing is made."""
        src, _, _ = self.source(softmax_spec(epochs=1, every=5))

        def check(c):
            try:
                c.call("run", dict(softmax_spec(epochs=2), **{"from": {"id": src}}))
            except RPCError as e:
                return e.code == PERMISSION_DENIED and "uid 0" in e.message
            return False
        self.assertEqual(as_uid(self.d, 65533, check), 0)
        self.assertEqual([r["id"] for r in self.c.call("list")["runs"]], [src])

    def test_errors(self):
        """Each bad from is refused with why, and no run is made."""
        src, ckpts, _ = self.source(softmax_spec(epochs=1, every=5))
        cases = [
            ({"id": 9999}, NOT_FOUND, "no run 9999"),
            ({"id": "nosuch"}, NOT_FOUND, "no run called nosuch"),
            ({"id": src, "iteration": 3}, NOT_FOUND,
             "no checkpoint at iteration 3 (its newest is at %d"
             % ckpts[-1]["iteration"]),
            ({"id": src, "bogus": 1}, INVALID_PARAMS, 'from: unknown key "bogus"'),
            ("1", INVALID_PARAMS, "from: expected a map"),
        ]
        for frm, code, msg in cases:
            with self.assertRaises(RPCError) as e:
                self.c.call("run", dict(softmax_spec(), **{"from": frm}))
            self.assertEqual(e.exception.code, code, e.exception.message)
            self.assertIn(msg, e.exception.message)
        with self.assertRaises(RPCError) as e:
            self.c.call("run", dict(softmax_spec(epochs=1), **{"from": {"id": src}}))
        self.assertEqual(e.exception.code, INVALID_PARAMS)
        self.assertIn("ask more epochs", e.exception.message)
        other = {"engine": "builtin:noop", "epoch_length": 5, "from": {"id": src}}
        with self.assertRaises(RPCError) as e:
            self.c.call("run", other)
        self.assertEqual(e.exception.code, INVALID_PARAMS)
        self.assertIn("a checkpoint loads only into the engine that cut it",
                      e.exception.message)
        both = dict(softmax_spec(), state_dict={"iteration": 0},
                    **{"from": {"id": src}})
        with self.assertRaises(RPCError) as e:
            self.c.call("run", both)
        self.assertEqual(e.exception.code, INVALID_PARAMS)
        self.assertEqual([r["id"] for r in self.c.call("list")["runs"]], [src])


if __name__ == "__main__":
    DaemonCase.ignited = os.path.abspath(sys.argv.pop(1))
    unittest.main()
