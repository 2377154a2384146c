#!/usr/bin/python3
"""ignitectl dashboard end to end: the real ignitectl serving the page
against a real ignited, the page in headless Chromium (dashboard_browser.js,
playwright-core from web/node_modules), requests without the token or from
elsewhere refused.  As root (a run's resources, tags, place in the queue,
checkpoints and spec shown), and as uid 65534 beside root's runs (their
spec and checkpoints not).  The
owner's scenario takes the screenshot docs/dashboard.png is made from
(IGNITE_SCREENSHOT=PATH keeps it).

usage: test_dashboard.py IGNITECTL IGNITED [unittest args]
"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
from daemon import (PY, PYPATH, SRC, Daemon, as_nobody,  # noqa: E402
                    wait_status)

IGNITECTL = IGNITED = None
NODE = "/usr/bin/node"
BROWSER = os.path.join(HERE, "dashboard_browser.js")
SLOW = os.path.join(SRC, "tests", "workers", "slow_worker.py")
NOBODY = 65534


def slow_spec(ms, n, name):
    """A run whose `count` curve grows by one point an iteration."""
    return {"engine": [PY, SLOW, str(ms)], "data": "range:%d" % n, "max_epochs": 1,
            "name": name, "worker": {"env": PYPATH},
            "metrics": [{"name": "count", "kind": "output", "field": "count"}]}


def as_user(uid):
    def drop():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    return drop


class Dashboard:
    """`ignitectl dashboard` on a free port, as uid (None: as we are)."""

    def __init__(self, socket, uid=None):
        self.proc = subprocess.Popen(
            [IGNITECTL, "--socket", socket, "--json", "dashboard"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=as_user(uid) if uid is not None else None)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("dashboard did not start: %r" % self.proc.stderr.read())
        first = json.loads(line)
        self.url, self.port = first["url"], first["port"]
        self.token = re.search(r"token=([0-9a-f]+)", self.url).group(1)

    def request(self, method, path, headers=None, host=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.putrequest(method, path, skip_host=True)
            c.putheader("Host", host or "127.0.0.1:%d" % self.port)
            for k, v in (headers or {}).items():
                c.putheader(k, v)
            c.endheaders()
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def stop(self):
        """SIGTERM, as Ctrl-C would; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "killed"
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()


