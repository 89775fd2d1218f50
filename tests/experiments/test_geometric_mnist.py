"""The geometric-mnist experiment end to end on a tiny slice of real MNIST."""

from __future__ import annotations

import json

from neurocircuits.experiments.runner import run_experiment
from neurocircuits.report.table import ResultTable


def test_geometric_mnist_tiny_run(tmp_path) -> None:
    out = run_experiment("geometric-mnist", quick=True, seeds=1, out=tmp_path, progress=False, device="cpu",
                         overrides={"n_train": 300, "n_val": 100, "n_test": 100, "n_hidden": 300,
                                    "ratios": (0.5, 2.0), "horizon": 20.0,
                                    "variants": ("recurrent", "coincidence", "feedforward")})
    t = ResultTable.load(out / "results.json")
    reps = {r["representation"] for r in t.rows}
    crd_reps = {f"CRD hidden nodes: {v}" for v in ("recurrent", "coincidence", "feedforward")}
    best = "CRD: best variant of each draw (chosen on val)"
    assert reps == {"raw pixels", "blurred pixels (Gaussian, control)", "input latency code (stimulus, control)",
                    best} | crd_reps
    # the best variant's rows are a copy of the rows of the variant chosen on validation
    sel_rows = ResultTable.load(out / "selection.json").rows
    chosen = [r for r in sel_rows if r["variant"].startswith("best: ")][0]["variant"].split(": ")[1]
    assert t.values("test_acc", representation=best) == t.values("test_acc", representation=f"CRD hidden nodes: {chosen}")
    pix = t.values("test_acc", representation="raw pixels", method="P3 k-NN k=1")[0]
    assert 0.6 < pix <= 1.0
    for rep in crd_reps:
        crd = t.values("test_acc", representation=rep, method="P3 k-NN (k chosen on val)")[0]
        assert 0.3 < crd <= 1.0, rep  # real data: far above chance (0.1)
        assert t.values("collisions", representation=rep)[0] == 0
    p2 = t.values("test_acc", representation="raw pixels", method="P2 10-shot templates")[0]
    assert 0.3 < p2 < pix  # ten templates per class: above chance, below k-NN on all references
    sweep = ResultTable.load(out / "sweep.json")
    assert {r["refraction_ratio"] for r in sweep.rows} == {0.5, 2.0}
    # larger R/tau: fewer re-activations in the recurrent network (spec §3 item 2)
    s = {r["refraction_ratio"]: r["spikes_per_hidden"] for r in sweep.where(variant="recurrent", readout="first").rows}
    assert s[2.0] < s[0.5]
    # theta = 1: the first spike is a shortest-path arrival, independent of R (spec §3 item 1)
    acc = {r["refraction_ratio"]: r["val_knn1"] for r in sweep.where(variant="recurrent", readout="first").rows}
    assert acc[0.5] == acc[2.0]
    sel = ResultTable.load(out / "selection.json")
    assert len(sel.rows) == 4 and "k" not in sel.metrics  # k is a chosen setting: listed, never averaged
    manifest = json.loads((out / "manifest.json").read_text())
    text = {x["heading"]: x["body"] for x in manifest["text"]}
    verdicts = text["Verdicts"]
    assert verdicts.count("| ") > 10 and "raw-pixel k-NN" in verdicts
    from neurocircuits.report.stats import VERDICTS
    for line in verdicts.splitlines()[2:]:
        assert line.rstrip(" |").rsplit("| ", 1)[1] in VERDICTS, line
    assert "k 1 (1/1)" in text["Settings chosen on validation (mode (count/draws), or the list)"] or \
        "k 3 (1/1)" in text["Settings chosen on validation (mode (count/draws), or the list)"] or \
        "k 5 (1/1)" in text["Settings chosen on validation (mode (count/draws), or the list)"]
    assert manifest["complete"] and {f["file"] for f in manifest["figures"]} == {"refraction_sweep.png", "raster.png"}


def test_cli_overrides_of_optional_and_tuple_fields() -> None:
    from neurocircuits.experiments.runner import build_config

    c = build_config("geometric-mnist", True, None, {"n_train": "1000", "n_val": "none",
                                                     "variants": "feedforward", "ratios": "0.5,2"})
    assert (c.n_train, c.n_val, c.variants, c.ratios) == (1000, None, ("feedforward",), (0.5, 2.0))


def test_resume_with_tuple_fields_is_accepted(tmp_path) -> None:
    """config.json stores tuples as lists; a resumed run with the same config must not be refused."""
    over = {"n_train": 60, "n_val": 20, "n_test": 20, "n_hidden": 50, "variants": ("feedforward",),
            "ratios": (1.0,), "horizon": 10.0, "ks": (1,), "shots": (1,)}
    run_experiment("geometric-mnist", quick=True, seeds=1, out=tmp_path, progress=False, device="cpu", overrides=over)
    run_experiment("geometric-mnist", quick=True, seeds=1, out=tmp_path, progress=False, device="cpu", overrides=over)
