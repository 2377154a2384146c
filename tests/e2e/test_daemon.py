#!/usr/bin/python3
"""End-to-end tests of ignited over its socket: a real daemon on a temporary
socket and database per test class.

usage: test_daemon.py IGNITED [unittest args]
"""

import os
import signal
import sqlite3
import statistics
import struct
import sys
import threading
import time
import unittest

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon import (DIGITS, PY, SRC, Daemon, DaemonCase, RPCError, as_nobody,  # noqa: E402
                    history, logged_iterations, numpy_spec, rate, resumed_after_restart,
                    softmax_spec, wait_for, wait_status)

BAD_WORKER = os.path.join(SRC, "tests", "workers", "bad_worker.py")

IGNITED = None

INVALID_PARAMS, NOT_FOUND, PERMISSION_DENIED, CONFLICT = 3, 4, 5, 6


class TestTraining(DaemonCase):
    def test_softmax_reaches_real_accuracy(self):
        rid = self.run_spec(softmax_spec(name="digits", epochs=8))
        st = wait_status(self.c, rid, ("completed", "failed"))
        self.assertEqual(st["status"], "completed", st.get("reason"))
        self.assertEqual(st["epoch"], 8)
        self.assertEqual(st["iteration"], 8 * st["epoch_length"])
        # 1797 digits, 20% held out, batches of 32: 45 batches an epoch
        self.assertEqual(st["epoch_length"], 45)
        self.assertGreater(st["metrics"]["val_acc"], 0.9)
        h = history(self.c, "digits")
        self.assertEqual([p[0] for p in h["val_acc"]], list(range(1, 9)))
        self.assertEqual([p[1] for p in h["loss"]], [45 * e for e in range(1, 9)])
        self.assertEqual(len(h["loss_avg"]), 8 * 45)
        self.assertLess(h["loss"][-1][2], h["loss"][0][2])
        sd = self.c.call("state_dict", {"id": rid})
        self.assertEqual(sd, {"iteration": 360, "epoch_length": 45, "max_epochs": 8})

    def test_meanstd_gives_mean_and_std_per_column(self):
        rows = [(1.0, 10.0), (2.0, 20.0), (4.0, 10.0), (8.0, 30.0), (16.0, 10.0)]
        path = os.path.join(self.d.dir, "cols.csv")
        with open(path, "w") as f:
            f.write("a,b\n" + "".join("%g,%g\n" % r for r in rows))
        metrics = []
        for j in (0, 1):
            for field in ("mean.%d" % j, "mean2.%d" % j):
                metrics.append({"name": field.replace(".", "_"), "kind": "average",
                                "field": field})
        rid = self.run_spec({"engine": "builtin:meanstd",
                             "data": {"kind": "csv", "path": path, "batch_size": 2},
                             "metrics": metrics})
        st = wait_status(self.c, rid, ("completed", "failed"))
        self.assertEqual(st["status"], "completed", st.get("reason"))
        for j in (0, 1):
            col = [r[j] for r in rows]
            self.assertAlmostEqual(st["metrics"]["mean_%d" % j], statistics.fmean(col))
            self.assertAlmostEqual(st["metrics"]["std.%d" % j], statistics.pstdev(col))
        self.assertEqual(len(history(self.c, rid)["std.1"]), 1)

    def test_metrics_downsampling_and_ranges(self):
        rid = self.run_spec(softmax_spec(epochs=4))
        wait_status(self.c, rid, ("completed",))
        # PROTOCOL.md: max_points evenly spread, always keeping the last.
        # The iterations 1..180 fall in 10 buckets of 18 and each keeps its
        # last point: the 18th, 36th, ... 180th, as they are in the history.
        full = {p[1]: p for p in history(self.c, rid, names=["loss_avg"])["loss_avg"]}
        h = history(self.c, rid, names=["loss_avg"], max_points=10)
        self.assertEqual(list(h), ["loss_avg"])
        self.assertEqual(h["loss_avg"], [full[18 * k] for k in range(1, 11)])
        h = history(self.c, rid, names=["loss_avg"], max_points=1)
        self.assertEqual(h["loss_avg"], [full[180]])
        h = history(self.c, rid, names=["loss_avg"], max_points=180)
        self.assertEqual(h["loss_avg"], [full[i] for i in range(1, 181)])
        h = history(self.c, rid, names=["loss_avg"], max_points=7, **{"from": 11, "to": 80})
        # 11..80: 7 buckets of 10, each ending on a multiple of 10
        self.assertEqual(h["loss_avg"], [full[i] for i in range(20, 81, 10)])
        h = history(self.c, rid, names=["loss_avg"], **{"from": 10, "to": 19})
        self.assertEqual([p[1] for p in h["loss_avg"]], list(range(10, 20)))
        h = history(self.c, rid, axis="epoch", **{"from": 2, "to": 3})
        self.assertEqual(sorted({p[0] for p in h["loss"]}), [2, 3])

    def test_list_and_status_by_name(self):
        rid = self.run_spec(softmax_spec(name="listed", epochs=1))
        wait_status(self.c, "listed", ("completed",))
        page = self.c.call("list")
        self.assertIsNone(page["next"])
        runs = page["runs"]
        self.assertEqual([r["id"] for r in runs], [rid])
        self.assertEqual(runs[0]["name"], "listed")
        self.assertEqual(runs[0]["owner"], os.getuid())
        self.assertEqual(self.c.call("list", {"status": ["running"]})["runs"], [])
        with self.assertRaises(RPCError) as e:
            self.c.call("status", {"id": "nosuch"})
        self.assertEqual(e.exception.code, NOT_FOUND)