def browse(scenario, **args):
    """Run a scenario of dashboard_browser.js; what it saw."""
    p = subprocess.Popen([NODE, BROWSER, scenario, json.dumps(args)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)  # node and its Chromium
        out, err = p.communicate()
    if p.returncode != 0:
        raise AssertionError("%s in the browser failed:\n%s" % (scenario, err.decode()))
    return json.loads(out.decode().strip().splitlines()[-1])


class Case(unittest.TestCase):
    EXTRA = ()

    def setUp(self):
        self.d = Daemon(IGNITED, extra=self.EXTRA).start()
        self.addCleanup(self.d.remove)
        self.c = self.d.client()
        self.addCleanup(self.c.close)

    def dashboard(self, uid=None):
        dash = Dashboard(self.d.socket, uid)
        self.addCleanup(lambda: self.assertEqual(dash.stop(), 0))
        return dash


class TestAsOwner(Case):
    EXTRA = ("--cpus", "1")  # the live run holds it: the next one queues

    def test_live_run_curve_compare_and_terminate(self):
        spec = slow_spec(1, 300, "before")
        spec["checkpoint"] = {"every": 100, "best": {"metric": "count"}}
        done = self.c.call("run", spec)["id"]
        wait_status(self.c, done, ("completed",))
        spec = slow_spec(20, 100000, "live")
        spec["tags"] = {"team": "vision", "lr": "0.1"}
        live = self.c.call("run", spec)["id"]
        wait_status(self.c, live, ("running",))
        queued = self.c.call("run", slow_spec(20, 100, "next"))["id"]
        self.assertEqual(self.c.call("status", {"id": queued})["status"], "queued")
        dash = self.dashboard()
        shot = os.environ.get("IGNITE_SCREENSHOT") or os.path.join(
            tempfile.mkdtemp(prefix="dash-shot-"), "dashboard.png")
        seen = browse("owner", url=dash.url, run=live, other=done, queued=queued,
                      metric="count", screenshot=shot)
        self.assertEqual(seen["errors"], [])
        self.assertIn(live, seen["listed"])
        self.assertIn(done, seen["listed"])
        self.assertIn("resources", seen["head"])
        self.assertEqual(seen["resources"], "1 CPU")
        self.assertEqual(seen["tags"], ["lr=0.1", "team=vision"])
        self.assertEqual(seen["queued"], "queued #1waits for 1 CPU slot")
        # the checkpoints the daemon keeps, newest first, and the spec as text
        kept = self.c.call("checkpoints", {"id": done})["checkpoints"]
        self.assertTrue(kept)
        self.assertEqual([int(row[0]) for row in seen["checkpoints"]],
                         [c["iteration"] for c in reversed(kept)])
        self.assertIn("best", [row[5] for row in seen["checkpoints"]][0])
        self.assertEqual(seen["spec"]["name"], "before")
        self.assertEqual(seen["spec"]["checkpoint"]["every"], 100)
        self.assertEqual(seen["spec_elements"], 0)
        self.assertLess(seen["points"][0], seen["points"][1])  # the curve grew
        self.assertEqual(seen["legend"][1:], ["run %d" % live, "run %d" % done])
        self.assertIn("Terminate run %d" % live, seen["dialog"])
        self.assertEqual(wait_status(self.c, live, ("terminated",))["status"], "terminated")
        self.assertGreater(os.path.getsize(shot), 1000)


class TestAnotherUser(Case):
    def test_others_runs_keep_their_private_parts(self):
        theirs = self.c.call("run", slow_spec(20, 100000, "roots"))["id"]
        wait_status(self.c, theirs, ("running",))
        spec = {"engine": "builtin:sleep", "params": {"ms": 20}, "data": "range:100000",
                "name": "mine"}
        self.assertEqual(as_nobody(self.d, lambda c: c.call("run", spec)), 0)
        mine = [r["id"] for r in self.c.call("list")["runs"] if r["owner"] == NOBODY][0]
        dash = self.dashboard(NOBODY)
        seen = browse("other", url=dash.url, theirs=theirs, mine=mine)
        self.assertEqual(seen["errors"], [])
        # PROTOCOL.md, "Who may do what": list shows every run to anyone
        self.assertEqual(sorted(seen["listed"]), sorted([theirs, mine]))
        self.assertEqual(seen["listed_mine"], [mine])
        self.assertEqual(seen["log_refused"], "PERMISSION_DENIED")
        # root's spec and checkpoints: a short note, never their content
        for what in ("spec", "checkpoints"):
            self.assertEqual(seen[what + "_refused"], "PERMISSION_DENIED")
            self.assertEqual(seen[what + "_text"], "Only its owner and root may see this.")
        self.assertEqual(seen["spec_shown"], 0)
        self.assertEqual(seen["own_spec"]["name"], "mine")
        self.assertIn("Only the run's owner and root", seen["controls"])
        self.assertEqual(seen["buttons"], 0)
        self.assertNotIn("reason", seen["facts"])
        self.assertEqual(seen["post"]["status"], 403)
        self.assertEqual(seen["post"]["body"]["code"], "PERMISSION_DENIED")
        self.assertEqual(seen["own_buttons"], 4)
        self.assertEqual(self.c.call("status", {"id": theirs})["status"], "running")
        for rid in (theirs, mine):
            self.c.call("terminate", {"id": rid})


class TestRefused(Case):
    def test_requests_without_the_token_or_from_elsewhere(self):
        dash = self.dashboard()
        tok = {"X-Ignite-Token": dash.token}
        origin = "http://127.0.0.1:%d" % dash.port
        self.assertEqual(dash.request("GET", "/?token=" + dash.token)[0], 200)
        self.assertEqual(dash.request("GET", "/api/runs", tok)[0], 200)
        self.assertEqual(dash.request("GET", "/api/runs", tok,
                                      host="localhost:%d" % dash.port)[0], 200)
        for what, (method, path, headers, host) in {
            "no token": ("GET", "/", {}, None),
            "no token, API": ("GET", "/api/runs", {}, None),
            "no token, stream": ("GET", "/api/events", {}, None),
            "no token, a file": ("GET", "/app.js", {}, None),
            "a wrong token": ("GET", "/?token=" + "0" * 32, {}, None),
            "a token cut short": ("GET", "/?token=" + dash.token[:-1], {}, None),
            "a rebound name": ("GET", "/?token=" + dash.token, {}, "evil.example:%d" % dash.port),
            "another port": ("GET", "/?token=" + dash.token, {}, "127.0.0.1:1"),
            "a POST from elsewhere": ("POST", "/api/runs/1/pause",
                                      dict(tok, Origin="http://evil.example"), None),
            "a POST without Origin": ("POST", "/api/runs/1/pause", tok, None),
            "a cross-site POST": ("POST", "/api/runs/1/pause",
                                  dict(tok, Origin=origin, **{"Sec-Fetch-Site": "cross-site"}),
                                  None),
        }.items():
            with self.subTest(what):
                status, body = dash.request(method, path, headers, host)
                self.assertEqual(status, 403, body)
        # a same-origin POST with the token reaches the daemon
        status, body = dash.request("POST", "/api/runs/1/pause", dict(tok, Origin=origin))
        self.assertEqual((status, json.loads(body)["code"]), (404, "NOT_FOUND"))

    def test_strict_http(self):
        dash = self.dashboard()
        tok = {"X-Ignite-Token": dash.token}
        self.assertEqual(dash.request("PUT", "/", tok)[0], 405)
        self.assertEqual(dash.request("GET", "/api/runs", dict(tok, **{"X-Big": "a" * 9000}))[0],
                         431)
        self.assertEqual(dash.request("GET", "/api/runs", dict(tok, **{"Content-Length": "99999"}))[0],
                         413)
        self.assertEqual(dash.request("GET", "/api/runs",
                                      dict(tok, **{"Transfer-Encoding": "chunked"}))[0], 501)
        self.assertEqual(dash.request("GET", "/api/runs/x1", tok)[0], 404)
        self.assertEqual(dash.request("GET", "/api/runs/1/metrics?max_points=%00", tok)[0], 400)
        # a request that never ends is cut off, and the server serves on
        import socket
        s = socket.create_connection(("127.0.0.1", dash.port))
        s.sendall(b"GET / HTTP/1.1\r\n")
        s.settimeout(30)
        self.assertIn(b"408", s.recv(4096))
        s.close()
        self.assertEqual(dash.request("GET", "/api/me", tok)[0], 200)


if __name__ == "__main__":
    IGNITECTL, IGNITED = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    del sys.argv[1:3]
    unittest.main(verbosity=2)
