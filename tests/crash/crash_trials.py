#!/usr/bin/python3
"""Crash trials: kill ignited (kill -9 or SIGTERM) and its exec workers at
random moments while several runs train, restart it, repeat; then check
that every run ended as an uninterrupted reference run of the same spec on
a separate daemon did (completed, or terminated by its early stopping),
with exactly its metric history and state_dict.

usage: crash_trials.py IGNITED [--trials N] [--seed S] [--keep]

The seed is printed first; --seed S --trials N replays the same sequence of
actions and delays (the daemon's own timing still varies).  Runs are
started in rounds: when every run of a round has ended it is checked
and a new round starts, so any number of trials has something to kill.
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
from daemon import PYPATH, Daemon, RPCError, history, numpy_spec, softmax_spec  # noqa: E402

TAG = "IGNITE_CRASH_TRIAL"


def specs(tag):
    """The runs of one round, by kind."""
    return {
        # shuffled digits, per-iteration metrics, checkpoints every 7
        "softmax": softmax_spec(epochs=16, every=7),
        # checkpoints by time only: resumes from arbitrary points
        "softmax_t": softmax_spec(epochs=10, checkpoint={"seconds": 0.15,
                                                        "epoch_completed": False}),
        # restartable, tagged to find stray workers
        "numpy": numpy_spec(epochs=16, every=10, worker={
            "env": dict(PYPATH, **{TAG: tag}), "max_restarts": 100000}),
        # early stopping ends it at epoch 4 of 16 (nothing beats a
        # min_delta of 1): a terminated end, resumed exactly
        "early": softmax_spec(epochs=16, every=7, handlers=[
            {"event": "EPOCH_COMPLETED", "action": "evaluate"},
            {"event": "EPOCH_COMPLETED", "action": "early_stopping",
             "metric": "val_acc", "patience": 3, "min_delta": 1}]),
        "sleep": {"engine": "builtin:sleep", "params": {"ms": 3},
                  "data": {"kind": "range", "n": 60, "shuffle": True}, "seed": 5,
                  "max_epochs": 8, "checkpoint": {"every": 9},
                  "handlers": [{"event": "EPOCH_COMPLETED", "action": "log",
                                "message": "epoch done"}]},
    }


class Failure(Exception):
    pass


def wait_done(c, rid, timeout):
    deadline = time.time() + timeout
    while True:
        st = c.call("status", {"id": rid})
        if st["status"] in ("completed", "failed", "terminated"):
            return st
        if time.time() > deadline:
            raise Failure("run %s stuck: %r" % (rid, st))
        time.sleep(0.05)


def outcome(c, rid):
    return history(c, rid), c.call("state_dict", {"id": rid})


def diff(name, got, want):
    """Say where two histories part."""
    lines = []
    for s in sorted(set(got) | set(want)):
        g, w = got.get(s, []), want.get(s, [])
        if g == w:
            continue
        i = next((i for i, (a, b) in enumerate(zip(g, w)) if a != b), min(len(g), len(w)))
        lines.append("  %s.%s: %d points, reference %d; first difference at %d: %r vs %r"
                     % (name, s, len(g), len(w), i, g[i] if i < len(g) else None,
                        w[i] if i < len(w) else None))
    return "\n".join(lines)


def children(pid):
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="],
                         capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def tagged(tag):
    """Processes (workers) carrying our tag in their environment."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % p, "rb") as f:
                if ("%s=%s" % (TAG, tag)).encode() in f.read().split(b"\0"):
                    found.append(int(p))
        except OSError:
            pass
    return found


