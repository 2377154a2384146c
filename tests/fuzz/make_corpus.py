#!/usr/bin/python3
"""Write the seed corpora of the fuzz targets (needs python3-msgpack).

fuzz_frame inputs: one byte that seeds the chunking, then a byte stream.
fuzz_spec inputs: one msgpack object, a spec.
"""
import os
import struct

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(obj):
    body = msgpack.packb(obj, use_bin_type=True)
    return struct.pack(">I", len(body)) + body


def raw(body):
    return struct.pack(">I", len(body)) + body


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


SPEC = {
    "engine": "exec:python3 -u worker.py", "name": "mnist-1",
    "params": {"lr": 0.1, "layers": 3, "opt": "sgd", "nesterov": True},
    "data": {"kind": "csv", "path": "digits.csv", "batch_size": 32,
             "shuffle": True, "columns": ["a", 2], "label": "target",
             "header": False, "split": 0.2},
    "max_epochs": 10, "epoch_length": 100, "seed": 0,
    "metrics": [{"name": "loss", "kind": "loss", "field": "loss"},
                {"name": "acc", "kind": "accuracy", "split": "val"},
                {"name": "ra", "kind": "running_average", "field": "loss",
                 "alpha": 0.9}],
    "handlers": [{"event": "EPOCH_COMPLETED", "every": 2, "action": "log"},
                 {"event": "ITERATION_COMPLETED", "once": [5, 10],
                  "action": "checkpoint"},
                 {"event": "EPOCH_COMPLETED", "action": "early_stopping",
                  "metric": "acc", "patience": 3, "mode": "min",
                  "min_delta": 0.01}],
    "checkpoint": {"every": 1000, "seconds": 30, "epoch_completed": False},
    "state_dict": {"iteration": 200, "epoch_length": 100, "max_epochs": 10},
    "worker": {"timeout_ms": 5000, "env": {"A": "b"}, "cwd": "/tmp"},
}

STREAM = b"".join([
    frame([0, 1, "hello", {"versions": [1]}]),
    frame([1, 1, None, {"version": 1, "daemon": "ignited 0.1"}]),
    frame([0, 2, "run", SPEC]),
    frame([1, 3, {"code": 4, "message": "no run 7"}, None]),
    frame([2, "progress", {"id": 7, "epoch": 1, "iteration": 5, "rate": 1.5,
                           "eta": None}]),
    frame([2, "metrics", {"id": 7, "series": {"loss": {
        "epoch": struct.pack(">2Q", 1, 1),
        "iteration": struct.pack(">2Q", 1, 2),
        "time": struct.pack(">2d", 0.5, 1.0),
        "value": struct.pack(">2d", 0.9, float("nan"))}}}]),
    frame([1, 9, None, {"output": {"loss": 0.5, "y_pred": [[0.1, 0.9]]},
                        "metrics": {"lr": 0.01}}]),
    frame([1, 10, None, {"id": 1, "owner": 0, "status": "running",
                         "epoch": 0, "iteration": 0, "metrics": {"a": 1}}]),
])

write("fuzz_frame", "stream", b"\x00" + STREAM)
write("fuzz_frame", "stream-chunked", b"\x07" + STREAM)
write("fuzz_frame", "deep", b"\x00" + raw(b"\x94\x00\x01\xa1a" + b"\x91" * 30 + b"\x90"))
write("fuzz_frame", "count", b"\x00" + raw(b"\x94\x00\x01\xa1a\xdd\xff\xff\xff\xff"))
write("fuzz_frame", "utf8", b"\x00" + raw(b"\x94\x00\x01\xa2\xc0\x80\x90"))
write("fuzz_frame", "partial", b"\x03" + STREAM[:37])

write("fuzz_spec", "full", msgpack.packb(SPEC))
write("fuzz_spec", "minimal", msgpack.packb({"engine": "builtin:noop"}))
write("fuzz_spec", "short", msgpack.packb(
    {"engine": ["python3", "w.py"], "data": "worker", "seed": 1,
     "handlers": [{"event": "COMPLETED", "once": 1, "action": "log",
                   "message": "done"}]}))
write("fuzz_spec", "range", msgpack.packb(
    {"engine": "plugin:m.so", "data": {"kind": "range", "n": 5,
                                      "shuffle": True},
     "metrics": [{"name": "o", "kind": "output", "field": "x"}]}))
