"""Plots of results with mean and spread over seeds.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot), so plotting
never touches global backend state and works headless.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from neurocircuits.report.table import ResultTable


def new_figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (5.0, 3.6)) -> tuple[Figure, np.ndarray]:
    """A figure and a 2-D array of axes, ``size`` per panel."""
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))
    return fig, axes


def save_figure(fig: Figure, path: str | Path, dpi: int = 120) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def plot_mean_spread(
    ax, table: ResultTable, x: str, metric: str, hue: str | None = None,
    where: dict | None = None, logx: bool = False, label_prefix: str = "",
) -> None:
    """Line of the mean of ``metric`` against ``x`` with a ±1 sd band, one line per ``hue``."""
    t = table.where(**(where or {}))
    hues = [None] if hue is None else _unique(r.get(hue) for r in t.rows)
    for h in hues:
        sub = t if h is None else t.where(**{hue: h})
        xs = sorted(_unique(r[x] for r in sub.rows if x in r), key=_sort_key)
        means, sds = [], []
        for xv in xs:
            vals = np.array(sub.values(metric, **{x: xv}), dtype=float)
            means.append(vals.mean() if vals.size else np.nan)
            sds.append(vals.std(ddof=1) if vals.size > 1 else 0.0)
        m, s = np.array(means), np.array(sds)
        xx = np.array(xs, dtype=float) if all(isinstance(v, (int, float)) for v in xs) else np.arange(len(xs))
        label = f"{label_prefix}{h}" if h is not None else (label_prefix or None)
        line, = ax.plot(xx, m, marker="o", ms=3, label=label)
        ax.fill_between(xx, m - s, m + s, color=line.get_color(), alpha=0.2, lw=0)
        if not all(isinstance(v, (int, float)) for v in xs):
            ax.set_xticks(xx, [str(v) for v in xs], rotation=30, ha="right")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    if hue is not None:
        ax.legend(fontsize=7, title=hue, title_fontsize=7)
    ax.grid(alpha=0.3)


def bar_mean_spread(ax, table: ResultTable, by: str, metric: str, where: dict | None = None,
                    order: Sequence | None = None) -> None:
    """Bars of the mean of ``metric`` per value of ``by``, error bars ±1 sd, seeds as dots."""
    t = table.where(**(where or {}))
    cats = list(order) if order is not None else _unique(r.get(by) for r in t.rows)
    rng = np.random.default_rng(0)
    for i, c in enumerate(cats):
        vals = np.array(t.values(metric, **{by: c}), dtype=float)
        if vals.size == 0:
            continue
        ax.bar(i, vals.mean(), yerr=vals.std(ddof=1) if vals.size > 1 else 0, color=f"C{i % 10}",
               alpha=0.7, capsize=3)
        ax.scatter(i + rng.uniform(-0.15, 0.15, vals.size), vals, s=8, color="k", zorder=3)
    ax.set_xticks(range(len(cats)), [str(c) for c in cats], rotation=30, ha="right")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3, axis="y")


def _unique(values) -> list:
    out: list = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _sort_key(v):
    return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))


def plot_seed_dots(ax, xs: Sequence[float], values: Sequence[Sequence[float]], label: str | None = None) -> None:
    """A line through the mean of each x's values (NaN skipped) with every seed's value as a dot."""
    means = [float(np.nanmean(v)) if len(v) and not np.all(np.isnan(v)) else np.nan for v in values]
    line, = ax.plot(xs, means, marker="o", label=label)
    for x, v in zip(xs, values):
        ax.scatter([x] * len(v), v, s=8, color=line.get_color(), alpha=0.5)
