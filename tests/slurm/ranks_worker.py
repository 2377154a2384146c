"""A data-parallel exec worker for the Slurm tests, of one process or of
several ranks: srun's tasks (the group initialised here from SLURM_PROCID,
SLURM_NTASKS, MASTER_ADDR and MASTER_PORT, as a script under srun does) or
torchrun's (serve() initialises it).

A linear model trained by gradient descent on batches drawn from the seed
and the iteration.  Each batch is cut in two halves: a rank computes the
gradient of its own half and the group sums the two (all_reduce); one
process computes both halves and adds them itself.  Two floats add alike
in either order, so one process and two ranks take the same steps bit for
bit, and their histories are the same.  Each iteration takes
RANKS_WORKER_DELAY seconds (0.05 by default), so that a test can reach
into a running job."""
import io
import os
import sys
import time

import torch

import ignite_worker

DELAY = float(os.environ.get("RANKS_WORKER_DELAY", "0.05"))
HALVES = 2
BATCH, FEATURES, LR = 8, 4, 0.05
state = {}


def srun_group():
    """The process group of srun's tasks, when this is one of several."""
    if int(os.environ.get("SLURM_NTASKS", "1")) < 2 or "SLURM_STEP_ID" not in os.environ \
            or "TORCHELASTIC_RUN_ID" in os.environ:
        return
    import torch.distributed as dist

    os.environ.setdefault("MASTER_ADDR", os.environ.get("SLURM_LAUNCH_NODE_IPADDR", "127.0.0.1"))
    # a port of the job's own: a requeued job (same id) binds it again
    os.environ.setdefault("MASTER_PORT", str(20000 + int(os.environ["SLURM_JOB_ID"]) % 20000))
    dist.init_process_group("gloo", rank=int(os.environ["SLURM_PROCID"]),
                            world_size=int(os.environ["SLURM_NTASKS"]))


def ranks():
    """(this rank, the ranks): (0, 1) for one process."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def setup(engine):
    # here, not before serve(): under torchrun serve() makes the group
    print("ranks_worker: rank %d of %d" % ranks(), file=sys.stderr, flush=True)
    state["w"] = torch.zeros(FEATURES, 1, dtype=torch.float64)


def half(engine, k):
    """The gradient and the loss of half k of this iteration's batch."""
    g = torch.Generator().manual_seed((engine.state.seed or 0) * 1000003 + engine.state.iteration)
    x = torch.randn(BATCH, FEATURES, generator=g, dtype=torch.float64)
    y = x.sum(dim=1, keepdim=True) + 0.1 * torch.randn(BATCH, 1, generator=g, dtype=torch.float64)
    n = BATCH // HALVES
    x, y = x[k * n:(k + 1) * n], y[k * n:(k + 1) * n]
    err = x @ state["w"] - y
    return torch.cat([(x.t() @ err).flatten() * (2.0 / n), (err * err).mean().reshape(1)])


def process(engine, batch):
    time.sleep(DELAY)
    rank, size = ranks()
    if size == 1:
        both = half(engine, 0) + half(engine, 1)
    elif size == HALVES:
        import torch.distributed as dist

        both = half(engine, rank)
        dist.all_reduce(both)
    else:
        raise ValueError("this worker runs on 1 or %d ranks, not %d" % (HALVES, size))
    both = both / HALVES
    state["w"] -= LR * both[:FEATURES].reshape(FEATURES, 1)
    return {"loss": float(both[FEATURES]), "w0": float(state["w"][0, 0])}


def state_dict():
    buf = io.BytesIO()
    torch.save(state["w"], buf)
    return buf.getvalue()


def load_state_dict(data):
    state["w"] = torch.load(io.BytesIO(data))


if __name__ == "__main__":
    torch.set_num_threads(1)
    srun_group()
    ignite_worker.serve(process, state_dict, load_state_dict, setup=setup)
