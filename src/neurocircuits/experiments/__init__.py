"""Named, reproducible experiments.

Each experiment is one module in this package that defines ``EXPERIMENT``, an
:class:`~neurocircuits.experiments.registry.Experiment`: a typed config dataclass and a
function ``run(config, ctx) -> ResultTable``. The module only composes pieces from the
other subpackages. Register a new one by adding its module to ``registry.EXPERIMENTS``.
"""

from neurocircuits.experiments.registry import (
    EXPERIMENTS, Experiment, ExperimentConfig, get_experiment, list_experiments,
)
from neurocircuits.experiments.context import (
    Executor, InProcessExecutor, ProcessExecutor, RayExecutor, RunContext, Unit, UnitsFailedError, make_executor,
)
from neurocircuits.experiments.runner import build_config, run_experiment

__all__ = [
    "EXPERIMENTS", "Executor", "Experiment", "ExperimentConfig", "InProcessExecutor", "ProcessExecutor",
    "RayExecutor", "RunContext", "Unit", "UnitsFailedError", "build_config", "get_experiment", "list_experiments",
    "make_executor", "run_experiment",
]
