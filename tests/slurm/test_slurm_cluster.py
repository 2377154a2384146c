"""The Slurm test cluster itself (slurm_cluster.py): jobs as root and as
another user run and write their output, a requeued job runs again, scancel
ends one, the end of a job is on record without slurmdbd, a second cluster
runs beside the first and leaves nothing behind when stopped, a killed test
leaves no daemon; and a Python worker in a job dials back (to a fake
daemon, tests/workers/fake_daemon.py) and again after a requeue.

These are the behaviours the Slurm launcher (issue #19) will stand on; the
launcher's own tests come with it.
"""

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
for path in (HERE, os.path.join(SRC, "tests", "workers"), os.path.join(SRC, "tests", "e2e")):
    sys.path.insert(0, path)
from daemon import wait_for  # noqa: E402
from fake_daemon import FakeDaemon  # noqa: E402
from slurm_cluster import SlurmCluster, SlurmError  # noqa: E402

NOBODY = 65534

# One run of the job bumps ./counter and says which run it is; then it
# waits to be requeued or cancelled (sleep's pid in ./pid).
COUNTING_JOB = """#!/bin/sh
n=$(cat counter 2>/dev/null || echo 0)
echo $((n + 1)) > counter.new && mv counter.new counter
echo "run $((n + 1)) restart ${SLURM_RESTART_COUNT:-0} uid $(id -u)" >> runs
echo $$ > pid
exec sleep 300
"""


# A test killed with its cluster up and a job running: it prints the
# cluster's directory, the job's pid and the daemons' pids, then waits.
KILLED_TEST = """
import os, time
from slurm_cluster import SlurmCluster
c = SlurmCluster(keep=True).start()
d = os.path.join(c.jobs, "orphan")
os.mkdir(d)
job = c.sbatch(["--chdir", d, "-o", "/dev/null", "--wrap", "echo $$ > pid; exec sleep 300"])
c.wait_job(job, {"RUNNING"})
while not os.path.exists(os.path.join(d, "pid")):
    time.sleep(0.05)
pid = open(os.path.join(d, "pid")).read().strip()
print(c.dir, pid, *[p.pid for p in c.procs.values()], flush=True)
time.sleep(300)
"""


