"""Named, reproducible experiments.

Each experiment is one module in this package that defines ``EXPERIMENT``, an
:class:`~neurocircuits.experiments.registry.Experiment`: a typed config dataclass and a
function ``run(config, ctx) -> ResultTable``. The module only composes pieces from the
other subpackages. Register a new one by adding its module to ``registry.EXPERIMENTS``.
"""

from neurocircuits.experiments.registry import (
    EXPERIMENTS, Experiment, ExperimentConfig, get_experiment, list_experiments,
)
from neurocircuits.experiments.context import RunContext, Unit, UnitsFailedError
from neurocircuits.experiments.runner import build_config, run_experiment

__all__ = [
    "EXPERIMENTS", "Experiment", "ExperimentConfig", "RunContext", "Unit", "UnitsFailedError", "build_config",
    "get_experiment", "list_experiments", "run_experiment",
]
