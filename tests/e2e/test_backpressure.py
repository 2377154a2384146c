#!/usr/bin/env python3
"""Bounded memory, bounded loss (issue 17, point 1).

Runs that record metrics faster than the store commits them are throttled
at the engine (status `throttled: store`) instead of growing the daemon's
memory; control requests are served meanwhile; the work a kill -9 loses
stays within PROTOCOL.md's bound at any metric rate, for a builtin, a
plugin and an exec worker; clients that never read are dropped, largest
first, before the daemon's memory grows with them.

usage: test_backpressure.py IGNITED   (IGNITE_PLUGIN: liblinreg.so)
"""
import os
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon import (DIGITS, Client, DaemonCase, numpy_spec, resumed_after_restart,  # noqa: E402
                    rss_kib, softmax_spec, wait_for, wait_iteration, wait_status)

IGNITED = IGNITECTL = BUILD = None
MIB = 1024


def sanitized():
    """An ASan build: its shadow memory and quarantine need room of their
    own, so memory limits are looser for it."""
    with open(IGNITED, "rb") as f:
        return b"AddressSanitizer" in f.read()


def ten_metrics(spec):
    """spec recording 10 series every iteration."""
    spec["metrics"] = [{"name": "avg%d" % i, "kind": "running_average", "field": "loss",
                        "alpha": 0.5 + i / 25} for i in range(10)]
    spec.pop("handlers", None)
    return spec


def loader(epochs=100000):
    """A softmax run recording 10 metrics every iteration, as fast as it can,
    that checkpoints only when asked."""
    spec = ten_metrics(softmax_spec(epochs=epochs))
    spec["data"]["split"] = 0
    spec["checkpoint"] = {"every": 1 << 40, "epoch_completed": False}
    return spec


class Locker:
    """Another connection that holds the database's write lock in turns
    (HOLD s of every HOLD + GAP), well within the writer's 5 s busy
    timeout: a writer as slow as a busy disk makes it.

    Closed only while the daemon is down: the last connection of another
    process to close deletes the WAL, which the daemon then takes for
    removed (and refuses writes)."""

    HOLD, GAP = 1.0, 0.25

    def __init__(self, path):
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None,
                                  check_same_thread=False)
        self.quit = threading.Event()
        self.held = 0
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.quit.is_set():
            self.db.execute("BEGIN IMMEDIATE")
            self.held += 1
            self.quit.wait(self.HOLD)
            self.db.execute("ROLLBACK")
            time.sleep(self.GAP)

    def stop(self):
        self.quit.set()
        self.t.join()

    def close(self):
        self.stop()
        self.db.close()


class TestBoundedMemory(DaemonCase):
    RUNS = 16
    SECONDS = 20
    LIMIT_MIB = 96

    def setUp(self):
        # an ASan build records too slowly to fill the default bound
        # within the test: a smaller one shows the same
        if sanitized():
            self.extra = ("--max-store-queue", str(1 << 20))
        super().setUp()

    def test_memory_bounded_runs_throttled_requests_served(self):
        """16 runs recording 10 metrics every iteration as fast as they can,
        for 20 s, with a writer slowed by another connection's write lock:
        the daemon's RSS stays under 96 MiB, runs show `throttled: store`,
        and pings are answered throughout."""
        limit = self.LIMIT_MIB * MIB
        pid = self.d.proc.pid
        ids = [self.c.call("run", loader())["id"] for _ in range(self.RUNS)]
        for rid in ids:
            wait_iteration(self.c, rid, 1)
        locker = Locker(self.d.db)
        peak, throttled, slowest_ping = 0, set(), 0.0
        end = time.time() + self.SECONDS
        while time.time() < end:
            peak = max(peak, rss_kib(pid))
            t = time.time()
            self.assertIsNone(self.c.call("ping"))
            slowest_ping = max(slowest_ping, time.time() - t)
            for r in self.c.call("list", {})["runs"]:
                if r.get("throttled") == "store":
                    self.assertEqual(r["status"], "running")
                    throttled.add(r["id"])
            time.sleep(0.05)
        locker.stop()
        self.assertGreater(locker.held, 0)
        # ASan's quarantine keeps up to 256 MiB of what was freed (CI saw
        # 449 MiB): there the throttling is checked, the bound by the
        # plain build
        if not sanitized():
            self.assertLess(peak, limit, "peak VmRSS %d KiB" % peak)
        self.assertTrue(throttled, "no run was ever throttled")
        self.assertLess(slowest_ping, 2.0)
        print("\n  %d runs x 10 metrics, %d s, writer slowed: peak VmRSS %d KiB, "
              "%d runs seen throttled, slowest ping %.0f ms"
              % (self.RUNS, self.SECONDS, peak, len(throttled), slowest_ping * 1e3),
              file=sys.stderr)
        # once the writer keeps up again, every run steps on
        for rid in ids:
            wait_for(lambda: self.c.call("status", {"id": rid}).get("throttled") is None,
                     "run %d to be throttled no more" % rid, 30)
            it = self.c.call("status", {"id": rid})["iteration"]
            wait_iteration(self.c, rid, it + 1)
        for rid in ids:
            self.c.call("terminate", {"id": rid})
        for rid in ids:
            wait_status(self.c, rid, ("terminated",), 60)
        self.d.stop()
        locker.close()


