#!/usr/bin/python3
"""End-to-end tests of checkpoints as files (issue #16): a worker writes
its state into the path the daemon names, the daemon seals it off the
loop and commits its descriptor; resumes check the file.

usage: test_ckpt_files.py IGNITED [unittest args]
"""
import glob
import os
import sqlite3
import sys
import time
import unittest

from daemon import (DaemonCase, Daemon, RPCError, as_uid, history, log_lines, wait_for,
                    wait_iteration, wait_status)

# A worker speaking the protocol with msgpack directly.  Its state is a
# counter, a digest chain and PAD bytes (param pad, or pad_after from
# iteration grow on): process folds the iteration into the digest and
# reports it as metric w0.  mode "bin" answers {state: bin}.  pidfile:
# where setup writes the worker's pid; slow_at, slow_for, marker: at the
# checkpoint of iteration slow_at, the worker writes the file's head,
# creates marker and sleeps slow_for seconds before the rest.
# PROTOCOL: its frames on stdin and stdout, its state and params, process
# (step) and the loop, serve(answer), which leaves setup and state_dict to
# answer(method, params).
PROTOCOL = r'''
import hashlib, os, struct, sys
import msgpack
rf = os.fdopen(os.dup(0), "rb", buffering=0)
wf = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)
st = {"n": 0, "d": b"\0" * 32}
P = {}
def read(n):
    b = b""
    while len(b) < n:
        c = rf.read(n - len(b))
        if not c: sys.exit(0)
        b += c
    return b
def send(o):
    body = msgpack.packb(o, use_bin_type=True)
    wf.write(struct.pack(">I", len(body)) + body)
def step(p):
    st["n"] += 1
    st["d"] = hashlib.sha256(st["d"] + str(p["iteration"]).encode()).digest()
    if P.get("sleep"):
        import time; time.sleep(P["sleep"])
    w0 = int.from_bytes(st["d"][:4], "big") / 2**32
    return {"output": {"loss": float(st["n"])}, "metrics": {"w0": w0}}
def serve(answer):
    while True:
        _, mid, method, p = msgpack.unpackb(read(struct.unpack(">I", read(4))[0]), raw=False)
        try:
            if method == "process":
                r = step(p)
            elif method == "shutdown":
                send([1, mid, None, None]); sys.exit(0)
            else:
                r = answer(method, p)
            send([1, mid, None, r])
        except OSError as e:
            send([1, mid, {"code": 4, "message": "%s: %s" % (type(e).__name__, e)}, None])
'''
WORKER = PROTOCOL + r'''
def pad():
    big = P.get("grow") is not None and st["n"] >= P["grow"]
    return P.get("pad_after" if big else "pad", 0)
def dump():
    return msgpack.packb([st["n"], st["d"]]) + b"\0" * pad()
def load(b):
    u = msgpack.Unpacker(); u.feed(b); n, d = next(u)
    st["n"], st["d"] = n, d
def answer(method, p):
    if method == "setup":
        P.update(p["params"])
        if P.get("pidfile"):
            with open(P["pidfile"], "w") as f: f.write(str(os.getpid()))
        if p.get("checkpoint"):
            with open(p["checkpoint"], "rb") as f: load(f.read())
        elif p.get("state"):
            load(p["state"])
        return {"events": []}
    if method != "state_dict":
        return None
    if P.get("mode") == "bin":
        return {"state": dump()}
    with open(p["path"], "wb") as f:
        f.write(dump()[:32 << 20])
        if st["n"] == P.get("slow_at"):
            f.flush()
            open(P["marker"], "w").close()
            import time; time.sleep(P["slow_for"])
        rest = pad() - (32 << 20) + len(dump()) - pad()
        while rest > 0:
            k = min(rest, 32 << 20); f.write(b"\0" * k); rest -= k
    return {"saved": True}
serve(answer)
'''


def spec(tmp, worker=WORKER, **params):
    path = os.path.join(tmp, "worker.py")
    with open(path, "w") as f:
        f.write(worker)
    os.chmod(tmp, 0o755)
    os.chmod(path, 0o644)
    ckpt = {"every": params.pop("every", 5), "epoch_completed": False}
    ckpt.update(params.pop("checkpoint", {}))
    s = {"engine": ["/usr/bin/python3", path], "data": "worker",
         "epoch_length": params.pop("epoch_length", 40), "max_epochs": 1,
         "params": params, "checkpoint": ckpt}
    s.update(params.pop("extra", {}))
    return s


