#!/usr/bin/python3
"""End-to-end tests of a worker of several processes: torchrun with two
ranks on gloo (examples/workers/torch_ddp.py, ignite_worker.dist) under a
real daemon, killed mid-run, resuming bit for bit; ranks that fail or
hang; dialling back (against tests/workers/fake_daemon.py until ignited
serves it).
usage: test_dist.py IGNITED [unittest args]
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon import (PY, PYPATH, SRC, Daemon, history, log_lines,  # noqa: E402
                    logged_iterations, resumed_after_restart, wait_for, wait_iteration, wait_status)
sys.path.insert(0, os.path.join(SRC, "tests", "workers"))
from fake_daemon import FakeDaemon  # noqa: E402

DDP_WORKER = os.path.join(SRC, "examples", "workers", "torch_ddp.py")
DIST_WORKER = os.path.join(SRC, "tests", "workers", "dist_worker.py")
IGNITED = None
HAVE_TORCH = subprocess.call(
    [PY, "-c", "import torch.distributed as d, torch.distributed.run; "
     "assert d.is_available() and d.is_gloo_available()"], stderr=subprocess.DEVNULL) == 0
EPOCH_LENGTH, EPOCHS, EVERY = 25, 2, 5


def children(pid):
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="],
                         capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def rank_of(pid):
    """The RANK in pid's environment, or None."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
    except OSError:
        return None
    rank = env.get(b"RANK")
    return int(rank) if rank is not None else None


def torchrun_of(daemon_pid, logs, name):
    """The pid of the daemon's worker (torchrun) of the run named name, or
    None: the one whose --log_dir is logs/name."""
    flag = ("--log_dir=" + os.path.join(logs, name)).encode()
    for w in children(daemon_pid):
        try:
            with open("/proc/%d/cmdline" % w, "rb") as f:
                if flag in f.read().split(b"\0"):
                    return w
        except OSError:
            pass
    return None


def ranks(daemon_pid, logs, name):
    """{rank: pid} of the ranks of the run named name."""
    w = torchrun_of(daemon_pid, logs, name)
    return {rank_of(p): p for p in children(w) if rank_of(p) is not None} if w else {}


