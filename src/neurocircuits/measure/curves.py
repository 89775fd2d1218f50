"""Numbers about a training curve: first and final value, when a target was reached.

A *curve* is one value per epoch (e.g. validation accuracy after epochs 1, 2, ...);
``wall`` is the wall time of each epoch in seconds. Epochs are counted from 1.

Example:
    >>> s = curve_stats([0.80, 0.91, 0.95], wall=[2.0, 2.0, 2.5], target=0.9)
    >>> s.first, s.final, s.epochs_to_target, s.time_to_target_s, s.reached
    (0.8, 0.95, 2.0, 4.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from neurocircuits.errors import ValidationError


def _curve(curve: Sequence[float], name: str = "curve") -> list[float]:
    vals = [float(v) for v in curve]
    if not vals:
        raise ValidationError(f"{name} must hold at least one epoch's value")
    return vals


def epochs_to_target(curve: Sequence[float], target: float, higher_is_better: bool = True) -> float:
    """The first epoch (1-based) whose value reaches ``target``; NaN if none does.

    Example:
        >>> epochs_to_target([0.5, 0.7, 0.9], 0.7), epochs_to_target([0.5], 0.9)
        (2.0, nan)
    """
    vals = _curve(curve)
    for i, v in enumerate(vals):
        if (v >= target) if higher_is_better else (v <= target):
            return float(i + 1)
    return float("nan")


def time_to_target(curve: Sequence[float], wall: Sequence[float], target: float,
                   higher_is_better: bool = True) -> float:
    """Wall time (summed over epochs, seconds) until the epoch that first reaches ``target``; NaN if none.

    Example:
        >>> time_to_target([0.5, 0.95], [1.5, 2.0], 0.9)
        3.5
    """
    vals, times = _curve(curve), _curve(wall, "wall")
    if len(times) != len(vals):
        raise ValidationError(f"wall must have one time per epoch ({len(vals)}), got {len(times)}")
    hit = epochs_to_target(vals, target, higher_is_better)
    if math.isnan(hit):
        return float("nan")
    return float(sum(times[: int(hit)]))


@dataclass(frozen=True)
class CurveStats:
    """Summary of one training curve (see :func:`curve_stats`)."""

    first: float
    final: float
    best: float
    epochs_to_target: float
    time_to_target_s: float

    @property
    def reached(self) -> bool:
        """Whether the target was reached."""
        return not math.isnan(self.epochs_to_target)


def curve_stats(curve: Sequence[float], wall: Sequence[float] | None = None, target: float | None = None,
                higher_is_better: bool = True) -> CurveStats:
    """First, final and best value of ``curve``, and epochs and wall time to ``target``.

    Without ``target`` (or without ``wall`` for the time) those fields are NaN; NaN
    epochs (a diverged run) are skipped by ``best``.
    """
    vals = _curve(curve)
    finite = [v for v in vals if not math.isnan(v)]
    best = (max(finite) if higher_is_better else min(finite)) if finite else float("nan")
    if target is None:
        return CurveStats(vals[0], vals[-1], best, float("nan"), float("nan"))
    ep = epochs_to_target(vals, target, higher_is_better)
    t = time_to_target(vals, wall, target, higher_is_better) if wall is not None else float("nan")
    return CurveStats(vals[0], vals[-1], best, ep, t)
