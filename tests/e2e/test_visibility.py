#!/usr/bin/python3
"""End-to-end tests of what one user's runs can do to others: metric names
(rules and a cap), what others may read (logs and reasons are private),
what reaches a terminal (escapes shown, not acted on), a stderr flood
(rate-limited), a list too long for a frame (paged), and run names (per
owner).  Real daemon, real workers, real second users (uids 65534, 65533).
usage: test_visibility.py IGNITED IGNITECTL [unittest args]
"""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon import (PY, PYPATH, SRC, DaemonCase, RPCError, as_uid,  # noqa: E402
                    wait_status)

HOSTILE = os.path.join(SRC, "tests", "workers", "hostile_output_worker.py")
IGNITED = IGNITECTL = None
NOT_FOUND, PERMISSION_DENIED, CONFLICT = 4, 5, 6
ESCAPED = b"\\x1b]0;pwned\\x07\\x1b[2J"


def hostile_spec(mode, arg=None, iterations=3, name=None):
    spec = {"engine": [PY, HOSTILE, mode] + ([arg] if arg is not None else []),
            "data": "worker", "epoch_length": iterations, "max_epochs": 1,
            "worker": {"env": PYPATH}}
    if name:
        spec["name"] = name
    return spec


def noop_spec(name=None):
    spec = {"engine": "builtin:noop", "data": "range:1"}
    if name:
        spec["name"] = name
    return spec


class Case(DaemonCase):
    def ended(self, spec):
        rid = self.c.call("run", spec)["id"]
        return rid, wait_status(self.c, rid, ("completed", "failed", "terminated"))

    def ctl(self, *args):
        r = subprocess.run([IGNITECTL, "--socket", self.d.socket] + list(args),
                           capture_output=True, timeout=60)
        return r.stdout + r.stderr


class TestMetricNames(Case):
    def test_a_worker_adds_at_most_1024_metrics(self):
        # 600 new names an iteration: 1800 offered, 1024 kept
        rid, st = self.ended(hostile_spec("names", "600"))
        self.assertEqual(st["status"], "completed", st["reason"])
        self.assertEqual(len(st["metrics"]), 1024)
        lines = [l["message"] for l in self.c.call("logs", {"id": rid})["lines"]]
        capped = [l for l in lines if "at most 1024" in l]
        self.assertEqual(len(capped), 1, lines[-5:])
        self.assertIn("dropped", capped[0])
        # the names it has are found one by one, and the history has them
        self.assertEqual(len(self.c.call("metrics", {"id": rid})["series"]), 1024)

    def test_names_break_no_rule(self):
        for bad, says in (("\x1b]0;pwned\x07", "a name holds letters"),
                          ("12345", "all digits"), ("n" * 100000, "1 to 64 characters"),
                          ("a b", "a name holds letters")):
            with self.subTest(name=bad[:20]):
                rid, st = self.ended(hostile_spec("badname", bad))
                self.assertEqual(st["status"], "failed")
                self.assertIn(says, st["reason"])
                self.assertNotIn("\x1b", st["reason"])
                self.assertEqual(st["metrics"], {})


class TestPrivate(Case):
    def test_logs_and_reason_are_the_owners(self):
        rid, st = self.ended(hostile_spec("secret"))
        self.assertEqual(st["status"], "failed")
        self.assertIn("secret", st["reason"])
        self.assertTrue(any("secret" in l["message"]
                            for l in self.c.call("logs", {"id": rid})["lines"]))

        def check(c):
            s = c.call("status", {"id": rid})
            assert s["reason"] is None and s["status"] == "failed", s
            assert s["owner"] == 0 and s["iteration"] == 1, s
            listed = [r for r in c.call("list")["runs"] if r["id"] == rid]
            assert len(listed) == 1 and listed[0]["reason"] is None, listed
            c.call("metrics", {"id": rid})
            try:
                c.call("logs", {"id": rid})
            except RPCError as e:
                return e.code == PERMISSION_DENIED
            return False
        self.assertEqual(as_uid(self.d, 65534, check), 0)


class TestWatch(Case):
    def notes_until_end(self, c, rid):
        """Every notification c gets until run rid's final status."""
        got = []
        while True:
            note = c.next_note()
            got.append(note)
            p = note[2]
            if note[1] == "status" and p["id"] == rid and p["status"] in (
                    "completed", "failed", "terminated"):
                return got

    def test_anyone_may_watch_what_anyone_may_read(self):
        """watch {id} of another user's run is allowed, as status and
        metrics are; its log lines and reason are not sent."""
        rid = self.c.call("run", hostile_spec("slow-secret", "8", iterations=20))["id"]
        self.c.call("watch", {"id": rid})

        def check(c):
            c.call("watch", {"id": rid})
            got = self.notes_until_end(c, rid)
            methods = {n[1] for n in got}
            assert "log" not in methods, got
            assert "event" in methods, got
            assert got[-1][2]["status"] == "failed" and got[-1][2]["reason"] is None, got
            return "secret" not in repr(got)
        self.assertEqual(as_uid(self.d, 65534, check), 0)
        mine = self.notes_until_end(self.c, rid)
        self.assertTrue(any(n[1] == "log" and "secret" in n[2]["message"] for n in mine))
        self.assertIn("secret", mine[-1][2]["reason"])

    def test_watch_all_covers_later_runs_of_ones_own(self):
        """watch {} covers runs started after it: the caller's own (all of
        them for root), never another user's."""
        w = self.d.client()
        self.addCleanup(w.close)
        w.call("watch", {})
        theirs = self.c.call("run", {"engine": "builtin:sleep", "params": {"ms": 5},
                                     "data": "range:400"})["id"]

        def check(c):
            c.call("watch", {})
            mine = c.call("run", {"engine": "builtin:sleep", "params": {"ms": 5},
                                  "data": "range:40"})["id"]
            got = self.notes_until_end(c, mine)
            assert all(n[2].get("id") != theirs for n in got), got
            return any(n[1] == "event" and n[2]["id"] == mine for n in got)
        self.assertEqual(as_uid(self.d, 65534, check), 0)
        # root's watch {} got both runs, started after it
        ids = {n[2].get("id") for n in self.notes_until_end(w, theirs)}
        self.assertLessEqual({theirs}, ids)
        self.assertGreater(len(ids), 1)


