"""The Markdown report of a run directory.

A run directory holds ``manifest.json`` (written by the experiment runner), the result
tables as JSON/CSV, PNG figures and ``env.json``. :func:`write_report` turns it into
``report.md``; it can be re-run at any time (``neurocircuits report DIR``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from neurocircuits.errors import CorruptDataError, DataNotFoundError
from neurocircuits.report.stats import Comparison, verdict
from neurocircuits.report.table import ResultTable


def claim_line(claim: str, comparisons: Sequence[Comparison], what: str = "", want: Literal["a", "b"] = "a") -> str:
    """One Markdown bullet: the claim, its :func:`~neurocircuits.report.stats.verdict` and the tally.

    Example:
        >>> from neurocircuits.report.stats import paired
        >>> claim_line("B beats A", [paired([2, 3, 4], [1, 1, 1.5])], "test accuracy")
        '- **B beats A**: undecided (too few seeds). test accuracy: decided for it in 0, against it in 0, undecided in 1 of 1 paired comparisons over seeds (95 % interval of the mean difference excludes zero).'
    """
    if not comparisons:
        return f"- **{claim}**: not tested."
    won = sum(c.favours == want for c in comparisons)
    lost = sum(c.favours is not None and c.favours != want for c in comparisons)
    return (f"- **{claim}**: {verdict(comparisons, want=want)}. {what}{': ' if what else ''}"
            f"decided for it in {won}, against it in {lost}, undecided in {len(comparisons) - won - lost} of "
            f"{len(comparisons)} paired comparisons over seeds (95 % interval of the mean difference excludes zero).")


def comparison_table(rows: Sequence[tuple[Mapping[str, Any], Comparison]], a: str = "a", b: str = "b") -> str:
    """A Markdown table of paired comparisons, one row per ``(labels, comparison)``.

    Columns: the label keys, the mean difference ``a - b`` with its 95 % interval, the
    p-value, the number of seed pairs and which side the comparison is decided for
    (``undecided`` when the interval contains zero).

    Example:
        >>> from neurocircuits.report.stats import paired
        >>> print(comparison_table([({"model": "mlp"}, paired([2, 3, 4], [1, 1, 1.5]))], a="B", b="A"))
        | model | B − A [95 % CI] | p | n | decided for |
        |---|---|---|---|---|
        | mlp | +1.83 [-0.064, 3.73] | 0.053 | 3 | undecided |
        <BLANKLINE>
    """
    if not rows:
        return "_(no comparisons)_\n"
    keys: list[str] = []
    for labels, _ in rows:
        keys += [k for k in labels if k not in keys]
    lines = ["| " + " | ".join(keys + [f"{a} − {b} [95 % CI]", "p", "n", "decided for"]) + " |",
             "|" + "---|" * (len(keys) + 4)]
    for labels, c in rows:
        diff = c.format().split(", p =")[0] if c.n else "n/a"
        p = "n/a" if c.p != c.p else f"{c.p:.2g}"
        side = {"a": a, "b": b, None: "undecided"}[c.favours]
        lines.append("| " + " | ".join([str(labels.get(k, "")) for k in keys] + [diff, p, str(c.n), side]) + " |")
    return "\n".join(lines) + "\n"


def write_report(run_dir: str | Path) -> Path:
    """(Re)write ``run_dir/report.md`` from the run's manifest, tables and figures."""
    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.exists():
        raise DataNotFoundError(
            f"{run_dir} is not a neurocircuits run directory (no manifest.json); "
            "create one with `neurocircuits run NAME --out DIR`"
        )
    try:
        man: dict[str, Any] = json.loads(manifest_path.read_text())
        if not isinstance(man, dict) or "experiment" not in man:
            raise ValueError("not a manifest object")
    except (ValueError, OSError) as e:
        raise CorruptDataError(f"{manifest_path} is broken ({e}); re-run the experiment to rewrite it") from None
    try:
        env = json.loads((run_dir / "env.json").read_text()) if (run_dir / "env.json").exists() else {}
    except ValueError:
        env = {}
    lines = [f"# {man['experiment']}: {man.get('title', '')}".rstrip(": "), ""]
    if man.get("description"):
        lines += [man["description"], ""]
    stopped = man.get("stopped") or "interrupted"
    status = "complete" if man.get("complete") else f"INCOMPLETE ({stopped}; re-run the same command to resume)"
    sessions = int(man.get("sessions") or 1)
    lines += [
        f"- status: {status}",
        f"- mode: {'quick' if man.get('quick') else 'full'}; seeds: {man.get('seeds')}",
        f"- wall time: {_seconds(man.get('wall_time_s'))}"
        + (f" (over {sessions} sessions)" if sessions > 1 else ""),
    ]
    for desc, u in (man.get("units") or {}).items():
        if isinstance(u, dict) and u.get("computed", 0) + u.get("failed", 0) + u.get("loaded", 0):
            mean = u.get("seconds_total", 0.0) / max(u.get("computed", 0), 1)
            lines.append(f"- units ({desc}): {u.get('computed', 0)} computed ({mean:.1f} s each on average, "
                         f"{man.get('executor', 'in-process')}), {u.get('loaded', 0)} loaded from checkpoints"
                         + (f", {u['failed']} failed" if u.get("failed") else ""))
    lines += [
        "",
    ]
    for sec in man.get("text", []):
        if sec.get("where", "top") == "top":
            lines += [f"## {sec['heading']}", "", sec["body"].rstrip(), ""]
    for tab in man.get("tables", []):
        if not (run_dir / tab["file"]).exists():
            raise DataNotFoundError(f"{run_dir / tab['file']} is missing (listed in manifest.json); "
                                    "re-run the same command to recreate it")
        try:
            table = ResultTable.load(run_dir / tab["file"])
        except (ValueError, KeyError, TypeError) as e:
            raise CorruptDataError(f"{run_dir / tab['file']} is broken ({e})") from None
        lines += [f"## {tab.get('caption') or table.title or tab['file']}", ""]
        if tab.get("note"):
            lines += [tab["note"], ""]
        lines += [table.to_markdown(tab.get("by")), f"Raw rows: `{Path(tab['file']).with_suffix('.csv')}`.", ""]
    for fig in man.get("figures", []):
        lines += [f"### {fig.get('caption') or fig['file']}", "", f"![{fig.get('caption', '')}]({fig['file']})", ""]
    for sec in man.get("text", []):
        if sec.get("where") == "bottom":
            lines += [f"## {sec['heading']}", "", sec["body"].rstrip(), ""]
    lines += ["## Configuration", "", "```json", json.dumps(man.get("config", {}), indent=1), "```", ""]
    if env:
        pk = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())
        lines += [
            "## Environment", "",
            f"- time (UTC): {env.get('time_utc')}; git commit: {env.get('git_commit')}",
            f"- python {env.get('python')} on {env.get('platform')}",
            f"- CPU: {env.get('cpu')} ({env.get('cpu_count')} cores, torch threads {env.get('torch_threads')}); GPU: {env.get('cuda') or 'none'}",
            f"- packages: {pk}",
            f"- command: `{env.get('command')}`",
            "",
        ]
    out = run_dir / "report.md"
    out.write_text("\n".join(lines))
    return out


def _seconds(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if f != f else f"{f:.1f} s"
