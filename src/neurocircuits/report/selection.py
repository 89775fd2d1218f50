"""Choosing a hyper-parameter on validation, and paired comparisons read from a results table.

:func:`select_on_validation` picks, for one condition, the value of a hyper-parameter
(e.g. ``alpha``) whose runs have the best *mean validation* metric over seeds; the test
numbers of that choice are then reported (never tune on the test split).
:func:`paired_by_seed` lines two conditions of a :class:`~neurocircuits.report.table.ResultTable`
up seed by seed and compares them with :func:`neurocircuits.report.stats.paired` (a seed
present on one side only counts as missing, so it shows in ``n``).

Example:
    >>> from neurocircuits.report.table import ResultTable
    >>> t = ResultTable(["val", "test"])
    >>> for seed in range(3):
    ...     t.add(arm="A", alpha=1.0, seed=seed, val=0.80, test=0.79 + 0.01 * seed)
    ...     t.add(arm="B", alpha=1.5, seed=seed, val=0.90, test=0.88 + 0.01 * seed)
    ...     t.add(arm="B", alpha=2.0, seed=seed, val=0.85, test=0.90)
    >>> select_on_validation(t, "alpha", "val", arm="B")
    1.5
    >>> c = paired_by_seed(t, "test", {"arm": "B", "alpha": 1.5}, {"arm": "A"})
    >>> round(c.diff, 3), c.n, c.favours
    (0.09, 3, 'a')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from neurocircuits.errors import ValidationError
from neurocircuits.report.stats import Comparison, Test, paired, summarize
from neurocircuits.report.table import ResultTable, Scalar


def select_on_validation(table: ResultTable, param: str, val_metric: str, higher_is_better: bool = True,
                         **match: Scalar) -> Any:
    """The value of ``param`` with the best mean ``val_metric`` over the rows matching ``match``.

    Ties go to the smallest value. Returns None when no row matches or no value has a
    finite validation mean.
    """
    rows = table.where(**match).rows
    values = sorted({r[param] for r in rows if param in r}, key=lambda v: (str(type(v)), v))
    best, best_key = None, None
    for v in values:
        s = summarize(r.get(val_metric) for r in rows if r.get(param) == v)
        if s.n == 0:
            continue
        key = s.mean if higher_is_better else -s.mean
        if best_key is None or key > best_key:
            best, best_key = v, key
    return best


def by_seed(table: ResultTable, metric: str, seeds: list[Any] | None = None, **match: Scalar) -> list[float]:
    """``metric`` of the rows matching ``match``, one value per seed (NaN where a seed has none).

    Raises ``ValidationError`` when a seed has several matching rows (the match is not
    specific enough to name one run per seed).
    """
    col = table.seed_column
    rows = table.where(**match).rows
    seeds = sorted({r[col] for r in rows}, key=str) if seeds is None else seeds
    out = []
    for s in seeds:
        hit = [r for r in rows if r.get(col) == s]
        if len(hit) > 1:
            raise ValidationError(f"{len(hit)} rows match {match} for {col}={s}; add keys to the match")
        v = hit[0].get(metric) if hit else None
        out.append(float("nan") if v is None else float(v))  # type: ignore[arg-type]
    return out


def paired_by_seed(table: ResultTable, metric: str, a: Mapping[str, Scalar], b: Mapping[str, Scalar],
                   higher_is_better: bool = True, test: Test = "t", **common: Scalar) -> Comparison:
    """Paired comparison of ``metric`` between the runs matching ``a`` and those matching ``b``.

    ``common`` is added to both matches. Seeds are the union of both sides; a seed missing
    (or NaN) on either side is dropped from the pairs.
    """
    col = table.seed_column
    ta, tb = table.where(**{**common, **a}), table.where(**{**common, **b})
    seeds = sorted({r[col] for r in ta.rows} | {r[col] for r in tb.rows}, key=str)
    va, vb = by_seed(ta, metric, seeds), by_seed(tb, metric, seeds)
    return paired(va, vb, higher_is_better=higher_is_better, test=test)



def compare_selected(table: ResultTable, conditions: Sequence[Mapping[str, Scalar]], a: str, b: str,
                     val_metric: str, test_metric: str, *, param: str = "alpha", group: str = "arm",
                     fixed: Mapping[str, Scalar] | None = None, higher_is_better: bool = True,
                     test: Test = "t") -> list[tuple[dict[str, Any], Comparison]]:
    """For each condition: choose ``param`` for groups ``a`` and ``b`` on ``val_metric``, compare on ``test_metric``.

    ``group`` is the column naming the compared groups (e.g. an ``arm``); groups in
    ``fixed`` have no free ``param`` (e.g. a baseline recorded with ``alpha = 1``). Each
    result pairs the condition's labels (with both chosen values, as ``"<param> <group>"``)
    with the paired comparison of ``a`` against ``b`` over seeds. Conditions where either
    group has no runs are skipped.

    Example:
        >>> t = ResultTable(["val", "test"])
        >>> for s in range(3):
        ...     t.add(model="m", arm="A", alpha=1.0, seed=s, val=0.8, test=0.80 + 0.01 * s)
        ...     t.add(model="m", arm="B", alpha=2.0, seed=s, val=0.9, test=0.85 + 0.01 * s)
        >>> [(lab["alpha B"], c.favours) for lab, c in compare_selected(t, [{"model": "m"}], "B", "A", "val", "test",
        ...                                                              fixed={"A": 1.0})]
        [(2.0, 'a')]
    """
    fixed = dict(fixed or {})
    out = []
    for cond in conditions:
        chosen = {}
        for g in (a, b):
            v = fixed[g] if g in fixed else select_on_validation(table, param, val_metric, higher_is_better,
                                                                 **cond, **{group: g})
            if v is None or not table.where(**cond, **{group: g, param: v}).rows:
                break
            chosen[g] = v
        else:
            comp = paired_by_seed(table, test_metric, {group: a, param: chosen[a]}, {group: b, param: chosen[b]},
                                  higher_is_better, test, **cond)
            out.append(({**cond, f"{param} {a}": chosen[a], f"{param} {b}": chosen[b]}, comp))
    return out


def selected_table(table: ResultTable, conditions: Sequence[Mapping[str, Scalar]], groups: Sequence[str],
                   val_metric: str, metrics: Sequence[str], *, param: str = "alpha", group: str = "arm",
                   fixed: Mapping[str, Scalar] | None = None, higher_is_better: bool = True,
                   title: str = "") -> ResultTable:
    """The runs of the ``param`` value chosen on ``val_metric``, per condition and group: one row per seed.

    Rows keep the condition, the group, the chosen value and the ``metrics`` (flags of
    ``table`` stay flags); groups in ``fixed`` use their fixed value.

    Example:
        >>> t = ResultTable(["val", "test"])
        >>> for a, v in ((1.5, 0.9), (2.0, 0.8)):
        ...     t.add(arm="B", alpha=a, seed=0, val=v, test=v - 0.01)
        >>> [r["alpha"] for r in selected_table(t, [{}], ["B"], "val", ["test"]).rows]
        [1.5]
    """
    fixed = dict(fixed or {})
    out = ResultTable(list(metrics), title=title, flags=[m for m in table.flags if m in metrics],
                      seed_column=table.seed_column)
    for cond in conditions:
        for g in groups:
            v = fixed[g] if g in fixed else select_on_validation(table, param, val_metric, higher_is_better,
                                                                 **cond, **{group: g})
            for r in table.where(**cond, **{group: g, param: v}).rows if v is not None else []:
                out.add(**cond, **{group: g, param: v, table.seed_column: r[table.seed_column]},
                        **{m: r.get(m) for m in metrics})
    return out
