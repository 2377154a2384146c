"""A real one-node Slurm on this machine, for tests (issue #19, point 5).

SlurmCluster starts Debian's slurm-wlm (slurmctld, slurmd) and a MUNGE
daemon (munged) in a fresh temporary directory, with a generated
slurm.conf, key and free ports, so that several clusters (and several test
processes) can run side by side on one machine.  Clients (sbatch, squeue,
scontrol, scancel, sinfo) reach it through SLURM_CONF: cluster.env.

    with SlurmCluster() as cluster:
        job = cluster.sbatch(["--wrap", "true"], uid=65534)
        cluster.wait_job(job, {"COMPLETED"})

It must run as root: slurmd starts jobs as their owners, and munged runs as
the munge user.  stop() (called by the `with`, at exit, and idempotent)
cancels the jobs, stops the daemons and kills every process left by a job
(a job's processes outlive slurmd, and a daemonised one outlives the job):
see _kill_jobs.  A test process killed outright (ctest's timeout) takes
its daemons with it (PR_SET_PDEATHSIG); its jobs' processes are killed,
and its directory removed, by the next cluster's start (the directory
names its test process: owner).

What the layout must satisfy, learnt the hard way:
- munged refuses a socket directory that is not executable by all
  ("Socket is inaccessible: execute permissions for all required"), and a
  key that others can read: the socket lives in munge/ (0755), the key,
  seed and log in munge/private/ (0700), both owned by munge.
- Every user who submits must reach the munge socket and read slurm.conf:
  the top directory is 0755.
- A requeued job waits cred_expire seconds (AuthInfo, 120 by default)
  before it may start again, and a job that became eligible waits for the
  next scheduling pass (sched_interval, 60 s by default): both are short
  here so that requeue tests take seconds.
- Without slurmdbd, sacct answers "Slurm accounting storage is disabled":
  a job's state comes from `scontrol show job` (kept MinJobAge, 300 s,
  after it ends) and its end from jobcomp/filetxt (completions()), which
  writes one line per end, a requeue included (JobState=PENDING then).
"""

import atexit
import ctypes
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SBIN = ("slurmctld", "slurmd", "munged")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel", "sinfo", "munge")
PR_SET_PDEATHSIG = 1
# A requeued job's wait before it may run again (see the module's text):
# 5 s is the least slurmctld takes ("AuthInfo=cred_expire=4 invalid", and
# then the default, 120 s).
CRED_EXPIRE = 5
# Between a job's SIGTERM and SIGKILL (scancel, time limit): the default is
# 30 s, long for a test that cancels a job that ignores SIGTERM.
KILL_WAIT = 5
START_TIMEOUT = 60
# sinfo's states of a node that takes jobs.
IN_SERVICE = ("idle", "mixed", "allocated", "completing")
# Daemons that fail to bind their ports say so; the others are real errors.
PORT_TAKEN = "Address already in use"


class SlurmError(RuntimeError):
    pass


def missing_programs():
    """The programs of slurm-wlm and munge this machine lacks."""
    return [p for p in SBIN + CLIENTS if shutil.which(p, path=os.environ.get("PATH", "") +
                                                      ":/usr/sbin:/sbin") is None]


def free_ports(n):
    """n distinct TCP ports that were free on 127.0.0.1 a moment ago (the
    daemons may still lose them to someone else: start() retries)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """In a child before exec: SIGTERM it when the test process dies, so
    that a test killed by ctest's timeout leaves no daemon behind.  It runs
    after subprocess's switch of uid (user=), which would clear it.  The
    signal comes when the thread that started the child ends: start a
    cluster from the main thread, or one that lives as long as it."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def parse_fields(line):
    """`scontrol show -o` and jobcomp lines: {Key: value} (values may hold
    spaces: a key is a word followed by '=')."""
    return dict(re.findall(r"(\S+?)=(.*?)(?= \S+?=|$)", line.strip()))


def _proc_ids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _read_proc(pid, name):
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            return f.read()
    except OSError:
        return None


