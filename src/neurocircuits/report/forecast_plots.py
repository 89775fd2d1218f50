"""Figures of forecasting and decoding results: skill against horizon, decoding bars, traces, graphs.

Every function returns a :class:`matplotlib.figure.Figure` (no pyplot state) with labelled
axes and colour bars; save it with :func:`neurocircuits.report.plots.save_figure` or
``RunContext.add_figure``.

Example:
    >>> import numpy as np
    >>> from neurocircuits.report.table import ResultTable
    >>> t = ResultTable(["r2_1s", "r2_5s"], seed_column="run")
    >>> t.add(protocol="p", model="a", run=0, r2_1s=0.8, r2_5s=-3.0)
    >>> fig, clipped = horizon_figure(t, ["p"], [1.0, 5.0], ["1s", "5s"])
    >>> clipped
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from neurocircuits.report.plots import bar_mean_spread, new_figure
from neurocircuits.report.stats import summarize
from neurocircuits.report.table import ResultTable


def horizon_figure(table: ResultTable, protocols: Sequence[str], horizons_s: Sequence[float], labels: Sequence[str],
                   titles: Mapping[str, str] | None = None, metric: str = "r2", floor: float = -1.0
                   ) -> tuple[Figure, bool]:
    """Mean ± sd of ``<metric>_<label>`` against the horizon in seconds, one line per model, one panel per protocol.

    The y axis stops at ``floor``; a mean below it is drawn as a triangle on the floor and
    the panel says so. Returns the figure and whether anything was clipped.
    """
    fig, ax = new_figure(len(protocols), 1, size=(5.2, 3.8))
    clipped_any = False
    for a, p in zip(ax[0], protocols):
        t = table.where(protocol=p)
        models = list(dict.fromkeys(str(r["model"]) for r in t.rows))
        clipped = []
        for i, m in enumerate(models):
            s = [summarize(t.values(f"{metric}_{h}", model=m)) for h in labels]
            mean, sd = np.array([x.mean for x in s]), np.array([x.sd if x.n > 1 else 0.0 for x in s])
            col = f"C{i % 10}"
            a.plot(horizons_s, mean, marker="o", ms=3, color=col, label=m)
            a.fill_between(horizons_s, mean - sd, mean + sd, color=col, alpha=0.15, lw=0)
            low = mean < floor
            if low.any():
                clipped.append(m)
                a.scatter(np.asarray(horizons_s)[low], np.full(low.sum(), floor + 0.03), marker="v", color=col, s=30,
                          zorder=3, clip_on=False)
        a.set_ylim(floor, 1.0)
        a.axhline(0, color="grey", lw=0.6)
        a.set_xlabel("forecast horizon (s)")
        a.set_ylabel(f"mean per-neuron {'R²' if metric == 'r2' else metric}")
        a.set_title((titles or {}).get(p, p), fontsize=9)
        if clipped:
            clipped_any = True
            a.text(0.02, 0.03, f"▼ mean below {floor:g}, clipped: {', '.join(clipped)}", transform=a.transAxes,
                   fontsize=6.5, va="bottom")
        a.grid(alpha=0.3)
        a.legend(fontsize=6.5, title="model", title_fontsize=7, loc="upper right")
    return fig, clipped_any


def behaviour_figure(table: ResultTable, protocols: Sequence[str],
                     metrics: Sequence[tuple[str, str, float]] = (("bal_acc", "reversal balanced accuracy", 0.5),
                                                                   ("vel_r2", "velocity R²", 0.0))) -> Figure:
    """Bars (mean ± sd, runs as dots) of each ``(metric, label, reference line)`` per model and protocol."""
    fig, ax = new_figure(len(metrics), len(protocols), size=(5.5, 3.4))
    for i, p in enumerate(protocols):
        for j, (m, label, ref) in enumerate(metrics):
            a = ax[i, j]
            bar_mean_spread(a, table, "model", m, where={"protocol": p})
            a.axhline(ref, color="grey", lw=0.8, ls="--")
            a.set_ylabel(label)
            a.set_xlabel("model")
            a.set_title(f"{p}: {label} (dashed: {'chance' if ref == 0.5 else 'zero'})", fontsize=9)
    return fig


def trace_figure(times: np.ndarray, truth: np.ndarray, predictions: Mapping[str, np.ndarray],
                 neurons: Sequence[tuple[str, int]], xlabel: str = "time in the recording (s)") -> Figure:
    """True trace (black) and each model's prediction of the same frames, one panel per ``(name, column)``.

    ``times`` (n,) are the times of the predicted frames; ``truth`` and each prediction are (n, N).
    """
    fig, ax = new_figure(1, len(neurons), size=(11, 2.3))
    order = np.argsort(times)
    for a, (name, j) in zip(ax[:, 0], neurons):
        a.plot(times[order], truth[order, j], color="k", lw=1.5, label="true")
        for m, pred in predictions.items():
            a.plot(times[order], pred[order, j], lw=0.9, label=m)
        a.set_ylabel(f"{name} (z-scored)")
        a.set_xlabel(xlabel)
        a.grid(alpha=0.3)
    ax[0, 0].legend(fontsize=7, ncol=len(predictions) + 1, loc="upper right")
    return fig


def graph_figure(inferred: np.ndarray, counts: np.ndarray, names: Sequence[str], null: np.ndarray,
                 observed: Sequence[float], correlation: float | None = None, title: str = "inferred",
                 connectome: str = "connectome") -> Figure:
    """Mean inferred ``A[pre, post]``, the anatomy (log1p synapses), and observed overlaps against the null."""
    fig, ax = new_figure(3, 1, size=(4.6, 4.2))
    ticks = range(len(names))
    for a, mat, ttl, cb in ((ax[0, 0], inferred, f"inferred A[pre, post] ({title})", "mean edge weight"),
                            (ax[0, 1], np.log1p(counts), f"{connectome} anatomy", "log(1 + synapses)")):
        im = a.imshow(mat, cmap="viridis")
        a.set_title(ttl, fontsize=9)
        a.set_xticks(ticks, list(names), rotation=90, fontsize=4)
        a.set_yticks(ticks, list(names), fontsize=4)
        a.set_xlabel("postsynaptic (receiver)")
        a.set_ylabel("presynaptic (sender)")
        fig.colorbar(im, ax=a, shrink=0.7).set_label(cb)
    h = ax[0, 2]
    h.hist(null, bins=20, color="grey", alpha=0.7, label="shuffled anatomy (null)")
    for i, o in enumerate(observed):
        h.axvline(o, color="crimson", lw=1, label="inferred graph, each run" if i == 0 else None)
    if correlation is not None:
        h.axvline(correlation, color="navy", ls="--", label="|correlation| graph")
    h.set_xlabel("fraction of the top-k edges that are anatomical")
    h.set_ylabel("count (null shuffles x runs)")
    h.yaxis.set_major_locator(MaxNLocator(integer=True))
    h.legend(fontsize=7)
    return fig



def window_trace_figure(windows: Any, dt: float, predictions: Mapping[str, np.ndarray], names: Sequence[str],
                        horizon: int = 1, neurons: Sequence[str] = ("AVAL", "AVEL", "SMDVL", "RMDL"),
                        max_windows: int = 250, where: str = "the recording") -> Figure:
    """:func:`trace_figure` of the ``horizon``-step forecasts of test windows, against time in seconds.

    ``windows`` has ``x`` (n, W, N), ``y`` (n, H, N) and ``start`` (n,) (e.g.
    :class:`neurocircuits.data.worms.Windows`); each prediction is (n, H, N). The time of a
    forecast is that of the predicted frame, ``(start + W - 1 + horizon) * dt``. Shows up to
    three of ``neurons`` found in ``names`` (else the first three).
    """
    show = [(n, list(names).index(n)) for n in neurons if n in names][:3] or [(n, i) for i, n in enumerate(names[:3])]
    order = np.argsort(windows.start)[:max_windows]
    times = (windows.start[order] + windows.x.shape[1] - 1 + horizon) * dt
    preds = {m: p[order, horizon - 1] for m, p in predictions.items()}
    return trace_figure(times, windows.y[order, horizon - 1], preds, show, xlabel=f"time in {where} (s)")
