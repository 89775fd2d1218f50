import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from torch import nn

from neurocircuits.circuit import (
    Circuit, degree_preserving_shuffle, from_connectome, from_module, geometric, low_rank, low_rank_matrix,
    random_dale,
)
from neurocircuits.errors import ValidationError


def test_geometric_radius_rule_matches_brute_force():
    c = geometric(150, dim=3, rule="radius", radius=0.25, seed=0)
    d = cdist(c.positions, c.positions)
    expected = {(i, j) for i in range(150) for j in range(150) if i != j and d[i, j] <= 0.25}
    assert set(zip(c.pre.tolist(), c.post.tolist())) == expected
    assert np.allclose(c.length, d[c.pre, c.post])


def test_geometric_knn_and_given_positions():
    pos = np.random.default_rng(1).uniform(size=(80, 2))
    c = geometric(80, dim=2, positions=pos, rule="knn", k=6, tortuosity=1.5)
    assert np.array_equal(c.positions, pos)
    assert (c.out_degree() == 6).all()
    d = cdist(pos, pos)
    np.fill_diagonal(d, np.inf)
    for i in range(80):  # out-neighbours are exactly the 6 nearest
        assert set(c.post[c.pre == i].tolist()) == set(np.argsort(d[i])[:6].tolist())
    assert np.allclose(c.length, 1.5 * d[c.pre, c.post])


def test_geometric_probability_rule_decays_with_distance():
    c = geometric(600, dim=2, rule="prob", scale=0.1, p0=1.0, seed=2)
    assert (c.pre != c.post).all()
    d = cdist(c.positions, c.positions)
    np.fill_diagonal(d, np.inf)
    near, far = d < 0.05, (d > 0.3) & (d < 0.4)
    a = c.to_dense().numpy() != 0
    p_near, p_far = a[near].mean(), a[far].mean()
    assert p_near > 0.6 and p_far < 0.05  # expected ~0.78 and ~0.03


@pytest.mark.parametrize("kw, msg", [
    (dict(n=0), "positive integer"), (dict(n=10, rule="star"), "unknown rule"),
    (dict(n=10, radius=-1.0), "radius"), (dict(n=10, rule="knn", k=10), "k must be"),
    (dict(n=10, tortuosity=0.5), "tortuosity"), (dict(n=3, positions=np.zeros((2, 3))), "shape"),
    (dict(n=2, positions=np.array([[0, 0, np.nan], [1, 1, 1]])), "NaN"),
])
def test_geometric_errors(kw, msg):
    n = kw.pop("n")
    with pytest.raises(ValidationError, match=msg):
        geometric(n, **kw)


def test_random_dale_signs_fixed_per_presynaptic_neuron():
    c = random_dale(400, p=0.1, frac_excitatory=0.8, seed=5)
    assert c.ei_fraction() == 0.8
    assert (np.sign(c.weight) == c.sign[c.pre]).all()
    assert (c.pre != c.post).all()
    assert abs(c.n_edges / (400 * 399) - 0.1) < 0.01
    b = random_dale(400, p=0.1, balanced=True, seed=5)
    assert abs(b.to_dense().sum(0).mean()) < 0.05  # balanced: mean input ~ 0
    assert random_dale(50, seed=1) == random_dale(50, seed=1)
    with pytest.raises(ValidationError):
        random_dale(10, frac_excitatory=1.5)


@pytest.mark.parametrize("rank", [1, 3, 20])
def test_low_rank_exact_rank_and_norm(rank):
    n = 60
    w = low_rank_matrix(n, rank, seed=4)
    assert np.linalg.matrix_rank(w) == rank
    full = np.random.default_rng(4).standard_normal((n, n)) / np.sqrt(n)
    assert np.linalg.norm(w) == pytest.approx(np.linalg.norm(full))
    c = low_rank(n, rank, seed=4)
    assert np.linalg.matrix_rank(c.to_dense(dtype=torch.float64).numpy()) == rank
    with pytest.raises(ValidationError):
        low_rank(10, 11)


def test_from_module_weights_and_errors():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    c = from_module(m)
    assert c.n_neurons == 3 + 4 + 2
    a = c.to_dense(dtype=torch.float64)
    assert torch.allclose(a[:3, 3:7], m[0].weight.detach().double().T)
    assert torch.allclose(a[3:7, 7:], m[2].weight.detach().double().T)
    assert c.cell_class[0] == "input" and c.cell_class[-1] == "2"
    with pytest.raises(ValidationError, match="no nn.Linear"):
        from_module(nn.ReLU())
    with pytest.raises(ValidationError, match="do not chain"):
        from_module(nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 2)))
    with pytest.raises(ValidationError, match="Conv2d"):
        from_module(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(4, 2)))


def test_degree_preserving_shuffle():
    c = from_connectome("white1986", neurons_only=True)
    s = degree_preserving_shuffle(c, seed=0)
    assert np.array_equal(s.in_degree("chemical"), c.in_degree("chemical"))
    assert np.array_equal(s.out_degree("chemical"), c.out_degree("chemical"))
    assert np.array_equal(np.sort(s.weight), np.sort(c.weight))
    assert s.to_dense("electrical").equal(c.to_dense("electrical"))
    same = len(set(zip(s.pre, s.post)) & set(zip(c.pre, c.post)))
    assert same < 0.5 * c.n_edges  # the wiring really changed
    assert s.reciprocity() < c.reciprocity()


def test_circuit_classmethods_delegate():
    assert Circuit.geometric(20, rule="knn", k=2, seed=0) == geometric(20, rule="knn", k=2, seed=0)
    assert Circuit.low_rank(10, 2) == low_rank(10, 2)


def _pairs(c, kind):
    m = c.edge_mask(kind)
    return set(zip(c.pre[m].tolist(), c.post[m].tolist()))


def test_degree_preserving_shuffle_of_gap_junctions():
    c = from_connectome("witvliet2021-7", neurons_only=True)
    for kind in ("electrical", None):
        s = degree_preserving_shuffle(c, seed=3, kind=kind)
        gap = s.to_dense("electrical").numpy()
        assert np.array_equal(gap, gap.T)  # still symmetric (the Circuit also checks it)
        assert np.array_equal(s.in_degree("electrical"), c.in_degree("electrical"))
        assert np.array_equal(np.sort(s.weight[s.kind == 1]), np.sort(c.weight[c.kind == 1]))
        assert len(_pairs(s, "electrical") & _pairs(c, "electrical")) < 0.5 * len(_pairs(c, "electrical"))
        assert s.meta["null_kind"] == (kind or "chemical+electrical")
    chem_only = degree_preserving_shuffle(c, seed=3, kind="electrical")
    assert _pairs(chem_only, "chemical") == _pairs(c, "chemical")
    both = degree_preserving_shuffle(c, seed=3, kind=None)
    assert np.array_equal(both.out_degree("chemical"), c.out_degree("chemical"))
    assert len(_pairs(both, "chemical") & _pairs(c, "chemical")) < 0.5 * len(_pairs(c, "chemical"))
    with pytest.raises(ValidationError, match="swaps_per_edge"):
        degree_preserving_shuffle(c, swaps_per_edge=-1)
