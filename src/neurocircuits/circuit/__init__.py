"""The :class:`Circuit` and its builders (connectomes, geometric, random Dale, low rank, from a module)."""

from neurocircuits.base.names import normalise_name
from neurocircuits.circuit.builders import (
    degree_preserving_shuffle, from_module, geometric, low_rank, low_rank_matrix, random_dale,
)
from neurocircuits.circuit.connectome import (
    CONNECTOMES, DEFAULT_CONNECTOMES, available_connectomes, from_connectome,
)
from neurocircuits.circuit.core import KINDS, Circuit, SynapseKind
from neurocircuits.circuit.io import load_circuit, save_circuit
from neurocircuits.circuit.ncap import NCAP_SIGNS, ncap_circuit
from neurocircuits.circuit.stats import circuit_stats, degree_distribution, effective_rank, reciprocity, spectral_radius
from neurocircuits.circuit.adjacency import connectome_adjacency, shuffled_adjacency  # noqa: F401

__all__ = [
    "CONNECTOMES", "Circuit", "DEFAULT_CONNECTOMES", "KINDS", "NCAP_SIGNS", "SynapseKind", "available_connectomes",
    "circuit_stats", "degree_distribution", "degree_preserving_shuffle", "effective_rank", "from_connectome",
    "from_module", "geometric", "load_circuit", "low_rank", "low_rank_matrix", "ncap_circuit", "normalise_name",
    "random_dale", "reciprocity", "save_circuit", "spectral_radius",
]
