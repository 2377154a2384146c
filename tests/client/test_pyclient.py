#!/usr/bin/python3
"""End-to-end tests of python/ignite_client against a real ignited: the
socket it finds, hello, errors as exceptions with the protocol's code, runs
and histories as lists and DataFrames (long and wide, several runs, paged),
values bit for bit (NaN payloads, infinities, -0.0, subnormals), control
verbs, following a run live (also one paused across a daemon restart), a
connection the daemon closed while idle, and the plain forms without pandas.
usage: test_pyclient.py IGNITED [unittest args]
"""
import os
import select
import struct
import subprocess
import sys
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
from daemon import (DIGITS, PY, PYPATH, SRC, Daemon, DaemonCase, as_uid,  # noqa: E402
                    softmax_spec, wait_for, wait_iteration, wait_status)

sys.path.insert(0, os.path.join(SRC, "python"))
import ignite_client  # noqa: E402
from ignite_client import Client, IgniteError, Point  # noqa: E402

WORKER = os.path.join(HERE, "series_worker.py")
# float64s that must come back bit for bit, as their big-endian hex
SPECIAL = {"nan": "7ff8000000000000", "nan_payload": "7ff8000000001234",
           "nan_negative": "fff8000000000001", "nan_signalling": "7ff0000000000001",
           "inf": "7ff0000000000000", "ninf": "fff0000000000000",
           "zero_negative": "8000000000000000", "subnormal": "0000000000000001",
           "subnormal_max": "000fffffffffffff", "max": "7fefffffffffffff",
           "tenth": "3fb999999999999a"}


def bits(x):
    return struct.pack(">d", x).hex()


def worker_spec(name=None, iterations=5, epochs=1, **params):
    spec = {"engine": [PY, WORKER], "data": "worker", "epoch_length": iterations,
            "max_epochs": epochs, "params": params, "worker": {"env": PYPATH}}
    if name:
        spec["name"] = name
    return spec


