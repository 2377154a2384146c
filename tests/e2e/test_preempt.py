#!/usr/bin/python3
"""Pause that frees the machine, and exact preemption (issue 18): a paused
run's worker exits and its CPU slot or GPU goes to the next queued run; its
resume waits queued if need be and goes on from its checkpoint with the
history of an uninterrupted run, for exec, builtin and plugin engines.  A
queued run of higher priority stops preemptible runs of lower priority, and
only those; who preempted whom is in the status and the daemon's log; a
kill -9 keeps paused and preempted runs as they were.  `ignitectl top`
shows who holds what.
usage: test_preempt.py IGNITED IGNITECTL [unittest args]

No GPU is needed: --gpus 0,1 is taken on any machine.  Nothing sleeps to
synchronise: every wait polls for its condition.
"""
import json
import os
import sqlite3
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon import (PY, PYPATH, SRC, daemon_for, history, log_lines, numpy_spec,  # noqa: E402
                    softmax_spec, wait_for, wait_iteration, wait_status)
from test_backpressure import loader  # noqa: E402

SLOW_WORKER = os.path.join(SRC, "tests", "workers", "slow_worker.py")
BUILD = os.path.join(SRC, "build")
IGNITED = IGNITECTL = None
ENDED = ["completed", "failed", "terminated"]


def slow_spec(n, ms=4, every=10, **extra):
    """The slow exec worker over range:n: its state counts the iterations
    it processed, so its `count` equals the engine's iteration at every
    point only when each resume started from the state of the checkpoint."""
    spec = {"engine": [PY, SLOW_WORKER, str(ms)], "data": "range:%d" % n,
            "max_epochs": 1, "checkpoint": {"every": every},
            "metrics": [{"name": "count", "kind": "output", "field": "count"}],
            "worker": {"env": PYPATH}}
    spec.update(extra)
    return spec


def sleep_spec(**extra):
    """A builtin run that lasts until it is terminated."""
    spec = {"engine": "builtin:sleep", "params": {"ms": 1}, "data": "range:1000000",
            "max_epochs": 1}
    spec.update(extra)
    return spec


def plugin_spec(**extra):
    path = os.environ.get("IGNITE_PLUGIN") or os.path.join(
        BUILD, "examples", "plugin", "liblinreg.so")
    spec = {"engine": "plugin:" + path, "params": {"lr": 0.05},
            "data": {"kind": "csv", "path": "/usr/lib/python3/dist-packages/sklearn/datasets/"
                     "data/digits.csv.gz", "header": False, "label": 64, "batch_size": 32,
                     "scale": 16, "shuffle": True},
            "max_epochs": 300, "seed": 1, "checkpoint": {"every": 1},
            "metrics": [{"name": "loss", "kind": "loss", "field": "loss"}]}
    spec.update(extra)
    return spec


def exact_count(test, c, rid, n):
    h = history(c, rid)["count"]
    test.assertEqual([p[1] for p in h], list(range(1, n + 1)))
    test.assertEqual([p[2] for p in h], [float(i) for i in range(1, n + 1)])


def worker_pids(daemon_pid):
    out = subprocess.run(["ps", "--ppid", str(daemon_pid), "-o", "pid="],
                         capture_output=True, text=True).stdout.split()
    return {int(p) for p in out}


def gone(pids):
    def check():
        for p in pids:
            try:
                os.kill(p, 0)
                return False
            except ProcessLookupError:
                pass
        return True
    return check


class PreemptCase(unittest.TestCase):
    def daemon(self, *extra):
        return daemon_for(self, IGNITED, *extra)

    def reference(self, c, spec):
        rid = c.call("run", spec)["id"]
        self.assertEqual(wait_status(c, rid, ENDED)["status"], "completed")
        return history(c, rid)


