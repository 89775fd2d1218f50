"""The exact event-driven reference engine (a priority queue over arrival times).

Simple and slow on purpose: one stimulus at a time, pure Python ``heapq``, continuous
latencies. It implements the semantics documented in :mod:`.network` literally and is
the ground truth the fast engine is tested against.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import Any

import numpy as np
import torch

from neurocircuits.dynamics.geometric.network import GeometricNetwork, check_stimulus
from neurocircuits.dynamics.geometric.result import SpikeResult
from neurocircuits.errors import ValidationError

_FORCE, _ARRIVE, _CHECK = 0, 1, 2


def simulate_reference(net: GeometricNetwork, stimulus: Any, horizon: float,
                       record_spikes: bool = True) -> SpikeResult:
    """Run the event-driven engine on each stimulus (row of ``stimulus``).

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
    if not (isinstance(horizon, (int, float)) and math.isfinite(horizon) and horizon > 0):
        raise ValidationError(f"horizon must be a finite number > 0, got {horizon!r}")
    stim = check_stimulus(net, stimulus)
    B, n = stim.shape[0], net.n
    rowptr = net.rowptr().tolist()
    post, lat, w = net.post.tolist(), net.latency.tolist(), net.weight.tolist()
    ref, thr, win = net.refractory.tolist(), net.threshold.tolist(), net.window.tolist()
    is_input = net.is_input.tolist()
    first = np.full((B, n), np.inf)
    counts = np.zeros((B, n), dtype=np.int32)
    arrivals = np.zeros(B)
    discarded = np.zeros(B)
    sb: list[int] = []
    sn: list[int] = []
    st: list[float] = []
    for b in range(B):
        heap: list[tuple[float, int, int, float]] = []
        for col, node in enumerate(net.inputs.tolist()):
            t0 = float(stim[b, col])
            if t0 < horizon:
                heap.append((t0, node, _FORCE, 0.0))
        heapq.heapify(heap)
        last = [-math.inf] * n
        buf: list[deque] = [deque() for _ in range(n)]
        n_arr = n_disc = 0
        while heap and heap[0][0] < horizon:
            t, j, _, _ = heap[0]
            forced = False
            new: list[float] = []
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
                for wt in new:
                    q.append((t, wt))
                    if math.isfinite(win[j]):
                        heapq.heappush(heap, (t + win[j], j, _CHECK, 0.0))
                while q and q[0][0] <= t - win[j]:
                    q.popleft()
                fire = bool(q) and sum(x for _, x in q) >= thr[j]
            if fire:
                last[j] = t
                buf[j].clear()
                if counts[b, j] == 0:
                    first[b, j] = t
                counts[b, j] += 1
                if record_spikes:
                    sb.append(b), sn.append(j), st.append(t)  # type: ignore[func-returns-value]
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