class Trials:
    def __init__(self, ignited, seed, trials):
        self.ignited = ignited
        self.seed = seed
        self.trials = trials
        self.rng = random.Random(seed)
        self.tag = "%d-%d" % (os.getpid(), seed)
        self.specs = specs(self.tag)
        self.d = None
        self.ref = None
        self.want = {}
        self.rounds = []          # [{kind: id}]
        self.checked = set()      # ids verified
        self.ended = {}           # id: the final status seen
        self.counts = {"kill9": 0, "sigterm": 0, "worker": 0}
        self.points = 0

    # ---- reference -----------------------------------------------------
    def start_reference(self):
        self.ref = Daemon(self.ignited).start()
        c = self.ref.client()
        self.ref_ids = {k: c.call("run", s)["id"] for k, s in self.specs.items()}
        c.close()

    def reference(self, kind):
        if kind not in self.want:
            c = self.ref.client()
            st = wait_done(c, self.ref_ids[kind], 600)
            if st["status"] not in ("completed", "terminated"):
                raise Failure("reference %s: %r" % (kind, st))
            self.want[kind] = (st["status"],) + outcome(c, self.ref_ids[kind])
            c.close()
        return self.want[kind]

    # ---- the daemon under trial ----------------------------------------
    def launch_round(self, c):
        n = len(self.rounds)
        ids = {}
        for kind, spec in self.specs.items():
            ids[kind] = c.call("run", dict(spec, name="r%d-%s" % (n, kind)))["id"]
        self.rounds.append(ids)

    def verify(self, c, kind, rid):
        st = c.call("status", {"id": rid})
        want_st, want_h, want_sd = self.reference(kind)
        if st["status"] != want_st:
            raise Failure("run %s (%s) ended %s, the reference %s: %s"
                          % (rid, kind, st["status"], want_st, st.get("reason")))
        got_h, got_sd = outcome(c, rid)
        if got_h != want_h:
            raise Failure("run %s (%s): history differs from the reference\n%s"
                          % (rid, kind, diff(kind, got_h, want_h)))
        if got_sd != want_sd:
            raise Failure("run %s (%s): state_dict %r, reference %r" % (rid, kind, got_sd, want_sd))
        self.points += sum(len(v) for v in got_h.values())
        self.checked.add(rid)

    def survey(self, c):
        """After a restart: every run we were told of exists, none that
        ended went back; verify what has ended; a new round when the last
        one is done."""
        for ids in self.rounds:
            for kind, rid in ids.items():
                try:
                    st = c.call("status", {"id": rid})
                except RPCError as e:
                    raise Failure("run %s (%s) lost: %s" % (rid, kind, e))
                if rid in self.ended and st["status"] != self.ended[rid]:
                    raise Failure("run %s (%s) was %s, now %r"
                                  % (rid, kind, self.ended[rid], st))
                if st["status"] == "failed":
                    raise Failure("run %s (%s) failed: %s" % (rid, kind, st.get("reason")))
                if st["status"] in ("completed", "terminated"):
                    self.ended[rid] = st["status"]
                    if rid not in self.checked:
                        self.verify(c, kind, rid)
        if not self.rounds or all(r in self.checked for r in self.rounds[-1].values()):
            self.launch_round(c)

    def act(self, trial):
        r = self.rng.random()
        if r < 0.2:
            delay = self.rng.uniform(0, 0.05)     # right at the restart
        elif r < 0.8:
            delay = self.rng.uniform(0.05, 0.8)
        else:
            delay = self.rng.uniform(0.8, 2.0)
        action = self.rng.choices(["kill9", "sigterm", "worker"], [6, 2, 2])[0]
        pick = self.rng.random()
        time.sleep(delay)
        if action == "worker":
            kids = children(self.d.proc.pid)
            deadline = time.time() + 0.5        # one may be starting
            while not kids and time.time() < deadline:
                time.sleep(0.02)
                kids = children(self.d.proc.pid)
            if not kids:
                action = "kill9"        # no worker up: the daemon then
            else:
                pid = kids[int(pick * len(kids))]
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if action == "kill9":
            self.d.kill9()
            self.d.start()
        elif action == "sigterm":
            self.d.signal(signal.SIGTERM)
            try:
                rc = self.d.wait(60)
            except subprocess.TimeoutExpired:
                raise Failure("SIGTERM: ignited did not exit within 60 s")
            if rc != 0:
                raise Failure("SIGTERM: ignited exited %d" % rc)
            self.d.start()
        self.counts[action] += 1
        print("trial %3d: %-7s after %.3f s (round %d)" % (trial, action, delay,
                                                            len(self.rounds) - 1), flush=True)

    def run(self):
        self.start_reference()
        self.d = Daemon(self.ignited).start()
        for trial in range(1, self.trials + 1):
            c = self.d.client()
            self.survey(c)
            c.close()
            self.act(trial)
        # the end: no more kills; every run must complete and match
        c = self.d.client()
        self.survey(c)
        for ids in self.rounds:
            for kind, rid in ids.items():
                wait_done(c, rid, 600)
                if rid not in self.checked:
                    self.verify(c, kind, rid)
        c.call("shutdown")
        c.close()
        if self.d.wait(60) != 0:
            raise Failure("shutdown: ignited exited %d" % self.d.proc.returncode)
        deadline = time.time() + 10
        while tagged(self.tag) and time.time() < deadline:
            time.sleep(0.1)
        strays = tagged(self.tag)
        if strays:
            raise Failure("worker processes outlived the daemon: %r" % strays)

    def cleanup(self, keep):
        for d in (self.d, self.ref):
            if d is None:
                continue
            if keep:
                d.stop()
            else:
                d.remove()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ignited")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--keep", action="store_true", help="keep the daemons' directories")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(2 ** 32)
    print("crash_trials: seed %d, %d trials (replay: --seed %d --trials %d)"
          % (seed, a.trials, seed, a.trials), flush=True)
    t = Trials(os.path.abspath(a.ignited), seed, a.trials)
    start = time.time()
    ok = False
    try:
        t.run()
        ok = True
    except Failure as e:
        print("FAIL (seed %d): %s" % (seed, e), flush=True)
    except Exception as e:
        print("FAIL (seed %d): %s: %s" % (seed, type(e).__name__, e), flush=True)
    finally:
        if not ok and t.d is not None:
            print("daemon log: %s\n--- last lines ---\n%s" % (t.d.log, t.d.logtext()[-4000:]))
        try:
            t.cleanup(keep=a.keep or not ok)
        except AssertionError as e:         # a sanitizer report in a log
            print("FAIL (seed %d): %s" % (seed, e))
            ok = False
    runs = sum(len(r) for r in t.rounds)
    print("crash_trials: seed %d: %d trials (kill -9 %d, SIGTERM %d, worker kill %d), "
          "%d rounds, %d runs verified of %d, %d points compared, %.0f s: %s"
          % (seed, a.trials, t.counts["kill9"], t.counts["sigterm"], t.counts["worker"],
             len(t.rounds), len(t.checked), runs, t.points, time.time() - start,
             "ok" if ok else "FAILED"), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
