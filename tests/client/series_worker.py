#!/usr/bin/python3
"""An exec worker for test_pyclient.py: metrics chosen by the spec's params.

- "hex_NAME": "16 hex digits": metric NAME is that float64, bit for bit,
  every iteration (NaN payloads, infinities, -0.0, subnormals).
- "cycle": "HEX,HEX,...": metric cycle is the float64 of item
  iteration % len, bit for bit.
- "count": N: metrics m0 ... m(N-1) = iteration + j / N every iteration.
- "sleep_ms": sleep that long each iteration (a run slow enough to follow).

It writes its working directory to stderr (the run's log) when it starts.
"""
import os
import struct
import sys
import time

from ignite_worker import serve


def process(engine, batch):
    s = engine.state
    p = s.params
    for k, v in p.items():
        if k.startswith("hex_"):
            s.metrics[k[4:]] = struct.unpack(">d", bytes.fromhex(v))[0]
    if p.get("cycle"):
        items = p["cycle"].split(",")
        s.metrics["cycle"] = struct.unpack(">d", bytes.fromhex(items[s.iteration % len(items)]))[0]
    n = p.get("count", 0)
    for j in range(n):
        s.metrics["m%d" % j] = s.iteration + j / n
    if p.get("sleep_ms"):
        time.sleep(p["sleep_ms"] / 1000.0)
    return {}


if __name__ == "__main__":
    print("cwd " + os.getcwd(), file=sys.stderr, flush=True)
    serve(process)