def child(fn):
    """fn() in a forked child: its exit code, 0 when fn returned true."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if fn() else 2
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


class Case(DaemonCase):
    def setUp(self):
        super().setUp()
        self.py = Client(self.d.socket, timeout=60)
        self.addCleanup(self.py.close)

    def ended(self, spec, **keys):
        run = self.py.start(spec, **keys)
        st = self.py.wait(run, timeout=120)
        self.assertEqual(st["status"], "completed", st)
        return run


class TestSocket(Case):
    def test_found_as_ignitectl_finds_it(self):
        env = dict(os.environ)
        self.addCleanup(os.environ.clear)
        self.addCleanup(os.environ.update, env)
        os.environ["IGNITE_SOCKET"] = self.d.socket
        self.assertEqual(ignite_client.socket_path(), (self.d.socket, "IGNITE_SOCKET"))
        with Client() as c:            # IGNITE_SOCKET, then hello
            self.assertEqual((c.version, c.daemon.split()[0]), (1, "ignited"))
        self.assertEqual(ignite_client.socket_path("/x/s")[0], "/x/s")
        del os.environ["IGNITE_SOCKET"]
        os.environ["XDG_RUNTIME_DIR"] = "/run/user/7"
        self.assertEqual(ignite_client.socket_path()[0], "/run/ignite/ignited.sock")

        def as_user():
            os.setgid(65534)
            os.setuid(65534)
            a = ignite_client.socket_path()[0]
            os.environ["XDG_RUNTIME_DIR"] = "relative"      # ignored, as ignitectl does
            b = ignite_client.socket_path()[0]
            del os.environ["XDG_RUNTIME_DIR"]
            c = ignite_client.socket_path()[0]
            return (a, b, c) == ("/run/user/7/ignite/ignited.sock",
                                 "/tmp/ignite-65534/ignited.sock",
                                 "/tmp/ignite-65534/ignited.sock")
        self.assertEqual(child(as_user), 0)

    def test_no_daemon_says_where_it_looked(self):
        path = os.path.join(self.d.dir, "none.sock")
        with self.assertRaises(ConnectionError) as cm:
            Client(path)
        self.assertIn(path, str(cm.exception))
        self.assertIn("IGNITE_SOCKET", str(cm.exception))


class TestErrors(Case):
    def test_codes_and_classes(self):
        cases = [(lambda: self.py.status(999), ignite_client.NotFound, 4, "NOT_FOUND"),
                 (lambda: self.py.start({"engine": "builtin:noop", "max_epochs": 0}),
                  ignite_client.InvalidParams, 3, "INVALID_PARAMS"),
                 (lambda: self.py.call("nosuch"), ignite_client.UnknownMethod, 2,
                  "UNKNOWN_METHOD")]
        run = self.ended({"engine": "builtin:noop", "data": "range:3"}, name="done")
        cases += [(lambda: self.py.pause(run), ignite_client.Conflict, 6, "CONFLICT"),
                  (lambda: self.py.start({"engine": "builtin:noop", "data": "range:3"},
                                         name="done"), ignite_client.Conflict, 6, "CONFLICT")]
        for fn, cls, code, name in cases:
            with self.assertRaises(cls) as cm:
                fn()
            e = cm.exception
            self.assertIsInstance(e, IgniteError)
            self.assertEqual((e.code, e.name), (code, name))
            self.assertTrue(e.message)
            self.assertIn(e.message, str(e))
        with self.assertRaises(IgniteError) as cm:
            self.py.start({"engine": "builtin:noop", "max_epochs": 0})
        self.assertIn("max_epochs", cm.exception.message)

    def test_permission_denied(self):
        run = self.py.start({"engine": "builtin:sleep", "data": "range:100000"})
        self.addCleanup(lambda: self.py.terminate(run, wait=True))

        def check(_raw):
            try:
                with Client(self.d.socket) as c:
                    c.pause(run)
            except ignite_client.PermissionDenied as e:
                return e.code == 5
            return False
        self.assertEqual(as_uid(self.d, 65534, check), 0)

        def listed(_raw):
            # another's run is listed, its params (its spec) are not
            with Client(self.d.socket) as c:
                rows = c.runs_rows()
            return [r["id"] for r in rows] == [run] and \
                not any(k.startswith("params.") for k in rows[0])
        self.assertEqual(as_uid(self.d, 65534, listed), 0)


class TestRuns(Case):
    def test_runs_with_params_and_last_metrics(self):
        a = self.ended(softmax_spec(epochs=2), name="a")
        spec = softmax_spec(epochs=1)
        spec["params"]["lr"] = 0.25
        b = self.ended(spec)
        rows = self.py.runs_rows()
        self.assertEqual([r["id"] for r in rows], [a, b])
        self.assertEqual([r["name"] for r in rows], ["a", None])
        self.assertEqual([r["params.lr"] for r in rows], [0.5, 0.25])
        for r in rows:
            st = self.c.call("status", {"id": r["id"]})
            self.assertEqual({k[8:]: v for k, v in r.items() if k.startswith("metrics.")},
                             st["metrics"])
            self.assertEqual(r["status"], "completed")
        df = self.py.runs()
        self.assertEqual(list(df["id"]), [a, b])
        self.assertEqual(list(df["params.lr"]), [0.5, 0.25])
        self.assertEqual(list(df["metrics.val_acc"]), [r["metrics.val_acc"] for r in rows])
        self.assertEqual(str(df["finished"].dtype), "datetime64[ns, UTC]")
        self.assertEqual(len(self.py.runs(status="running")), 0)
        # another Client (a notebook opened later) reads the params too
        other = Client(self.d.socket, timeout=60)
        self.addCleanup(other.close)
        self.assertEqual([r["params.lr"] for r in other.runs_rows()], [0.5, 0.25])

    def test_control_verbs(self):
        run = self.py.start({"engine": "builtin:sleep", "params": {"ms": 1},
                             "data": "range:100000", "name": "ctl"})
        wait_iteration(self.c, run, 1)
        self.assertIn(self.py.pause("ctl", wait=False)["status"], ("running", "paused"))
        self.assertEqual(self.py.wait(run, until=("paused",), timeout=60)["status"], "paused")
        self.assertEqual(self.py.status(run)["status"], "paused")
        self.py.resume("ctl")
        wait_status(self.c, run, ("running",))
        self.assertEqual(self.py.terminate("ctl", wait=True)["status"], "terminated")
        self.assertIn("terminated at", " ".join(l["message"] for l in self.py.logs(run)))
        self.py.delete(run)
        with self.assertRaises(ignite_client.NotFound):
            self.py.status(run)

    def test_start_takes_paths_from_here(self):
        """As ignitectl run: a relative data path, and an exec worker's
        directory, are the caller's."""
        here = os.getcwd()
        self.addCleanup(os.chdir, here)
        os.chdir(os.path.dirname(DIGITS))
        spec = softmax_spec(epochs=1)
        spec["data"]["path"] = os.path.basename(DIGITS)
        self.ended(spec)
        os.chdir(self.d.dir)
        run = self.ended(worker_spec(iterations=1))
        self.assertIn("cwd " + self.d.dir, [l["message"] for l in self.py.logs(run)])


