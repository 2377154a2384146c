#!/usr/bin/python3
"""A PyTorch model trained as an ignited exec worker: adapt this file.

The worker owns its data: a DataLoader over the 8x8 digits on disk (the
CSV python3-sklearn ships; `path` names another of 64 pixel columns, 0-16,
then the label), a small CNN in float32 on CUDA when there is one, else
on the CPU, optionally with automatic mixed precision.  It reports the
loss of each iteration as its output and the validation accuracy as the
metric `val_acc` at each epoch's end, and checkpoints with torch.save
(ignite_worker.torch: model, optimizer, AMP scaler and RNG states) into the
file the daemon names, so that a run resumed after a crash goes on
exactly where it was.

Spec:
    {"engine": "exec:/usr/bin/python3 /path/to/torch_train.py",
     "data": "worker", "epoch_length": 45, "max_epochs": 10, "seed": 1,
     "params": {"lr": 0.05, "batch_size": 32, "width": 32, "amp": false},
     "metrics": [{"name": "loss", "kind": "loss", "field": "loss"}],
     "checkpoint": {"every": 100},
     "worker": {"env": {"PYTHONPATH": "/path/to/ignite/python"}, "max_restarts": 3}}

epoch_length is the batches an epoch takes (45 of 32 covers the 1438
training digits once; more draws them again in a new order).  params:
lr, momentum (0.9), batch_size (32), width (32: channels of the first
convolution), amp (false), path (the CSV, .gz read as such).

The order of the batches is a function of (seed, epoch) and each batch is
drawn by its place in the epoch, so a run resumed at any iteration gets
the batches the uninterrupted run got; with the RNG states restored by
ignite_worker.torch.load, its parameters are bit-identical on the CPU.
"""
import csv
import gzip

import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler, TensorDataset

import ignite_worker.torch as checkpoint
from ignite_worker import serve

DIGITS = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
VAL_FRACTION = 0.2


def read_digits(path):
    """Images (N, 1, 8, 8) scaled to [0, 1] and labels (N,)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        rows = [[float(v) for v in row] for row in csv.reader(f) if row]
    data = torch.tensor(rows, dtype=torch.float32)
    return (data[:, :64] / 16.0).reshape(-1, 1, 8, 8), data[:, 64].long()


class EpochBatches(Sampler):
    """The batches of one epoch, from any of them on: a fixed order per
    (seed, epoch), drawn afresh when the epoch is longer than the data."""

    def __init__(self, n, batch_size, epoch_length, seed):
        self.n, self.batch_size, self.epoch_length, self.seed = n, batch_size, epoch_length, seed
        self.epoch, self.first = 1, 0

    def start(self, epoch, first):
        self.epoch, self.first = epoch, first

    def __iter__(self):
        g = torch.Generator()
        g.manual_seed(self.seed * 1000003 + self.epoch)
        need = self.epoch_length * self.batch_size
        order = torch.cat([torch.randperm(self.n, generator=g)
                           for _ in range(-(-need // self.n))])
        for b in range(self.first, self.epoch_length):
            yield order[b * self.batch_size:(b + 1) * self.batch_size].tolist()

    def __len__(self):
        return self.epoch_length - self.first


def network(width):
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
        nn.Linear(2 * width * 16, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, 10))


class Trainer:
    """Everything one run trains with, built from the spec's params."""

    def __init__(self, params, seed, epoch_length=None):
        p = params
        cuda = torch.cuda.is_available()
        self.device = torch.device("cuda" if cuda else "cpu")
        self.amp = bool(p.get("amp", False))
        # bfloat16 is what the CPU's autocast supports
        self.amp_dtype = torch.float16 if cuda else torch.bfloat16
        batch_size = int(p.get("batch_size", 32))

        x, y = read_digits(str(p.get("path", DIGITS)))
        split = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
        n_val = int(len(x) * VAL_FRACTION)
        val, train = split[:n_val], split[n_val:]
        self.epoch_length = epoch_length or -(-len(train) // batch_size)
        self.batches = EpochBatches(len(train), batch_size, self.epoch_length, seed)
        # Each loader has a generator of its own: an iterator draws a seed
        # from it when made, which from the global one would shift dropout's
        # numbers in a run resumed at another point than an epoch's start.
        self.loader = DataLoader(TensorDataset(x[train], y[train]), batch_sampler=self.batches,
                                 pin_memory=cuda, generator=torch.Generator())
        self.val = DataLoader(TensorDataset(x[val], y[val]), batch_size=512,
                              generator=torch.Generator())
        self.batch_iter, self.next_at = None, None

        torch.manual_seed(seed)
        self.model = network(int(p.get("width", 32))).to(self.device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=float(p.get("lr", 0.05)),
                                         momentum=float(p.get("momentum", 0.9)))
        self.scaler = torch.cuda.amp.GradScaler(enabled=self.amp and cuda)
        # what the forward pass goes through (a subclass wraps the model)
        self.net = self.model

    def batch(self, epoch, iteration):
        """The batch of the engine's iteration (counted over the run)."""
        if self.next_at != (epoch, iteration):
            self.batches.start(epoch, (iteration - 1) % self.epoch_length)
            self.batch_iter = iter(self.loader)
        self.next_at = (epoch, iteration + 1)
        x, y = next(self.batch_iter)
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def step(self, epoch, iteration):
        """One optimizer step (Ignite's process_function); the loss."""
        x, y = self.batch(epoch, iteration)
        self.net.train()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            loss = nn.functional.cross_entropy(self.net(x), y)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.item()

    @torch.no_grad()
    def evaluate(self):
        """Accuracy on the validation digits."""
        self.model.eval()
        right = total = 0
        for x, y in self.val:
            x, y = x.to(self.device), y.to(self.device)
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
                right += (self.model(x).argmax(1) == y).sum().item()
            total += len(y)
        return right / total

    def save(self, path):
        checkpoint.save(path, model=self.model, optimizer=self.optimizer, scaler=self.scaler)

    def load(self, path):
        checkpoint.load(path, model=self.model, optimizer=self.optimizer, scaler=self.scaler)


    def epoch_metrics(self):
        """The metrics at an epoch's end."""
        return {"val_acc": self.evaluate()}


def main(make=Trainer):
    """Serve the daemon a trainer make(params, seed, epoch_length) builds
    at setup."""
    trainer = None

    def setup(engine):
        nonlocal trainer
        s = engine.state
        trainer = make(s.params, s.seed or 0, s.epoch_length)

    def process(engine, batch):
        s = engine.state
        loss = trainer.step(s.epoch, s.iteration)
        if s.iteration % trainer.epoch_length == 0:
            s.metrics.update(trainer.epoch_metrics())
        return {"loss": loss}

    serve(process, setup=setup, save=lambda path: trainer.save(path),
          load=lambda path: trainer.load(path))


if __name__ == "__main__":
    main()
