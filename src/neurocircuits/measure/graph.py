"""Graph statistics of weight matrices (dense NumPy, ``scipy.sparse`` or torch).

These functions work on matrices only. They are defined in
:mod:`neurocircuits.circuit.stats` (the lower layer, where ``Circuit``'s methods use them)
and re-exported here; statistics of a whole circuit are
:func:`neurocircuits.circuit.circuit_stats` (or ``Circuit.stats()``).

Example:
    >>> import numpy as np
    >>> from neurocircuits.measure.graph import spectral_radius
    >>> round(spectral_radius(np.array([[0.0, 3.0], [3.0, 0.0]])), 12)
    3.0
"""

from __future__ import annotations

from neurocircuits.circuit.stats import degree_distribution, effective_rank, reciprocity, spectral_radius

__all__ = ["degree_distribution", "effective_rank", "reciprocity", "spectral_radius"]
