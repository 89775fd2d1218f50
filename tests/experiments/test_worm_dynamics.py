"""The worm-dynamics experiment: folds that never leak, the graph-overlap statistics, a tiny end-to-end run."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from neurocircuits.data.worms import flavell_recordings, shared_names
from neurocircuits.experiments import run_experiment
from neurocircuits.experiments.worm_dynamics import WormDynamicsConfig, build_folds, graph_vs_connectome, topk_overlap


@pytest.fixture(scope="module")
def named():
    recs = flavell_recordings(named_only=True)
    return recs, shared_names(recs)


def test_within_worm_fold_is_chronological(named):
    recs, names = named
    cfg = WormDynamicsConfig()
    (fold,) = build_folds(recs, names, cfg, "within")
    W, H = cfg.window, max(cfg.horizons)
    for k, r in enumerate(recs):
        tr = fold.train.start[fold.train.worm == k]
        va = fold.val.start[fold.val.worm == k]
        te = fold.test[k].start
        # every training frame (input or target) precedes every validation frame, which precede the test frames
        assert tr.max() + W + 1 <= va.min() - W and va.max() + W + 1 <= te.min() - W
        assert te.max() + W + H <= r.n_frames
    assert fold.train.x.shape[1:] == (W, len(names)) and fold.test[0].y.shape[1:] == (H, len(names))
    # z-scored on training frames: the training inputs have mean ~0 and sd ~1 per neuron
    z = fold.train_traces[0]
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(0, ddof=1), 1, atol=1e-3)


def test_leave_one_worm_out_holds_the_worm_out(named):
    recs, names = named
    cfg = dataclasses.replace(WormDynamicsConfig(), lowo_folds=2)
    folds = build_folds(recs, names, cfg, "lowo")
    assert [f.name for f in folds] == [recs[0].name, recs[1].name]
    for h, f in enumerate(folds):
        assert h not in set(f.train.worm.tolist()) | set(f.val.worm.tolist())
        assert set(f.test[0].worm.tolist()) == {h} and len(f.test[0]) == recs[h].n_frames - cfg.window - 10 + 1
        assert set(f.train.labels.tolist()) == {0, 1}


def test_topk_overlap_and_null():
    rng = np.random.default_rng(0)
    n = 20
    anat = (rng.random((n, n)) < 0.15).astype(float)
    np.fill_diagonal(anat, 0)
    names = [f"N{i}" for i in range(n)]
    k = int(anat.sum())
    assert topk_overlap(anat + 0.01 * rng.random((n, n)), anat, k) == 1.0
    rows, null = graph_vs_connectome([anat + 0.01 * rng.random((n, n)), rng.random((n, n))], anat, names,
                                     [rng.random((n, n))] * 2, shuffles=30)
    assert rows[0]["overlap_inferred"] == 1.0 and rows[0]["z_vs_null"] > 3 and rows[0]["p_vs_null"] < 0.05
    assert abs(rows[1]["overlap_inferred"] - rows[1]["density"]) < 0.15  # a random graph scores at chance
    assert rows[0]["density"] == pytest.approx(k / (n * (n - 1)))
    assert null.shape == (60,)


def test_tiny_end_to_end_run(tmp_path):
    out = run_experiment("worm-dynamics", quick=True, progress=False, out=tmp_path, overrides={
        "seeds": 1, "protocols": ("lowo",), "lowo_folds": 1, "epochs": 1, "graph_hidden": 8,
        "models": ("gru", "gnn-inferred", "gnn-connectome", "gnn-nograph"), "test_stride": 8, "null_shuffles": 5, "unnamed_stride": 16,
        "mlp_hidden": 16, "rnn_hidden": 16, "d_model": 16})
    man = json.loads((out / "manifest.json").read_text())
    assert man["complete"]
    rows = json.loads((out / "results.json").read_text())["rows"]
    models = {r["model"] for r in rows}
    assert models == {"persistence", "mean", "linear", "gru", "gnn-inferred", "gnn-connectome", "gnn-nograph"}
    pers = next(r for r in rows if r["model"] == "persistence")
    assert 0.3 < pers["r2_h1"] < 1.0 and pers["r2_h10"] < pers["r2_h1"]
    report = (out / "report.md").read_text()
    assert "does the graph model beat" in report and "graph_vs_connectome.png" in report
    assert (out / "traces_1step.png").exists()
    # graph nets trained on named worms also ran on the worm without names (136 neurons)
    transfer = json.loads((out / "unnamed_transfer.json").read_text())["rows"]
    assert {r["model"].split(" ")[0] for r in transfer} == {"persistence", "gnn-inferred", "gnn-connectome",
                                                            "gnn-nograph"}
    assert "Does the graph matter?" in report
    assert all(r["worm"] == "2022-05-02-01" and np.isfinite(r["r2_h1"]) for r in transfer)