def resumed_at(c, rid, n=1):
    """The iteration of the run's nth resume after the daemon's restart."""
    def at():
        its = [int(l.split("iteration ")[1].split()[0]) for l in log_lines(c, rid)
               if l.startswith("resumed at") and "daemon's restart" in l]
        return its if len(its) >= n else None
    return wait_for(at, "run %d to resume" % rid, 60)[n - 1]


class FilesCase(DaemonCase):
    def setUp(self):
        super().setUp()
        self.tmp = self.d.dir

    def run_dir(self, rid):
        return os.path.join(self.d.dir + "-checkpoints", "run-%d" % rid)

    def bins(self, rid):
        try:
            return [f for f in os.listdir(self.run_dir(rid)) if f.endswith(".bin")]
        except FileNotFoundError:
            return []

    def query(self, sql, *args):
        # read-only: the test only looks
        db = sqlite3.connect("file:%s?mode=ro" % self.d.db, uri=True)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def rows(self, rid):
        return self.query("SELECT iteration, file, file_size, score FROM checkpoints"
                          " WHERE run_id = ? ORDER BY seq", rid)

    def restart(self):
        self.d.kill9()
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)

    def on_disk(self, rid):
        return sorted(os.path.join(self.run_dir(rid), f)
                      for f in os.listdir(self.run_dir(rid)))

    def corrupt_newest_and_finish(self, rid, offset):
        """Pause run rid, damage its newest checkpoint file at offset with
        the daemon stopped, and let the run resume and complete: the
        file's path, after checking the resume refused it."""
        self.c.call("pause", {"id": rid})
        wait_status(self.c, rid, ("paused",), 60)
        # a paused run resumed in the same daemon keeps its job: restart
        # the daemon so that the resume reads the checkpoint back
        self.d.stop()
        newest = self.rows(rid)[-1][1]
        with open(newest, "r+b") as f:
            f.seek(offset)
            f.write(b"garbage!")
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        if self.c.call("status", {"id": rid})["status"] == "paused":
            self.c.call("resume", {"id": rid})
        wait_status(self.c, rid, ("completed",), 120)
        self.assertTrue(any("refused" in l and "damaged" in l for l in log_lines(self.c, rid)),
                        log_lines(self.c, rid))
        return newest


