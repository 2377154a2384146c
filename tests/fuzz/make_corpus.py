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


# fuzz_chunk inputs: one chunk (daemon/store/chunk.h), in each encoding.
def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([v & 0x7f | 0x80])
        v >>= 7
    return out + bytes([v])


def zigzag(v):
    return ((v << 1) ^ (v >> 63)) & (2**64 - 1)


def bitstream(fields):
    s = "".join(format(v, "0%db" % n) if n else "" for v, n in fields)
    s += "0" * (-len(s) % 8)
    return bytes(int(s[i:i + 8], 2) for i in range(0, len(s), 8))


def words(floats):
    return [struct.unpack("<Q", struct.pack("<d", f))[0] for f in floats]


def raw(v, base=0):
    return struct.pack("<%dQ" % len(v), *v)


def runs(v, base=0):
    out, prev, i = b"", base, 0
    while i < len(v):
        d, n = (v[i] - prev) % 2**64, 1
        while i + n < len(v) and (v[i + n] - v[i + n - 1]) % 2**64 == d:
            n += 1
        out += varint(zigzag(d if d < 2**63 else d - 2**64)) + varint(n)
        prev, i = v[i + n - 1], i + n
    return out


def dod(v, base=0):
    fields, prev, delta = [], base, 0
    for x in v:
        d = (x - prev) % 2**64
        dd = (d - delta) % 2**64
        zz = zigzag(dd if dd < 2**63 else dd - 2**64)
        k = next(k for k, b in enumerate([0, 7, 12, 20, 64])
                 if k == 4 or zz >> b == 0)
        fields += [([0, 2, 6, 14, 15][k], [1, 2, 3, 4, 4][k]),
                   (zz, [0, 7, 12, 20, 64][k])]
        prev, delta = x, d
    return bitstream(fields)


def xor(v, base=0):
    fields, prev = [], base
    for x in v:
        d, prev = x ^ prev, x
        if d == 0:
            fields.append((0, 1))
            continue
        lead = min(64 - d.bit_length(), 31)
        trail = (d & -d).bit_length() - 1
        sig = 64 - lead - trail
        fields += [(3, 2), (lead, 5), (sig - 1, 6), (d >> trail, sig)]
    return bitstream(fields)


def chunk(it, ep, wall, val, encs):
    flags = (1 if ep else 0) | (2 if wall else 0)
    out = bytes([1, flags]) + varint(len(it)) + varint(zigzag(it[0]))
    cols = [(it[1:], it[0])] + [(c, 0) for c in (ep, wall) if c]
    cols.append((words(val), 0))
    for (v, base), enc in zip(cols, encs):
        body = [raw, runs, dod, xor][enc](v, base)
        out += bytes([enc]) + varint(len(body)) + body
    return out


IT = list(range(1, 41))
EP = [i // 10 + 1 for i in IT]
WALL = words([1.7e9 + i * 2e-4 for i in IT])
LOSS = [struct.unpack("<f", struct.pack("<f", 2.3 / i))[0] for i in IT]
SPECIAL = [float("nan"), float("inf"), -float("inf"), -0.0, 5e-324, 1.0] * 2
write("fuzz_chunk", "raw", chunk(IT, EP, WALL, LOSS, [0, 0, 0, 0]))
write("fuzz_chunk", "typical", chunk(IT, EP, WALL, LOSS, [1, 1, 2, 3]))
write("fuzz_chunk", "gaps", chunk([3, 9, 10, 400, 401, 10**12], None, None,
                                  [0.5] * 6, [2, 3]))
write("fuzz_chunk", "special", chunk(IT[:12], None, WALL[:12], SPECIAL,
                                     [1, 3, 3]))
write("fuzz_chunk", "single", chunk([-(2**63)], [7], None, [-0.0],
                                    [0, 1, 0]))
