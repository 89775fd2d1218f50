"""neurocircuits: biological neural circuits as first-class objects for machine learning.

The core object is :class:`neurocircuits.circuit.Circuit`. Subpackages, in the order data
flows through them::

    data -> circuit / models / init -> train / dynamics -> measure -> experiments -> report

Importing the package does no work: subpackages are imported on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBPACKAGES = (
    "base", "circuit", "data", "init", "measure", "dynamics", "models", "train", "experiments", "report",
)


def __getattr__(name: str) -> Any:
    if name == "Circuit":
        from neurocircuits.circuit import Circuit

        return Circuit
    if name in _SUBPACKAGES:
        return importlib.import_module(f"neurocircuits.{name}")
    raise AttributeError(f"module 'neurocircuits' has no attribute {name!r}")


__all__ = ["Circuit", "__version__", *_SUBPACKAGES]
