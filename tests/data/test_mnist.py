import gzip
import hashlib
import pickle

import numpy as np
import torch
import pytest

from neurocircuits.data import mnist
from neurocircuits.errors import CorruptDataError, DataNotFoundError, ValidationError


def test_packaged_mnist_standard_split():
    d = mnist()
    assert d.train_x.shape == (50000, 784) and d.val_x.shape == (10000, 784) and d.test_x.shape == (10000, 784)
    assert float(d.train_x.min()) == 0.0 and float(d.train_x.max()) <= 1.0
    assert d.test_y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the classic first test labels
    assert sorted(set(d.train_y.tolist())) == list(range(10))
    assert d.images("val").shape == (10000, 1, 28, 28)
    s = d.subset(100, 10, 20)
    assert s.train_x.shape[0] == 100 and s.test_y.shape[0] == 20


def test_local_path_and_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="no MNIST file"):
        mnist(path=tmp_path / "nope.pkl.gz")
    bad = tmp_path / "mnist.pkl.gz"
    bad.write_bytes(b"garbage")
    with pytest.raises(CorruptDataError):
        mnist(path=tmp_path)
    wrong = ((np.zeros((10, 784)), np.zeros(10)),) * 3
    with gzip.open(bad, "wb") as fh:
        pickle.dump(wrong, fh)
    with pytest.raises(CorruptDataError, match="not unpickled"):
        mnist(path=bad)
    digest = hashlib.sha256(bad.read_bytes()).hexdigest()
    with pytest.raises(CorruptDataError, match="expected \\(50000, 784\\)"):
        mnist(path=bad, sha256=digest)  # a trusted pickle is read, then its shapes are checked


class _Payload:
    """Unpickling this object would create a file: the loader must refuse before unpickling."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_unknown_pickle_is_refused_before_unpickling(tmp_path):
    marker = tmp_path / "code-ran"
    bad = tmp_path / "evil.pkl.gz"
    with gzip.open(bad, "wb") as fh:
        pickle.dump(_Payload(marker), fh)
    with pytest.raises(CorruptDataError, match="SHA-256 .* not the expected .* not unpickled"):
        mnist(path=bad)
    assert not marker.exists()


def test_npz_is_read_without_pickle(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {f"{s}_x": rng.integers(0, 256, (n, 784), dtype=np.uint8) for s, n in (("train", 5), ("val", 3), ("test", 2))}
    arrays |= {f"{s}_y": np.arange(n) % 10 for s, n in (("train", 5), ("val", 3), ("test", 2))}
    np.savez(tmp_path / "m.npz", **arrays)
    d = mnist(path=tmp_path / "m.npz")
    assert d.train_x.shape == (5, 784) and d.train_x.dtype == torch.float32
    assert torch.allclose(d.val_x, torch.from_numpy(arrays["val_x"]).float() / 255)
    assert d.test_y.tolist() == [0, 1]
    np.savez(tmp_path / "short.npz", train_x=arrays["train_x"])
    with pytest.raises(CorruptDataError, match="lacks the arrays"):
        mnist(path=tmp_path / "short.npz")
    with pytest.raises(ValidationError, match="split must be"):
        d.images("validation")  # type: ignore[arg-type]