class GroupCase(unittest.TestCase):
    """One daemon for the class, and its reference run (cls.spec("ref")),
    which trains beside the first test's run."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(IGNITED).start()
        cls.logs = tempfile.mkdtemp(prefix="ignite-dist-")
        cls.addClassCleanup(shutil.rmtree, cls.logs, ignore_errors=True)
        cls.addClassCleanup(cls.d.remove)
        c = cls.d.client()
        cls.ref = c.call("run", cls.spec("ref"))["id"]
        c.close()
        cls.want = None

    def setUp(self):
        self.c = self.d.client()
        self.addCleanup(lambda: self.c.close())


@unittest.skipUnless(HAVE_TORCH, "python3-torch (with torch.distributed and gloo) is missing")
class TestTwoRanks(GroupCase):
    """Two ranks (torchrun --nproc_per_node=2): the history and the weights
    (weights_crc, every rank's the same) equal an uninterrupted run's after
    kill -9 of the daemon, and after kill -9 of either rank with
    max_restarts."""

    @staticmethod
    def torchrun(log_dir):
        # torch 1.13's --standalone takes port 29400, which runs side by
        # side share: a store on a free port instead.  Debian's torch 1.13
        # under Python 3.11 cannot parse torchrun's default --redirects 0:
        # the ranks' stderr goes to --log_dir and is copied (tee) to
        # torchrun's, the run's log.
        return [PY, "-m", "torch.distributed.run", "--rdzv_backend=c10d",
                "--rdzv_endpoint=localhost:0", "--nnodes=1", "--nproc_per_node=2",
                "--monitor_interval=0.2", "--redirects=2", "--tee=2", "--log_dir=" + log_dir]

    @classmethod
    def spec(cls, name, program=DDP_WORKER, log_dir=None, **worker):
        engine = cls.torchrun(log_dir or os.path.join(cls.logs, name)) + [program]
        env = dict(PYPATH, OMP_NUM_THREADS="1")
        return {"name": name, "engine": engine, "data": "worker", "epoch_length": EPOCH_LENGTH,
                "max_epochs": EPOCHS, "seed": 3, "params": {"width": 8, "lr": 0.05},
                "metrics": [{"name": "loss", "kind": "loss", "field": "loss"},
                            {"name": "step_loss", "kind": "output", "field": "loss"}],
                "checkpoint": {"every": EVERY},
                "worker": dict({"timeout_ms": 120000}, **worker, env=env)}

    def complete(self, rid, timeout=240):
        st = wait_status(self.c, rid, ("completed", "failed", "terminated"), timeout)
        self.assertEqual(st["status"], "completed", "%s\n%s" % (
            st.get("reason"), self.d.logtext()[-3000:]))
        return st

    def reference(self):
        """The uninterrupted run's history and final metrics."""
        if TestTwoRanks.want is None:
            st = self.complete(self.ref)
            TestTwoRanks.want = (history(self.c, self.ref), st["metrics"])
        return TestTwoRanks.want

    def assert_same_as_reference(self, rid):
        st = self.complete(rid)
        want, metrics = self.reference()
        got = history(self.c, rid)
        self.assertEqual(len(got["step_loss"]), EPOCH_LENGTH * EPOCHS)
        self.assertEqual(got, want)
        self.assertEqual(st["metrics"], metrics)
        self.assertIn("weights_crc", st["metrics"])

    def test_a_rank_killed(self):
        """kill -9 of rank 1 mid-epoch 2, then of rank 0 (the one speaking
        to the daemon): torchrun ends the group each time, the daemon
        starts it again (max_restarts), and it resumes from the last
        checkpoint."""
        rid = self.c.call("run", self.spec("rank", max_restarts=2))["id"]
        for k, (rank, target) in enumerate(((1, EPOCH_LENGTH + 3), (0, EPOCH_LENGTH + 13)), 1):
            group = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(
                ranks(self.d.proc.pid, self.logs, "rank")), "the run's two ranks", 180)
            wait_iteration(self.c, rid, target, timeout=180)
            os.kill(group[rank], signal.SIGKILL)
            wait_for(lambda: "restart %d of 2" % k in self.d.logtext(), "the worker's restart", 60)
            # the whole group is gone, not only the rank killed
            wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in group.values()),
                     "the group's ranks to end", 60)
            resumed = wait_for(lambda: logged_iterations(
                self.c, rid, "resumed", " after the worker's restart")[k - 1:], "the resume", 180)
            self.assertGreaterEqual(resumed[0], target - EVERY, "resumed from the last checkpoint")
        self.assert_same_as_reference(rid)

    def test_b_daemon_killed(self):
        """kill -9 of the daemon mid-epoch 2: the old group ends (rank 0 sees
        its pipes close and tells the others), the new daemon starts a new
        one, which resumes from the last committed checkpoint."""
        self.reference()  # done before the daemon is killed
        rid = self.c.call("run", self.spec("daemon"))["id"]
        old = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(
            ranks(self.d.proc.pid, self.logs, "daemon")), "the run's two ranks", 180).values()
        wait_iteration(self.c, rid, EPOCH_LENGTH + 3, timeout=180)
        self.c.close()
        self.d.kill9()
        wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in old),
                 "the old ranks to end", 60)
        self.d.start()
        self.c = self.d.client()
        resumed = resumed_after_restart(self.c, rid)
        self.assertGreaterEqual(resumed[0], EPOCH_LENGTH, "resumed from a checkpoint in epoch 2")
        self.assert_same_as_reference(rid)


