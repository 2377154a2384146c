#!/usr/bin/python3
"""A worker whose state says how far it got.
usage: slow_worker.py MS [hang-state]

Each iteration sleeps MS milliseconds and outputs `count`, the iterations
it has processed since the run began (kept in its state_dict), and the
engine's `iteration`: the two are equal at every iteration only when the
worker always resumes from the state cut with the engine's checkpoint.
With hang-state, state_dict never answers."""
import struct
import sys
import time

import ignite_worker

MS = float(sys.argv[1])
HANG_STATE = sys.argv[2:] == ["hang-state"]
count = 0


def process(engine, batch):
    global count
    time.sleep(MS / 1000.0)
    count += 1
    return {"count": float(count), "iteration": float(engine.state.iteration)}


def state_dict():
    if HANG_STATE:
        time.sleep(3600)
    return struct.pack(">q", count)


def load_state_dict(data):
    global count
    (count,) = struct.unpack(">q", data)


ignite_worker.serve(process, state_dict, load_state_dict)
