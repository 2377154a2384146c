#!/usr/bin/python3
"""A worker that reports the resource limits it runs under, for
tests/e2e/test_workers.py: each process answer holds {LIMIT_soft,
LIMIT_hard} for nofile and as, with RLIM_INFINITY as -1."""
import resource

from ignite_worker import serve

LIMITS = {"nofile": resource.RLIMIT_NOFILE, "as": resource.RLIMIT_AS}


def number(v):
    return -1 if v == resource.RLIM_INFINITY else v


def process(engine, batch):
    out = {}
    for name, which in LIMITS.items():
        soft, hard = resource.getrlimit(which)
        out[name + "_soft"] = number(soft)
        out[name + "_hard"] = number(hard)
    return out


serve(process)
