#!/usr/bin/python3
"""ignitectl end to end: the real binary against a real ignited.

usage: test_ignitectl.py IGNITECTL IGNITED
"""
import json
import os
import pty
import re
import select
import subprocess
import sys
import tempfile
import time
import unittest

DIGITS = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Daemon:
    """ignited on a socket and database in a fresh directory.  Readiness is
    checked with `ignitectl ping`, so this needs no msgpack module."""

    def __init__(self, binary):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="ignitectl-e2e-")
        os.chmod(self.dir, 0o700)
        self.socket = os.path.join(self.dir, "run", "ignited.sock")
        self.log = os.path.join(self.dir, "ignited.log")
        self.proc = None

    def start(self):
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(
                [self.binary, "--socket", self.socket, "--db",
                 os.path.join(self.dir, "ignite.db"), "--cpus", "256"], stdout=logf, stderr=logf)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ignited exited %d:\n%s"
                                   % (self.proc.returncode, self.logtext()))
            if subprocess.run([CTL, "--socket", self.socket, "ping"],
                              capture_output=True).returncode == 0:
                return self
            time.sleep(0.05)
        raise RuntimeError("ignited did not come up:\n" + self.logtext())

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """SIGTERM it; it must exit 0, with no sanitizer report in its log
        (one at shutdown is seen only here)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        text = self.logtext()
        if self.proc.returncode != 0 or "Sanitizer" in text or "runtime error" in text:
            raise AssertionError("ignited exited %d; its log %s:\n%s"
                                 % (self.proc.returncode, self.log, text[-4000:]))


CTL = None
IGNITED = None

SUMMARY_KEYS = {"id", "name", "owner", "owner_name", "status", "epoch", "max_epochs", "iteration",
                "epoch_length", "rate", "metrics", "reason", "created", "started",
                "finished", "resources", "priority", "queue", "tags", "preempted_by",
                "throttled"}

SOFTMAX = {
    "engine": "builtin:softmax",
    "params": {"lr": 0.5, "momentum": 0.5, "classes": 10},
    "data": {"kind": "csv", "path": DIGITS, "header": False, "label": 64,
             "batch_size": 32, "shuffle": True, "split": 0.2, "scale": 16},
    "max_epochs": 3, "seed": 1,
    "metrics": [{"name": "loss", "kind": "loss", "field": "loss"},
                {"name": "val_acc", "kind": "accuracy", "field": "y_pred",
                 "target": "y", "split": "val"}],
    "handlers": [{"event": "EPOCH_COMPLETED", "action": "evaluate"}],
}

SLEEP = ["--engine", "builtin:sleep", "--param", "ms=5", "--data", "range:1000",
         "--max-epochs", "50"]


class IgnitectlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(IGNITED).start()
        cls.tmp = tempfile.mkdtemp(prefix="ignitectl-e2e-")
        cls.spec = os.path.join(cls.tmp, "digits.json")
        with open(cls.spec, "w") as f:
            json.dump(SOFTMAX, f)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def ctl(self, *args, code=0, timeout=120, cwd=None):
        p = subprocess.run([CTL, "--socket", self.daemon.socket] + list(args),
                           capture_output=True, text=True, timeout=timeout, cwd=cwd)
        self.assertEqual(p.returncode, code,
                         "ignitectl %s: exit %d\nstdout: %s\nstderr: %s\ndaemon log:\n%s"
                         % (" ".join(args), p.returncode, p.stdout, p.stderr,
                            self.daemon.logtext()[-3000:]))
        return p

    def json(self, *args, code=0):
        return json.loads(self.ctl("--json", *args, code=code).stdout)

    def wait_status(self, run, statuses, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.json("status", run)
            if st["status"] in statuses:
                return st
            time.sleep(0.05)
        self.fail("run %s never reached %s" % (run, statuses))

    def start_sleeper(self, name):
        out = self.ctl("run", *SLEEP, "--name", name).stdout
        run = out.strip()
        self.assertTrue(run.isdigit(), out)
        self.wait_status(run, {"running"})
        return run

    # ---- the commands, human and --json ---------------------------------

    def test_checkpoints(self):
        """checkpoints lists the run's committed checkpoints oldest first,
        as a table and as JSON (a state small enough is kept in the
        database: no file); other users may not list them."""
        run = self.ctl("run", "--spec", self.spec, "--name", "ckpts").stdout.strip()
        self.wait_status(run, {"completed"}, timeout=120)
        doc = self.json("checkpoints", run)
        self.assertEqual(doc["id"], int(run))
        cks = doc["checkpoints"]
        self.assertTrue(cks)
        self.assertEqual(set(cks[0]), {"iteration", "epoch", "size", "time", "score", "file",
                                       "last", "best"})
        its = [c["iteration"] for c in cks]
        self.assertEqual(its, sorted(its))
        self.assertEqual(cks[-1]["epoch"], 3)
        self.assertTrue(all(c["file"] is None and c["size"] > 0 and c["last"]
                            and not c["best"] and c["score"] is None for c in cks), cks)
        lines = self.ctl("checkpoints", run).stdout.splitlines()
        self.assertEqual(lines[0].split(), ["ITERATION", "EPOCH", "SIZE", "TIME", "SCORE",
                                            "KEPT", "FILE"])
        self.assertEqual(len(lines), len(cks) + 1)
        self.assertTrue(lines[-1].endswith("last  (in the database)"), lines)
        for path, mode in ((self.daemon.dir, 0o755),
                           (os.path.dirname(self.daemon.socket), 0o755),
                           (self.daemon.socket, 0o666)):
            os.chmod(path, mode)
        p = subprocess.run([CTL, "--socket", self.daemon.socket, "checkpoints", run],
                           capture_output=True, text=True, timeout=60, cwd="/",
                           preexec_fn=lambda: (os.setgid(1234), os.setuid(1234)))
        os.chmod(self.daemon.dir, 0o700)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("PERMISSION_DENIED", p.stderr)
        self.ctl("checkpoints", "999999", code=1)

    def test_owner_by_name(self):
        """ls and status name the owner (root), or give the uid of an owner
        without a name (1234); --json has both."""
        mine = self.start_sleeper("owned-by-root")
        for path, mode in ((self.daemon.dir, 0o755),
                           (os.path.dirname(self.daemon.socket), 0o755),
                           (self.daemon.socket, 0o666)):
            os.chmod(path, mode)
        p = subprocess.run([CTL, "--socket", self.daemon.socket, "run", *SLEEP,
                            "--name", "owned-by-1234"], capture_output=True,
                           text=True, timeout=60, cwd="/",
                           preexec_fn=lambda: (os.setgid(1234), os.setuid(1234)))
        os.chmod(self.daemon.dir, 0o700)
        self.assertEqual(p.returncode, 0, p.stderr)
        other = p.stdout.strip()
        rows = {l.split()[1]: l.split()[2] for l in self.ctl("ls").stdout.splitlines()[1:]}
        self.assertEqual(rows["owned-by-root"], "root")
        self.assertEqual(rows["owned-by-1234"], "1234")
        self.assertRegex(self.ctl("status", mine).stdout, r"owner\s+root\n")
        self.assertRegex(self.ctl("status", other).stdout, r"owner\s+1234\n")
        st = self.json("status", mine)
        self.assertEqual((st["owner"], st["owner_name"]), (0, "root"))
        st = self.json("status", other)
        self.assertEqual((st["owner"], st["owner_name"]), (1234, None))
        self.ctl("terminate", mine)
        self.ctl("terminate", other)

    def test_daemon_commands(self):
        self.assertIn("is alive", self.ctl("ping").stdout)
        self.assertEqual(set(self.json("ping")), {"ok", "latency_ms"})
        out = self.ctl("version").stdout
        self.assertIn("ignitectl", out)
        self.assertIn("ignited", out)
        v = self.json("version")
        self.assertEqual(v["protocol"], 1)
        self.assertTrue(v["daemon"].startswith("ignited"))

    def test_run_follow_and_reads(self):
        p = self.ctl("run", "--spec", self.spec, "--name", "digits", "--follow")
        lines = p.stdout.splitlines()
        run = lines[0]
        self.assertTrue(run.isdigit())
        self.assertIn("completed", lines[-1])
        self.assertIn("EPOCH_COMPLETED", p.stdout)
        # each epoch's metrics are told at the epoch they belong to: the
        # one of the EPOCH_COMPLETED event that follows them
        pending, told = None, 0
        for l in lines:
            if l.startswith("metrics at epoch"):
                pending = int(l.split()[3].split("/")[0])
            elif l.startswith("event EPOCH_COMPLETED") and pending is not None:
                self.assertEqual(pending, int(l.split()[4].rstrip(",")), l)
                pending, told = None, told + 1
        self.assertGreater(told, 0)

        # ls: a table with a header and our run, by name
        out = self.ctl("ls").stdout.splitlines()
        self.assertEqual(out[0].split()[:4], ["ID", "NAME", "OWNER", "STATUS"])
        row = [l for l in out if " digits " in l][0]
        self.assertIn("completed", row)
        self.assertIn("3/3", row)
        self.assertIn("val_acc=", row)
        runs = self.json("ls")["runs"]
        self.assertTrue(any(r["name"] == "digits" for r in runs))
        for r in runs:
            self.assertEqual(set(r), SUMMARY_KEYS)
        self.assertTrue(all(r["status"] == "completed"
                            for r in self.json("ls", "--status", "completed")["runs"]))

        # status by name and by id
        out = self.ctl("status", "digits").stdout
        self.assertRegex(out, r"status\s+completed")
        self.assertRegex(out, r"epoch\s+3/3")
        st = self.json("status", run)
        self.assertEqual(set(st), SUMMARY_KEYS)
        self.assertEqual(st["status"], "completed")
        self.assertGreater(st["metrics"]["val_acc"], 0.8)

        # state, and a run from it
        self.assertRegex(self.ctl("state", "digits").stdout, r"iteration\s+\d+")
        state = self.json("state", "digits")
        self.assertIn("iteration", state)
        self.assertIn("epoch_length", state)
        sfile = os.path.join(self.tmp, "state.json")
        with open(sfile, "w") as f:
            json.dump(state, f)

        # metrics in every form, all pages
        out = self.ctl("metrics", "digits").stdout.splitlines()
        self.assertEqual(out[0].split(), ["NAME", "EPOCH", "ITERATION", "TIME", "VALUE"])
        self.assertEqual(len(out), 1 + 6)
        csv = self.ctl("metrics", run, "--csv", "--name", "loss").stdout.splitlines()
        self.assertEqual(csv[0], "name,epoch,iteration,time,value")
        self.assertEqual(len(csv), 4)
        m = self.json("metrics", run, "--epochs", "--from", "2", "--to", "3")
        self.assertEqual(set(m), {"id", "axis", "series"})
        self.assertEqual(m["axis"], "epoch")
        self.assertEqual([p["epoch"] for p in m["series"]["loss"]], [2, 3])
        self.assertEqual(set(m["series"]["loss"][0]), {"epoch", "iteration", "time", "value"})
        m = self.json("metrics", run, "--max-points", "1")
        self.assertEqual(len(m["series"]["val_acc"]), 1)
        plot = self.ctl("metrics", run, "--plot", "--epochs").stdout
        self.assertIn("loss by epoch", plot)
        self.assertIn("└", plot)
        self.assertTrue(any(0x2800 < ord(c) <= 0x28ff for c in plot))

        # logs
        self.ctl("logs", "digits")
        lg = self.json("logs", "digits", "--tail", "2")
        self.assertEqual(set(lg), {"id", "lines"})
        self.assertLessEqual(len(lg["lines"]), 2)

        # resume a completed run with more epochs, then watch it end
        out = self.ctl("resume", "digits", "--max-epochs", "4").stdout
        self.assertIn("resumes", out)
        self.ctl("watch", "digits")
        self.assertEqual(self.json("status", "digits")["epoch"], 4)

        # from a state: the 3 epochs of 45 iterations done, the 4th to do
        self.assertEqual((state["iteration"], state["epoch_length"]), (135, 45))
        p = self.ctl("--json", "run", "--spec", self.spec, "--from-state", sfile,
                     "--max-epochs", "4", "--follow")
        docs = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertIn("id", docs[0])
        self.assertEqual(docs[-1]["type"], "status")
        self.assertEqual(docs[-1]["status"], "completed")
        # its history holds the 4th epoch alone: it started at iteration 135
        m = self.json("metrics", str(docs[0]["id"]))["series"]
        self.assertEqual([(p["epoch"], p["iteration"]) for p in m["loss"]], [(4, 180)])
        self.assertEqual([(p["epoch"], p["iteration"]) for p in m["val_acc"]], [(4, 180)])

        # rm
        self.assertIn("deleted", self.ctl("rm", "digits").stdout)
        self.ctl("status", "digits", code=1)

    def test_exec_worker_runs_where_it_was_asked_from(self):
        """README: `ignitectl run --engine "exec:python3 train.py"` from the
        project's directory: the worker's cwd is ignitectl's."""
        project = tempfile.mkdtemp(prefix="ignitectl-project-")
        self.addCleanup(subprocess.run, ["rm", "-rf", project])
        with open(os.path.join(project, "train.py"), "w") as f:
            f.write("import os, sys\n"
                    "sys.path.insert(0, %r)\n"
                    "import ignite_worker\n"
                    "here = os.getcwd()\n"
                    "ignite_worker.serve(lambda e, b: {'here': float(here == %r)})\n"
                    % (os.path.join(SRC, "python"), project))
        out = self.ctl("run", "--engine", "exec:/usr/bin/python3 train.py", "--data", "range:4",
                       "--metric", "here=output:here", "--follow", cwd=project).stdout
        self.assertIn("completed", out.splitlines()[-1], out)
        self.assertEqual(self.json("status", out.splitlines()[0])["metrics"]["here"], 1.0)

    def test_example_specs_run(self):
        """Every spec in examples/specs/ (examples/data/README.md) runs as
        it is; the short ones to the end with what the README says."""
        specs = os.path.join(SRC, "examples", "specs")
        for name in sorted(os.listdir(specs)):
            run = self.ctl("run", "--spec", os.path.join(specs, name)).stdout.strip()
            if name == "digits.json":   # 3000 epochs: a run to watch
                self.wait_status(run, {"running"})
                self.ctl("terminate", run)
                self.wait_status(run, {"terminated"})
                continue
            st = self.wait_status(run, {"completed", "failed"}, timeout=120)
            self.assertEqual(st["status"], "completed", (name, st["reason"]))
            if name == "iris.json":
                self.assertGreaterEqual(st["metrics"]["val_acc"], 0.9)
            if name == "meanstd.json":
                self.assertEqual(sorted(k for k in st["metrics"] if k.startswith("std.")),
                                 ["std.0", "std.1", "std.2", "std.3"])

    def test_run_from_flags(self):
        out = self.ctl("run", "--engine", "builtin:softmax", "--data", "csv:" + DIGITS,
                       "--no-header", "--label", "64", "--batch-size", "64",
                       "--split", "0.2", "--param", "lr=0.5", "--param", "classes=10",
                       "--metric", "loss=loss:loss", "--metric", "val_acc=accuracy,split=val",
                       "--handler", "EPOCH_COMPLETED:evaluate",
                       "--handler", "EPOCH_COMPLETED,every=1:log,message=done",
                       "--max-epochs", "2", "--seed", "3", "--follow").stdout
        self.assertIn("completed", out.splitlines()[-1])
        run = out.splitlines()[0]
        self.assertIn("val_acc", self.json("status", run)["metrics"])

    def test_actions_and_watch_outcomes(self):
        run = self.start_sleeper("sleeper")
        # pause and terminate wait until the run has stopped: the status
        # they print is already the new one; --no-wait answers at once
        self.assertIn("paused after its current iteration (status paused)",
                      self.ctl("pause", "sleeper").stdout)
        self.assertEqual(self.json("status", run)["status"], "paused")
        self.assertEqual(self.json("resume", run)["status"], "running")
        # (the daemon may have paused it before it answers)
        self.assertRegex(self.ctl("pause", "--no-wait", "sleeper").stdout,
                         r"pauses after its current iteration \(status (running|paused)\)")
        self.wait_status(run, {"paused"})
        self.assertEqual(self.json("resume", run)["status"], "running")
        self.ctl("terminate-epoch", "sleeper")
        self.assertEqual(set(self.json("terminate-epoch", run)), {"id"})
        # non-tty watch: plain lines; terminated gives exit 3.  Its first
        # line says it watches.
        watcher = subprocess.Popen([CTL, "--socket", self.daemon.socket, "watch", run],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = watcher.stdout.readline()
        self.assertIn("stopped after its current iteration (status terminated)",
                      self.ctl("terminate", "sleeper").stdout)
        out, err = watcher.communicate(timeout=60)
        out = first + out
        self.assertEqual(watcher.returncode, 3, err)
        self.assertNotIn("\033[", out)
        self.assertIn("terminated", out.splitlines()[-1])
        # an ended run: watch answers at once, --json gives JSON lines
        p = self.ctl("--json", "watch", run, code=3)
        notes = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual(notes[-1]["type"], "status")
        self.assertEqual(notes[-1]["status"], "terminated")
        # errors from the daemon: exit 1 with the code's name
        p = self.ctl("terminate", run, code=1)
        self.assertIn("CONFLICT", p.stderr)
        p = self.ctl("status", "no-such-run", code=1)
        self.assertIn("NOT_FOUND", p.stderr)
        p = self.ctl("run", "--engine", "builtin:nope", code=1)
        self.assertIn("INVALID_PARAMS", p.stderr)
        self.ctl("rm", run)

    def test_watch_json_lines(self):
        run = self.start_sleeper("jsonwatch")
        watcher = subprocess.Popen([CTL, "--socket", self.daemon.socket, "--json",
                                    "watch", run], stdout=subprocess.PIPE, text=True)
        # until a progress note came, then the end
        notes = []
        while not any(n["type"] == "progress" for n in notes):
            line = watcher.stdout.readline()
            self.assertTrue(line, "watch ended before a progress note: %r" % notes)
            notes.append(json.loads(line))
        self.ctl("terminate", run)
        out, _ = watcher.communicate(timeout=60)
        self.assertEqual(watcher.returncode, 3)
        notes += [json.loads(l) for l in out.splitlines()]
        kinds = {n["type"] for n in notes}
        self.assertIn("progress", kinds)
        self.assertIn("status", kinds)
        prog = [n for n in notes if n["type"] == "progress"][0]
        self.assertTrue({"id", "epoch", "iteration", "epoch_length", "max_epochs",
                         "rate", "eta"} <= set(prog))

    def test_watch_tty(self):
        run = self.start_sleeper("ttywatch")
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(CTL, [CTL, "--socket", self.daemon.socket, "watch", run])
        out = b""
        terminated = False
        deadline = time.time() + 60
        while time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if not terminated and out.count(b"\033[") > 3:
                self.ctl("terminate", run)
                terminated = True
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        self.assertEqual(os.waitstatus_to_exitcode(status), 3, out)
        text = out.decode(errors="replace")
        self.assertIn("\033[4A", text)          # redrawn in place
        self.assertIn("it/s", text)
        self.assertIn("epoch ", text)
        self.assertIn("terminated", text)

    def test_failed_run_exit(self):
        # A worker that exits at once fails its run: run --follow exits 1
        # with the reason.
        p = subprocess.run([CTL, "--socket", self.daemon.socket, "run", "--engine",
                            "exec:/bin/false", "--data", "worker", "--epoch-length", "3",
                            "--follow"], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stdout + p.stderr, r"failed")
        self.assertNotIn("INVALID_PARAMS", p.stdout + p.stderr)

    def test_output_bytes(self):
        """The output byte for byte, text and --json, of the paths the other
        tests read loosely: what a worker wrote is escaped for a terminal in
        text and ASCII-only in JSON."""
        said = "t\tab \x1b[31mred\x1b[0m \u00e9 \u202e bidi \\ end"
        shown = "t\\tab \\x1b[31mred\\x1b[0m \u00e9 \\xe2\\x80\\xae bidi \\\\ end"
        spec = os.path.join(self.tmp, "bytes.json")
        with open(spec, "w") as f:
            json.dump({"engine": "builtin:noop", "name": "bytes", "max_epochs": 2,
                       "data": {"kind": "range", "n": 4},
                       "handlers": [{"event": "EPOCH_COMPLETED", "action": "log",
                                     "message": said}]}, f)
        run = self.ctl("run", "--spec", spec).stdout
        self.assertRegex(run, r"^\d+\n$")
        run = run.strip()
        st = self.wait_status(run, {"completed"})
        started = json.loads(self.ctl("--json", "run", "--spec", spec, "--name",
                                      "bytes2").stdout)
        self.assertEqual(set(started), {"id", "name"})
        self.wait_status(str(started["id"]), {"completed"})

        raw = self.ctl("--json", "status", run).stdout
        self.assertEqual(raw, json.dumps(st, separators=(",", ":")) + "\n")
        when = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
        self.assertRegex(self.ctl("status", run).stdout,
                         "^id            %s\n"
                         "name          bytes\n"
                         "owner         root\n"
                         "status        completed\n"
                         "resources     1 CPU\n"
                         "epoch         2/2\n"
                         "iteration     8\n"
                         "it/s          0\n"
                         "started       (just now|\\d+s ago)\n"
                         "metrics       -\n"
                         "epoch length  4\n"
                         "created       %s \\((just now|\\d+s ago)\\)\n"
                         "finished      %s \\((just now|\\d+s ago)\\)\n"
                         "priority      0\n"
                         "reason        -\n"
                         "tags          -\n$" % (run, when, when))
        self.assertEqual(self.ctl("state", run).stdout,
                         "epoch_length  4\nmax_epochs    2\niteration     8\n")
        self.assertEqual(self.ctl("--json", "state", run).stdout,
                         '{"epoch_length":4,"max_epochs":2,"iteration":8}\n')

        # logs: escaped text; JSON in ASCII that reads back as it was said
        out = self.ctl("logs", run).stdout.splitlines()
        self.assertEqual(len(out), 4, out)
        for l in out:
            self.assertRegex(l, "^%s  " % when)
        self.assertEqual([l[21:] for l in out[1:3]], [shown, shown])
        self.assertEqual(out[3][21:], "completed at epoch 2, iteration 8")
        raw = self.ctl("--json", "logs", run, "--tail", "2").stdout
        self.assertTrue(raw.isascii())
        self.assertIn("\\u001B[31m", raw)
        self.assertIn("\\u00E9 \\u202E", raw)
        lg = json.loads(raw)
        self.assertEqual(lg["id"], int(run))
        self.assertEqual([l["message"] for l in lg["lines"]],
                         [said, "completed at epoch 2, iteration 8"])
        self.assertEqual(set(lg["lines"][0]), {"id", "time", "message"})

        # ls: aligned columns, right-aligned numbers
        out = self.ctl("ls", "--status", "completed").stdout.splitlines()
        head = out[0]
        self.assertRegex(head, r"^ *ID  NAME +OWNER  STATUS +RESOURCES +EPOCH  ITERATION  IT/S  "
                         r"STARTED +METRICS$")
        row = [l for l in out if " bytes " in l][0]
        self.assertEqual(len(row.rstrip()), len(row))
        self.assertEqual(row.index(" bytes ") + 1, head.index("NAME"))
        self.assertEqual(row.index("root") + 4, head.index("OWNER") + 5)
        self.assertEqual(row.index("2/2") + 3, head.index("EPOCH") + 5)
        self.assertEqual(json.loads(self.ctl("--json", "ls", "--status", "completed")
                                    .stdout)["runs"][-1]["name"], "bytes2")

        # watch of an ended run: its final status, a line or a document
        self.assertEqual(self.ctl("watch", run).stdout, "run %s bytes: completed\n" % run)
        self.assertEqual(self.ctl("--json", "watch", run).stdout,
                         '{"id":%s,"status":"completed","reason":null,'
                         '"throttled":null,"type":"status"}\n' % run)

        # metrics, when there are none
        self.assertEqual(self.ctl("metrics", run).stdout,
                         "NAME  EPOCH  ITERATION  TIME  VALUE\n")
        self.assertEqual(self.ctl("metrics", run, "--csv").stdout,
                         "name,epoch,iteration,time,value\n")
        self.assertEqual(self.ctl("metrics", run, "--plot").stdout, "")
        self.assertEqual(self.ctl("--json", "metrics", run, "--epochs").stdout,
                         '{"id":%s,"axis":"epoch","series":{}}\n' % run)

        # the daemon's commands
        self.assertRegex(self.ctl("version").stdout,
                         r"^ignitectl \S+\nignited \S+\nprotocol 1\n$")
        self.assertRegex(self.ctl("--json", "version").stdout,
                         r'^\{"client":"ignitectl \S+","daemon":"ignited \S+",'
                         r'"protocol":1\}\n$')
        self.assertRegex(self.ctl("ping").stdout,
                         r"^ignited \S+ is alive: \d+\.\d{3} ms\n$")
        self.assertRegex(self.ctl("--json", "ping").stdout,
                         r'^\{"ok":true,"latency_ms":[0-9.e-]+\}\n$')

        # actions
        self.assertEqual(self.ctl("resume", run, "--max-epochs", "3").stdout,
                         "run %s resumes (status running)\n" % run)
        self.wait_status(run, {"completed"})
        self.assertEqual(self.ctl("--json", "rm", "bytes2").stdout,
                         '{"id":%d}\n' % started["id"])
        self.assertEqual(self.ctl("rm", "bytes").stdout,
                         "run %s is deleted\n" % run)

    def test_follow_lines(self):
        """run --follow off a terminal: each line is one of the forms watch
        prints, what a handler logged escaped; with --json, ASCII lines
        that read back as they were said."""
        said = "t\tab \x1b[31mred \u00e9 \u202e \\ end"
        shown = "t\\tab \\x1b[31mred \u00e9 \\xe2\\x80\\xae \\\\ end"
        spec = os.path.join(self.tmp, "follow.json")
        with open(spec, "w") as f:
            json.dump({"engine": "builtin:sleep", "params": {"ms": 2},
                       "data": {"kind": "range", "n": 100}, "max_epochs": 3,
                       "handlers": [{"event": "ITERATION_COMPLETED", "every": 40,
                                     "action": "log", "message": said}]}, f)
        out = self.ctl("run", "--spec", spec, "--name", "follow1", "--follow").stdout
        lines = out.splitlines()
        run = lines[0]
        self.assertRegex(run, r"^\d+$")
        self.assertEqual(lines[-1], "run %s follow1: completed" % run)
        when = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
        forms = [r"run %s follow1: (queued|running|completed)" % run,
                 r"epoch \d+/3  \[[#.]{24}\]  [\d,]+/100  \S+ it/s  ETA \S+",
                 r"event [A-Z_]+ at epoch \d+, iteration \d+",
                 r"log %s  (%s|completed at epoch 3, iteration 300)"
                 % (when, re.escape(shown)),
                 r"metrics at epoch \d+/3: -"]
        for l in lines[1:]:
            self.assertTrue(any(re.fullmatch(f, l) for f in forms), l)
        self.assertIn("log", [l[:3] for l in lines])
        self.assertIn("event EPOCH_COMPLETED at epoch 3, iteration 300", lines)

        raw = self.ctl("--json", "run", "--spec", spec, "--name", "follow2",
                       "--follow").stdout
        self.assertTrue(raw.isascii())
        docs = [json.loads(l) for l in raw.splitlines()]
        self.assertEqual(set(docs[0]), {"id", "name"})
        self.assertEqual(docs[-1], {"id": docs[0]["id"], "status": "completed",
                                    "reason": None, "throttled": None,
                                    "type": "status"})
        types = {d["type"] for d in docs[1:]}
        self.assertLessEqual(types, {"progress", "status", "event", "log", "metrics"})
        self.assertIn(said, [d.get("message") for d in docs])
        for d in docs[1:]:
            if d["type"] == "metrics":
                self.assertEqual(d["series"], {})

    def test_usage(self):
        self.ctl("status", code=2)
        self.ctl("metrics", "1", "--csv", "--plot", code=2)
        self.assertIn("Example", self.ctl("run", "--help").stdout)


class ShutdownTest(unittest.TestCase):
    def test_shutdown(self):
        for args in (["shutdown"], ["--json", "shutdown"]):
            d = Daemon(IGNITED).start()
            try:
                p = subprocess.run([CTL, "--socket", d.socket] + args,
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(p.returncode, 0, p.stderr)
                if "--json" in args:
                    self.assertEqual(json.loads(p.stdout), {"ok": True})
                else:
                    self.assertIn("shutting down", p.stdout)
                self.assertEqual(d.proc.wait(30), 0)
            finally:
                d.stop()


class DaemonDownTest(unittest.TestCase):
    def test_unavailable(self):
        d = tempfile.mkdtemp(prefix="ignitectl-down-")
        sock = os.path.join(d, "ignited.sock")
        for args in (["ping"], ["--json", "ls"], ["status", "1"], ["watch", "1"]):
            p = subprocess.run([CTL, "--socket", sock] + args, capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(p.returncode, 69, p.stderr)
            self.assertIn(sock, p.stderr)
            self.assertIn("ignited --socket " + sock, p.stderr)
            self.assertEqual(p.stdout, "")
        env = dict(os.environ, IGNITE_SOCKET=sock)
        p = subprocess.run([CTL, "ping"], capture_output=True, text=True, env=env,
                           timeout=30)
        self.assertEqual(p.returncode, 69)
        self.assertIn("IGNITE_SOCKET", p.stderr)

    def test_hangup_escaped(self):
        """A peer that says hello with an error notification and hangs up:
        its message is shown on one line with its newline and escape made
        visible, and without the hint for a daemon that is not running."""
        import socket
        import threading
        d = tempfile.mkdtemp(prefix="ignitectl-hangup-")
        path = os.path.join(d, "fake.sock")
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(path)
        srv.listen(1)
        said = b"bye\nignitectl: run 7 finished OK\x1b[31m"

        def s(b):
            return bytes([0xa0 | len(b)]) + b if len(b) < 32 else bytes([0xd9, len(b)]) + b

        body = (b"\x93\x02" + s(b"error") + b"\x82" + s(b"message") + s(said) +
                s(b"code") + b"\x01")

        def peer():
            c, _ = srv.accept()
            c.recv(65536)
            c.sendall(len(body).to_bytes(4, "big") + body)
            c.close()

        t = threading.Thread(target=peer)
        t.start()
        try:
            p = subprocess.run([CTL, "--socket", path, "ls"], capture_output=True,
                               text=True, timeout=30)
        finally:
            t.join(10)
            srv.close()
        self.assertEqual(p.returncode, 69, p.stderr)
        self.assertIn("bye\\nignitectl: run 7 finished OK\\x1b[31m", p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        self.assertNotIn("Is ignited running", p.stderr)


if __name__ == "__main__":
    CTL, IGNITED = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=sys.argv[:1], verbosity=2)
