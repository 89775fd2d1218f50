"""Geometric competitive refractory dynamics (Silva 2019; George et al. 2021).

* :class:`GeometricNetwork`: nodes, directed edges with latency = length / speed,
  per-node refractory period, threshold and summation window; the semantics are
  documented in :mod:`neurocircuits.dynamics.geometric.network`.
* :func:`simulate_reference`: exact event-driven engine (priority queue).
* :func:`initial_state`, :func:`step`: the discrete-time engine as an explicit state and a
  step function (drive the input nodes step by step, read the state out).
* :func:`simulate`: the fast discrete-time engine over a whole horizon (a loop over the
  step), batched; compiled (numba) on CPU when installed, PyTorch on CPU or CUDA otherwise.
* :func:`shortest_arrival`: Dijkstra first-arrival times (the first spikes when a single
  arrival fires a node).
"""

from neurocircuits.dynamics.geometric.fast import (
    GeometricState, exact_dtype, initial_state, numba_available, simulate, step,
)
from neurocircuits.dynamics.geometric.network import GeometricNetwork, check_stimulus, n_steps_for
from neurocircuits.dynamics.geometric.reference import simulate_reference
from neurocircuits.dynamics.geometric.result import SpikeResult
from neurocircuits.dynamics.geometric.paths import shortest_arrival

__all__ = ["GeometricNetwork", "GeometricState", "SpikeResult", "check_stimulus", "exact_dtype", "initial_state",
           "n_steps_for", "numba_available", "shortest_arrival", "simulate", "simulate_reference", "step"]
