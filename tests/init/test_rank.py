"""Rank-controlled, aligned and circuit-derived initialisers; the effective-rank measures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurocircuits.circuit import Circuit, random_dale
from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.init import aligned_low_rank_, circuit_weight, low_rank_, scale_to_
from neurocircuits.init.rank import gaussian_draw
from neurocircuits.measure import effective_rank


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("rank", [1, 7, 30, 60])
def test_low_rank_has_exact_rank_and_the_base_frobenius_norm(rank: int) -> None:
    w = torch.empty(60, 60, dtype=torch.float64)
    s = low_rank_(w, rank, gain=1.25, generator=_gen(3))
    base = gaussian_draw((60, 60), 1.25, _gen(3))
    assert int(torch.linalg.matrix_rank(w)) == rank
    assert float(torch.linalg.norm(w)) == pytest.approx(float(torch.linalg.norm(base)), rel=1e-12)
    sv = torch.linalg.svdvals(w)
    assert torch.allclose(sv[:rank], s, rtol=1e-10) and float(sv[rank:].abs().sum()) < 1e-9
    if rank == 60:
        assert torch.allclose(w, base, atol=1e-12)       # full rank reproduces the draw itself


def test_ranks_of_one_seed_share_the_base_draw() -> None:
    a, b = torch.empty(40, 40), torch.empty(40, 40)
    low_rank_(a, 5, generator=_gen(1))
    low_rank_(b, 20, generator=_gen(1))
    ua = torch.linalg.svd(a.double())[0][:, :5]
    ub = torch.linalg.svd(b.double())[0][:, :5]
    assert torch.allclose((ua.T @ ub).abs(), torch.eye(5, dtype=torch.float64), atol=1e-4)  # same top directions


def test_low_rank_errors() -> None:
    with pytest.raises(ValidationError, match="rank must be an integer in 1..10"):
        low_rank_(torch.empty(10, 10), 11)
    with pytest.raises(ValidationError, match="rank"):
        low_rank_(torch.empty(10, 10), 0)
    with pytest.raises(ValidationError, match="2-D"):
        low_rank_(torch.empty(10), 1)
    with pytest.raises(ValidationError, match="gain"):
        low_rank_(torch.empty(4, 4), 1, gain=0.0)


def test_aligned_low_rank_spans_the_directions_with_matched_norm() -> None:
    d = torch.randn(2, 30, generator=_gen(0), dtype=torch.float64)
    w = torch.empty(30, 30, dtype=torch.float64)
    s = aligned_low_rank_(w, d, gain=1.25, generator=_gen(5))
    assert int(torch.linalg.matrix_rank(w)) == 2 and torch.allclose(s, s[0].expand(2))
    proj = d.T @ torch.linalg.pinv(d.T)            # projector on span(directions)
    assert torch.allclose(w @ proj, w, atol=1e-10)  # row space = span of the directions
    ref = torch.empty(30, 30, dtype=torch.float64)
    low_rank_(ref, 2, gain=1.25, generator=_gen(5))
    assert float(torch.linalg.norm(w)) == pytest.approx(float(torch.linalg.norm(ref)), rel=1e-12)
    sym = torch.empty(30, 30, dtype=torch.float64)
    aligned_low_rank_(sym, d[0], left=d[0], norm=3.0)
    u = d[0] / torch.linalg.norm(d[0])
    assert torch.allclose(sym, 3.0 * torch.outer(u, u), atol=1e-12)
    with pytest.raises(ValidationError, match="linearly independent"):
        aligned_low_rank_(w, torch.stack([d[0], 2 * d[0]]))
    with pytest.raises(ValidationError, match="dimension"):
        aligned_low_rank_(w, torch.ones(29))


def test_aligned_low_rank_keeps_the_sign_of_the_directions() -> None:
    g = _gen(3)
    v, u = torch.randn(40, generator=g, dtype=torch.float64), torch.randn(25, generator=g, dtype=torch.float64)
    w = torch.empty(25, 40, dtype=torch.float64)
    for sv, su in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
        aligned_low_rank_(w, sv * v, left=su * u, norm=2.0)
        want = 2.0 * sv * su * torch.outer(u, v) / (torch.linalg.norm(u) * torch.linalg.norm(v))
        assert torch.allclose(w, want, atol=1e-12)


def test_circuit_weight_orientation_and_scaling() -> None:
    c = Circuit(["a", "b"], pre=[0], post=[1], weight=[-4.0])
    w = circuit_weight(c, gain=None, spectral_radius=None)
    assert w.tolist() == [[0.0, 0.0], [-4.0, 0.0]]            # W[post, pre]
    d = random_dale(120, p=0.1, seed=2)
    w = circuit_weight(d, gain=1.5, dtype=torch.float64)
    assert float(torch.linalg.norm(w)) == pytest.approx(1.5 * 120 ** 0.5, rel=1e-10)
    w = circuit_weight(d, spectral_radius=0.8, dtype=torch.float64)
    assert float(torch.linalg.eigvals(w).abs().max()) == pytest.approx(0.8, rel=1e-8)
    with pytest.raises(ValidationError, match="exactly one"):
        scale_to_(w, gain=1.0, spectral_radius=1.0)
    with pytest.raises(ValidationError, match="square"):
        scale_to_(torch.ones(2, 3), gain=1.0)


def test_effective_rank_kinds_by_hand_and_monotone_in_rank() -> None:
    eye = np.eye(5)
    assert effective_rank(eye) == pytest.approx(5.0)
    assert effective_rank(eye, "participation") == pytest.approx(5.0)
    assert effective_rank(eye, "eig_ratio") == pytest.approx(1.0)
    diag = np.diag([2.0, 1.0, 1.0, 0.0])
    p = np.array([0.5, 0.25, 0.25])
    assert effective_rank(diag) == pytest.approx(float(np.exp(-(p * np.log(p)).sum())))
    assert effective_rank(diag, "participation") == pytest.approx(36 / 18)
    assert effective_rank(diag, "eig_ratio") == pytest.approx(4 / 8)
    assert effective_rank(np.zeros((3, 3)), "eig_ratio") == 0.0
    values = {k: [] for k in ("entropy", "participation", "eig_ratio")}
    for r in (1, 5, 20, 50):
        w = torch.empty(50, 50, dtype=torch.float64)
        low_rank_(w, r, generator=_gen(0))
        for k in values:
            values[k].append(effective_rank(w, k))
    for k, v in values.items():
        assert all(a < b for a, b in zip(v, v[1:])), (k, v)
    assert values["entropy"][0] == pytest.approx(1.0) and values["participation"][0] == pytest.approx(1.0)
    with pytest.raises(UnknownNameError, match="effective-rank kind"):
        effective_rank(eye, "nuclear")


def test_circuit_method_is_the_same_definition() -> None:
    d = random_dale(60, seed=1)
    a = d.to_dense(dtype=torch.float64).numpy()
    for k in ("entropy", "participation", "eig_ratio"):
        assert d.effective_rank(measure=k) == pytest.approx(effective_rank(a, k), rel=1e-12)
    assert d.effective_rank() == pytest.approx(effective_rank(a))
