#!/usr/bin/python3
"""Softmax regression in numpy as an ignited exec worker.

Spec: {"engine": "exec:/usr/bin/python3 numpy_softmax.py",
       "data": {"kind": "csv", "path": ..., "label": ..., "batch_size": 32},
       "params": {"classes": 10, "lr": 0.5},
       "metrics": [{"name": "loss", "kind": "loss", "field": "loss"},
                   {"name": "acc", "kind": "accuracy", "field": "y_pred", "target": "y"}]}

The daemon sends each CSV batch; the worker takes one SGD step and returns
the loss, the class scores and the labels.  Weights are created from the
run's seed and saved exactly, so a resumed run repeats the uninterrupted
one bit for bit.
"""
import struct

import numpy as np

from ignite_worker import serve

W = None            # features x classes
b = None


def init(engine, features):
    global W, b
    p = engine.state.params
    rng = np.random.default_rng(engine.state.seed or 0)
    W = rng.normal(0.0, 0.01, (features, int(p.get("classes", 10))))
    b = np.zeros(W.shape[1])


def process(engine, batch):
    global W, b
    x = np.asarray(batch["x"], dtype=np.float64)
    y = np.asarray(batch["y"], dtype=np.int64)
    if W is None:
        init(engine, x.shape[1])
    lr = float(engine.state.params.get("lr", 0.5))
    z = x @ W + b
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y] + 1e-12).mean()
    g = p.copy()
    g[np.arange(len(y)), y] -= 1.0
    g /= len(y)
    W -= lr * (x.T @ g)
    b -= lr * g.sum(axis=0)
    return {"loss": loss, "y_pred": p, "y": y}


def state_dict():
    if W is None:
        return b""
    return struct.pack("<II", *W.shape) + W.tobytes() + b.tobytes()


def load_state_dict(data):
    global W, b
    rows, cols = struct.unpack_from("<II", data)
    n = rows * cols * 8
    W = np.frombuffer(data, np.float64, rows * cols, 8).reshape(rows, cols).copy()
    b = np.frombuffer(data, np.float64, cols, 8 + n).copy()


if __name__ == "__main__":
    serve(process, state_dict, load_state_dict)