class TestHistoryPages(unittest.TestCase):
    """A history larger than a frame comes in pages, each ending where the
    next begins: every point once, in order."""

    def test_pages_cover_the_history_exactly(self):
        d = Daemon(IGNITED, extra=["--max-frame", "65536"]).start()
        self.addCleanup(d.remove)
        c = d.client()
        rid = c.call("run", softmax_spec(epochs=30))["id"]
        wait_status(c, rid, ("completed",))
        pages, params, got = 0, {"id": rid}, {}
        while True:
            res = c.call("metrics", params)
            pages += 1
            for name, cols in res["series"].items():
                n = len(cols["iteration"]) // 8
                got.setdefault(name, []).extend(struct.unpack(">%dQ" % n, cols["iteration"]))
            if res["next"] is None:
                break
            params["from"] = res["next"]
        self.assertGreater(pages, 1)
        self.assertEqual(got["loss_avg"], list(range(1, 30 * 45 + 1)))
        self.assertEqual(got["val_acc"], [45 * e for e in range(1, 31)])
        c.close()

    def test_pages_never_split_an_axis_value(self):
        """Every point of an iteration (by iteration) or of an epoch (by
        epoch), whatever its series, is in the same page: a page holds all
        points from its `from` up to before its `next`."""
        d = Daemon(IGNITED, extra=["--max-frame", "65536"]).start()
        self.addCleanup(d.remove)
        c = d.client()
        self.addCleanup(c.close)
        rid = c.call("run", softmax_spec(epochs=30))["id"]
        wait_status(c, rid, ("completed",))
        for axis, col in (("iteration", "iteration"), ("epoch", "epoch")):
            page_of, params, pages = {}, {"id": rid, "axis": axis}, 0
            while True:
                res = c.call("metrics", params)
                lo = params.get("from", 0)
                for name, cols in res["series"].items():
                    n = len(cols[col]) // 8
                    for v in struct.unpack(">%dQ" % n, cols[col]):
                        self.assertGreaterEqual(v, lo)
                        if res["next"] is not None:
                            self.assertLess(v, res["next"])
                        page_of.setdefault(v, set()).add(pages)
                pages += 1
                if res["next"] is None:
                    break
                params["from"] = res["next"]
            self.assertGreater(pages, 1, axis)
            split = {v: p for v, p in page_of.items() if len(p) > 1}
            self.assertEqual(split, {}, axis)

    def test_history_is_read_off_the_loop(self):
        """metrics is answered after a ping sent behind it (the read runs
        on the threadpool); more than 64 requests waiting on one
        connection are refused at once, the others answered."""
        d = Daemon(IGNITED).start()
        self.addCleanup(d.remove)
        c = d.client()
        rid = c.call("run", softmax_spec(epochs=30))["id"]
        wait_status(c, rid, ("completed",))

        def frame(msgid, method, params):
            body = msgpack.packb([0, msgid, method, params], use_bin_type=True)
            return struct.pack(">I", len(body)) + body

        c.send_raw(frame(1001, "metrics", {"id": rid}) + frame(1002, "ping", {}))
        order = [c.read()[1] for _ in range(2)]
        self.assertEqual(order, [1002, 1001])

        c.send_raw(b"".join(frame(2000 + i, "metrics", {"id": rid}) for i in range(100)))
        answers = {}
        for _ in range(100):
            m = c.read()
            answers[m[1]] = m[2]
        self.assertEqual(sorted(answers), list(range(2000, 2100)))
        refused = [i for i, err in answers.items() if err is not None]
        self.assertEqual(len(refused), 100 - 64)
        self.assertTrue(all(answers[i]["code"] == 7 for i in refused))
        self.assertIn("wait for their answers", answers[refused[0]]["message"])
        self.assertIsNone(c.call("ping"))
        c.close()

    def test_answers_in_order_but_the_late_ones(self):
        """Pipelined, every method PROTOCOL.md says answers in order does,
        errors included; run's and metrics' answers are the late ones."""
        d = Daemon(IGNITED).start()
        self.addCleanup(d.remove)
        c = d.client()
        self.addCleanup(c.close)
        rid = c.call("run", softmax_spec(epochs=2))["id"]
        wait_status(c, rid, ("completed",))

        def frame(msgid, method, params):
            body = msgpack.packb([0, msgid, method, params], use_bin_type=True)
            return struct.pack(">I", len(body)) + body

        in_order = [("ping", {}), ("status", {"id": rid}), ("list", {}),
                    ("state_dict", {"id": rid}), ("logs", {"id": rid}),
                    ("pause", {"id": rid}), ("terminate_epoch", {"id": rid}),
                    ("terminate", {"id": rid}), ("resume", {"id": rid}),
                    ("status", {"id": 99999}), ("watch", {"id": rid}),
                    ("unwatch", {"id": rid}), ("delete", {"id": 99999})]
        c.send_raw(b"".join(frame(3000 + i, m, p) for i, (m, p) in enumerate(in_order)))
        got = []
        while len(got) < len(in_order):
            m = c.read()
            if m[0] == 1:                   # answers, not notifications
                got.append(m[1])
        self.assertEqual(got, list(range(3000, 3000 + len(in_order))))


