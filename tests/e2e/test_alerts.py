#!/usr/bin/python3
"""A spec's notify entries (PROTOCOL.md, "notify"), with the real daemon:
each event fires once with the run in the command's environment, as the
run's owner; a hanging command is killed at its timeout, a failing one
logged; a restart does not fire an event again.
usage: test_alerts.py IGNITED [unittest args]
"""
import glob
import http.server
import json
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon import (PY, Daemon, as_nobody, log_lines, softmax_spec,  # noqa: E402
                    wait_for, wait_iteration, wait_status)

IGNITED = None
SRC = os.path.dirname(os.path.dirname(HERE))

# The alert command: writes its environment, ids and cwd to
# DIR/EVENT-PID.json (renamed into place whole), and a line to stdout.
WRITE_ENV = r"""
import json, os, sys
out = os.path.join(sys.argv[1], "%s-%d.json" % (os.environ["IGNITE_RUN_EVENT"], os.getpid()))
with open(out + ".tmp", "w") as f:
    json.dump({"env": dict(os.environ), "uid": os.getuid(), "gid": os.getgid(),
               "cwd": os.getcwd()}, f)
os.rename(out + ".tmp", out)
print("wrote", os.path.basename(out))
"""

EVENTS = ["completed", "failed", "terminated", "paused", "nan"]


def sleep_spec(**extra):
    """A run that goes on until told: 5 ms an iteration."""
    spec = {"engine": "builtin:sleep", "params": {"ms": 5.0}, "data": "range:1000",
            "max_epochs": 1000}
    spec.update(extra)
    return spec


def sleeping(marker):
    """The processes whose command line holds marker."""
    found = []
    for p in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(p, "rb") as f:
                if marker.encode() in f.read():
                    found.append(p)
        except OSError:
            pass
    return found


class Case(unittest.TestCase):
    def setUp(self):
        self.out = tempfile.mkdtemp(prefix="ignite-alerts-")
        os.chmod(self.out, 0o777)   # a second uid's alert writes here too
        self.addCleanup(shutil.rmtree, self.out, True)
        self.d = Daemon(IGNITED).start()
        self.addCleanup(self.d.remove)
        self.c = self.d.client()
        self.addCleanup(self.c.close)

    def notify(self, on=EVENTS, **entry):
        return [dict({"on": list(on), "exec": [PY, "-c", WRITE_ENV, self.out]}, **entry)]

    def fired(self, event):
        """What each alert of event wrote, oldest first."""
        out = []
        for path in sorted(glob.glob(os.path.join(self.out, event + "-*.json")),
                           key=os.path.getmtime):
            with open(path) as f:
                got = json.load(f)
            got["owner"] = os.stat(path).st_uid
            out.append(got)
        return out

    def wait_fired(self, event, n=1):
        return wait_for(lambda: len(self.fired(event)) >= n and self.fired(event),
                        "%d %s alert(s) in %s" % (n, event, self.out))

    def wait_logged(self, rid, text):
        return wait_for(lambda: [l for l in log_lines(self.c, rid) if text in l],
                        "%r in run %d's log: %r" % (text, rid, log_lines(self.c, rid)))

    def restart(self, how):
        self.c.close()
        if how == "kill":
            self.d.kill9()
        else:
            self.d.signal(signal.SIGTERM)
            self.assertEqual(self.d.wait(), 0)
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)


