#!/usr/bin/python3
"""A worker that reports a metric itself (engine.state.metrics) at every
iteration: w0 = half the iteration, and outputs loss 1.0.  usage:
metrics_worker.py MS (milliseconds an iteration)"""
import sys
import time

import ignite_worker

MS = float(sys.argv[1])


def process(engine, batch):
    time.sleep(MS / 1000.0)
    engine.state.metrics["w0"] = engine.state.iteration * 0.5
    return {"loss": 1.0}


ignite_worker.serve(process)
