"""The one statistics module behind every verdict in every report.

Every experiment decides "A beats B" and "the claim holds" with these functions, so that
the rule is the same everywhere:

- :func:`summarize`: mean, sample sd and a 95 % t-interval of the finite values; ``n``
  counts only the values actually averaged (NaN and None are counted as missing).
- :func:`paired`: a paired comparison across seeds (mean difference with a 95 %
  t-interval, a t or Wilcoxon signed-rank p-value); it is *decided* only when the interval
  excludes zero.
- :func:`proportion` for yes/no outcomes (``"k/n"``), :func:`choice_summary` for chosen
  hyper-parameters (the mode with its count, or the list), never a mean ± sd.
- :func:`verdict` turns comparisons into one of :data:`VERDICTS`.

Example:
    >>> a = [0.91, 0.92, 0.90, 0.93, 0.92]
    >>> b = [0.88, 0.89, 0.87, 0.90, 0.88]
    >>> c = paired(a, b)
    >>> round(c.diff, 3), c.n, c.decided, c.favours
    (0.032, 5, True, 'a')
    >>> verdict([c])
    'holds'
    >>> proportion([True, False, True])
    '2/3'
    >>> choice_summary([3, 3, 1])
    '3 (2/3)'
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from neurocircuits.errors import ValidationError

#: the verdicts a report may give a claim
HOLDS, PARTLY, DOES_NOT_HOLD, UNDECIDED = "holds", "partly", "does not hold here", "undecided (too few seeds)"
VERDICTS = (HOLDS, PARTLY, DOES_NOT_HOLD, UNDECIDED)

Test = Literal["t", "wilcoxon"]


def _finite(values: Iterable[Any]) -> tuple[list[float], int]:
    vals, missing = [], 0
    for v in values:
        if v is None:
            missing += 1
            continue
        try:
            f = float(v)
        except (TypeError, ValueError) as e:
            raise ValidationError(f"statistics need numbers, got {v!r}") from e
        if math.isnan(f):
            missing += 1
        else:
            vals.append(f)
    return vals, missing


def _t_quantile(df: int, level: float = 0.975) -> float:
    from scipy import stats

    return float(stats.t.ppf(level, df))


@dataclass(frozen=True)
class Summary:
    """Mean, sample sd and 95 % t-interval of the finite values; ``n`` counts only those."""

    mean: float
    sd: float
    n: int
    n_missing: int = 0
    lo: float = float("nan")
    hi: float = float("nan")

    @property
    def std(self) -> float:  # the name older tables used
        return self.sd

    def format(self, digits: int = 4) -> str:
        """``mean ± sd`` (``n/a`` with no value; the bare mean with one)."""
        if self.n == 0:
            return "n/a"
        if self.n == 1 or self.sd == 0:
            return _num(self.mean, digits)
        return f"{_num(self.mean, digits)} ± {self.sd:.2g}"


def summarize(values: Iterable[Any]) -> Summary:
    """Summarise ``values`` over seeds, skipping (and counting) NaN and None.

    Example:
        >>> s = summarize([1.0, 2.0, float("nan")])
        >>> s.mean, s.n, s.n_missing
        (1.5, 2, 1)
    """
    vals, missing = _finite(values)
    n = len(vals)
    if n == 0:
        return Summary(float("nan"), float("nan"), 0, missing)
    mean = math.fsum(vals) / n
    if n == 1:
        return Summary(mean, 0.0, 1, missing)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in vals) / (n - 1))
    half = _t_quantile(n - 1) * sd / math.sqrt(n)
    return Summary(mean, sd, n, missing, mean - half, mean + half)


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of ``a`` against ``b`` over seeds (``diff`` = mean of a - b)."""

    diff: float
    lo: float
    hi: float
    p: float
    n: int
    test: str
    higher_is_better: bool = True

    @property
    def decided(self) -> bool:
        """Whether the 95 % interval of the difference excludes zero."""
        return self.n >= 2 and not math.isnan(self.lo) and (self.lo > 0 or self.hi < 0)

    @property
    def favours(self) -> str | None:
        """``"a"`` or ``"b"`` when decided, else None."""
        if not self.decided:
            return None
        a_higher = self.lo > 0
        return "a" if a_higher == self.higher_is_better else "b"

    def format(self, digits: int = 3) -> str:
        """``+0.032 [0.021, 0.043], p = 0.001 (t, n = 5)``."""
        if self.n == 0:
            return "n/a (no paired values)"
        p = "n/a" if math.isnan(self.p) else f"{self.p:.2g}"
        return (f"{self.diff:+.{digits}g} [{_num(self.lo, digits)}, {_num(self.hi, digits)}], "
                f"p = {p} ({self.test}, n = {self.n})")