class TestLogReopen(unittest.TestCase):
    def test_sighup_reopens_the_log_file(self):
        d = Daemon(IGNITED)
        logfile = os.path.join(d.dir, "ignited-file.log")
        d.extra = ["--log-file", logfile]
        d.start()
        self.addCleanup(d.remove)
        os.rename(logfile, logfile + ".1")         # as logrotate does
        d.signal(signal.SIGHUP)
        c = d.client()
        deadline = time.time() + 10
        while not os.path.exists(logfile) and time.time() < deadline:
            c.call("ping")
            time.sleep(0.01)
        rid = c.call("run", {"engine": "builtin:noop", "data": "range:3"})["id"]
        wait_status(c, rid, ("completed",))
        c.close()
        with open(logfile) as f:
            text = f.read()
        self.assertIn("run %d" % rid, text)
        with open(logfile + ".1") as f:
            self.assertNotIn("run %d" % rid, f.read())


class TestBadSpecs(DaemonCase):
    CASES = [
        ({"engine": "builtin:nosuch", "data": "range:3"}, "engine"),
        ({"engine": "builtin:noop", "data": "csv:/nonexistent/file.csv"}, "data.path"),
        ({"engine": "builtin:noop", "data": "range:3", "max_epochs": -1}, "max_epochs"),
        ({"engine": "builtin:noop", "data": "range:3", "colour": "blue"}, "colour"),
        ({"engine": "builtin:softmax", "params": {"classes": 10},
          "data": {"kind": "csv", "path": DIGITS, "header": False, "label": "nosuch"}},
         "label"),
        ({"engine": "builtin:noop", "data": "range:3",
          "handlers": [{"event": "NOT_AN_EVENT", "action": "log"}]}, "handlers[0].event"),
        ({"engine": "builtin:noop", "data": "range:3",
          "state_dict": {"iteration": 1}}, "state_dict"),
    ]

    def test_each_bad_spec_is_refused_and_nothing_stored(self):
        for spec, field in self.CASES:
            with self.subTest(field=field):
                with self.assertRaises(RPCError) as e:
                    self.c.call("run", spec)
                self.assertEqual(e.exception.code, INVALID_PARAMS, e.exception.message)
                self.assertIn(field, e.exception.message)
        self.assertEqual(self.c.call("list")["runs"], [])
        # and the daemon serves on
        rid = self.run_spec({"engine": "builtin:noop", "data": "range:5"})
        self.assertEqual(wait_status(self.c, rid, ("completed",))["iteration"], 5)


