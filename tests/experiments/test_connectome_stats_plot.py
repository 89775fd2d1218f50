"""The connectome-stats matrix plot: labelled axes and colour bar, class boundaries, inhibitory entries shown."""

from __future__ import annotations

import numpy as np

from neurocircuits.experiments import run_experiment
from neurocircuits.experiments.context import RunContext


def test_matrix_plot_is_labelled_and_shows_inhibition(tmp_path, monkeypatch):
    figures = {}
    original = RunContext.add_figure

    def capture(self, fig, name, caption=""):
        figures[name] = (fig, caption)
        return original(self, fig, name, caption)

    monkeypatch.setattr(RunContext, "add_figure", capture)
    run_experiment("connectome-stats", quick=True, seeds=1, out=tmp_path / "run", progress=False,
                   overrides={"connectomes": "witvliet2021-7", "swaps_per_edge": 0.5})
    fig, caption = figures["matrices"]
    panel, cbar = fig.axes[0], fig.axes[-1]
    assert panel.get_xlabel() == "postsynaptic neuron (by class)"
    assert panel.get_ylabel() == "presynaptic neuron (by class)"
    assert "signed synapse count" in cbar.get_ylabel()
    assert {t.get_text() for t in panel.get_yticklabels()} >= {"inter", "motor", "sensory"}
    assert len(panel.get_lines()) >= 4  # class boundaries, both directions
    # the colour scale is symmetric about zero and the inhibitory entries are drawn
    image = panel.get_images()[0]
    norm = image.norm
    assert np.isclose(norm.vmin, -norm.vmax)
    inhibitory = panel.collections[0].get_array()
    assert inhibitory.size > 0 and (np.asarray(inhibitory) < 0).all()
    assert "sorted by cell class" in caption and (tmp_path / "run" / "matrices.png").is_file()
