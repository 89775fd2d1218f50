"""Generative circuit builders: geometric, random with Dale's law, low rank, from a module.

Every random builder takes a ``seed`` and uses its own NumPy generator (no global state).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from torch import nn

from neurocircuits.circuit.core import KINDS, Circuit, SynapseKind
from neurocircuits.errors import ValidationError, check_finite

GeometricRule = Literal["radius", "knn", "prob"]


def _check_n(n: int, what: str = "n") -> None:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValidationError(f"{what} must be a positive integer, got {n!r}")


def geometric(
    n: int,
    *,
    dim: int = 3,
    positions: np.ndarray | None = None,
    rule: GeometricRule = "radius",
    radius: float = 0.2,
    k: int = 8,
    scale: float = 0.1,
    p0: float = 1.0,
    box: float = 1.0,
    tortuosity: float = 1.0,
    seed: int = 0,
) -> Circuit:
    """N neurons in d-dimensional space, connected by a distance rule; edge lengths kept.

    Args:
        positions: (n, dim) coordinates; default uniform in ``[0, box]^dim``.
        rule: ``"radius"`` (i -> j for every pair closer than ``radius``, both ways),
            ``"knn"`` (i -> each of its ``k`` nearest neighbours) or ``"prob"``
            (i -> j independently with probability ``p0 * exp(-d / scale)``).
        tortuosity: path length = tortuosity x Euclidean distance (>= 1, axon-like paths).

    Example:
        >>> c = geometric(100, rule="knn", k=5, seed=1)
        >>> bool((c.out_degree() == 5).all()), c.length.shape
        (True, (500,))
    """
    _check_n(n)
    _check_n(dim, "dim")
    if tortuosity < 1:
        raise ValidationError(f"tortuosity must be >= 1 (paths are never shorter than the straight line), got {tortuosity}")
    rng = np.random.default_rng(seed)
    if positions is None:
        pos = rng.uniform(0.0, box, size=(n, dim))
    else:
        pos = np.asarray(positions, dtype=np.float64)
        if pos.shape != (n, dim):
            raise ValidationError(f"positions must have shape ({n}, {dim}), got {pos.shape}")
        check_finite("positions", pos)
    from scipy.spatial import cKDTree

    tree = cKDTree(pos)
    if rule == "radius":
        if radius <= 0:
            raise ValidationError(f"radius must be > 0, got {radius}")
        pairs = tree.query_pairs(radius, output_type="ndarray")
        pre = np.concatenate([pairs[:, 0], pairs[:, 1]])
        post = np.concatenate([pairs[:, 1], pairs[:, 0]])
    elif rule == "knn":
        if not 1 <= k < n:
            raise ValidationError(f"k must be in 1..n-1 = {n - 1}, got {k}")
        _, nb = tree.query(pos, k=k + 1)
        pre = np.repeat(np.arange(n), k)
        post = nb[:, 1:].reshape(-1)
    elif rule == "prob":
        if scale <= 0 or not 0 < p0 <= 1:
            raise ValidationError(f"need scale > 0 and 0 < p0 <= 1, got {scale}, {p0}")
        pres, posts = [], []
        for start in range(0, n, 1024):  # chunked to bound memory at O(1024 n)
            d = np.linalg.norm(pos[start:start + 1024, None, :] - pos[None, :, :], axis=-1)
            hit = rng.random(d.shape) < p0 * np.exp(-d / scale)
            idx = np.arange(start, min(start + 1024, n))
            hit[idx - start, idx] = False
            i, j = np.nonzero(hit)
            pres.append(i + start)
            posts.append(j)
        pre, post = np.concatenate(pres), np.concatenate(posts)
    else:
        raise ValidationError(f"unknown rule {rule!r}; use 'radius', 'knn' or 'prob'")
    order = np.lexsort((post, pre))
    pre, post = pre[order], post[order]
    length = tortuosity * np.linalg.norm(pos[pre] - pos[post], axis=1)
    return Circuit([f"n{i}" for i in range(n)], pre, post, np.ones(pre.shape[0]), positions=pos,
                   length=length, cell_class=["geometric"] * n,
                   meta={"source": "geometric", "rule": rule, "radius": radius, "k": k, "scale": scale,
                         "p0": p0, "dim": dim, "tortuosity": tortuosity, "seed": seed})


def random_dale(
    n: int,
    *,
    p: float = 0.1,
    frac_excitatory: float = 0.8,
    gain: float = 1.0,
    balanced: bool = False,
    seed: int = 0,
) -> Circuit:
    """Sparse random circuit obeying Dale's law: each neuron's outgoing weights share its sign.

    Each directed pair (no self-loops) is connected with probability ``p``; magnitudes are
    ``|N(0, 1)| * gain / sqrt(n p)``. With ``balanced=True`` inhibitory magnitudes are
    scaled by ``f_E / f_I`` so the expected input to a neuron is zero.
    """
    _check_n(n)
    if not 0 < p <= 1:
        raise ValidationError(f"p must be in (0, 1], got {p}")
    if not 0 <= frac_excitatory <= 1:
        raise ValidationError(f"frac_excitatory must be in [0, 1], got {frac_excitatory}")
    rng = np.random.default_rng(seed)
    n_e = int(round(frac_excitatory * n))
    sign = np.where(np.arange(n) < n_e, 1, -1).astype(np.int8)
    mask = rng.random((n, n)) < p
    np.fill_diagonal(mask, False)
    pre, post = np.nonzero(mask)
    mag = np.abs(rng.standard_normal(pre.shape[0])) * gain / np.sqrt(n * p)
    if balanced and 0 < n_e < n:
        mag = np.where(sign[pre] < 0, mag * n_e / (n - n_e), mag)
    return Circuit([f"{'E' if s > 0 else 'I'}{i}" for i, s in enumerate(sign)], pre, post, sign[pre] * mag,
                   sign=sign, cell_class=["excitatory" if s > 0 else "inhibitory" for s in sign],
                   transmitter=["" for _ in sign],
                   meta={"source": "random_dale", "p": p, "frac_excitatory": frac_excitatory,
                         "gain": gain, "balanced": balanced, "seed": seed})


def low_rank_matrix(n: int, rank: int, seed: int = 0, gain: float = 1.0) -> np.ndarray:
    """An (n, n) matrix of exact rank ``rank`` whose Frobenius norm equals that of a
    full-rank Gaussian draw N(0, gain^2 / n) made with the same seed."""
    _check_n(n)
    if not isinstance(rank, (int, np.integer)) or not 1 <= rank <= n:
        raise ValidationError(f"rank must be an integer in 1..{n}, got {rank!r}")
    rng = np.random.default_rng(seed)
    full = rng.standard_normal((n, n)) * gain / np.sqrt(n)
    u = rng.standard_normal((n, rank))
    v = rng.standard_normal((n, rank))
    w = u @ v.T
    return w * (np.linalg.norm(full) / np.linalg.norm(w))


def low_rank(n: int, rank: int, *, seed: int = 0, gain: float = 1.0) -> Circuit:
    """Dense circuit with a weight matrix of exact rank ``rank`` (see :func:`low_rank_matrix`)."""
    w = low_rank_matrix(n, rank, seed, gain)
    pre, post = np.nonzero(w)
    return Circuit([f"n{i}" for i in range(n)], pre, post, w[pre, post], cell_class=["unit"] * n,
                   meta={"source": "low_rank", "rank": int(rank), "gain": gain, "seed": seed,
                         "norm": "frobenius matched to a full-rank N(0, gain^2/n) draw"})


def from_module(module: nn.Module, *, include_bias: bool = False) -> Circuit:
    """The layered graph of a feed-forward model's units.

    Nodes are the input units and every ``nn.Linear`` layer's output units, in the order
    the layers are registered; edge ``in_unit -> out_unit`` carries ``W[out, in]``.
    Activations, dropout and normalisation layers are skipped (they do not add units).

    Example:
        >>> c = from_module(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)))
        >>> c.n_neurons, c.n_edges
        (9, 20)
    """
    skip = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.LeakyReLU, nn.Dropout, nn.Identity, nn.Flatten,
            nn.BatchNorm1d, nn.LayerNorm, nn.Softmax, nn.LogSoftmax, nn.ELU, nn.SiLU, nn.Sequential)
    layers: list[tuple[str, nn.Linear]] = []
    for name, m in module.named_modules():
        if isinstance(m, nn.Linear):
            layers.append((name or "linear", m))
        elif not isinstance(m, skip) and m is not module and not list(m.children()):
            raise ValidationError(
                f"from_module supports feed-forward stacks of nn.Linear; {name!r} is {type(m).__name__}")
    if not layers:
        raise ValidationError(f"{type(module).__name__} has no nn.Linear layers")
    for (na, a), (nb, b) in zip(layers, layers[1:]):
        if a.out_features != b.in_features:
            raise ValidationError(f"layers {na!r} ({a.out_features} outputs) and {nb!r} "
                                  f"({b.in_features} inputs) do not chain")
    names: list[str] = [f"input:{i}" for i in range(layers[0][1].in_features)]
    classes: list[str] = ["input"] * len(names)
    offsets = [0]
    pre, post, w = [], [], []
    for li, (lname, lin) in enumerate(layers):
        start_in, start_out = offsets[-1], len(names)
        names += [f"{lname}:{i}" for i in range(lin.out_features)]
        classes += [lname] * lin.out_features
        W = lin.weight.detach().cpu().double().numpy()
        o, i = np.nonzero(W)
        pre.append(i + start_in)
        post.append(o + start_out)
        w.append(W[o, i])
        offsets.append(start_out)
    meta: dict[str, Any] = {"source": "from_module", "module": type(module).__name__,
                            "layers": [n for n, _ in layers]}
    if include_bias:
        meta["biases"] = {n: lin.bias.detach().cpu().tolist() for n, lin in layers if lin.bias is not None}
    return Circuit(names, np.concatenate(pre), np.concatenate(post), np.concatenate(w),
                   cell_class=classes, meta=meta)


def degree_preserving_shuffle(circuit: Circuit, *, swaps_per_edge: float = 10.0, seed: int = 0,
                              kind: SynapseKind | None = "chemical") -> Circuit:
    """A null model: rewire the ``kind`` synapses by double-edge swaps that keep every degree.

    Chemical synapses: directed swaps ``a -> b, c -> d`` to ``a -> d, c -> b`` (weights
    travel with the source), so every neuron keeps its in- and out-degree and its outgoing
    weights (Dale signs are kept). Electrical synapses: undirected swaps of gap-junction
    pairs ``a - b, c - d`` to ``a - d, c - b`` (weights travel with the pair), stored in
    both directions, so they stay symmetric and every neuron keeps its number of
    gap-junction partners. A swap that would create a self-loop or a duplicate is rejected.
    ``kind=None`` shuffles both layers, each within itself; the layers not shuffled are
    kept as they are.

    Example:
        >>> c = random_dale(60, p=0.1, seed=0)
        >>> s = degree_preserving_shuffle(c, seed=1)
        >>> bool((s.in_degree() == c.in_degree()).all() and (s.out_degree() == c.out_degree()).all())
        True
    """
    if not isinstance(circuit, Circuit):
        raise ValidationError(f"circuit must be a Circuit, got {type(circuit).__name__}")
    circuit.edge_mask(kind)  # validates kind
    if not np.isfinite(swaps_per_edge) or swaps_per_edge < 0:
        raise ValidationError(f"swaps_per_edge must be a finite number >= 0, got {swaps_per_edge!r}")
    rng = np.random.default_rng(seed)
    pre, post, w, k = [], [], [], []
    for code, name in enumerate(KINDS):
        m = circuit.kind == code
        a, b, wt = circuit.pre[m], circuit.post[m], circuit.weight[m]
        if kind is None or kind == name:
            a, b, wt = (_swap_directed(a, b, wt, swaps_per_edge, rng) if name == "chemical"
                        else _swap_undirected(a, b, wt, swaps_per_edge, rng))
        pre.append(a)
        post.append(b)
        w.append(wt)
        k.append(np.full(a.shape[0], code, np.int8))
    return Circuit(circuit.names, np.concatenate(pre), np.concatenate(post), np.concatenate(w),
                   np.concatenate(k), cell_class=circuit.cell_class, sign=circuit.sign,
                   transmitter=circuit.transmitter, positions=circuit.positions,
                   meta={**circuit.meta, "null": "degree_preserving_shuffle", "null_seed": seed,
                         "null_kind": kind if kind is not None else "chemical+electrical"})


def _swap_directed(pre: np.ndarray, post: np.ndarray, w: np.ndarray, swaps_per_edge: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pre, post = pre.copy(), post.copy()
    e = pre.shape[0]
    existing = set(zip(pre.tolist(), post.tolist()))
    n_try = int(swaps_per_edge * e)
    picks = rng.integers(0, max(e, 1), size=(n_try, 2)) if e > 1 else np.zeros((0, 2), int)
    for i, j in picks.tolist():
        a, b, c, d = int(pre[i]), int(post[i]), int(pre[j]), int(post[j])
        if i == j or a == d or c == b or (a, d) in existing or (c, b) in existing:
            continue
        existing.difference_update({(a, b), (c, d)})
        existing.update({(a, d), (c, b)})
        post[i], post[j] = d, b
    return pre, post, w.copy()


def _swap_undirected(pre: np.ndarray, post: np.ndarray, w: np.ndarray, swaps_per_edge: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    one = pre < post  # each pair once (self-pairs a - a are kept as they are)
    selfs = pre == post
    u, v, wt = pre[one].copy(), post[one].copy(), w[one].copy()
    e = u.shape[0]
    existing = {(int(x), int(y)) for x, y in zip(u, v)}
    n_try = int(swaps_per_edge * e)
    picks = rng.integers(0, max(e, 1), size=(n_try, 2)) if e > 1 else np.zeros((0, 2), int)
    flips = rng.random(n_try) < 0.5
    for (i, j), flip in zip(picks.tolist(), flips.tolist()):
        a, b = int(u[i]), int(v[i])
        c, d = (int(v[j]), int(u[j])) if flip else (int(u[j]), int(v[j]))
        new1, new2 = (min(a, d), max(a, d)), (min(c, b), max(c, b))
        if i == j or a == d or c == b or new1 == new2 or new1 in existing or new2 in existing:
            continue
        existing.difference_update({(a, b) if a < b else (b, a), (c, d) if c < d else (d, c)})
        existing.update({new1, new2})
        u[i], v[i] = new1
        u[j], v[j] = new2
    return (np.concatenate([u, v, pre[selfs]]), np.concatenate([v, u, post[selfs]]),
            np.concatenate([wt, wt, w[selfs]]))
