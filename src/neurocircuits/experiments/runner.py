"""Running an experiment: config, output folder, resume, environment, report."""

from __future__ import annotations

import dataclasses
import json
import os
import time
import types
import typing
from pathlib import Path
from typing import Any

import torch

from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.experiments.context import Executor, RunContext, make_executor
from neurocircuits.experiments.registry import ExperimentConfig, get_experiment
from neurocircuits.report.env import environment
from neurocircuits.report.markdown import write_report
from neurocircuits.report.table import ResultTable


def build_config(name: str, quick: bool = False, seeds: int | None = None,
                 overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """The config of experiment ``name``: defaults, then ``--quick``, then seeds and overrides.

    The result is validated (:meth:`ExperimentConfig.validate`): a bad value raises
    :class:`~neurocircuits.errors.ValidationError` naming the field, before anything is written.
    """
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
    cfg.validate()
    return cfg


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if isinstance(device, torch.device):
        name = str(device)
    else:
        name = str(device or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise ValidationError(f"--device {device!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise ValidationError(f"--device {device!r} is not supported; use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise ValidationError(f"--device {device!r}: CUDA is not available here (torch {torch.__version__}, "
                              f"{'no CUDA build' if torch.version.cuda is None else 'no GPU visible'}); "
                              "use --device cpu or auto")
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValidationError(f"--device {device!r}: only {torch.cuda.device_count()} GPU(s) visible")
    return dev


def _prepare_out(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ValidationError(f"--out {out_dir} is an existing file; give a folder")
    try:
        (out_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValidationError(f"--out {out_dir}: cannot create the folder ({e.strerror or e})") from None
    if not os.access(out_dir, os.W_OK):
        raise ValidationError(f"--out {out_dir}: the folder is not writable")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def config_differences(old: dict[str, Any], new: dict[str, Any], ignore: tuple[str, ...] = ("seeds",)) -> list[str]:
    """``field: old -> new`` for every config field that differs (``ignore``: allowed to change).

    Example:
        >>> config_differences({"lr": 0.1, "seeds": 2}, {"lr": 0.2, "seeds": 3})
        ['lr: 0.1 -> 0.2']
    """
    out = []
    for k in list(old) + [k for k in new if k not in old]:
        if k in ignore or old.get(k, _MISSING) == new.get(k, _MISSING):
            continue
        show = lambda v: "(absent)" if v is _MISSING else json.dumps(v)  # noqa: E731
        out.append(f"{k}: {show(old.get(k, _MISSING))} -> {show(new.get(k, _MISSING))}")
    return out


_MISSING = object()


def _clear_previous(out_dir: Path, manifest: Any) -> None:
    """``--fresh``: remove the checkpoints and the artefacts (tables, plots, report) of the old run."""
    for p in (out_dir / "checkpoints").glob("*"):
        if p.is_file():
            p.unlink()
    files = ["report.md", "manifest.json"]
    if isinstance(manifest, dict):
        for t in manifest.get("tables", []):
            f = Path(str(t.get("file", "")))
            files += [f.name, f.with_suffix(".csv").name]
        files += [Path(str(f.get("file", ""))).name for f in manifest.get("figures", [])]
    for name in files:
        if name and (out_dir / name).is_file():
            (out_dir / name).unlink()


def _has_finished_work(out_dir: Path) -> bool:
    return any((out_dir / "checkpoints").glob("*.pt"))


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
    executor: str | Executor = "in-process",
    workers: int | None = None,
    address: str | None = None,
) -> Path:
    """Run experiment ``name`` and write its report; return the run folder.

    Re-running with the same ``out`` resumes: units of work finished before an
    interruption are loaded from ``out/checkpoints`` (on any executor). The seed count may
    change between sessions (units are keyed per seed, so finished seeds are reused); any
    other config change is refused while the folder holds finished work, naming the fields
    that differ, unless ``fresh=True``, which removes the old checkpoints, tables and plots.
    ``executor``: ``"in-process"`` (default; ``workers=N`` for N local processes), ``"ray"``
    (``address`` of a running cluster, or a local instance), or an :class:`Executor`.
    """
    exp = get_experiment(name)
    cfg = build_config(name, quick, seeds, overrides)  # validated before anything is written
    dev = resolve_device(device)
    own = not isinstance(executor, Executor)  # an executor passed in stays open for its owner
    ex = executor if isinstance(executor, Executor) else make_executor(executor, workers, address)
    out_dir = Path(out) if out is not None else Path("runs") / (name + ("-quick" if quick else ""))
    _prepare_out(out_dir)
    cfg_dict = json.loads(json.dumps({"experiment": name, "quick": quick, **cfg.to_dict()}))
    cfg_file = out_dir / "config.json"
    old_cfg = _read_json(cfg_file) if cfg_file.exists() else None
    old_manifest = _read_json(out_dir / "manifest.json")
    if fresh:
        _clear_previous(out_dir, old_manifest)
        old_manifest = None
    elif old_cfg is not None or cfg_file.exists():
        diff = config_differences(old_cfg, cfg_dict) if isinstance(old_cfg, dict) else ["config.json: unreadable"]
        if diff and _has_finished_work(out_dir):
            raise ValidationError(f"{out_dir} holds a run with another config ({'; '.join(diff)}); "
                                  "use another --out, or --fresh to start over")
        if diff:  # nothing finished there yet: the folder is not locked to the old config
            old_manifest = None
    cfg_file.write_text(json.dumps(cfg_dict, indent=1))
    prior_s, sessions, units = 0.0, 0, {}
    if isinstance(old_manifest, dict):  # resuming: time and unit counts add up over sessions
        prior_s = float(old_manifest.get("wall_time_s") or 0.0)
        sessions = int(old_manifest.get("sessions") or 1)
        units = {k: {**v, "loaded": 0} for k, v in (old_manifest.get("units") or {}).items() if isinstance(v, dict)}
    manifest = {"experiment": name, "title": exp.title, "description": exp.description,
                "quick": quick, "seeds": list(range(cfg.seeds)), "config": cfg_dict, "complete": False,
                "executor": ex.describe(), "sessions": sessions + 1, "wall_time_s": prior_s, "units": units}
    ctx = RunContext(out_dir, list(range(cfg.seeds)), quick, dev, progress, manifest, executor=ex)
    (out_dir / "env.json").write_text(json.dumps(environment(), indent=1))
    t0 = time.perf_counter()
    ctx.save_manifest()
    interrupted = True
    try:
        table = exp.run(cfg, ctx)
        if not isinstance(table, ResultTable):
            raise TypeError(f"experiment {name} returned {type(table).__name__}, not a ResultTable")
        ctx.add_table(table, "results", table.title or "Results")
        # the main table goes first in the report
        ctx.manifest["tables"].insert(0, ctx.manifest["tables"].pop())
        ctx.manifest["complete"] = True
        interrupted = False
    except KeyboardInterrupt:
        ctx.manifest["stopped"] = "interrupted"
        raise
    except BaseException as e:
        interrupted = False
        ctx.manifest["stopped"] = f"failed: {type(e).__name__}"
        raise
    finally:
        if own or interrupted:
            ex.close(kill=interrupted)
        ctx.manifest["wall_time_s"] = prior_s + time.perf_counter() - t0
        ctx.save_manifest()
        write_report(out_dir)
    return out_dir


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Read a ``--set`` string as the field's type (validation of the value comes later)."""
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
            return hint(value.strip())
        if origin is typing.Literal:
            choices = typing.get_args(hint)
            for c in choices:
                if str(c) == value.strip():
                    return c
            return value.strip()  # rejected with the list of choices by validate()
        if origin in (tuple, list):
            (inner, *_) = typing.get_args(hint) or (str,)
            items = [v.strip() for v in value.split(",") if v.strip()]
            return origin(_coerce(key, v, inner) for v in items)
    except ValueError as e:
        name = getattr(hint, "__name__", str(hint))
        raise ValidationError(f"config field {key!r}: cannot read {value!r} as {name}") from None
    return value
