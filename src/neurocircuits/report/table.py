"""A long-format results table and its aggregation over seeds.

Experiments append one row per measured unit (a condition, a seed, a metric value...).
The report groups rows by every column that is not a metric and not the seed, and shows
mean, standard deviation and count of each metric over the seeds (the statistics are
:func:`neurocircuits.report.stats.summarize`: n counts only the values averaged).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurocircuits.errors import ValidationError
from neurocircuits.report.stats import Summary, proportion, summarize

Scalar = str | int | float | bool | None


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


@dataclass
class ResultTable:
    """Rows of results plus which columns are metrics.

    Example:
        >>> t = ResultTable(metrics=["acc"])
        >>> t.add(model="mlp", seed=0, acc=0.9)
        >>> t.add(model="mlp", seed=1, acc=0.8)
        >>> t.aggregate()[0]["acc"].n
        2
    """

    metrics: list[str]
    rows: list[dict[str, Scalar]] = field(default_factory=list)
    seed_column: str = "seed"
    title: str = ""
    #: metrics that are yes/no outcomes (0/1): shown as ``k/n``, never as mean ± sd
    flags: list[str] = field(default_factory=list)

    def add(self, **row: Scalar) -> None:
        """Append one row; every metric column must be numeric (NaN allowed for n/a)."""
        for m in self.metrics:
            if m in row and row[m] is not None and not isinstance(row[m], (int, float)):
                raise ValidationError(f"metric {m!r} must be a number, got {row[m]!r}")
        self.rows.append({k: _plain(v) for k, v in row.items()})

    def extend(self, rows: Iterable[Mapping[str, Scalar]]) -> None:
        for r in rows:
            self.add(**r)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def columns(self) -> list[str]:
        cols: list[str] = []
        for r in self.rows:
            cols.extend(c for c in r if c not in cols)
        return cols

    @property
    def keys(self) -> list[str]:
        """Columns that identify a condition (everything but metrics and the seed)."""
        return [c for c in self.columns if c not in self.metrics and c != self.seed_column]

    def where(self, **match: Scalar) -> "ResultTable":
        rows = [r for r in self.rows if all(r.get(k) == v for k, v in match.items())]
        return ResultTable(list(self.metrics), rows, self.seed_column, self.title, list(self.flags))

    def values(self, metric: str, **match: Scalar) -> list[float]:
        return [float(r[metric]) for r in self.where(**match).rows  # type: ignore[arg-type]
                if r.get(metric) is not None and not _isnan(r.get(metric))]

    def aggregate(self, by: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Group rows by ``by`` (default: :attr:`keys`) and summarise each metric."""
        by = list(self.keys if by is None else by)
        groups: dict[tuple, list[dict[str, Scalar]]] = {}
        for r in self.rows:
            groups.setdefault(tuple(r.get(k) for k in by), []).append(r)
        out = []
        for key, rows in groups.items():
            agg: dict[str, Any] = dict(zip(by, key))
            for m in self.metrics:
                if any(m in r for r in rows):
                    agg[m] = summarize(r.get(m) for r in rows)  # type: ignore[misc]
            out.append(agg)
        return out

    def to_markdown(self, by: Sequence[str] | None = None, digits: int = 4) -> str:
        """Markdown table of the aggregate: ``mean ± sd`` over seeds, with the count.

        A metric averaged over fewer values than the row's ``n`` (a seed diverged or
        is missing) says so in its cell, e.g. ``2.278 (n = 1)``.
        """
        agg = self.aggregate(by)
        if not agg:
            return "_(no rows)_\n"
        keys = list(self.keys if by is None else by)
        metrics = [m for m in self.metrics if any(m in a for a in agg)]
        ns = {a[m].n for a in agg for m in metrics if m in a}
        head = keys + metrics + (["n"] if ns else [])
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for a in agg:
            n = max((a[m].n for m in metrics if m in a), default=0)
            cells = [_fmt(a.get(k)) for k in keys]
            cells += [(proportion(r.get(m) for r in self.where(**{k: a.get(k) for k in keys}).rows)
                       if m in self.flags else _cell(a[m], n, digits)) if m in a else "" for m in metrics]
            cells.append(str(n))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    # --- persistence -------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "metrics": self.metrics, "seed_column": self.seed_column,
                "rows": self.rows, "flags": self.flags}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ResultTable":
        return cls(list(data["metrics"]), [dict(r) for r in data["rows"]],
                   data.get("seed_column", "seed"), data.get("title", ""), list(data.get("flags", [])))

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.write_text(json.dumps(self.to_json(), indent=1, default=str))
        with open(path.with_suffix(".csv"), "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=self.columns)
            w.writeheader()
            w.writerows(self.rows)

    @classmethod
    def load(cls, path: str | Path) -> "ResultTable":
        return cls.from_json(json.loads(Path(path).read_text()))


def _cell(s: Summary, n: int, digits: int) -> str:
    text = s.format(digits)
    return text if s.n == n or s.n == 0 else f"{text} (n = {s.n})"


def _plain(v: Any) -> Scalar:
    """Turn numpy / torch scalars into plain Python values so rows serialise to JSON."""
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if hasattr(v, "item"):
        return v.item()
    return str(v)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return "" if v is None else str(v)
