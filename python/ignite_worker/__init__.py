"""ignite_worker: turn a process function into an ignited exec worker.

    from ignite_worker import serve

    def process(engine, batch):
        ...                       # one training step
        return {"loss": loss, "y_pred": scores, "y": labels}

    serve(process, state_dict=model_bytes, load_state_dict=load_bytes)

The daemon starts the program (engine "exec:python3 train.py") and talks to
it over stdin/stdout with the worker protocol of docs/PROTOCOL.md: 4-byte
big-endian lengths, then msgpack-RPC.  Only python3-msgpack is needed.

- process(engine, batch) runs once an iteration.  engine.state has epoch,
  iteration, seed, params (the spec's), run (its id) and metrics (a dict to
  fill for extra metric values).  batch is None (data "worker", or no
  data) or a dict {index, x?, y?, raw?}.  Return a dict of outputs: each a
  number, a sequence of numbers or a sequence of equal rows (numpy arrays
  are fine).
- state_dict() returns bytes, asked for at every checkpoint;
  load_state_dict(data) gets them back on resume, before the first process.
  Store numbers exactly (e.g. ndarray.tobytes()) for identical resumes.
- events: a dict {"EPOCH_COMPLETED": fn(engine), ...} for the events
  STARTED, EPOCH_STARTED, EPOCH_COMPLETED and COMPLETED.

print() goes to stderr, which the daemon keeps in the run's log: stdout is
the channel.  An exception fails the run with its message.
"""

import os
import struct
import sys
import traceback

import msgpack

__all__ = ["serve", "Engine", "State"]

INTERNAL, UNKNOWN_METHOD = 8, 2


class State:
    def __init__(self):
        self.epoch = 0
        self.iteration = 0
        self.seed = None
        self.params = {}
        self.run = None
        self.epoch_length = None
        self.max_epochs = None
        self.metrics = {}


class Engine:
    """What process and event handlers get: Ignite's engine, reduced."""

    def __init__(self):
        self.state = State()


def _plain(v):
    """Outputs as msgpack takes them: numpy values become lists and floats."""
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return float(v)


class _Channel:
    def __init__(self):
        # The channel is a private copy of fd 1; fd 1 itself goes to
        # stderr so that print() cannot break the framing.
        self.rfile = os.fdopen(os.dup(0), "rb", buffering=0)
        self.wfile = os.fdopen(os.dup(1), "wb", buffering=0)
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def _read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.rfile.read(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def read(self):
        head = self._read_exact(4)
        if head is None:
            return None
        body = self._read_exact(struct.unpack(">I", head)[0])
        if body is None:
            return None
        return msgpack.unpackb(body, raw=False)

    def write(self, obj):
        body = msgpack.packb(obj, use_bin_type=True)
        self.wfile.write(struct.pack(">I", len(body)) + body)

    def reply(self, msgid, result):
        self.write([1, msgid, None, result])

    def error(self, msgid, code, message):
        self.write([1, msgid, {"code": code, "message": message}, None])


def serve(process, state_dict=None, load_state_dict=None, events=None):
    """Answer the daemon's requests until shutdown or end of input."""
    ch = _Channel()
    engine = Engine()
    events = events or {}

    def setup(p):
        s = engine.state
        s.params = p.get("params") or {}
        s.seed = p.get("seed")
        s.run = p.get("run")
        s.epoch_length = p.get("epoch_length")
        s.max_epochs = p.get("max_epochs")
        # an empty state is what a worker without state_dict left
        if p.get("state") and load_state_dict is not None:
            load_state_dict(p["state"])
        # be told only of the events there is a handler for
        return {"events": sorted(events)}

    def do_process(p):
        s = engine.state
        s.epoch, s.iteration = p["epoch"], p["iteration"]
        s.metrics = {}
        out = process(engine, p.get("batch"))
        result = {"output": {k: _plain(v) for k, v in (out or {}).items()}}
        if s.metrics:
            result["metrics"] = {k: float(v) for k, v in s.metrics.items()}
        return result

    def do_state_dict(_):
        data = state_dict() if state_dict is not None else b""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("state_dict() must return bytes, got %s" % type(data).__name__)
        return {"state": bytes(data)}

    def do_event(p):
        fn = events.get(p["name"])
        engine.state.epoch, engine.state.iteration = p["epoch"], p["iteration"]
        if fn is not None:
            fn(engine)
        return None

    methods = {"setup": setup, "process": do_process, "state_dict": do_state_dict,
               "event": do_event}
    while True:
        msg = ch.read()
        if msg is None:
            return
        if msg[0] != 0:
            continue
        _, msgid, method, params = msg
        if method == "shutdown":
            ch.reply(msgid, None)
            return
        fn = methods.get(method)
        if fn is None:
            ch.error(msgid, UNKNOWN_METHOD, "no method %s" % method)
            continue
        try:
            result = fn(params)
        except Exception as e:  # the run fails with it; the trace goes to the log
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            ch.error(msgid, INTERNAL, "%s: %s" % (type(e).__name__, e))
            continue
        ch.reply(msgid, result)
