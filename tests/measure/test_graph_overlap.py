"""Top-k overlap with the anatomy against degree-preserving nulls."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurocircuits.errors import ValidationError
from neurocircuits.measure.graph_overlap import (
    activity_correlation, mean_inferred_adjacency, overlap_test, shuffled_nulls, topk_overlap,
)
from neurocircuits.models.graph import GraphNet


def test_overlap_test_detects_anatomy_and_not_chance():
    rng = np.random.default_rng(0)
    n = 20
    anat = (rng.random((n, n)) < 0.15).astype(float)
    np.fill_diagonal(anat, 0)
    k = int(anat.sum())
    nulls = shuffled_nulls(anat, shuffles=30)
    assert len(nulls) == 30 and all(g.sum() == k for g in nulls)
    good = overlap_test(anat + 0.01 * rng.random((n, n)), anat, nulls=nulls)
    assert good.overlap == 1.0 and good.z > 3 and good.p == pytest.approx(1 / 31) and good.k == k
    rand = overlap_test(rng.random((n, n)), anat, nulls=nulls)
    assert abs(rand.overlap - rand.density) < 0.15 and rand.p > 0.05  # a random graph scores at chance
    assert good.density == pytest.approx(k / (n * (n - 1)))
    # a score that only knows the hubs (out-degree x in-degree) does not beat the degree-preserving null
    hubs = np.outer(anat.sum(1), anat.sum(0)) + 1e-3 * rng.random((n, n))
    assert overlap_test(hubs, anat, nulls=nulls).p > 0.01
    assert topk_overlap(np.array([[0, 3, 1], [2, 0, 0], [0, 0, 0.]]),
                        np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), 2) == 0.5
    with pytest.raises(ValidationError, match="no off-diagonal"):
        overlap_test(anat, np.eye(n))


def test_activity_correlation_and_mean_inferred_adjacency():
    t = np.random.default_rng(0).normal(size=(100, 4))
    t[:, 1] = -2 * t[:, 0]
    c = activity_correlation([t[:50], t[50:]])
    assert c[0, 1] == pytest.approx(1.0) and np.all(c >= 0)
    torch.manual_seed(0)
    net = GraphNet(hidden=8)
    x = np.random.default_rng(1).normal(size=(10, 6, 5)).astype(np.float32)
    a = mean_inferred_adjacency(net, [x[:7], x[7:]], batch=3)
    ref = net.eval().infer_adjacency(torch.from_numpy(x)).mean(0).detach().numpy()
    np.testing.assert_allclose(a, ref, atol=1e-6)
    with pytest.raises(ValidationError, match="inferred"):
        mean_inferred_adjacency(torch.nn.Linear(2, 2), [x])
