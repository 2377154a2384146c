"""ignite_worker: turn a process function into an ignited exec worker.

    from ignite_worker import serve

    def process(engine, batch):
        ...                       # one training step
        return {"loss": loss, "y_pred": scores, "y": labels}

    serve(process, state_dict=model_bytes, load_state_dict=load_bytes)
    # or, for code that writes its own files (torch.save):
    serve(process, save=save_to_path, load=load_from_path)

The daemon starts the program (engine "exec:python3 train.py") and talks to
it over stdin/stdout with the worker protocol of docs/PROTOCOL.md: 4-byte
big-endian lengths, then msgpack-RPC.  Only python3-msgpack is needed.

- process(engine, batch) runs once an iteration.  engine.state has epoch,
  iteration, seed, params (the spec's), run (its id) and metrics (a dict to
  fill for extra metric values).  batch is None (data "worker", or no
  data) or a dict {index, x?, y?, raw?}.  Return a dict of outputs: each a
  number, a sequence of numbers or a sequence of equal rows (numpy arrays
  are fine).
- setup(engine), when given, is called once the worker is told the run's
  params and seed, before a checkpoint is loaded: build the model there.
- state_dict() returns bytes, asked for at every checkpoint;
  load_state_dict(data) gets them back on resume, before the first process.
  The module writes the bytes into the checkpoint file the daemon names,
  so they may be of any size.  Store numbers exactly (e.g.
  ndarray.tobytes()) for identical resumes.
- Or save(path) writes the checkpoint into the file path itself (any
  format, e.g. torch.save; ignite_worker.torch.save keeps the model,
  optimizer, scaler, scheduler and RNG states), and load(path) reads it
  back on resume.  Not together with state_dict/load_state_dict.
- events: a dict {"EPOCH_COMPLETED": fn(engine), ...} for the events
  STARTED, EPOCH_STARTED, EPOCH_COMPLETED and COMPLETED.

print() goes to stderr, which the daemon keeps in the run's log: stdout is
the channel.  An exception fails the run with its message.
"""

import os
import shutil
import struct
import sys
import tempfile
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


def _write_file(path, data):
    """data into a new file at path, on disk when this returns."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _read_file(path):
    with open(path, "rb") as f:
        return f.read()


class _Scratch:
    """A private directory for the checkpoint file of a daemon that names
    none (it sends and takes the state as bytes in the frame)."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="ignite-worker-")
        return os.path.join(self.dir, "checkpoint")

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


class _Bytes:
    """state_dict()/load_state_dict(bytes) as the file operations."""

    def __init__(self, state_dict, load_state_dict):
        self.state_dict, self.load_state_dict = state_dict, load_state_dict

    def state(self):
        data = self.state_dict() if self.state_dict is not None else b""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("state_dict() must return bytes, got %s" % type(data).__name__)
        return bytes(data)

    def save(self, path):
        _write_file(path, self.state())

    def restore(self, data):
        # an empty state is what a worker without state_dict left
        if data and self.load_state_dict is not None:
            self.load_state_dict(data)

    def load(self, path):
        self.restore(_read_file(path))


class _Files:
    """save(path)/load(path) as the file operations."""

    def __init__(self, save, load):
        self.save_fn, self.load_fn = save, load

    def save(self, path):
        if self.save_fn is None:
            _write_file(path, b"")
            return
        self.save_fn(path)
        if not os.path.isfile(path):
            raise RuntimeError("save(%r) returned without writing that file" % path)

    def state(self):
        with _Scratch() as path:
            self.save(path)
            return _read_file(path)

    def restore(self, data):
        if data and self.load_fn is not None:
            with _Scratch() as path:
                _write_file(path, data)
                self.load_fn(path)

    def load(self, path):
        # an empty file is what a worker without save left
        if self.load_fn is not None and os.path.getsize(path) > 0:
            self.load_fn(path)


def _checkpoints(state_dict, load_state_dict, save, load):
    if (save is not None or load is not None) and \
            (state_dict is not None or load_state_dict is not None):
        raise TypeError("serve(): give state_dict/load_state_dict (bytes) or save/load "
                        "(a file path), not both")
    if save is not None or load is not None:
        return _Files(save, load)
    return _Bytes(state_dict, load_state_dict)


def serve(process, state_dict=None, load_state_dict=None, events=None, save=None, load=None,
          setup=None):
    """Answer the daemon's requests until shutdown or end of input."""
    ckpt = _checkpoints(state_dict, load_state_dict, save, load)
    ch = _Channel()
    engine = Engine()
    events = events or {}

    def do_setup(p):
        s = engine.state
        s.params = p.get("params") or {}
        s.seed = p.get("seed")
        s.run = p.get("run")
        s.epoch_length = p.get("epoch_length")
        s.max_epochs = p.get("max_epochs")
        if setup is not None:
            setup(engine)
        # a daemon that names the checkpoint file; an older one sends bytes
        if p.get("checkpoint"):
            ckpt.load(p["checkpoint"])
        else:
            ckpt.restore(p.get("state"))
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

    def do_state_dict(p):
        path = (p or {}).get("path")
        if path:
            ckpt.save(path)
            return {"saved": True}
        return {"state": ckpt.state()}

    def do_event(p):
        fn = events.get(p["name"])
        engine.state.epoch, engine.state.iteration = p["epoch"], p["iteration"]
        if fn is not None:
            fn(engine)
        return None

    methods = {"setup": do_setup, "process": do_process, "state_dict": do_state_dict,
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
