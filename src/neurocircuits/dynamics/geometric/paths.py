"""First-arrival times by Dijkstra (min-plus shortest paths from the stimulated nodes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from neurocircuits.dynamics.geometric.network import GeometricNetwork, check_stimulus


def shortest_arrival(net: GeometricNetwork, stimulus: Any) -> np.ndarray:
    """(B, N) earliest possible arrival-driven firing time of every node.

    Equals the first-spike time of every node when one arrival fires a node (all weights
    >= threshold, all excitatory), whatever the refractory periods (Silva 2019; spec §3).
    Input nodes get their stimulus time. Signals never enter input nodes.

    Example:
        >>> net = GeometricNetwork.from_arrays(3, [0, 0, 1], [1, 2, 2], [1.0, 5.0, 1.0], inputs=[0])
        >>> shortest_arrival(net, [[2.0]]).tolist()
        [[2.0, 3.0, 4.0]]
    """
    stim = check_stimulus(net, stimulus)
    n = net.n
    keep = ~net.is_input[net.post]  # arrivals at inputs are ignored
    out = np.full((stim.shape[0], n), np.inf)
    for b in range(stim.shape[0]):
        on = np.isfinite(stim[b])
        src = np.full(int(on.sum()), n)
        # super-source n -> each active input with weight stim + 1 (csgraph drops zero weights)
        rows = np.concatenate([net.pre[keep], src])
        cols = np.concatenate([net.post[keep], net.inputs[on]])
        vals = np.concatenate([net.latency[keep], stim[b, on] + 1.0])
        order = np.lexsort((vals, cols, rows))  # parallel edges: keep the fastest
        rows, cols, vals = rows[order], cols[order], vals[order]
        first = np.ones(rows.size, dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        g = sp.csr_matrix((vals[first], (rows[first], cols[first])), shape=(n + 1, n + 1))
        out[b] = dijkstra(g, directed=True, indices=n)[:n] - 1.0
    return out
