#!/usr/bin/python3
"""A worker of several ranks (ignite_worker.dist, under torchrun) that
misbehaves on one of them when its params say so: {"rank": R, "at": I,
"do": "raise" or "hang"} at iteration I on rank R, or "do": "save":
rank R's state_dict() raises."""
import time

import torch.distributed as dist

from ignite_worker import serve


params = {}


def process(engine, batch):
    s = engine.state
    p = s.params
    params.update(p)
    if dist.get_rank() == p.get("rank") and s.iteration == p.get("at"):
        if p["do"] == "raise":
            raise ValueError("rank %d gave up at iteration %d" % (p["rank"], s.iteration))
        time.sleep(3600)
    return {"x": float(s.iteration)}


def state_dict():
    if dist.get_rank() == params.get("rank") and params.get("do") == "save":
        raise ValueError("rank %d cannot save" % params["rank"])
    return b"%d" % dist.get_rank()


if __name__ == "__main__":
    serve(process, state_dict=state_dict)
