import gzip
import pickle

import numpy as np
import pytest

from neurocircuits.data import mnist
from neurocircuits.errors import CorruptDataError, DataNotFoundError


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
    with pytest.raises(CorruptDataError, match="expected \\(50000, 784\\)"):
        mnist(path=bad)
