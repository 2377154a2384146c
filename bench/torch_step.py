#!/usr/bin/python3
"""torch_step - the training step of examples/workers/torch_train.py
(a CNN on the digits, batches from its own DataLoader, float32 on the CPU)
in a plain PyTorch loop, and hosted by the real ignited as an exec worker
(issue #16: at most 5% slower for a step of 1 ms or more).

Both run the same Trainer.step in a fresh python3 with the environment a
worker gets (PATH, HOME and PYTHONPATH only), STEPS steps of one epoch;
the figure is the time per step between steps STEPS/10 and 9*STEPS/10
(start-up, the epoch's validation and its checkpoint left out): the loop
times itself, the hosted run is timed by polling its status.  Each figure
is the median of RUNS runs, the two taking turns.

usage: torch_step.py [--rows] IGNITED
Prints its rows as bench/benchlib.h does (--rows: tab-separated, for
scripts/bench.sh); exits 1 when a figure could not be measured.
"""
import os
import statistics
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
from daemon import Daemon  # noqa: E402

PY = "/usr/bin/python3"
EXAMPLE = os.path.join(SRC, "examples", "workers", "torch_train.py")
PARAMS = {"width": 16, "batch_size": 32}
SEED = 1
STEPS = 600
RUNS = 3
POLL_S = 0.005
TARGET = 0.05
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/"),
       "PYTHONPATH": os.path.join(SRC, "python")}

PLAIN = """
import sys, time
sys.path.insert(0, %r)
from torch_train import Trainer
t = Trainer(%r, %d, %d)
lo, hi = %d, %d
for i in range(1, hi + 1):
    if i == lo:
        t0 = time.perf_counter()
    t.step(1, i)
print((time.perf_counter() - t0) / (hi - lo))
"""


def window():
    return STEPS // 10, STEPS - STEPS // 10


def plain_s():
    """Seconds per step of the plain loop."""
    lo, hi = window()
    code = PLAIN % (os.path.dirname(EXAMPLE), PARAMS, SEED, STEPS, lo, hi)
    out = subprocess.run([PY, "-c", code], env=ENV, capture_output=True, text=True, check=True)
    return float(out.stdout)


def hosted_s(client):
    """Seconds per step of the same loop hosted, between the status polls
    that first saw the window's ends."""
    lo, hi = window()
    rid = client.call("run", {"engine": [PY, EXAMPLE], "data": "worker", "epoch_length": STEPS,
                              "max_epochs": 1, "seed": SEED, "params": PARAMS,
                              "metrics": [{"name": "loss", "kind": "loss", "field": "loss"}],
                              "worker": {"env": {"PYTHONPATH": ENV["PYTHONPATH"]}}})["id"]
    a = b = None
    deadline = time.monotonic() + 600
    while True:
        st = client.call("status", {"id": rid})
        t = time.monotonic()
        if a is None and lo <= st["iteration"] < hi:
            a = (st["iteration"], t)
        elif a is not None and b is None and st["iteration"] >= hi:
            b = (st["iteration"], t)
        if st["status"] in ("completed", "failed", "terminated") or t > deadline:
            break
        time.sleep(POLL_S)
    if st["status"] != "completed":
        raise RuntimeError("hosted run %s: %s" % (st["status"], st.get("reason")))
    if a is None or b is None:
        raise RuntimeError("the hosted run went by too fast to time; raise STEPS")
    return (b[1] - a[1]) / (b[0] - a[0])


def row(rows, *cells):
    print("\t".join(cells) if rows else "  ".join(cells), flush=True)


def main(argv):
    rows = "--rows" in argv
    args = [a for a in argv if a != "--rows"]
    if len(args) != 1:
        print("usage: torch_step.py [--rows] IGNITED", file=sys.stderr)
        return 2
    if subprocess.call([PY, "-c", "import torch"], stderr=subprocess.DEVNULL) != 0:
        print("torch_step: python3-torch is not installed (scripts/deps.sh test)",
              file=sys.stderr)
        row(rows, "torch step hosted vs plain loop", "-", "-", "-", "<= 5% slower",
            "error")
        return 1
    d = Daemon(os.path.abspath(args[0]), extra=["--log-level", "warn"]).start()
    try:
        c = d.client()
        plain, hosted = [], []
        for _ in range(RUNS):  # interleaved: a slow spell hits both
            plain.append(plain_s())
            hosted.append(hosted_s(c))
        c.close()
    finally:
        d.remove()
    p, h = statistics.median(plain), statistics.median(hosted)
    what = "width %d, batch %d, CPU" % (PARAMS["width"], PARAMS["batch_size"])
    row(rows, "torch step, plain loop (floor)", "%.3f ms/step" % (p * 1e3), what, "-",
        "(floor)", "-")
    slower = h / p - 1
    verdict = "pass" if slower <= TARGET else "short"
    if p < 1e-3:
        verdict = "-"  # the target holds for steps of 1 ms or more
    row(rows, "torch step hosted (exec worker)", "%.3f ms/step" % (h * 1e3),
        "plain %.3f ms/step" % (p * 1e3), "%+.1f%%" % (slower * 100),
        "<= 5% slower (step >= 1 ms)", verdict)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
