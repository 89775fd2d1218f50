"""Does an inferred (or functional) graph recover the anatomy? A top-k overlap test against a null.

Given a score matrix ``S[pre, post]`` over N neurons (e.g. a model's mean inferred
adjacency) and an anatomical graph ``A[pre, post]`` with k directed edges:

- :func:`topk_overlap`: the fraction of the k highest-scoring off-diagonal pairs that are
  anatomical edges (chance level: the density k / (N (N - 1)));
- :func:`overlap_test`: that overlap against the same score re-scored on
  degree-preserving shuffles of the anatomy (:func:`shuffled_nulls`), as a z-score and
  an empirical one-sided p-value ``(1 + #{null >= observed}) / (1 + shuffles)``. The
  null keeps every neuron's in- and out-degree, so a score that only knows which neurons
  are hubs does not pass;
- :func:`activity_correlation`: the |correlation| graph of recorded activity, the simple
  functional baseline to score the same way;
- :func:`mean_inferred_adjacency`: the mean per-sample graph of a
  :class:`~neurocircuits.models.graph.GraphNet` with an inferred graph over windows.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> anat = (rng.random((20, 20)) < 0.15).astype(float); np.fill_diagonal(anat, 0)
    >>> t = overlap_test(anat + 0.01 * rng.random((20, 20)), anat, shuffles=50)
    >>> t.overlap, bool(t.p < 0.05), bool(t.z > 3)
    (1.0, True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from neurocircuits.circuit.adjacency import shuffled_adjacency
from neurocircuits.errors import ValidationError


def _square(a: np.ndarray, what: str) -> np.ndarray:
    m = np.asarray(a, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
        raise ValidationError(f"{what} must be a square (N, N) matrix with N >= 2, got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValidationError(f"{what} holds NaN or infinite values")
    return m


def _binary(anatomy: np.ndarray) -> np.ndarray:
    b = (_square(anatomy, "anatomy") > 0).astype(float)
    np.fill_diagonal(b, 0)
    if b.sum() == 0:
        raise ValidationError("the anatomy has no off-diagonal edges to overlap with")
    return b


def topk_overlap(score: np.ndarray, graph: np.ndarray, k: int) -> float:
    """Fraction of the ``k`` highest-scoring off-diagonal pairs that are edges of ``graph``.

    Ties are broken by position (row-major), so the result is deterministic.

    Example:
        >>> s = np.array([[0, 3, 1], [2, 0, 0], [0, 0, 0.]]); g = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
        >>> topk_overlap(s, g, 2)
        0.5
    """
    s, g = _square(score, "score"), np.asarray(graph)
    if g.shape != s.shape:
        raise ValidationError(f"graph has shape {g.shape}, score has {s.shape}")
    n = s.shape[0]
    if not 1 <= k <= n * (n - 1):
        raise ValidationError(f"k must lie in 1..{n * (n - 1)}, got {k}")
    off = ~np.eye(n, dtype=bool)
    flat = np.where(off, s, -np.inf).ravel()
    top = np.argsort(-flat, kind="stable")[:k]
    return float((g.ravel()[top] > 0).mean())


def shuffled_nulls(anatomy: np.ndarray, shuffles: int = 200, seed: int = 0) -> list[np.ndarray]:
    """``shuffles`` binary degree-preserving shuffles of the anatomy's edges (seed ``seed * 100003 + s``).

    Example:
        >>> a = np.eye(5, k=1) + np.eye(5, k=-2)
        >>> nulls = shuffled_nulls(a, shuffles=3)
        >>> [int(g.sum()) for g in nulls], all((g.sum(0) == (a > 0).sum(0)).all() for g in nulls)
        ([7, 7, 7], True)
    """
    if shuffles < 1:
        raise ValidationError(f"shuffles must be >= 1, got {shuffles}")
    b = _binary(anatomy)
    return [(shuffled_adjacency(b, seed=seed * 100003 + s) > 0).astype(float) for s in range(shuffles)]


@dataclass(frozen=True)
class OverlapTest:
    """The top-k overlap of a score matrix with the anatomy, against shuffled anatomy.

    Attributes:
        overlap: fraction of the k strongest pairs that are anatomical.
        null_mean, null_sd: the same score's overlap with the shuffled anatomies.
        z: ``(overlap - null_mean) / null_sd`` (NaN when the null has no spread).
        p: empirical one-sided p-value of the overlap under the null.
        k: the number of anatomical edges. density: chance level ``k / (N (N - 1))``.
        null: every null overlap.
    """

    overlap: float
    null_mean: float
    null_sd: float
    z: float
    p: float
    k: int
    density: float
    null: np.ndarray


def overlap_test(score: np.ndarray, anatomy: np.ndarray, *, nulls: Sequence[np.ndarray] | None = None,
                 shuffles: int = 200, seed: int = 0) -> OverlapTest:
    """Top-k overlap of ``score`` with ``anatomy`` against degree-preserving shuffles of it.

    Pass ``nulls`` (from :func:`shuffled_nulls`) to test several scores against the same null.
    """
    b = _binary(anatomy)
    s = _square(score, "score")
    if s.shape != b.shape:
        raise ValidationError(f"score has shape {s.shape}, anatomy has {b.shape}")
    k, n = int(b.sum()), b.shape[0]
    graphs = shuffled_nulls(b, shuffles, seed) if nulls is None else list(nulls)
    if not graphs or any(np.shape(g) != b.shape for g in graphs):
        raise ValidationError(f"nulls must be a non-empty list of {b.shape} matrices")
    real = topk_overlap(s, b, k)
    null = np.array([topk_overlap(s, g, k) for g in graphs])
    sd = float(null.std(ddof=1)) if null.size > 1 else float("nan")
    z = float((real - null.mean()) / sd) if sd > 0 else float("nan")
    return OverlapTest(real, float(null.mean()), sd, z, float((1 + (null >= real).sum()) / (1 + null.size)),
                       k, float(k / (n * (n - 1))), null)


def activity_correlation(traces: Sequence[np.ndarray]) -> np.ndarray:
    """|Pearson correlation| between neurons over the concatenated (T, N) recordings.

    Example:
        >>> t = np.array([[0.0, 0.0, 1.0], [1.0, -1.0, 0.0], [2.0, -2.0, 1.0]])
        >>> activity_correlation([t])[0, 1].round(6)
        np.float64(1.0)
    """
    parts = [np.asarray(t, dtype=np.float64) for t in traces]
    if not parts or any(p.ndim != 2 for p in parts) or len({p.shape[1] for p in parts}) != 1:
        raise ValidationError("traces must be a non-empty list of (T, N) arrays with the same N")
    return np.abs(np.corrcoef(np.concatenate(parts).T))


@torch.no_grad()
def mean_inferred_adjacency(model: nn.Module, windows: Sequence[np.ndarray], device: torch.device | str = "cpu",
                            batch: int = 128) -> np.ndarray:
    """The mean of ``model.infer_adjacency`` (B, N, N) over every window of each (n, W, N) array."""
    infer = getattr(model, "infer_adjacency", None)
    if infer is None:
        raise ValidationError("the model has no inferred graph (infer_adjacency)")
    model.eval()
    acc: torch.Tensor | None = None
    total = 0
    for x in windows:
        arr = np.asarray(x, dtype=np.float32)
        for i in range(0, arr.shape[0], batch):
            a = infer(torch.from_numpy(arr[i:i + batch]).to(device)).sum(0).cpu()
            acc = a if acc is None else acc + a
            total += min(batch, arr.shape[0] - i)
    if acc is None or total == 0:
        raise ValidationError("no windows to average the inferred graph over")
    return (acc / total).numpy()
