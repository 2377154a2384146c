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

A worker the daemon did not start (a Slurm job on a compute node) dials
back instead: when IGNITE_WORKER_ADDR (host:port) is set, serve()
connects there over TCP, presents IGNITE_WORKER_RUN and
IGNITE_WORKER_SECRET (64 hex digits) in a `hello`, and then answers the
same requests as over pipes.  A connection that drops is dialled again
with exponential backoff (0.1 s doubling to 5 s) for up to
IGNITE_WORKER_RETRY_S seconds (600 by default) without a connection; the
daemon then sends `setup` again and the worker resumes from the
checkpoint it names.  stdout and stderr stay the job's own there
(docs/PROTOCOL.md, "Workers that dial back").

A worker of several processes (torchrun, or srun with torch.distributed
initialised before serve()) calls serve() the same way on every rank:
rank 0 speaks to the daemon and passes each request on, so every rank
takes the same step, and every rank's checkpoint goes into the one file
(ignite_worker.dist; docs/PROTOCOL.md, "Workers of several processes").
"""

import functools
import os
import random
import shutil
import socket
import struct
import sys
import tempfile
import time
import traceback

import msgpack

__all__ = ["serve", "Engine", "State"]

INTERNAL, UNKNOWN_METHOD, CONFLICT = 8, 2, 6
# Dialling back: the first wait, the longest, and for how long a worker
# without a connection keeps trying (IGNITE_WORKER_RETRY_S overrides).
BACKOFF_FIRST_S, BACKOFF_MAX_S, RETRY_DEFAULT_S = 0.1, 5.0, 600
SECRET_BYTES = 32


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
    if type(v) is float:  # the common case, first: this runs every iteration
        return v
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return float(v)


# A read takes what is there up to this much: a request whole, usually,
# in one system call.
READ_CHUNK = 1 << 16
_HEAD = struct.Struct(">I")  # a frame's length
# str as str: msgpack 1.0's default, so called without the keyword there,
# whose parsing is a tenth of an unpackb of a process request
_unpackb = msgpack.unpackb if msgpack.version >= (1, 0) else functools.partial(
    msgpack.unpackb, raw=False)
_NO_OUTPUT = {"output": {}}  # the answer of a process that returned nothing; never changed


class _Channel:
    """Frames over a byte stream; a subclass gives _recv (up to n bytes,
    b"" at the end) and _send.  Requests come one at a time, so each read
    is one system call for the frame and its length together, and what it
    took past the frame waits in _buf for the next."""

    def __init__(self):
        self._buf = b""
        self._pack = msgpack.Packer(use_bin_type=True).pack

    def _read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self._recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def read(self):
        """The next message, or None at the end of the stream."""
        buf = self._buf or self._recv(READ_CHUNK)
        if len(buf) > 4:
            end = 4 + _HEAD.unpack_from(buf)[0]
            if len(buf) == end:  # one whole frame: the common case
                self._buf = b""
                return _unpackb(buf[4:])
        while len(buf) < 4:
            if not buf:
                return None
            chunk = self._recv(READ_CHUNK)
            if not chunk:
                return None
            buf += chunk
        end = 4 + _HEAD.unpack_from(buf)[0]
        if len(buf) < end:
            # the rest of a large frame: read exactly that, once
            rest = self._read_exact(end - len(buf))
            if rest is None:
                return None
            buf += rest
        self._buf = buf[end:]
        return _unpackb(memoryview(buf)[4:end])

    def write(self, obj):
        body = self._pack(obj)
        self._send(_HEAD.pack(len(body)) + body)

    def reply(self, msgid, result):
        body = self._pack([1, msgid, None, result])
        self._send(_HEAD.pack(len(body)) + body)

    def error(self, msgid, code, message):
        self.write([1, msgid, {"code": code, "message": message}, None])

    def close(self):
        pass


class _Pipes(_Channel):
    """stdin and stdout, for a worker the daemon started."""

    def __init__(self):
        super().__init__()
        # The channel is a private copy of fd 1; fd 1 itself goes to
        # stderr so that print() cannot break the framing.
        self.rfd, self.wfd = os.dup(0), os.dup(1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        # os.read itself, without a Python frame around it: this is
        # every request's path
        self._recv = functools.partial(os.read, self.rfd)

    def _send(self, data):
        n = os.write(self.wfd, data)
        if n < len(data):  # a signal cut a large write short
            view = memoryview(data)[n:]
            while view:
                view = view[os.write(self.wfd, view):]


class _Dropped(Exception):
    """The connection to the daemon is gone: dial again."""


class _Socket(_Channel):
    """A TCP connection to the daemon.  An error of the socket, or its
    end, is _Dropped: the worker dials again."""

    def __init__(self, sock):
        super().__init__()
        self.sock = sock

    def _recv(self, n):
        try:
            return self.sock.recv(n)
        except OSError as e:
            raise _Dropped(str(e)) from e

    def _send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise _Dropped(str(e)) from e

    def read(self):
        msg = super().read()
        if msg is None:
            raise _Dropped("the daemon closed the connection")
        return msg

    def close(self):
        self.sock.close()


class _Refused(Exception):
    """The daemon answered the hello with an error other than CONFLICT."""


def _fail(message):
    """Exit with message on stderr (the job's output): a worker that cannot
    work at all, which retrying would not mend."""
    sys.stderr.write("ignite_worker: %s\n" % message)
    sys.stderr.flush()
    sys.exit(1)


class _Dialer:
    """Where and as what to dial back, from the environment."""

    def __init__(self, env):
        addr = env["IGNITE_WORKER_ADDR"]
        host, sep, port = addr.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            _fail("IGNITE_WORKER_ADDR=%r: expected HOST:PORT (an IPv6 address in "
                  "brackets, [::1]:PORT)" % addr)
        self.addr = addr
        self.host, self.port = host.strip("[]"), int(port)
        run = env.get("IGNITE_WORKER_RUN", "")
        if not run.isdigit():
            _fail("IGNITE_WORKER_RUN=%r: expected the run's id, which ignited gives the job "
                  "with IGNITE_WORKER_ADDR" % run)
        self.run = int(run)
        secret = env.get("IGNITE_WORKER_SECRET", "")
        try:
            self.secret = bytes.fromhex(secret)
        except ValueError:
            self.secret = b""
        if len(self.secret) != SECRET_BYTES:
            _fail("IGNITE_WORKER_SECRET: expected %d hex digits (the run's secret, which "
                  "ignited gives the job), got %d characters" % (2 * SECRET_BYTES, len(secret)))
        retry = env.get("IGNITE_WORKER_RETRY_S", str(RETRY_DEFAULT_S))
        try:
            self.retry_s = float(retry)
        except ValueError:
            self.retry_s = -1.0
        if not self.retry_s >= 0:
            _fail("IGNITE_WORKER_RETRY_S=%r: expected seconds, a number >= 0" % retry)
        # Not the random module's own generator: that is the training's,
        # and a checkpoint keeps its state (ignite_worker.torch).
        self.jitter = random.SystemRandom()
        self.msgid = 0

    def _hello(self):
        """A connection on which the daemon accepted this worker."""
        sock = socket.create_connection((self.host, self.port), timeout=30)
        ch = _Socket(sock)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            # A daemon whose machine vanished is noticed in about a minute,
            # not after the kernel's two hours.
            for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10),
                                ("TCP_KEEPCNT", 3)):
                if hasattr(socket, name):
                    sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.msgid += 1
            ch.write([0, self.msgid, "hello",
                      {"versions": [1], "run": self.run, "secret": self.secret}])
            try:
                msg = ch.read()
            except (ValueError, msgpack.UnpackException) as e:
                raise _Dropped("the answer to hello is not msgpack: %s" % e) from e
            if not (isinstance(msg, list) and len(msg) == 4 and msg[:2] == [1, self.msgid]):
                raise _Dropped("the daemon's first frame is not the answer to hello: %.80r" %
                               (msg,))
            err = msg[2]
            if err is not None:
                if isinstance(err, dict) and err.get("code") == CONFLICT:
                    raise _Dropped("the daemon has a worker of run %d connected: %s" %
                                   (self.run, err.get("message")))
                raise _Refused(err.get("message") if isinstance(err, dict) else err)
            # Requests may wait as long as the daemon likes.
            sock.settimeout(None)
            return ch
        except BaseException:
            ch.close()
            raise

    def connect(self):
        """A connection the daemon accepted, trying again with backoff
        while it cannot be had; exits once retry_s seconds passed without."""
        deadline = time.monotonic() + self.retry_s
        wait = BACKOFF_FIRST_S
        attempts = 0
        while True:
            attempts += 1
            try:
                ch = self._hello()
                if attempts > 1:
                    sys.stderr.write("ignite_worker: connected to ignited at %s after %d "
                                     "attempts\n" % (self.addr, attempts))
                return ch
            except _Refused as e:
                _fail("ignited at %s refused run %d's worker: %s" % (self.addr, self.run, e))
            except (OSError, _Dropped) as e:
                last = e
            left = deadline - time.monotonic()
            if left <= 0:
                _fail("no connection to ignited at %s for %g s (%d attempts; last: %s); a "
                      "wrong IGNITE_WORKER_SECRET is dropped without an answer" %
                      (self.addr, self.retry_s, attempts, last))
            if attempts == 1:
                sys.stderr.write("ignite_worker: cannot reach ignited at %s (%s); retrying for "
                                 "up to %g s\n" % (self.addr, last, self.retry_s))
                sys.stderr.flush()
            time.sleep(min(left, self.jitter.uniform(wait / 2, wait)))
            wait = min(wait * 2, BACKOFF_MAX_S)


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
    ranks = _ranks()
    if ranks is not None:
        ckpt = ranks.checkpoints(ckpt)
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

    state = engine.state

    def do_process(p):
        s = state
        s.epoch, s.iteration = p["epoch"], p["iteration"]
        if s.metrics:  # a fresh dict only when the last one was filled
            s.metrics = {}
        out = process(engine, p.get("batch"))
        if not s.metrics:
            return {"output": {k: _plain(v) for k, v in out.items()}} if out else _NO_OUTPUT
        return {"output": {k: _plain(v) for k, v in out.items()} if out else {},
                "metrics": {k: float(v) for k, v in s.metrics.items()}}

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
    if ranks is not None:
        ranks.serve(methods, _transport)
    else:
        _transport(methods)


def _ranks():
    """ignite_worker.dist's group when this process is one rank of several
    (torchrun, or torch.distributed initialised before serve()), else None."""
    td = sys.modules.get("torch.distributed")
    if not (td is not None and td.is_available() and td.is_initialized()
            and td.get_world_size() > 1) and int(os.environ.get("WORLD_SIZE") or 1) <= 1:
        return None
    from ignite_worker import dist

    return dist.Ranks(dialling=bool(os.environ.get("IGNITE_WORKER_ADDR")))


def _transport(methods):
    """Answer the daemon over stdin and stdout, or over TCP when dialling
    back, until it is done with this worker."""
    if not os.environ.get("IGNITE_WORKER_ADDR"):
        _answer(_Pipes(), methods)
        return
    dialer = _Dialer(os.environ)
    while True:
        ch = dialer.connect()
        try:
            if _answer(ch, methods):
                return
        except _Dropped as e:
            sys.stderr.write("ignite_worker: connection to ignited at %s lost (%s); dialling "
                             "again\n" % (dialer.addr, e))
            sys.stderr.flush()
        finally:
            ch.close()


def _answer(ch, methods):
    """Answer requests on ch: True after shutdown, False at the end of the
    stream."""
    # bound once: this loop runs once an iteration
    read, reply, get = ch.read, ch.reply, methods.get
    while True:
        msg = read()
        if msg is None:
            return False
        if msg[0] != 0:
            continue
        _, msgid, method, params = msg
        fn = get(method)
        if fn is None:
            if method == "shutdown":
                reply(msgid, None)
                return True
            ch.error(msgid, UNKNOWN_METHOD, "no method %s" % method)
            continue
        try:
            result = fn(params)
        except Exception as e:  # the run fails with it; the trace goes to the log
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            ch.error(msgid, INTERNAL, "%s: %s" % (type(e).__name__, e))
            continue
        reply(msgid, result)
