#!/usr/bin/python3
"""Metric history as chunks against a real ignited (issue 17, points 2 to
4): values a worker reports come back from `metrics` bit for bit through
sealed chunks and the open tail, across a restart; `minmax` buckets; the
run's start in the answer and ignitectl metrics --align wall; --plot by
iteration asking for buckets.

usage: test_history.py IGNITECTL IGNITED [unittest args]
"""
import csv
import io
import math
import os
import sqlite3
import struct
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
from daemon import PY, PYPATH, UNDO_TO_V5, DaemonCase, RPCError, wait_status  # noqa: E402

CTL = None
WORKER = os.path.join(HERE, "series_worker.py")
INVALID_PARAMS = 3
# NaN payloads (a signalling one too), infinities, signed zeros,
# subnormals, and ordinary values between them
CYCLE = ["7ff8000000001234", "3ff0000000000000", "fff8000000000001",
         "7ff0000000000001", "7ff0000000000000", "bff8000000000000",
         "fff0000000000000", "8000000000000000", "0000000000000000",
         "0000000000000001", "800fffffffffffff", "3fb999999999999a",
         "7fefffffffffffff", "c0934a4560418937"]
N = 9000  # two sealed chunks of 4096 and an open tail, until the end


def spec(n=N, **params):
    return {"engine": [PY, WORKER], "data": "worker", "epoch_length": n,
            "max_epochs": 1, "params": dict(params, cycle=",".join(CYCLE)),
            "worker": {"env": PYPATH}}


def pages(c, rid, **kw):
    """Every (iteration, value bits) of series cycle, page by page."""
    out, params = [], dict(kw, id=rid, names=["cycle"])
    while True:
        res = c.call("metrics", params)
        cols = res["series"].get("cycle")
        if cols:
            n = len(cols["value"]) // 8
            its = struct.unpack(">%dQ" % n, cols["iteration"])
            out.extend((it, cols["value"][8 * i:8 * i + 8].hex())
                       for i, it in enumerate(its))
        if res["next"] is None:
            return out
        params["from"] = res["next"]


def value(hexbits):
    return struct.unpack(">d", bytes.fromhex(hexbits))[0]