class CheckpointFiles(FilesCase):
    def final_w0(self, rid):
        return history(self.c, rid)["w0"]

    def reference(self, **params):
        rid = self.run_spec(spec(self.tmp, **params))
        wait_status(self.c, rid, ("completed",), 120)
        return self.final_w0(rid)

    def test_state_in_a_file_and_kill9_resumes_exactly(self):
        want = self.reference(pad=1 << 20, sleep=0.02)
        rid = self.run_spec(spec(self.tmp, pad=1 << 20, sleep=0.02))
        wait_for(lambda: self.bins(rid), "a sealed checkpoint file", 60)
        self.d.kill9()
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        wait_status(self.c, rid, ("completed",), 120)
        self.assertEqual(self.final_w0(rid), want)
        files = sorted(os.listdir(self.run_dir(rid)))
        self.assertTrue(all(f.endswith(".bin") for f in files), files)
        self.assertLessEqual(len(files), 2)

    def test_big_state_never_held_by_the_daemon(self):
        rid = self.run_spec(spec(self.tmp, pad=256 << 20, every=4, epoch_length=10))
        wait_status(self.c, rid, ("completed",), 300)
        rows = self.rows(rid)
        self.assertTrue(rows and rows[-1][2] > 256 << 20, rows)
        with open("/proc/%d/status" % self.d.proc.pid) as f:
            hwm = [l for l in f if l.startswith("VmHWM")][0]
        self.assertLess(int(hwm.split()[1]), 128 * 1024, hwm)

    def test_corrupt_file_refused_and_previous_used(self):
        want = self.reference(pad=4096, sleep=0.01, every=4)
        rid = self.run_spec(spec(self.tmp, pad=4096, sleep=0.01, every=4))
        wait_iteration(self.c, rid, 10)
        newest = self.corrupt_newest_and_finish(rid, 0)
        self.assertEqual(self.final_w0(rid), want)
        # the iterations past the one resumed from were checkpointed
        # again, in files of new names: each record names its own file
        rows = self.rows(rid)
        self.assertNotIn(newest, [r[1] for r in rows])
        self.assertEqual(sorted(os.path.join(self.run_dir(rid), f)
                                for f in os.listdir(self.run_dir(rid))),
                         sorted(r[1] for r in rows))

    def test_retention_last_n_and_best(self):
        # 20 ms an iteration: checkpoints by count are never closer than
        # 10 ms, so each of every: 2 is taken (2, 4, ... 30), then the
        # end's at 31: the newest two are 30 and 31
        rid = self.run_spec(spec(self.tmp, pad=100, every=2, epoch_length=31, sleep=0.02,
                                 checkpoint={"n_saved": 2,
                                             "best": {"metric": "w0", "mode": "min"}}))
        wait_status(self.c, rid, ("completed",), 120)
        w0 = {it: v for _, it, v in self.final_w0(rid)}
        rows = self.rows(rid)
        best = min((it for it in w0 if it % 2 == 0 or it == 31), key=lambda it: w0[it])
        self.assertEqual(sorted(r[0] for r in rows), sorted({30, 31, best}), rows)
        self.assertEqual({r[0]: r[3] for r in rows}, {r[0]: w0[r[0]] for r in rows})
        # the checkpoints method says the same, and why each is kept
        listed = self.c.call("checkpoints", {"id": rid})["checkpoints"]
        self.assertEqual([(c["iteration"], c["file"], c["score"], c["size"]) for c in listed],
                         [(r[0], r[1], r[3], r[2]) for r in rows])
        self.assertEqual({c["iteration"]: (c["last"], c["best"]) for c in listed},
                         {it: (it in (30, 31), it == best) for it in (30, 31, best)})
        self.assertEqual(sorted(os.path.join(self.run_dir(rid), f)
                                for f in os.listdir(self.run_dir(rid))),
                         sorted(r[1] for r in rows))

    def test_inline_small_bin_state(self):
        want = self.reference(pad=10, mode="bin")
        rid = self.run_spec(spec(self.tmp, pad=10, mode="bin", sleep=0.01))
        wait_iteration(self.c, rid, 12)
        self.d.kill9()
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        wait_status(self.c, rid, ("completed",), 120)
        self.assertTrue(all(r[1] is None for r in self.rows(rid)))
        self.assertEqual(self.final_w0(rid), want)

    def test_full_disk_pauses_and_keeps_previous(self):
        rid = self.run_spec(spec(self.tmp, pad=256 << 10, pad_after=4 << 20, grow=7,
                                 every=4, sleep=0.01,
                                 extra={"worker": {"rlimits": {"fsize": 1 << 20}}}))
        st = wait_status(self.c, rid, ("paused", "failed"), 60)
        self.assertEqual(st["status"], "paused", st)
        self.assertIn("File too large", st["reason"])
        self.assertIn("the previous one (iteration 4) stands", st["reason"])
        self.assertEqual([r[0] for r in self.rows(rid)], [4])
        self.assertEqual(os.listdir(self.run_dir(rid)),
                         [os.path.basename(self.rows(rid)[0][1])])

    def test_default_dir_made_when_first_needed(self):
        """A daemon whose runs never write a checkpoint file leaves nothing
        beside its database's directory, which stays 0700; the first
        file makes the default --checkpoint-dir, 0711."""
        base = self.d.dir + "-checkpoints"
        rid = self.run_spec({"engine": "builtin:sleep", "params": {"ms": 1},
                             "data": "range:20", "checkpoint": {"every": 5}})
        wait_status(self.c, rid, ("completed",), 60)
        self.assertFalse(os.path.exists(base))
        self.assertEqual(os.stat(os.path.dirname(self.d.db)).st_mode & 0o777, 0o700)
        rid = self.run_spec(spec(self.tmp, pad=10, every=2, epoch_length=4))
        wait_status(self.c, rid, ("completed",), 60)
        self.assertEqual(os.stat(base).st_mode & 0o777, 0o711)

    def test_default_dir_reopened_at_start(self):
        """systemd resets a StateDirectory's mode (0700) at each start: the
        daemon opens its existing --checkpoint-dir to search again before
        a resumed worker of another uid reads its run's file."""
        p = dict(pad=1 << 20, sleep=0.02, every=5)
        want = self.reference(**p)
        rid = self.run_as(65534, spec(self.tmp, **p))
        wait_for(lambda: self.rows(rid), "a committed checkpoint", 60)
        self.c.call("pause", {"id": rid})
        wait_status(self.c, rid, ("paused",), 60)
        self.d.stop()
        os.chmod(self.d.dir + "-checkpoints", 0o700)
        os.chmod(os.path.dirname(self.d.socket), 0o700)  # as_uid opened it
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        self.c.call("resume", {"id": rid})
        wait_status(self.c, rid, ("completed", "failed"), 120)
        self.assertEqual(self.c.call("status", {"id": rid})["status"], "completed")
        self.assertEqual(self.final_w0(rid), want)

    def test_other_uid_cannot_read_the_run_directory(self):
        rid = self.run_spec(spec(self.tmp, pad=10, every=2, epoch_length=6))
        wait_status(self.c, rid, ("completed",), 60)
        d = self.run_dir(rid)
        self.assertEqual(os.stat(d).st_mode & 0o777, 0o700)

        def peek(_c):
            try:
                os.listdir(d)
            except PermissionError:
                return True
            return False
        self.assertEqual(as_uid(self.d, 65533, peek), 0)
        self.c.call("delete", {"id": rid})
        wait_for(lambda: not os.path.exists(d), "the run's directory to go", 30)

    def test_kill9_while_the_worker_writes(self):
        """kill -9 of the daemon while the worker writes a large file: the
        half-written .part is never used (nor kept), the run resumes from
        the checkpoint before it and ends as an uninterrupted one."""
        p = dict(pad=16 << 20, sleep=0.01, every=5)
        want = self.reference(**p)
        marker = os.path.join(self.tmp, "writing")
        rid = self.run_spec(spec(self.tmp, slow_at=15, slow_for=3, marker=marker, **p))
        wait_for(lambda: os.path.exists(marker), "the worker to be writing", 60)
        parts = [f for f in os.listdir(self.run_dir(rid)) if f.endswith(".part")]
        self.assertEqual(len(parts), 1, parts)
        self.restart()
        self.assertEqual(resumed_at(self.c, rid), 10)
        wait_status(self.c, rid, ("completed",), 120)
        self.assertEqual(self.final_w0(rid), want)
        self.assertEqual(self.on_disk(rid), sorted(r[1] for r in self.rows(rid)))

    def test_what_a_kill9_between_seal_and_commit_leaves(self):
        """A crash after the file was sealed (renamed to .bin) and before
        its record committed leaves a .bin no record names; one between
        a retirement's commit and its unlink, a file no record names
        either.  The run resumes from its records and the strays go."""
        p = dict(pad=4096, sleep=0.01, every=4)
        want = self.reference(**p)
        rid = self.run_spec(spec(self.tmp, **p))
        wait_iteration(self.c, rid, 10)
        self.c.call("pause", {"id": rid})
        wait_status(self.c, rid, ("paused",), 60)
        # the status is answered before the writer's next turn commits it
        wait_for(lambda: self.query("SELECT 1 FROM runs WHERE id = ? AND status = 'paused'",
                                    rid), "the pause to commit", 30)
        self.d.kill9()
        last = self.rows(rid)[-1]
        strays = [os.path.join(self.run_dir(rid), "ckpt-%d-00000000deadbeef.%s" % (last[0] + 1, x))
                  for x in ("bin", "part")]
        for path in strays:
            with open(path, "wb") as f:
                f.write(b"\0" * 64)
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        self.assertEqual(self.on_disk(rid), sorted(r[1] for r in self.rows(rid)))
        self.c.call("resume", {"id": rid})
        wait_status(self.c, rid, ("completed",), 120)
        self.assertEqual(self.final_w0(rid), want)

    def test_worker_killed_with_max_restarts_resumes_exactly(self):
        p = dict(pad=1 << 20, sleep=0.02, every=5)
        want = self.reference(**p)
        pidfile = os.path.join(self.tmp, "worker.pid")
        rid = self.run_spec(spec(self.tmp, pidfile=pidfile, extra={"worker": {"max_restarts": 1}},
                                 **p))
        wait_for(lambda: self.rows(rid), "a committed checkpoint", 60)
        wait_iteration(self.c, rid, 17)
        with open(pidfile) as f:
            os.kill(int(f.read()), 9)
        wait_status(self.c, rid, ("completed",), 120)
        self.assertEqual(self.final_w0(rid), want)
        lines = log_lines(self.c, rid)
        self.assertTrue(any(l.startswith("restart 1 of 1 from the last checkpoint: ")
                            and "killed by signal 9" in l for l in lines), lines)
        self.assertEqual(self.on_disk(rid), sorted(r[1] for r in self.rows(rid)))

    def test_every_5_slow_worker_loses_at_most_the_bound(self):
        """PROTOCOL.md: after a kill -9, a run resumes at the last
        iteration a checkpoint by count was due at, or, when the kill fell
        while that one was being taken, the one before: at most `every`
        iterations behind the last due point.  Kills at several phases."""
        every = 5
        p = dict(pad=1 << 20, sleep=0.05, every=every, epoch_length=60)
        want = self.reference(**p)
        rid = self.run_spec(spec(self.tmp, **p))
        for n, target in enumerate((13, 27, 41), 1):
            wait_iteration(self.c, rid, target)
            before = self.c.call("status", {"id": rid})["iteration"]
            self.restart()
            resumed = resumed_at(self.c, rid, n)
            # before may count an iteration still in flight
            due = (before - 1) // every * every
            self.assertEqual(resumed % every, 0, (before, resumed))
            self.assertGreaterEqual(resumed, due - every, (before, resumed))
            self.assertLessEqual(resumed, before, (before, resumed))
        wait_status(self.c, rid, ("completed",), 120)
        self.assertEqual(self.final_w0(rid), want)

    def test_worker_metrics_and_spec_metrics_resume_exactly(self):
        """A worker's own metrics (w0) and the spec's (a running average
        of its output, whose accumulators the checkpoint keeps) come back
        as they were after a kill -9."""
        p = dict(pad=1 << 20, sleep=0.02, every=5,
                 extra={"metrics": [{"name": "avg", "kind": "running_average",
                                     "field": "loss"}]})
        ref = self.run_spec(spec(self.tmp, **dict(p)))
        wait_status(self.c, ref, ("completed",), 120)
        want = history(self.c, ref)
        rid = self.run_spec(spec(self.tmp, **dict(p)))
        wait_iteration(self.c, rid, 23)
        self.restart()
        self.assertGreater(resumed_at(self.c, rid), 0)
        wait_status(self.c, rid, ("completed",), 120)
        got = history(self.c, rid)
        self.assertEqual(sorted(got), ["avg", "w0"])
        for name in ("avg", "w0"):
            self.assertEqual([pt[1:] for pt in got[name]], [pt[1:] for pt in want[name]], name)

    def run_as(self, uid, s):
        """Start the run of spec s as uid; its id."""
        self.assertEqual(as_uid(self.d, uid, lambda c: c.call("run", s)), 0)
        return [r["id"] for r in self.c.call("list")["runs"] if r["owner"] == uid][-1]

    def test_shared_dir_made_as_the_owner(self):
        """checkpoint.dir: the run's directory DIR/run-ID is made by the
        daemon as the run's owner, 0700, and the run resumes from it."""
        shared = os.path.join(self.tmp, "shared")
        os.mkdir(shared, 0o700)
        os.chown(shared, 65534, 65534)
        p = dict(pad=1 << 20, sleep=0.02, every=5, checkpoint={"dir": shared})
        want = self.reference(**p)
        rid = self.run_as(65534, spec(self.tmp, **p))
        d = os.path.join(shared, "run-%d" % rid)
        wait_for(lambda: self.rows(rid), "a committed checkpoint", 60)
        st = os.stat(d)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (65534, 0o700))
        os.chmod(os.path.dirname(self.d.socket), 0o700)  # as_uid opened it
        self.restart()
        wait_status(self.c, rid, ("completed",), 120)
        self.assertEqual(self.final_w0(rid), want)
        rows = self.rows(rid)
        self.assertTrue(all(r[1].startswith(d + "/") for r in rows), rows)
        self.assertEqual(sorted(os.path.join(d, f) for f in os.listdir(d)),
                         sorted(r[1] for r in rows))
        self.assertFalse(os.path.exists(self.run_dir(rid)))
        self.c.call("delete", {"id": rid})
        wait_for(lambda: not os.path.exists(d), "the run's directory to go", 30)

    def test_shared_dir_the_owner_cannot_write(self):
        """A checkpoint.dir the owner may not write: the run pauses at its
        first checkpoint, saying why, and nothing is made there."""
        shared = os.path.join(self.tmp, "roots")
        os.mkdir(shared, 0o755)
        rid = self.run_as(65534, spec(self.tmp, pad=10, every=3, sleep=0.01,
                                      checkpoint={"dir": shared}))
        st = wait_status(self.c, rid, ("paused", "failed"), 60)
        self.assertEqual(st["status"], "paused", st)
        self.assertIn("cannot create the run's directory", st["reason"])
        self.assertIn("Permission denied", st["reason"])
        self.assertEqual(os.listdir(shared), [])


