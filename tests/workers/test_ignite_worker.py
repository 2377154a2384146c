#!/usr/bin/python3
"""The Python worker module (python/ignite_worker) on its own: serve() in
a child process driven over its stdin/stdout with the frames the daemon
sends (docs/PROTOCOL.md, "The worker protocol"), checkpoints as files (a
`path` in `state_dict`, a `checkpoint` in `setup`) and as bytes in the
frame (a daemon that names no file); the TCP transport of a worker that
dials back (IGNITE_WORKER_ADDR), against a fake daemon speaking the same
frames; and ignite_worker.torch's save/load, whose resumed training must be
bit-identical on CPU.
usage: test_ignite_worker.py [unittest args]
"""
import os
import random
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import msgpack

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "python"))
import ignite_worker  # noqa: E402
from fake_daemon import FakeDaemon  # noqa: E402

PY = "/usr/bin/python3"
INTERNAL = 8
HAVE_TORCH = subprocess.call([PY, "-c", "import torch"], stderr=subprocess.DEVNULL) == 0

# A worker whose state is a byte string: process answers its length and
# first byte, so the test sees what was loaded.  argv[1] picks the form.
WORKER = r'''
import os, sys
from ignite_worker import serve

state = b""
calls = []  # "setup", "load" in the order they came


def process(engine, batch):
    return {"size": len(state), "first": state[0] if state else -1,
            "loads": calls.count("load"), "setup_first": calls[:1] == ["setup"]}


def setup(engine):
    assert engine.state.params == {"scale": 3}, engine.state.params
    calls.append("setup")


def state_dict():
    return bytes([7]) * int(os.environ["STATE_SIZE"])


def load_state_dict(data):
    global state
    state = data
    calls.append("load")


def save(path):
    if not os.environ.get("SAVE_NOTHING"):
        with open(path, "wb") as f:
            f.write(state_dict())


def load(path):
    with open(path, "rb") as f:
        load_state_dict(f.read())


if sys.argv[1] == "bytes":
    serve(process, state_dict=state_dict, load_state_dict=load_state_dict, setup=setup)
else:
    serve(process, save=save, load=load, setup=setup)
'''


class Worker:
    """A serve() child, spoken to as the daemon does."""

    def __init__(self, form, state_size=3, env=None, argv=None):
        e = dict(os.environ, PYTHONPATH=os.path.join(SRC, "python"), STATE_SIZE=str(state_size))
        e.update(env or {})
        self.proc = subprocess.Popen(argv or [PY, "-c", WORKER, form], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=e)
        self.msgid = 0

    def call(self, method, params):
        self.msgid += 1
        body = msgpack.packb([0, self.msgid, method, params], use_bin_type=True)
        self.proc.stdin.write(struct.pack(">I", len(body)) + body)
        self.proc.stdin.flush()
        (n,) = struct.unpack(">I", self.proc.stdout.read(4))
        msg = msgpack.unpackb(self.proc.stdout.read(n), raw=False)
        assert msg[0] == 1 and msg[1] == self.msgid, msg
        return msg[2], msg[3]

    def ok(self, method, params):
        err, result = self.call(method, params)
        if err is not None:
            raise AssertionError("%s: %s" % (method, err))
        return result

    def setup(self, **params):
        p = {"run": 1, "params": {"scale": 3}, "state": None, "seed": 1, "epoch_length": 10,
             "max_epochs": 1}
        p.update(params)
        return self.ok("setup", p)

    def process(self, epoch=1, iteration=1):
        return self.ok("process", {"epoch": epoch, "iteration": iteration, "batch": None})

    def close(self):
        self.ok("shutdown", {})
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.proc.wait(30)


class ModuleCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ckptpy-")
        self.addCleanup(shutil.rmtree, self.dir)

    def worker(self, form, **kw):
        w = Worker(form, **kw)
        self.addCleanup(lambda: w.proc.poll() is not None or (w.proc.kill(), w.proc.wait()))
        return w

    def path(self, name):
        return os.path.join(self.dir, name)


