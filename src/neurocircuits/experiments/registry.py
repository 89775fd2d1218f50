"""The registry of named experiments.

The registry is a static table from name to module, so nothing is imported (and no
global state is mutated) until an experiment is asked for.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from neurocircuits.errors import UnknownNameError

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
    ``--quick`` uses (less data, fewer seeds; the same code path).
    """

    seeds: int = 3
    QUICK: ClassVar[dict[str, Any]] = {}

    def quick(self) -> "ExperimentConfig":
        return dataclasses.replace(self, **self.QUICK)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
