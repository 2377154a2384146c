#!/usr/bin/python3
"""One machine's GPUs and CPU slots shared through a queue (issue 18):
runs wait queued for what they ask, start first come first served within
their priority, get CUDA_VISIBLE_DEVICES and their CPU affinity, keep their
order and holdings through a kill -9, and a user's limits hold.
usage: test_queue.py IGNITED [unittest args]

No GPU is needed: --gpus 0,1 is taken on any machine and only sets the
variable.  The workers write where and when they ran (tests/workers/
gpu_worker.py); nothing here sleeps to synchronise.
"""
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon import (PY, PYPATH, SRC, RPCError, as_uid, daemon_for, log_lines, wait_for,  # noqa: E402
                    wait_status)

GPU_WORKER = os.path.join(SRC, "tests", "workers", "gpu_worker.py")
IGNITED = None
INVALID_PARAMS, PERMISSION_DENIED, UNAVAILABLE = 3, 5, 7
USER = 65533
ENDED = ["completed", "failed", "terminated"]


def gpu_spec(log, tag, gpus=1, n=10, ms=20, **extra):
    spec = {"engine": [PY, GPU_WORKER, log, str(ms), str(tag)], "data": "range:%d" % n,
            "max_epochs": 1, "resources": {"gpus": gpus}, "worker": {"env": PYPATH}}
    spec.update(extra)
    return spec


def sleep_spec(gpus=0, n=1000000, **extra):
    """A builtin run that lasts until it is terminated."""
    spec = {"engine": "builtin:sleep", "params": {"ms": 1}, "data": "range:%d" % n,
            "max_epochs": 1, "resources": {"gpus": gpus}}
    spec.update(extra)
    return spec


def read_log(path):
    """[(what, time, tag, cuda, cpus)], in the order written."""
    rows = []
    with open(path) as f:
        for line in f:
            w = line.split()
            rows.append((w[0], float(w[1]), w[2], w[3] if len(w) > 3 else None,
                         w[4] if len(w) > 4 else None))
    return rows