def paired(a: Sequence[Any], b: Sequence[Any], *, higher_is_better: bool = True,
           test: Test = "t") -> Comparison:
    """Compare ``a`` with ``b`` seed by seed; pairs where either side is missing are dropped.

    ``test="t"`` gives a paired t-test, ``"wilcoxon"`` the signed-rank test (its p-value;
    the interval is always the t-interval of the mean difference).

    Example:
        >>> c = paired([1, 2, 3], [1, 2, 3.5])
        >>> c.n, c.decided
        (3, False)
    """
    if len(a) != len(b):
        raise ValidationError(f"paired comparison needs equally many values, got {len(a)} and {len(b)}")
    if test not in ("t", "wilcoxon"):
        raise ValidationError(f"test must be 't' or 'wilcoxon', got {test!r}")
    diffs = []
    for x, y in zip(a, b):
        pair, _ = _finite([x, y])
        if len(pair) == 2:
            diffs.append(pair[0] - pair[1])
    s = summarize(diffs)
    p = float("nan")
    if s.n >= 2:
        from scipy import stats

        if s.sd == 0:
            p = 1.0 if s.mean == 0 else 0.0
        elif test == "t":
            p = float(stats.ttest_1samp(diffs, 0.0).pvalue)
        else:
            p = float(stats.wilcoxon(diffs).pvalue)
    lo, hi = (s.lo, s.hi) if s.sd != 0 or s.n < 2 else (s.mean, s.mean)
    return Comparison(s.mean if s.n else float("nan"), lo, hi, p, s.n, test, higher_is_better)


def proportion(flags: Iterable[Any]) -> str:
    """``"k/n"`` for yes/no outcomes (None and NaN are not counted).

    Example:
        >>> proportion([1, 0, None, True])
        '2/3'
    """
    vals, _ = _finite(flags)
    return f"{sum(1 for v in vals if v)}/{len(vals)}"


def choice_summary(values: Iterable[Any]) -> str:
    """A chosen hyper-parameter over seeds: ``"mode (k/n)"``, or the sorted list if no value repeats.

    Example:
        >>> choice_summary([1, 5, 3])
        '1, 3, 5'
    """
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return "n/a"
    counts = Counter(vals)
    value, k = counts.most_common(1)[0]
    if k == 1 and len(vals) > 1:
        return ", ".join(str(v) for v in sorted(vals, key=str))
    return f"{value} ({k}/{len(vals)})"


def verdict(comparisons: Sequence[Comparison], *, want: Literal["a", "b"] = "a") -> str:
    """The verdict of a claim that ``want`` wins every one of ``comparisons``.

    ``holds`` when every comparison is decided for ``want``; ``does not hold here`` when
    none is decided for it and at least one is decided against it; ``partly`` when some
    but not all are decided for it; otherwise ``undecided (too few seeds)``.

    Example:
        >>> verdict([paired([1, 2, 3], [1, 2, 3.5])])
        'undecided (too few seeds)'
    """
    if not comparisons:
        raise ValidationError("verdict needs at least one comparison")
    won = sum(c.favours == want for c in comparisons)
    lost = sum(c.favours is not None and c.favours != want for c in comparisons)
    if won == len(comparisons):
        return HOLDS
    if won > 0:
        return PARTLY
    if lost > 0:
        return DOES_NOT_HOLD
    return UNDECIDED


def combine(verdicts: Sequence[str]) -> str:
    """Combine the verdicts of a claim's parts into one.

    Example:
        >>> combine(["holds", "holds"]), combine(["holds", "does not hold here"])
        ('holds', 'partly')
    """
    if not verdicts:
        raise ValidationError("combine needs at least one verdict")
    for v in verdicts:
        if v not in VERDICTS:
            raise ValidationError(f"unknown verdict {v!r}; known: {', '.join(VERDICTS)}")
    s = set(verdicts)
    if s == {HOLDS}:
        return HOLDS
    if HOLDS in s or PARTLY in s:
        return PARTLY
    if s == {UNDECIDED}:
        return UNDECIDED
    return DOES_NOT_HOLD if UNDECIDED not in s else UNDECIDED


def _num(v: float, digits: int) -> str:
    if math.isnan(v):
        return "nan"
    if float(v).is_integer() and abs(v) < 1e9:
        return str(int(v))
    return f"{v:.{digits}g}"