class TestCheckpointFiles(ModuleCase):
    """A daemon that names the file: `path` in state_dict, `checkpoint`
    in setup."""

    def test_state_dict_bytes_are_written_to_the_path(self):
        w = self.worker("bytes", state_size=5)
        w.setup()
        target = self.path("ckpt-10.part")
        self.assertEqual(w.ok("state_dict", {"path": target}), {"saved": True})
        with open(target, "rb") as f:
            self.assertEqual(f.read(), bytes([7]) * 5)
        self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), 0o600)
        w.close()

    def test_a_state_larger_than_a_frame_goes_through_the_file(self):
        size = 20 << 20  # above the 16 MiB a frame may hold
        w = self.worker("bytes", state_size=size)
        w.setup()
        target = self.path("big.part")
        self.assertEqual(w.ok("state_dict", {"path": target}), {"saved": True})
        self.assertEqual(os.path.getsize(target), size)
        w.close()
        w = self.worker("bytes")
        w.setup(checkpoint=target)
        self.assertEqual(w.process()["output"]["size"], size)
        w.close()

    def test_setup_loads_the_checkpoint_file_after_the_setup_hook(self):
        target = self.path("ckpt-20.bin")
        with open(target, "wb") as f:
            f.write(b"\x09abc")
        w = self.worker("bytes")
        # the file wins over bytes an older daemon would send
        w.setup(checkpoint=target, state=b"\x01")
        out = w.process()["output"]
        self.assertEqual((out["size"], out["first"], out["loads"]), (4, 9, 1))
        self.assertEqual(out["setup_first"], 1)
        w.close()

    def test_an_empty_checkpoint_file_loads_nothing(self):
        target = self.path("empty.bin")
        open(target, "wb").close()
        for form in ("bytes", "files"):
            w = self.worker(form)
            w.setup(checkpoint=target)
            self.assertEqual(w.process()["output"]["loads"], 0)
            w.close()

    def test_save_and_load_get_the_paths(self):
        w = self.worker("files", state_size=6)
        w.setup()
        target = self.path("ckpt-30.part")
        self.assertEqual(w.ok("state_dict", {"path": target}), {"saved": True})
        self.assertEqual(os.path.getsize(target), 6)
        w.close()
        w = self.worker("files")
        w.setup(checkpoint=target)
        out = w.process()["output"]
        self.assertEqual((out["size"], out["loads"]), (6, 1))
        w.close()

    def test_a_save_that_writes_no_file_is_an_error(self):
        w = self.worker("files", env={"SAVE_NOTHING": "1"})
        w.setup()
        target = self.path("ckpt-40.part")
        err, _ = w.call("state_dict", {"path": target})
        self.assertEqual(err["code"], INTERNAL)
        self.assertIn("save('%s') returned without writing that file" % target, err["message"])
        w.close()


class TestCheckpointBytes(ModuleCase):
    """A daemon that names no file: the state travels in the frame."""

    def test_state_dict_without_path_answers_the_bytes(self):
        for form in ("bytes", "files"):
            w = self.worker(form, state_size=4)
            w.setup()
            self.assertEqual(w.ok("state_dict", {}), {"state": bytes([7]) * 4})
            w.close()

    def test_setup_state_reaches_load_state_dict_and_load(self):
        for form in ("bytes", "files"):
            w = self.worker(form)
            w.setup(state=b"\x05\x06")
            out = w.process()["output"]
            self.assertEqual((out["size"], out["first"], out["loads"]), (2, 5, 1))
            w.close()

    def test_no_state_on_a_fresh_start(self):
        w = self.worker("files")
        w.setup()
        self.assertEqual(w.process()["output"]["loads"], 0)
        w.close()


class TestServeArguments(unittest.TestCase):
    def test_bytes_and_file_forms_together_are_refused(self):
        f = lambda *a: None  # noqa: E731
        for kw in ({"state_dict": f, "save": f}, {"load_state_dict": f, "load": f},
                   {"state_dict": f, "load": f}):
            with self.assertRaises(TypeError) as e:
                ignite_worker.serve(f, **kw)
            self.assertIn("state_dict/load_state_dict (bytes) or save/load", str(e.exception))


