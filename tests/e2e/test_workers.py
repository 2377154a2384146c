#!/usr/bin/python3
"""End-to-end tests of process functions from outside: exec workers in
Python (numpy) and C, their failures, resumes after kill -9, and C plugins.
usage: test_workers.py IGNITED [unittest args]

The C worker and the plugins are found in IGNITED's build tree
(examples/, tests/workers/) unless IGNITE_C_WORKER, IGNITE_PLUGIN,
IGNITE_BAD_ABI_PLUGIN and IGNITE_NOSYM_PLUGIN say where.
"""
import gzip
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon import (DIGITS, PY, PYPATH, SRC, Client, Daemon, RPCError,  # noqa: E402
                    as_nobody, history, logged_iterations, numpy_spec, rate, resumed_after_restart,
                    rss_kib, wait_for, wait_iteration, wait_status)

TORCH_WORKER = os.path.join(SRC, "examples", "workers", "torch_train.py")
BAD_WORKER = os.path.join(SRC, "tests", "workers", "bad_worker.py")
RLIMITS_WORKER = os.path.join(SRC, "tests", "workers", "rlimits_worker.py")
EVENTS_WORKER = os.path.join(SRC, "tests", "workers", "events_worker.py")
IGNITED = None
BUILD = None
HAVE_TORCH = subprocess.call([PY, "-c", "import torch"], stderr=subprocess.DEVNULL) == 0
PERMISSION_DENIED, INVALID_PARAMS = 5, 3


def built(env, *path):
    return os.environ.get(env) or os.path.join(BUILD, *path)


def torch_spec(epochs, epoch_length=45, every=None, **worker):
    """The PyTorch example: its own data (the digits), a small CNN."""
    spec = {"engine": [PY, TORCH_WORKER], "data": "worker", "epoch_length": epoch_length,
            "max_epochs": epochs, "seed": 3, "params": {"width": 8, "lr": 0.05},
            "metrics": [{"name": "loss", "kind": "loss", "field": "loss"},
                        {"name": "step_loss", "kind": "output", "field": "loss"}],
            "worker": dict(worker, env=PYPATH)}
    if every is not None:
        spec["checkpoint"] = {"every": every}
    return spec


def bad_spec(mode, **worker):
    return {"engine": [PY, BAD_WORKER, mode], "data": "range:10", "max_epochs": 2,
            "worker": dict(worker)}