class TestControl(DaemonCase):
    def wait_iteration(self, rid, target, timeout=60):
        deadline = time.time() + timeout
        while self.c.call("status", {"id": rid})["iteration"] < target:
            self.assertLess(time.time(), deadline)
            time.sleep(0.01)

    def slow(self, **kw):
        spec = {"engine": "builtin:sleep", "params": {"ms": 2}, "data": "range:100",
                "max_epochs": 5}
        spec.update(kw)
        return self.run_spec(spec)

    def test_terminate(self):
        rid = self.slow()
        self.wait_iteration(rid, 5)
        self.assertEqual(self.c.call("terminate", {"id": rid})["id"], rid)
        st = wait_status(self.c, rid, ("terminated", "completed"))
        self.assertEqual(st["status"], "terminated")
        self.assertLess(st["iteration"], 500)
        with self.assertRaises(RPCError) as e:
            self.c.call("terminate", {"id": rid})
        self.assertEqual(e.exception.code, CONFLICT)

    def test_terminate_paused_at_once(self):
        """PROTOCOL.md: a paused run is terminated at once: the answer says
        terminated and the run is never seen running again."""
        for spec in ({"engine": "builtin:sleep", "params": {"ms": 2}, "data": "range:100",
                      "max_epochs": 5},
                     numpy_spec(epochs=20)):
            rid = self.run_spec(spec)
            w = self.d.client()
            self.addCleanup(w.close)
            w.call("watch", {"id": rid})
            self.wait_iteration(rid, 5)
            self.c.call("pause", {"id": rid})
            it = wait_status(self.c, rid, ("paused",))["iteration"]
            r = self.c.call("terminate", {"id": rid})
            self.assertEqual((r["id"], r["status"]), (rid, "terminated"))
            st = self.c.call("status", {"id": rid})
            self.assertEqual((st["status"], st["iteration"]), ("terminated", it))
            statuses = []
            while not statuses or statuses[-1] != "terminated":
                note = w.next_note()
                if note[1] == "status":
                    statuses.append(note[2]["status"])
            self.assertEqual(statuses, ["paused", "terminated"])

    def test_logs_tell_the_lifecycle(self):
        """PROTOCOL.md logs: every run's log has its lifecycle, each line
        {id, time, message}, without any log handler in the spec."""
        rid = self.slow()
        self.wait_iteration(rid, 5)
        self.c.call("pause", {"id": rid})
        wait_status(self.c, rid, ("paused",))
        self.c.call("resume", {"id": rid})
        self.c.call("terminate", {"id": rid})
        wait_status(self.c, rid, ("terminated",))
        lines = self.c.call("logs", {"id": rid})["lines"]
        for l in lines:
            self.assertEqual(set(l), {"id", "time", "message"})
            self.assertEqual(l["id"], rid)
        text = [l["message"] for l in lines]
        # a paused run holds no job: its resume, asked, builds it again
        want = ["started by uid 0: sleep", "pause asked by uid 0", "paused at epoch",
                "resume asked by uid 0", "resumed at epoch", "terminate asked by uid 0",
                "terminated at epoch"]
        at = 0
        for w in want:
            while at < len(text) and not text[at].startswith(w):
                at += 1
            self.assertLess(at, len(text), "no %r in order in %r" % (w, text))

    def test_checkpoints_by_count_land_on_their_iterations(self):
        """A fast engine crosses many checkpoint iterations in one slice;
        the one taken is still on a multiple of `every` (PROTOCOL.md)."""
        rid = self.run_spec({"engine": "builtin:noop", "data": "range:1000000000",
                             "checkpoint": {"every": 1000, "epoch_completed": False}})
        db = sqlite3.connect("file:%s?mode=ro" % self.d.db, uri=True)
        self.addCleanup(db.close)
        seen = set()
        deadline = time.time() + 20
        while len(seen) < 3 and time.time() < deadline:
            seen.update(r[0] for r in db.execute(
                "SELECT iteration FROM checkpoints WHERE run_id = ?", (rid,)))
            time.sleep(0.05)
        self.c.call("terminate", {"id": rid})
        self.assertGreaterEqual(len(seen), 3)
        self.assertEqual([i for i in seen if i % 1000 != 0], [])
        self.assertNotIn(0, seen)

    def test_terminate_epoch(self):
        rid = self.slow(max_epochs=2)
        self.wait_iteration(rid, 5)
        self.c.call("terminate_epoch", {"id": rid})
        st = wait_status(self.c, rid, ("completed",))
        self.assertEqual(st["epoch"], 2)
        self.assertLess(st["iteration"], 200)

    def test_pause_and_resume(self):
        """resume continues exactly where pause stopped: the state there,
        then the history of a run never paused, point for point."""
        EPOCHS = 200            # long enough to be paused well before its end
        ref = self.run_spec(softmax_spec(epochs=EPOCHS))
        wait_status(self.c, ref, ("completed",))
        rid = self.run_spec(softmax_spec(epochs=EPOCHS))
        self.wait_iteration(rid, 100)
        self.c.call("pause", {"id": rid})
        st = wait_status(self.c, rid, ("paused", "completed"))
        self.assertEqual(st["status"], "paused")
        it = st["iteration"]
        self.assertLess(it, EPOCHS * 45)
        self.assertEqual(self.c.call("state_dict", {"id": rid})["iteration"], it)
        self.c.call("resume", {"id": rid})
        st = wait_status(self.c, rid, ("completed",))
        self.assertEqual(st["iteration"], EPOCHS * 45)
        self.assertEqual(logged_iterations(self.c, rid, "paused"), [it])
        self.assertEqual(logged_iterations(self.c, rid, "resumed"), [it])
        self.assertEqual(history(self.c, rid), history(self.c, ref))

    def test_resume_finished_with_more_epochs(self):
        rid = self.run_spec({"engine": "builtin:noop", "data": "range:10", "max_epochs": 2})
        wait_status(self.c, rid, ("completed",))
        with self.assertRaises(RPCError) as e:
            self.c.call("resume", {"id": rid})
        self.assertEqual(e.exception.code, CONFLICT)
        self.c.call("resume", {"id": rid, "max_epochs": 3})
        st = wait_status(self.c, rid, ("completed",))
        self.assertEqual((st["epoch"], st["iteration"]), (3, 30))

    def test_delete_only_finished(self):
        rid = self.slow()
        with self.assertRaises(RPCError) as e:
            self.c.call("delete", {"id": rid})
        self.assertEqual(e.exception.code, CONFLICT)
        self.c.call("terminate", {"id": rid})
        wait_status(self.c, rid, ("terminated",))
        self.c.call("delete", {"id": rid})
        self.assertEqual(self.c.call("list")["runs"], [])

    def test_watch_streams_events_progress_and_status(self):
        # long enough that the watch is in place well before the end
        rid = self.run_spec(softmax_spec(epochs=300))
        w = self.d.client()
        self.addCleanup(w.close)
        w.call("watch", {"id": rid})
        seen = set()
        while True:
            note = w.next_note()
            method, params = note[1], note[2]
            seen.add(method if method != "event" else params["event"])
            if method == "status" and params["status"] == "completed":
                break
            if method == "progress":
                self.assertEqual(set(params), {"id", "epoch", "iteration", "epoch_length",
                                               "max_epochs", "rate", "eta"})
                self.assertEqual((params["id"], params["epoch_length"], params["max_epochs"]),
                                 (rid, 45, 300))
        self.assertIn("EPOCH_COMPLETED", seen)
        self.assertIn("metrics", seen)
        self.assertIn("progress", seen)


