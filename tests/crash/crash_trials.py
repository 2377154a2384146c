#!/usr/bin/python3
"""Crash trials: kill ignited (kill -9 or SIGTERM) and its exec workers at
random moments while several runs train, restart it, repeat; then check
that every run ended as an uninterrupted reference run of the same spec on
a separate daemon did (completed, or terminated by its early stopping),
with exactly its metric history and state_dict.

Where each run resumed is checked at every restart too, against the
checkpoint policy (PROTOCOL.md, Run spec): the run's status is read just
before the kill, and the "resumed at ... after the daemon's restart" line
of its log must show an iteration on the policy's schedule and no further
back than the policy allows (see Trials.check_resume).  A run started over
ends with the same history; only this catches it.

usage: crash_trials.py IGNITED [--trials N] [--seed S] [--plugin SO] [--keep]

The plugin run uses examples/plugin's liblinreg.so, found in IGNITED's
build tree unless --plugin (or IGNITE_PLUGIN) says where.

The seed is printed first; --seed S --trials N replays the same sequence of
actions and delays (the daemon's own timing still varies).  Runs are
started in rounds: when every run of a round has ended it is checked
and a new round starts, so any number of trials has something to kill.
"""

import argparse
import math
import os
import random
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
from daemon import (DIGITS, PYPATH, Daemon, RPCError, history, numpy_spec,  # noqa: E402
                    softmax_spec)

TAG = "IGNITE_CRASH_TRIAL"
# Checkpoints by count at most 100 a second (runs.c's CKPT_GAP_S): a fast
# engine may lose this much work beyond what `every` allows.
GAP_S = 0.01
# What the bounds allow for besides the policy: the store's commit of a
# checkpoint taken just before the kill, an iteration's time, a loop turn.
SLACK_S = 0.1
# Engines whose status counts an iteration in flight (a worker's, a
# blocking call's): it is not done, and no checkpoint can hold it.
IN_FLIGHT = ("numpy", "numpy_t", "sleep", "sleep_t")
RESUMED = re.compile(r"resumed at epoch \d+, iteration (\d+) after the daemon's restart$")
STOPPED = re.compile(r"stopped for the daemon's shutdown at epoch \d+, iteration (\d+)$")


def exec_worker(tag):
    """Restartable, tagged to find stray workers."""
    return {"env": dict(PYPATH, **{TAG: tag}), "max_restarts": 100000}


def linreg_spec(plugin, checkpoint):
    """The on-loop C plugin: tens of thousands of iterations a second, so
    one row an iteration and epoch-wise metrics, for a history to compare."""
    return {"engine": "plugin:" + plugin, "params": {"lr": 0.005},
            "data": {"kind": "csv", "path": DIGITS, "header": False, "label": 64,
                     "shuffle": True, "scale": 16},
            "max_epochs": 20, "seed": 3, "checkpoint": checkpoint,
            "metrics": [{"name": "loss", "kind": "loss", "field": "loss"}]}


def sleep_spec(n, epochs, checkpoint):
    """The blocking builtin: 2 ms an iteration, off the loop."""
    return {"engine": "builtin:sleep", "params": {"ms": 2},
            "data": {"kind": "range", "n": n, "shuffle": True}, "seed": 5,
            "max_epochs": epochs, "checkpoint": checkpoint,
            "handlers": [{"event": "EPOCH_COMPLETED", "action": "log",
                          "message": "epoch done"}]}