class WorkerCase(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(IGNITED).start()
        self.addCleanup(self.d.remove)
        self.c = self.d.client()
        self.addCleanup(self.c.close)

    def run_spec(self, spec):
        return self.c.call("run", spec)["id"]

    def complete(self, rid, timeout=120):
        st = wait_status(self.c, rid, ("completed", "failed", "terminated"), timeout)
        self.assertEqual(st["status"], "completed", st.get("reason"))
        return st


class TestExecWorkers(WorkerCase):
    def test_numpy_worker_trains(self):
        rid = self.run_spec(numpy_spec(name="np", epochs=4))
        st = self.complete(rid)
        self.assertEqual(st["iteration"], 4 * 57)
        self.assertGreater(st["metrics"]["acc"], 0.9)
        h = history(self.c, rid)
        self.assertEqual(len(h["loss_avg"]), 4 * 57)
        self.assertLess(h["loss"][-1][2], h["loss"][0][2])

    def test_c_worker(self):
        rid = self.run_spec({"engine": [built("IGNITE_C_WORKER", "examples", "c_echo_worker")],
                             "params": {"scale": 2}, "data": "range:5", "max_epochs": 3,
                             "metrics": [{"name": "out", "kind": "output", "field": "loss"}]})
        self.complete(rid)
        h = history(self.c, rid)
        self.assertEqual(len(h["out"]), 15)
        self.assertEqual(sorted(p[2] for p in h["out"][:5]), [0, 2, 4, 6, 8])

    @unittest.skipUnless(HAVE_TORCH, "python3-torch is not installed")
    def test_torch_worker(self):
        st = self.complete(self.run_spec(torch_spec(epochs=3)))
        self.assertGreater(st["metrics"]["val_acc"], 0.8)
        h = history(self.c, st["id"])
        self.assertEqual(len(h["step_loss"]), 3 * 45)
        self.assertEqual([p[1] for p in h["val_acc"]], [45, 90, 135])


class TestWorkerEventsAndMetrics(WorkerCase):
    def test_told_only_of_the_events_asked_for_and_metrics_recorded(self):
        rid = self.run_spec({"engine": [PY, EVENTS_WORKER], "data": "range:5",
                             "max_epochs": 2, "worker": {"env": PYPATH}})
        st = self.complete(rid)
        self.assertEqual(st["metrics"]["twice"], 20.0)
        h = history(self.c, rid)
        self.assertEqual([(p[1], p[2]) for p in h["twice"]],
                         [(i, 2.0 * i) for i in range(1, 11)])
        lines = [l["message"] for l in self.c.call("logs", {"id": rid})["lines"]]
        sent = [l[len("sent event "):] for l in lines if l.startswith("sent event")]
        # Requests are pipelined: what is sent before the setup answer is
        # in (STARTED, and the first EPOCH_STARTED) goes out regardless;
        # after it, only what the worker asked for.
        first_done = sent.index("EPOCH_COMPLETED")
        self.assertLessEqual(set(sent[:first_done]), {"STARTED", "EPOCH_STARTED"})
        self.assertEqual(sent[first_done:], ["EPOCH_COMPLETED", "EPOCH_COMPLETED"])
        self.assertIn("handled EPOCH_COMPLETED at epoch 2", lines)


LIMITS = {"nofile": 17, "as": 1 << 30}


def rlimits_spec(rlimits):
    """The rlimits worker, reporting the LIMITS it runs under as metrics."""
    fields = ["%s_%s" % (k, end) for k in LIMITS for end in ("soft", "hard")]
    return {"engine": [PY, RLIMITS_WORKER], "data": "range:2",
            "metrics": [{"name": f, "kind": "output", "field": f} for f in fields],
            "worker": {"env": PYPATH, "rlimits": rlimits}}


def limits_reported():
    return {"%s_%s" % (k, end): v for k, v in LIMITS.items() for end in ("soft", "hard")}


class TestRlimits(WorkerCase):
    def rlimits_spec(self, rlimits):
        return rlimits_spec(rlimits)

    def test_worker_runs_under_the_spec_limits(self):
        st = self.complete(self.run_spec(self.rlimits_spec(LIMITS)))
        self.assertEqual(st["metrics"], limits_reported())

    def test_unknown_limit_is_refused_at_run(self):
        with self.assertRaises(RPCError) as e:
            self.run_spec(self.rlimits_spec({"nofile": 17, "stack": 1 << 20}))
        self.assertEqual(e.exception.code, INVALID_PARAMS)
        self.assertIn("worker.rlimits.stack", e.exception.message)

    def test_limit_that_cannot_be_set_fails_the_run(self):
        # above fs.nr_open: refused even to root
        rid = self.run_spec(self.rlimits_spec({"nofile": 1 << 40}))
        st = wait_status(self.c, rid, ("completed", "failed"), 60)
        self.assertEqual(st["status"], "failed")
        self.assertIn("worker.rlimits.nofile: cannot raise the worker's hard limit",
                      st["reason"])
        wait_for(lambda: worker_pids(self.d.proc.pid) == [], "the worker to be reaped", 10)


class TestWorkerFailures(WorkerCase):
    CASES = [
        ("crash", {}, "exited with status 3"),
        ("hang", {"timeout_ms": 500}, "timed out: no answer to process within 500 ms"),
        ("garbage", {}, "wrote garbage"),
        ("early", {}, "exited with status 0"),
    ]

    def test_each_failure_fails_its_run_only(self):
        other = self.run_spec({"engine": "builtin:sleep", "params": {"ms": 2},
                               "data": "range:100000", "max_epochs": 1})
        for mode, worker, want in self.CASES:
            with self.subTest(mode=mode):
                rid = self.run_spec(bad_spec(mode, **worker))
                st = wait_status(self.c, rid, ("failed", "completed"), 60)
                self.assertEqual(st["status"], "failed")
                self.assertIn(want, st["reason"])
                self.assertEqual(st["iteration"], 3)  # the failed one counts
                if mode != "garbage":
                    self.assertIn("bad_worker: going %s" % mode, st["reason"])
        self.assertEqual(self.c.call("status", {"id": other})["status"], "running")
        self.c.call("terminate", {"id": other})
        # every worker was reaped: no child of the daemon is left
        wait_for(lambda: worker_pids(self.d.proc.pid) == [], "every worker to be reaped", 10)


class TestWorkerDeadline(WorkerCase):
    def test_deadline_counts_from_the_request_not_the_first(self):
        """Answers that each take 200 ms of a 300 ms timeout, past the
        first request's deadline, are on time; the one that hangs is
        timed out, and not before 300 ms after it began to hang."""
        rid = self.run_spec(bad_spec("slow", timeout_ms=300))
        st = wait_status(self.c, rid, ("failed", "completed"), 60)
        failed_at = time.time()
        self.assertEqual(st["status"], "failed")
        self.assertIn("timed out: no answer to process within 300 ms", st["reason"])
        self.assertEqual(st["iteration"], 3)
        hung_at = float(re.search(r"hung at ([0-9.]+)", st["reason"]).group(1))
        self.assertGreaterEqual(failed_at - hung_at, 0.3)


def worker_pids(daemon_pid):
    out = subprocess.run(["ps", "--ppid", str(daemon_pid), "-o", "pid="],
                         capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def kill_workers(daemon_pid):
    """SIGKILL the daemon's workers; true when one was there to kill (a
    worker listed may have exited by the time it is signalled)."""
    killed = False
    for pid in worker_pids(daemon_pid):
        try:
            os.kill(pid, signal.SIGKILL)
            killed = True
        except ProcessLookupError:
            pass
    return killed


class TestResume(unittest.TestCase):
    """kill -9 of the daemon, or of the worker (max_restarts), mid-run: the
    history equals an uninterrupted run's."""

    EPOCHS = 6

    def setUp(self):
        self.d = Daemon(IGNITED).start()
        self.addCleanup(lambda: self.d.remove())

    def reference(self, c):
        rid = c.call("run", numpy_spec(name="ref", epochs=self.EPOCHS, every=10))["id"]
        st = wait_status(c, rid, ("completed", "failed"))
        self.assertEqual(st["status"], "completed", st.get("reason"))
        self.rate = rate(c, rid, "loss_avg")
        return history(c, rid)

    def wait_for(self, probe, timeout=60):
        try:
            return wait_for(probe, repr(probe), timeout)
        except AssertionError as e:
            self.fail("%s\n%s" % (e, self.d.logtext()[-3000:]))

    def wait_iteration(self, rid, target):
        """The run's iteration once it is at least target."""
        c = self.d.client()
        try:
            return wait_iteration(c, rid, target)
        finally:
            c.close()

    def assert_resumed_near(self, before, resumed):
        """Resumed from a checkpoint of the run's policy (at an epoch's end,
        57 iterations, and every 10 after it), at most 10 iterations and
        10 ms of work (at the reference's rate; twice that, for a commit in
        flight on a loaded machine) before where it was seen last."""
        self.assertGreater(resumed, 0, "started over")
        self.assertEqual(resumed % 57 % 10, 0, resumed)
        self.assertGreaterEqual(resumed, before - 10 - self.rate * 0.020 - 1,
                                (before, resumed, self.rate))

    def test_kill_daemon(self):
        c = self.d.client()
        ref = self.reference(c)
        rid = c.call("run", numpy_spec(name="k", epochs=self.EPOCHS, every=10))["id"]
        c.close()
        before = self.wait_iteration(rid, 57 * 2 + 13)
        self.d.kill9()
        self.d.start()
        c = self.d.client()
        self.assert_resumed_near(before, resumed_after_restart(c, rid)[0])
        st = wait_status(c, rid, ("completed", "failed"))
        self.assertEqual(st["status"], "completed", st.get("reason"))
        self.assertEqual(history(c, rid), ref)
        c.close()

    def test_kill_worker(self):
        c = self.d.client()
        ref = self.reference(c)
        spec = numpy_spec(name="w", epochs=self.EPOCHS, every=10)
        spec["worker"]["max_restarts"] = 2
        rid = c.call("run", spec)["id"]
        for k, target in enumerate((57 + 25, 57 * 3 + 4), 1):
            before = self.wait_iteration(rid, target)
            # kill a worker that is there (not one still being restarted),
            # then wait for the daemon to restart it before the next kill
            self.wait_for(lambda: kill_workers(self.d.proc.pid))
            self.wait_for(lambda: "restart %d of 2" % k in self.d.logtext())
            resumed = self.wait_for(lambda: logged_iterations(
                c, rid, "resumed", " after the worker's restart")[k - 1:])
            self.assert_resumed_near(before, resumed[0])
        st = wait_status(c, rid, ("completed", "failed"))
        self.assertEqual(st["status"], "completed", st.get("reason"))
        self.assertEqual(history(c, rid), ref)
        self.assertIn("restart 2 of 2 from the last checkpoint", self.d.logtext())
        c.close()

    def test_no_restarts_fails(self):
        c = self.d.client()
        rid = c.call("run", numpy_spec(epochs=50, every=10))["id"]
        self.wait_iteration(rid, 20)
        for pid in worker_pids(self.d.proc.pid):
            os.kill(pid, signal.SIGKILL)
        st = wait_status(c, rid, ("completed", "failed"))
        self.assertEqual(st["status"], "failed")
        self.assertIn("killed by signal 9", st["reason"])
        c.close()


@unittest.skipUnless(HAVE_TORCH, "python3-torch is not installed")
class TestTorchResume(WorkerCase):
    def test_kill_worker_resumes_bit_identically(self):
        """The example's checkpoints (ignite_worker.torch) hold all it
        needs: a run whose worker is killed mid-epoch has the history of
        an uninterrupted one, to the last bit of every loss."""
        ref = self.complete(self.run_spec(torch_spec(epochs=2, epoch_length=30, every=5)))
        want = history(self.c, ref["id"])
        rid = self.run_spec(torch_spec(epochs=2, epoch_length=30, every=5, max_restarts=1))
        wait_iteration(self.c, rid, 42)
        wait_for(lambda: kill_workers(self.d.proc.pid), "a worker to kill")
        wait_for(lambda: "restart 1 of 1" in self.d.logtext(), "the worker's restart")
        resumed = wait_for(lambda: logged_iterations(
            self.c, rid, "resumed", " after the worker's restart"), "the resume")
        self.assertGreater(resumed[0], 30, "resumed mid-epoch 2 from a checkpoint")
        st = self.complete(rid)
        self.assertEqual(history(self.c, rid), want)
        self.assertEqual(st["metrics"], ref["metrics"])


class TestPlugins(WorkerCase):
    def plugin_spec(self, path):
        return {"engine": "plugin:" + path, "params": {"lr": 0.05},
                "data": {"kind": "csv", "path": DIGITS,
                         "header": False, "label": 64, "batch_size": 32, "scale": 16},
                "max_epochs": 3, "seed": 1,
                "metrics": [{"name": "loss", "kind": "loss", "field": "loss"}]}

    def test_linreg_plugin_trains(self):
        rid = self.run_spec(self.plugin_spec(built("IGNITE_PLUGIN", "examples", "plugin",
                                                   "liblinreg.so")))
        self.complete(rid)
        h = history(self.c, rid)
        self.assertEqual(len(h["loss"]), 3)
        self.assertLess(h["loss"][-1][2], h["loss"][0][2])

    def refused(self, spec):
        with self.assertRaises(RPCError) as e:
            self.run_spec(spec)
        return e.exception

    def test_abi_mismatch(self):
        e = self.refused(self.plugin_spec(built("IGNITE_BAD_ABI_PLUGIN", "tests", "workers",
                                                "libbad_abi.so")))
        self.assertIn("speaks plugin ABI 3, ignited speaks 1 to 2", e.message)

    def test_missing_symbol(self):
        e = self.refused(self.plugin_spec(built("IGNITE_NOSYM_PLUGIN", "tests", "workers",
                                                "libno_symbol.so")))
        self.assertIn("exports no ignite_plugin_v1", e.message)

    def test_refused_path_for_non_root(self):
        if os.getuid() != 0:
            self.skipTest("needs root to act as another uid")
        spec = self.plugin_spec(built("IGNITE_PLUGIN", "examples", "plugin", "liblinreg.so"))

        def check(c):
            try:
                c.call("run", spec)
                return False
            except RPCError as e:
                return e.code == PERMISSION_DENIED and "plugin directories" in e.message
        self.assertEqual(as_nobody(self.d, check), 0)


class TestWorkerAsOwner(WorkerCase):
    def test_worker_runs_as_the_owner(self):
        if os.getuid() != 0:
            self.skipTest("needs root to act as another uid")
        spec = {"engine": [PY, "-c", "import os,sys; sys.stderr.write('uid=%d gid=%d\\n' % "
                           "(os.getuid(), os.getgid())); sys.exit(5)"],
                "data": "range:3"}

        def check(c):
            st = wait_status(c, c.call("run", spec)["id"], ("failed",), 30)
            return "uid=65534 gid=65534" in st["reason"]
        self.assertEqual(as_nobody(self.d, check), 0)


def nobody_runs(d, spec, timeout=60):
    """Run spec as nobody (as_nobody) until it ends: its status, with its
    log lines as "log"."""
    r, w = os.pipe()

    def check(c):
        rid = c.call("run", spec)["id"]
        st = wait_status(c, rid, ("failed", "completed", "terminated"), timeout)
        st["log"] = [line["message"] for line in c.call("logs", {"id": rid})["lines"]]
        os.write(w, msgpack.packb(st))
        return True
    code = as_nobody(d, check)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    if code != 0:
        raise AssertionError("the run as nobody failed (%d):\n%s" % (code, d.logtext()[-3000:]))
    return msgpack.unpackb(data, raw=False)


# Writes what the worker was started with to stderr (supplementary groups,
# the names in its initial environment, where its descriptors lead), exits 5.
REPORT_START = r"""
import os, sys
groups = [l.split()[1:] for l in open("/proc/self/status") if l.startswith("Groups:")][0]
env = sorted(e.split(b"=", 1)[0].decode() for e in open("/proc/self/environ", "rb").read().split(b"\0") if e)
def link(fd):
    try:
        return os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        return None
fds = sorted(filter(None, map(link, range(1024))))
print("groups=" + ",".join(groups), file=sys.stderr)
print("env=" + ",".join(env), file=sys.stderr)
print("fds=" + ",".join(fds), file=sys.stderr)
print("stdio=" + ",".join(link(fd).split(":")[0] for fd in range(3)), file=sys.stderr)
for name in ("HOME", "USER", "LOGNAME", "PATH", "EXTRA"):
    print("%s=%s" % (name, os.environ.get(name)), file=sys.stderr)
print("cwd=" + os.getcwd(), file=sys.stderr)
sys.exit(5)
"""


class TestWorkerStart(unittest.TestCase):
    """A worker for another uid is started as that uid from the first step:
    its cwd entered and its limits set with the owner's rights (the daemon
    here lacks CAP_SYS_RESOURCE, as under the shipped unit), with no
    supplementary groups, environment or descriptors of the daemon's."""

    def setUp(self):
        if os.getuid() != 0:
            self.skipTest("needs root to act as another uid")
        self.tmp = tempfile.mkdtemp(prefix="ignite-start-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.inherited = os.path.join(self.tmp, "inherited")
        fd = os.open(self.inherited, os.O_RDONLY | os.O_CREAT, 0o600)
        self.addCleanup(os.close, fd)
        env = dict(os.environ, IGNITE_TEST_SECRET="daemon-only")
        # supplementary groups for the worker not to have
        self.d = Daemon(IGNITED, prefix=["setpriv", "--groups", "100,65533",
                                         "--bounding-set", "-sys_resource"],
                        popen={"pass_fds": (fd,), "env": env}).start()
        self.addCleanup(self.d.remove)

    def test_cwd_is_entered_as_the_owner(self):
        home = os.path.join(self.tmp, "home")
        os.mkdir(home, 0o700)
        with open(os.path.join(home, "secret"), "w") as f:
            f.write("TOPSECRET")
        os.chmod(os.path.join(home, "secret"), 0o644)
        os.chown(home, 1234, 1234)
        spec = {"engine": [PY, "-c", "import sys; sys.stderr.write(open('secret').read()); "
                           "sys.exit(5)"],
                "data": "range:3", "worker": {"cwd": home}}
        st = nobody_runs(self.d, spec)
        self.assertEqual(st["status"], "failed")
        self.assertEqual(st["reason"], "engine: cannot start %s in %s: permission denied"
                         % (PY, home))
        self.assertNotIn("TOPSECRET", repr(st))

    def test_plugin_paths_others_cannot_see_answer_alike(self):
        hidden = os.path.join(self.tmp, "hidden")
        os.mkdir(hidden, 0o700)
        shutil.copy(built("IGNITE_PLUGIN", "examples", "plugin", "liblinreg.so"),
                    os.path.join(hidden, "there.so"))
        os.chown(hidden, 1234, 1234)
        r, w = os.pipe()

        def check(c):
            for name in ("there.so", "absent.so"):
                try:
                    c.call("run", {"engine": "plugin:" + os.path.join(hidden, name),
                                   "data": "range:3"})
                    return False
                except RPCError as e:
                    os.write(w, ("%d %s\n" % (e.code, e.message.replace(name, "X"))).encode())
            return True
        self.assertEqual(as_nobody(self.d, check), 0)
        os.close(w)
        with os.fdopen(r) as f:
            there, absent = f.read().splitlines()
        self.assertEqual(there, absent)
        self.assertIn("no such file or not permitted", there)

    def test_missing_program_is_the_reason(self):
        st = nobody_runs(self.d, {"engine": ["/nonexistent/worker"], "data": "range:3"})
        self.assertEqual(st["status"], "failed")
        self.assertEqual(st["reason"], "engine: cannot start /nonexistent/worker in /: "
                         "no such file or directory")

    def test_rlimits_without_cap_sys_resource(self):
        with open("/proc/%d/status" % self.d.proc.pid) as f:
            bnd = [int(line.split()[1], 16) for line in f if line.startswith("CapBnd:")][0]
        self.assertFalse(bnd & (1 << 24), "the daemon still has CAP_SYS_RESOURCE")
        st = nobody_runs(self.d, rlimits_spec(LIMITS))
        self.assertEqual(st["status"], "completed", st.get("reason"))
        self.assertEqual(st["metrics"], limits_reported())

    def test_no_groups_environment_or_descriptors_of_the_daemon(self):
        with open("/proc/%d/status" % self.d.proc.pid) as f:
            groups = [line.split()[1:] for line in f if line.startswith("Groups:")][0]
        self.assertEqual(groups, ["100", "65533"])
        st = nobody_runs(self.d, {"engine": [PY, "-c", REPORT_START], "data": "range:3",
                                  "worker": {"env": {"EXTRA": "from the spec"}}})
        self.assertEqual(st["status"], "failed")
        self.assertIn("groups=", st["log"])
        # PROTOCOL.md worker.env: only PATH (the daemon's), the owner's
        # HOME, USER and LOGNAME, the run's GPUs (none: empty), and the
        # spec's; cwd / by default
        self.assertIn("env=CUDA_DEVICE_ORDER,CUDA_VISIBLE_DEVICES,EXTRA,HOME,LOGNAME,PATH,USER",
                      st["log"])
        owner = pwd.getpwuid(65534)
        for line in ("HOME=" + owner.pw_dir, "USER=" + owner.pw_name, "LOGNAME=" + owner.pw_name,
                     "PATH=" + os.environ["PATH"], "EXTRA=from the spec", "cwd=/"):
            self.assertIn(line, st["log"])
        # pipes, not socketpairs: cheaper for every iteration's round trip
        self.assertIn("stdio=pipe,pipe,pipe", st["log"])
        fds = [line for line in st["log"] if line.startswith("fds=")]
        self.assertEqual(len(fds), 1, st["log"])
        self.assertNotIn(self.inherited, fds[0])
        self.assertNotIn(self.d.db, fds[0])


def csv_spec(path):
    return {"engine": "builtin:softmax", "params": {"classes": 10},
            "data": {"kind": "csv", "path": path, "header": False, "label": 64,
                     "batch_size": 32}, "max_epochs": 1}


class TestDataPaths(unittest.TestCase):
    """data.path names only regular data files, within --max-data-size: a
    FIFO, a device or a file of the kernel is refused without the daemon
    ever waiting on it."""

    LIMIT = 300000              # digits.csv.gz has 264712 bytes gunzipped

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ignite-data-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.d = Daemon(IGNITED, extra=["--max-data-size", str(self.LIMIT)]).start()
        self.addCleanup(self.d.remove)
        self.c = Client(self.d.socket, timeout=10)
        self.addCleanup(self.c.close)

    def refused(self, path):
        with self.assertRaises(RPCError) as e:
            self.c.call("run", csv_spec(path))
        self.assertEqual(e.exception.code, INVALID_PARAMS)
        return e.exception.message

    def test_fifo_is_refused_and_the_daemon_answers(self):
        fifo = os.path.join(self.tmp, "fifo")
        os.mkfifo(fifo)
        # before the fix the daemon waits for a writer: be one at the end
        self.addCleanup(lambda: os.close(os.open(fifo, os.O_RDWR)))
        self.assertIn("%s: not a regular file" % fifo, self.refused(fifo))
        other = Client(self.d.socket, timeout=10)
        self.addCleanup(other.close)
        self.assertIsNone(other.call("ping"))

    def test_devices_and_kernel_files_are_refused(self):
        self.assertIn("/dev/zero: not a regular file", self.refused("/dev/zero"))
        self.assertIn("/proc/self/maps: a file under /proc, /sys or /dev cannot be data",
                      self.refused("/proc/self/maps"))

    def test_size_limit(self):
        big = os.path.join(self.tmp, "big.csv")
        with open(big, "w") as f:
            f.write("1,2\n" * (self.LIMIT // 4 + 1))
        self.assertIn("more than the %d a data file may have (ignited --max-data-size)"
                      % self.LIMIT, self.refused(big))
        bomb = os.path.join(self.tmp, "bomb.csv.gz")
        with gzip.open(bomb, "wb") as f:
            f.write(b"1,2\n" * (self.LIMIT // 4 + 1))
        self.assertIn("more than the %d bytes a data file may have, gunzipped" % self.LIMIT,
                      self.refused(bomb))
        # within it: the digits train
        rid = self.c.call("run", csv_spec(DIGITS))["id"]
        st = wait_status(self.c, rid, ("completed", "failed"), 60)
        self.assertEqual(st["status"], "completed", st.get("reason"))


# A worker that leaves a child writing to its stderr as fast as it can
# (yes(1)), writes the child's pid to argv[1] and exits 4.
GRANDCHILD = r"""
import subprocess, sys
child = subprocess.Popen(["yes"], stdout=sys.stderr)
with open(sys.argv[1], "w") as f:
    f.write(str(child.pid))
sys.exit(4)
"""


def kill_pidfile(path):
    try:
        with open(path) as f:
            os.kill(int(f.read()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


class TestWorkerPipes(WorkerCase):
    def test_grandchild_holding_stderr_does_not_trap_the_daemon(self):
        pidfile = os.path.join(self.d.dir, "grandchild.pid")
        self.addCleanup(kill_pidfile, pidfile)
        c = Client(self.d.socket, timeout=5)
        self.addCleanup(c.close)
        rid = c.call("run", {"engine": [PY, "-c", GRANDCHILD, pidfile],
                             "data": "range:3"})["id"]
        st = wait_status(c, rid, ("failed", "completed"), 30)
        self.assertEqual(st["status"], "failed")
        self.assertIn("exited with status 4", st["reason"])
        # the grandchild may still be writing: the daemon answers at once
        # and does not grow meanwhile
        before = rss_kib(self.d.proc.pid)
        end = time.time() + 2
        while time.time() < end:
            t = time.time()
            c.call("ping")
            self.assertLess(time.time() - t, 1.0)
        self.assertLess(rss_kib(self.d.proc.pid) - before, 32 * 1024)


if __name__ == "__main__":
    IGNITED = os.path.abspath(sys.argv.pop(1))
    BUILD = os.path.dirname(os.path.dirname(IGNITED))
    unittest.main()