class TestDataOffTheLoop(DaemonCase):
    """A run's data file is opened and parsed off the loop, when the run is
    created and when its job is built again (a worker restarted, an ended
    run resumed): pings are answered meanwhile."""

    ROWS = 300000

    def big_csv(self):
        path = os.path.join(self.d.dir, "big.csv")
        with open(path, "w") as f:
            f.write((",".join(["0.123456"] * 16) + ",1\n") * self.ROWS)
        return {"kind": "csv", "path": path, "header": False, "label": 16}

    def worst_ping_during(self, action):
        """The slowest ping while action() runs, and how long it took."""
        worst, pings, stop = [0.0], [0], threading.Event()

        def pinger():
            p = self.d.client()
            while not stop.is_set():
                t = time.time()
                p.call("ping")
                worst[0] = max(worst[0], time.time() - t)
                pings[0] += 1
            p.close()
        th = threading.Thread(target=pinger)
        th.start()
        try:
            while pings[0] < 3:
                time.sleep(0.001)
            t = time.time()
            action()
            return worst[0], time.time() - t
        finally:
            stop.set()
            th.join()

    def test_a_new_run_reads_its_data_off_the_loop(self):
        data = self.big_csv()
        rid = []
        worst, took = self.worst_ping_during(
            lambda: rid.append(self.run_spec({"engine": "builtin:noop", "data": data})))
        self.assertEqual(self.c.call("status", {"id": rid[0]})["epoch_length"], self.ROWS)
        self.assertLess(worst, took / 4, (worst, took))

    def test_a_restarted_worker_and_a_resumed_run_read_it_off_the_loop(self):
        spec = {"engine": [PY, BAD_WORKER, "crash"], "data": self.big_csv(),
                "max_epochs": 1, "epoch_length": 10, "worker": {"max_restarts": 2}}
        rid = self.run_spec(spec)

        def restarts():
            st = wait_status(self.c, rid, ("failed", "completed"))
            self.assertEqual(st["status"], "failed")
        worst, took = self.worst_ping_during(restarts)
        lines = [l["message"] for l in self.c.call("logs", {"id": rid})["lines"]]
        self.assertTrue(any(l.startswith("restart 2 of 2") for l in lines), lines)
        self.assertLess(worst, took / 4, (worst, took))

        done = self.run_spec({"engine": "builtin:noop", "data": self.big_csv(),
                              "epoch_length": 10})
        wait_status(self.c, done, ("completed",))
        answer = []
        worst, took = self.worst_ping_during(lambda: answer.append(
            self.c.call("resume", {"id": done, "max_epochs": 2})))
        self.assertEqual(answer[0]["status"], "running")
        self.assertLess(worst, took / 4, (worst, took))
        st = wait_status(self.c, done, ("completed",))
        self.assertEqual((st["epoch"], st["iteration"]), (2, 20))