class TestPause(PreemptCase):
    def test_exec_pause_frees_worker_and_slot(self):
        d, c = self.daemon("--gpus", "0,1", "--cpus", "1")
        a = c.call("run", slow_spec(300))["id"]
        wait_iteration(c, a, 20)
        pids = wait_for(lambda: worker_pids(d.proc.pid), "the worker")
        b = c.call("run", sleep_spec())["id"]
        self.assertEqual(c.call("status", {"id": b})["status"], "queued")
        c.call("pause", {"id": a})
        st = wait_status(c, a, ["paused"])
        self.assertIsNone(st["resources"]["devices"])
        # the worker exits (its GPU memory with it) and b takes the slot
        wait_for(gone(pids), "the paused run's worker to exit")
        wait_status(c, b, ["running"])
        # resumed: it waits queued for the slot b holds
        c.call("resume", {"id": a})
        st = c.call("status", {"id": a})
        self.assertEqual(st["status"], "queued")
        self.assertEqual(st["queue"]["position"], 1)
        c.call("terminate", {"id": b})
        self.assertEqual(wait_status(c, a, ENDED)["status"], "completed")
        exact_count(self, c, a, 300)

    def test_watcher_of_paused_run_hears_its_resume(self):
        """A paused run holds no job, but it is not over: watch {id}
        subscribes, and the watcher hears it run again and end."""
        d, c = self.daemon("--gpus", "none", "--cpus", "1")
        a = c.call("run", sleep_spec(name="short", data="range:400"))["id"]
        wait_iteration(c, a, 5)
        c.call("pause", {"id": a})
        wait_status(c, a, ["paused"])
        w = d.client()
        self.addCleanup(w.close)
        w.call("watch", {"id": a})
        c.call("resume", {"id": a})
        statuses = []
        while not statuses or statuses[-1] != "completed":
            note = w.next_note()
            if note[1] == "status":
                statuses.append(note[2]["status"])
        self.assertEqual(statuses, ["running", "completed"])

    def paused_then_resumed(self, spec, at):
        d, c = self.daemon("--gpus", "none", "--cpus", "1")
        want = self.reference(c, dict(spec))
        a = c.call("run", dict(spec))["id"]
        wait_iteration(c, a, at)
        b = c.call("run", sleep_spec())["id"]
        c.call("pause", {"id": a})
        it = wait_status(c, a, ["paused", "completed"])
        self.assertEqual(it["status"], "paused")
        wait_status(c, b, ["running"])
        c.call("resume", {"id": a})
        self.assertEqual(c.call("status", {"id": a})["status"], "queued")
        c.call("terminate", {"id": b})
        self.assertEqual(wait_status(c, a, ENDED)["status"], "completed")
        self.assertEqual(history(c, a), want)

    def test_builtin_pause_frees_slot_resumes_exactly(self):
        self.paused_then_resumed(softmax_spec(epochs=300), 50)

    def test_plugin_pause_frees_slot_resumes_exactly(self):
        self.paused_then_resumed(plugin_spec(), 30)


class TestPauseCommitted(PreemptCase):
    def test_paused_shown_only_once_committed(self):
        """A run is shown paused (its status note, its status) only once
        the database holds its pause: a kill -9 at once after a watcher
        heard it brings it back paused, for exec, builtin and plugin
        engines.  Runs writing 10 metrics an iteration keep the store's
        writer busy, so that a pause recorded later than shown would be
        caught between."""
        d, c = self.daemon()
        kinds = {"exec": slow_spec(1000000, ms=2, every=10),
                 "builtin": sleep_spec(checkpoint={"every": 10}),
                 "plugin": plugin_spec()}
        for kind, spec in kinds.items():
            for _ in range(2):
                c.call("run", loader())
            rid = c.call("run", spec)["id"]
            wait_iteration(c, rid, 20)
            w = d.client()
            w.call("watch", {"id": rid})
            self.assertEqual(c.call("pause", {"id": rid})["status"], "running")
            while True:
                note = w.next_note()
                if note[1] == "status" and note[2]["status"] == "paused":
                    break
            d.kill9()
            w.close()
            d.start()
            c.close()
            c = d.client()
            self.addCleanup(c.close)
            self.assertEqual(c.call("status", {"id": rid})["status"], "paused", kind)


    def test_resumed_line_says_where_it_goes_on(self):
        """A run paused mid-epoch and resumed logs "resumed at" the epoch
        and iteration its "paused at" line and its status said, not the
        epochs a loaded state counts as completed (one fewer)."""
        d, c = self.daemon()
        rid = c.call("run", softmax_spec(epochs=300, every=7))["id"]

        def lines(what, n):
            """The run's first n lines starting with what, once it has them
            (a line is stored a moment after it is written)."""
            def got():
                v = [l for l in log_lines(c, rid) if l.startswith(what)]
                return v if len(v) >= n else None
            return wait_for(got, "%d lines %r" % (n, what))

        for n in range(1, 6):
            wait_iteration(c, rid, c.call("status", {"id": rid})["iteration"] + 3)
            c.call("pause", {"id": rid})
            st = wait_status(c, rid, ["paused"])
            c.call("resume", {"id": rid})
            if st["iteration"] % st["epoch_length"] == 0:
                continue  # at an epoch's end: which epoch it is in is moot
            at = "at epoch %d, iteration %d" % (st["epoch"], st["iteration"])
            self.assertEqual(lines("paused at", n)[n - 1], "paused " + at)
            self.assertEqual(lines("resumed at", n)[n - 1], "resumed " + at)
            return
        self.fail("no pause landed mid-epoch")