def _kill_jobs(ours):
    """SIGKILL the processes of the jobs of the clusters whose slurm.conf
    path ours(path) accepts, until none is left.  slurmstepd and a job's
    processes carry SLURM_CONF=<slurm.conf> in their environment
    (slurmstepd sets it for the job even with --export=NONE), the job's
    also SLURM_JOB_ID; their descendants are taken whatever they did to
    theirs.  A process that double-forked away from its job is found too.
    Processes a test started with cluster.env (a daemon that submits jobs)
    have SLURM_CONF but are neither slurmstepd nor in a job: they are left
    alone."""
    for _ in range(10):
        parent = {}
        marked = set()
        for pid in _proc_ids():
            stat = _read_proc(pid, "stat")
            if stat is None:
                continue
            # ppid: the second field after the command's parenthesis.
            parent[pid] = int(stat[stat.rindex(b")") + 2:].split()[1])
            env = (_read_proc(pid, "environ") or b"").split(b"\0")
            conf = [v[len(b"SLURM_CONF="):] for v in env if v.startswith(b"SLURM_CONF=")]
            if not conf or not ours(conf[0]):
                continue
            cmd = _read_proc(pid, "cmdline") or b""
            if cmd.startswith(b"slurmstepd") or any(v.startswith(b"SLURM_JOB_ID=") for v in env):
                marked.add(pid)
        grew = True
        while grew:
            grew = False
            for pid, ppid in parent.items():
                if ppid in marked and pid not in marked:
                    marked.add(pid)
                    grew = True
        marked.discard(os.getpid())
        if not marked:
            return
        for pid in marked:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def _process_id(pid):
    """pid and its start time: a process, not a number the kernel may give
    another one later."""
    stat = _read_proc(pid, "stat")
    if stat is None:
        return None
    # starttime: the 22nd field, the 20th after the command's parenthesis.
    return "%d %s" % (pid, stat[stat.rindex(b")") + 2:].split()[19].decode())


def _orphaned(conf):
    """conf is the slurm.conf of a test cluster whose test process is gone:
    killed (its daemons die with it, see _die_with_parent, but not its
    jobs, and its directory stays).  Not one whose test stopped slurmd on
    purpose (a node failure)."""
    d = os.path.dirname(conf).decode(errors="replace")
    if not re.fullmatch(re.escape(tempfile.gettempdir()) + r"/ignite-slurm-\w+", d):
        return False
    try:
        with open(os.path.join(d, "owner")) as f:
            owner = f.read().split()
    except FileNotFoundError:
        # Gone, or else stopped and kept (keep=True) or so new that its
        # owner is being written.
        return not os.path.isdir(d)
    except OSError:
        return True
    return len(owner) != 2 or _process_id(int(owner[0])) != " ".join(owner)


def _clean_orphans():
    """Kill the jobs and remove the directories of the clusters whose test
    was killed (ctest's timeout)."""
    _kill_jobs(_orphaned)
    for d in glob.glob(os.path.join(tempfile.gettempdir(), "ignite-slurm-*")):
        if _orphaned(os.path.join(d, "slurm.conf").encode()):
            shutil.rmtree(d, ignore_errors=True)