class TestPermissions(DaemonCase):
    def test_other_uid_is_denied(self):
        if os.getuid() != 0:
            self.skipTest("needs root to act as another uid")
        rid = self.run_spec({"engine": "builtin:sleep", "params": {"ms": 5},
                             "data": "range:1000"})

        def check(c):
            denied = 0
            # watch is anyone's (test_visibility.py TestWatch)
            verbs = ("terminate", "terminate_epoch", "state_dict", "pause", "resume", "delete")
            for m in verbs:
                try:
                    c.call(m, {"id": rid})
                except RPCError as e:
                    denied += e.code == PERMISSION_DENIED
            return denied == len(verbs) and c.call("status", {"id": rid})["status"] == "running"
        self.assertEqual(as_nobody(self.d, check), 0)
        self.c.call("terminate", {"id": rid})


def code_of(c, method, params):
    """The error code c gets for this request (0: none)."""
    try:
        c.call(method, params)
    except RPCError as e:
        return e.code
    return 0


class TestErrorPrecedence(DaemonCase):
    """When two errors apply, the first of: params (3), existence (4),
    permission (5), the run's state (6) wins (PROTOCOL.md, Errors)."""

    SLEEP = {"engine": "builtin:sleep", "params": {"ms": 5}, "data": "range:1000"}

    def test_params_before_existence(self):
        for method, params in (("terminate", {"id": 99999, "bogus": 1}),
                               ("pause", {"id": "no-such-run", "bogus": 1}),
                               ("resume", {"id": 99999, "max_epochs": 0}),
                               ("metrics", {"id": 99999, "axis": "sideways"}),
                               ("logs", {"id": 99999, "tail": 0}),
                               ("status", {"id": -1})):
            self.assertEqual(code_of(self.c, method, params), INVALID_PARAMS,
                             (method, params))
            self.assertEqual(code_of(self.c, method, {"id": 99999}), NOT_FOUND, method)

    def test_params_then_state(self):
        """A bad param of a run whose state also forbids the request: 3.
        A valid request the state forbids, with a value that would be
        wrong too (max_epochs below the epoch of a running run): 6."""
        rid = self.run_spec(dict(self.SLEEP, name="taken"))
        done = self.run_spec(softmax_spec(epochs=1))
        wait_status(self.c, done, ("completed",))
        self.assertEqual(code_of(self.c, "terminate", {"id": done, "bogus": 1}),
                         INVALID_PARAMS)
        self.assertEqual(code_of(self.c, "run", dict(self.SLEEP, name="taken",
                                                     bogus=1)), INVALID_PARAMS)
        self.assertEqual(code_of(self.c, "resume", {"id": rid, "max_epochs": 1}),
                         CONFLICT)
        self.assertEqual(code_of(self.c, "resume", {"id": done, "max_epochs": 1}),
                         INVALID_PARAMS)
        self.c.call("terminate", {"id": rid})

    def test_permission_before_state(self):
        if os.getuid() != 0:
            self.skipTest("needs root to act as another uid")
        done = self.run_spec(softmax_spec(epochs=1))
        running = self.run_spec(self.SLEEP)
        wait_status(self.c, done, ("completed",))

        def check(c):
            got = [code_of(c, "terminate", {"id": done}),          # 5, not 6
                   code_of(c, "pause", {"id": done}),              # 5, not 6
                   code_of(c, "resume", {"id": running}),          # 5, not 6
                   code_of(c, "delete", {"id": running}),          # 5, not 6
                   code_of(c, "resume", {"id": done, "max_epochs": 1}),  # 5, not 3
                   code_of(c, "terminate", {"id": done, "bogus": 1})]  # 3, not 5
            want = [PERMISSION_DENIED] * 5 + [INVALID_PARAMS]
            if got != want:
                print("codes %r, want %r" % (got, want), file=sys.stderr)
            return got == want
        self.assertEqual(as_nobody(self.d, check), 0)
        self.c.call("terminate", {"id": running})


