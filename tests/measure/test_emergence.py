"""The emergence measure against brute-force path enumeration, and its error handling."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from neurocircuits.circuit import Circuit
from neurocircuits.circuit.builders import from_module
from neurocircuits.errors import ValidationError
from neurocircuits.measure import (
    dag_log10_emergence, emergence, layered_dp_log10_emergence, layered_log10_emergence,
)
from neurocircuits.measure.emergence import activities
from neurocircuits.models.vision import cnn, mlp, resnet


def brute_force(A: np.ndarray, active: np.ndarray, outputs: set[int], weighted: bool = False) -> float:
    """Enumerate every path x -> y -> ... -> output with x inactive and the rest active."""
    n = A.shape[0]

    def paths_from(v: int) -> float:  # explicit DFS, one recursion per path
        total = 1.0 if v in outputs else 0.0
        for w in range(n):
            if A[v, w] != 0 and active[w]:
                total += (abs(A[v, w]) if weighted else 1.0) * paths_from(w)
        return total

    E = 0.0
    for x in range(n):
        if active[x]:
            continue
        for y in range(n):
            if A[x, y] != 0 and active[y]:
                E += (abs(A[x, y]) if weighted else 1.0) * paths_from(y)
    return E


def random_dag(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    perm = rng.permutation(n)
    A = np.triu(rng.random((n, n)) < p, 1).astype(float) * rng.uniform(0.2, 2.0, (n, n))
    return A[np.ix_(perm, perm)]  # hide the topological order


def as_E(log10: float) -> float:
    return 0.0 if log10 == -math.inf else 10 ** log10


@pytest.mark.parametrize("seed", range(12))
def test_dag_dp_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 11))
    A = random_dag(rng, n, 0.45)
    active = rng.random(n) < 0.6
    sinks = {v for v in range(n) if not A[v].any()}
    for weighted in (False, True):
        expected = brute_force(A, active, sinks, weighted)
        got = as_E(dag_log10_emergence(A, active, weighted=weighted))
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    outs = sorted(rng.choice(n, size=2, replace=False).tolist())
    assert as_E(dag_log10_emergence(A, active, outputs=outs)) == pytest.approx(
        brute_force(A, active, set(outs)), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_layered_closed_form_matches_brute_force_and_dp(seed):
    rng = np.random.default_rng(100 + seed)
    widths = rng.integers(1, 5, size=int(rng.integers(2, 5))).tolist()
    act = [rng.random(w) < 0.6 for w in widths]
    offs = np.concatenate([[0], np.cumsum(widths)])
    A = np.zeros((offs[-1], offs[-1]))
    for i in range(len(widths) - 1):
        A[offs[i]:offs[i + 1], offs[i + 1]:offs[i + 2]] = 1.0
    active = np.concatenate(act)
    outputs = set(range(offs[-2], offs[-1]))
    expected = brute_force(A, active, outputs)
    assert as_E(layered_log10_emergence(widths, [int(a.sum()) for a in act])) == pytest.approx(expected, rel=1e-9)
    assert as_E(layered_dp_log10_emergence(act)) == pytest.approx(expected, rel=1e-9)
    assert as_E(dag_log10_emergence(A, active)) == pytest.approx(expected, rel=1e-9)


def test_closed_form_reference_values_and_log_space():
    # E = (3-1)*2*2 + (4-2)*2 = 12 ; a_1 = 0 and a_N = n_N maximise E
    assert as_E(layered_log10_emergence([3, 4, 2], [1, 2, 2])) == pytest.approx(12.0)
    assert layered_log10_emergence([3, 4, 2], [3, 4, 2]) == -math.inf
    # 200 layers of width 256 with half active: far beyond float64, exact in log space
    L, n, a = 200, 256, 128
    got = layered_log10_emergence([n] * L, [a] * L)
    # sum_{i=1}^{L-1} (n-a) a^{L-i} = (n-a) a (a^{L-1} - 1)/(a - 1)
    expected = math.log10(n - a) + math.log10(a) + (L - 1) * math.log10(a) - math.log10(a - 1)
    assert got == pytest.approx(expected, rel=1e-12)
    assert math.isfinite(got) and got > 308


def test_model_measure_matches_circuit_dag():
    torch.manual_seed(0)
    net = mlp(depth=4, width=12, in_dim=6, n_classes=3, bias=False)
    x = torch.rand(64, 6)
    r = emergence(net, x, threshold=0.05)
    names, acts = activities(net, x)
    active = np.concatenate([(a.mean(0) > 0.05).numpy() for a in acts])
    c = from_module(net)
    assert r.widths == [6, 12, 12, 12, 3]
    assert r.log10_E == pytest.approx(dag_log10_emergence(c, active), rel=1e-12)
    # weighted: same numbers through the layered DP and the general DAG DP on |W|
    rw = emergence(net, x, weighted=True)
    assert rw.log10_E == pytest.approx(dag_log10_emergence(c, active, weighted=True), rel=1e-10)


def test_activity_rules():
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
        net[2].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    x = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    names, acts = activities(net, x)
    assert names == ["input", "0", "2"]
    # hidden: post-ReLU (unit 2 is negative before the ReLU -> 0); output: mean |logit|
    assert acts[1].mean(0).tolist() == [1.0, 0.0]
    assert acts[2].mean(0).tolist() == [1.0, 0.0]
    r = emergence(net, x)
    assert r.active == [1, 1, 1]
    # inactive input 2 -> active hidden 1 -> active output 1 ; inactive hidden 2 -> output 1
    assert as_E(r.log10_E) == pytest.approx(2.0)
    # per-sample reduction averages E over samples: identical samples -> same value
    assert emergence(net, x, reduce="per_sample").log10_E == pytest.approx(r.log10_E)


def test_per_sample_differs_from_mean_and_threshold_matters():
    torch.manual_seed(1)
    net = mlp(depth=3, width=16, in_dim=8, n_classes=4)
    x = torch.rand(128, 8)
    a = emergence(net, x, reduce="mean").log10_E
    b = emergence(net, x, reduce="per_sample").log10_E
    assert math.isfinite(a) and math.isfinite(b) and a != b
    assert emergence(net, x, threshold=1e6).log10_E == -math.inf  # nothing active: no paths


def test_conv_nodes_are_channels_and_shortcuts_skipped():
    torch.manual_seed(0)
    r = emergence(cnn(channels=(4, 6)), torch.rand(16, 784))
    assert r.widths == [1, 4, 6, 10]
    r = emergence(resnet(widths=(4, 8), batchnorm=True), torch.rand(8, 1, 28, 28))
    assert r.widths == [1, 4, 4, 4, 8, 8, 10]  # stem, 2 convs per block, classifier; no shortcut


def test_bad_input():
    A = np.array([[0, 1], [1, 0]])
    with pytest.raises(ValidationError, match="cycle"):
        dag_log10_emergence(A, [True, True])
    with pytest.raises(ValidationError, match="one entry per node"):
        dag_log10_emergence(np.zeros((3, 3)), [True])
    with pytest.raises(ValidationError, match="NaN"):
        emergence(mlp(2, 4, in_dim=3), torch.tensor([[float("nan"), 0.0, 0.0]]))
    with pytest.raises(ValidationError, match="no nn.Linear"):
        emergence(nn.Sequential(nn.ReLU()), torch.rand(4, 3))
    with pytest.raises(ValidationError, match="attention"):
        emergence(nn.TransformerEncoderLayer(8, 2), torch.rand(4, 3, 8))
    with pytest.raises(ValidationError, match="reduce"):
        emergence(mlp(2, 4, in_dim=3), torch.rand(4, 3), reduce="max")
    with pytest.raises(ValidationError):
        layered_log10_emergence([2, 2], [3, 1])
    c = Circuit(["a", "b"], [0, 1], [1, 0], [1.0, 1.0], ["chemical", "chemical"])
    with pytest.raises(ValidationError, match="cycle"):
        dag_log10_emergence(c, [True, False])


def test_logsumexp_helpers_agree_with_scipy():
    import numpy as np
    from scipy.special import logsumexp

    from neurocircuits.measure.emergence import _logsumexp, _row_logsumexp

    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 33)) * 50
    x[2] = -np.inf
    x[3, :5] = -np.inf
    assert _logsumexp(x[0]) == pytest.approx(float(logsumexp(x[0])), rel=1e-12)
    assert _logsumexp(x[2]) == -np.inf and _logsumexp(np.array([])) == -np.inf
    np.testing.assert_allclose(_row_logsumexp(x), logsumexp(x, axis=1), rtol=1e-12)
