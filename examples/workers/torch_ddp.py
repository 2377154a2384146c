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
rank goes on bit for bit.  With IGNITE_WORKER_SHARDS=rank in the spec's
worker.env each rank writes its own file into a directory instead (for
states too big for rank 0's memory).  On CPU it uses gloo; with CUDA, NCCL and one
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
12 ships it (docs/PROTOCOL.md, "Workers of several processes").  params
as torch_train.py's; batch_size is the global batch, split among the
ranks.  At each epoch's end the metrics are the
validation accuracy (val_acc) and weights_crc, a CRC-32 of the weights,
which every rank must hold alike (checked: a rank that drifted fails the
run).
"""
import zlib

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from torch_train import Trainer, main


class DDPTrainer(Trainer):
    """torch_train's Trainer, its model wrapped in DDP, its batch split."""

    def __init__(self, params, seed, epoch_length=None):
        super().__init__(params, seed, epoch_length)
        self.rank, self.size = dist.get_rank(), dist.get_world_size()
        cuda = self.device.type == "cuda"
        self.net = DistributedDataParallel(
            self.model, device_ids=[torch.cuda.current_device()] if cuda else None)
        # the same weights everywhere (DDP copied rank 0's), but each rank
        # its own dropout
        torch.manual_seed(seed * 1000003 + self.rank)

    def batch(self, epoch, iteration):
        """This rank's rows of the batch: r, r + N, ..."""
        x, y = super().batch(epoch, iteration)
        return x[self.rank::self.size], y[self.rank::self.size]

    def step(self, epoch, iteration):
        """The step on this rank's rows (DDP averages the gradients); the
        loss of the whole batch (the slices are of equal size)."""
        loss = torch.tensor([super().step(epoch, iteration)], dtype=torch.float64)
        dist.all_reduce(loss)
        return loss.item() / self.size

    def epoch_metrics(self):
        """val_acc, and a CRC-32 of the weights, the same on every rank or
        an error."""
        crc = 0
        for p in self.model.parameters():
            crc = zlib.crc32(p.detach().cpu().numpy().tobytes(), crc)
        every = [None] * self.size
        dist.all_gather_object(every, crc)
        if len(set(every)) != 1:
            raise RuntimeError("the ranks' weights differ: CRCs %s" % every)
        return dict(super().epoch_metrics(), weights_crc=float(crc))


if __name__ == "__main__":
    main(DDPTrainer)
