"""Runs placed on Slurm (issue #19) on a real one-node cluster
(slurm_cluster.py): the daemon submits the worker with sbatch, the worker
dials back (ignited --worker-listen) with the run's secret, and the run's
history is exact through scancel, requeue and a kill -9 of the daemon.

usage: test_slurm_runs.py IGNITED IGNITECTL [unittest args]

Skipped only when the Slurm or munge programs are missing (scripts/deps.sh
installs them).
"""

import os
import pwd
import re
import select
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import unittest

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
for path in (HERE, os.path.join(SRC, "tests", "e2e")):
    sys.path.insert(0, path)
from daemon import (PY, PYPATH, Daemon, RPCError, as_nobody, history,  # noqa: E402
                    log_lines, logged_iterations, wait_for, wait_status)
from slurm_cluster import (SlurmCluster, free_ports, missing_programs,  # noqa: E402
                           parse_fields)

IGNITED = None
IGNITECTL = None
NOBODY = 65534
WORKER = os.path.join(HERE, "slow_worker.py")
RANKS_WORKER = os.path.join(HERE, "ranks_worker.py")
HAVE_TORCH = subprocess.call(
    [PY, "-c", "import torch.distributed as d, torch.distributed.run; "
     "assert d.is_available() and d.is_gloo_available()"], stderr=subprocess.DEVNULL) == 0
EPOCH_LENGTH = 20
EPOCHS = 4


def spec(slurm=True, restarts=None, name=None, cwd=None):
    s = {"engine": [PY, WORKER], "data": "worker", "epoch_length": EPOCH_LENGTH,
         "max_epochs": EPOCHS, "seed": 3, "checkpoint": {"every": 5},
         "metrics": [{"name": "loss", "kind": "loss", "field": "loss"},
                     {"name": "loss_avg", "kind": "running_average", "field": "loss"}],
         "worker": {"env": dict(PYPATH, SLOW_WORKER_DELAY="0.05")}}
    if restarts is not None:
        s["worker"]["max_restarts"] = restarts
    if cwd is not None:
        s["worker"]["cwd"] = cwd
    if name:
        s["name"] = name
    if slurm:
        s["placement"] = {"slurm": {"partition": "debug", "cpus_per_task": 1,
                                    "time": "10"}}
    return s


def ranks_spec(engine, slurm=None, restarts=None, cwd=None):
    """ranks_worker.py's run: engine its argv's start (srun, torchrun;
    [PY] for one process), slurm its placement (None: a local run)."""
    s = {"engine": engine + [RANKS_WORKER], "data": "worker", "epoch_length": EPOCH_LENGTH,
         "max_epochs": EPOCHS, "seed": 5, "checkpoint": {"every": 5},
         "metrics": [{"name": "loss", "kind": "loss", "field": "loss"},
                     {"name": "w0", "kind": "output", "field": "w0"}],
         "worker": {"env": dict(PYPATH, OMP_NUM_THREADS="1"), "timeout_ms": 120000}}
    if restarts is not None:
        s["worker"]["max_restarts"] = restarts
    if cwd is not None:
        s["worker"]["cwd"] = cwd
    if slurm is not None:
        s["placement"] = {"slurm": dict({"partition": "debug", "nodes": 1, "time": "10"},
                                        **slurm)}
    return s


# srun's two tasks in the job's allocation, each one rank.
SRUN = ["srun", PY]
SRUN_PLACEMENT = {"ntasks_per_node": 2, "cpus_per_task": 1}
# torchrun in the job, its two ranks its children (see tests/e2e/test_dist.py
# for the options torch 1.13 needs).
TORCHRUN = [PY, "-m", "torch.distributed.run", "--rdzv_backend=c10d",
            "--rdzv_endpoint=localhost:0", "--nnodes=1", "--nproc_per_node=2",
            "--monitor_interval=0.5", "--redirects=2", "--tee=2"]
TORCHRUN_PLACEMENT = {"ntasks_per_node": 1, "cpus_per_task": 2}