@unittest.skipUnless(HAVE_TORCH, "python3-torch (with torch.distributed and gloo) is missing")
class TestShards(GroupCase):
    """Sharded checkpoints (IGNITE_WORKER_SHARDS=rank): each rank writes its
    own file into the directory the daemon names; resumes after kill -9 of
    a rank and of the daemon, and from a damaged or incomplete newest
    checkpoint, end as an uninterrupted run."""

    @classmethod
    def spec(cls, name, **worker):
        s = TestTwoRanks.spec(name, log_dir=os.path.join(cls.logs, name), **worker)
        s["worker"]["env"]["IGNITE_WORKER_SHARDS"] = "rank"
        return s

    def run_dir(self, rid):
        return os.path.join(self.d.dir + "-checkpoints", "run-%d" % rid)

    def assert_same_as_reference(self, rid):
        for r in (self.ref, rid):
            st = wait_status(self.c, r, ("completed", "failed", "terminated"), 240)
            self.assertEqual(st["status"], "completed", st.get("reason"))
        self.assertEqual(history(self.c, rid), history(self.c, self.ref))
        self.assertEqual(self.c.call("status", {"id": rid})["metrics"],
                         self.c.call("status", {"id": self.ref})["metrics"])

    def test_a_rank_then_the_daemon_killed(self):
        """kill -9 of rank 1, then of the daemon, in epoch 2: exact.  The
        newest 2 checkpoints stay, directories of one file per rank."""
        rid = self.c.call("run", self.spec("kills", max_restarts=1))["id"]
        group = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(
            ranks(self.d.proc.pid, self.logs, "kills")), "the run's two ranks", 180)
        wait_iteration(self.c, rid, EPOCH_LENGTH + 3, timeout=180)
        os.kill(group[1], signal.SIGKILL)
        wait_for(lambda: logged_iterations(self.c, rid, "resumed", " after the worker's restart"),
                 "the resume after the rank's death", 180)
        wait_iteration(self.c, rid, EPOCH_LENGTH + 14, timeout=180)
        self.c.close()
        self.d.kill9()
        self.d.start()
        self.c = self.d.client()
        self.assertGreaterEqual(resumed_after_restart(self.c, rid)[0], EPOCH_LENGTH + 10)
        self.assert_same_as_reference(rid)
        kept = self.c.call("checkpoints", {"id": rid})["checkpoints"]
        self.assertEqual(len(kept), 2, kept)
        self.assertEqual(sorted(os.path.join(self.run_dir(rid), e)
                                for e in os.listdir(self.run_dir(rid))),
                         sorted(k["file"] for k in kept))
        for k in kept:
            self.assertEqual(sorted(os.listdir(k["file"])),
                             [".ignite-manifest", "rank-00000", "rank-00001"])

    def test_b_damaged_then_missing_shard(self):
        """The newest checkpoint's rank-00001 flipped, then (later) gone,
        with the daemon down: each time the run resumes from the one
        before and its log says why."""
        rid = self.c.call("run", self.spec("damaged"))["id"]

        def flip(path):
            with open(path, "r+b") as f:
                b = f.read(1)
                f.seek(0)
                f.write(bytes([b[0] ^ 1]))
        for at, damage, says in ((8, flip, "is damaged"),
                                 (EPOCH_LENGTH + 8, os.unlink, "is missing")):
            wait_iteration(self.c, rid, at, timeout=180)
            self.c.call("pause", {"id": rid})
            wait_status(self.c, rid, ("paused",), 120)
            newest = self.c.call("checkpoints", {"id": rid})["checkpoints"][-1]
            self.c.close()
            self.d.stop()
            damage(os.path.join(newest["file"], "rank-00001"))
            self.d.start()
            self.c = self.d.client()
            self.c.call("resume", {"id": rid})
            wait_for(lambda: [ln for ln in log_lines(self.c, rid) if says in ln
                              and "resumed from an older checkpoint" in ln
                              and "iteration %d refused" % newest["iteration"] in ln],
                     "the resume from the one before", 120)
        self.assert_same_as_reference(rid)

    def test_c_every_rank_saves_the_directory(self):
        """IGNITE_WORKER_SHARDS=dir: every rank's save(dir) writes into the
        one directory (as torch.distributed.checkpoint does); a rank
        killed, the group resumes each rank's count exactly."""
        s = TestTwoRanks.spec("dir", DIST_WORKER, os.path.join(self.logs, "dir"),
                              max_restarts=1)
        s["worker"]["env"].update(IGNITE_WORKER_SHARDS="dir", DIST_WORKER_FILES="1")
        s.update(params={}, checkpoint={"every": 4}, epoch_length=30, max_epochs=1,
                 metrics=[{"name": "n", "kind": "output", "field": "n"}])
        rid = self.c.call("run", s)["id"]
        group = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(
            ranks(self.d.proc.pid, self.logs, "dir")), "the run's two ranks", 180)
        wait_iteration(self.c, rid, 10, timeout=180)
        os.kill(group[1], signal.SIGKILL)
        st = wait_status(self.c, rid, ("completed", "failed"), 180)
        self.assertEqual(st["status"], "completed", st.get("reason"))
        self.assertTrue(logged_iterations(self.c, rid, "resumed", " after the worker's restart"))
        self.assertEqual([v for _, _, v in history(self.c, rid)["n"]],
                         [float(i) for i in range(1, 31)])
        newest = self.c.call("checkpoints", {"id": rid})["checkpoints"][-1]
        self.assertEqual(sorted(os.listdir(newest["file"])),
                         [".ignite-manifest", ".metadata", "__0_0.distcp", "__1_0.distcp"])


