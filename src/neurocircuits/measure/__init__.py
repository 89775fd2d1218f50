"""Numbers about networks and learning: graph statistics, effective rank, emergence, ..."""

from neurocircuits.measure.emergence import (
    EmergenceResult, dag_log10_emergence, emergence, layered_dp_log10_emergence, layered_log10_emergence,
)
from neurocircuits.measure.graph import (
    degree_distribution, effective_rank, reciprocity, spectral_radius,
)

__all__ = ["EmergenceResult", "dag_log10_emergence", "emergence", "layered_dp_log10_emergence",
           "layered_log10_emergence", "degree_distribution", "effective_rank", "reciprocity", "spectral_radius"]