class TestReadme(Case):
    def test_the_example_runs(self):
        """README.md's example under "From Python or a notebook", as written."""
        with open(os.path.join(SRC, "README.md")) as f:
            section = f.read().split("\n## From Python or a notebook\n", 1)[1]
        code = section.split("```python\n", 1)[1].split("```", 1)[0]
        code += ("assert list(runs['params.lr']) == [0.05, 0.5], runs\n"
                 "assert list(val.columns) == [(1, 'val_acc'), (2, 'val_acc')], val\n"
                 "assert len(val) == 5 and c.status(run)['status'] == 'terminated'\n")
        env = dict(os.environ, IGNITE_SOCKET=self.d.socket,
                   PYTHONPATH=os.path.join(SRC, "python"))
        r = subprocess.run([PY, "-c", code], cwd=SRC, env=env, capture_output=True,
                           text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(r.stdout.split("\n")), 6, r.stdout)


class TestHistory(Case):
    def test_values_bit_for_bit(self):
        """Every form gives the float64s the daemon sent, bit for bit."""
        run = self.ended(worker_spec(iterations=3, **{"hex_" + k: v for k, v in SPECIAL.items()}))
        sent = {}
        for name, cols in self.c.call("metrics", {"id": run})["series"].items():
            sent[name] = [cols["value"][i:i + 8].hex() for i in range(0, len(cols["value"]), 8)]
        self.assertEqual(set(sent), set(SPECIAL))
        points = self.py.history_points(run)
        self.assertEqual(len(points), 3 * len(SPECIAL))
        self.assertEqual({n: [bits(p.value) for p in points if p.name == n] for n in sent}, sent)
        df = self.py.history(run)
        self.assertEqual([bits(v) for v in df["value"]], [bits(p.value) for p in points])
        for (r, name), col in self.py.history(run, wide=True).items():
            self.assertEqual([bits(v) for v in col], sent[name])
        cols, rows = self.py.history_wide_rows(run)
        for j, (_, name) in enumerate(cols[1:], 1):
            self.assertEqual([bits(row[j]) for row in rows], sent[name])
        self.assertEqual([bits(p.value) for p in self.py.follow(run)],
                         [bits(p.value) for p in points])
        # the latest values, as the worker reported them (NaN payloads too)
        last = self.py.runs_rows()[0]
        self.assertEqual({k: bits(last["metrics." + k]) for k in SPECIAL}, SPECIAL)
        self.assertEqual({k: bits(v) for k, v in self.py.runs().iloc[0].items()
                          if k.startswith("metrics.")},
                         {"metrics." + k: v for k, v in SPECIAL.items()})

    def test_several_runs_long_and_wide(self):
        a = self.ended(softmax_spec(epochs=2), name="a")
        b = self.ended(softmax_spec(epochs=3), name="b")
        points = self.py.history_points([a, "b"], names=["loss", "val_acc"])
        self.assertEqual({(p.run, p.name) for p in points},
                         {(a, "loss"), (a, "val_acc"), (b, "loss"), (b, "val_acc")})
        df = self.py.history([a, "b"], names=["loss", "val_acc"])
        self.assertEqual(list(df.columns), ["run", "name", "epoch", "iteration", "time", "value"])
        self.assertEqual([Point(*r) for r in df.itertuples(index=False)], points)
        wide = self.py.history([a, "b"], names=["loss", "val_acc"], wide=True)
        self.assertEqual(list(wide.columns), [(a, "loss"), (a, "val_acc"),
                                              (b, "loss"), (b, "val_acc")])
        self.assertEqual(wide.index.name, "iteration")
        self.assertEqual(list(wide.index), sorted({p.iteration for p in points}))
        for p in points:
            self.assertEqual(wide.loc[p.iteration, (p.run, p.name)], p.value)
        # run a stopped at epoch 2: no point there in epoch 3
        self.assertTrue(wide[(a, "val_acc")].isna().sum() > 0)
        cols, rows = self.py.history_wide_rows([a, "b"], names="val_acc", on="epoch")
        self.assertEqual(cols, ["epoch", (a, "val_acc"), (b, "val_acc")])
        self.assertEqual([r[0] for r in rows], [1, 2, 3])
        self.assertIsNone(rows[2][1])
        by_epoch = self.py.history([a, "b"], names="val_acc", wide=True, on="epoch")
        self.assertEqual(list(by_epoch[(b, "val_acc")]), [r[2] for r in rows])
        # bounds and downsampling reach the daemon
        some = self.py.history_points(a, names="loss", axis="epoch", from_=2, to=2)
        self.assertEqual({p.epoch for p in some}, {2})
        self.assertEqual(len(self.py.history_points(b, names="loss", max_points=3)), 3)
        with self.assertRaises(ignite_client.NotFound):
            self.py.history([a, 999])

    def test_buckets_and_start(self):
        """Downsampled on the daemon: each bucket's min, max and last are
        those of the points it covers; started puts points on wall time."""
        a = self.ended(softmax_spec(epochs=3), name="a")
        points = [p for p in self.py.history_points(a, names="loss")]
        rows = self.py.bucket_rows([a], names="loss", max_points=10)
        self.assertTrue(0 < len(rows) <= 10, rows)
        lo = 0
        for b in rows:
            inside = [p.value for p in points if lo < p.iteration <= b.iteration]
            self.assertEqual((b.run, b.name), (a, "loss"))
            self.assertEqual((b.min, b.max, b.last), (min(inside), max(inside), inside[-1]))
            lo = b.iteration
        self.assertEqual(lo, points[-1].iteration)
        df = self.py.buckets(a, names="loss", max_points=10)
        self.assertEqual(list(df.columns), ["run", "name", "iteration", "min", "max", "last"])
        self.assertEqual([ignite_client.Bucket(*r) for r in df.itertuples(index=False)], rows)
        started = self.py.started(a)
        self.assertLessEqual(started, points[0].time)
        self.assertLess(points[-1].time - started, 600)

    def test_pages_joined(self):
        """A history larger than a frame comes in pages: all of it."""
        n, count = 10000, 64            # 640,000 points, 20 MiB of columns
        run = self.ended(worker_spec(iterations=n, count=count))
        raw = self.c.call("metrics", {"id": run, "names": ["m0"]})
        self.assertIsNone(raw["next"])
        raw = self.c.call("metrics", {"id": run})
        self.assertIsNotNone(raw["next"], "the test needs more than one page")
        points = self.py.history_points(run)
        self.assertEqual(len(points), n * count)
        self.assertEqual(sorted((p.name, p.iteration, p.value) for p in points),
                         sorted(("m%d" % j, i, i + j / count)
                                for i in range(1, n + 1) for j in range(count)))
        df = self.py.history(run, wide=True)
        self.assertEqual(df.shape, (n, count))
        self.assertEqual(df.loc[n, (run, "m3")], n + 3 / count)


