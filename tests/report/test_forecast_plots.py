"""Forecast figures: labelled axes on every panel, clipping stated, labelled colour bars."""

from __future__ import annotations

import numpy as np

from neurocircuits.report.forecast_plots import behaviour_figure, graph_figure, horizon_figure, trace_figure
from neurocircuits.report.table import ResultTable


def _table() -> ResultTable:
    t = ResultTable(["r2_1s", "r2_5s", "bal_acc", "vel_r2"], seed_column="run")
    for run in range(2):
        t.add(protocol="p", model="good", run=run, r2_1s=0.8, r2_5s=0.5, bal_acc=0.7, vel_r2=0.1)
        t.add(protocol="p", model="bad", run=run, r2_1s=0.2, r2_5s=-4.0 - run, bal_acc=0.5, vel_r2=-1.0)
    return t


def test_horizon_figure_says_when_it_clips():
    fig, clipped = horizon_figure(_table(), ["p"], [1.0, 5.0], ["1s", "5s"])
    ax = fig.axes[0]
    assert clipped and ax.get_ylim() == (-1.0, 1.0) and "horizon (s)" in ax.get_xlabel()
    assert any("clipped: bad" in t.get_text() for t in ax.texts)
    t = _table().where(model="good")
    assert not horizon_figure(t, ["p"], [1.0, 5.0], ["1s", "5s"])[1]


def test_every_panel_has_labels_and_colour_bars_are_labelled():
    for ax in behaviour_figure(_table(), ["p"]).axes:
        assert ax.get_xlabel() and ax.get_ylabel()
    times = np.arange(20) * 0.6
    fig = trace_figure(times, np.zeros((20, 3)), {"m": np.ones((20, 3))}, [("AVAL", 0), ("AVAR", 2)])
    assert all(ax.get_xlabel() == "time in the recording (s)" for ax in fig.axes)
    rng = np.random.default_rng(0)
    fig = graph_figure(rng.random((4, 4)), rng.integers(0, 3, (4, 4)), list("abcd"), rng.random(30), [0.2, 0.3], 0.4)
    labels = {ax.get_ylabel() for ax in fig.axes}
    assert {"mean edge weight", "log(1 + synapses)", "presynaptic (sender)"} <= labels
    assert all(ax.get_xlabel() for ax in fig.axes if ax.get_ylabel() in ("presynaptic (sender)",))
