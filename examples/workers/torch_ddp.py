#!/usr/bin/python3
"""torch_train.py's CNN trained with DistributedDataParallel on several
processes (torchrun), as one ignited run: adapt this file.

Only rank 0 speaks to the daemon; ignite_worker (its dist module) passes
each request on to the other ranks, so every rank takes the same step on
its own slice of the batch (rank r takes rows r, r + N, ...), and DDP
averages the gradients.  Each rank checkpoints its own state with
ignite_worker.torch (model, optimizer and its own RNG states: dropout
draws differently on each rank); rank 0 puts them all into the one file
the daemon names, so a run resumed after kill -9 of the daemon or of a
rank goes on bit for bit.  On CPU it uses gloo; with CUDA, NCCL and one
GPU a rank (the daemon's CUDA_VISIBLE_DEVICES: give the run as many
`resources.gpus` as ranks).

Spec:
    {"engine": ["/usr/bin/python3", "-m", "torch.distributed.run", "--rdzv_backend=c10d",
                "--rdzv_endpoint=localhost:0", "--nnodes=1", "--nproc_per_node=2",
                "--monitor_interval=0.5", "--redirects=2", "--tee=2",
                "/path/to/examples/workers/torch_ddp.py"],
     "data": "worker", "epoch_length": 45, "max_epochs": 10, "seed": 1,
     "params": {"lr": 0.05, "batch_size": 32, "width": 32},
     "metrics": [{"name": "loss", "kind": "loss", "field": "loss"}],
     "checkpoint": {"every": 100},
     "worker": {"env": {"PYTHONPATH": "/path/to/ignite/python", "OMP_NUM_THREADS": "1"},
                "max_restarts": 3}}

Leave torchrun's own --max_restarts at 0: worker.max_restarts restarts
the whole group.  The rendezvous on a free port (--standalone would take
29400 for every run) and --redirects/--tee are for torch 1.13 as Debian
12 ships it (docs/PROTOCOL.md, "Workers of several processes").  params as torch_train.py's; batch_size is the global
batch, split among the ranks.  At each epoch's end the metrics are the
validation accuracy (val_acc) and weights_crc, a CRC-32 of the weights,
which every rank must hold alike (checked: a rank that drifted fails the
run).
"""
import zlib

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ignite_worker import serve
from torch_train import Trainer


class DDPTrainer(Trainer):
    """torch_train's Trainer, its model wrapped in DDP, its batch split."""

    def __init__(self, params, seed, epoch_length=None):
        super().__init__(params, seed, epoch_length)
        self.rank, self.size = dist.get_rank(), dist.get_world_size()
        cuda = self.device.type == "cuda"
        self.ddp = DistributedDataParallel(
            self.model, device_ids=[torch.cuda.current_device()] if cuda else None)
        # the same weights everywhere (DDP copied rank 0's), but each rank
        # its own dropout
        torch.manual_seed(seed * 1000003 + self.rank)

    def step(self, epoch, iteration):
        x, y = self.batch(epoch, iteration)
        x, y = x[self.rank::self.size], y[self.rank::self.size]
        self.ddp.train()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            loss = nn.functional.cross_entropy(self.ddp(x), y)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        # the loss of the whole batch (the slices are of equal size)
        loss = loss.detach().reshape(1)
        dist.all_reduce(loss)
        return loss.item() / self.size

    def weights_crc(self):
        """A CRC-32 of the weights, the same on every rank or an error."""
        crc = 0
        for p in self.model.parameters():
            crc = zlib.crc32(p.detach().cpu().numpy().tobytes(), crc)
        every = [None] * self.size
        dist.all_gather_object(every, crc)
        if len(set(every)) != 1:
            raise RuntimeError("the ranks' weights differ: CRCs %s" % every)
        return crc


trainer = None


def setup(engine):
    global trainer
    s = engine.state
    trainer = DDPTrainer(s.params, s.seed or 0, s.epoch_length)


def process(engine, batch):
    s = engine.state
    loss = trainer.step(s.epoch, s.iteration)
    if s.iteration % trainer.epoch_length == 0:
        s.metrics["val_acc"] = trainer.evaluate()
        s.metrics["weights_crc"] = float(trainer.weights_crc())
    return {"loss": loss}


if __name__ == "__main__":
    serve(process, setup=setup, save=lambda path: trainer.save(path),
          load=lambda path: trainer.load(path))
