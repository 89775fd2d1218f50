"""The worm-dynamics experiment end to end on the real recordings (tiny budget)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np

from neurocircuits.data.worms import FLAVELL_IDS, flavell_dir
from neurocircuits.experiments import run_experiment


def _data_root(tmp_path: Path) -> Path:
    """The shipped recordings plus a copy of the unnamed worm re-timed to 0.737 s frames."""
    src, root = flavell_dir(), tmp_path / "flavell"
    root.mkdir()
    for f in src.iterdir():
        (root / f.name).symlink_to(f)
    copy = root / "2022-01-16-01-data.h5"
    shutil.copy(src / f"{FLAVELL_IDS[0]}-data.h5", copy)
    with h5py.File(copy, "r+") as fh:
        ts = fh["timing/timestamp_confocal"]
        ts[...] = ts[()] * (0.737 / 0.6)
    return root


def test_tiny_end_to_end_run(tmp_path):
    out = run_experiment("worm-dynamics", quick=True, progress=False, out=tmp_path / "run", overrides={
        "seeds": 1, "protocols": ("lowo",), "lowo_folds": 2, "epochs": 2, "graph_hidden": 8, "train_stride": 6,
        "models": ("gru", "gnn-inferred", "gnn-nograph"), "test_stride": 8, "null_shuffles": 5, "unnamed_stride": 16,
        "rnn_hidden": 16, "data_root": str(_data_root(tmp_path))})
    man = json.loads((out / "manifest.json").read_text())
    assert man["complete"]
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert {r["model"] for r in rows} == {"persistence", "mean", "linear", "gru", "gnn-inferred", "gnn-nograph"}
    pers = next(r for r in rows if r["model"] == "persistence")
    assert 0.3 < pers["r2_0.6s"] < 1.0 and pers["r2_6s"] < pers["r2_0.6s"]  # horizons in seconds
    # every run trains its whole budget and reports it
    training = json.loads((out / "training.json").read_text())["rows"]
    assert len(training) == 2 * 3 and all(r["epochs"] == 2 and r["best_epoch"] in (1, 2) for r in training)
    report = (out / "report.md").read_text()
    assert "does the graph model beat" in report and "graph_vs_connectome.png" in report
    assert "no-graph network" in report and "| gnn-inferred | gnn-nograph | r2_0.6s |" in report
    assert "mean ± sd" not in report.split("Strongest inferred edges")[1].split("\n\n")[2]  # p per run, not averaged
    assert (out / "traces_0.6s.png").exists() and (out / "traces_6s.png").exists()
    # graph nets trained on named worms ran on every worm without names, one of them resampled from 0.737 s
    transfer = json.loads((out / "unnamed_transfer.json").read_text())["rows"]
    assert {r["worm"] for r in transfer} == {"2022-05-02-01", "2022-01-16-01"}
    assert {r["model"].split(" ")[0] for r in transfer} == {"persistence", "gnn-inferred", "gnn-nograph"}
    assert all(np.isfinite(r["r2_0.6s"]) for r in transfer)
    assert "2022-01-16-01: 136 neurons" in report
