#!/usr/bin/python3
"""A PyTorch model trained as an ignited exec worker: adapt this file.

Spec: {"engine": "exec:/usr/bin/python3 torch_train.py",
       "data": {"kind": "csv", "path": ..., "label": ..., "batch_size": 32},
       "params": {"classes": 10, "lr": 0.1, "hidden": 64},
       "worker": {"env": {"PYTHONPATH": "/path/to/ignite/python"}}}

update() is the usual Ignite process function: one optimizer step on the
batch the daemon sends.  The model and optimizer state go to the daemon at
each checkpoint (torch.save into bytes) and come back on resume.
"""
import io

import torch
from torch import nn

from ignite_worker import serve

model = None
optimizer = None


def build(engine, features):
    global model, optimizer
    p = engine.state.params
    torch.manual_seed(engine.state.seed or 0)
    model = nn.Sequential(nn.Linear(features, int(p.get("hidden", 64))), nn.ReLU(),
                          nn.Linear(int(p.get("hidden", 64)), int(p.get("classes", 10))))
    model.double()
    optimizer = torch.optim.SGD(model.parameters(), lr=float(p.get("lr", 0.1)))


def update(engine, batch):
    x = torch.tensor(batch["x"], dtype=torch.float64)
    y = torch.tensor(batch["y"], dtype=torch.int64)
    if model is None:
        build(engine, x.shape[1])
    model.train()
    optimizer.zero_grad()
    scores = model(x)
    loss = nn.functional.cross_entropy(scores, y)
    loss.backward()
    optimizer.step()
    return {"loss": loss.item(), "y_pred": scores.detach().numpy(), "y": y.numpy()}


def state_dict():
    if model is None:
        return b""
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buf)
    return buf.getvalue()


def load_state_dict(data):
    saved = torch.load(io.BytesIO(data))
    features = saved["model"]["0.weight"].shape[1]
    pending.append((saved, features))


# The model's shape comes from the first batch; a saved state waits for it.
pending = []


def process(engine, batch):
    if model is None and pending:
        saved, features = pending.pop()
        build(engine, features)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
    return update(engine, batch)


if __name__ == "__main__":
    serve(process, state_dict, load_state_dict)