class TestHistory(DaemonCase):
    def ctl(self, *args):
        p = subprocess.run([CTL, "--socket", self.d.socket] + list(args),
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise AssertionError("ignitectl %s exited %d: %s"
                                 % (" ".join(args), p.returncode, p.stderr))
        return p.stdout

    def finished(self, n=N):
        rid = self.run_spec(spec(n))
        wait_status(self.c, rid, ("completed",))
        return rid

    def test_bit_exact_through_chunks(self):
        rid = self.run_spec(spec(2 * N, sleep_ms=0))
        want = [(i, CYCLE[i % len(CYCLE)]) for i in range(1, 2 * N + 1)]
        # while it runs: sealed chunks and the open tail, never a wrong bit
        seen = pages(self.c, rid)
        self.assertEqual(seen, want[:len(seen)])
        wait_status(self.c, rid, ("completed",))
        self.assertEqual(pages(self.c, rid), want)
        # by epoch, and after a restart
        self.assertEqual(pages(self.c, rid, axis="epoch"), want)
        self.c.close()
        self.d.stop()
        self.d.start()
        self.c = self.d.client()
        self.assertEqual(pages(self.c, rid), want)

    def test_schema5_database_migrated(self):
        """A database of schema 5, points as rows (NaN as NULL), written
        here from a run's history: the daemon migrates it at start and
        reads the same history back."""
        rid = self.finished(5000)
        before = pages(self.c, rid)
        self.c.close()
        self.d.stop()
        db = sqlite3.connect(self.d.db)
        (sid,) = db.execute("SELECT id FROM series WHERE run_id = ?", (rid,)).fetchone()
        db.executescript(UNDO_TO_V5)
        rows = []
        for it, bits in before:
            v = value(bits)
            rows.append((sid, it, 0, 1.7e9 + it, None if math.isnan(v) else v))
        with db:
            db.executemany("INSERT INTO points VALUES (?, ?, ?, ?, ?)", rows)
        db.execute("PRAGMA user_version = 5")
        db.close()
        self.d.start()
        self.c = self.d.client()
        after = pages(self.c, rid)
        # schema 5 kept no NaN payload nor -0.0 (a REAL stores it as the
        # integer 0): read back as its reader read them
        def as_read(v):
            return float("nan") if math.isnan(v) else v + 0.0

        want = [(it, struct.pack(">d", as_read(value(b))).hex()) for it, b in before]
        self.assertEqual(after, want)
        db = sqlite3.connect(self.d.db)
        self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0], 7)
        self.assertEqual(db.execute("SELECT count(*) FROM sqlite_schema"
                                    " WHERE name LIKE 'points%'").fetchone()[0], 0)
        db.close()

    def test_minmax_buckets(self):
        rid = self.finished()
        pts = [(i, value(CYCLE[i % len(CYCLE)])) for i in range(1, N + 1)]
        db = sqlite3.connect("file:%s?mode=ro" % self.d.db, uri=True)
        chunks = db.execute("SELECT first, last FROM chunks c JOIN series s"
                            " ON s.id = c.series_id WHERE s.run_id = ?"
                            " ORDER BY first", (rid,)).fetchall()
        db.close()
        for lo, hi, nb in ((None, None, 10), (100, 8500, 7), (5000, 5003, 100)):
            params = {"id": rid, "names": ["cycle"], "max_points": nb, "minmax": True}
            sel = pts
            if lo is not None:
                params.update({"from": lo, "to": hi})
                sel = [p for p in pts if lo <= p[0] <= hi]
            res = self.c.call("metrics", params)
            self.assertEqual(res["series"], {})
            self.assertIsNone(res["next"])
            (b,) = res["buckets"]
            self.assertEqual(b["name"], "cycle")
            first, width = sel[0][0], (sel[-1][0] - sel[0][0]) // nb + 1
            # a stored chunk narrower than a bucket, inside from and to,
            # goes whole to the bucket of its last point
            lo, hi = (lo, hi) if lo is not None else (-1, 1 << 62)
            whole = {}
            for cf, cl in chunks:
                if cf >= lo and cl <= hi and cl - cf < width:
                    whole.update((i, cl) for i in range(cf, cl + 1))
            want = {}
            for it, v in sel:
                want.setdefault((whole.get(it, it) - first) // width, []).append((it, v))
            self.assertEqual(len(b["iteration"]), len(want))
            for k, key in enumerate(sorted(want)):
                vals = [v for _, v in want[key] if not math.isnan(v)]
                self.assertEqual(b["iteration"][k], want[key][-1][0])
                self.assertEqual(struct.pack(">d", b["last"][k]),
                                 struct.pack(">d", want[key][-1][1]))
                if vals:
                    self.assertEqual(b["min"][k], min(vals))
                    self.assertEqual(b["max"][k], max(vals))
                else:  # NaN alone
                    self.assertTrue(math.isnan(b["min"][k]) and math.isnan(b["max"][k]))

    def test_minmax_refused_without_buckets(self):
        rid = self.finished(10)
        for params in ({"minmax": True}, {"minmax": True, "max_points": 5, "axis": "epoch"},
                       {"minmax": True, "max_points": 100001}):
            with self.assertRaises(RPCError) as e:
                self.c.call("metrics", dict(params, id=rid))
            self.assertEqual(e.exception.code, INVALID_PARAMS)
            self.assertIn("max_points", e.exception.message)
        # more buckets than iterations: one a point
        res = self.c.call("metrics", {"id": rid, "minmax": True, "max_points": 100000})
        self.assertEqual(res["buckets"][0]["iteration"], list(range(1, 11)))

    def test_align_wall(self):
        a = self.finished(200)
        b = self.finished(300)
        res = self.c.call("metrics", {"id": a, "names": ["cycle"]})
        st = self.c.call("status", {"id": a})
        self.assertIsInstance(res["started"], float)
        self.assertLessEqual(abs(res["started"] - st["started"]), 1)
        times = struct.unpack(">200d", res["series"]["cycle"]["time"])
        self.assertTrue(all(t >= res["started"] for t in times))
        out = self.ctl("metrics", str(a), str(b), "--name", "cycle",
                       "--align", "wall", "--csv")
        rows = list(csv.reader(io.StringIO(out)))
        self.assertEqual(rows[0], ["wall_ms", str(a), str(b)])
        ms = [int(r[0]) for r in rows[1:]]
        self.assertEqual(ms, sorted(ms))
        self.assertTrue(all(m >= 0 for m in ms))
        # a row a millisecond since a's start that a has a point in (its
        # last there), at the time of the point since a's start
        got = {int(r[0]): r[1] for r in rows[1:] if r[1] != ""}
        last = {}
        for i, t in enumerate(times):
            last[round((t - res["started"]) * 1000)] = i + 1
        self.assertEqual(sorted(got), sorted(last))
        for ms, it in last.items():
            v = value(CYCLE[it % len(CYCLE)])
            if math.isnan(v):  # text has no payloads
                self.assertTrue(math.isnan(float(got[ms])))
            else:
                self.assertEqual(struct.pack(">d", float(got[ms])), struct.pack(">d", v))
        self.assertTrue(any(r[2] != "" for r in rows[1:]))
        out = self.ctl("metrics", str(a), str(b), "--name", "cycle",
                       "--align", "wall", "--plot")
        self.assertIn("by seconds", out)
        p = subprocess.run([CTL, "--socket", self.d.socket, "metrics", str(a),
                            "--align", "sideways"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--align sideways", p.stderr)

    def test_plot_asks_for_buckets(self):
        rid = self.finished()
        out = self.ctl("metrics", str(rid), "--name", "cycle", "--plot")
        self.assertIn("cycle", out)
        self.assertIn("by iteration", out)
        # the chart's x axis ends at the last iteration: the buckets
        # reached it
        self.assertIn(str(N), out.replace(",", ""))


def column_pages(c, rid, columns, **kw):
    """Every point of series cycle as a tuple of the columns asked for
    (their bytes), and the pages it took."""
    out, n_pages, params = [], 0, dict(kw, id=rid, names=["cycle"], columns=columns)
    while True:
        res = c.call("metrics", params)
        n_pages += 1
        cols = res["series"].get("cycle")
        if cols:
            # only what was asked for, in full
            assert sorted(cols) == sorted(columns), (sorted(cols), columns)
            n = len(cols[columns[0]]) // 8
            out.extend(tuple(cols[k][8 * i:8 * i + 8].hex() for k in sorted(columns))
                       for i in range(n))
        if res["next"] is None:
            return out, n_pages
        params["from"] = res["next"]


class TestColumns(DaemonCase):
    """`columns`: only those asked for, 8 bytes a point each, bit for bit
    over many pages (a small --max-frame makes 18,000 points take nine
    pages), and as many more points a page as there are fewer columns."""

    extra = ("--max-frame", "131072")

    def test_columns_bit_exact_over_pages(self):
        rid = self.run_spec(spec(2 * N, sleep_ms=0))
        wait_status(self.c, rid, ("completed",))
        all4, pages4 = column_pages(self.c, rid, ["epoch", "iteration", "time", "value"])
        self.assertEqual(len(all4), 2 * N)
        two, pages2 = column_pages(self.c, rid, ["value", "iteration"])
        # sorted keys: iteration, value
        self.assertEqual(two, [(p[1], p[3]) for p in all4])
        self.assertEqual([struct.unpack(">Q", bytes.fromhex(p[0]))[0] for p in two],
                         list(range(1, 2 * N + 1)))
        self.assertEqual([p[1] for p in two],
                         [CYCLE[i % len(CYCLE)] for i in range(1, 2 * N + 1)])
        self.assertGreater(pages4, 5)
        self.assertLess(pages2, pages4 * 0.6)
        one, _ = column_pages(self.c, rid, ["value"])
        self.assertEqual(one, [(p[3],) for p in all4])
        tm, _ = column_pages(self.c, rid, ["time"])
        self.assertEqual(tm, [(p[2],) for p in all4])
        # a range that starts and ends inside chunks
        part, _ = column_pages(self.c, rid, ["iteration", "value"], **{"from": 4000, "to": 12345})
        self.assertEqual(part, two[3999:12345])

    def test_bad_columns(self):
        rid = self.run_spec(spec(10))
        wait_status(self.c, rid, ("completed",))
        want = self.c.call("metrics", {"id": rid})
        for bad, says in (([], "columns: expected one or more"),
                          (["Value"], 'columns[0]: no such column "Value"'),
                          (["value", "value"], 'columns[1]: repeated "value"'),
                          ("value", "columns"), ([1], "columns"),
                          (["iteration", "value", "epoch", "time", "x"], "columns[4]")):
            with self.assertRaises(RPCError) as e:
                self.c.call("metrics", {"id": rid, "columns": bad})
            self.assertEqual(e.exception.code, INVALID_PARAMS, bad)
            self.assertIn(says, e.exception.message)
        with self.assertRaises(RPCError) as e:
            self.c.call("metrics", {"id": rid, "columns": ["value"], "minmax": True,
                                    "max_points": 5})
        self.assertEqual(e.exception.code, INVALID_PARAMS)
        self.assertIn("columns: not with minmax", e.exception.message)
        # nothing changed: the same answer as before
        self.assertEqual(self.c.call("metrics", {"id": rid}), want)


if __name__ == "__main__":
    CTL = sys.argv.pop(1)
    DaemonCase.ignited = sys.argv.pop(1)
    unittest.main()
