#!/usr/bin/python3
"""A worker of several ranks (ignite_worker.dist, under torchrun) that
misbehaves on one of them when its params say so: {"rank": R, "at": I,
"do": "raise" or "hang"} at iteration I on rank R, or "do": "save":
rank R's state_dict() raises.

With DIST_WORKER_FILES in its environment it counts the iterations each
rank took (output n) and checkpoints as torch.distributed.checkpoint
would, every rank writing into the one directory (IGNITE_WORKER_SHARDS=dir):
a file a rank and rank 0's .metadata, each read back at setup."""
import os
import time

import torch.distributed as dist

from ignite_worker import serve


params = {}
taken = [0]
FILES = bool(os.environ.get("DIST_WORKER_FILES"))


def process(engine, batch):
    s = engine.state
    p = s.params
    params.update(p)
    if dist.get_rank() == p.get("rank") and s.iteration == p.get("at"):
        if p["do"] == "raise":
            raise ValueError("rank %d gave up at iteration %d" % (p["rank"], s.iteration))
        time.sleep(3600)
    if not FILES:
        return {"x": float(s.iteration)}
    taken[0] += 1
    return {"x": float(s.iteration), "n": float(taken[0])}


def state_dict():
    if dist.get_rank() == params.get("rank") and params.get("do") == "save":
        raise ValueError("rank %d cannot save" % params["rank"])
    return b"%d" % dist.get_rank()


def save(path):
    rank = dist.get_rank()
    with open(os.path.join(path, "__%d_0.distcp" % rank), "w") as f:
        f.write(str(taken[0]))
    if rank == 0:
        with open(os.path.join(path, ".metadata"), "w") as f:
            f.write(str(dist.get_world_size()))


def load(path):
    with open(os.path.join(path, ".metadata")) as f:
        assert int(f.read()) == dist.get_world_size()
    with open(os.path.join(path, "__%d_0.distcp" % dist.get_rank())) as f:
        taken[0] = int(f.read())


if __name__ == "__main__":
    if FILES:
        serve(process, save=save, load=load)
    else:
        serve(process, state_dict=state_dict)