def specs(tag, plugin):
    """The runs of one round, by kind: each engine kind (builtin, on-loop
    plugin, blocking builtin, exec worker) with checkpoints by count and
    by time."""
    by_time = {"seconds": 0.15, "epoch_completed": False}
    return {
        # shuffled digits, per-iteration metrics, checkpoints every 7
        "softmax": softmax_spec(epochs=16, every=7),
        # checkpoints by time only: resumes from arbitrary points
        "softmax_t": softmax_spec(epochs=10, checkpoint={"seconds": 0.15,
                                                        "epoch_completed": False}),
        "numpy": numpy_spec(epochs=16, every=10, worker=exec_worker(tag)),
        "numpy_t": numpy_spec(epochs=10, checkpoint=by_time, worker=exec_worker(tag)),
        # early stopping ends it at epoch 4 of 16 (nothing beats a
        # min_delta of 1): a terminated end, resumed exactly
        "early": softmax_spec(epochs=16, every=7, handlers=[
            {"event": "EPOCH_COMPLETED", "action": "evaluate"},
            {"event": "EPOCH_COMPLETED", "action": "early_stopping",
             "metric": "val_acc", "patience": 3, "min_delta": 1}]),
        "sleep": sleep_spec(150, 6, {"every": 9}),
        "sleep_t": sleep_spec(100, 6, by_time),
        "linreg": linreg_spec(plugin, {"every": 100}),
        "linreg_t": linreg_spec(plugin, by_time),
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


def policy(spec):
    """(every, seconds, epoch_completed) of a spec's checkpoint policy."""
    p = spec.get("checkpoint", {})
    return p.get("every"), p.get("seconds"), p.get("epoch_completed", True)


def since(lines, pattern, t):
    """The iteration of the last line matching pattern logged at or after
    time t, or None."""
    found = None
    for line in lines:
        m = pattern.match(line["message"])
        if m and line["time"] >= t:
            found = int(m.group(1))
    return found


class Trials:
    def __init__(self, ignited, seed, trials, plugin):
        self.ignited = ignited
        self.seed = seed
        self.trials = trials
        self.rng = random.Random(seed)
        self.tag = "%d-%d" % (os.getpid(), seed)
        self.specs = specs(self.tag, plugin)
        self.kinds = {}           # id: kind
        self.base = {}            # id: the iteration it last (re)started at
        self.trace = {}           # id: [(time, iteration)] in this life
        self.resumes = 0          # resume positions checked
        self.lag = {}             # kind: the most iterations a resume lost
        self.lengths = {}         # kind: epoch_length
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
            rid = ids[kind] = c.call("run", dict(spec, name="r%d-%s" % (n, kind)))["id"]
            self.kinds[rid] = kind
            self.base[rid] = 0
            self.trace[rid] = [(time.time(), 0)]
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
        self.watch(delay)
        before = self.watch(0)
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
                # its run goes back to a checkpoint on the same schedule
                for rid in before:
                    if self.kinds[rid].startswith("numpy"):
                        self.trace[rid] = []
        killed = time.time()
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
        notes = []
        if action != "worker":
            up = time.time()
            c = self.d.client()
            for rid, st in before.items():
                notes.append(self.check_resume(c, rid, st, killed, up, action == "sigterm"))
            c.close()
        self.counts[action] += 1
        print("trial %3d: %-7s after %.3f s (round %d)%s"
              % (trial, action, delay, len(self.rounds) - 1,
                 "".join(" " + n for n in notes if n)), flush=True)

    # ---- where runs resume -------------------------------------------------
    def watch(self, seconds):
        """Read the status of every unfinished run about every 20 ms for
        this long (at least once), adding to their traces; the last status
        of each one running."""
        end = time.time() + seconds
        c = self.d.client()
        while True:
            last = {}
            for rid in self.kinds:
                if rid in self.ended:
                    continue
                st = c.call("status", {"id": rid})
                if st["status"] == "running":
                    self.trace[rid].append((time.time(), st["iteration"]))
                    last[rid] = st
            if time.time() >= end:
                break
            time.sleep(min(0.02, max(0.0, end - time.time())))
        c.close()
        return last

    def due(self, rid, done):
        """By an `every` policy, after `done` iterations: the last epoch end
        or restart it checkpointed at, and the last point due since."""
        kind = self.kinds[rid]
        every, _, epoch_end = policy(self.specs[kind])
        length = self.lengths.get(kind)
        reset = max(self.base[rid], done // length * length if epoch_end and length else 0)
        return reset, reset + (done - reset) // every * every

    def floor(self, rid, at):
        """The least iteration the run may resume at after a kill at time
        `at`, by its policy, from what its trace says it had done SLACK_S
        before (the store's commit of a checkpoint just taken, an
        iteration's time): by `seconds`, where it was that long before; by
        `every`, the last point due then, less one period (a checkpoint on
        its way to the store) and GAP_S of work at its fastest."""
        kind = self.kinds[rid]
        every, seconds, _ = policy(self.specs[kind])
        base, trace = self.base[rid], self.trace[rid]
        done = [i - (kind in IN_FLIGHT) for (t, i) in trace
                if t <= at - SLACK_S - (seconds or 0)]
        done = max(base, done[-1]) if done else base
        if seconds is not None:
            return done
        reset, due = self.due(rid, done)
        rate = max([(i2 - i1) / (t2 - t1) for (t1, i1), (t2, i2) in zip(trace, trace[1:])
                    if t2 - t1 >= 0.01] + [0])
        lag = every + math.ceil(rate * GAP_S)
        return max(reset, due - math.ceil(lag / every) * every)

    def on_schedule(self, rid, it):
        """Is iteration `it` a point where the run's `every` policy
        checkpoints (any is, by `seconds`)?"""
        every = policy(self.specs[self.kinds[rid]])[0]
        return every is None or it == self.base[rid] or self.due(rid, it)[1] == it

    def check_resume(self, c, rid, st, killed, up, sigterm):
        """After a restart: the run that was running at `st` resumed, from
        where its policy says; after SIGTERM, exactly where it stopped."""
        kind = self.kinds[rid]
        if st["epoch_length"]:
            self.lengths[kind] = st["epoch_length"]
        deadline = time.time() + 30
        while True:
            now = c.call("status", {"id": rid})
            if now["status"] in ("completed", "terminated"):
                return None             # it ended before the kill
            lines = c.call("logs", {"id": rid})["lines"]
            resumed = since(lines, RESUMED, killed)
            if resumed is not None:
                break
            if time.time() > deadline:
                raise Failure("run %s (%s) was running at iteration %d, and after the restart "
                              "its log says no resume: %r" % (rid, kind, st["iteration"], now))
            time.sleep(0.01)
        stopped = since(lines, STOPPED, killed) if sigterm else None
        every = policy(self.specs[kind])[0]
        done = max(self.base[rid], st["iteration"] - (kind in IN_FLIGHT))
        # the last checkpoint due before the kill, as far as its status says
        due = self.due(rid, done)[1] if every else done
        least = self.floor(rid, killed)
        what = ("run %s (%s), policy %r, had done iteration %d (a checkpoint due at %d), "
                "started at %d in that life; resumed at %d"
                % (rid, kind, self.specs[kind]["checkpoint"], done, due, self.base[rid],
                   resumed))
        if stopped is not None and resumed != stopped:
            raise Failure("%s, but stopped at %d for the shutdown" % (what, stopped))
        if resumed < self.base[rid]:
            raise Failure("%s: before the checkpoint it had started from" % what)
        if resumed < least:
            raise Failure("%s: lost more than its policy allows (at least %d)" % (what, least))
        if not self.on_schedule(rid, resumed) and stopped is None:
            raise Failure("%s: not a point its policy checkpoints at" % what)
        self.resumes += 1
        self.lag[kind] = max(self.lag.get(kind, 0), due - resumed)
        self.base[rid] = resumed
        self.trace[rid] = [(up, resumed)]
        return "%s:%d>%d" % (kind, due, resumed)

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
    ap.add_argument("--plugin", help="liblinreg.so (default: IGNITE_PLUGIN, or IGNITED's "
                    "build tree)")
    ap.add_argument("--keep", action="store_true", help="keep the daemons' directories")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(2 ** 32)
    print("crash_trials: seed %d, %d trials (replay: --seed %d --trials %d)"
          % (seed, a.trials, seed, a.trials), flush=True)
    ignited = os.path.abspath(a.ignited)
    plugin = a.plugin or os.environ.get("IGNITE_PLUGIN") or os.path.join(
        os.path.dirname(os.path.dirname(ignited)), "examples", "plugin", "liblinreg.so")
    if not os.path.exists(plugin):
        print("crash_trials: no plugin at %s: build the tree, or give --plugin" % plugin)
        return 1
    t = Trials(ignited, seed, a.trials, os.path.abspath(plugin))
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
    print("crash_trials: most iterations lost behind the checkpoint due, by kind: %s"
          % ", ".join("%s %d" % kv for kv in sorted(t.lag.items())))
    print("crash_trials: seed %d: %d trials (kill -9 %d, SIGTERM %d, worker kill %d), "
          "%d rounds, %d resumes placed, %d runs verified of %d, %d points compared, "
          "%.0f s: %s"
          % (seed, a.trials, t.counts["kill9"], t.counts["sigterm"], t.counts["worker"],
             len(t.rounds), t.resumes, len(t.checked), runs, t.points, time.time() - start,
             "ok" if ok else "FAILED"), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
