"""Selection on validation and paired comparisons read from a results table."""

import math

import pytest

from neurocircuits.errors import ValidationError
from neurocircuits.report.selection import (
    by_seed, compare_selected, paired_by_seed, select_on_validation, selected_table,
)
from neurocircuits.report.table import ResultTable


def _table():
    t = ResultTable(["val", "test", "diverged"], flags=["diverged"])
    for s in range(4):
        t.add(cond="x", arm="A", alpha=1.0, seed=s, val=0.80, test=0.80 + 0.01 * s, diverged=0)
        t.add(cond="x", arm="B", alpha=1.5, seed=s, val=0.85, test=0.84 + 0.01 * s + 0.001 * (s % 2), diverged=0)
        t.add(cond="x", arm="B", alpha=2.0, seed=s, val=0.85, test=0.99, diverged=0)  # tie on val: smaller alpha
        t.add(cond="x", arm="B", alpha=3.0, seed=s, val=float("nan"), test=0.1, diverged=1)
    return t


def test_select_on_validation_never_reads_the_test_split():
    t = _table()
    assert select_on_validation(t, "alpha", "val", arm="B") == 1.5  # 2.0 ties and has the better test score
    assert select_on_validation(t, "alpha", "val", higher_is_better=False, arm="B") == 1.5
    assert select_on_validation(t, "alpha", "val", arm="C") is None


def test_paired_by_seed_drops_missing_seeds():
    t = _table()
    t.rows = [r for r in t.rows if not (r["arm"] == "A" and r["seed"] == 3)]
    c = paired_by_seed(t, "test", {"arm": "B", "alpha": 1.5}, {"arm": "A"})
    assert c.n == 3 and c.favours == "a" and c.diff == pytest.approx(0.04 + 0.001 / 3)
    assert math.isnan(by_seed(t, "test", [0, 3], arm="A")[1])
    with pytest.raises(ValidationError, match="rows match"):
        by_seed(t, "test", arm="B")  # several alphas per seed


def test_compare_selected_and_selected_table():
    t = _table()
    [(labels, c)] = compare_selected(t, [{"cond": "x"}], "B", "A", "val", "test", fixed={"A": 1.0})
    assert labels == {"cond": "x", "alpha B": 1.5, "alpha A": 1.0} and c.favours == "a" and c.n == 4
    assert compare_selected(t, [{"cond": "y"}], "B", "A", "val", "test", fixed={"A": 1.0}) == []
    s = selected_table(t, [{"cond": "x"}], ["A", "B"], "val", ["test", "diverged"], fixed={"A": 1.0})
    assert {(r["arm"], r["alpha"]) for r in s.rows} == {("A", 1.0), ("B", 1.5)} and len(s) == 8
    assert s.flags == ["diverged"]
