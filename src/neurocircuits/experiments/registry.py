"""The registry of named experiments.

The registry is a static table from name to module, so nothing is imported (and no
global state is mutated) until an experiment is asked for.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from neurocircuits.errors import UnknownNameError, ValidationError

if TYPE_CHECKING:
    from neurocircuits.experiments.context import RunContext
    from neurocircuits.report.table import ResultTable

#: experiment name -> module defining ``EXPERIMENT``
EXPERIMENTS: dict[str, str] = {
    "connectome-stats": "neurocircuits.experiments.connectome_stats",
    "emergence-init": "neurocircuits.experiments.emergence_init",
    "geometric-mnist": "neurocircuits.experiments.geometric_mnist",
    "ncap-swimmer": "neurocircuits.experiments.ncap_swimmer",
    "rich-lazy": "neurocircuits.experiments.rich_lazy",
    "worm-dynamics": "neurocircuits.experiments.worm_dynamics",
}


@dataclass
class ExperimentConfig:
    """Base of every experiment config: a typed dataclass recorded with each run.

    Subclasses add their own fields and list in ``QUICK`` the field values that
    ``--quick`` uses (less data, fewer seeds; the same code path). A trailing ``# comment``
    on a field's line is its help text in ``neurocircuits run NAME --help``.

    :meth:`validate` runs before anything is written. Its generic checks follow the type
    hints: numbers must be finite and (unless the field is listed in ``SIGNED``) not
    negative; tuples and lists must not be empty (unless their default is, or the field is
    listed in ``MAY_BE_EMPTY``, e.g. a list of arms that may be skipped); ``Literal``
    fields (and tuples of them) must hold one of their choices; the items of each field in
    ``SUM_TO_ONE`` must sum to 1. Subclasses override :meth:`validate` for their own rules
    (call ``super().validate()`` first) and raise :class:`~neurocircuits.errors.ValidationError`.

    Example:
        >>> ExperimentConfig(seeds=0).validate()
        Traceback (most recent call last):
        ...
        neurocircuits.errors.ValidationError: config field 'seeds' must be >= 1, got 0
    """

    seeds: int = 3  # number of seeds (0..N-1); finished seeds are reused when it grows
    QUICK: ClassVar[dict[str, Any]] = {}
    SIGNED: ClassVar[frozenset[str]] = frozenset()
    SUM_TO_ONE: ClassVar[tuple[str, ...]] = ()
    MAY_BE_EMPTY: ClassVar[frozenset[str]] = frozenset()

    def quick(self) -> "ExperimentConfig":
        return dataclasses.replace(self, **self.QUICK)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Raise :class:`~neurocircuits.errors.ValidationError` naming the first bad field."""
        hints = typing.get_type_hints(type(self))
        defaults = type(self)() if _has_defaults(type(self)) else None
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            default = getattr(defaults, f.name, None) if defaults is not None else None
            if f.name in self.MAY_BE_EMPTY and isinstance(value, (tuple, list)) and not value:
                continue
            _check_value(f.name, value, hints.get(f.name, Any), f.name in self.SIGNED, default)
        if not isinstance(self.seeds, int) or self.seeds < 1:
            raise ValidationError(f"config field 'seeds' must be >= 1, got {self.seeds}")
        for name in self.SUM_TO_ONE:
            check_sum_to_one(name, getattr(self, name))


def check_sum_to_one(name: str, values: Any, tol: float = 1e-6) -> None:
    """Raise :class:`ValidationError` unless the fractions ``values`` sum to 1.

    Example:
        >>> check_sum_to_one("fractions", (0.7, 0.1, 0.2))
        >>> check_sum_to_one("fractions", (0.7, 0.1))
        Traceback (most recent call last):
        ...
        neurocircuits.errors.ValidationError: config field 'fractions' must sum to 1, got 0.8 (0.7, 0.1)
    """
    total = float(sum(values))
    if not math.isclose(total, 1.0, abs_tol=tol):
        raise ValidationError(f"config field {name!r} must sum to 1, got {total:.6g} "
                              f"({', '.join(f'{v:g}' for v in values)})")


def _has_defaults(cls: type) -> bool:
    return all(f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
               for f in dataclasses.fields(cls))


