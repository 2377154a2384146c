"""ignite_worker.dist: one run on several processes (torchrun, srun).

serve() uses this module by itself when the worker is one rank of
several: under torchrun (WORLD_SIZE > 1 in the environment; the process
group is then initialised here, NCCL when CUDA is there, else gloo) or
when the script initialised torch.distributed before calling serve() (as
under `srun` with several tasks).  The script is the same as for one
process:

    engine: ["python3", "-m", "torch.distributed.run", "--nproc_per_node=2",
             "--monitor_interval=0.5", ..., "train.py"]

(examples/workers/torch_ddp.py gives the options torch 1.13 needs.)

- Only rank 0 speaks to the daemon (its stdin and stdout, or the TCP
  connection it dials back).  The other ranks inherit the same stdin and
  stdout: they never touch them (stdin becomes /dev/null and stdout their
  stderr), and they never dial back.
- Rank 0 passes every request it gets to the other ranks (a broadcast of
  its msgpack bytes over a gloo group of its own, whatever backend the
  training uses), every rank calls the same handler (setup, process,
  event) with the same params, so all take the same step; rank 0 answers
  with its own result.  An exception on any rank is the answer's error
  ("rank 1: ValueError: ..."), found out with one all_reduce after each
  request (one that leaves the others waiting in a collective of the
  training's own, DDP's, shows as the request timing out instead).  A rank that cannot reach the others (one was killed) exits
  with status 1: the daemon sees the worker die, and with
  `worker.max_restarts` starts the whole group again, which resumes from
  the last committed checkpoint.
- Checkpoints: every rank saves its own state (state_dict() or
  save(path), the same functions as for one process; its RNG states
  differ from the others'), rank 0 gathers them and writes them all into
  the ONE file the daemon names, which the daemon then seals (sum, fsync,
  rename) as any other.  So a checkpoint is every rank's state or none:
  a rank that dies while saving leaves a `.part` that is never used.  On
  resume rank 0 reads that file and hands each rank its own state.  The
  file is an "IGNWRANK" container: 8 bytes of magic, version and count
  (two big-endian u32), a big-endian u64 length per rank, then the
  states in rank order.  A checkpoint of N ranks resumes only on N ranks.
  The states pass through rank 0's memory: this suits data-parallel
  training (each rank's model is the same), not states too big for one
  host's memory.
- Sharded checkpoints, for states too big for one host (FSDP,
  torch.distributed.checkpoint): the environment variable
  IGNITE_WORKER_SHARDS (the spec's worker.env) makes the daemon's path a
  directory that rank 0 creates and every rank writes into, no state
  passing through rank 0:
    rank  each rank saves its own state (state_dict() or save(path), as
          above) into PATH/rank-00000, PATH/rank-00001, ...; at setup each
          rank loads its own (as many ranks as files, or an error);
    dir   every rank calls serve()'s save(PATH) with the directory itself
          (torch.distributed.checkpoint.save_state_dict with a
          FileSystemWriter(PATH)), and load(PATH) at setup.
  Rank 0 answers only when every rank has written (an error on any rank
  fails the checkpoint).  The daemon then sums and fsyncs every file,
  writes a manifest beside them and checks it all before a resume: a
  shard damaged or missing makes the run resume from the checkpoint
  before.  The ranks must share the directory (one host, or storage the
  nodes share: the spec's checkpoint.dir).  A checkpoint is loaded as it
  was cut, whatever the variable says now.
- torchrun must not restart ranks itself (--max_restarts 0, its default)
  when the worker is on pipes: new ranks cannot take up a conversation in
  its middle.  worker.max_restarts restarts the group instead.  A worker
  that dials back may let torchrun restart it (the new rank 0 dials
  again and is set up anew).
- Under torchrun every rank dies with torchrun (PR_SET_PDEATHSIG), so
  that the daemon killing its worker (a timeout, or a worker still there
  2 s after shutdown) kills every rank, not only torchrun.

Start-up output of a rank must go to stderr: before serve() runs, stdout
is still the daemon's channel.
"""

import ctypes
import datetime
import os
import signal
import struct
import sys
import traceback

import torch
import torch.distributed as tdist

__all__ = ["Ranks", "pack", "unpack"]

MAGIC = b"IGNWRANK"
VERSION = 1
SHARDS_ENV = "IGNITE_WORKER_SHARDS"
RANK_FILE = "rank-%05d"
# Rank 0 may wait long for the daemon's next request (a reconnection
# when dialling back); the others wait as long in their broadcast.
CTRL_TIMEOUT = datetime.timedelta(days=1)
PR_SET_PDEATHSIG = 1


def pack(shards):
    """The container of every rank's state, in rank order."""
    head = MAGIC + struct.pack(">II", VERSION, len(shards))
    head += b"".join(struct.pack(">Q", len(s)) for s in shards)
    return head + b"".join(shards)