class TestEvents(Case):
    def test_completed_once_with_the_run_in_its_environment(self):
        rid = self.c.call("run", softmax_spec("fit", epochs=1,
                                              notify=self.notify()))["id"]
        st = wait_status(self.c, rid, ("completed",), 120)
        got = self.wait_fired("completed")[0]
        env = got["env"]
        self.assertEqual(env["IGNITE_RUN_ID"], str(rid))
        self.assertEqual(env["IGNITE_RUN_NAME"], "fit")
        self.assertEqual(env["IGNITE_RUN_EVENT"], "completed")
        self.assertEqual(env["IGNITE_RUN_STATUS"], "completed")
        self.assertEqual(env["IGNITE_RUN_REASON"], "")
        self.assertEqual(env["IGNITE_RUN_OWNER"], "0")
        self.assertEqual(env["IGNITE_RUN_EPOCH"], "1")
        self.assertEqual(env["IGNITE_RUN_ITERATION"], str(st["iteration"]))
        metrics = json.loads(env["IGNITE_RUN_METRICS"])
        self.assertEqual(set(metrics), {"loss", "acc", "loss_avg", "val_acc"})
        self.assertAlmostEqual(metrics["acc"], st["metrics"]["acc"])
        whole = json.loads(env["IGNITE_RUN_JSON"])
        self.assertEqual(whole, {"id": rid, "name": "fit", "owner": 0, "event": "completed",
                                 "status": "completed", "reason": None, "epoch": 1,
                                 "iteration": st["iteration"], "metrics": metrics})
        # scrubbed: nothing of the daemon's environment but PATH
        extra = set(env) - {"PATH", "HOME", "USER", "LOGNAME", "LC_CTYPE"}
        self.assertTrue(all(k.startswith("IGNITE_RUN_") for k in extra), extra)
        self.assertEqual(got["cwd"], "/")
        self.wait_logged(rid, "notify[0] completed: %s exited with status 0" % PY)
        self.assertTrue([l for l in log_lines(self.c, rid)
                         if l.startswith("notify[0] completed: wrote completed-")])
        for event in ("failed", "terminated", "paused", "nan"):
            self.assertEqual(self.fired(event), [], event)

    def test_failed(self):
        spec = {"engine": [PY, "-c", "import sys; sys.exit(3)"], "data": "range:3",
                "worker": {"cwd": self.out}, "notify": self.notify()}
        rid = self.c.call("run", spec)["id"]
        st = wait_status(self.c, rid, ("failed",), 60)
        env = self.wait_fired("failed")[0]["env"]
        self.assertEqual(env["IGNITE_RUN_STATUS"], "failed")
        self.assertEqual(env["IGNITE_RUN_REASON"], st["reason"])
        self.assertIn("status 3", env["IGNITE_RUN_REASON"])
        self.assertEqual(json.loads(env["IGNITE_RUN_JSON"])["reason"], st["reason"])
        self.assertEqual(self.wait_fired("failed")[0]["cwd"], self.out)

    def test_paused_then_terminated(self):
        rid = self.c.call("run", sleep_spec(notify=self.notify()))["id"]
        wait_iteration(self.c, rid, 5)
        self.c.call("pause", {"id": rid})
        st = wait_status(self.c, rid, ("paused",), 60)
        env = self.wait_fired("paused")[0]["env"]
        self.assertEqual(env["IGNITE_RUN_STATUS"], "paused")
        self.assertEqual(env["IGNITE_RUN_ITERATION"], str(st["iteration"]))
        self.c.call("resume", {"id": rid})
        wait_iteration(self.c, rid, st["iteration"] + 5)
        self.c.call("terminate", {"id": rid})
        wait_status(self.c, rid, ("terminated",), 60)
        env = self.wait_fired("terminated")[0]["env"]
        self.assertEqual(env["IGNITE_RUN_STATUS"], "terminated")
        self.assertEqual(len(self.fired("paused")), 1)
        self.assertEqual(self.fired("completed"), [])

    def test_nan_once(self):
        """A learning rate that overflows: every loss from then on is not
        finite, and nan fires once."""
        spec = softmax_spec(epochs=2, notify=self.notify(on=["nan"]))
        spec["params"]["lr"] = 1e308
        spec["metrics"].append({"name": "batch_loss", "kind": "output", "field": "loss"})
        rid = self.c.call("run", spec)["id"]
        wait_status(self.c, rid, ("completed",), 120)
        env = self.wait_fired("nan")[0]["env"]
        self.assertEqual(env["IGNITE_RUN_EVENT"], "nan")
        self.assertEqual(env["IGNITE_RUN_STATUS"], "running")
        self.assertRegex(env["IGNITE_RUN_REASON"], r"^metric \w+ is (-?nan|-?inf) at iteration \d+$")
        self.wait_logged(rid, "notify[0] nan: %s exited with status 0" % PY)
        self.assertEqual(len(self.fired("nan")), 1)

    def test_only_the_entries_for_the_event(self):
        notify = self.notify(on=["failed"]) + self.notify(on=["completed", "failed"])
        rid = self.c.call("run", {"engine": "builtin:noop", "data": "range:3",
                                  "notify": notify})["id"]
        wait_status(self.c, rid, ("completed",), 60)
        self.wait_logged(rid, "notify[1] completed: %s exited with status 0" % PY)
        self.assertEqual(len(self.fired("completed")), 1)
        self.assertFalse([l for l in log_lines(self.c, rid) if l.startswith("notify[0]")])


