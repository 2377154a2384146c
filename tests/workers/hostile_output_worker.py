#!/usr/bin/python3
"""A worker that writes what other users must not be bothered by, for
tests/e2e/test_names.py.  usage: hostile_output_worker.py MODE [ARG]

  names N     report N new metrics every iteration (m<iteration>_<k>)
  badname S   report one metric called S
  escape      write terminal escapes and a stray byte to stderr, then exit 3
  secret      write a secret to stderr, then exit 3
  slow-secret N  write a secret to stderr every iteration, a tenth of a
              second each, and exit 3 at iteration N
  flood N     write N lines to stderr in the first iteration, then take
              half a second an iteration (the daemon reads them meanwhile)
"""
import sys
import time

from ignite_worker import serve

MODE = sys.argv[1]
ARG = sys.argv[2] if len(sys.argv) > 2 else ""
ESCAPES = b"\x1b]0;pwned\x07\x1b[2J\xff secret"


def process(engine, batch):
    it = engine.state.iteration
    if MODE == "names":
        for k in range(int(ARG)):
            engine.state.metrics["m%d_%d" % (it, k)] = float(k)
    elif MODE == "badname":
        engine.state.metrics[ARG] = 1.0
    elif MODE in ("escape", "secret"):
        sys.stderr.buffer.write(ESCAPES + b"\n" if MODE == "escape" else b"secret\n")
        sys.stderr.flush()
        sys.exit(3)
    elif MODE == "slow-secret":
        sys.stderr.write("secret %d\n" % it)
        sys.stderr.flush()
        time.sleep(0.1)
        if it == int(ARG):
            sys.exit(3)
    elif MODE == "flood" and it == 1:
        sys.stderr.write("flood line\n" * int(ARG))
        sys.stderr.flush()
    elif MODE == "flood":
        time.sleep(0.5)
    return {"x": 1.0}


serve(process)
