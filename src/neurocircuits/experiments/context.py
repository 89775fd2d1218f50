"""The context an experiment runs in: output folder, seeds, device, checkpoints, artefacts."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch

from neurocircuits.errors import NeurocircuitsError, ValidationError
from neurocircuits.report.table import ResultTable
from neurocircuits.train.checkpoint import atomic_save

T = TypeVar("T")


@dataclass(frozen=True)
class Unit:
    """One independent, checkpointed unit of an experiment's work.

    ``fn(*args, **kwargs)`` is computed once and saved under ``key``; ``fn`` must be a
    module-level function (picklable), so that worker processes or a cluster can run it.
    ``gpu`` is the fraction of a GPU the unit asks for where the executor schedules GPUs.

    Example:
        >>> Unit("seed=0", pow, (2, 10)).run()
        1024
    """

    key: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    gpu: float = 0.0

    def run(self) -> Any:
        return self.fn(*self.args, **dict(self.kwargs))


class UnitsFailedError(NeurocircuitsError, RuntimeError):
    """Some units raised; the others finished and are checkpointed. ``failures`` maps key -> error."""

    def __init__(self, failures: dict[str, BaseException]):
        self.failures = failures
        lines = [f"  {k}: {type(e).__name__}: {e}" for k, e in failures.items()]
        super().__init__(f"{len(failures)} unit(s) failed (the others are checkpointed; re-run to retry):\n"
                         + "\n".join(lines))


@dataclass
class RunContext:
    """Everything an experiment may touch besides its config.

    ``memo(key, fn)`` is the unit of checkpointing: the result of ``fn()`` is saved under
    ``checkpoints/`` and returned without recomputation when the run is resumed, so an
    interrupted run loses at most the unit that was in progress. Long training loops
    additionally checkpoint every epoch under :meth:`checkpoint_path`.
    """

    out_dir: Path
    seeds: list[int]
    quick: bool = False
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    progress: bool = True
    manifest: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        (self.out_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        self.manifest.setdefault("tables", [])
        self.manifest.setdefault("figures", [])
        self.manifest.setdefault("text", [])

    # --- progress and logging -------------------------------------------------------
    def bar(self, iterable: Iterable[T] | None = None, total: int | None = None, desc: str = "", **kw: Any):
        """A tqdm progress bar (silent when progress is off or stderr is not a terminal)."""
        from tqdm.auto import tqdm

        disable = not self.progress or (not sys.stderr.isatty() and os.environ.get("NEUROCIRCUITS_PROGRESS") != "1")
        return tqdm(iterable, total=total, desc=desc, disable=disable, leave=False, dynamic_ncols=True, **kw)

    def log(self, msg: str) -> None:
        if self.progress:
            print(f"[neurocircuits] {msg}", file=sys.stderr, flush=True)

    # --- checkpoints ---------------------------------------------------------------------
    def checkpoint_path(self, key: str) -> Path:
        return self.out_dir / "checkpoints" / f"{_safe(key)}.pt"

    def is_memoized(self, key: str) -> bool:
        """Whether :meth:`memo` already holds a result for ``key`` (it would not recompute it)."""
        return (self.out_dir / "checkpoints" / f"{_safe(key)}.memo.pt").exists()

    def memo(self, key: str, fn: Callable[[], T]) -> T:
        """Return ``fn()``, computing it only if no checkpoint for ``key`` exists yet."""
        path = self.out_dir / "checkpoints" / f"{_safe(key)}.memo.pt"
        if path.exists():
            return torch.load(path, weights_only=False)
        value = fn()
        atomic_save(value, path)
        return value

    def map(self, units: Iterable[Unit], desc: str = "units") -> list[Any]:
        """Run independent ``units`` and return their results in input order.

        Each unit is checkpointed under its key as :meth:`memo` does, so a resumed run
        computes only the units that are missing. A unit that raises does not stop the
        others; after all have run, :class:`UnitsFailedError` names each failed key.
        """
        units = list(units)
        keys = [u.key for u in units]
        if len(set(keys)) != len(keys):
            dup = sorted({k for k in keys if keys.count(k) > 1})
            raise ValidationError(f"unit keys must be unique; repeated: {', '.join(dup)}")
        results: list[Any] = [None] * len(units)
        todo = []
        for i, u in enumerate(units):
            if self.is_memoized(u.key):
                results[i] = self.memo(u.key, u.run)
            else:
                todo.append(i)
        failures: dict[str, BaseException] = {}
        for i in self.bar(todo, desc=desc):
            u = units[i]
            try:
                results[i] = self.memo(u.key, u.run)
            except Exception as e:  # reported with its key once the other units have run
                failures[u.key] = e
                self.log(f"unit {u.key} failed: {type(e).__name__}: {e}")
        if failures:
            raise UnitsFailedError(failures)
        return results

    # --- artefacts ------------------------------------------------------------------------
    def add_table(self, table: ResultTable, name: str, caption: str = "", by: list[str] | None = None,
                  note: str = "") -> None:
        file = f"{_safe(name)}.json"
        table.save(self.out_dir / file)
        entry = {"file": file, "caption": caption or table.title, "by": by, "note": note}
        self.manifest["tables"] = [t for t in self.manifest["tables"] if t["file"] != file] + [entry]

    def add_figure(self, fig: Any, name: str, caption: str = "") -> Path:
        from neurocircuits.report.plots import save_figure

        file = f"{_safe(name)}.png"
        path = save_figure(fig, self.out_dir / file)
        self.manifest["figures"] = [f for f in self.manifest["figures"] if f["file"] != file] + [
            {"file": file, "caption": caption}]
        return path

    def add_text(self, heading: str, body: str, where: str = "top") -> None:
        self.manifest["text"] = [t for t in self.manifest["text"] if t["heading"] != heading] + [
            {"heading": heading, "body": body, "where": where}]

    def save_manifest(self) -> None:
        path = self.out_dir / "manifest.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.manifest, indent=1, default=str))
        os.replace(tmp, path)


def _safe(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in key)