class TestOwner(Case):
    def test_runs_as_the_owner(self):
        if os.getuid() != 0:
            self.skipTest("needs root to act as another uid")
        spec = {"engine": "builtin:noop", "data": "range:3", "notify": self.notify()}

        def check(c):
            return wait_status(c, c.call("run", spec)["id"], ("completed",), 60)
        self.assertEqual(as_nobody(self.d, check), 0)
        got = self.wait_fired("completed")[0]
        self.assertEqual((got["owner"], got["uid"], got["gid"]), (65534, 65534, 65534))
        self.assertEqual(got["env"]["IGNITE_RUN_OWNER"], "65534")
        self.assertEqual(got["env"]["USER"], "nobody")


class TestCommands(Case):
    def run_noop(self, exec_, **entry):
        spec = {"engine": "builtin:noop", "data": "range:3",
                "notify": [dict({"on": ["completed"], "exec": exec_}, **entry)]}
        rid = self.c.call("run", spec)["id"]
        wait_status(self.c, rid, ("completed",), 60)
        return rid

    def test_hanging_command_killed_at_its_timeout(self):
        """The command and what it started: the whole group."""
        marker = "1000.%d" % os.getpid()
        rid = self.run_noop(["sh", "-c", "echo hanging; sleep %s; echo never" % marker],
                            timeout_ms=300)
        self.wait_logged(rid, "notify[0] completed: sh killed after 300 ms, its timeout")
        lines = log_lines(self.c, rid)
        self.assertIn("notify[0] completed: hanging", lines)
        self.assertNotIn("notify[0] completed: never", lines)
        wait_for(lambda: not sleeping(marker), "the command's sleep to be killed")

    def test_killed_when_the_daemon_stops(self):
        marker = "1001.%d" % os.getpid()
        self.run_noop(["sh", "-c", "echo hanging; sleep %s" % marker])
        wait_for(lambda: sleeping(marker), "the command to start")
        self.c.close()
        self.d.signal(signal.SIGTERM)
        self.assertEqual(self.d.wait(), 0)
        self.assertIn("notify[0] completed: sh killed: the daemon stops", self.d.logtext())
        wait_for(lambda: not sleeping(marker), "the command's sleep to be killed")

    def test_failing_command_logged(self):
        rid = self.run_noop(["sh", "-c", "echo oops >&2; exit 7"])
        self.wait_logged(rid, "notify[0] completed: sh exited with status 7")
        self.assertIn("notify[0] completed: oops", log_lines(self.c, rid))

    def test_missing_program_logged(self):
        rid = self.run_noop(["/nonexistent/notify-me"])
        self.wait_logged(rid, "exited with status 122")
        self.assertTrue([l for l in log_lines(self.c, rid)
                         if "cannot start /nonexistent/notify-me" in l
                         and "no such file or directory" in l.lower()])

    def test_output_bounded(self):
        rid = self.run_noop(["sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x"])
        self.wait_logged(rid, "notify[0] completed: 134464 bytes of output past the "
                              "first 65536 dropped")
        self.wait_logged(rid, "sh exited with status 0")
        kept = [l for l in log_lines(self.c, rid) if l.startswith("notify[0] completed: xxx")]
        self.assertEqual(sum(len(l) for l in kept) - len(kept) * len("notify[0] completed: "),
                         65536)


