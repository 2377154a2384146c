#!/usr/bin/python3
"""A worker that asks to be told of EPOCH_COMPLETED only, logs every event
it is sent, and reports a metric of its own: twice the iteration."""
import sys

from ignite_worker import serve


class Logged(dict):
    def get(self, name, default=None):
        print("sent event %s" % name, file=sys.stderr, flush=True)
        return super().get(name, default)


def process(engine, batch):
    engine.state.metrics["twice"] = 2.0 * engine.state.iteration
    return {"x": 1.0}


def epoch_done(engine):
    print("handled EPOCH_COMPLETED at epoch %d" % engine.state.epoch, file=sys.stderr, flush=True)


serve(process, events=Logged(EPOCH_COMPLETED=epoch_done))