class QueueCase(unittest.TestCase):
    def daemon(self, *extra):
        return daemon_for(self, IGNITED, *extra)

    def test_five_runs_on_two_gpus(self):
        d, c = self.daemon("--gpus", "0,1", "--cpus", "8")
        log = os.path.join(d.dir, "workers.log")
        ids = [c.call("run", gpu_spec(log, i))["id"] for i in range(5)]
        queued = [c.call("status", {"id": i}) for i in ids]
        # the status says what a queued run waits for, and its place
        for st in queued:
            if st["status"] == "queued":
                self.assertEqual(st["queue"]["waiting_for"], "1 GPU")
        places = [st["queue"]["position"] for st in queued if st["status"] == "queued"]
        self.assertEqual(places, sorted(places))
        for i in ids:
            self.assertEqual(wait_status(c, i, ENDED)["status"], "completed")
        # first come first served, as the daemon started them (two
        # workers started at once may write their lines in either order)
        started = [int(m) for m in re.findall(r"run (\d+): started on GPUs", d.logtext())]
        self.assertEqual(started, ids)
        # each on one of the two GPUs, never two runs on one, never three
        # at once: the workers' own times
        rows = sorted(read_log(log), key=lambda r: (r[1], r[0] == "start"))
        holding = {}
        for what, _, tag, cuda, _ in rows:
            if what == "start":
                self.assertIn(cuda, ("0", "1"))
                self.assertNotIn(cuda, holding.values(), rows)
                holding[tag] = cuda
                self.assertLessEqual(len(holding), 2, rows)
            else:
                del holding[tag]
        self.assertEqual(len(rows), 10)

    def test_cpu_run_sees_no_gpu_and_its_cpus(self):
        ncpu = len(os.sched_getaffinity(0))
        d, c = self.daemon("--gpus", "0,1")
        log = os.path.join(d.dir, "workers.log")
        one = c.call("run", gpu_spec(log, "one", gpus=0))["id"]
        wait_status(c, one, ENDED)
        want = min(2, ncpu)
        two = c.call("run", gpu_spec(log, "two", gpus=1, resources={"gpus": 1, "cpus": want}))["id"]
        wait_status(c, two, ENDED)
        starts = {r[2]: r for r in read_log(log) if r[0] == "start"}
        # no GPU asked: CUDA_VISIBLE_DEVICES is set empty, hiding every GPU
        self.assertEqual(starts["one"][3], "<empty>")
        self.assertEqual(len(starts["one"][4].split(",")), 1)
        self.assertEqual(starts["two"][3], "0")
        self.assertEqual(len(starts["two"][4].split(",")), want)
        for r in starts.values():
            for cpu in r[4].split(","):
                self.assertIn(int(cpu), os.sched_getaffinity(0))

    def test_priority_first(self):
        d, c = self.daemon("--gpus", "0", "--cpus", "8")
        log = os.path.join(d.dir, "workers.log")
        holder = c.call("run", sleep_spec(gpus=1))["id"]
        wait_status(c, holder, ["running"])
        low = [c.call("run", gpu_spec(log, "low%d" % i))["id"] for i in range(2)]
        high = c.call("run", gpu_spec(log, "high", priority=5))["id"]
        self.assertEqual(c.call("status", {"id": high})["queue"]["position"], 1)
        self.assertEqual(c.call("status", {"id": low[1]})["queue"]["position"], 3)
        c.call("terminate", {"id": holder})
        for i in low + [high]:
            self.assertEqual(wait_status(c, i, ENDED)["status"], "completed")
        starts = [r[2] for r in read_log(log) if r[0] == "start"]
        self.assertEqual(starts, ["high", "low0", "low1"])

    def test_priority_above_zero_is_roots(self):
        d, c = self.daemon("--gpus", "none")

        def check(uc):
            try:
                uc.call("run", sleep_spec(priority=1))
            except RPCError as e:
                return e.code == PERMISSION_DENIED and "priority" in e.message
            return False

        self.assertEqual(as_uid(d, USER, check), 0)
        self.assertEqual(c.call("list", {})["runs"], [])

    def test_asking_more_than_the_machine_has(self):
        d, c = self.daemon("--gpus", "0,1", "--cpus", "4")
        for res, word in (({"gpus": 3}, "gpus"), ({"cpus": 5}, "cpus")):
            with self.assertRaises(RPCError) as cm:
                c.call("run", sleep_spec(resources=res))
            self.assertEqual(cm.exception.code, INVALID_PARAMS)
            self.assertIn("resources." + word, cm.exception.message)

    def test_terminate_queued(self):
        d, c = self.daemon("--gpus", "0", "--cpus", "8")
        holder = c.call("run", sleep_spec(gpus=1))["id"]
        wait_status(c, holder, ["running"])
        a = c.call("run", sleep_spec(gpus=1))["id"]
        b = c.call("run", sleep_spec(gpus=1))["id"]
        c.call("terminate", {"id": a})
        self.assertEqual(wait_status(c, a, ENDED)["status"], "terminated")
        self.assertEqual(c.call("status", {"id": b})["queue"]["position"], 1)
        c.call("terminate", {"id": holder})
        wait_status(c, b, ["running"])
        self.assertEqual(c.call("status", {"id": b})["resources"]["devices"], "0")

    def test_kill9_keeps_queue_and_holders(self):
        d, c = self.daemon("--gpus", "0,1", "--cpus", "8")
        ids = [c.call("run", sleep_spec(gpus=1, checkpoint={"every": 50}))["id"]
               for _ in range(4)]
        late = c.call("run", dict(sleep_spec(gpus=1), priority=3))["id"]
        ids.append(late)
        for i in ids[:2]:
            wait_status(c, i, ["running"])

        def snapshot():
            out = {}
            for i in ids:
                st = c.call("status", {"id": i})
                out[i] = (st["status"], st["resources"]["devices"],
                          (st["queue"] or {}).get("position"))
            return out

        before = snapshot()
        self.assertEqual(before[late][2], 1)
        d.kill9()
        c.close()
        d.start()
        c = d.client()
        self.addCleanup(c.close)
        wait_for(lambda: all(c.call("status", {"id": i})["status"] in ("running", "queued")
                             for i in ids), "the runs back")
        self.assertEqual(snapshot(), before)
        for i in ids[:2]:
            wait_for(lambda: any("resumed at" in line and "after the daemon's restart" in line
                                 for line in log_lines(c, i)), "run %d's resume logged" % i)
        # the queue goes on in its order
        c.call("terminate", {"id": ids[0]})
        wait_status(c, late, ["running"])
        self.assertEqual(c.call("status", {"id": ids[2]})["queue"]["position"], 1)

    def test_per_user_limits(self):
        d, c = self.daemon("--gpus", "none", "--cpus", "8",
                           "--max-running-per-user", "1", "--max-queued-per-user", "2")

        def check(uc):
            for _ in range(3):
                uc.call("run", sleep_spec())
            try:
                uc.call("run", sleep_spec())
            except RPCError as e:
                return e.code == UNAVAILABLE and "--max-queued-per-user 2" in e.message
            return False

        self.assertEqual(as_uid(d, USER, check), 0)
        runs = sorted(c.call("list", {})["runs"], key=lambda r: r["id"])
        self.assertEqual(len(runs), 3)
        wait_status(c, runs[0]["id"], ["running"])
        for r in runs[1:]:
            st = c.call("status", {"id": r["id"]})
            self.assertEqual(st["status"], "queued")
            self.assertIn("--max-running-per-user", st["queue"]["waiting_for"])
        # root is not held by the limits, and the user's queue goes on
        mine = [c.call("run", sleep_spec())["id"] for _ in range(3)]
        for i in mine:
            wait_status(c, i, ["running"])
        c.call("terminate", {"id": runs[0]["id"]})
        wait_status(c, runs[1]["id"], ["running"])
        self.assertEqual(c.call("status", {"id": runs[2]["id"]})["status"], "queued")


if __name__ == "__main__":
    IGNITED = os.path.abspath(sys.argv.pop(1))
    unittest.main()
