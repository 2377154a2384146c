#!/usr/bin/python3
"""The metrics endpoint (ignited --metrics-listen, issue 20): a real
ignited serving GET /metrics, scraped every second by a real Prometheus
(Debian's prometheus) from a generated configuration in a temporary
directory; the series are checked through Prometheus's HTTP API.  Also the
HTTP server's strictness (400, 404, 405, 431), a stalled client that
blocks nobody, and the refusal of a non-loopback address.
usage: test_metrics.py IGNITED [unittest args]
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon import (Daemon, as_uid, softmax_spec, stop_process, wait_for,  # noqa: E402
                    wait_status)

IGNITED = None
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
OTHER = 65533


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sleep_spec(name, n=1000000):
    return {"name": name, "engine": "builtin:sleep", "params": {"ms": 2},
            "data": "range:%d" % n, "checkpoint": {"epoch_completed": False}}


def http_raw(port, data, timeout=10):
    """Send data on a fresh connection; everything answered until EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def status_line(answer):
    return answer.split(b"\r\n", 1)[0].decode()


class Prometheus:
    """A real Prometheus scraping 127.0.0.1:target every second, in its
    own temporary directory; stop() ends and reaps it."""

    def __init__(self, target):
        self.dir = tempfile.mkdtemp(prefix="ignite-prom-")
        self.port = free_port()
        self.config = os.path.join(self.dir, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write("global:\n"
                    "  scrape_interval: 1s\n"
                    "  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\n"
                    "scrape_configs:\n"
                    "  - job_name: ignited\n"
                    "    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % target)
        self.log = os.path.join(self.dir, "prometheus.log")
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen(
                [PROMETHEUS, "--config.file=" + self.config,
                 "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port],
                stdout=logf, stderr=logf, cwd=self.dir)
        wait_for(self.ready, "prometheus to be ready:\n" + self.logtext, 60)

    @property
    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def get(self, path):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read()

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("prometheus exited %d:\n%s" % (self.proc.returncode,
                                                                self.logtext))
        try:
            return self.get("/-/ready") is not None
        except OSError:
            return False

    def query(self, q):
        """The instant vector q, as {frozenset(labels): value}."""
        body = json.loads(self.get("/api/v1/query?" + urllib.parse.urlencode({"query": q})))
        assert body["status"] == "success", body
        return {frozenset((k, v) for k, v in r["metric"].items() if k not in ("job", "instance")):
                float(r["value"][1]) for r in body["data"]["result"]}

    def value(self, q):
        """The single value of q, or None while it has none."""
        got = self.query(q)
        assert len(got) <= 1, (q, got)
        return next(iter(got.values()), None)

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class MetricsEndpoint(unittest.TestCase):
    def setUp(self):
        self.port = free_port()
        self.d = Daemon(IGNITED, extra=["--metrics-listen", "127.0.0.1:%d" % self.port]).start()
        self.addCleanup(self.d.remove)
        self.c = self.d.client()
        self.addCleanup(self.c.close)

    def scrape(self):
        url = "http://127.0.0.1:%d/metrics" % self.port
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.headers["Content-Type"], r.read().decode()

    def test_prometheus_scrapes_the_runs(self):
        done = self.c.call("run", softmax_spec(name="digits", epochs=2))["id"]
        st = wait_status(self.c, done, ("completed", "failed"))
        self.assertEqual(st["status"], "completed", st.get("reason"))
        # another owner's run, counted under its uid
        self.assertEqual(as_uid(self.d, OTHER, lambda c: wait_status(
            c, c.call("run", {"engine": "builtin:noop", "data": "range:3"})["id"],
            ("completed",))), 0)
        running = self.c.call("run", sleep_spec("sleeper"))["id"]
        wait_status(self.c, running, ("running",))

        prom = Prometheus(self.port)
        self.addCleanup(prom.stop)
        wait_for(lambda: prom.value('up{job="ignited"}') == 1, "the target to be up", 60)
        targets = json.loads(prom.get("/api/v1/targets"))["data"]["activeTargets"]
        self.assertEqual([t["health"] for t in targets], ["up"], targets)

        # a running run's iteration series increases between scrapes
        q = 'ignited_run_iteration{run="%d",name="sleeper",owner="0"}' % running
        first = wait_for(lambda: prom.value(q), "the running run's iteration", 60)
        wait_for(lambda: (prom.value(q) or 0) > first, "the iteration to increase", 60)
        rate = 'ignited_run_iterations_per_second{run="%d"}' % running
        wait_for(lambda: (prom.value(rate) or 0) > 0, "a rate for the running run", 60)

        # the completed runs, counted by status and owner
        self.assertEqual(prom.value('ignited_runs{status="completed",owner="0"}'), 1)
        self.assertEqual(prom.value('ignited_runs{status="running",owner="0"}'), 1)
        self.assertEqual(prom.value('ignited_runs{status="completed",owner="%d"}' % OTHER), 1)
        self.assertEqual(prom.value('ignited_runs{status="failed",owner="0"}'), 0)

        # a metric's value is the status answer's, to the last bit
        st = self.c.call("status", {"id": done})
        for name, value in st["metrics"].items():
            got = prom.value('ignited_run_metric{run="%d",metric="%s"}' % (done, name))
            self.assertEqual(got, value, name)
        self.assertEqual(prom.value('ignited_run_iteration{run="%d"}' % done), st["iteration"])
        self.assertEqual(prom.value('ignited_run_progress{run="%d"}' % done), 1)

        # the daemon's own series
        self.assertGreater(prom.value("ignited_store_commit_seconds_count"), 0)
        self.assertGreater(prom.value("ignited_checkpoint_bytes_count"), 0)
        self.assertGreater(prom.value("ignited_checkpoint_seconds_count"), 0)
        self.assertGreaterEqual(prom.value('ignited_requests_total{method="status"}'), 1)
        self.assertEqual(prom.value("ignited_connections"), 1)  # self.c
        self.assertIsNotNone(prom.value("ignited_store_queue_depth"))
        self.assertIsNotNone(prom.value("ignited_store_queue_bytes"))
        self.assertEqual(prom.value("ignited_worker_restarts_total"), 0)
        self.assertEqual(prom.value("ignited_metrics_series_dropped_total"), 0)
        self.c.call("terminate", {"id": running})

    def test_strict_http(self):
        p = self.port
        ok = http_raw(p, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(status_line(ok), "HTTP/1.1 200 OK")
        self.assertIn(b"\r\nConnection: close\r\n", ok)
        self.assertIn(b"\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n", ok)
        self.assertEqual(status_line(http_raw(p, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n")),
                         "HTTP/1.1 200 OK")
        cases = [
            (b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "405 Method Not Allowed"),
            (b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "405 Method Not Allowed"),
            (b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n", "404 Not Found"),
            (b"GET /metrics HTTP/1.1\r\n\r\n", "400 Bad Request"),  # no Host
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "400 Bad Request"),
            (b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", "400 Bad Request"),
            (b"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "400 Bad Request"),
            (b"GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", "400 Bad Request"),
            (b"GET /metrics HTTP/1.1\nHost: x\r\n\r\n", "400 Bad Request"),  # bare LF
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "400 Bad Request"),
            (b"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", "400 Bad Request"),
            (b"GET /metrics HTTP/1.1\r\nHost: x\x00y\r\n\r\n", "400 Bad Request"),
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
             "400 Bad Request"),
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
             "400 Bad Request"),
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n",
             "431 Request Header Fields Too Large"),
        ]
        for req, want in cases:
            self.assertEqual(status_line(http_raw(p, req)), "HTTP/1.1 " + want, req[:60])
        # the daemon is still there and serves
        self.c.call("ping")

    def test_stalled_clients_block_nobody(self):
        """Connections that send half a request and wait take no scrape's
        turn; past the limit they are dropped, and each goes at its deadline."""
        stalled = []
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=15)
            s.sendall(b"GET /metr")
            stalled.append(s)
        self.addCleanup(lambda: [s.close() for s in stalled])
        self.c.call("ping")
        # over the limit of 16, the newest are closed at once
        closed = 0
        for s in stalled[16:]:
            s.settimeout(5)
            try:
                closed += s.recv(1) == b""
            except (ConnectionResetError, socket.timeout):
                closed += 1
        self.assertEqual(closed, 4)
        for s in stalled[16:]:
            s.close()
        # the others are closed at their deadline (10 s), unanswered
        start = time.time()
        self.assertEqual(stalled[0].recv(1), b"")
        self.assertLess(time.time() - start, 12)
        for s in stalled[:16]:
            s.close()
        # the last of them may still hold a place a moment: a scrape then
        # is refused at once, as the limit says, until they are gone
        def scraped():
            try:
                return self.scrape()[1]
            except (ConnectionError, urllib.error.URLError):
                return None
        wait_for(scraped, "a scrape once the stalled are gone", 15)

    def test_non_loopback_refused(self):
        for addr in ("0.0.0.0:%d" % self.port, "10.1.2.3:9464", "[::]:9464"):
            r = subprocess.run([IGNITED, "--socket", os.path.join(self.d.dir, "x.sock"),
                                "--db", os.path.join(self.d.dir, "x.db"),
                                "--metrics-listen", addr],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("not a loopback address", r.stderr)
            self.assertIn("--metrics-public", r.stderr)
        r = subprocess.run([IGNITED, "--metrics-listen", "localhost:9464"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("numeric", r.stderr)


if __name__ == "__main__":
    IGNITED = os.path.abspath(sys.argv.pop(1))
    unittest.main()
