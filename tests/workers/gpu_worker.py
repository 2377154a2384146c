#!/usr/bin/python3
"""A worker that says where it ran.
usage: gpu_worker.py LOG MS TAG

At its start it appends "start TIME TAG CUDA_VISIBLE_DEVICES CPUS" to LOG
(CPUS: its affinity, os.sched_getaffinity), each iteration sleeps MS
milliseconds, and at COMPLETED it appends "end TIME TAG":
a test reads from LOG which runs ran at once, on which GPUs and CPUs."""
import os
import sys
import time

import ignite_worker

LOG, MS, TAG = sys.argv[1], float(sys.argv[2]), sys.argv[3]


def note(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")


note("start %.6f %s %s %s" % (time.time(), TAG,
                              os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>") or "<empty>",
                              ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))))


def process(engine, batch):
    time.sleep(MS / 1000.0)
    return {}


def completed(engine):
    note("end %.6f %s" % (time.time(), TAG))


ignite_worker.serve(process, lambda: b"", lambda data: None,
                    events={"COMPLETED": completed})
