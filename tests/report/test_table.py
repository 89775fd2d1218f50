import math

import pytest

from neurocircuits.errors import ValidationError
from neurocircuits.report import ResultTable
from neurocircuits.report.stats import summarize as summarise


def test_summarise_mean_and_sample_sd():
    s = summarise([1.0, 2.0, 3.0, float("nan")])
    assert (s.mean, s.std, s.n) == (2.0, 1.0, 3)
    assert summarise([]).n == 0 and math.isnan(summarise([]).mean)
    assert s.format() == "2 ± 1"


def test_aggregate_groups_by_condition_over_seeds(tmp_path):
    t = ResultTable(metrics=["acc", "loss"], title="demo")
    for seed, acc in enumerate([0.8, 0.9, 1.0]):
        t.add(model="mlp", depth=4, seed=seed, acc=acc, loss=1 - acc)
    t.add(model="gnn", depth=4, seed=0, acc=0.5, loss=0.5)
    agg = {a["model"]: a for a in t.aggregate()}
    assert agg["mlp"]["acc"].mean == pytest.approx(0.9) and agg["mlp"]["acc"].n == 3
    assert agg["mlp"]["acc"].std == pytest.approx(0.1)
    md = t.to_markdown()
    assert "| model | depth | acc | loss | n |" in md and "0.9 ± 0.1" in md
    t.save(tmp_path / "t.json")
    back = ResultTable.load(tmp_path / "t.json")
    assert back.rows == t.rows and back.metrics == t.metrics
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == "model,depth,seed,acc,loss"


def test_metric_must_be_numeric():
    t = ResultTable(metrics=["acc"])
    with pytest.raises(ValidationError, match="must be a number"):
        t.add(acc="high")


def test_flags_are_shown_as_k_of_n_never_as_mean_sd(tmp_path):
    from neurocircuits.report.table import ResultTable

    t = ResultTable(["acc", "diverged"], flags=["diverged"])
    t.add(arm="A", seed=0, acc=0.9, diverged=0)
    t.add(arm="A", seed=1, acc=float("nan"), diverged=1)
    t.add(arm="A", seed=2, acc=0.8, diverged=0)
    md = t.to_markdown()
    row = md.strip().splitlines()[-1]
    assert "| 1/3 |" in row and "(n = 2)" in row and "0.33" not in row
    t.save(tmp_path / "t.json")
    assert ResultTable.load(tmp_path / "t.json").flags == ["diverged"]