class TestTerminal(Case):
    def test_escapes_are_shown_not_acted_on(self):
        rid, st = self.ended(hostile_spec("escape", name="esc"))
        self.assertEqual(st["status"], "failed")
        # a stray byte reaches clients as U+FFFD: the answer stays valid
        self.assertIn("\ufffd", st["reason"])
        for args in (("logs", "esc"), ("status", "esc"), ("watch", "esc")):
            with self.subTest(args=args):
                out = self.ctl(*args)
                self.assertNotIn(b"\x1b", out)
                self.assertNotIn(b"\x07", out)
                self.assertIn(ESCAPED, out)
                self.assertIn(b"secret", out)
        out = self.ctl("--json", "logs", "esc")
        self.assertNotIn(b"\x1b", out)
        self.assertIn(b"\\u001B]0;pwned\\u0007", out)
        # a worker's metric names do not reach ls: refused at the door
        self.ended(hostile_spec("badname", "\x1b]0;pwned\x07"))
        out = self.ctl("ls")
        self.assertNotIn(b"\x1b", out)
        self.assertIn(b"esc", out)
        with open(self.d.log, "rb") as f:
            log = f.read()
        self.assertNotIn(b"\x1b", log)
        self.assertIn(ESCAPED, log)


class TestFlood(Case):
    def test_stderr_flood_is_rate_limited(self):
        rid, st = self.ended(hostile_spec("flood", "200000"))
        self.assertEqual(st["status"], "completed", st["reason"])
        lines = [l["message"] for l in
                 self.c.call("logs", {"id": rid, "tail": 1000000})["lines"]]
        self.assertLessEqual(lines.count("flood line"), 1000)
        dropped = [l for l in lines if "lines dropped" in l]
        self.assertEqual(len(dropped), 1, lines[-3:])
        self.assertGreater(int(dropped[0].split()[1]), 100000)
        with open(self.d.log, "rb") as f:
            self.assertLessEqual(f.read().count(b"flood line"), 1000)


class TestListPages(Case):
    extra = ("--max-frame", "2048")

    def test_list_never_too_large(self):
        ids = [self.c.call("run", noop_spec("r%d" % i))["id"] for i in range(25)]
        for rid in ids:
            wait_status(self.c, rid, ("completed",))
        # by count
        seen, params, pages = [], {"limit": 4}, 0
        while True:
            page = self.c.call("list", params)
            self.assertLessEqual(len(page["runs"]), 4)
            seen += [r["id"] for r in page["runs"]]
            pages += 1
            if page["next"] is None:
                break
            params["from"] = page["next"]
        self.assertEqual(seen, ids)
        self.assertEqual(pages, 7)
        # by size: 25 summaries do not fit in 2048 bytes
        page = self.c.call("list")
        self.assertLess(len(page["runs"]), 25)
        self.assertIsNotNone(page["next"])
        # ignitectl follows the pages
        out = self.ctl("ls").decode()
        self.assertEqual(sorted(l.split()[1] for l in out.splitlines()[1:]),
                         sorted("r%d" % i for i in range(25)))
        out = self.ctl("--json", "ls").decode()
        self.assertEqual(out.count('"id":'), 25)


class TestNamesPerOwner(Case):
    def test_each_user_has_its_own_exp(self):
        def create(c):
            rid = c.call("run", noop_spec("exp"))["id"]
            try:
                c.call("run", noop_spec("exp"))
                return False
            except RPCError as e:
                assert e.code == CONFLICT, e
            return c.call("status", {"id": "exp"})["id"] == rid
        self.assertEqual(as_uid(self.d, 65534, create), 0)
        self.assertEqual(as_uid(self.d, 65533, create), 0)
        owners = {r["owner"]: r["id"] for r in self.c.call("list")["runs"]}
        self.assertEqual(sorted(owners), [65533, 65534])
        # root has none of its own, and two others have one: ambiguous
        with self.assertRaises(RPCError) as e:
            self.c.call("status", {"id": "exp"})
        self.assertEqual(e.exception.code, NOT_FOUND)
        self.assertIn("give the id", e.exception.message)
        # with one left, the name is that one's
        wait_status(self.c, owners[65533], ("completed",))
        self.c.call("delete", {"id": owners[65533]})
        self.assertEqual(self.c.call("status", {"id": "exp"})["id"], owners[65534])
        # and root's own comes first once it has one
        mine = self.c.call("run", noop_spec("exp"))["id"]
        self.assertEqual(self.c.call("status", {"id": "exp"})["id"], mine)


if __name__ == "__main__":
    IGNITED, IGNITECTL = sys.argv[1], sys.argv[2]
    DaemonCase.ignited = IGNITED
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:])
