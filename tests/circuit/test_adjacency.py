"""Connectome adjacency over a neuron list, and degree-preserving shuffles of a matrix."""

from __future__ import annotations

import numpy as np
import pytest

from neurocircuits.circuit import connectome_adjacency, from_connectome, shuffled_adjacency
from neurocircuits.errors import ValidationError


def test_connectome_adjacency_over_a_name_list():
    names = ["AVAL", "AVEL", "AVBL", "RIBL", "SMDVL"]
    A, hit = connectome_adjacency(names + [None, "NOTANEURON"])
    assert A.shape == (7, 7) and hit == names
    assert np.all(A[-2:] == 0) and np.all(A[:, -2:] == 0) and np.all(np.diag(A) == 0)
    # the same numbers as the full connectome, chemical + electrical, in [pre, post] orientation
    c = from_connectome("cook2019", neurons_only=True)
    dense = c.to_dense(signed=False).numpy()
    idx = [c.index(n) for n in names]
    np.testing.assert_allclose(A[:5, :5], dense[np.ix_(idx, idx)] * (1 - np.eye(5)))
    assert A[names.index("AVEL"), names.index("AVAL")] > 0  # AVE -> AVA, a known chemical edge
    chem, _ = connectome_adjacency(names, layers=("chemical",))
    assert chem.sum() < A.sum() and np.all(chem <= A[:5, :5])
    padded, unpadded = connectome_adjacency(["AVAL", "VA01", "VB01", "DA01"]), connectome_adjacency(["AVAL", "VA1", "VB1", "DA1"])
    np.testing.assert_array_equal(padded[0], unpadded[0])  # names are normalised (VB01 is VB1)
    assert padded[0].sum() > 0 and len(padded[1]) == 4
    with pytest.raises(ValidationError, match="list"):
        connectome_adjacency("AVAL")


def test_shuffled_adjacency_keeps_degrees_and_weights():
    rng = np.random.default_rng(0)
    a = (rng.random((30, 30)) < 0.1) * rng.integers(1, 5, (30, 30)).astype(float)
    np.fill_diagonal(a, 0)
    s = shuffled_adjacency(a, seed=3)
    assert not np.array_equal(s > 0, a > 0) and np.all(np.diag(s) == 0)
    np.testing.assert_array_equal((s > 0).sum(0), (a > 0).sum(0))          # in-degrees
    np.testing.assert_array_equal((s > 0).sum(1), (a > 0).sum(1))          # out-degrees
    np.testing.assert_allclose(np.sort(s, axis=1).sum(1), np.sort(a, axis=1).sum(1))  # weights travel with senders
    np.testing.assert_array_equal(shuffled_adjacency(a, seed=3), s)        # a seed gives one shuffle
    for bad in (np.ones((2, 3)), -np.ones((3, 3)), np.full((3, 3), np.nan)):
        with pytest.raises(ValidationError):
            shuffled_adjacency(bad)