class TestRestart(unittest.TestCase):
    """SIGTERM and kill -9 then restart: the run resumes with the history
    of an uninterrupted run, point for point."""

    EPOCHS = 40

    def setUp(self):
        self.d = Daemon(IGNITED).start()
        self.addCleanup(lambda: self.d.remove())

    def reference(self, c):
        rid = c.call("run", softmax_spec(name="ref", epochs=self.EPOCHS, every=7))["id"]
        wait_status(c, rid, ("completed",))
        self.rate = rate(c, rid, "loss_avg")
        return history(c, rid), c.call("state_dict", {"id": rid})

    def interrupted(self, sig, kills):
        c = self.d.client()
        ref_hist, ref_sd = self.reference(c)
        rid = c.call("run", softmax_spec(name="crash", epochs=self.EPOCHS, every=7))["id"]
        c.close()
        total = self.EPOCHS * 45
        for k in range(kills):
            # let it get somewhere, then stop it hard or softly
            target = total * (k + 1) // (kills + 1)
            c = self.d.client()
            deadline = time.time() + 60
            while True:
                st = c.call("status", {"id": rid})
                if st["iteration"] >= target or time.time() > deadline:
                    break
                time.sleep(0.005)
            if sig == signal.SIGKILL:
                self.d.kill9()
            else:
                self.d.signal(sig)
                self.assertEqual(self.d.wait(), 0, self.d.logtext())
            c.close()
            self.d.start()
            c = self.d.client()
            resumed = resumed_after_restart(c, rid, k + 1)[k]
            c.close()
            self.assert_resumed_near(sig, st, resumed)
        c = self.d.client()
        st = wait_status(c, rid, ("completed", "failed"))
        self.assertEqual(st["status"], "completed", st.get("reason"))
        got = history(c, rid)
        self.assertEqual(sorted(got), sorted(ref_hist))
        for name in ref_hist:
            self.assertEqual(got[name], ref_hist[name], "series %s differs" % name)
        self.assertEqual(c.call("state_dict", {"id": rid}), ref_sd)
        c.close()

    def assert_resumed_near(self, sig, st, resumed):
        """Where a run seen at st just before sig resumed: a SIGTERM
        checkpoints where the run stopped, at or after st; after a kill -9,
        PROTOCOL.md allows the 7 iterations of `every` plus 10 ms of work
        to be lost (at the rate of the reference run: softmax is fast
        enough that the 10 ms rule decides; twice that, for a commit in
        flight on a loaded machine)."""
        where = (sig, st["iteration"], resumed, self.rate)
        self.assertGreater(resumed, 0, "started over: %r" % (where,))
        if sig == signal.SIGTERM:
            self.assertGreaterEqual(resumed, st["iteration"], where)
        else:
            self.assertGreaterEqual(resumed, st["iteration"] - 7 - self.rate * 0.020, where)

    def test_sigterm_then_restart_resumes_identically(self):
        self.interrupted(signal.SIGTERM, 2)

    def test_kill9_then_restart_resumes_identically(self):
        self.interrupted(signal.SIGKILL, 3)

    def test_end_lost_after_its_last_checkpoint(self):
        """A crash after the last checkpoint (a finished state) but before
        the run's end is committed: the restarted daemon starts the run over,
        as Ignite's run() does on such a state, and ends with the same
        history, with no point left twice from the first pass."""
        c = self.d.client()
        rid = c.call("run", softmax_spec(name="lost", epochs=3, every=7))["id"]
        wait_status(c, rid, ("completed",))
        want, want_sd = history(c, rid), c.call("state_dict", {"id": rid})
        c.close()
        self.d.stop()
        db = sqlite3.connect(self.d.db)
        with db:
            db.execute("UPDATE runs SET status = 'running', finished = NULL WHERE id = ?", (rid,))
        last = db.execute("SELECT max(iteration) FROM checkpoints WHERE run_id = ?",
                          (rid,)).fetchone()[0]
        db.close()
        self.assertEqual(last, 3 * 45)
        self.d.start()
        c = self.d.client()
        st = wait_status(c, rid, ("completed", "failed", "paused"))
        self.assertEqual(st["status"], "completed", st.get("reason"))
        self.assertEqual(history(c, rid), want)
        self.assertEqual(c.call("state_dict", {"id": rid}), want_sd)
        c.close()
        self.assertNotIn("UNIQUE", self.d.logtext())