class TestPreempt(PreemptCase):
    def test_high_priority_preempts_exactly(self):
        d, c = self.daemon("--gpus", "0", "--cpus", "4")
        high = softmax_spec(epochs=6, priority=5, resources={"gpus": 1})
        want_high = self.reference(c, dict(high))
        high["name"] = "high"
        # the victim: the numpy softmax exec worker, whose weights are
        # its checkpoint's (floats: any drift shows in its loss)
        low_spec = numpy_spec(epochs=4, every=10, preemptible=True, resources={"gpus": 1})
        want_low = self.reference(c, dict(low_spec))
        low = c.call("run", dict(low_spec))["id"]
        wait_iteration(c, low, 20)
        pids = wait_for(lambda: worker_pids(d.proc.pid), "the worker")
        h = c.call("run", dict(high))["id"]
        st = wait_for(lambda: (lambda s: s if s["status"] == "queued" else None)(
            c.call("status", {"id": low})), "the preemption")
        self.assertEqual(st["preempted_by"], h)
        self.assertIn("preempted by run %d (high)" % h, st["reason"])
        wait_for(gone(pids), "the preempted run's worker to exit")
        self.assertEqual(wait_status(c, h, ENDED)["status"], "completed")
        self.assertEqual(wait_status(c, low, ENDED)["status"], "completed")
        self.assertEqual(history(c, h), want_high)
        self.assertEqual(history(c, low), want_low)
        self.assertLess(int(st["reason"].rsplit(" ", 1)[1]), 4 * 45, "preempted mid-run")
        log = d.logtext()
        self.assertIn("run %d: preempts run %d" % (h, low), log)
        self.assertIn("run %d: preempted by run %d" % (low, h), log)
        self.assertIsNone(c.call("status", {"id": low})["preempted_by"])

    def test_preemption_called_off_when_room_comes_otherwise(self):
        """The victim's iteration lasts a second; before it ends, another
        run frees a GPU and the preempting run starts there: the victim
        is not stopped for nothing, it goes on running."""
        d, c = self.daemon("--gpus", "0,1", "--cpus", "4")
        low = c.call("run", slow_spec(40, ms=1000, preemptible=True,
                                      resources={"gpus": 1}))["id"]
        other = c.call("run", sleep_spec(resources={"gpus": 1}))["id"]
        wait_iteration(c, low, 1)
        wait_status(c, other, ["running"])
        h = c.call("run", sleep_spec(priority=5, resources={"gpus": 1}))["id"]
        c.call("terminate", {"id": other})
        wait_status(c, h, ["running"])
        wait_for(lambda: "run %d: preemption called off" % low in d.logtext(),
                 "the preemption to be called off")
        at = c.call("status", {"id": low})["iteration"]
        wait_iteration(c, low, at + 1)
        self.assertEqual(c.call("status", {"id": low})["status"], "running")
        c.call("terminate", {"id": low})
        c.call("terminate", {"id": h})

    def never_preempted(self, runner, waiter):
        """runner holds the only GPU; waiter, queued for it, must not
        stop it: runner goes on by 100 iterations, and waiter waits."""
        d, c = self.daemon("--gpus", "0", "--cpus", "4")
        r = c.call("run", dict(runner, resources={"gpus": 1}))["id"]
        at = wait_iteration(c, r, 1)
        w = c.call("run", dict(waiter, resources={"gpus": 1}))["id"]
        wait_iteration(c, r, at + 100)
        self.assertEqual(c.call("status", {"id": r})["status"], "running")
        st = c.call("status", {"id": w})
        self.assertEqual((st["status"], st["preempted_by"]), ("queued", None))
        self.assertNotIn("preempt", d.logtext())

    def test_not_preemptible_is_never_preempted(self):
        self.never_preempted(sleep_spec(), sleep_spec(priority=5))

    def test_equal_priority_never_preempts(self):
        self.never_preempted(sleep_spec(preemptible=True, priority=2),
                             sleep_spec(priority=2))

    def test_higher_priority_runner_is_not_preempted(self):
        self.never_preempted(sleep_spec(preemptible=True, priority=3),
                             sleep_spec(priority=2))

    def test_kill9_keeps_paused_and_preempted(self):
        d, c = self.daemon("--gpus", "0", "--cpus", "2")
        low = c.call("run", slow_spec(120, preemptible=True, resources={"gpus": 1}))["id"]
        wait_iteration(c, low, 15)
        paused = c.call("run", slow_spec(120))["id"]
        wait_iteration(c, paused, 15)
        c.call("pause", {"id": paused})
        wait_status(c, paused, ["paused"])
        h = c.call("run", sleep_spec(priority=1, resources={"gpus": 1}))["id"]
        wait_status(c, low, ["queued"])
        wait_status(c, h, ["running"])
        before = {i: c.call("status", {"id": i}) for i in (low, paused, h)}
        self.assertEqual(before[low]["preempted_by"], h)
        # what a kill -9 keeps is what the store committed
        db = sqlite3.connect(d.db)
        self.addCleanup(db.close)
        wait_for(lambda: [r[0] for r in db.execute(
            "SELECT status FROM runs ORDER BY id")] == ["queued", "paused", "running"],
            "the statuses to be committed")
        c.close()
        d.kill9()
        d.start()
        c = d.client()
        self.addCleanup(c.close)
        for i, st in before.items():
            now = c.call("status", {"id": i})
            for k in ("status", "reason", "preempted_by", "iteration"):
                if i != h or k != "iteration":  # h ran on since its start
                    self.assertEqual(now[k], st[k], (i, k))
        # the paused run holds nothing and has no worker: only h's
        # builtin and nothing else runs
        self.assertEqual(worker_pids(d.proc.pid), set())
        c.call("terminate", {"id": h})
        c.call("resume", {"id": paused})
        for i in (low, paused):
            self.assertEqual(wait_status(c, i, ENDED)["status"], "completed")
            exact_count(self, c, i, 120)


