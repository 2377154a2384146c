#!/usr/bin/python3
"""A worker slow to start: it sleeps SECONDS before it reads its setup,
as one importing torch does, then answers every iteration at once.
usage: slow_setup_worker.py SECONDS"""
import sys
import time

time.sleep(float(sys.argv[1]))

import ignite_worker  # noqa: E402

ignite_worker.serve(lambda engine, batch: {})