# A worker for the TCP transport: its process answers the next number of
# Python's random generator, seeded once when it starts, so the test sees
# whether reconnecting (its backoff's jitter) touched the training's RNG.
DIAL_WORKER = r'''
import random
from ignite_worker import serve

random.seed(1)


def process(engine, batch):
    return {"r": random.random(), "run": engine.state.run}


serve(process)
'''
SECRET = bytes(range(32))


class TestFraming(unittest.TestCase):
    """The channel reads what is there in one call and keeps what follows
    a frame for the next: frames split anywhere, several in one read, and
    one larger than a read all come out whole and in order."""

    class Scripted(ignite_worker._Channel):
        def __init__(self, chunks):
            super().__init__()
            self.chunks = list(chunks)
            self.sent = []

        def _recv(self, n):
            if not self.chunks:
                return b""
            c = self.chunks.pop(0)
            if len(c) > n:
                self.chunks.insert(0, c[n:])
                c = c[:n]
            return c

        def _send(self, data):
            self.sent.append(data)

    @staticmethod
    def frame(obj):
        body = msgpack.packb(obj, use_bin_type=True)
        return struct.pack(">I", len(body)) + body

    def test_split_joined_and_large_frames(self):
        big = os.urandom(3 * ignite_worker.READ_CHUNK + 5)
        msgs = [[0, 1, "a", None], [0, 2, "b", {"x": 1}], [0, 3, "c", big], [0, 4, "d", []]]
        stream = b"".join(self.frame(m) for m in msgs)
        for cuts in ([], [1], [3, 40], [len(stream) - 2], list(range(1, 60, 7))):
            edges = [0] + cuts + [len(stream)]
            ch = self.Scripted(stream[a:b] for a, b in zip(edges, edges[1:]))
            got = [ch.read() for _ in msgs]
            self.assertEqual(got, msgs, cuts)
            self.assertIsNone(ch.read())

    def test_reply_is_one_frame(self):
        ch = self.Scripted([])
        ch.reply(7, {"output": {}})
        self.assertEqual(ch.sent, [self.frame([1, 7, None, {"output": {}}])])


