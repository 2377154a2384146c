#!/usr/bin/python3
"""The checkpoint schedule asked is the schedule kept, for process
functions that answer later (an exec worker, a blocking builtin) as for
those that answer at once, and a worker slow to give its state never
holds up the daemon.
usage: test_schedule.py IGNITED [unittest args]

Each resume is checked for where it resumed (the "resumed at" line of the
run's log), not only for how the run ended: a run started over from 0 ends
the same, but loses everything PROTOCOL.md promises to keep.
"""
import os
import re
import signal
import sqlite3
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon import (PY, PYPATH, SRC, Daemon, RPCError, history, log_lines, logged_iterations,  # noqa: E402
                    numpy_spec, resumed_after_restart, wait_status)

SLOW_WORKER = os.path.join(SRC, "tests", "workers", "slow_worker.py")
METRICS_WORKER = os.path.join(SRC, "tests", "workers", "metrics_worker.py")
IGNITED = None
INVALID_PARAMS = 3


def slow_spec(ms, n, checkpoint, *mode, **worker):
    """The slow worker over range:n in one epoch, recording at every
    iteration the count its state carries and the engine's iteration."""
    return {"engine": [PY, SLOW_WORKER, str(ms)] + list(mode), "data": "range:%d" % n,
            "max_epochs": 1, "checkpoint": checkpoint,
            "metrics": [{"name": "count", "kind": "output", "field": "count"},
                        {"name": "iteration", "kind": "output", "field": "iteration"}],
            "worker": dict(worker, env=PYPATH)}


def sleep_spec(ms, n, checkpoint):
    return {"engine": "builtin:sleep", "params": {"ms": ms}, "data": "range:%d" % n,
            "max_epochs": 1, "checkpoint": checkpoint}