@unittest.skipIf(missing_programs(), "Slurm or munge is not installed (scripts/deps.sh test)")
class SlurmRuns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = SlurmCluster().start()
        cls.addClassCleanup(cls.cluster.stop)
        cls.ref = None
        cls.ranks_ref = None

    def setUp(self):
        self.cwd = tempfile.mkdtemp(prefix="ignite-slurm-run-")
        self.addCleanup(shutil.rmtree, self.cwd, True)
        self.port = free_ports(1)[0]
        self.start_daemon()

    def start_daemon(self, workdir=None, extra=()):
        self.d = Daemon(IGNITED, workdir=workdir,
                        extra=["--worker-listen", "127.0.0.1:%d" % self.port] + list(extra),
                        popen={"env": self.cluster.env}).start()
        self.addCleanup(self.d.remove)
        self.c = self.d.client()
        self.addCleanup(self.c.close)

    def reference(self):
        """The history of the same run as a local child process."""
        if SlurmRuns.ref is None:
            rid = self.c.call("run", spec(slurm=False))["id"]
            self.complete(rid)
            SlurmRuns.ref = history(self.c, rid)
        return SlurmRuns.ref

    def ranks_reference(self):
        """The history of ranks_worker.py as one local process."""
        if SlurmRuns.ranks_ref is None:
            rid = self.c.call("run", ranks_spec([PY]))["id"]
            self.complete(rid)
            SlurmRuns.ranks_ref = history(self.c, rid)
        return SlurmRuns.ranks_ref

    def complete(self, rid, timeout=120, d=None, c=None):
        """The run's status once completed (on daemon d, client c: the
        test's by default)."""
        d, c = d or self.d, c or self.c
        st = wait_status(c, rid, ("completed", "failed", "terminated"), timeout)
        self.assertEqual(st["status"], "completed",
                         "%s\n%s" % (st.get("reason"), d.logtext()[-4000:]))
        return st

    def job_of(self, rid, n=1, c=None):
        """The id of the run's n-th Slurm job, from its log."""
        def jobs():
            got = [int(m.group(1)) for m in
                   (re.search(r"submitted to Slurm as job (\d+)", line)
                    for line in log_lines(c or self.c, rid)) if m]
            return got if len(got) >= n else None
        return wait_for(jobs, "run %d's Slurm job" % rid, 60)[n - 1]

    def iteration(self, rid, target):
        return wait_for(lambda: self.c.call("status", {"id": rid})["iteration"] >= target,
                        "run %d at iteration %d" % (rid, target), 60)

    def test_a_run_on_slurm_completes_with_the_local_history(self):
        ref = self.reference()
        rid = self.c.call("run", spec(cwd=self.cwd))["id"]
        job = self.job_of(rid)
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)
        self.cluster.wait_job(job, {"COMPLETED"})
        out = os.path.join(self.cwd, "ignite-run-%d-%d.out" % (rid, job))
        self.assertTrue(os.path.exists(out), os.listdir(self.cwd))

    def test_another_users_run_is_submitted_as_that_user(self):
        """sbatch as the run's owner: nobody's run is nobody's job, and
        its worker writes its checkpoints as nobody."""
        ref = self.reference()
        os.chmod(self.cwd, 0o777)
        s = spec(cwd=self.cwd)
        s["engine"] = ["/bin/sh", "-c", 'echo "as $(id -u) $USER $LOGNAME $HOME" >&2; '
                       'exec "$0" "$@"', PY, WORKER]
        self.assertEqual(as_nobody(self.d, lambda c: c.call("run", s)), 0)
        rid = max(r["id"] for r in self.c.call("list")["runs"])
        self.assertEqual(self.c.call("status", {"id": rid})["owner"], NOBODY)
        job = self.job_of(rid)
        info = self.cluster.job(job)
        self.assertTrue(info["UserId"].startswith("nobody(65534)"))
        self.assertEqual(info["JobName"], "ignite-run-%d" % rid)
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)
        # the owner's identity and environment (PROTOCOL.md, Placed on Slurm)
        with open(os.path.join(self.cwd, "ignite-run-%d-%d.out" % (rid, job))) as f:
            self.assertIn("as %d nobody nobody %s\n" % (NOBODY, pwd.getpwuid(NOBODY).pw_dir),
                          f.read())

    def dial(self, data=b""):
        """A connection to --worker-listen that sent data."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        self.addCleanup(s.close)
        s.sendall(data)
        return s

    @staticmethod
    def frame(obj):
        body = msgpack.packb(obj)
        return struct.pack(">I", len(body)) + body

    def hello(self, rid, secret, versions=(1,)):
        """A connection that said hello as run rid's worker."""
        return self.dial(self.frame([0, 1, "hello", {"versions": list(versions), "run": rid,
                                                     "secret": secret}]))

    def logged(self, line, count=1):
        wait_for(lambda: self.d.logtext().count(line) >= count, "%r in the log" % line, 30)

    def frames(self, s):
        """Every frame the daemon sent until it closed s."""
        data = b""
        while True:
            got = s.recv(65536)
            if not got:
                break
            data += got
        out = []
        while data:
            n = struct.unpack(">I", data[:4])[0]
            out.append(msgpack.unpackb(data[4:4 + n]))
            data = data[4 + n:]
        return out

    def secret(self, rid):
        db = sqlite3.connect("file:%s?mode=ro" % self.d.db, uri=True)
        try:
            return db.execute("SELECT secret FROM run_launch WHERE run_id = ?",
                              (rid,)).fetchone()[0]
        finally:
            db.close()

    def test_one_worker_a_run_and_a_finished_run_tells_it_to_shut_down(self):
        rid = self.c.call("run", spec(cwd=self.cwd))["id"]
        self.iteration(rid, 5)
        secret = self.secret(rid)
        self.assertEqual(len(secret), 32)
        # in the job's environment, not in its script
        script = self.cluster.run(["scontrol", "write", "batch_script",
                                   str(self.job_of(rid)), "-"])
        self.assertIn(WORKER, script)
        self.assertNotIn(secret.hex(), script.lower())
        second = self.hello(rid, secret)
        [answer] = self.frames(second)
        self.assertEqual(answer[:2], [1, 1])
        self.assertEqual(answer[2]["code"], 6)
        self.assertIn("has a worker connected", answer[2]["message"])
        self.logged("run %d: worker connection from 127.0.0.1:%d refused: run %d has a "
                    "worker connected" % (rid, second.getsockname()[1], rid))
        self.complete(rid)
        answer, shutdown = self.frames(self.hello(rid, secret))
        self.assertEqual(answer[:3], [1, 1, None])
        self.assertEqual(answer[3]["version"], 1)
        self.assertEqual(shutdown[0], 0)
        self.assertEqual(shutdown[2:], ["shutdown", {}])

    def test_a_worker_that_never_dials_fails_the_run_naming_its_job(self):
        """What a typo in the engine does: each job ends before its worker
        connected, a restart while any are left, then the run fails
        naming the last job and how it ended; its output file says why."""
        s = spec(restarts=1, cwd=self.cwd)
        s["engine"] = [PY, os.path.join(self.cwd, "no-such-script.py")]
        rid = self.c.call("run", s)["id"]
        self.job_of(rid)
        second = self.job_of(rid, 2)
        st = wait_status(self.c, rid, ("failed",), 60)
        self.assertRegex(st["reason"], r"Slurm job %d ended \(FAILED[^)]*\) before its worker "
                         "connected" % second)
        with open(os.path.join(self.cwd, "ignite-run-%d-%d.out" % (rid, second))) as f:
            self.assertIn("no-such-script.py", f.read())

    def test_a_submission_sbatch_refuses_fails_the_run_with_its_word(self):
        s = spec(cwd=self.cwd)
        s["placement"]["slurm"]["partition"] = "nosuch"
        rid = self.c.call("run", s)["id"]
        st = wait_status(self.c, rid, ("failed",), 30)
        self.assertIn("sbatch failed: sbatch: error: invalid partition specified: nosuch",
                      st["reason"])

    def test_a_wrong_secret_is_refused_and_logged(self):
        rid = self.c.call("run", spec(cwd=self.cwd))["id"]
        s = self.hello(rid, b"\0" * 32)
        self.assertEqual(s.recv(100), b"", "closed without an answer")
        wait_for(lambda: "run %d: the wrong secret" % rid in self.d.logtext(),
                 "the refusal in the log")
        # the run's own worker is let in all the same
        self.complete(rid)

    def test_a_bad_hello_is_dropped_and_logged(self):
        """PROTOCOL.md's refusals: each closed without an answer and logged
        with its peer; a protocol version the daemon lacks is told so; at
        most 64 connections wait for their hello, each at most 10 s."""
        rid = self.c.call("run", spec(slurm=False))["id"]
        silent = self.dial()
        zeros = b"\0" * 32
        for data, why in (
                (self.frame([2, "log", {}]), "its first frame is not a hello request"),
                (struct.pack(">I", 4097) + b"\0" * 4097,
                 "frame too large: 4097 bytes, the limit is 4096"),
                (self.frame([0, 1, "hello", {"versions": [1], "run": rid, "secret": zeros}]),
                 "run %d: no run of that id is placed on a cluster" % rid),
                (self.frame([0, 1, "hello", {"versions": [1], "run": rid, "secret": b"x"}]),
                 "run %d: the secret is not 32 bytes" % rid)):
            s = self.dial(data)
            try:
                self.assertEqual(s.recv(100), b"", why)
            except ConnectionResetError:
                pass  # closed with the frame unread
            self.logged("worker connection from 127.0.0.1:%d refused: %s"
                        % (s.getsockname()[1], why))
        [answer] = self.frames(self.hello(rid, zeros, versions=(2,)))
        self.assertEqual(answer[2]["code"], 10, answer)
        self.assertIn("ignited speaks worker protocol version 1 only", answer[2]["message"])
        # silent and 63 more wait: the 65th is turned away at once
        waiting = [self.dial() for _ in range(64)]
        self.logged("worker connection refused: 64 are already waiting for their hello")
        for s in waiting:
            s.close()
        self.logged("refused: it closed before its hello", 63)
        self.assertEqual(silent.recv(100), b"")
        self.logged("worker connection from 127.0.0.1:%d refused: no hello within 10 s"
                    % silent.getsockname()[1])

    def interrupted(self, *command, restarts=2, ranks=None):
        """A run stopped by command (+ its job's id; none: the caller
        stops it) at iteration 20 or
        later (of 80, 50 ms each); the reference history, the run and its
        first job.  ranks: (engine, placement) of a run of ranks_worker.py
        instead of slow_worker.py's."""
        if ranks is None:
            ref = self.reference()
            s = spec(restarts=restarts, cwd=self.cwd)
        else:
            ref = self.ranks_reference()
            s = ranks_spec(ranks[0], ranks[1], restarts=restarts, cwd=self.cwd)
        rid = self.c.call("run", s)["id"]
        job = self.job_of(rid)
        self.iteration(rid, 20)
        if command:
            self.cluster.run(list(command) + [str(job)])
        return ref, rid, job

    def test_scancel_kill_resumes_exactly(self):
        ref, rid, job = self.interrupted("scancel", "--signal=KILL")
        second = self.job_of(rid, 2)
        self.assertNotEqual(second, job)
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)
        self.assertIn("restart 1 of 2", "\n".join(log_lines(self.c, rid)))

    def test_a_dropped_connection_is_dialled_again_and_resumes_exactly(self):
        """The worker's connection cut under a running job (ss -K, as a
        network fault would): the run restarts, the same job's worker
        dials again with backoff and resumes from the last checkpoint."""
        ref, rid, job = self.interrupted()
        r = subprocess.run(["ss", "-K", "dst", "127.0.0.1", "dport", "=", ":%d" % self.port],
                           capture_output=True, text=True)
        if r.returncode != 0 or "ESTAB" not in r.stdout:
            self.skipTest("ss -K cannot cut the connection: %s" % r.stderr.strip())
        wait_for(lambda: "restart 1 of 2" in "\n".join(log_lines(self.c, rid)),
                 "run %d's restart" % rid)
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)
        lines = "\n".join(log_lines(self.c, rid))
        self.assertEqual(lines.count("submitted to Slurm as job"), 1, lines)
        self.assertEqual(self.d.logtext().count("run %d: worker connected from" % rid), 2)
        self.assertEqual(self.cluster.wait_job(job, {"COMPLETED"})["Restarts"], "0")

    def test_without_restarts_the_run_fails_naming_the_jobs_end(self):
        _, rid, job = self.interrupted("scancel", restarts=0)
        st = wait_status(self.c, rid, ("failed",), 60)
        self.assertIn("the worker's connection dropped", st["reason"])
        self.assertRegex(st["reason"], r"; Slurm job %d ended CANCELLED" % job)

    def test_a_node_failure_resumes_exactly(self):
        """The node marked down under the job (NODE_FAIL, requeued): the
        worker is gone, and the run resumes when the job runs again."""
        self.node_failed()

    @unittest.skipUnless(HAVE_TORCH, "python3-torch (with gloo) is missing")
    def test_srun_two_ranks_resume_exactly_after_a_node_failure(self):
        self.need_two_cpus()
        self.node_failed(ranks=(SRUN, SRUN_PLACEMENT))

    @unittest.skipUnless(HAVE_TORCH, "python3-torch (with gloo) is missing")
    def test_torchrun_in_a_job_resumes_exactly_after_a_node_failure(self):
        self.node_failed(ranks=self.torchrun())

    def node_failed(self, ranks=None):
        self.addCleanup(self.cluster.resume_node)
        ref, rid, job = self.interrupted(ranks=ranks)
        self.cluster.fail_node("ignite test")
        wait_for(lambda: "restart 1 of 2" in "\n".join(log_lines(self.c, rid)),
                 "run %d's worker to drop" % rid, 60)
        self.cluster.resume_node()
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)

    def test_scontrol_requeue_resumes_exactly(self):
        ref, rid, job = self.interrupted("scontrol", "requeue")
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)
        lines = "\n".join(log_lines(self.c, rid))
        self.assertNotIn("submitted to Slurm as job %d" % (job + 1), lines)
        self.assertEqual(self.cluster.job(job)["Restarts"], "1")

    def need_two_cpus(self):
        """Two ranks need two CPUs of the node (its CPUs are this
        machine's, slurmd -C)."""
        node = parse_fields(self.cluster.run(["scontrol", "show", "node", "-o",
                                              self.cluster.node]))
        if int(node.get("CPUTot", "0")) < 2:
            self.skipTest("two ranks need 2 CPUs; the node has %s" % node.get("CPUTot"))

    def ranks_in_output(self, rid, job, n):
        """The job's output file says its worker had n ranks."""
        out = os.path.join(self.cwd, "ignite-run-%d-%d.out" % (rid, job))
        with open(out, errors="replace") as f:
            text = f.read()
        for rank in range(n):
            self.assertIn("ranks_worker: rank %d of %d" % (rank, n), text)

    @unittest.skipUnless(HAVE_TORCH, "python3-torch (with gloo) is missing")
    def test_srun_two_ranks_complete_with_one_process_history(self):
        """srun's two tasks, one rank each (only rank 0 dials back), take
        the steps one local process takes."""
        self.need_two_cpus()
        ref = self.ranks_reference()
        rid = self.c.call("run", ranks_spec(SRUN, SRUN_PLACEMENT, cwd=self.cwd))["id"]
        job = self.job_of(rid)
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)
        self.assertEqual(self.cluster.job(job)["NumTasks"], "2")
        self.ranks_in_output(rid, job, 2)

    @unittest.skipUnless(HAVE_TORCH, "python3-torch (with gloo) is missing")
    def test_srun_two_ranks_resume_exactly_after_scancel_kill(self):
        self.need_two_cpus()
        ref, rid, job = self.interrupted("scancel", "--signal=KILL",
                                         ranks=(SRUN, SRUN_PLACEMENT))
        self.assertNotEqual(self.job_of(rid, 2), job)
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)

    @staticmethod
    def rank_pid(rid, rank):
        """The pid of run rid's srun task of that rank."""
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/environ" % pid, "rb") as f:
                    env = f.read().split(b"\0")
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if (b"IGNITE_WORKER_RUN=%d" % rid in env and b"SLURM_PROCID=%d" % rank in env
                    and RANKS_WORKER.encode() in cmd and b"srun" not in cmd):
                return int(pid)
        return None

    @unittest.skipUnless(HAVE_TORCH, "python3-torch (with gloo) is missing")
    def test_srun_two_ranks_resume_exactly_after_requeue(self):
        self.need_two_cpus()
        ref, rid, job = self.interrupted("scontrol", "requeue", ranks=(SRUN, SRUN_PLACEMENT))
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)
        self.assertEqual(self.cluster.job(job)["Restarts"], "1")

    def torchrun(self):
        """torchrun's engine and placement, its logs in the run's cwd."""
        self.need_two_cpus()
        return (TORCHRUN + ["--log_dir=" + os.path.join(self.cwd, "torchrun")],
                TORCHRUN_PLACEMENT)

    @unittest.skipUnless(HAVE_TORCH, "python3-torch (with gloo) is missing")
    def test_torchrun_in_a_job_resumes_exactly_after_requeue(self):
        ref, rid, job = self.interrupted("scontrol", "requeue", ranks=self.torchrun())
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)
        self.assertEqual(self.cluster.job(job)["Restarts"], "1")
        self.ranks_in_output(rid, job, 2)

    def test_kill9_of_the_daemon_resumes_exactly(self):
        self.restarted_daemon(self.d.kill9)

    def test_a_clean_restart_of_the_daemon_keeps_the_job(self):
        self.restarted_daemon(self.d.stop)

    @unittest.skipUnless(HAVE_TORCH, "python3-torch (with gloo) is missing")
    def test_srun_two_ranks_resume_exactly_after_kill9_of_the_daemon(self):
        """The job (both ranks) goes on without the daemon; rank 0 dials
        the restarted one, and both ranks load the checkpoint it names."""
        self.need_two_cpus()
        self.restarted_daemon(self.d.kill9, ranks=(SRUN, SRUN_PLACEMENT))

    @unittest.skipUnless(HAVE_TORCH, "python3-torch (with gloo) is missing")
    def test_torchrun_in_a_job_resumes_exactly_after_kill9_of_the_daemon(self):
        """torchrun's ranks go on without the daemon; its rank 0 dials the
        restarted one."""
        self.restarted_daemon(self.d.kill9, ranks=self.torchrun())

    def restarted_daemon(self, stop, ranks=None):
        """The daemon stopped mid-run and started again: the same job's
        worker dials back and the run resumes exactly."""
        ref, rid, job = self.interrupted(ranks=ranks)
        self.iteration(rid, 30)
        stop()
        self.c.close()
        self.start_daemon(workdir=self.d.dir)
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)
        lines = "\n".join(log_lines(self.c, rid))
        self.assertEqual(lines.count("submitted to Slurm as job"), 1, lines)
        self.cluster.wait_job(job, {"COMPLETED"})

    def nobodys_dir(self, prefix):
        d = tempfile.mkdtemp(prefix=prefix)
        self.addCleanup(shutil.rmtree, d, True)
        os.chown(d, NOBODY, NOBODY)
        return d

    def test_a_per_user_daemon_submits_as_its_user(self):
        """README's no-root way, as nobody: its database in a directory
        not made yet on local disk, checkpoints in its home, its socket
        the default (ignitectl finds it without options) and
        --worker-listen 0.0.0.0:PORT.  Its run is nobody's job, whose
        worker dials this host's name."""
        ref = self.reference()
        home, xdg, local = (self.nobodys_dir("ignite-slurm-" + what + "-")
                            for what in ("home", "xdg", "local"))
        os.chmod(xdg, 0o700)
        env = {"HOME": home, "XDG_RUNTIME_DIR": xdg, "USER": "nobody"}
        os.chmod(self.cwd, 0o777)
        port = free_ports(1)[0]
        d = Daemon(IGNITED, prefix=["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                                    "--clear-groups"],
                   extra=["--db", os.path.join(local, "nobody-ignite", "ignite.db"),
                          "--checkpoint-dir", os.path.join(home, "ignite-checkpoints"),
                          "--worker-listen", "0.0.0.0:%d" % port],
                   popen={"env": dict(self.cluster.env, **env)})
        d.socket = os.path.join(xdg, "ignite", "ignited.sock")  # its default
        d.start()
        self.addCleanup(d.remove)
        s = spec(cwd=self.cwd)
        s["engine"] = ["/bin/sh", "-c", 'echo "dials $IGNITE_WORKER_ADDR" >&2; exec "$0" "$@"',
                       PY, WORKER]
        self.assertEqual(as_nobody(d, lambda c: c.call("run", s)), 0)
        c = d.client()
        self.addCleanup(c.close)
        [rid] = [r["id"] for r in c.call("list")["runs"]]
        job = self.job_of(rid, c=c)
        self.assertTrue(self.cluster.job(job)["UserId"].startswith("nobody(65534)"))
        self.complete(rid, d=d, c=c)
        self.assertEqual(history(c, rid), ref)
        with open(os.path.join(self.cwd, "ignite-run-%d-%d.out" % (rid, job))) as f:
            self.assertIn("dials %s:%d\n" % (socket.gethostname(), port), f.read())
        self.assertTrue(os.listdir(os.path.join(home, "ignite-checkpoints")))
        out = self.cluster.run([IGNITECTL, "status", str(rid)], uid=NOBODY, env=env)
        self.assertIn("completed", out)

    def test_a_run_is_queued_with_slurms_reason_while_the_node_is_drained(self):
        """status shows it, and its watcher is told: queued with where its
        job stands, again when Slurm's reason changes (a hold), then
        running; another user's watcher is told queued without it."""
        self.cluster.drain("ignite test")
        self.addCleanup(self.cluster.resume_node)
        w = self.d.client()
        self.addCleanup(w.close)
        w.call("watch", {})
        rid = self.c.call("run", spec(cwd=self.cwd))["id"]

        def queued():
            st = self.c.call("status", {"id": rid})
            why = (st.get("queue") or {}).get("waiting_for") or ""
            return why if st["status"] == "queued" and "Node" in why else None
        why = wait_for(queued, "run %d queued with Slurm's reason" % rid, 60)
        job = self.job_of(rid)
        self.assertIn("Slurm job %d PENDING: " % job, why)

        notes = []

        def status_notes(until):
            while not notes or not until(notes[-1]):
                note = w.next_note()
                if note[1] == "status" and note[2]["id"] == rid:
                    notes.append(note[2])
        self.assert_others_told_no_reason(
            rid, lambda: self.cluster.run(["scontrol", "hold", str(job)]))
        status_notes(lambda n: "JobHeldAdmin" in (n["reason"] or ""))
        self.cluster.run(["scontrol", "release", str(job)])
        self.cluster.resume_node()
        status_notes(lambda n: n["status"] in ("completed", "failed"))
        statuses = [n["status"] for n in notes]
        self.assertEqual(statuses[-2:], ["running", "completed"], notes)
        queued_notes = [n["reason"] for n in notes[:-2]]
        # queued from its start, each note news: where the job stands
        self.assertEqual(set(statuses[:-2]), {"queued"}, notes)
        self.assertEqual(queued_notes[0], "submitting to Slurm", notes)
        for a, b in zip(queued_notes, queued_notes[1:]):
            self.assertNotEqual(a, b, notes)
        self.assertTrue(any(r.startswith("Slurm job %d PENDING: " % job) and "Node" in r
                            for r in queued_notes), notes)
        self.assertIn("Slurm job %d PENDING: JobHeldAdmin" % job, queued_notes)
        self.complete(rid)

    def assert_others_told_no_reason(self, rid, change):
        """nobody, watching run rid, is told it is queued, without the
        reason (the owner's and root's), after change()."""
        rfd, wfd = os.pipe()
        self.addCleanup(os.close, rfd)
        self.addCleanup(os.close, wfd)
        got = []

        def check(c):
            c.call("watch", {"id": rid})
            os.write(wfd, b"w")
            while True:
                note = c.next_note()
                if note[1] == "status":
                    # (throttled: the store's, PROTOCOL.md's status note)
                    return dict(note[2], throttled=None) == {
                        "id": rid, "status": "queued", "reason": None, "throttled": None}

        t = threading.Thread(target=lambda: got.append(as_nobody(self.d, check)))
        t.start()
        ready, _, _ = select.select([rfd], [], [], 30)
        self.assertTrue(ready, "nobody's watch")
        change()
        t.join(60)
        self.assertEqual(got, [0], "nobody's status note")

    def test_pause_cancels_the_job_and_resume_submits_again(self):
        self.paused_and_resumed()

    @unittest.skipUnless(HAVE_TORCH, "python3-torch (with gloo) is missing")
    def test_srun_two_ranks_resume_exactly_after_kill9_of_a_rank_then_pause(self):
        """Rank 1 killed (as the OOM killer would): rank 0 exits, the job
        ends, and the run resumes in a job submitted anew; pause then
        checkpoints both ranks' states and cancels that job, and the job
        resume submits loads them on both."""
        self.need_two_cpus()
        self.paused_and_resumed(ranks=(SRUN, SRUN_PLACEMENT), kill_rank=True)

    @unittest.skipUnless(HAVE_TORCH, "python3-torch (with gloo) is missing")
    def test_torchrun_in_a_job_pause_and_resume_exactly(self):
        """Pause checkpoints torchrun's ranks and cancels the job; resume
        submits a new one, whose ranks load the checkpoint."""
        self.paused_and_resumed(ranks=self.torchrun())

    def paused_and_resumed(self, ranks=None, kill_rank=False):
        ref, rid, job = self.interrupted(ranks=ranks)
        jobs = 1
        if kill_rank:
            os.kill(wait_for(lambda: self.rank_pid(rid, 1), "rank 1's process"),
                    signal.SIGKILL)
            jobs, job = 2, self.job_of(rid, 2)
            wait_for(lambda: logged_iterations(self.c, rid, "resumed",
                                               " after the worker's restart"),
                     "run %d to resume in job %d" % (rid, job))
        self.iteration(rid, self.c.call("status", {"id": rid})["iteration"] + 5)
        self.c.call("pause", {"id": rid})
        wait_status(self.c, rid, ("paused",))
        self.cluster.wait_job(job, {"CANCELLED", "COMPLETED"})
        self.c.call("resume", {"id": rid})
        self.assertNotEqual(self.job_of(rid, jobs + 1), job)
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)

    def test_placed_runs_hold_none_of_the_daemons_cpu_slots(self):
        self.d.stop()
        self.start_daemon(extra=["--cpus", "1"])
        self.cluster.drain("ignite test")
        self.addCleanup(self.cluster.resume_node)
        rids = [self.c.call("run", spec(cwd=self.cwd))["id"] for _ in range(2)]
        jobs = [self.job_of(rid) for rid in rids]
        self.assertEqual(len(set(jobs)), 2)
        for rid in rids:
            self.assertEqual(self.c.call("status", {"id": rid})["resources"]["cpus"], 0)
            self.c.call("terminate", {"id": rid})

    def pending(self):
        """A run whose job waits on the drained node, and the job."""
        self.cluster.drain("ignite test")
        self.addCleanup(self.cluster.resume_node)
        rid = self.c.call("run", spec(cwd=self.cwd))["id"]
        job = self.job_of(rid)
        self.cluster.wait_job(job, {"PENDING"})
        return rid, job

    def test_pause_of_a_pending_run_cancels_its_job_and_resume_submits_again(self):
        rid, job = self.pending()
        self.c.call("pause", {"id": rid})
        wait_status(self.c, rid, ("paused",), 10)
        self.cluster.wait_job(job, {"CANCELLED"})
        self.cluster.resume_node()
        self.c.call("resume", {"id": rid})
        self.assertNotEqual(self.job_of(rid, 2), job)
        self.complete(rid)
        self.assertEqual(history(self.c, rid), self.reference())

    def test_terminate_of_a_running_run_ends_its_worker_and_job(self):
        rid = self.c.call("run", spec(cwd=self.cwd))["id"]
        job = self.job_of(rid)
        self.iteration(rid, 5)
        self.c.call("terminate", {"id": rid})
        st = wait_status(self.c, rid, ("terminated", "completed", "failed"), 30)
        self.assertEqual(st["status"], "terminated", st)
        self.cluster.wait_job(job, {"CANCELLED", "COMPLETED"}, 30)
        self.assertLess(self.c.call("status", {"id": rid})["iteration"], EPOCH_LENGTH * EPOCHS)

    def test_terminate_of_a_pending_run_cancels_its_job(self):
        rid, job = self.pending()
        self.c.call("terminate", {"id": rid})
        wait_status(self.c, rid, ("terminated",))
        self.cluster.wait_job(job, {"CANCELLED"})

    def test_ignitectl_run_slurm_flags_place_the_run(self):
        self.cluster.drain("ignite test")
        self.addCleanup(self.cluster.resume_node)
        out = subprocess.run(
            [IGNITECTL, "--socket", self.d.socket, "run", "--engine",
             "exec:%s %s" % (PY, WORKER), "--data", "worker", "--epoch-length", "5",
             "--slurm", "partition=debug", "--slurm", "cpus_per_task=1",
             # README's: digits alone are Slurm's strings for these two
             "--slurm", "time=9", "--slurm", "mem=100",
             "--slurm", "extra_args=--comment=ignite", "--slurm", "extra_args=--nice=0"],
            capture_output=True, text=True, cwd=self.cwd, check=True).stdout
        rid = int(re.search(r"\d+", out).group(0))
        placement = self.c.call("spec", {"id": rid})["placement"]
        self.assertEqual(placement["slurm"]["partition"], "debug")
        self.assertEqual(placement["slurm"]["cpus_per_task"], 1)
        self.assertEqual((placement["slurm"]["time"], placement["slurm"]["mem"]), ("9", "100"))
        self.assertEqual(placement["slurm"]["extra_args"], ["--comment=ignite", "--nice=0"])
        self.assertIsNone(placement["slurm"]["gres"])
        job = self.job_of(rid)
        info = self.cluster.job(job)
        self.assertEqual(info["Comment"].strip(), "ignite")
        self.assertEqual((info["TimeLimit"], info["MinMemoryNode"]), ("00:09:00", "100M"))
        self.c.call("terminate", {"id": rid})
        self.cluster.wait_job(job, {"CANCELLED"})

    def test_a_bad_placement_is_refused_with_its_field(self):
        for slurm, want in (({"nodes": 0}, "placement.slurm.nodes"),
                            ({"partiton": "x"}, "partiton"),
                            ({"extra_args": ["exclusive"]}, "placement.slurm.extra_args[0]"),
                            ({"time": ""}, "must not be empty")):
            s = spec()
            s["placement"] = {"slurm": slurm}
            with self.assertRaises(RPCError) as e:
                self.c.call("run", s)
            self.assertIn(want, str(e.exception))
        s = {"engine": "builtin:noop", "placement": {"slurm": {}}}
        with self.assertRaises(RPCError) as e:
            self.c.call("run", s)
        self.assertIn("placement: only for exec engines", str(e.exception))

    def test_workers_dial_an_ipv6_address(self):
        """--worker-listen [::1]:PORT: the job is given it, in brackets, and
        its worker dials it; refusals name the peer so too."""
        ref = self.reference()
        self.d.stop()
        self.c.close()
        port = free_ports(1)[0]
        self.d = Daemon(IGNITED, extra=["--worker-listen", "[::1]:%d" % port],
                        popen={"env": self.cluster.env}).start()
        self.addCleanup(self.d.remove)
        self.c = self.d.client()
        self.addCleanup(self.c.close)
        s = socket.create_connection(("::1", port), timeout=20)
        self.addCleanup(s.close)
        s.sendall(self.frame([2, "log", {}]))
        self.assertEqual(s.recv(100), b"")
        self.logged("worker connection from [::1]:%d refused: its first frame is not a hello "
                    "request" % s.getsockname()[1])
        rid = self.c.call("run", spec(cwd=self.cwd))["id"]
        self.complete(rid)
        self.assertEqual(history(self.c, rid), ref)
        self.assertIn("run %d: worker connected from [::1]:" % rid, self.d.logtext())

    def test_a_bad_worker_listen_is_refused_at_start(self):
        for arg, says in (("localhost:7070", "localhost is not a numeric IPv4 address"),
                          ("127.0.0.1", "expected HOST:PORT"),
                          ("[::1]:70000", "expected HOST:PORT"),
                          ("127.0.0.1:%d" % self.port, "cannot listen: address already in use")):
            d = Daemon(IGNITED, extra=["--worker-listen", arg])
            self.addCleanup(d.remove)
            with self.assertRaises(RuntimeError) as e:
                d.start()
            self.assertIn("--worker-listen %s: %s" % (arg, says), str(e.exception))

    def test_a_placement_without_worker_listen_is_refused(self):
        d = Daemon(IGNITED, popen={"env": self.cluster.env}).start()
        self.addCleanup(d.remove)
        c = d.client()
        self.addCleanup(c.close)
        with self.assertRaises(RPCError) as e:
            c.call("run", spec())
        self.assertIn("--worker-listen", str(e.exception))


if __name__ == "__main__":
    IGNITED = os.path.abspath(sys.argv.pop(1))
    IGNITECTL = os.path.abspath(sys.argv.pop(1))
    unittest.main()