class TestTop(PreemptCase):
    def test_top_once_shows_holders(self):
        d, c = self.daemon("--gpus", "0,1", "--cpus", "3")
        a = c.call("run", sleep_spec(name="holder", resources={"gpus": 1, "cpus": 2}))["id"]
        wait_status(c, a, ["running"])
        q = c.call("run", sleep_spec(name="waiter", resources={"gpus": 0, "cpus": 2}))["id"]
        env = dict(os.environ, IGNITE_SOCKET=d.socket)
        out = subprocess.run([IGNITECTL, "--socket", d.socket, "top", "--once"], env=env,
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"(?m)^\s*0\s+.*\b%d\b.*holder" % a)
        self.assertRegex(out.stdout, r"CPU slots:? *2/3")
        self.assertIn("waiter", out.stdout)
        js = subprocess.run([IGNITECTL, "--socket", d.socket, "--json", "top", "--once"],
                            capture_output=True, text=True, timeout=30)
        self.assertEqual(js.returncode, 0, js.stderr)
        m = json.loads(js.stdout)
        self.assertEqual([g["index"] for g in m["gpus"]], [0, 1])
        self.assertEqual(m["gpus"][0]["run"]["id"], a)
        self.assertIsNone(m["gpus"][1]["run"])
        self.assertEqual((m["cpus"]["used"], m["cpus"]["total"]), (2, 3))
        self.assertEqual([r["id"] for r in m["running"]], [a])
        self.assertEqual([r["id"] for r in m["queued"]], [q])


if __name__ == "__main__":
    IGNITED, IGNITECTL = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:])
