"""Metrics shared by experiments (plain functions on tensors or arrays)."""

from __future__ import annotations

import numpy as np
import torch

from neurocircuits.errors import ValidationError


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _same_len(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValidationError(f"length mismatch: {a.shape[0]} predictions vs {b.shape[0]} targets")
    if a.shape[0] == 0:
        raise ValidationError("cannot score an empty set")


def accuracy(pred, target) -> float:
    """Fraction of equal labels; ``pred`` may be logits (N, C) or labels (N,)."""
    p, t = _np(pred), _np(target)
    if p.ndim == 2:
        p = p.argmax(1)
    _same_len(p, t)
    return float((p == t).mean())


def balanced_accuracy(pred, target) -> float:
    """Mean of per-class recalls over the classes present in ``target``."""
    p, t = _np(pred), _np(target)
    if p.ndim == 2:
        p = p.argmax(1)
    _same_len(p, t)
    return float(np.mean([(p[t == c] == c).mean() for c in np.unique(t)]))


def macro_f1(pred, target) -> float:
    p, t = _np(pred), _np(target)
    if p.ndim == 2:
        p = p.argmax(1)
    _same_len(p, t)
    f1s = []
    for c in np.union1d(np.unique(t), np.unique(p)):
        tp = np.sum((p == c) & (t == c))
        fp = np.sum((p == c) & (t != c))
        fn = np.sum((p != c) & (t == c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def r2_per_column(pred, target) -> np.ndarray:
    """Coefficient of determination of each column (1 - SSE/SST); NaN where SST = 0."""
    p, t = _np(pred).astype(float), _np(target).astype(float)
    if p.shape != t.shape:
        raise ValidationError(f"shape mismatch: predictions {p.shape} vs targets {t.shape}")
    p2, t2 = p.reshape(p.shape[0], -1), t.reshape(t.shape[0], -1)
    sse = ((p2 - t2) ** 2).sum(0)
    sst = ((t2 - t2.mean(0)) ** 2).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sst > 0, 1 - sse / np.where(sst > 0, sst, 1), np.nan)


def r2(pred, target) -> float:
    """Mean of :func:`r2_per_column` over columns with non-zero variance."""
    return float(np.nanmean(r2_per_column(pred, target)))


def mse(pred, target) -> float:
    p, t = _np(pred).astype(float), _np(target).astype(float)
    if p.shape != t.shape:
        raise ValidationError(f"shape mismatch: predictions {p.shape} vs targets {t.shape}")
    return float(((p - t) ** 2).mean())
