"""Numbers about networks and learning: graph statistics, effective rank, emergence, ..."""

from neurocircuits.measure.graph import (
    circuit_stats, degree_distribution, effective_rank, reciprocity, spectral_radius,
)

__all__ = ["circuit_stats", "degree_distribution", "effective_rank", "reciprocity", "spectral_radius"]
