"""A small deterministic exec worker for the Slurm tests: each iteration
takes SLOW_WORKER_DELAY seconds (0.02 by default), so that a test can
reach into a running job, and its loss follows a seeded random walk whose
whole state a checkpoint keeps, so that a resumed run repeats an
uninterrupted one bit for bit."""
import os
import pickle
import random
import time

from ignite_worker import serve

DELAY = float(os.environ.get("SLOW_WORKER_DELAY", "0.02"))
state = {}


def setup(engine):
    # a reconnection starts again from here, then loads its checkpoint
    state["x"] = 1.0
    state["rng"] = random.Random(engine.state.seed or 0)


def process(engine, batch):
    time.sleep(DELAY)
    state["x"] = state["x"] * 0.97 + state["rng"].random() * 0.05
    return {"loss": state["x"]}


def state_dict():
    return pickle.dumps((state["x"], state["rng"].getstate()))


def load_state_dict(data):
    state["x"], rng = pickle.loads(data)
    state["rng"].setstate(rng)


if __name__ == "__main__":
    serve(process, state_dict, load_state_dict, setup=setup)
