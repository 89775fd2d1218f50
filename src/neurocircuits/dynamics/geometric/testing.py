"""Random networks and stimuli on a time grid, for testing engines against each other.

Every latency, refractory period and window is a multiple of ``dt``, so a grid engine and
the exact event-driven reference must agree spike for spike.

Example:
    >>> from neurocircuits.dynamics.geometric import simulate, simulate_reference
    >>> net = random_grid_network(0)
    >>> stim = random_stimulus(0, 2, net.n_inputs, 0.5)
    >>> fast = simulate(net, stim, 10.0, dt=0.5, record_spikes=True)
    >>> ref = simulate_reference(net, stim, 10.0)
    >>> all(fast.spike_trains(b) == ref.spike_trains(b) for b in range(2))
    True
"""

from __future__ import annotations

import math

import numpy as np

from neurocircuits.dynamics.geometric.network import GeometricNetwork

INF = math.inf

__all__ = ["random_grid_network", "random_stimulus"]


def random_grid_network(seed: int, n: int = 40, n_in: int = 6, p: float = 0.12, dt: float = 0.5,
                        inhibition: bool = True, window: bool = True) -> GeometricNetwork:
    """A random directed network whose latencies, R and W are all multiples of dt."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n, n)) < p
    np.fill_diagonal(mask, False)
    pre, post = np.nonzero(mask)
    lat = rng.integers(1, 7, size=pre.size) * dt
    w = rng.choice([1.0, 0.5, 1.5] + ([-1.0] if inhibition else []), size=pre.size)
    ref = rng.integers(0, 9, size=n) * dt
    thr = rng.choice([1.0, 1.5, 2.0], size=n)
    win = (np.where(rng.random(n) < 0.5, rng.integers(1, 5, size=n) * dt, INF) if window else INF)
    return GeometricNetwork.from_arrays(n, pre, post, lat, w, refractory=ref, threshold=thr,
                                        window=win, inputs=np.arange(n_in))


def random_stimulus(seed: int, b: int, n_in: int, dt: float, t_max: int = 8) -> np.ndarray:
    """``b`` stimuli of ``n_in`` input times on the grid ``dt`` (about 20 % of inputs silent)."""
    rng = np.random.default_rng(seed + 1000)
    s = rng.integers(0, t_max, size=(b, n_in)) * dt
    return np.where(rng.random((b, n_in)) < 0.2, INF, s)
