import math

import pytest
from scipy import stats as sps

from neurocircuits.errors import ValidationError
from neurocircuits.report import stats


def test_summarize_counts_only_finite_values_and_gives_t_interval():
    s = stats.summarize([1.0, 2.0, 3.0, float("nan"), None])
    assert (s.mean, s.sd, s.n, s.n_missing) == (2.0, 1.0, 3, 2)
    half = sps.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert s.lo == pytest.approx(2 - half) and s.hi == pytest.approx(2 + half)
    assert stats.summarize([]).n == 0 and stats.summarize([]).format() == "n/a"
    assert stats.summarize([5.0]).format() == "5"


def test_paired_matches_scipy_and_drops_incomplete_pairs():
    a = [0.9, 0.8, 0.95, 0.85, float("nan")]
    b = [0.7, 0.75, 0.8, 0.7, 0.6]
    c = stats.paired(a, b)
    assert c.n == 4
    assert c.diff == pytest.approx(0.1375)
    assert c.p == pytest.approx(sps.ttest_rel(a[:4], b[:4]).pvalue)
    assert c.decided and c.favours == "a"
    assert stats.paired(a, b, higher_is_better=False).favours == "b"
    w = stats.paired(a, b, test="wilcoxon")
    assert w.p == pytest.approx(sps.wilcoxon([x - y for x, y in zip(a[:4], b[:4])]).pvalue)


def test_verdicts():
    win = stats.paired([2, 3, 4, 5], [1, 2, 3, 4.1])
    lose = stats.paired([1, 2, 3, 4.1], [2, 3, 4, 5])
    noise = stats.paired([1, 2, 3], [1.5, 1.5, 3.2])
    assert stats.verdict([win]) == stats.HOLDS
    assert stats.verdict([win, noise]) == stats.PARTLY
    assert stats.verdict([lose]) == stats.DOES_NOT_HOLD
    assert stats.verdict([noise]) == stats.UNDECIDED
    assert stats.verdict([stats.paired([1], [0])]) == stats.UNDECIDED  # one seed decides nothing
    assert stats.combine([stats.HOLDS, stats.DOES_NOT_HOLD]) == stats.PARTLY
    with pytest.raises(ValidationError):
        stats.combine(["maybe"])
    with pytest.raises(ValidationError):
        stats.paired([1, 2], [1])


def test_proportion_and_choice():
    assert stats.proportion([True, False, None, 1]) == "2/3"
    assert stats.choice_summary([3, 3, 1]) == "3 (2/3)"
    assert stats.choice_summary([1, 5]) == "1, 5"
    assert stats.choice_summary([]) == "n/a"
