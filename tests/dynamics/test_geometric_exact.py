"""Exactness of the reference engine (against a rational re-implementation), the state API, dtypes, validation."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from neurocircuits.dynamics.geometric import (
    GeometricNetwork, exact_dtype, initial_state, n_steps_for, numba_available, simulate, simulate_reference, step,
)
from neurocircuits.dynamics.geometric.testing import random_grid_network, random_stimulus
from neurocircuits.errors import ValidationError

INF = math.inf
BACKENDS = ["torch", pytest.param("numba", marks=pytest.mark.skipif(not numba_available(),
                                                                     reason="numba (the [fast] extra) not installed"))]


def exact_crd(net: GeometricNetwork, stim: np.ndarray, horizon: float) -> list[tuple[float, int]]:
    """An independent, brute-force re-implementation of the semantics in rational arithmetic.

    At every event time (arrival, window expiry, forced input) every node is examined; a node
    fires when its buffered effective arrivals sum to at least its threshold.
    """
    F = lambda x: Fraction(repr(float(x)))  # noqa: E731  (the number as written)
    lat, w = [F(x) for x in net.latency], [F(x) for x in net.weight]
    R, thr = [F(x) for x in net.refractory], [F(x) for x in net.threshold]
    W = [None if not math.isfinite(x) else F(x) for x in net.window]
    H = F(horizon)
    is_in = set(net.inputs.tolist())
    forced = {int(node): F(t) for node, t in zip(net.inputs, stim) if math.isfinite(t) and F(t) < H}
    pending: list[tuple[Fraction, int, Fraction]] = []
    buf: dict[int, list[tuple[Fraction, Fraction]]] = {j: [] for j in range(net.n)}
    last: dict[int, Fraction | None] = {j: None for j in range(net.n)}
    spikes = []
    while True:
        times = [a for a, _, _ in pending] + list(forced.values())
        times += [a + W[j] for j in range(net.n) if W[j] is not None for a, _ in buf[j]]
        times = [x for x in times if x < H]
        if not times:
            break
        t = min(times)
        for item in [p for p in pending if p[0] == t]:
            pending.remove(item)
            _, j, wt = item
            if j in is_in or (last[j] is not None and (t < last[j] + R[j] or t <= last[j])):
                continue
            buf[j].append((t, wt))
        fired = [j for j, ft in forced.items() if ft == t]
        for j in fired:
            del forced[j]
        for j in range(net.n):
            if j in is_in:
                continue
            if W[j] is not None:
                buf[j] = [(a, x) for a, x in buf[j] if a + W[j] > t]
            if buf[j] and sum(x for _, x in buf[j]) >= thr[j]:
                fired.append(j)
        for j in fired:
            last[j] = t
            buf[j] = []
            spikes.append((float(t), j))
            for e in range(net.n_edges):
                if net.pre[e] == j:
                    pending.append((t + lat[e], int(net.post[e]), w[e]))
    return sorted(spikes)


def random_continuous_network(seed: int) -> GeometricNetwork:
    rng = np.random.default_rng(seed)
    n, n_in = 9, 3
    mask = rng.random((n, n)) < 0.35
    mask[:n_in, n_in:] |= rng.random((n_in, n - n_in)) < 0.5  # inputs drive the network
    np.fill_diagonal(mask, False)
    mask[:, :n_in] = False
    pre, post = np.nonzero(mask)
    lat = np.round(rng.uniform(0.05, 1.0, pre.size), 2)  # decimals: sums tie exactly, as written
    win = np.where(rng.random(n) < 0.7, np.round(rng.uniform(0.1, 1.2, n), 1), INF)
    return GeometricNetwork.from_arrays(n, pre, post, lat, rng.choice([1.0, -1.0, 0.5, 1.5, 0.1, 0.2], pre.size),
                                        refractory=np.round(rng.uniform(0, 1.0, n), 1),
                                        threshold=rng.choice([1.0, 1.5, 2.0, 0.3], n), window=win,
                                        inputs=np.arange(n_in))


def test_reference_reproducer_inhibition_leaves_continuous_window() -> None:
    """-1 at 0.1 leaves the 0.7 window at exactly 0.8; the two +1 at 0.3 then fire node 3."""
    net = GeometricNetwork.from_arrays(4, [0, 1, 2], [3, 3, 3], [0.1, 0.3, 0.3], [-1.0, 1.0, 1.0],
                                       threshold=[1, 1, 1, 2.0], window=0.7, inputs=[0, 1, 2])
    r = simulate_reference(net, [[0, 0, 0]], 5.0)
    assert r.spike_trains(0) == [(0.0, 0), (0.0, 1), (0.0, 2), (0.8, 3)]


@pytest.mark.parametrize("seed", range(12))
def test_reference_equals_rational_reimplementation_on_continuous_stimuli(seed: int) -> None:
    net = random_continuous_network(seed)
    rng = np.random.default_rng(seed + 99)
    stim = np.round(rng.uniform(0, 1.0, (10, net.n_inputs)), 2)
    ref = simulate_reference(net, stim, 6.0)
    active = 0
    for b in range(stim.shape[0]):
        want = exact_crd(net, stim[b], 6.0)
        assert ref.spike_trains(b) == want, (seed, b)
        active += len(want) > net.n_inputs
    assert active >= 2  # the networks are not silent beyond their inputs


def test_reference_sums_weights_exactly() -> None:
    """0.1 + 0.2 reaches a threshold of 0.3 (in float64 it would exceed it, 0.1 + 0.7 would miss 0.8)."""
    net = GeometricNetwork.from_arrays(4, [0, 1, 2], [3, 3, 3], [1.0, 1.0, 1.0], [0.1, 0.7, 0.2],
                                       threshold=[1, 1, 1, 0.8], inputs=[0, 1, 2])
    r = simulate_reference(net, [[0.0, 0.0, INF]], 5.0)
    assert (1.0, 3) in r.spike_trains(0)
    net2 = net.with_params(threshold=[1, 1, 1, 0.30000000000000004])
    assert (1.0, 3) not in simulate_reference(net2, [[0.0, INF, 0.0]], 5.0).spike_trains(0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_simulate_equals_a_loop_over_step(backend: str) -> None:
    dt = 0.5
    net = random_grid_network(5, dt=dt)
    stim = random_stimulus(5, 3, net.n_inputs, dt)
    want = simulate(net, stim, 20.0, dt=dt, record_spikes=True, backend=backend)
    s = initial_state(net, 3, dt=dt, backend=backend)
    steps = np.rint(stim / dt)
    got: list[tuple[int, float, int]] = []
    for t in range(n_steps_for(20.0, dt)):
        s, (b, n) = step(net, s, inputs=steps == t)
        got += [(int(bb), t * dt, int(nn)) for bb, nn in zip(b, n)]
    assert s.t == 40 and s.time == 20.0
    assert sorted(got) == sorted(zip(want.spike_batch.tolist(), want.spike_time.tolist(), want.spike_node.tolist()))
    assert torch.equal(s.counts, want.counts) and torch.equal(s.arrivals.double(), want.arrivals)
    snap = s.clone()
    step(net, s, inputs=np.ones((3, net.n_inputs), dtype=bool))
    assert not torch.equal(snap.counts, s.counts) and snap.t == 40


def test_step_validates_its_arguments() -> None:
    net = GeometricNetwork.from_arrays(2, [0], [1], [1.0], inputs=[0])
    other = GeometricNetwork.from_arrays(2, [0], [1], [1.0], inputs=[0])
    s = initial_state(net, np.int64(2))
    with pytest.raises(ValidationError, match="another network"):
        step(other, s)
    with pytest.raises(ValidationError, match="shape"):
        step(net, s, inputs=np.ones((3, 1), dtype=bool))
    with pytest.raises(ValidationError, match="boolean"):
        step(net, s, inputs=np.ones((2, 1)))
    with pytest.raises(ValidationError, match="GeometricState"):
        step(net, {"t": 0})
    with pytest.raises(ValidationError, match="batch"):
        initial_state(net, -1)
    with pytest.raises(ValidationError, match="backend"):
        initial_state(net, 1, backend="gpu")


@pytest.mark.parametrize("backend", BACKENDS)
def test_threshold_not_representable_in_float32(backend: str) -> None:
    """theta = 1 + 2**-30 must not be reached by one unit arrival (float32 would round theta to 1)."""
    net = GeometricNetwork.from_arrays(2, [0], [1], [1.0], [1.0], threshold=[1, 1 + 2 ** -30], inputs=[0])
    assert not exact_dtype(net, torch.float32) and exact_dtype(net, torch.float64)
    r = simulate(net, [[0.0]], 5.0, backend=backend)
    assert r.counts.tolist() == [[1, 0]] == simulate_reference(net, [[0.0]], 5.0).counts.tolist()
    with pytest.raises(ValidationError, match="float64"):
        simulate(net, [[0.0]], 5.0, backend="torch", dtype=torch.float32)
    r64 = simulate(net.with_params(threshold=[1, 1.0]), [[0.0]], 5.0, backend="torch", dtype=torch.float64)
    assert r64.counts.tolist() == [[1, 1]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_horizon_just_above_a_grid_point_keeps_that_step(backend: str) -> None:
    net = GeometricNetwork.from_arrays(2, [0], [1], [10.0], inputs=[0])
    assert n_steps_for(10.0, 1.0) == 10 and n_steps_for(10.0 + 1e-12, 1.0) == 11
    assert simulate(net, [[0.0]], 10.0, backend=backend).counts.tolist() == [[1, 0]]
    assert simulate(net, [[0.0]], 10.0 + 1e-12, backend=backend).counts.tolist() == [[1, 1]]
    assert simulate_reference(net, [[0.0]], 10.0 + 1e-12).counts.tolist() == [[1, 1]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_dyadic_weights_match_the_reference(backend: str) -> None:
    """Weights 0.1 / 0.2 / -0.3 (no exact packing; float64 sums) on a grid network, thresholds off ties."""
    base = random_grid_network(2, dt=1.0)
    rng = np.random.default_rng(0)
    net = GeometricNetwork.from_arrays(base.n, base.pre, base.post, base.latency,
                                       rng.choice([0.1, 0.2, 0.3, -0.3], base.n_edges), refractory=base.refractory,
                                       threshold=rng.choice([0.25, 0.35, 0.45], base.n), window=base.window,
                                       inputs=base.inputs)
    stim = random_stimulus(2, 4, net.n_inputs, 1.0)
    ref = simulate_reference(net, stim, 30.0)
    fast = simulate(net, stim, 30.0, record_spikes=True, backend=backend)
    assert int(ref.counts.sum()) > 2 * net.n_inputs
    for b in range(4):
        assert fast.spike_trains(b) == ref.spike_trains(b)


@pytest.mark.parametrize("kw, match", [
    (dict(pre=[0.7]), "pre must hold integer node indices"),
    (dict(post=[np.nan]), "post must hold integer"),
    (dict(pre=[True]), "boolean"),
    (dict(pre=["a"]), "pre must hold integer"),
    (dict(weight=["x"]), "weight must be numbers"),
    (dict(inputs=[0.5]), "inputs must hold integer"),
    (dict(inputs=np.array([True, False, True])), "mask must have one entry per node"),
    (dict(n=True), "n must be a positive integer"),
])
def test_from_arrays_rejects_silent_conversions(kw: dict, match: str) -> None:
    args = dict(n=2, pre=[0], post=[1], latency=[1.0])
    args.update(kw)
    with pytest.raises(ValidationError, match=match):
        GeometricNetwork.from_arrays(args.pop("n"), args.pop("pre"), args.pop("post"), args.pop("latency"), **args)


def test_from_arrays_accepts_numpy_scalars_masks_and_integral_floats() -> None:
    net = GeometricNetwork.from_arrays(np.int64(3), [0.0, 1.0], np.array([1, 2], dtype=np.int32), [1.0, 1.0],
                                       inputs=np.array([True, False, False]))
    assert net.inputs.tolist() == [0] and net.pre.tolist() == [0, 1]
    r = simulate(net, [[0.0]], 5.0, dt=np.float32(0.5), batch_size=np.int64(1))
    assert r.first_spike.tolist() == [[0.0, 1.0, 2.0]]