class TestFullDisk(unittest.TestCase):
    """The database fills up mid-run: the run pauses with the reason, the
    daemon serves on, and once there is room the run resumes from what was
    committed and ends with the history of an uninterrupted run."""

    def test_full_database_pauses_then_resumes_identically(self):
        ref = Daemon(IGNITED).start()
        self.addCleanup(ref.remove)
        c = ref.client()
        rid = c.call("run", softmax_spec(epochs=12, every=5))["id"]
        wait_status(c, rid, ("completed",))
        want, want_sd = history(c, rid), c.call("state_dict", {"id": rid})
        c.close()

        d = Daemon(IGNITED, extra=["--max-db-size", str(80 * 1024)]).start()
        self.addCleanup(d.remove)
        c = d.client()
        rid = c.call("run", softmax_spec(epochs=12, every=5))["id"]
        st = wait_status(c, rid, ("paused", "completed", "failed"))
        self.assertEqual(st["status"], "paused", st)
        self.assertIn("full", st["reason"])
        paused = st["iteration"]
        self.assertEqual(c.call("ping"), None)
        c.close()
        d.stop()
        committed = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True).execute(
            "SELECT max(iteration) FROM checkpoints WHERE run_id = ?", (rid,)).fetchone()[0]
        d.extra = []
        d.start()
        c = d.client()
        # its "paused" may not have fit in the full database either: then
        # the restarted daemon resumes it on its own
        if c.call("status", {"id": rid})["status"] == "paused":
            c.call("resume", {"id": rid})
        # from its last checkpoint that fitted, not from 0
        resumed = wait_for(lambda: logged_iterations(c, rid, "resumed"), "a resume")
        self.assertEqual(resumed[-1], committed)
        self.assertGreater(committed, 0)
        self.assertLessEqual(committed, paused)
        st = wait_status(c, rid, ("completed", "failed"))
        self.assertEqual(st["status"], "completed", st.get("reason"))
        self.assertEqual(history(c, rid), want)
        self.assertEqual(c.call("state_dict", {"id": rid}), want_sd)
        c.close()


if __name__ == "__main__":
    IGNITED = DaemonCase.ignited = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