def unpack(data, ranks):
    """The states of a container, checked to be ranks' many."""
    if data[:len(MAGIC)] != MAGIC:
        raise ValueError("the checkpoint is not one of ignite_worker.dist (it was cut by a "
                         "worker of one process): resume it with one process")
    short = ValueError("the checkpoint's container is cut short or too long")
    try:
        version, count = struct.unpack_from(">II", data, len(MAGIC))
    except struct.error:
        raise short from None
    if version != VERSION:
        raise ValueError("the checkpoint's container is version %d; this ignite_worker reads %d"
                         % (version, VERSION))
    if count != ranks:
        raise ValueError("the checkpoint holds the states of %d ranks, this run has %d: resume "
                         "it with as many (torchrun --nproc_per_node, --nnodes)" % (count, ranks))
    at = len(MAGIC) + 8 + 8 * count
    try:
        sizes = struct.unpack_from(">%dQ" % count, data, len(MAGIC) + 8)
    except struct.error:
        raise short from None
    if at + sum(sizes) != len(data):
        raise short
    shards = []
    for n in sizes:
        shards.append(bytes(data[at:at + n]))
        at += n
    return shards


def _die_with_parent():
    """Be killed when torchrun is (the daemon kills only its own child)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # torchrun died before prctl
        os._exit(1)


def _lost(rank, e):
    """The group is broken (a rank died): exit, so that the daemon sees the
    worker fail and restarts it, rather than answering with an error that
    would fail the run."""
    sys.stderr.write("ignite_worker: rank %d lost the other ranks (%s: %s); exiting\n"
                     % (rank, type(e).__name__, e))
    sys.stderr.flush()
    os._exit(1)


class Ranks:
    """This process's place in the group, and the group's control traffic."""

    def __init__(self, dialling):
        env = os.environ
        under_torchrun = "TORCHELASTIC_RUN_ID" in env
        if under_torchrun and not dialling and int(env.get("TORCHELASTIC_MAX_RESTARTS") or 0):
            if env.get("RANK", "0") == "0":
                sys.stderr.write("ignite_worker: torchrun --max_restarts=%s: over pipes the "
                                 "daemon restarts the worker, not torchrun; leave torchrun's at "
                                 "0 and give the spec's worker.max_restarts\n"
                                 % env["TORCHELASTIC_MAX_RESTARTS"])
            sys.exit(1)
        if under_torchrun:
            _die_with_parent()
        self.owned = not tdist.is_initialized()
        if self.owned:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            if backend == "nccl":
                torch.cuda.set_device(int(env.get("LOCAL_RANK", "0")))
            tdist.init_process_group(backend)
        self.rank, self.size = tdist.get_rank(), tdist.get_world_size()
        # the daemon's channel is rank 0's alone
        if self.rank != 0:
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
            os.dup2(2, 1)
            sys.stdout = sys.stderr
        # requests pass over gloo whatever the training's backend (NCCL
        # wants tensors on the GPU and a stream of its own)
        self.ctrl = tdist.new_group(backend="gloo", timeout=CTRL_TIMEOUT)

    # ---- control traffic: a broken group ends the process ----------------

    def _bcast(self, body=None):
        """Rank 0's bytes on every rank."""
        try:
            n = torch.tensor([len(body) if body is not None else 0], dtype=torch.int64)
            tdist.broadcast(n, 0, group=self.ctrl)
            buf = (torch.frombuffer(bytearray(body), dtype=torch.uint8) if self.rank == 0
                   else torch.empty(int(n.item()), dtype=torch.uint8))
            if buf.numel():
                tdist.broadcast(buf, 0, group=self.ctrl)
        except RuntimeError as e:
            _lost(self.rank, e)
        return body if self.rank == 0 else buf.numpy().tobytes()

    def _failures(self, error):
        """Every rank's error message, or None when none failed."""
        try:
            flag = torch.tensor([1 if error is not None else 0], dtype=torch.int32)
            tdist.all_reduce(flag, op=tdist.ReduceOp.MAX, group=self.ctrl)
            if not flag.item():
                return None
            errors = [None] * self.size
            tdist.all_gather_object(errors, error, group=self.ctrl)
        except RuntimeError as e:
            _lost(self.rank, e)
        return errors

    def _call(self, fn, params):
        """fn(params) on this rank; an exception on any rank is raised on
        rank 0, the one that answers."""
        result, error, exc = None, None, None
        try:
            result = fn(params)
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            error, exc = "%s: %s" % (type(e).__name__, e), e
        errors = self._failures(error)
        if errors is None or self.rank != 0:
            return result
        if exc is not None and all(e is None or e == error for e in errors):
            raise exc  # rank 0's own, or one every rank raised alike
        raise RuntimeError("; ".join("rank %d: %s" % (r, e) for r, e in enumerate(errors)
                                     if e is not None))

    # ---- the request loop --------------------------------------------------

    def serve(self, methods, transport):
        """Rank 0: transport(methods) with each request passed on first;
        the others: the requests rank 0 passes on, until it stops."""
        import msgpack

        if self.rank != 0:
            while True:
                msg = msgpack.unpackb(self._bcast(), raw=False)
                if msg is None:
                    break
                self._call(methods[msg[0]], msg[1])
            self._close()
            return

        def passed_on(name, fn):
            def call(params):
                self._bcast(msgpack.packb([name, params], use_bin_type=True))
                return self._call(fn, params)
            return call

        try:
            transport({name: passed_on(name, fn) for name, fn in methods.items()})
        finally:
            self._bcast(msgpack.packb(None))
            self._close()

    def _close(self):
        """Tear the groups down together: ranks that exit with gloo's
        connections open may abort ("terminate called without an active
        exception") as the interpreter ends, and torchrun would call the
        worker failed."""
        try:
            tdist.barrier(group=self.ctrl)
            tdist.destroy_process_group(self.ctrl)
            if self.owned:
                tdist.destroy_process_group()
        except RuntimeError as e:
            _lost(self.rank, e)

    def checkpoints(self, ckpt):
        return _Shards(ckpt, self, os.environ.get(SHARDS_ENV, ""))


