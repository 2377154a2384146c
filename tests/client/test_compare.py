#!/usr/bin/python3
"""Comparing runs with ignitectl against a real ignited (issue 17, points 4
and 5): the spec method (its owner and root only), run tags (checked, kept,
shown by status and ls), metrics of several runs aligned and overlaid, ls
--metric/--sort/--where (params only of the caller's own runs), and export
streamed page by page with bounded memory over a 1M-point history.

usage: test_compare.py IGNITECTL IGNITED [unittest args]
"""
import csv
import io
import json
import os
import random
import struct
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
from daemon import DaemonCase, RPCError, as_uid, wait_status  # noqa: E402

CTL = None
OTHER = 65533  # a second user


def write_csv(path, rows=1000, seed=1):
    """Two separable classes a + b > 0, as bench/daemon_bench.c's."""
    r = random.Random(seed)
    with open(path, "w") as f:
        f.write("a,b,y\n")
        for _ in range(rows):
            a, b = r.random() - 0.5, r.random() - 0.5
            f.write("%.6f,%.6f,%d\n" % (a, b, a + b > 0))


class CompareCase(DaemonCase):
    def setUp(self):
        super().setUp()
        self.csv = os.path.join(self.d.dir, "data.csv")
        write_csv(self.csv)

    def ctl(self, *args, user=None, check=True):
        if user is not None:
            # the socket and its directories open to the other user
            os.chmod(self.d.dir, 0o755)
            os.chmod(os.path.dirname(self.d.socket), 0o755)
            os.chmod(self.d.socket, 0o666)
        p = subprocess.run([CTL, "--socket", self.d.socket] + list(args),
                           capture_output=True, text=True, timeout=300,
                           user=user, group=user, cwd="/")
        if check and p.returncode != 0:
            raise AssertionError("ignitectl %s exited %d: %s"
                                 % (" ".join(args), p.returncode, p.stderr))
        return p

    def softmax(self, epochs, lr, *more, user=None):
        p = self.ctl("run", "--engine", "builtin:softmax", "--data", "csv:" + self.csv,
                     "--label", "y", "--param", "classes=2", "--param", "lr=%s" % lr,
                     "--max-epochs", str(epochs), "--metric", "loss=running_average:loss",
                     "--metric", "acc=accuracy", *more, user=user)
        rid = int(p.stdout)
        wait_status(self.c, rid, ("completed",))
        return rid