class SlurmCluster:
    def __init__(self, partition="debug", keep=False):
        """keep: leave the directory (logs, state) on stop, for debugging."""
        self.partition = partition
        self.keep = keep
        self.dir = None
        self.procs = {}
        self.hostname = socket.gethostname().split(".")[0]
        self.node = self.hostname
        self.started = None

    # -- starting ---------------------------------------------------------

    def start(self):
        missing = missing_programs()
        if missing:
            raise SlurmError("missing %s: install slurm-wlm's daemons and munge "
                             "(sh scripts/deps.sh test)" % " ".join(missing))
        if os.geteuid() != 0:
            raise SlurmError("a Slurm test cluster must be started as root "
                             "(slurmd runs jobs as their owners)")
        t0 = time.monotonic()
        _clean_orphans()
        self.dir = tempfile.mkdtemp(prefix="ignite-slurm-")
        # Submitters of any uid read slurm.conf and reach the munge socket.
        os.chmod(self.dir, 0o755)
        # Whose cluster it is, for _orphaned.
        with open(os.path.join(self.dir, "owner"), "w") as f:
            f.write(_process_id(os.getpid()))
        for sub in ("state", "spool", "log"):
            os.mkdir(os.path.join(self.dir, sub), 0o755)
        # Job output of any user goes here unless a test says otherwise.
        self.jobs = os.path.join(self.dir, "jobs")
        os.mkdir(self.jobs)
        os.chmod(self.jobs, 0o1777)
        self.conf = os.path.join(self.dir, "slurm.conf")
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        atexit.register(self.stop)
        try:
            self._start_munge()
            for _ in range(3):
                self.ports = free_ports(2)
                self._write_conf()
                if self._start_slurm():
                    break
            else:
                raise SlurmError("slurmctld/slurmd lost their ports three times:\n" +
                                 self.logs())
            self.wait_idle()
        except BaseException:
            self.stop()
            raise
        self.started = time.monotonic() - t0
        return self

    def _start_munge(self):
        munge = pwd.getpwnam("munge")
        self.munge_dir = os.path.join(self.dir, "munge")
        private = os.path.join(self.munge_dir, "private")
        os.mkdir(self.munge_dir, 0o755)
        os.mkdir(private, 0o700)
        key = os.path.join(private, "munge.key")
        # munged wants a key of 32 bytes at least, readable by it only.
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        os.write(fd, os.urandom(1024))
        os.close(fd)
        for path in (self.munge_dir, private, key):
            os.chown(path, munge.pw_uid, munge.pw_gid)
        self.munge_socket = os.path.join(self.munge_dir, "munge.socket")
        self._spawn("munged", [
            "munged", "--foreground", "--socket=" + self.munge_socket,
            "--key-file=" + key, "--seed-file=" + os.path.join(private, "munged.seed"),
            "--pid-file=" + os.path.join(self.munge_dir, "munged.pid"),
            "--log-file=" + os.path.join(private, "munged.log")],
            user=munge.pw_uid, group=munge.pw_gid, extra_groups=[])
        # Ready once it answers: a credential encoded through the socket.
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._check_alive("munged")
            r = subprocess.run(["munge", "-n", "-S", self.munge_socket],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                return
            time.sleep(0.05)
        raise SlurmError("munged did not answer within %d s:\n%s" % (START_TIMEOUT, self.logs()))

    def _node_line(self):
        """This machine as slurmd sees it (`slurmd -C`: CPUs, sockets,
        cores, threads, RealMemory), so that slurmd finds its node as
        configured and does not drain it."""
        out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True,
                             env=self.env).stdout
        fields = parse_fields(out.splitlines()[0])
        keep = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore",
                "RealMemory")
        return "NodeName=%s NodeAddr=127.0.0.1 NodeHostname=%s %s State=UNKNOWN" % (
            self.node, self.hostname, " ".join("%s=%s" % (k, fields[k]) for k in keep
                                               if k in fields))

    def _write_conf(self):
        d = self.dir
        lines = [
            "ClusterName=ignitetest",
            # The host name slurmctld checks itself against, its address
            # given so that no resolver is asked.
            "SlurmctldHost=%s(127.0.0.1)" % self.hostname,
            "SlurmctldPort=%d" % self.ports[0],
            "SlurmdPort=%d" % self.ports[1],
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            "AuthInfo=socket=%s,cred_expire=%d" % (self.munge_socket, CRED_EXPIRE),
            "StateSaveLocation=%s/state" % d,
            "SlurmdSpoolDir=%s/spool" % d,
            "SlurmctldPidFile=%s/slurmctld.pid" % d,
            "SlurmdPidFile=%s/slurmd.pid" % d,
            "SlurmctldLogFile=%s/log/slurmctld.log" % d,
            "SlurmdLogFile=%s/log/slurmd.log" % d,
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            # No cgroups (containers, CI): processes tracked by parentage,
            # no binding of tasks to CPUs.
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/filetxt",
            "JobCompLoc=%s/log/jobcomp.txt" % d,
            "PlugStackConfig=%s/plugstack.conf" % d,
            "MpiDefault=none",
            "MailProg=/bin/true",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=sched_interval=1,bf_interval=1",
            # Cores are consumed, memory is not: jobs that ask for no
            # memory do not take the whole node's.
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            # A node that went down comes back when its slurmd registers.
            "ReturnToService=2",
            "JobRequeue=1",
            "KillWait=%d" % KILL_WAIT,
            self._node_line(),
            "PartitionName=%s Nodes=ALL Default=YES MaxTime=INFINITE State=UP" % self.partition,
        ]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        # Not /etc/slurm/plugstack.conf: no site's SPANK plugins.
        open(os.path.join(d, "plugstack.conf"), "w").close()

    def _start_slurm(self):
        """slurmctld and slurmd up; False when one lost a port (then both
        are stopped, for another try with other ports)."""
        for name in ("slurmctld", "slurmd"):
            # A previous try's complaint about its ports is no news.
            for log in (name + ".out", name + ".log"):
                if os.path.exists(os.path.join(self.dir, "log", log)):
                    os.remove(os.path.join(self.dir, "log", log))
            # -D: in the foreground, our child; -f: our configuration.
            self._spawn(name, [name, "-D", "-f", self.conf])
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for name in ("slurmctld", "slurmd"):
                # Said at once; the daemon retries for seconds before it
                # gives up.
                if PORT_TAKEN in self.logs(name):
                    # No job yet: nothing to wait for (slurmd that cannot
                    # register takes seconds to heed SIGTERM).
                    self._stop_proc("slurmctld", timeout=1)
                    self._stop_proc("slurmd", timeout=1)
                    return False
                self._check_alive(name)
            # Briefly: a port taken by a server that never answers holds a
            # client for MessageTimeout (10 s) while slurmctld has exited.
            try:
                if self._client(["scontrol", "ping"], timeout=1).returncode == 0:
                    return True
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.1)
        raise SlurmError("slurmctld did not answer within %d s:\n%s" % (START_TIMEOUT,
                                                                        self.logs()))

    def _spawn(self, name, argv, **kw):
        out = open(os.path.join(self.dir, "log", name + ".out"), "ab")
        try:
            self.procs[name] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                                stderr=out, env=self.env,
                                                preexec_fn=_die_with_parent, **kw)
        finally:
            out.close()

    def _check_alive(self, name):
        proc = self.procs[name]
        if proc.poll() is not None:
            raise SlurmError("%s exited %d:\n%s" % (name, proc.returncode, self.logs(name)))

    def wait_idle(self, timeout=START_TIMEOUT):
        """Until sinfo shows the node idle."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            for name in self.procs:
                self._check_alive(name)
            try:
                state = self.node_state()
            except SlurmError as e:
                state = str(e)
            if state == "idle":
                return
            time.sleep(0.1)
        raise SlurmError("node %s not idle within %d s (%r):\n%s" % (self.node, timeout, state,
                                                                     self.logs()))

    # -- clients ----------------------------------------------------------

    def _client(self, argv, uid=None, timeout=60, env=None):
        """argv run with SLURM_CONF and env (a dict) added to the
        environment; with uid, in a child that took that uid and gid (and
        no other groups) before exec, as a user's own command would run."""
        kw = {}
        if uid is not None:
            kw = {"user": uid, "group": uid, "extra_groups": []}
        return subprocess.run(argv, capture_output=True, text=True,
                              env=dict(self.env, **(env or {})), timeout=timeout, **kw)

    def run(self, argv, uid=None, timeout=60, env=None):
        """A client's stdout; SlurmError with its stderr when it fails."""
        r = self._client(argv, uid, timeout, env)
        if r.returncode != 0:
            raise SlurmError("%s exited %d: %s" % (" ".join(argv), r.returncode,
                                                   r.stderr.strip()))
        return r.stdout

    def sbatch(self, args, uid=None, env=None):
        """The job id of `sbatch --parsable ARGS` (as uid, if given).  sbatch
        passes its environment, with env, to the job (--export=ALL): the
        way to hand a job a secret that its command line would show to
        every user (ps)."""
        return int(self.run(["sbatch", "--parsable"] + list(args), uid, env=env).split(";")[0])

    def job(self, job_id):
        """`scontrol show job` as a dict (JobState, Reason, Restarts...);
        None once slurmctld forgot the job (MinJobAge after its end)."""
        r = self._client(["scontrol", "show", "job", "-o", str(job_id)])
        if r.returncode != 0:
            if "Invalid job id" in r.stderr:
                return None
            raise SlurmError("scontrol show job %s: %s" % (job_id, r.stderr.strip()))
        return parse_fields(r.stdout)

    def wait_job(self, job_id, states, timeout=60):
        """The job's record once its JobState is one of states."""
        deadline = time.monotonic() + timeout
        info = None
        while time.monotonic() < deadline:
            info = self.job(job_id)
            if info and info["JobState"] in states:
                return info
            time.sleep(0.05)
        raise SlurmError("job %s not in %s within %d s: %r" % (job_id, sorted(states), timeout,
                                                               info))

    # -- the node -----------------------------------------------------------

    def node_state(self):
        """sinfo's state of the node: idle, mixed, allocated, drained,
        draining, down..."""
        return self.run(["sinfo", "-h", "-n", self.node, "-o", "%T"]).strip()

    def drain(self, reason):
        """No new job starts on the node (running ones go on): a pending
        job's reason (squeue %r) is "ReqNodeNotAvail, UnavailableNodes:NODE"
        and, after a pass of the backfill scheduler, "Nodes required for
        job are DOWN, DRAINED or reserved for jobs in higher priority
        partitions"."""
        self.run(["scontrol", "update", "nodename=" + self.node, "state=drain",
                  "reason=" + reason])

    def fail_node(self, reason):
        """The node down, as slurmctld marks a node that stopped answering
        (after SlurmdTimeout, 300 s): its jobs end with NODE_FAIL and,
        requeueable (JobRequeue=1), are pending again at once (reason
        BeginTime for cred_expire, then they run).  slurmd answering, the
        node is back within a second (ReturnToService=2): drain() it first
        to keep it out."""
        self.run(["scontrol", "update", "nodename=" + self.node, "state=down",
                  "reason=" + reason])

    def resume_node(self, timeout=30):
        """The node back in service after drain() or fail_node().  Right
        after a failure slurmctld may refuse ("Invalid node state
        specified") while the node's jobs complete: asked again until it
        takes it."""
        deadline = time.monotonic() + timeout
        while True:
            # Back already (a down node with ReturnToService=2 comes back
            # when its slurmd answers)?  sinfo marks states with * ~ # ...
            if self.node_state().rstrip("*~#!%$@^-") in IN_SERVICE:
                return
            r = self._client(["scontrol", "update", "nodename=" + self.node, "state=resume"])
            if r.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise SlurmError("node %s not resumed within %d s: %s (%s)" %
                                 (self.node, timeout, r.stderr.strip(), self.node_state()))
            time.sleep(0.1)

    def job_ids(self):
        """The jobs slurmctld knows that have not ended."""
        out = self.run(["squeue", "-h", "-o", "%i", "-t", "PD,R,CG,S,CF,RQ,RS,RH,SE,ST"])
        return [int(x) for x in out.split()]

    def completions(self):
        """jobcomp/filetxt's records, one dict per end of a job (a requeue
        is one, with JobState=PENDING)."""
        try:
            with open(os.path.join(self.dir, "log", "jobcomp.txt")) as f:
                return [parse_fields(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def logs(self, only=None):
        """The daemons' logs (or only one's), for error messages."""
        out = []
        logdir = os.path.join(self.dir, "log")
        names = sorted(os.listdir(logdir)) if os.path.isdir(logdir) else []
        for name in names:
            if only and not name.startswith(only + "."):
                continue
            with open(os.path.join(logdir, name), errors="replace") as f:
                out.append("== %s\n%s" % (name, f.read()[-3000:]))
        return "\n".join(out)

    # -- stopping ---------------------------------------------------------

    def _stop_proc(self, name, timeout=20):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _cancel_jobs(self, timeout=20):
        """Cancel every job and wait until none runs: a job's processes
        are not slurmd's children, slurmd's end leaves them running."""
        try:
            ids = self.job_ids()
            if ids:
                self._client(["scancel"] + [str(i) for i in ids])
            deadline = time.monotonic() + timeout
            while self.job_ids() and time.monotonic() < deadline:
                time.sleep(0.1)
        except (SlurmError, subprocess.TimeoutExpired, OSError):
            pass  # slurmctld gone: _sweep kills what is left

    def _sweep(self):
        """SIGKILL what this cluster's jobs left behind (_kill_jobs)."""
        _kill_jobs(lambda conf: conf == self.conf.encode())

    def stop(self):
        """Jobs cancelled, slurmd and slurmctld stopped, leftovers killed,
        munged stopped, the directory removed (unless keep).  Idempotent."""
        if self.dir is None:
            return
        atexit.unregister(self.stop)
        # Only a live slurmd ends jobs (a test may have killed it, as a
        # node failure): without it they would wait in COMPLETING.
        if all(name in self.procs and self.procs[name].poll() is None
               for name in ("slurmctld", "slurmd")):
            self._cancel_jobs()
        self._stop_proc("slurmd")
        self._stop_proc("slurmctld")
        self._sweep()
        self._stop_proc("munged")
        if self.keep:
            # Not taken for an orphan's by the next start (_orphaned).
            os.remove(os.path.join(self.dir, "owner"))
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    # A cluster to try things by hand: prints SLURM_CONF, stops on Ctrl-C.
    cluster = SlurmCluster(keep=True).start()
    print("export SLURM_CONF=%s   # up in %.1f s; Ctrl-C stops it" % (cluster.conf,
                                                                     cluster.started))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