def plugin_spec(env, **params):
    """A run of tests/workers/bigstate.c: loss is its state's digest."""
    every = params.pop("every", 5)
    return {"engine": "plugin:" + os.environ[env], "epoch_length": 40, "max_epochs": 1,
            "params": params, "checkpoint": {"every": every, "epoch_completed": False},
            "metrics": [{"name": "loss", "kind": "output", "field": "loss"}]}


class PluginFiles(FilesCase):
    """A plugin's state as a file (plugin.h's save_file, load_file): sealed
    and committed as an exec worker's, resumed from bit-identically."""

    def history_of(self, s):
        rid = self.run_spec(s)
        wait_status(self.c, rid, ("completed",), 300)
        return history(self.c, rid)["loss"]

    def kill9_resumes_exactly(self, s):
        """Run s, kill -9 the daemon after its second checkpoint: the run
        resumes from a checkpoint and ends with the history of an
        uninterrupted one.  Its id."""
        want = self.history_of(s)
        rid = self.run_spec(s)
        wait_for(lambda: len(self.rows(rid)) >= 2, "two committed checkpoints", 120)
        self.restart()
        self.assertGreater(resumed_at(self.c, rid), 0)
        wait_status(self.c, rid, ("completed",), 300)
        self.assertEqual(history(self.c, rid)["loss"], want)
        return rid

    def test_64mib_state_file_kill9_resumes_exactly(self):
        rid = self.kill9_resumes_exactly(
            plugin_spec("IGNITE_BIGSTATE_PLUGIN", pad=64 << 20, sleep_ms=20))
        rows = self.rows(rid)
        # n_saved 2 (the default): the last two, each the whole state
        self.assertEqual(len(rows), 2, rows)
        self.assertTrue(all(r[2] == (64 << 20) + 32 for r in rows), rows)
        self.assertEqual(self.on_disk(rid), sorted(r[1] for r in rows))

    def test_corrupt_state_file_refused_and_previous_used(self):
        s = plugin_spec("IGNITE_BIGSTATE_PLUGIN", pad=1 << 20, sleep_ms=10, every=4)
        want = self.history_of(s)
        rid = self.run_spec(s)
        wait_for(lambda: len(self.rows(rid)) >= 2, "two committed checkpoints", 120)
        newest = self.corrupt_newest_and_finish(rid, 1000)
        self.assertEqual(history(self.c, rid)["loss"], want)
        self.assertNotIn(newest, [r[1] for r in self.rows(rid)])

    def served_while_loading(self, rid, other, t0, load_s):
        """Run rid's plugin reads its state file for load_s from t0: until
        shortly before, pings and the other run's status answer within
        200 ms and the other run goes on, while rid shows running at the
        iteration it resumed at; after, rid steps again."""
        it, seen = None, []
        while time.time() < t0 + load_s - 0.5:
            t = time.time()
            self.assertIsNone(self.c.call("ping"))
            seen.append(self.c.call("status", {"id": other})["iteration"])
            self.assertLess(time.time() - t, 0.2)
            st = self.c.call("status", {"id": rid})
            it = st["iteration"] if it is None else it
            self.assertEqual((st["status"], st["iteration"]), ("running", it))
            time.sleep(0.02)
        self.assertGreater(len(seen), 10)
        self.assertGreater(seen[-1], seen[0])
        wait_for(lambda: self.c.call("status", {"id": rid})["iteration"] > it,
                 "run %d to step after its load" % rid, 60)
        self.assertGreater(time.time() - t0, load_s - 0.2)
        return it

    def test_slow_load_file_runs_off_the_loop(self):
        """A plugin whose load_file takes 3 s (a state of gigabytes read
        back) reads it on the threadpool, at a resume and at the daemon's
        start: the daemon serves meanwhile, the run waits, and it goes on
        bit-identically."""
        load_ms = 3000
        s = plugin_spec("IGNITE_BIGSTATE_PLUGIN", pad=1 << 20, sleep_ms=10, every=4)
        s["epoch_length"] = 300
        want = self.history_of(s)
        s["params"]["load_ms"] = load_ms  # the same history, read back slowly
        rid = self.run_spec(s)
        other = self.run_spec({"engine": "builtin:sleep", "params": {"ms": 1},
                               "data": "range:10000000", "max_epochs": 1})
        wait_for(lambda: len(self.rows(rid)) >= 2, "two committed checkpoints", 120)
        self.c.call("pause", {"id": rid})
        wait_status(self.c, rid, ("paused",), 60)
        t0 = time.time()
        self.c.call("resume", {"id": rid})
        self.assertLess(time.time() - t0, 1.0)
        with self.assertRaises(RPCError) as e:
            self.c.call("pause", {"id": rid})
        self.assertEqual(e.exception.code, 7)  # UNAVAILABLE: retry
        paused_at = self.served_while_loading(rid, other, t0, load_ms / 1e3)
        wait_for(lambda: self.rows(rid)[-1][0] > paused_at + 4, "a newer checkpoint", 120)
        self.d.kill9()
        t0 = time.time()
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        self.assertLess(time.time() - t0, 2.0)
        at = self.served_while_loading(rid, other, t0, load_ms / 1e3)
        self.assertEqual(resumed_at(self.c, rid), at)
        wait_status(self.c, rid, ("completed",), 300)
        self.assertEqual(history(self.c, rid)["loss"], want)

    def test_branch_reads_the_file_off_the_loop(self):
        """run's from a plugin's checkpoint: the new run's plugin reads the
        file (its own link of it) on the threadpool before its first
        process, and goes on as the source did."""
        s = plugin_spec("IGNITE_BIGSTATE_PLUGIN", pad=1 << 20, sleep_ms=5, every=4)
        s["epoch_length"] = 60
        s["checkpoint"]["n_saved"] = 50
        src = self.run_spec(s)
        wait_status(self.c, src, ("completed",), 120)
        want = [p for p in history(self.c, src)["loss"] if p[1] > 20]
        s["params"]["load_ms"] = 2000
        t0 = time.time()
        rid = self.run_spec(dict(s, **{"from": {"id": src, "iteration": 20}}))
        self.assertLess(time.time() - t0, 1.0)
        for _ in range(10):
            t = time.time()
            self.assertIsNone(self.c.call("ping"))
            self.assertLess(time.time() - t, 0.2)
        wait_status(self.c, rid, ("completed",), 120)
        self.assertEqual(history(self.c, rid)["loss"], want)

    def test_refused_state_file_fails_the_run_with_why(self):
        """A plugin whose load_file refuses the file (read on the
        threadpool after the run was accepted: here a branch with another
        pad) fails the run with its message in the reason."""
        s = plugin_spec("IGNITE_BIGSTATE_PLUGIN", pad=4096, sleep_ms=5, every=4)
        s["checkpoint"]["n_saved"] = 50
        src = self.run_spec(s)
        wait_status(self.c, src, ("completed",), 120)
        s["params"]["pad"] = 8192
        rid = self.run_spec(dict(s, **{"from": {"id": src, "iteration": 20}}))
        st = wait_status(self.c, rid, ("failed", "completed"), 60)
        self.assertEqual(st["status"], "failed")
        self.assertIn("cannot load its checkpoint at iteration 20: "
                      "bigstate: not a state of this pad", st["reason"])

    def test_abi1_plugin_keeps_its_state_inline(self):
        """A plugin of ABI version 1 has no save_file: the daemon reads no
        member past version 1's (this one's would abort) and keeps its
        state_dict in the row, as before."""
        rid = self.kill9_resumes_exactly(
            plugin_spec("IGNITE_BIGSTATE_ABI1_PLUGIN", pad=4096, sleep_ms=10))
        self.assertTrue(all(r[1] is None for r in self.rows(rid)), self.rows(rid))


if __name__ == "__main__":
    DaemonCase.ignited = os.path.abspath(sys.argv.pop(1))
    unittest.main()
