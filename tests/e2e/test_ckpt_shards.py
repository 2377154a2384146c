#!/usr/bin/python3
"""End-to-end tests of checkpoints as directories of shards (issue 19,
point 4): a worker answers with a directory of files at the path the
daemon names; the daemon sums and fsyncs each, writes a manifest, renames
the directory and commits it; a resume checks every shard.  A plain
worker (msgpack, no torch): fast.

usage: test_ckpt_shards.py IGNITED [unittest args]
"""
import os
import sys
import unittest

from daemon import DaemonCase, as_uid, history, log_lines, wait_for, wait_iteration, wait_status
from test_ckpt_files import PROTOCOL, spec as files_spec

# Its state is a counter and a digest chain; at state_dict it makes the
# directory and writes SHARDS files shard-K, each the state and K (as
# ranks would, each its own); param symlink adds a link to another file.
# At setup it reads every shard back and checks that they agree.
WORKER = PROTOCOL + r'''
def answer(method, p):
    if method == "setup":
        P.update(p["params"])
        if p.get("checkpoint"):
            states = set()
            for k in range(P["shards"]):
                with open(os.path.join(p["checkpoint"], "shard-%d" % k), "rb") as f:
                    n, d, kk, _ = msgpack.unpackb(f.read())
                assert kk == k
                states.add((n, d))
            assert len(states) == 1
            st["n"], st["d"] = states.pop()
        return {"events": []}
    if method != "state_dict":
        return None
    os.mkdir(p["path"], 0o700)
    for k in range(P["shards"]):
        with open(os.path.join(p["path"], "shard-%d" % k), "wb") as f:
            f.write(msgpack.packb([st["n"], st["d"], k, b"\0" * P.get("pad", 0)]))
    if P.get("symlink"):
        os.symlink(P["symlink"], os.path.join(p["path"], "evil"))
    if P.get("fifo"):
        os.mkfifo(os.path.join(p["path"], "pipe"))
    return {"saved": True}
serve(answer)
'''

SHARDS = 3


def spec(tmp, every=4, **params):
    params.setdefault("shards", SHARDS)
    return files_spec(tmp, WORKER, every=every, epoch_length=30, checkpoint={"n_saved": 2},
                      **params)