# A job that is a Python worker (python/ignite_worker) dialling back: its
# process answers who and which run of the job it is.
WORKER_JOB = """#!/bin/sh
exec /usr/bin/python3 -c '
import os
from ignite_worker import serve
serve(lambda engine, batch: {"uid": os.getuid(),
                             "restart": int(os.environ.get("SLURM_RESTART_COUNT", 0))})
'
"""


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def alive(pid):
    """pid runs (a zombie is not running)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class SlurmClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = SlurmCluster().start()
        cls.addClassCleanup(cls.cluster.stop)

    def workdir(self, uid=0, script=None):
        """A directory of the cluster owned by uid, with job.sh in it."""
        d = tempfile.mkdtemp(dir=self.cluster.jobs)
        os.chmod(d, 0o755)
        os.chown(d, uid, uid)
        if script is not None:
            path = os.path.join(d, "job.sh")
            with open(path, "w") as f:
                f.write(script)
            os.chmod(path, 0o755)
        return d

    def test_node_is_this_machine_and_idle(self):
        out = self.cluster.run(["sinfo", "-h", "-N", "-o", "%N %T %c"]).split()
        self.assertEqual(out, [self.cluster.node, "idle", str(os.cpu_count())])

    def test_jobs_as_root_and_as_nobody_run(self):
        """sbatch from a process that took the user's uid, as a user's
        shell would: the job runs as that user and writes its output file
        as that user."""
        script = "#!/bin/sh\necho \"uid $(id -u) gid $(id -g) job $SLURM_JOB_ID\"\n"
        jobs = {}
        for uid in (0, NOBODY):
            d = self.workdir(uid, script)
            out = os.path.join(d, "out-%j")
            jobs[uid] = (d, self.cluster.sbatch(["--chdir", d, "-o", out,
                                                 os.path.join(d, "job.sh")], uid=uid))
        for uid, (d, job) in jobs.items():
            info = self.cluster.wait_job(job, {"COMPLETED"})
            self.assertTrue(info["UserId"].endswith("(%d)" % uid), info["UserId"])
            out = os.path.join(d, "out-%d" % job)
            self.assertEqual(read(out), "uid %d gid %d job %d\n" % (uid, uid, job))
            self.assertEqual(os.stat(out).st_uid, uid)

    def test_requeue_runs_the_job_again(self):
        """`scontrol requeue` by the job's owner: the job's processes end,
        the job waits cred_expire and runs again from its start, told so by
        SLURM_RESTART_COUNT."""
        d = self.workdir(NOBODY, COUNTING_JOB)
        job = self.cluster.sbatch(["--chdir", d, "-o", "/dev/null", os.path.join(d, "job.sh")],
                                  uid=NOBODY)
        wait_for(lambda: read(os.path.join(d, "counter")) == "1\n" and read(
            os.path.join(d, "pid")), "the job's first run")
        first = int(read(os.path.join(d, "pid")))
        t0 = time.monotonic()
        self.cluster.run(["scontrol", "requeue", str(job)], uid=NOBODY)
        # runs, not counter: the script writes counter first
        wait_for(lambda: read(os.path.join(d, "runs")).count("\n") == 2, "the job's second run")
        requeue_s = time.monotonic() - t0
        self.assertFalse(alive(first), "the first run's process outlived the requeue")
        info = self.cluster.wait_job(job, {"RUNNING"})
        self.assertEqual(info["Restarts"], "1")
        self.assertEqual(read(os.path.join(d, "runs")),
                         "run 1 restart 0 uid 65534\nrun 2 restart 1 uid 65534\n")
        # The requeue is an end on record (see test_the_end_of_a_job_is_on_record).
        ends = [c["JobState"] for c in self.cluster.completions() if c["JobId"] == str(job)]
        self.assertEqual(ends, ["PENDING"])
        print("requeue to second run: %.1f s" % requeue_s, file=sys.stderr)
        self.cluster.run(["scancel", str(job)], uid=NOBODY)
        self.cluster.wait_job(job, {"CANCELLED"})

    def test_scancel_ends_a_job(self):
        d = self.workdir(0, COUNTING_JOB)
        job = self.cluster.sbatch(["--chdir", d, "-o", "/dev/null", os.path.join(d, "job.sh")])
        pid = int(wait_for(lambda: read(os.path.join(d, "pid")), "the job to run"))
        self.assertTrue(alive(pid))
        self.cluster.run(["scancel", str(job)])
        info = self.cluster.wait_job(job, {"CANCELLED"})
        self.assertEqual(info["Restarts"], "0")
        wait_for(lambda: not alive(pid), "the cancelled job's process to end", 15)
        self.assertNotIn(job, self.cluster.job_ids())

    def test_a_drained_node_holds_jobs_and_a_failed_one_requeues_them(self):
        """On a cluster of its own (it takes the node out of service): a
        job submitted to a drained node waits, with squeue's reason; a node
        failure requeues a running job, which runs again once the node is
        back."""
        cluster = SlurmCluster()
        self.addCleanup(cluster.stop)
        cluster.start()
        cluster.drain("maintenance")
        self.assertEqual(cluster.node_state(), "drained")
        d = tempfile.mkdtemp(dir=cluster.jobs)
        os.chmod(d, 0o755)
        job = cluster.sbatch(["--chdir", d, "-o", "/dev/null", "--wrap",
                              "echo run >> runs; exec sleep 300"])

        def reason():
            r = cluster.run(["squeue", "-h", "-j", str(job), "-o", "%T %r"]).strip()
            return r if r != "PENDING None" else None
        self.assertRegex(wait_for(reason, "a reason for the pending job", 15),
                         r"^PENDING (ReqNodeNotAvail, UnavailableNodes:%s|Nodes required "
                         r"for job are DOWN, DRAINED)" % cluster.node)
        cluster.resume_node()
        wait_for(lambda: read(os.path.join(d, "runs")) == "run\n", "the job's first run", 30)
        cluster.fail_node("node failure")
        info = cluster.wait_job(job, {"PENDING"}, 15)
        self.assertEqual(info["Restarts"], "1")
        self.assertEqual([c["JobState"] for c in cluster.completions()], ["NODE_FAIL"])
        cluster.resume_node()
        wait_for(lambda: read(os.path.join(d, "runs")) == "run\nrun\n", "the job's second run",
                 30)

    def test_the_end_of_a_job_is_on_record(self):
        """Without slurmdbd sacct has nothing; slurmctld keeps an ended job
        for MinJobAge (300 s) and jobcomp/filetxt keeps a line for good."""
        job = self.cluster.sbatch(["-o", "/dev/null", "--wrap", "exit 3"])
        info = self.cluster.wait_job(job, {"FAILED"})
        self.assertEqual(info["ExitCode"], "3:0")
        ends = [c for c in self.cluster.completions() if c["JobId"] == str(job)]
        self.assertEqual([(c["JobState"], c["ExitCode"]) for c in ends], [("FAILED", "3:0")])
        r = subprocess.run(["sacct", "-j", str(job)], capture_output=True, text=True,
                           env=self.cluster.env)
        self.assertIn("accounting storage is disabled", r.stdout + r.stderr)

    def test_a_worker_in_a_job_dials_back_and_again_after_requeue(self):
        """The worker side of issue #19 in a real job: sbatch hands the job
        the address and the secret in its environment, the worker (as
        nobody) says hello with them; a requeue ends its connection and
        the job's next run dials again."""
        daemon = FakeDaemon()
        self.addCleanup(daemon.close)
        secret = os.urandom(32)
        d = self.workdir(NOBODY, WORKER_JOB)
        job = self.cluster.sbatch(
            ["--chdir", d, "-o", os.path.join(d, "out-%j"), os.path.join(d, "job.sh")],
            uid=NOBODY, env={"IGNITE_WORKER_ADDR": "127.0.0.1:%d" % daemon.port,
                             "IGNITE_WORKER_RUN": "7", "IGNITE_WORKER_SECRET": secret.hex(),
                             "PYTHONPATH": os.path.join(SRC, "python")})
        setup = {"run": 7, "params": {}, "state": None, "seed": 1, "epoch_length": 1,
                 "max_epochs": 1}
        step = {"epoch": 1, "iteration": 1, "batch": None}
        for restart in (0, 1):
            conn = daemon.accept()
            self.assertEqual(conn.hello()[3], {"versions": [1], "run": 7, "secret": secret})
            conn.call("setup", setup)
            self.assertEqual(conn.call("process", step)["output"],
                             {"uid": NOBODY, "restart": restart})
            if restart == 0:
                self.cluster.run(["scontrol", "requeue", str(job)])
                with self.assertRaises((EOFError, ConnectionResetError)):
                    conn.read()
                conn.close()
        conn.call("shutdown", {})
        conn.close()
        info = self.cluster.wait_job(job, {"COMPLETED"})
        self.assertEqual(info["Restarts"], "1")

    def test_two_clusters_side_by_side_and_stop_leaves_nothing(self):
        """A second cluster (other ports, other directory, its own munged)
        beside the first; its stop() kills even a process that left its job
        (setsid, parent gone), and the first cluster does not notice.  Its
        slurmd killed (a node failure), its jobs are still its own: a third
        cluster's start leaves them, its stop() kills them at once."""
        second = SlurmCluster()
        self.addCleanup(second.stop)
        second.start()
        self.assertTrue(set(second.ports).isdisjoint(self.cluster.ports))
        d = tempfile.mkdtemp(dir=second.jobs)
        os.chmod(d, 0o755)
        script = os.path.join(d, "job.sh")
        with open(script, "w") as f:
            # The grandchild is no longer the job's: setsid, and its parent
            # exits.  Its pid in ./escaped.
            f.write("#!/bin/sh\n(setsid sh -c 'echo $$ > escaped.new; "
                    "mv escaped.new escaped; exec sleep 300' &)\nexec sleep 300\n")
        os.chmod(script, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        job = second.sbatch(["--chdir", d, "-o", "/dev/null", script])
        escaped = int(wait_for(lambda: read(os.path.join(d, "escaped")), "the escaped process"))
        second.wait_job(job, {"RUNNING"})
        daemons = [p.pid for p in second.procs.values()]
        ports = second.ports
        second.procs["slurmd"].kill()
        second.procs["slurmd"].wait()
        SlurmCluster().start().stop()
        self.assertTrue(alive(escaped), "another cluster's start killed a live test's job")
        t0 = time.monotonic()
        second.stop()
        print("second cluster: up in %.1f s, stopped in %.1f s" %
              (second.started, time.monotonic() - t0), file=sys.stderr)
        self.assertFalse(alive(escaped), "a job's escaped process outlived the cluster")
        for pid in daemons:
            self.assertFalse(alive(pid), "a daemon outlived the cluster")
        self.assertFalse(os.path.exists(d))
        for port in ports:
            with socket.socket() as s:
                # Free for a listener (SO_REUSEADDR: the connections that
                # ended may linger in TIME_WAIT).
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
                s.listen()
        # the other tests' jobs may still be ending on a loaded machine
        self.cluster.wait_idle(timeout=30)

    def test_a_killed_test_leaves_no_daemon_and_its_jobs_die_at_the_next_start(self):
        """A test process killed (ctest's timeout) takes its daemons with
        it; its job's processes, which nothing owns any more, are killed
        and its directory removed by the next cluster's start."""
        child = subprocess.Popen([sys.executable, "-c", KILLED_TEST], stdout=subprocess.PIPE,
                                 text=True, cwd=os.path.dirname(os.path.abspath(__file__)))
        try:
            d, pid, *daemons = child.stdout.readline().split()
        finally:
            child.kill()
            child.wait()
            child.stdout.close()
        self.addCleanup(shutil.rmtree, d, True)
        for daemon in map(int, daemons):
            wait_for(lambda: not alive(daemon), "a daemon to die with its test", 15)
        self.assertTrue(alive(int(pid)), "nothing left to clean: the test proves nothing")
        SlurmCluster().start().stop()
        self.assertFalse(alive(int(pid)), "the killed test's job outlived the next start")
        self.assertFalse(os.path.exists(d), "the killed test's directory outlived the next start")

    def test_a_daemon_that_dies_is_reported(self):
        """A start that fails says why, with the daemons' logs, and leaves
        nothing running."""
        broken = SlurmCluster(partition="no such partition")
        with self.assertRaises(SlurmError) as cm:
            broken.start()
        self.assertIn("slurmctld", str(cm.exception))
        self.assertIsNone(broken.dir)
        self.assertEqual(broken.procs, {})


if __name__ == "__main__":
    unittest.main(verbosity=2)