class _Shards:
    """A checkpoint of every rank, in the one file or (mode "rank", "dir")
    as a directory of shards: the file operations of ignite_worker's
    serve() over each rank's own (ckpt)."""

    def __init__(self, ckpt, ranks, mode):
        if mode not in ("", "rank", "dir"):
            raise ValueError("%s=%s: give rank (a file per rank), dir (serve()'s save(dir) "
                             "on every rank) or nothing (one file of every rank's state)"
                             % (SHARDS_ENV, mode))
        if mode == "dir" and getattr(ckpt, "save_fn", None) is None:
            raise ValueError("%s=dir calls serve()'s save(dir) on every rank: give serve() "
                             "save= and load=" % SHARDS_ENV)
        self.ckpt, self.ranks, self.mode = ckpt, ranks, mode

    def _made(self, path):
        """The directory path, made by rank 0 before any rank writes."""
        error = None
        if self.ranks.rank == 0:
            try:
                os.mkdir(path, 0o700)
            except OSError as e:
                error = e
        try:
            tdist.barrier(group=self.ranks.ctrl)
        except RuntimeError as e:
            _lost(self.ranks.rank, e)
        if error is not None:
            raise error

    def _save_sharded(self, path):
        # the answer waits for every rank's save: serve()'s all_reduce
        # after each request
        self._made(path)
        if self.mode == "dir":
            self.ckpt.save_fn(path)
        else:
            self.ckpt.save(os.path.join(path, RANK_FILE % self.ranks.rank))

    def _load_sharded(self, path):
        if not os.path.exists(os.path.join(path, RANK_FILE % 0)):
            if getattr(self.ckpt, "load_fn", None) is None:
                raise ValueError("%s holds no rank-NNNNN files: a directory of "
                                 "torch.distributed.checkpoint's is loaded by serve()'s "
                                 "load(dir); give save= and load=" % path)
            self.ckpt.load_fn(path)
            return
        count = sum(1 for n in os.listdir(path) if n.startswith("rank-"))
        if count != self.ranks.size:
            raise ValueError("the checkpoint holds the shards of %d ranks, this run has %d: "
                             "resume it with as many (torchrun --nproc_per_node, --nnodes)"
                             % (count, self.ranks.size))
        self.ckpt.load(os.path.join(path, RANK_FILE % self.ranks.rank))

    def _gathered(self):
        """Every rank's state on rank 0, None on the others.  A rank whose
        save fails still takes part in the gather (else the others would
        wait in it); rank 0 then raises its error."""
        mine, error = None, None
        try:
            mine = self.ckpt.state()
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            error = "%s: %s" % (type(e).__name__, e)
        every = [None] * self.ranks.size if self.ranks.rank == 0 else None
        tdist.gather_object((mine, error), every, dst=0, group=self.ranks.ctrl)
        if every is None:
            return None
        errors = ["rank %d: %s" % (r, e) for r, (_, e) in enumerate(every) if e is not None]
        if errors:
            raise RuntimeError("; ".join(errors))
        return [state for state, _ in every]

    def state(self):
        shards = self._gathered()
        return pack(shards) if shards is not None else b""

    def save(self, path):
        if self.mode:
            self._save_sharded(path)
            return
        shards = self._gathered()
        if shards is None:
            return
        from ignite_worker import _write_file

        _write_file(path, pack(shards))

    def restore(self, data):
        # every rank has the params, and so the container, itself
        if data:
            self.ckpt.restore(unpack(data, self.ranks.size)[self.ranks.rank])

    def load(self, path):
        # as it was cut: a sharded checkpoint is a directory
        if os.path.isdir(path):
            self._load_sharded(path)
            return
        shards, error = None, None
        if self.ranks.rank == 0:
            from ignite_worker import _read_file

            # whatever fails, the others must hear of it in the scatter
            try:
                shards = unpack(_read_file(path), self.ranks.size)
            except Exception as e:
                error = "%s: %s" % (path, e)
        out = [None]
        tdist.scatter_object_list(out, [(s, error) for s in shards or [None] * self.ranks.size]
                                  if self.ranks.rank == 0 else None, src=0, group=self.ranks.ctrl)
        shard, error = out[0]
        if error is not None:
            raise ValueError(error)
        self.ckpt.restore(shard)