class TestThrottledStatus(DaemonCase):
    """A small --max-store-queue and a writer held: a run recording every
    iteration is throttled, its status says so, and it is not stepped while
    the lock is held; pause and terminate still reach it."""

    extra = ("--max-store-queue", "65536")

    def test_throttled_and_controllable(self):
        rid = self.c.call("run", loader())["id"]
        wait_iteration(self.c, rid, 1)
        lock = sqlite3.connect(self.d.db, timeout=10, isolation_level=None)
        self.addCleanup(lock.close)
        lock.execute("BEGIN IMMEDIATE")
        st = wait_for(lambda: (lambda s: s if s.get("throttled") == "store" else None)(
            self.c.call("status", {"id": rid})), "the run to be throttled", 4)
        self.assertEqual(st["status"], "running")
        for cmd in (["status", str(rid)], ["ls"]):
            out = subprocess.run([IGNITECTL, "--socket", self.d.socket] + cmd,
                                 capture_output=True, text=True, timeout=30).stdout
            self.assertIn("running (throttled: store)", out, cmd)
        # held while the writer is: at most a turn's points more
        time.sleep(0.3)
        a = self.c.call("status", {"id": rid})["iteration"]
        time.sleep(0.5)
        b = self.c.call("status", {"id": rid})["iteration"]
        self.assertEqual(a, b)
        self.c.call("pause", {"id": rid})
        lock.execute("ROLLBACK")
        wait_status(self.c, rid, ("paused",), 30)
        self.assertIsNone(self.c.call("status", {"id": rid}).get("throttled"))
        self.c.call("resume", {"id": rid})
        wait_iteration(self.c, rid, b + 1)
        self.c.call("terminate", {"id": rid})
        wait_status(self.c, rid, ("terminated",), 30)

    def test_bound_checked(self):
        """--max-store-queue under 64 KiB is refused."""
        p = subprocess.run([IGNITED, "--max-store-queue", "100", "--socket", "/nonexistent/x"],
                           capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--max-store-queue 100: expected a number from 65536", p.stderr)


class TestThrottledNotes(DaemonCase):
    """A run held by the store, then let go: its watchers are told both."""

    extra = ("--max-store-queue", str(1 << 20))

    def test_watchers_told(self):
        """Watchers get a status notification when the run is throttled
        and one when it is no longer (PROTOCOL.md, Notifications), its
        status running both times, and no flood of them meanwhile."""
        spec = loader()
        spec["metrics"] = spec["metrics"][:1]  # a pace the writer keeps
        rid = self.c.call("run", spec)["id"]
        wait_iteration(self.c, rid, 1)
        w = self.d.client()
        self.addCleanup(w.close)
        w.call("watch", {"id": rid})

        def next_status(want):
            deadline = time.monotonic() + 20
            seen = 0
            while time.monotonic() < deadline:
                m = w.next_note()
                if m[1] != "status":
                    continue
                seen += 1
                self.assertEqual(m[2]["status"], "running", m)
                if m[2].get("throttled") == want:
                    return seen
            self.fail("no status note with throttled %r" % (want,))

        lock = sqlite3.connect(self.d.db, timeout=10, isolation_level=None)
        self.addCleanup(lock.close)
        lock.execute("BEGIN IMMEDIATE")
        self.assertEqual(next_status("store"), 1)
        wait_for(lambda: self.c.call("status", {"id": rid}).get("throttled") == "store",
                 "status to show it throttled", 4)
        # let go, and the run held no more: told once it is calm
        lock.execute("ROLLBACK")
        w.sock.settimeout(30)
        next_status(None)
        self.c.call("terminate", {"id": rid})
        wait_status(self.c, rid, ("terminated",), 30)


class TestBoundedLoss(DaemonCase):
    EVERY = 200

    def plugin_spec(self):
        path = os.environ.get("IGNITE_PLUGIN") or os.path.join(
            BUILD, "examples", "plugin", "liblinreg.so")
        return {"engine": "plugin:" + path, "params": {"lr": 0.05},
                "data": {"kind": "csv", "path": DIGITS, "header": False, "label": 64,
                         "batch_size": 32, "scale": 16},
                "max_epochs": 100000, "seed": 1}

    def test_kill9_loses_at_most_the_bound(self):
        """A softmax run, a plugin run and an exec worker run, each with 10
        metrics every iteration and checkpoint {every: N}, beside loaders
        that keep the store's queue full; kill -9; each resumes at or
        after the last iteration a checkpoint was due at minus N (and the
        10 ms a fast engine is not held up for: PROTOCOL.md)."""
        n = self.EVERY
        specs = {
            "builtin": softmax_spec(epochs=100000),
            "plugin": self.plugin_spec(),
            "exec": numpy_spec(epochs=100000),
        }
        ids = {}
        for kind, spec in specs.items():
            spec = ten_metrics(spec)
            spec["checkpoint"] = {"every": n, "epoch_completed": False}
            ids[kind] = self.c.call("run", spec)["id"]
        for _ in range(8):
            self.c.call("run", loader())
        for kind, rid in ids.items():
            wait_iteration(self.c, rid, 3 * n, 120)
        locker = Locker(self.d.db)
        try:
            time.sleep(2)
            seen = {kind: self.c.call("status", {"id": rid}) for kind, rid in ids.items()}
            self.d.kill9()
        finally:
            locker.close()
        self.d.start()
        c = self.d.client()
        self.addCleanup(c.close)
        for kind, rid in ids.items():
            resumed = resumed_after_restart(c, rid)[-1]
            st = seen[kind]
            due = st["iteration"] // n * n
            slack = int(st["rate"] * 0.01) + 1
            self.assertGreaterEqual(resumed, due - n - slack, (kind, st["iteration"], resumed))
            print("\n  %s: at %d before kill -9 (%.0f it/s), resumed at %d (bound %d)"
                  % (kind, st["iteration"], st["rate"], resumed, due - n - slack),
                  file=sys.stderr)


class TestUnreadOutput(DaemonCase):
    """Clients that never read: what the daemon buffers for them is capped
    across connections (--max-conn-memory); the largest are dropped first,
    with a log line, and the daemon's RSS stays bounded."""

    extra = ("--max-conn-memory", str(16 << 20))
    CLIENTS = 8

    def test_eight_clients_that_never_read(self):
        path = os.path.join(self.d.dir, "col.csv")
        with open(path, "w") as f:
            f.write("0.5\n" * 200000)
        rid = self.c.call("run", {"engine": "builtin:meanstd", "data": {
            "kind": "csv", "path": path, "header": False, "batch_size": 1},
            "metrics": [{"name": "m", "kind": "output", "field": "mean.0"}]})["id"]
        wait_status(self.c, rid, ("completed",))
        pid = self.d.proc.pid
        base = rss_kib(pid)
        conns = []
        self.addCleanup(lambda: [k.close() for k in conns])
        for k in range(self.CLIENTS):
            conns.append(Client(self.d.socket, timeout=10))
            try:
                for i in range(16):        # about 5 MB an answer
                    conns[-1].send([0, 100 + i, "metrics", {"id": rid, "names": ["m"]}])
            except OSError:
                pass                        # dropped while sending
        peak = base
        deadline = time.time() + 30
        while "--max-conn-memory" not in self.d.logtext() and time.time() < deadline:
            peak = max(peak, rss_kib(pid))
            time.sleep(0.05)
        self.assertIn("--max-conn-memory", self.d.logtext())
        for _ in range(40):
            peak = max(peak, rss_kib(pid))
            self.assertIsNone(self.c.call("ping"))
            time.sleep(0.05)
        self.assertIn("dropping it", self.d.logtext())
        slack = (8 if sanitized() else 1) * 128 * MIB
        # 16 MiB of buffers, the histories the threadpool decodes and packs
        # at once, malloc's arenas that keep what they freed (a run on CI
        # peaked at +66 MiB): far from 8 clients x 16 answers x 5 MB
        self.assertLess(peak - base, slack, "VmRSS %d KiB -> %d KiB" % (base, peak))
        print("\n  %d clients that never read: VmRSS %d KiB -> peak %d KiB"
              % (self.CLIENTS, base, peak), file=sys.stderr)


if __name__ == "__main__":
    IGNITED = DaemonCase.ignited = os.path.abspath(sys.argv.pop(1))
    BUILD = os.path.dirname(os.path.dirname(IGNITED))
    IGNITECTL = os.path.join(BUILD, "client", "ignitectl")
    unittest.main()