@unittest.skipUnless(HAVE_TORCH, "python3-torch (with torch.distributed and gloo) is missing")
class TestFaults(unittest.TestCase):
    """Ranks that raise, hang or cannot save (tests/workers/dist_worker.py)."""

    def setUp(self):
        self.d = Daemon(IGNITED).start()
        self.addCleanup(self.d.remove)
        self.logs = tempfile.mkdtemp(prefix="ignite-dist-")
        self.addCleanup(shutil.rmtree, self.logs, ignore_errors=True)
        self.c = self.d.client()
        self.addCleanup(self.c.close)

    def misbehaving(self, name, max_restarts, **params):
        spec = TestTwoRanks.spec(name, DIST_WORKER, os.path.join(self.logs, name),
                                 max_restarts=max_restarts)
        spec.update(params=params, metrics=[], checkpoint={"every": 2}, epoch_length=50,
                    max_epochs=1)
        return self.c.call("run", spec)["id"]

    def test_misbehaving_ranks(self):
        """An exception on rank 1 is the answer's error: the run fails
        with it, not restarted.  A rank that hangs dies with torchrun when
        torchrun is killed (as the daemon kills its worker at a timeout),
        not only torchrun."""
        hung = self.misbehaving("hang", 0, rank=1, at=5, do="hang")
        raised = self.misbehaving("raise", 1, rank=1, at=3, do="raise")
        unsaved = self.misbehaving("save", 1, rank=1, do="save")
        wait_iteration(self.c, hung, 4, timeout=180)
        st = wait_status(self.c, raised, ("failed", "completed"), 180)
        self.assertIn("rank 1: ValueError: rank 1 gave up at iteration 3", st["reason"])
        self.assertNotIn("restart", st["reason"])
        # a checkpoint that fails on one rank fails (the run pauses with
        # the reason), rather than leaving rank 0 waiting for its state
        st = wait_status(self.c, unsaved, ("paused", "failed", "completed"), 180)
        self.assertEqual(st["status"], "paused", st)
        self.assertIn("rank 1: ValueError: rank 1 cannot save", st["reason"])
        torchrun = torchrun_of(self.d.proc.pid, self.logs, "hang")
        group = ranks(self.d.proc.pid, self.logs, "hang")
        self.assertEqual(sorted(group), [0, 1])
        os.kill(torchrun, signal.SIGKILL)
        wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in group.values()),
                 "the hung group's ranks to die with torchrun (%s)" % group, 30)
        st = wait_status(self.c, hung, ("failed", "completed"), 60)
        self.assertIn("killed by signal 9", st["reason"])