class TestDialBack(unittest.TestCase):
    """IGNITE_WORKER_ADDR set: serve() dials the daemon, says hello with the
    run and its secret, and dials again with backoff when the connection
    drops (docs/PROTOCOL.md, "Workers that dial back")."""

    def setUp(self):
        self.daemon = FakeDaemon()
        self.addCleanup(self.daemon.close)

    def start(self, **env):
        e = dict(os.environ, PYTHONPATH=os.path.join(SRC, "python"),
                 IGNITE_WORKER_ADDR="127.0.0.1:%d" % self.daemon.port, IGNITE_WORKER_RUN="42",
                 IGNITE_WORKER_SECRET=SECRET.hex(), IGNITE_WORKER_RETRY_S="30")
        e.update(env)
        proc = subprocess.Popen([PY, "-c", DIAL_WORKER], stdin=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=e)
        self.addCleanup(lambda: proc.poll() is not None or (proc.kill(), proc.wait()))
        self.addCleanup(proc.stderr.close)
        return proc

    def serve_one(self, conn, run=42):
        """setup and one process on conn: the worker's random number."""
        conn.call("setup", {"run": run, "params": {}, "state": None, "seed": 1,
                          "epoch_length": 10, "max_epochs": 1})
        return conn.call("process", {"epoch": 1, "iteration": 1, "batch": None})["output"]

    def finish(self, proc, conn):
        self.assertIsNone(conn.call("shutdown", {}))
        conn.close()
        self.assertEqual(proc.wait(30), 0)
        return proc.stderr.read().decode()

    def test_hello_presents_the_run_and_its_secret(self):
        proc = self.start()
        conn = self.daemon.accept()
        self.assertEqual(conn.hello(),
                         [0, 1, "hello", {"versions": [1], "run": 42, "secret": SECRET}])
        out = self.serve_one(conn)
        self.assertEqual(out["run"], 42)
        self.assertEqual(out["r"], random.Random(1).random())
        self.finish(proc, conn)

    def test_a_dropped_connection_is_dialled_again(self):
        """The daemon sends setup again on the new connection; the
        training's random numbers go on where they were (the backoff has a
        generator of its own)."""
        want = random.Random(1)
        proc = self.start()
        conn = self.daemon.accept()
        conn.hello()
        self.assertEqual(self.serve_one(conn)["r"], want.random())
        conn.close()
        # Its first try dropped too: the worker waits, with jitter.
        self.daemon.accept().close()
        conn = self.daemon.accept()
        self.assertEqual(conn.hello()[2], "hello")
        self.assertEqual(self.serve_one(conn)["r"], want.random())
        err = self.finish(proc, conn)
        self.assertIn("connection to ignited at 127.0.0.1:%d lost" % self.daemon.port, err)

    def test_backoff_doubles_while_the_daemon_drops_the_hello(self):
        """A daemon that drops the connection before answering (as it does
        a wrong secret) or answers CONFLICT (a worker of the run is still
        connected) is dialled again, each wait about twice the last."""
        proc = self.start()
        times = []
        for i in range(5):
            conn = self.daemon.accept()
            times.append(time.monotonic())
            if i == 2:
                conn.hello({"code": 6, "message": "run 42 has a worker connected"})
            else:
                conn.read()
            conn.close()
        conn = self.daemon.accept()
        conn.hello()
        self.serve_one(conn)
        err = self.finish(proc, conn)
        gaps = [b - a for a, b in zip(times, times[1:])]
        # Waits of 0.05-0.1, 0.1-0.2, 0.2-0.4 and 0.4-0.8 s (jitter: half
        # to all of a doubling step).
        self.assertGreater(gaps[0], 0.04, gaps)
        self.assertGreater(gaps[3], 0.39, gaps)
        self.assertIn("after 6 attempts", err)

    def test_a_refusal_ends_the_worker(self):
        proc = self.start()
        conn = self.daemon.accept()
        conn.hello({"code": 4, "message": "no run 42"})
        conn.close()
        self.assertEqual(proc.wait(30), 1)
        self.assertIn("ignited at 127.0.0.1:%d refused run 42's worker: no run 42" %
                      self.daemon.port, proc.stderr.read().decode())

    def test_no_daemon_within_the_retry_window(self):
        self.daemon.close()  # nothing listens on the port any more
        t0 = time.monotonic()
        proc = self.start(IGNITE_WORKER_RETRY_S="1")
        self.assertEqual(proc.wait(30), 1)
        self.assertGreaterEqual(time.monotonic() - t0, 1)
        err = proc.stderr.read().decode()
        self.assertIn("no connection to ignited at 127.0.0.1:%d for 1 s" % self.daemon.port, err)
        self.assertIn("Connection refused", err)

    def test_bad_settings_are_refused_before_dialling(self):
        cases = [
            ({"IGNITE_WORKER_SECRET": "abc"},
             "IGNITE_WORKER_SECRET: expected 64 hex digits (the run's secret, which ignited "
             "gives the job), got 3 characters"),
            ({"IGNITE_WORKER_SECRET": "zz" * 32}, "IGNITE_WORKER_SECRET: expected 64 hex"),
            ({"IGNITE_WORKER_ADDR": "localhost"}, "IGNITE_WORKER_ADDR='localhost': expected "
             "HOST:PORT"),
            ({"IGNITE_WORKER_ADDR": "h:99999"}, "IGNITE_WORKER_ADDR='h:99999'"),
            ({"IGNITE_WORKER_RUN": ""}, "IGNITE_WORKER_RUN='': expected the run's id"),
            ({"IGNITE_WORKER_RETRY_S": "soon"}, "IGNITE_WORKER_RETRY_S='soon': expected seconds"),
        ]
        self.daemon.lsock.settimeout(0)
        for env, message in cases:
            with self.subTest(env=env):
                proc = self.start(**env)
                self.assertEqual(proc.wait(30), 1)
                self.assertIn(message, proc.stderr.read().decode())
                with self.assertRaises(BlockingIOError):
                    self.daemon.lsock.accept()


