"""The exact event-driven reference engine (a priority queue over arrival times).

Simple and slow on purpose: one stimulus at a time, pure Python ``heapq``, continuous
latencies. It implements the semantics documented in :mod:`.network` literally and is
the ground truth the fast engine is tested against.

**Exact arithmetic.** Every number (latencies, refractory periods, windows, stimulus times,
the horizon, weights, thresholds) is read as the rational it was written as: the shortest
decimal that round-trips to the float (``0.1`` is 1/10, see :func:`exact_value`). Times are
then scaled by their common denominator into Python integers, and so are weights and
thresholds (by theirs), so every sum (``t + latency``, ``t' + R``, ``a + W``, the summed
weights) and every comparison is exact: no event is lost or created by rounding, whatever
the latencies (``0.1 + 0.7`` is ``0.8``). Only the reported spike times are rounded, once,
to the nearest float.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from fractions import Fraction
from typing import Any

import numpy as np
import torch

from neurocircuits.dynamics.geometric.network import GeometricNetwork, check_horizon, check_stimulus
from neurocircuits.dynamics.geometric.result import SpikeResult

_FORCE, _ARRIVE, _CHECK = 0, 1, 2


def exact_value(x: float) -> Fraction:
    """The rational a float stands for: its shortest round-trip decimal (``0.1`` is 1/10).

    Example:
        >>> exact_value(0.1) + exact_value(0.7) == exact_value(0.8)
        True
    """
    return Fraction(repr(float(x)))


def common_denominator(values: Any) -> int:
    """The least common denominator of the finite values read by :func:`exact_value`.

    Example:
        >>> common_denominator(np.array([1.0, 0.5, 0.1, np.inf]))
        10
    """
    d = 1
    for x in np.unique(np.asarray(values, dtype=np.float64).reshape(-1)).tolist():
        if math.isfinite(x):
            d = math.lcm(d, exact_value(x).denominator)
    return d


def to_units(values: Any, den: int) -> list[Any]:
    """Exact integers ``exact_value(x) * den`` (``inf`` kept as ``math.inf``)."""
    out: list[Any] = []
    for x in np.asarray(values, dtype=np.float64).reshape(-1).tolist():
        if math.isfinite(x):
            f = exact_value(x) * den
            if f.denominator != 1:
                raise AssertionError("den is not a common denominator")  # pragma: no cover
            out.append(f.numerator)
        else:
            out.append(math.inf if x > 0 else -math.inf)
    return out


def _to_float(units: int, den: int) -> float:
    """``units / den`` correctly rounded to a float."""
    return units / den


def simulate_reference(net: GeometricNetwork, stimulus: Any, horizon: float,
                       record_spikes: bool = True) -> SpikeResult:
    """Run the event-driven engine on each stimulus (row of ``stimulus``), in exact arithmetic.

    Args:
        net: the network.
        stimulus: (B, n_inputs) firing times of the input nodes (``inf`` = silent).
        horizon: only events at times ``< horizon`` happen.
        record_spikes: keep every spike (default True: this engine is for checking).

    Example:
        >>> net = GeometricNetwork.from_arrays(3, [0, 1], [1, 2], [1.5, 2.0], inputs=[0])
        >>> r = simulate_reference(net, [[0.0]], horizon=10.0)
        >>> r.spike_trains(0)
        [(0.0, 0), (1.5, 1), (3.5, 2)]
    """
    horizon = check_horizon(horizon)
    stim = check_stimulus(net, stimulus)
    B, n = stim.shape[0], net.n
    # --- exact integer units for times and for weights -----------------------------------
    win_f = net.window
    s = common_denominator(np.concatenate([net.latency, net.refractory, win_f[np.isfinite(win_f)],
                                     stim[np.isfinite(stim)].reshape(-1), [horizon]]))
    lat, ref, win = to_units(net.latency, s), to_units(net.refractory, s), to_units(win_f, s)
    hor = to_units([horizon], s)[0]
    sw = common_denominator(np.concatenate([net.weight, net.threshold]))
    w, thr = to_units(net.weight, sw), to_units(net.threshold, sw)
    rowptr = net.rowptr().tolist()
    post = net.post.tolist()
    is_input = net.is_input.tolist()
    first = np.full((B, n), np.inf)
    counts = np.zeros((B, n), dtype=np.int32)
    arrivals = np.zeros(B)
    discarded = np.zeros(B)
    sb: list[int] = []
    sn: list[int] = []
    st: list[float] = []
    neg_inf = -math.inf
    for b in range(B):
        heap: list[tuple[Any, int, int, int]] = []
        times = to_units(stim[b], s)
        for col, node in enumerate(net.inputs.tolist()):
            t0 = times[col]
            if t0 < hor:
                heap.append((t0, node, _FORCE, 0))
        heapq.heapify(heap)
        last: list[Any] = [neg_inf] * n
        # per node: effective arrivals still in the window, as (expiry time, weight)
        buf: list[deque] = [deque() for _ in range(n)]
        total = [0] * n  # exact sum of the weights in buf
        n_arr = n_disc = 0
        while heap and heap[0][0] < hor:
            t, j, _, _ = heap[0]
            forced = False
            new: list[int] = []
            while heap and heap[0][0] == t and heap[0][1] == j:
                _, _, kind, wt = heapq.heappop(heap)
                if kind == _FORCE:
                    forced = True
                elif kind == _ARRIVE:
                    new.append(wt)
            n_arr += len(new)
            if is_input[j]:
                n_disc += len(new)
                fire = forced
            else:
                if new and (t < last[j] + ref[j] or t <= last[j]):  # discard rule
                    n_disc += len(new)
                    new = []
                q = buf[j]
                expiry = t + win[j]  # exact (inf for an infinite window)
                for wt in new:
                    q.append((expiry, wt))
                    total[j] += wt
                if new and expiry != math.inf:
                    heapq.heappush(heap, (expiry, j, _CHECK, 0))
                while q and q[0][0] <= t:  # an arrival at a has left the window at a + W
                    total[j] -= q.popleft()[1]
                fire = bool(q) and total[j] >= thr[j]
            if fire:
                last[j] = t
                buf[j].clear()
                total[j] = 0
                tf = _to_float(t, s)
                if counts[b, j] == 0:
                    first[b, j] = tf
                counts[b, j] += 1
                if record_spikes:
                    sb.append(b)
                    sn.append(j)
                    st.append(tf)
                for e in range(rowptr[j], rowptr[j + 1]):
                    heapq.heappush(heap, (t + lat[e], post[e], _ARRIVE, w[e]))
        arrivals[b], discarded[b] = n_arr, n_disc
    lam = net.refraction_ratio()
    res = SpikeResult(torch.from_numpy(first), torch.from_numpy(counts), torch.from_numpy(arrivals),
                      torch.from_numpy(discarded), float(horizon), None,
                      float(np.median(lam)) if lam.size else float("nan"))
    if record_spikes:
        res.spike_batch = torch.tensor(sb, dtype=torch.int64)
        res.spike_node = torch.tensor(sn, dtype=torch.int64)
        res.spike_time = torch.tensor(st, dtype=torch.float64)
    return res