class TestFollow(Case):
    def test_live_then_complete(self):
        run = self.py.start(worker_spec(iterations=300, epochs=2, sleep_ms=2, count=2))
        followed, live = [], 0
        for p in self.py.follow(run):
            followed.append(p)
            if self.c.call("status", {"id": run})["status"] == "running":
                live += 1
        self.assertGreater(live, 0, "no point came while the run ran")
        self.assertEqual(self.py.status(run)["status"], "completed")
        self.assertEqual(sorted(followed), sorted(self.py.history_points(run)))
        for name in ("m0", "m1"):
            its = [p.iteration for p in followed if p.name == name]
            self.assertEqual(its, list(range(1, 601)))

    def test_only_new_points_and_names(self):
        run = self.py.start(worker_spec(iterations=400, sleep_ms=2, count=2))
        start = wait_iteration(self.c, run, 50)
        got = list(self.py.follow(run, names="m1", history=False))
        self.assertEqual({p.name for p in got}, {"m1"})
        self.assertGreater(got[0].iteration, start)
        self.assertEqual(got[-1].iteration, 400)
        self.assertEqual([p.iteration for p in got],
                         list(range(got[0].iteration, 401)))

    def test_stop_early(self):
        run = self.py.start(worker_spec(iterations=100000, sleep_ms=1, count=1))
        gen = self.py.follow(run, history=False)
        self.assertEqual(next(gen).name, "m0")
        gen.close()
        self.assertEqual(self.py.terminate(run, wait=True)["status"], "terminated")

    def test_paused_across_a_restart(self):
        """A run restored paused by a restarted daemon is followed: its
        history first, then its points live once it is resumed."""
        run = self.py.start(worker_spec(iterations=100000, sleep_ms=1, count=1))
        wait_iteration(self.c, run, 20)
        paused_at = self.py.pause(run)["iteration"]
        self.py.close()
        self.c.close()
        self.d.stop()
        self.d.start()
        self.py = Client(self.d.socket)
        self.addCleanup(self.py.close)
        got = []

        def follow():
            for p in self.py.follow(run, poll=0.2):
                got.append(p)
        t = threading.Thread(target=follow)
        t.start()
        self.addCleanup(t.join, 60)
        self.addCleanup(lambda: self.py.status(run)["status"] != "running" or
                        self.py.terminate(run))
        before = self.py.history_points(run)
        self.assertLessEqual(before[-1].iteration, paused_at)
        wait_for(lambda: got == before, "the history to the pause")
        self.py.resume(run)
        wait_for(lambda: got[-1].iteration > paused_at + 50, "points after the resume")
        self.assertEqual(self.py.status(run)["status"], "running")
        self.py.terminate(run)
        t.join(60)
        self.assertFalse(t.is_alive())
        self.assertEqual(got, self.py.history_points(run))