@unittest.skipUnless(HAVE_TORCH, "python3-torch is not installed")
class TestTorchCheckpoint(unittest.TestCase):
    """Train, save at step K, load into fresh objects, carry on: the
    parameters equal an uninterrupted run's bit for bit."""

    STEPS, K = 30, 13

    def setUp(self):
        import torch
        import ignite_worker.torch as ckpt
        self.torch, self.ckpt = torch, ckpt
        self.dir = tempfile.mkdtemp(prefix="ckptpy-")
        self.addCleanup(shutil.rmtree, self.dir)

    def build(self, init_seed):
        torch, nn = self.torch, self.torch.nn
        torch.manual_seed(init_seed)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
        scaler = torch.cuda.amp.GradScaler(enabled=False)
        return model, opt, sched, scaler

    def step(self, model, opt, sched):
        import numpy
        torch = self.torch
        # every generator the helper keeps feeds the step
        x = torch.randn(32, 8) + float(numpy.random.rand()) + random.random()
        y = torch.randint(0, 3, (32,))
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sched.step()

    def test_resumed_training_is_bit_identical(self):
        import numpy
        torch = self.torch

        def seed_all():
            torch.manual_seed(5)
            numpy.random.seed(5)
            random.seed(5)

        model, opt, sched, _ = self.build(1)
        seed_all()
        for _ in range(self.STEPS):
            self.step(model, opt, sched)
        want = [p.detach().clone() for p in model.parameters()]

        model, opt, sched, scaler = self.build(1)
        seed_all()
        for _ in range(self.K):
            self.step(model, opt, sched)
        path = os.path.join(self.dir, "ckpt.pt")
        self.ckpt.save(path, model=model, optimizer=opt, scaler=scaler, scheduler=sched,
                       step=self.K)
        # the generators move on before the "crash"
        torch.rand(100), numpy.random.rand(7), random.random()

        model, opt, sched, scaler = self.build(99)  # fresh objects, other weights
        extra = self.ckpt.load(path, model=model, optimizer=opt, scaler=scaler, scheduler=sched)
        self.assertEqual(extra, {"step": self.K})
        for _ in range(self.STEPS - self.K):
            self.step(model, opt, sched)
        got = list(model.parameters())
        self.assertEqual(len(got), len(want))
        for a, b in zip(got, want):
            self.assertTrue(torch.equal(a.detach(), b), "parameters differ after resume")

    def test_loading_what_was_not_saved_says_so(self):
        model, opt, _, _ = self.build(1)
        path = os.path.join(self.dir, "model-only.pt")
        self.ckpt.save(path, model=model)
        with self.assertRaises(KeyError) as e:
            self.ckpt.load(path, model=model, optimizer=opt)
        self.assertIn("the checkpoint has no optimizer state (saved: model)", str(e.exception))


@unittest.skipUnless(HAVE_TORCH, "python3-torch is not installed")
class TestTorchExample(ModuleCase):
    """examples/workers/torch_train.py spoken to as a daemon that names
    checkpoint files does: saved at iteration K into the path given, a
    new worker set up from that file goes on bit for bit."""

    EPOCH_LENGTH, ITERATIONS, K = 6, 14, 8

    def example(self):
        return self.worker(None, argv=[PY, os.path.join(SRC, "examples", "workers",
                                                         "torch_train.py")])

    def setup(self, w, **params):
        w.ok("setup", dict({"run": 1, "params": {"width": 4}, "state": None, "seed": 2,
                            "epoch_length": self.EPOCH_LENGTH, "max_epochs": 3}, **params))

    def iterate(self, w, first, last):
        answers = []
        for i in range(first, last + 1):
            answers.append(w.process((i - 1) // self.EPOCH_LENGTH + 1, i))
        return answers

    def test_resume_from_the_file_is_bit_identical(self):
        w = self.example()
        self.setup(w)
        want = self.iterate(w, 1, self.ITERATIONS)
        w.close()
        self.assertIn("val_acc", want[self.EPOCH_LENGTH - 1]["metrics"])

        w = self.example()
        self.setup(w)
        got = self.iterate(w, 1, self.K)
        target = self.path("ckpt-%d.part" % self.K)
        self.assertEqual(w.ok("state_dict", {"path": target}), {"saved": True})
        w.proc.kill()  # a crash: the file is all there is
        w.proc.wait()

        w = self.example()
        self.setup(w, checkpoint=target)
        got += self.iterate(w, self.K + 1, self.ITERATIONS)
        w.close()
        self.assertEqual(got, want)


if __name__ == "__main__":
    unittest.main()