class ScheduleCase(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(IGNITED).start()
        self.addCleanup(self.d.remove)

    def iteration(self, rid):
        c = self.d.client()
        try:
            return c.call("status", {"id": rid})["iteration"]
        finally:
            c.close()

    def wait_iteration(self, rid, target, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            it = self.iteration(rid)
            if it >= target:
                return it
            time.sleep(0.01)
        self.fail("run %d never reached iteration %d" % (rid, target))

    def kill_and_resume(self, rid):
        """kill -9 the daemon and start it again; the iteration the run had
        reached just before the kill, and the one it resumed at."""
        before = self.iteration(rid)
        self.d.kill9()
        self.d.start()
        c = self.d.client()
        deadline = time.time() + 30
        try:
            # the line is written as the daemon starts; the store commits
            # it a moment later
            while time.time() < deadline:
                for line in c.call("logs", {"id": rid})["lines"]:
                    m = re.match(r"resumed at epoch \d+, iteration (\d+) after the "
                                 r"daemon's restart", line["message"])
                    if m:
                        return before, int(m.group(1))
                time.sleep(0.01)
        finally:
            c.close()
        self.fail("run %d was not resumed:\n%s" % (rid, self.d.logtext()[-3000:]))

    def assert_resumed_within(self, before, resumed, every):
        """Resumed on a count point, at most one period (plus the
        iteration that was in flight) behind where it had got to."""
        self.assertEqual(resumed % every, 0, resumed)
        self.assertGreater(resumed, 0, "started over")
        self.assertGreaterEqual(resumed, before - 2 * every - 1, (before, resumed))

    def finish(self, rid):
        c = self.d.client()
        st = wait_status(c, rid, ("completed", "failed", "terminated"))
        self.assertEqual(st["status"], "completed", st.get("reason"))
        h = history(c, rid)
        c.close()
        return h


class TestEvery(ScheduleCase):
    def test_exec_worker_every_5(self):
        c = self.d.client()
        rid = c.call("run", slow_spec(20, 120, {"every": 5}))["id"]
        c.close()
        self.wait_iteration(rid, 43)
        before, resumed = self.kill_and_resume(rid)
        self.assert_resumed_within(before, resumed, 5)
        h = self.finish(rid)
        # the worker's own count went on from the checkpoint's state
        self.assertEqual([p[2] for p in h["count"]], [float(i) for i in range(1, 121)])
        self.assertEqual([p[1] for p in h["count"]], list(range(1, 121)))

    def test_blocking_builtin_every_10(self):
        c = self.d.client()
        rid = c.call("run", sleep_spec(5, 400, {"every": 10}))["id"]
        c.close()
        self.wait_iteration(rid, 95)
        before, resumed = self.kill_and_resume(rid)
        self.assert_resumed_within(before, resumed, 10)
        self.finish(rid)

    def test_checkpoint_action_with_exec_worker(self):
        """A declarative checkpoint handler is taken where it fired."""
        spec = slow_spec(10, 200, {"epoch_completed": False})
        spec["handlers"] = [{"event": "ITERATION_COMPLETED", "every": 7,
                             "action": "checkpoint"}]
        c = self.d.client()
        rid = c.call("run", spec)["id"]
        c.close()
        self.wait_iteration(rid, 60)
        before, resumed = self.kill_and_resume(rid)
        self.assert_resumed_within(before, resumed, 7)
        h = self.finish(rid)
        self.assertEqual([p[2] for p in h["count"]], [float(i) for i in range(1, 201)])


class TestSeconds(ScheduleCase):
    def test_exec_worker_every_200_ms(self):
        c = self.d.client()
        rid = c.call("run", slow_spec(20, 200, {"seconds": 0.2}))["id"]
        c.close()
        self.wait_iteration(rid, 60)
        before, resumed = self.kill_and_resume(rid)
        # 200 ms is 10 iterations of 20 ms; allow as much again
        self.assertGreater(resumed, 0, "started over")
        self.assertGreaterEqual(resumed, before - 21, (before, resumed))
        h = self.finish(rid)
        self.assertEqual([p[2] for p in h["count"]], [float(i) for i in range(1, 201)])


class TestWorkerMetrics(ScheduleCase):
    """Metrics a worker reports itself are first class: in the history,
    restored exactly on resume, whether or not the spec names them."""

    def spec(self, **extra):
        spec = {"engine": [PY, METRICS_WORKER, "2"], "data": "range:600", "max_epochs": 1,
                "checkpoint": {"every": 50}, "worker": {"env": PYPATH}}
        spec.update(extra)
        return spec

    def test_resumed_exactly_after_kill9(self):
        c = self.d.client()
        rid = c.call("run", self.spec())["id"]
        c.close()
        self.wait_iteration(rid, 180)
        before, resumed = self.kill_and_resume(rid)
        self.assert_resumed_within(before, resumed, 50)
        h = self.finish(rid)
        self.assertEqual(h["w0"], [(1, i, i * 0.5) for i in range(1, 601)])

    def test_a_name_the_spec_has_too(self):
        rid = self.d.client().call("run", self.spec(
            metrics=[{"name": "w0", "kind": "output", "field": "loss"}]))["id"]
        h = self.finish(rid)
        self.assertEqual(h["w0"], [(1, i, 1.0) for i in range(1, 601)])
        c = self.d.client()
        lines = [l["message"] for l in c.call("logs", {"id": rid})["lines"]]
        c.close()
        self.assertEqual(sum("the worker reports w0" in l for l in lines), 1, lines)


class TestSlowState(ScheduleCase):
    """A worker that does not give its state holds up its own run only."""

    def max_ping(self, seconds):
        c = self.d.client()
        worst, end = 0.0, time.time() + seconds
        while time.time() < end:
            t = time.time()
            c.call("ping")
            worst = max(worst, time.time() - t)
            time.sleep(0.01)
        c.close()
        return worst

    def test_hanging_state_dict_times_out_and_the_daemon_serves(self):
        c = self.d.client()
        rid = c.call("run", slow_spec(1, 100, {"every": 5}, "hang-state",
                                      timeout_ms=3000))["id"]
        self.wait_iteration(rid, 5)
        # the worker sits in state_dict for 3 s: the loop must not
        self.assertLess(self.max_ping(1.5), 0.5)
        st = wait_status(c, rid, ("failed", "completed"), 30)
        self.assertEqual(st["status"], "failed")
        self.assertIn("no answer to state_dict within 3000 ms", st["reason"])
        c.close()

    def test_sigterm_does_not_wait_for_a_hanging_worker_forever(self):
        c = self.d.client()
        rid = c.call("run", slow_spec(1, 100, {"every": 5}, "hang-state",
                                      timeout_ms=3600000))["id"]
        c.close()
        self.wait_iteration(rid, 5)
        self.assertLess(self.max_ping(0.5), 0.5)
        self.d.signal(signal.SIGTERM)
        self.assertEqual(self.d.wait(60), 0)
        self.assertIn("did not give its state within", self.d.logtext())

    def test_timeout_is_bounded(self):
        c = self.d.client()
        with self.assertRaises(RPCError) as e:
            c.call("run", slow_spec(1, 10, {}, timeout_ms=3600001))
        self.assertEqual(e.exception.code, INVALID_PARAMS)
        self.assertIn("worker.timeout_ms", e.exception.message)
        c.close()


ONCE_WORKER = """
import os, sys, time
import ignite_worker
marker = sys.argv[1]
if os.path.exists(marker):
    time.sleep(2)               # the second life starts slowly
else:
    open(marker, "w").close()


def process(engine, batch):
    time.sleep(0.005)
    if engine.state.iteration == 20 and not os.path.exists(marker + ".died"):
        open(marker + ".died", "w").close()
        os._exit(3)
    return {}


ignite_worker.serve(process)
"""


class TestShutdownKeeps(ScheduleCase):
    """A SIGTERM does not undo what was asked before it, nor wait for a run
    whose worker was restarting to finish."""

    def test_a_pause_asked_before_a_sigterm_survives_it(self):
        c = self.d.client()
        rid = c.call("run", slow_spec(400, 1000, {"every": 1000}))["id"]
        self.wait_iteration(rid, 2)
        # the answer comes while the run finishes its iteration
        self.assertIn(c.call("pause", {"id": rid})["status"], ("running", "paused"))
        c.close()
        self.d.signal(signal.SIGTERM)
        self.assertEqual(self.d.wait(60), 0)
        self.d.start()
        c = self.d.client()
        self.assertEqual(c.call("status", {"id": rid})["status"], "paused")
        paused = logged_iterations(c, rid, "paused")[-1]
        self.assertEqual(c.call("status", {"id": rid})["iteration"], paused)
        c.call("terminate", {"id": rid})
        c.close()

    def test_a_worker_restarting_at_the_sigterm_stops_with_the_daemon(self):
        marker = os.path.join(self.d.dir, "once")
        script = os.path.join(self.d.dir, "once_worker.py")
        with open(script, "w") as f:
            f.write(ONCE_WORKER)
        # a data file large enough that building the run again takes a
        # while: the SIGTERM comes in the middle of it
        data = os.path.join(self.d.dir, "big.csv")
        with open(data, "w") as f:
            f.write("x,y\n")
            f.writelines("%d,%d\n" % (i, i % 2) for i in range(2000000))
        c = self.d.client()
        rid = c.call("run", {"engine": [PY, script, marker],
                             "data": {"kind": "csv", "path": data, "label": "y"},
                             "max_epochs": 1, "checkpoint": {"every": 10},
                             "worker": {"env": PYPATH, "max_restarts": 1}})["id"]
        wait_for_line = time.time() + 60
        while not any(l["message"].startswith("restart 1 of 1")
                      for l in c.call("logs", {"id": rid})["lines"]):
            self.assertLess(time.time(), wait_for_line, "the worker was never restarted")
            time.sleep(0.01)
        c.close()
        # the new worker is still sleeping in its start: the SIGTERM comes
        # while the run is being rebuilt, and must not be forgotten there
        self.d.signal(signal.SIGTERM)
        self.assertEqual(self.d.wait(60), 0)
        self.d.start()
        c = self.d.client()
        # it stopped for the shutdown, where it resumes, rather than run on
        # until the shutdown's grace ran out
        stopped = logged_iterations(c, rid, "stopped for the daemon's shutdown")
        self.assertEqual(len(stopped), 1, log_lines(c, rid))
        self.assertEqual(resumed_after_restart(c, rid)[-1], stopped[0])
        c.call("terminate", {"id": rid})
        c.close()


class TestSlowStore(ScheduleCase):
    """A store slow to commit (a WAL checkpoint's fsync on a busy disk
    takes seconds; here another connection holds the database's write
    lock) holds up the runs at their next checkpoint: a run that went on
    would take checkpoints into the writer's queue only, and a crash would
    lose everything since the store stopped, however often its policy asks
    for one.  The crash trials saw an exec run resume 300 iterations back
    after a SIGTERM restart that way."""

    HOLD_S = 1.5            # well within the writer's 5 s busy timeout

    def status(self, c, rid):
        return c.call("status", {"id": rid})["iteration"]

    def committed(self, rid):
        db = sqlite3.connect("file:%s?mode=ro" % self.d.db, uri=True)
        try:
            return db.execute("SELECT max(iteration) FROM checkpoints WHERE run_id = ?",
                              (rid,)).fetchone()[0] or 0
        finally:
            db.close()

    def test_runs_wait_for_the_store_and_lose_only_their_policy(self):
        c = self.d.client()
        exe = c.call("run", numpy_spec(epochs=16, every=10))["id"]
        fast = c.call("run", {"engine": "builtin:noop", "data": "range:1000000000",
                              "checkpoint": {"every": 1000, "epoch_completed": False}})["id"]
        c.close()
        self.wait_iteration(exe, 30)
        # the sequence: a SIGTERM restart first
        self.d.signal(signal.SIGTERM)
        self.assertEqual(self.d.wait(60), 0)
        self.d.start()
        c = self.d.client()
        base = resumed_after_restart(c, exe)[-1]
        self.assertEqual(base, logged_iterations(c, exe, "stopped for the daemon's shutdown")[-1])
        # its checkpoints reach the store on the policy's points
        deadline = time.time() + 30
        while self.committed(exe) <= base + 20 and time.time() < deadline:
            time.sleep(0.01)
        self.assertGreater(self.committed(exe), base + 20)
        at = self.committed(exe)
        # every 10 counts from the last checkpoint, and epoch ends (57
        # iterations an epoch) checkpoint too
        since = max(base, at // 57 * 57)
        self.assertTrue((at - since) % 10 == 0, (base, at))

        lock = sqlite3.connect(self.d.db, timeout=10, isolation_level=None)
        self.addCleanup(lock.close)
        lock.execute("BEGIN IMMEDIATE")
        time.sleep(self.HOLD_S / 3)
        held = {r: self.status(c, r) for r in (exe, fast)}
        time.sleep(self.HOLD_S * 2 / 3)
        # both wait at their next checkpoint for the store
        self.assertEqual({r: self.status(c, r) for r in (exe, fast)}, held)
        c.close()
        self.d.kill9()
        lock.execute("ROLLBACK")
        self.d.start()
        c = self.d.client()
        resumed = resumed_after_restart(c, exe, 2)[-1]
        # one checkpoint on its way to the store, one period, the iteration
        # in flight: no more
        self.assertGreaterEqual(resumed, held[exe] - 2 * 10 - 1, (held, resumed))
        self.assertGreater(resumed, base)
        st = wait_status(c, exe, ("completed", "failed"))
        self.assertEqual(st["status"], "completed", st.get("reason"))
        c.call("terminate", {"id": fast})
        c.close()


if __name__ == "__main__":
    IGNITED = os.path.abspath(sys.argv.pop(1))
    unittest.main()