@unittest.skipUnless(HAVE_TORCH, "python3-torch is missing")
class TestParts(unittest.TestCase):
    def test_torchrun_restarts_are_refused_over_pipes(self):
        """torchrun's own restarts would start ranks in the middle of the
        conversation: serve() refuses them before anything else."""
        env = dict(PYPATH, PATH=os.environ["PATH"], WORLD_SIZE="2", RANK="0",
                   TORCHELASTIC_RUN_ID="none", TORCHELASTIC_MAX_RESTARTS="1")
        p = subprocess.run([PY, "-c", "import ignite_worker; ignite_worker.serve(None)"],
                           env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("torchrun --max_restarts=1: over pipes the daemon restarts the worker, "
                      "not torchrun; leave torchrun's at 0", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_rank_0_alone_dials_back(self):
        """Dialling back, only rank 0 connects; when its connection drops
        it dials again and the group is set up anew.  torchrun's own
        restarts are allowed there."""
        daemon = FakeDaemon()
        self.addCleanup(daemon.close)
        logs = tempfile.mkdtemp(prefix="ignite-dist-")
        self.addCleanup(shutil.rmtree, logs, ignore_errors=True)
        env = dict(PYPATH, PATH=os.environ["PATH"], OMP_NUM_THREADS="1",
                   IGNITE_WORKER_ADDR="127.0.0.1:%d" % daemon.port, IGNITE_WORKER_RUN="7",
                   IGNITE_WORKER_SECRET="ab" * 32, IGNITE_WORKER_RETRY_S="60")
        proc = subprocess.Popen(TestTwoRanks.torchrun(logs) + ["--max_restarts=1", DIST_WORKER],
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is not None or (proc.kill(), proc.wait()))
        self.addCleanup(proc.stdout.close)
        daemon.lsock.settimeout(120)
        for conn_no in (1, 2):
            conn = daemon.accept()
            self.assertEqual(conn.hello()[3]["run"], 7)
            conn.call("setup", {"run": 7, "params": {}, "seed": 1, "epoch_length": 5,
                                "max_epochs": 1})
            for i in (1, 2):
                out = conn.call("process", {"epoch": 1, "iteration": i, "batch": None})
                self.assertEqual(out["output"], {"x": float(i)})
            if conn_no == 1:
                conn.close()  # dropped: rank 0 dials again
        # one connection at a time: rank 1 never dialled
        daemon.lsock.settimeout(0.5)
        self.assertRaises(socket.timeout, daemon.accept)
        self.assertIsNone(conn.call("shutdown", {}))
        conn.close()
        self.assertEqual(proc.wait(120), 0, proc.stdout.read().decode(errors="replace"))

    def test_container_and_refusals(self):
        """The one checkpoint file of every rank's state."""
        sys.path.insert(0, os.path.join(SRC, "python"))
        from ignite_worker import dist

        data = dist.pack([b"zero", b"", b"two"])
        self.assertEqual(dist.unpack(data, 3), [b"zero", b"", b"two"])
        for bad, says in ((b"PK\x03\x04", "one process"), (data, "holds the states of 3 ranks"),
                          (data[:-1], "cut short"), (data + b"x", "too long"),
                          (data[:10], "cut short"), (data[:20], "cut short")):
            with self.assertRaises(ValueError) as e:
                dist.unpack(bad, 2 if bad is data else 3)
            self.assertIn(says, str(e.exception))
        for mode, ckpt, says in (("file", None, "IGNITE_WORKER_SHARDS=file: give rank"),
                                 ("dir", object(), "IGNITE_WORKER_SHARDS=dir calls serve()'s "
                                  "save(dir) on every rank")):
            with self.assertRaises(ValueError) as e:
                dist._Shards(ckpt, None, mode)
            self.assertIn(says, str(e.exception))


if __name__ == "__main__":
    IGNITED = os.path.abspath(sys.argv.pop(1))
    unittest.main()
