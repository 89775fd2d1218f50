"""Seeding. Prefer explicit generators; :func:`seeded` restores global RNG state on exit."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch


def numpy_rng(seed: int, *stream: int) -> np.random.Generator:
    """An independent NumPy generator for ``seed`` and optional sub-stream ids."""
    return np.random.default_rng([seed, *stream])


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed Python, NumPy and torch (CPU and CUDA) inside the block, then restore their state.

    Module constructors such as ``nn.Linear`` draw from the global torch RNG; wrapping
    model construction in ``with seeded(s):`` makes it reproducible without leaving
    global state changed behind.
    """
    py, npst, tst = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(py)
        np.random.set_state(npst)
        torch.random.set_rng_state(tst)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
