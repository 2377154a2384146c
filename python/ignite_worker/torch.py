"""ignite_worker.torch: checkpoints of a PyTorch training loop, for
serve(process, save=..., load=...).

    from ignite_worker import serve
    import ignite_worker.torch as ckpt

    serve(process,
          save=lambda path: ckpt.save(path, model=model, optimizer=opt),
          load=lambda path: ckpt.load(path, model=model, optimizer=opt))

save() keeps the state_dicts of what it is given (model, optimizer, AMP
GradScaler, LR scheduler; any other keyword as it is) and the random
number generators' states: torch's CPU generator, every CUDA device's when
CUDA is available, numpy's global one when numpy is importable, and
Python's random.  load() puts them all back, so that training resumed from
a checkpoint draws the same numbers (dropout, shuffling, initialisation)
as an uninterrupted run: on CPU the parameters come out bit-identical.

Only this module needs torch; `import ignite_worker` does not.
"""

import os
import random

import torch

__all__ = ["save", "load"]

_OBJECTS = ("model", "optimizer", "scaler", "scheduler")


def _rng_states():
    states = {"torch": torch.get_rng_state(), "random": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    try:
        import numpy
    except ImportError:
        pass
    else:
        states["numpy"] = numpy.random.get_state()
    return states


def _set_rng_states(states):
    torch.set_rng_state(states["torch"])
    random.setstate(states["random"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    if "numpy" in states:
        import numpy
        numpy.random.set_state(states["numpy"])


def save(path, model=None, optimizer=None, scaler=None, scheduler=None, **extra):
    """Write a checkpoint to path (torch.save), on disk when this returns."""
    given = dict(zip(_OBJECTS, (model, optimizer, scaler, scheduler)))
    ckpt = {k: v.state_dict() for k, v in given.items() if v is not None}
    ckpt["rng"] = _rng_states()
    ckpt["extra"] = extra
    with open(path, "wb") as f:
        torch.save(ckpt, f)
        f.flush()
        os.fsync(f.fileno())


def load(path, model=None, optimizer=None, scaler=None, scheduler=None, map_location="cpu"):
    """Load the checkpoint at path into the objects given and restore the
    RNG states; returns the extra keywords save() was given (a dict).
    Tensors are read to map_location first, then copied where the model's
    and optimizer's own are (a checkpoint cut on a GPU loads on a CPU)."""
    # the file is the run owner's own, written by save(): it holds Python
    # objects (RNG states, extra) that weights_only would refuse
    ckpt = torch.load(path, map_location=map_location, weights_only=False)
    given = dict(zip(_OBJECTS, (model, optimizer, scaler, scheduler)))
    for name, obj in given.items():
        if obj is None:
            continue
        if name not in ckpt:
            raise KeyError("%s: the checkpoint has no %s state (saved: %s)"
                           % (path, name, ", ".join(k for k in _OBJECTS if k in ckpt) or "none"))
        obj.load_state_dict(ckpt[name])
    _set_rng_states(ckpt["rng"])
    return ckpt["extra"]