class TestReadmeWebhook(Case):
    def test_the_readme_example_posts_the_run(self):
        """README.md's "Alerts" example, as written but for its URL, posts
        IGNITE_RUN_JSON to a local server."""
        got = []

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append((self.path, self.headers["Content-Type"], json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        with open(os.path.join(SRC, "README.md")) as f:
            section = f.read().split("\n## Alerts\n", 1)[1]
        block = section.split("\n\n")[1]
        notify = json.loads("{" + block.replace("https://hooks.example.com/T0/B0",
                                                "http://127.0.0.1:%d/hook" % server.server_port)
                            + "}")["notify"]
        rid = self.c.call("run", {"engine": "builtin:noop", "data": "range:3", "name": "hooked",
                                  "notify": notify})["id"]
        wait_status(self.c, rid, ("completed",), 60)
        self.wait_logged(rid, "notify[0] completed: sh exited with status 0")
        self.assertEqual(len(got), 1)
        path, ctype, body = got[0]
        self.assertEqual((path, ctype), ("/hook", "application/json"))
        self.assertEqual((body["id"], body["name"], body["event"], body["status"]),
                         (rid, "hooked", "completed", "completed"))


class TestRestarts(Case):
    def sentinel(self):
        """A second run's completed alert, over: the alerts the daemon's
        start would have fired were started before it (their records were
        enqueued first)."""
        rid = self.c.call("run", {"engine": "builtin:noop", "data": "range:3",
                                  "notify": self.notify(on=["completed"])})["id"]
        wait_status(self.c, rid, ("completed",), 60)
        self.wait_logged(rid, "notify[0] completed: %s exited with status 0" % PY)
        return rid

    def started(self, rid):
        return [l for l in log_lines(self.c, rid) if l.startswith("notify[0] completed: started ")]

    def test_no_second_fire_after_kill9(self):
        """Killed while its alert still runs, even."""
        gate = os.path.join(self.out, "gate")
        notify = [{"on": ["completed"],
                   "exec": ["sh", "-c", 'touch "$0.started"; while [ ! -e "$0" ]; do sleep 0.01; done; '
                            'exec "$1" -c "$2" "$3"', gate, PY, WRITE_ENV, self.out]}]
        rid = self.c.call("run", {"engine": "builtin:noop", "data": "range:3",
                                  "notify": notify})["id"]
        wait_status(self.c, rid, ("completed",), 60)
        wait_for(lambda: os.path.exists(gate + ".started"), "the alert to start")
        self.restart("kill")
        open(gate, "w").close()
        self.wait_fired("completed")
        self.sentinel()
        self.assertEqual(len(self.started(rid)), 1)
        self.assertEqual(sorted(f["env"]["IGNITE_RUN_ID"] for f in self.fired("completed")),
                         sorted([str(rid), str(rid + 1)]))

    def test_recorded_event_not_fired_again(self):
        """The store's record is what stops a second fire: a run whose end
        is in its checkpoint but not in its status (as a crash between the
        two leaves it) ends again at the daemon's start, at the same
        iteration; its completed alert, recorded, is not run again."""
        rid = self.c.call("run", {"engine": "builtin:noop", "data": "range:3",
                                  "notify": self.notify(on=["completed"])})["id"]
        wait_status(self.c, rid, ("completed",), 60)
        self.wait_fired("completed")
        self.c.close()
        self.d.signal(signal.SIGTERM)
        self.assertEqual(self.d.wait(), 0)
        db = sqlite3.connect(self.d.db)
        db.execute("UPDATE runs SET status = 'running', finished = NULL WHERE id = ?", (rid,))
        db.commit()
        db.close()
        self.d.start()
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        wait_status(self.c, rid, ("completed",), 60)
        self.sentinel()
        self.assertEqual(len([l for l in log_lines(self.c, rid)
                              if l == "completed at epoch 1, iteration 3"]), 2)
        self.assertEqual(len(self.started(rid)), 1)

    def test_not_paused_by_a_shutdown(self):
        rid = self.c.call("run", sleep_spec(notify=self.notify()))["id"]
        wait_iteration(self.c, rid, 5)
        self.restart("term")
        wait_status(self.c, rid, ("running",), 60)
        self.c.call("pause", {"id": rid})
        st = wait_status(self.c, rid, ("paused",), 60)
        env = self.wait_fired("paused")[0]["env"]
        self.assertEqual(env["IGNITE_RUN_ITERATION"], str(st["iteration"]))
        self.c.call("terminate", {"id": rid})
        wait_status(self.c, rid, ("terminated",), 60)
        self.wait_fired("terminated")
        self.assertEqual(len(self.fired("paused")), 1)


if __name__ == "__main__":
    IGNITED = os.path.abspath(sys.argv.pop(1))
    unittest.main()