class TestSpec(CompareCase):
    def test_spec_is_the_owners(self):
        spec = {"engine": ["/bin/cat"], "data": "worker", "epoch_length": 1,
                "worker": {"env": {"TOKEN": "secret"}}, "tags": {"team": "a"}}
        rid = self.c.call("run", spec)["id"]
        got = self.c.call("spec", {"id": rid})
        self.assertEqual(got["engine"], ["/bin/cat"])
        self.assertEqual(got["worker"]["env"], {"TOKEN": "secret"})
        self.assertEqual(got["tags"], {"team": "a"})
        # ignitectl spec prints it as JSON, that run --spec takes back
        out = json.loads(self.ctl("spec", str(rid)).stdout)
        self.assertEqual(out["worker"]["env"], {"TOKEN": "secret"})
        self.assertEqual(json.loads(self.ctl("--json", "spec", str(rid)).stdout), out)

        def refused(c):
            try:
                c.call("spec", {"id": rid})
            except RPCError as e:
                return str(e).startswith("5:")  # PERMISSION_DENIED
            return False
        self.assertEqual(as_uid(self.d, OTHER, refused), 0)
        p = self.ctl("spec", str(rid), user=OTHER, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("PERMISSION_DENIED", p.stderr)
        self.assertNotIn("secret", p.stdout + p.stderr)
        # status stays anyone's, with the tags
        st = json.loads(self.ctl("--json", "status", str(rid), user=OTHER).stdout)
        self.assertEqual(st["tags"], {"team": "a"})


class TestTags(CompareCase):
    def test_tags_kept_and_shown(self):
        p = self.ctl("run", "--engine", "builtin:noop", "--data", "range:10",
                     "--name", "t", "--tag", "team=vision", "--tag", "sweep=lr 1")
        rid = int(p.stdout)
        wait_status(self.c, rid, ("completed",))
        self.assertEqual(self.c.call("status", {"id": rid})["tags"],
                         {"team": "vision", "sweep": "lr 1"})
        self.assertIn("tags          team=vision sweep=lr 1\n", self.ctl("status", "t").stdout)
        self.assertNotIn("TAGS", self.ctl("ls").stdout)
        out = self.ctl("ls", "--tags").stdout
        self.assertIn("TAGS", out.splitlines()[0])
        self.assertTrue(out.splitlines()[1].endswith("team=vision sweep=lr 1"))
        # kept across a restart of the daemon
        self.c.close()
        self.d.stop()
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        self.assertEqual(self.c.call("status", {"id": rid})["tags"],
                         {"team": "vision", "sweep": "lr 1"})

    def test_bad_tags_refused(self):
        base = {"engine": "builtin:noop", "data": "range:3"}
        cases = [({"1": "a"}, "tags: key"), ({"a b": "x"}, "tags: key"),
                 ({"a": 1}, "tags.a: expected a str"),
                 ({"a": "x" * 257}, "tags.a: at most 256 bytes"),
                 ({"k%d" % i: "v" for i in range(65)}, "tags: at most 64"),
                 ("a", "tags")]
        for tags, want in cases:
            with self.assertRaises(RPCError) as e:
                self.c.call("run", dict(base, tags=tags))
            self.assertIn(want, str(e.exception))
            self.assertTrue(str(e.exception).startswith("3:"), str(e.exception))
        # the limits themselves are taken
        ok = dict(base, tags={"k%d" % i: "v" * 256 for i in range(64)})
        self.c.call("run", ok)
        self.assertEqual(len(self.c.call("list")["runs"]), 1)
        p = self.ctl("run", "--engine", "builtin:noop", "--tag", "novalue", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--tag novalue: expected KEY=VALUE", p.stderr)


class TestMetricsCompare(CompareCase):
    def test_aligned_and_overlaid(self):
        a = self.softmax(2, 0.5)
        b = self.softmax(3, 0.1)
        ha = self.c.call("metrics", {"id": a, "names": ["acc"], "axis": "epoch"})
        out = self.ctl("metrics", str(a), str(b), "--name", "loss", "--csv").stdout
        rows = list(csv.reader(io.StringIO(out)))
        self.assertEqual(rows[0], ["iteration", str(a), str(b)])
        self.assertEqual(len(rows), 1 + 3000)
        self.assertEqual([r[0] for r in rows[1:4]], ["1", "2", "3"])
        # a has no point past iteration 2000: empty there
        self.assertNotEqual(rows[2000][1], "")
        self.assertEqual(rows[2001][1:], ["", rows[2001][2]])
        self.assertNotEqual(rows[2001][2], "")
        # by epoch: a run's value is its last of the epoch
        out = self.ctl("metrics", str(a), str(b), "--name", "acc", "--epochs", "--csv").stdout
        rows = list(csv.reader(io.StringIO(out)))
        self.assertEqual(rows[0], ["epoch", str(a), str(b)])
        self.assertEqual([r[0] for r in rows[1:]], ["1", "2", "3"])
        self.assertEqual(rows[3][1], "")
        vals = struct.unpack(">2d", ha["series"]["acc"]["value"])
        self.assertEqual([float(r[1]) for r in rows[1:3]], list(vals))
        # several names: RUN:NAME columns
        out = self.ctl("metrics", str(a), str(b), "--epochs", "--csv").stdout
        self.assertEqual(out.splitlines()[0],
                         "epoch,%d:acc,%d:loss,%d:acc,%d:loss" % (a, a, b, b))
        # the table aligns the same
        out = self.ctl("metrics", str(a), str(b), "--name", "acc", "--epochs").stdout
        self.assertEqual(out.splitlines()[0].split(), ["EPOCH", str(a), str(b)])
        self.assertEqual(len(out.splitlines()), 4)
        # one chart, a marker per run without a terminal, a legend
        out = self.ctl("metrics", str(a), str(b), "--name", "loss", "--plot",
                       "--epochs").stdout
        self.assertEqual(out.count(" by epoch"), 1)
        self.assertTrue(out.splitlines()[-1].strip() == "o %d    x %d" % (a, b), out)
        self.assertNotIn("\033", out)
        # JSON: each run's series
        # a run that is not there fails the whole command
        p = self.ctl("--json", "metrics", str(a), "missing", check=False)
        self.assertEqual((p.returncode, p.stdout), (1, ""))
        self.assertIn("NOT_FOUND", p.stderr)
        j = json.loads(self.ctl("--json", "metrics", str(a), str(b), "--name", "acc",
                                "--epochs").stdout)
        self.assertEqual(j["axis"], "epoch")
        self.assertEqual([r["id"] for r in j["runs"]], [a, b])
        self.assertEqual(len(j["runs"][1]["series"]["acc"]), 3)
        # one run: as before
        j = json.loads(self.ctl("--json", "metrics", str(a), "--name", "acc").stdout)
        self.assertEqual(j["id"], a)


class TestLs(CompareCase):
    def test_metric_sort_where(self):
        a = self.softmax(2, 0.5, "--tag", "sweep=lr")
        b = self.softmax(2, 0.1, "--tag", "sweep=lr")
        c = self.softmax(1, 0.1)
        out = self.ctl("--json", "export", str(a), str(b), str(c), "--name", "loss").stdout
        pts = {}
        for line in out.splitlines():
            p = json.loads(line)
            pts.setdefault(p["run"], []).append((p["iteration"], p["value"]))
        j = json.loads(self.ctl("--json", "ls", "--metric", "loss:min").stdout)
        for run in j["runs"]:
            p = pts[run["id"]]
            st = run["stats"]
            lo = min(p, key=lambda t: t[1])
            hi = max(p, key=lambda t: t[1])
            self.assertEqual((st["last"], st["points"]), (p[-1][1], len(p)))
            self.assertEqual((st["min"], st["min_at"]), (lo[1], lo[0]))
            self.assertEqual((st["max"], st["max_at"]), (hi[1], hi[0]))
        out = self.ctl("ls", "--metric", "loss:min").stdout.splitlines()
        self.assertEqual(out[0].split()[-4:], ["LAST", "MIN", "MAX", "BEST-AT"])
        lo = min(pts[a], key=lambda t: t[1])
        self.assertEqual(out[1].split()[-1], "{:,}".format(lo[0]))
        # sorted by the latest loss, both ways
        last = {r: pts[r][-1][1] for r in pts}
        order = [int(l.split()[0]) for l in self.ctl("ls", "--sort", "loss").stdout.splitlines()[1:]]
        self.assertEqual(order, sorted(last, key=last.get))
        order = [int(l.split()[0]) for l in
                 self.ctl("ls", "--sort", "loss:desc").stdout.splitlines()[1:]]
        self.assertEqual(order, sorted(last, key=last.get, reverse=True))
        # filtered by params (numbers as numbers) and tags, all must hold
        ids = lambda *a: [r["id"] for r in json.loads(self.ctl("--json", "ls", *a).stdout)["runs"]]
        self.assertEqual(ids("--where", "lr=0.1"), [b, c])
        self.assertEqual(ids("--where", "lr=1e-1", "--where", "sweep=lr"), [b])
        self.assertEqual(ids("--where", "sweep=lr"), [a, b])
        self.assertEqual(ids("--where", "classes=2"), [a, b, c])
        self.assertEqual(ids("--where", "lr=0.2"), [])
        out = self.ctl("ls", "--where", "sweep=lr").stdout.splitlines()
        self.assertEqual(out[0].split()[-1], "TAGS")
        p = self.ctl("ls", "--where", "lr", check=False)
        self.assertEqual(p.returncode, 2)
        p = self.ctl("ls", "--sort", "loss:up", check=False)
        self.assertEqual(p.returncode, 2)

    def test_where_params_only_of_own_runs(self):
        def sleep_run(tag, user=None):
            p = self.ctl("run", "--engine", "builtin:sleep", "--param", "ms=0",
                         "--data", "range:5", "--tag", tag, user=user)
            return int(p.stdout)
        mine = sleep_run("team=a")
        theirs = sleep_run("team=b", user=OTHER)
        for rid in (mine, theirs):
            wait_status(self.c, rid, ("completed",))
        ids = lambda p: [r["id"] for r in json.loads(p.stdout)["runs"]]
        # root reads every spec
        self.assertEqual(ids(self.ctl("--json", "ls", "--where", "ms=0")), [mine, theirs])
        # another user: params of their own runs only, and told so
        p = self.ctl("--json", "ls", "--where", "ms=0", user=OTHER)
        self.assertEqual(ids(p), [theirs])
        self.assertIn("left out 1 run of other users", p.stderr)
        # tags are anyone's
        p = self.ctl("--json", "ls", "--where", "team=a", user=OTHER)
        self.assertEqual(ids(p), [mine])
        self.assertEqual(p.stderr, "")


class TestExport(CompareCase):
    def test_formats(self):
        a = self.softmax(1, 0.5)
        h = self.c.call("metrics", {"id": a, "names": ["loss"]})
        n = len(h["series"]["loss"]["value"]) // 8
        vals = struct.unpack(">%dd" % n, h["series"]["loss"]["value"])
        its = struct.unpack(">%dQ" % n, h["series"]["loss"]["iteration"])
        out = self.ctl("export", str(a), "--name", "loss").stdout.splitlines()
        self.assertEqual(out[0], "run,name,epoch,iteration,time,value")
        rows = [l.split(",") for l in out[1:]]
        self.assertEqual([float(r[5]) for r in rows], list(vals))
        self.assertEqual([int(r[3]) for r in rows], list(its))
        self.assertEqual({r[0] for r in rows}, {str(a)})
        lines = self.ctl("export", str(a), "--format", "jsonl").stdout.splitlines()
        self.assertEqual(len(lines), 1000 + 1)  # loss every iteration, acc once
        p = json.loads(lines[0])
        self.assertEqual(set(p), {"run", "name", "epoch", "iteration", "time", "value"})
        p = self.ctl("export", str(a), "--format", "xml", check=False)
        self.assertEqual(p.returncode, 2)
        p = self.ctl("export", "9999", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("NOT_FOUND", p.stderr)


class TestExportLarge(CompareCase):
    # small frames: a page is ~32k points, so holding a whole history
    # would show in the client's memory
    extra = ("--max-frame", str(1 << 20))

    def hwm(self, rid, path):
        """Export run rid to path; the client's peak RSS in KiB, read from
        /proc/PID/status VmHWM while it runs and from wait4 at its end."""
        # under ASan, freed pages wait in its quarantine: none, so that
        # what is measured is what ignitectl holds
        env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "")
                   + ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
        with open(path, "w") as out:
            proc = subprocess.Popen([CTL, "--socket", self.d.socket, "export", str(rid)],
                                    stdout=out, stderr=subprocess.PIPE, env=env)
            seen = 0
            while True:
                try:
                    with open("/proc/%d/status" % proc.pid) as f:
                        for line in f:
                            if line.startswith("VmHWM:"):
                                seen = max(seen, int(line.split()[1]))
                except OSError:
                    pass
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid != 0:
                    break
                time.sleep(0.01)
            proc.returncode = os.waitstatus_to_exitcode(status)
            err = proc.stderr.read()
            proc.stderr.close()
            self.assertEqual(proc.returncode, 0, err)
        return max(seen, usage.ru_maxrss)

    def test_bounded_memory(self):
        # noop records nothing: softmax over 1000 rows, a running
        # average every iteration (as bench/daemon_bench.c's history)
        small = self.softmax(100, 0.5)
        big = self.softmax(1100, 0.5)
        out = os.path.join(self.d.dir, "export.csv")
        h_small = self.hwm(small, out)
        h_big = self.hwm(big, out)
        with open(out) as f:
            n = sum(1 for _ in f)
        self.assertEqual(n, 1 + 1100 * 1000 + 1100)
        with open(out) as f:
            f.readline()
            first = f.readline().split(",")
        self.assertEqual(first[:4], [str(big), "acc", "1", "1000"])
        # 1.1M points are 35 MB as points alone: a client that held them
        # would be far above a page's worth
        sys.stderr.write("export peak RSS: %d KiB for 100k points, %d KiB "
                         "for 1.1M\n" % (h_small, h_big))
        self.assertLess(h_big, 24 * 1024)
        self.assertLess(h_big, h_small + 4 * 1024)


if __name__ == "__main__":
    CTL = os.path.abspath(sys.argv[1])
    DaemonCase.ignited = os.path.abspath(sys.argv[2])
    del sys.argv[1:3]
    unittest.main()
