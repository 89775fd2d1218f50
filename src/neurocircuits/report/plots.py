"""Plots of results with mean and spread over seeds.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot), so plotting
never touches global backend state and works headless.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

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
    ax: Axes, table: ResultTable, x: str, metric: str, hue: str | None = None,
    where: dict[str, Any] | None = None, logx: bool = False, label_prefix: str = "",
    legend_title: str | None = None, integer_x: bool = False, xlabel: str | None = None,
    ylabel: str | None = None, colors: dict[Any, str] | None = None,
) -> None:
    """Line of the mean of ``metric`` against ``x`` with a ±1 sd band, one line per ``hue``.

    ``legend_title`` names the legend (default: the ``hue`` column); ``integer_x`` puts
    ticks on whole numbers only (epochs, counts); ``xlabel``/``ylabel`` default to the
    column names; ``colors`` maps hue values to colours (default: the colour cycle).
    """
    t = table.where(**(where or {}))
    hues: list[Any] = [None] if hue is None else _unique(r.get(hue) for r in t.rows)
    for h in hues:
        sub = t if h is None or hue is None else t.where(**{hue: h})
        xs = sorted(_unique(r[x] for r in sub.rows if x in r), key=_sort_key)
        means, sds = [], []
        for xv in xs:
            vals = np.array(sub.values(metric, **{x: xv}), dtype=float)
            means.append(vals.mean() if vals.size else np.nan)
            sds.append(vals.std(ddof=1) if vals.size > 1 else 0.0)
        m, s = np.array(means), np.array(sds)
        xx = np.array(xs, dtype=float) if all(isinstance(v, (int, float)) for v in xs) else np.arange(len(xs))
        label = f"{label_prefix}{h}" if h is not None else (label_prefix or None)
        line, = ax.plot(xx, m, marker="o", ms=3, label=label, color=(colors or {}).get(h))
        ax.fill_between(xx, m - s, m + s, color=line.get_color(), alpha=0.2, lw=0)
        if not all(isinstance(v, (int, float)) for v in xs):
            ax.set_xticks(xx, [str(v) for v in xs], rotation=30, ha="right")
    if logx:
        ax.set_xscale("log")
        xraw = [r.get(x) for r in t.rows]
        xv = sorted({float(v) for v in xraw if isinstance(v, (int, float)) and v > 0})
        if 0 < len(xv) <= 12:  # ticks at the values measured, written plainly (no 3x10^0 clutter)
            ax.set_xticks(xv, [f"{v:g}" for v in xv])
            ax.xaxis.set_minor_formatter(NullFormatter())
    if integer_x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or metric)
    if hue is not None:
        ax.legend(fontsize=7, title=legend_title or hue, title_fontsize=7)
    ax.grid(alpha=0.3)


def plot_learning_curves(
    ax: Axes, table: ResultTable, metric: str, hue: str, *, epoch: str = "epoch", diverged: str = "diverged",
    where: dict[str, Any] | None = None, legend_title: str | None = None, ylabel: str | None = None,
) -> int:
    """Learning curves: mean ± sd of ``metric`` per epoch, one line per ``hue``, diverged runs marked.

    Rows whose ``diverged`` column is true (a run whose loss became non-finite) are left
    out of the mean and drawn as crosses in their line's colour at each of their epochs,
    with a legend entry "<hue>: diverged (k runs)"; epoch ticks are whole numbers. Returns
    the number of diverged runs (distinct hue and seed) drawn.

    Example:
        >>> t = ResultTable(["acc"])
        >>> for s in range(2):
        ...     for e in (1, 2):
        ...         t.add(arm="A", seed=s, epoch=e, acc=0.5 + 0.1 * e, diverged=0)
        ...         t.add(arm="B", seed=s, epoch=e, acc=0.1, diverged=int(s == 1))
        >>> fig, ax = new_figure()
        >>> plot_learning_curves(ax[0, 0], t, "acc", hue="arm", legend_title="init")
        1
    """
    t = table.where(**(where or {}))
    ok = ResultTable(list(t.metrics), [r for r in t.rows if not r.get(diverged)], t.seed_column)
    bad = [r for r in t.rows if r.get(diverged)]
    colors = {h: f"C{i % 10}" for i, h in enumerate(_unique(r.get(hue) for r in t.rows))}
    plot_mean_spread(ax, ok, epoch, metric, hue=hue, integer_x=True, ylabel=ylabel, colors=colors)
    for h in _unique(r.get(hue) for r in bad):
        hb = [r for r in bad if r.get(hue) == h]
        k = len({r.get(t.seed_column) for r in hb})
        ax.scatter([float(r[epoch]) for r in hb], [float(r[metric]) for r in hb],  # type: ignore[arg-type]
                   marker="x", color=colors[h], s=30, zorder=4, label=f"{h}: diverged ({k} run{'s' * (k != 1)})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7, title=legend_title or hue, title_fontsize=7)
    return len({(r.get(hue), r.get(t.seed_column)) for r in bad})


def bar_mean_spread(ax: Axes, table: ResultTable, by: str, metric: str, where: dict[str, Any] | None = None,
                    order: Sequence[Any] | None = None) -> None:
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


def _unique(values: Any) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _sort_key(v: Any) -> tuple[int, Any, str]:
    return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))


def plot_seed_dots(ax, xs: Sequence[float], values: Sequence[Sequence[float]], label: str | None = None) -> None:
    """A line through the mean of each x's values (NaN skipped) with every seed's value as a dot."""
    means = [float(np.nanmean(v)) if len(v) and not np.all(np.isnan(v)) else np.nan for v in values]
    line, = ax.plot(xs, means, marker="o", label=label)
    for x, v in zip(xs, values):
        ax.scatter([x] * len(v), v, s=8, color=line.get_color(), alpha=0.5)
