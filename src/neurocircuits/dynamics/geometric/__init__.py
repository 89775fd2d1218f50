"""Geometric competitive refractory dynamics (Silva 2019; George et al. 2021).

* :class:`GeometricNetwork`: nodes, directed edges with latency = length / speed,
  per-node refractory period, threshold and summation window; the semantics are
  documented in :mod:`neurocircuits.dynamics.geometric.network`.
* :func:`simulate_reference`: exact event-driven engine (priority queue).
* :func:`simulate`: fast discrete-time engine, batched, sparse, CPU or CUDA.
* :func:`shortest_arrival`: Dijkstra first-arrival times (the first spikes when a single
  arrival fires a node).
"""

from neurocircuits.dynamics.geometric.fast import simulate
from neurocircuits.dynamics.geometric.network import GeometricNetwork, check_stimulus
from neurocircuits.dynamics.geometric.reference import simulate_reference
from neurocircuits.dynamics.geometric.result import SpikeResult
from neurocircuits.dynamics.geometric.paths import shortest_arrival

__all__ = ["GeometricNetwork", "SpikeResult", "check_stimulus", "shortest_arrival", "simulate",
           "simulate_reference"]
