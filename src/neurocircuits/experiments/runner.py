"""Running an experiment: config, output folder, resume, environment, report."""

from __future__ import annotations

import dataclasses
import json
import time
import types
import typing
from pathlib import Path
from typing import Any

import torch

from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.experiments.context import RunContext
from neurocircuits.experiments.registry import ExperimentConfig, get_experiment
from neurocircuits.report.env import environment
from neurocircuits.report.markdown import write_report
from neurocircuits.report.table import ResultTable


def build_config(name: str, quick: bool = False, seeds: int | None = None,
                 overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """The config of experiment ``name``: defaults, then ``--quick``, then seeds and overrides."""
    exp = get_experiment(name)
    cfg = exp.config_cls()
    if quick:
        cfg = cfg.quick()
    changes = dict(overrides or {})
    if seeds is not None:
        changes["seeds"] = seeds
    fields = {f.name: f for f in dataclasses.fields(cfg)}
    hints = typing.get_type_hints(type(cfg))
    for key, value in changes.items():
        if key not in fields:
            raise UnknownNameError(f"config field of {name}", key, fields)
        changes[key] = _coerce(key, value, hints.get(key, Any))
    cfg = dataclasses.replace(cfg, **changes)
    if cfg.seeds < 1:
        raise ValidationError(f"seeds must be >= 1, got {cfg.seeds}")
    return cfg


def run_experiment(
    name: str,
    *,
    quick: bool = False,
    seeds: int | None = None,
    out: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    device: str = "auto",
    progress: bool = True,
    fresh: bool = False,
) -> Path:
    """Run experiment ``name`` and write its report; return the run folder.

    Re-running with the same ``out`` resumes: units of work finished before an
    interruption are loaded from ``out/checkpoints``. Resuming with a different config
    is refused unless ``fresh=True``, which clears the old checkpoints.
    """
    exp = get_experiment(name)
    cfg = build_config(name, quick, seeds, overrides)
    out_dir = Path(out) if out is not None else Path("runs") / (name + ("-quick" if quick else ""))
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg_dict = json.loads(json.dumps({"experiment": name, "quick": quick, **cfg.to_dict()}))
    cfg_file = out_dir / "config.json"
    if cfg_file.exists() and not fresh:
        old = json.loads(cfg_file.read_text())
        if old != cfg_dict:  # cfg_dict went through JSON, so tuples are lists on both sides
            raise ValidationError(
                f"{out_dir} holds a run with another config; use another --out or --fresh to start over.\n"
                f"  old: {old}\n  new: {cfg_dict}")
    if fresh:
        for p in (out_dir / "checkpoints").glob("*"):
            p.unlink()
    cfg_file.write_text(json.dumps(cfg_dict, indent=1))
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                       ("cpu" if device == "auto" else device))
    manifest = {"experiment": name, "title": exp.title, "description": exp.description,
                "quick": quick, "seeds": list(range(cfg.seeds)), "config": cfg_dict, "complete": False}
    ctx = RunContext(out_dir, list(range(cfg.seeds)), quick, dev, progress, manifest)
    (out_dir / "env.json").write_text(json.dumps(environment(), indent=1))
    t0 = time.perf_counter()
    ctx.save_manifest()
    try:
        table = exp.run(cfg, ctx)
        if not isinstance(table, ResultTable):
            raise TypeError(f"experiment {name} returned {type(table).__name__}, not a ResultTable")
        ctx.add_table(table, "results", table.title or "Results")
        # the main table goes first in the report
        ctx.manifest["tables"].insert(0, ctx.manifest["tables"].pop())
        ctx.manifest["complete"] = True
    finally:
        ctx.manifest["wall_time_s"] = time.perf_counter() - t0
        ctx.save_manifest()
        write_report(out_dir)
    return out_dir


def _coerce(key: str, value: Any, hint: Any) -> Any:
    if not isinstance(value, str):
        return value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):  # e.g. ``int | None``: "none" -> None, else the other type
        args = typing.get_args(hint)
        rest = [a for a in args if a is not type(None)]
        if value.lower() == "none" and len(rest) < len(args):
            return None
        if len(rest) == 1:
            return _coerce(key, value, rest[0])
    try:
        if hint is bool:
            if value.lower() in ("1", "true", "yes"):
                return True
            if value.lower() in ("0", "false", "no"):
                return False
            raise ValueError(value)
        if hint in (int, float, str):
            return hint(value)
        if origin in (tuple, list):
            (inner, *_) = typing.get_args(hint) or (str,)
            items = [v for v in value.split(",") if v]
            if inner is bool:
                return origin(_coerce(key, v, bool) for v in items)
            conv = inner if inner in (int, float, str) else str
            return origin(conv(v) for v in items)
    except ValueError as e:
        raise ValidationError(f"config field {key!r}: cannot read {value!r} as {hint}") from e
    return value