def _check_value(name: str, value: Any, hint: Any, signed: bool, default: Any) -> None:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            _check_value(name, value, rest[0], signed, default)
        return
    if origin is typing.Literal:
        if value not in args:
            raise ValidationError(f"config field {name!r} must be one of {', '.join(map(repr, args))}; "
                                  f"got {value!r}")
        return
    if hint is bool:
        if not isinstance(value, bool):
            raise ValidationError(f"config field {name!r} must be true or false, got {value!r}")
        return
    if hint in (int, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if hint is int and ok and not float(value).is_integer():
            ok = False
        if not ok:
            raise ValidationError(f"config field {name!r} must be {'an integer' if hint is int else 'a number'}, "
                                  f"got {value!r}")
        if not math.isfinite(value):
            raise ValidationError(f"config field {name!r} must be finite, got {value!r}")
        if value < 0 and not signed:
            raise ValidationError(f"config field {name!r} must not be negative, got {value!r}")
        return
    if origin in (tuple, list):
        if not isinstance(value, (tuple, list)):
            raise ValidationError(f"config field {name!r} must be a list, got {value!r}")
        if len(value) == 0 and (default is None or len(default) > 0):
            raise ValidationError(f"config field {name!r} must not be empty")
        inner = args[0] if args else Any
        for v in value:
            _check_value(name, v, inner, signed, None)


def field_help(cls: type[ExperimentConfig]) -> list[dict[str, str]]:
    """Name, type, default, quick value and help (the field's trailing comment) of each field.

    This small generator over the dataclass fields is what ``neurocircuits run NAME --help``
    prints. (A typed-CLI library such as tyro or simple-parsing would add a dependency and
    would not know the ``QUICK`` values; values are set with ``--set FIELD=VALUE``.)

    Example:
        >>> [(r["name"], r["type"], r["default"]) for r in field_help(ExperimentConfig)]
        [('seeds', 'int', '3')]
    """
    comments = _field_comments(cls)
    hints = typing.get_type_hints(cls)
    default = cls()
    quick = dict(cls.QUICK)
    rows = []
    for f in dataclasses.fields(cls):
        rows.append({"name": f.name, "type": _type_name(hints.get(f.name, Any)),
                     "default": _show(getattr(default, f.name)),
                     "quick": _show(quick[f.name]) if f.name in quick else "",
                     "help": comments.get(f.name, "")})
    return rows


def _type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return "{" + ",".join(map(str, args)) + "}"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin in (tuple, list):
        return f"list of {_type_name(args[0]) if args else 'str'}"
    if hint is type(None):
        return "none"
    return getattr(hint, "__name__", str(hint))


def _show(v: Any) -> str:
    if isinstance(v, (tuple, list)):
        return ",".join(map(str, v)) if v else "(empty)"
    return "none" if v is None else str(v)


def _field_comments(cls: type) -> dict[str, str]:
    import inspect
    import re

    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            src = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for line in src.splitlines():
            m = re.match(r"\s+([A-Za-z_]\w*)\s*:[^#]*#\s*(.+)$", line)
            if m:
                out[m.group(1)] = m.group(2).strip()
    return out


@dataclass(frozen=True)
class Experiment:
    """A named experiment: ``run(config, ctx)`` returns the main results table."""

    name: str
    title: str
    description: str
    config_cls: type[ExperimentConfig]
    run: Callable[[Any, "RunContext"], "ResultTable"]
    tags: tuple[str, ...] = field(default=())


def get_experiment(name: str) -> Experiment:
    """Import and return the experiment called ``name``."""
    if name not in EXPERIMENTS:
        raise UnknownNameError("experiment", name, EXPERIMENTS, hint="see `neurocircuits list`")
    module = importlib.import_module(EXPERIMENTS[name])
    exp = getattr(module, "EXPERIMENT", None)
    if not isinstance(exp, Experiment) or exp.name != name:
        raise RuntimeError(f"module {EXPERIMENTS[name]} does not define EXPERIMENT named {name!r}")
    return exp


def list_experiments() -> list[Experiment]:
    return [get_experiment(n) for n in EXPERIMENTS]
