#!/usr/bin/python3
"""A worker of several ranks (ignite_worker.dist, under torchrun) that
misbehaves on one of them when its params say so: {"rank": R, "at": I,
"do": "raise" or "hang"} at iteration I on rank R."""
import time

import torch.distributed as dist

from ignite_worker import serve


def process(engine, batch):
    s = engine.state
    p = s.params
    if dist.get_rank() == p.get("rank") and s.iteration == p.get("at"):
        if p["do"] == "raise":
            raise ValueError("rank %d gave up at iteration %d" % (p["rank"], s.iteration))
        time.sleep(3600)
    return {"x": float(s.iteration)}


if __name__ == "__main__":
    serve(process)