class Shards(DaemonCase):
    def run_dir(self, rid):
        return os.path.join(self.d.dir + "-checkpoints", "run-%d" % rid)

    def entries(self, rid):
        try:
            return sorted(os.listdir(self.run_dir(rid)))
        except FileNotFoundError:
            return []

    def restart(self, between=None):
        self.d.kill9()
        if between is not None:
            between()
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)

    def reference(self):
        rid = self.run_spec(spec(self.d.dir, pad=1000))
        wait_status(self.c, rid, ("completed",), 120)
        return history(self.c, rid)["w0"]

    def test_directory_sealed_resumed_kept_and_deleted(self):
        """A directory of shards is sealed (manifest), survives kill -9 of
        the daemon with an exact resume, retention keeps the newest 2
        directories whole, the start's sweep removes a leftover .part
        directory without following a link in it, delete removes them."""
        want = self.reference()
        rid = self.run_spec(spec(self.d.dir, pad=1000, sleep=0.02))
        wait_for(lambda: any(e.endswith(".dir") for e in self.entries(rid)),
                 "a sealed directory", 60)
        outside = os.path.join(self.d.dir, "outside")
        with open(outside, "w") as f:
            f.write("kept")

        def leave_a_part():
            part = os.path.join(self.run_dir(rid), "ckpt-999-00000000000000aa.part")
            os.mkdir(part)
            open(os.path.join(part, "shard-0"), "w").close()
            os.symlink(outside, os.path.join(part, "link"))
            os.symlink(self.d.dir, os.path.join(part, "dirlink"))
        self.restart(leave_a_part)
        wait_status(self.c, rid, ("completed",), 120)
        self.assertEqual(history(self.c, rid)["w0"], want)
        self.assertTrue(os.path.exists(outside))
        entries = self.entries(rid)
        self.assertEqual(len(entries), 2, entries)
        self.assertTrue(all(e.endswith(".dir") for e in entries), entries)
        listed = self.c.call("checkpoints", {"id": rid})["checkpoints"]
        self.assertEqual(sorted(c["file"] for c in listed),
                         [os.path.join(self.run_dir(rid), e) for e in entries])
        for c in listed:
            names = sorted(os.listdir(c["file"]))
            self.assertEqual(names, [".ignite-manifest"] + ["shard-%d" % k for k in range(SHARDS)])
            self.assertEqual(c["size"], sum(os.path.getsize(os.path.join(c["file"], n))
                                            for n in names[1:]))
            with open(os.path.join(c["file"], ".ignite-manifest")) as f:
                lines = f.read().splitlines()
            self.assertEqual(lines[0], "ignite-manifest 1")
            self.assertEqual([ln.split()[2] for ln in lines[1:]], names[1:])
        # a new run from one: its own copy, sealed again
        branch = self.run_spec(dict(spec(self.d.dir), max_epochs=2, **{"from": {"id": rid}}))
        wait_status(self.c, branch, ("completed",), 120)
        self.assertTrue(all(e.endswith(".dir") for e in self.entries(branch)))
        for r in (rid, branch):
            self.c.call("delete", {"id": r})
            wait_for(lambda: not os.path.exists(self.run_dir(r)), "run %d's directory" % r, 30)
        self.assertTrue(os.path.exists(outside))

    def damage_newest_and_finish(self, rid, damage):
        wait_iteration(self.c, rid, 14, timeout=60)
        self.c.call("pause", {"id": rid})
        wait_status(self.c, rid, ("paused",), 60)
        newest = self.c.call("checkpoints", {"id": rid})["checkpoints"][-1]
        self.d.stop()
        damage(newest["file"])
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        if self.c.call("status", {"id": rid})["status"] == "paused":
            self.c.call("resume", {"id": rid})
        st = wait_status(self.c, rid, ("completed", "failed"), 120)
        self.assertEqual(st["status"], "completed", st)
        lines = [ln for ln in log_lines(self.c, rid) if "resumed from an older checkpoint" in ln]
        self.assertEqual(len(lines), 1, log_lines(self.c, rid))
        self.assertIn("checkpoint at iteration %d refused" % newest["iteration"], lines[0])
        return lines[0], newest["file"]

    def test_damaged_or_missing_shard_resumes_from_the_previous(self):
        """A byte flipped in one shard, a shard removed, a file added or the
        manifest removed, with the daemon down: that checkpoint is refused
        with why, the previous one is used, and the run still ends as an
        uninterrupted one."""
        want = self.reference()

        def flip(path):
            with open(os.path.join(path, "shard-1"), "r+b") as f:
                b = f.read(1)
                f.seek(0)
                f.write(bytes([b[0] ^ 1]))
        def extra(path):
            with open(os.path.join(path, "shard-9"), "w") as f:
                f.write("not sealed")
        for damage, says in ((flip, "shard shard-1 in %s is damaged"),
                             (lambda path: os.unlink(os.path.join(path, "shard-2")),
                              "shard shard-2 is missing from %s"),
                             (extra, "checkpoint directory %s holds 4 files of 3120 bytes; "
                              "its manifest lists 3"),
                             (lambda path: os.unlink(os.path.join(path, ".ignite-manifest")),
                              "checkpoint directory %s has no manifest")):
            rid = self.run_spec(spec(self.d.dir, pad=1000, sleep=0.02))
            line, path = self.damage_newest_and_finish(rid, damage)
            self.assertIn(says % path, line)
            self.assertEqual(history(self.c, rid)["w0"], want)

    def test_symlink_in_the_directory_refused(self):
        """A shard that is a symbolic link fails the checkpoint with why (the
        run pauses, nothing is committed) and its directory is removed
        without following the link."""
        target = os.path.join(self.d.dir, "target")
        with open(target, "w") as f:
            f.write("never read")
        rid = self.run_spec(spec(self.d.dir, symlink=target))
        st = wait_status(self.c, rid, ("paused", "failed", "completed"), 60)
        self.assertEqual(st["status"], "paused", st)
        self.assertIn("evil in %s" % self.run_dir(rid), st["reason"])
        self.assertIn("is a symbolic link; a checkpoint directory holds only regular files "
                      "of the run's owner", st["reason"])
        self.assertEqual(self.c.call("checkpoints", {"id": rid})["checkpoints"], [])
        wait_for(lambda: self.entries(rid) == [], "the refused directory to go", 30)
        with open(target) as f:
            self.assertEqual(f.read(), "never read")
        # a pipe (a read would block the daemon's thread) likewise
        rid = self.run_spec(spec(self.d.dir, fifo=True))
        st = wait_status(self.c, rid, ("paused", "failed", "completed"), 60)
        self.assertIn("pipe in %s" % self.run_dir(rid), st["reason"])
        self.assertIn("is not a regular file; a checkpoint directory", st["reason"])

    def test_another_users_directory(self):
        """A run of nobody (uid 65534): its worker's directory is sealed and checked
        as that user (after kill -9 of the daemon), the manifest is that
        user's, and delete removes it all."""
        s = spec(self.d.dir, pad=100, sleep=0.02)
        self.assertEqual(as_uid(self.d, 65534, lambda c: c.call("run", s)), 0)
        rid = max(r["id"] for r in self.c.call("list", {})["runs"])
        wait_for(lambda: any(e.endswith(".dir") for e in self.entries(rid)),
                 "a sealed directory", 60)
        os.chmod(os.path.dirname(self.d.socket), 0o700)  # as_uid opened it
        self.restart()
        self.assertEqual(wait_status(self.c, rid, ("completed", "failed"), 120)["status"],
                         "completed")
        for c in self.c.call("checkpoints", {"id": rid})["checkpoints"]:
            for name in [""] + os.listdir(c["file"]):
                self.assertEqual(os.lstat(os.path.join(c["file"], name)).st_uid, 65534, name)
        self.c.call("delete", {"id": rid})
        wait_for(lambda: not os.path.exists(self.run_dir(rid)), "the run's directory", 30)


if __name__ == "__main__":
    DaemonCase.ignited = os.path.abspath(sys.argv.pop(1))
    unittest.main()