class TestConnection(unittest.TestCase):
    def test_reopened_after_the_idle_timeout(self):
        d = Daemon(DaemonCase.ignited, extra=["--client-timeout", "300"]).start()
        self.addCleanup(d.remove)
        c = Client(d.socket)
        self.addCleanup(c.close)
        wait_for(lambda: select.select([c._conn.sock], [], [], 0.05)[0],
                 "the daemon to close the idle connection")
        c.ping()
        self.assertEqual(c.list_runs(), [])


class TestWithoutPandas(Case):
    def test_plain_forms_and_a_clear_error(self):
        self.ended(worker_spec(iterations=2, count=1))
        code = ("import sys; sys.modules['pandas'] = None; sys.path.insert(0, %r)\n"
                "import ignite_client\n"
                "c = ignite_client.Client(%r)\n"
                "assert len(c.runs_rows()) == 1 and len(c.history_points(1)) == 2\n"
                "assert c.history_wide_rows(1)[0] == ['iteration', (1, 'm0')]\n"
                "for f in (c.runs, lambda: c.history(1)):\n"
                "    try:\n"
                "        f()\n"
                "    except ImportError as e:\n"
                "        assert 'python3-pandas' in str(e), e\n"
                "    else:\n"
                "        raise SystemExit('no ImportError')\n"
                % (os.path.join(SRC, "python"), self.d.socket))
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    DaemonCase.ignited = os.path.abspath(sys.argv.pop(1))
    unittest.main()
