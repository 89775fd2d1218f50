"""Tests of the geometric competitive-refractory engines (reference vs fast, hand cases)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neurocircuits.circuit import geometric
from neurocircuits.dynamics.geometric import (
    GeometricNetwork, initial_state, numba_available, shortest_arrival, simulate, simulate_reference, step,
)
from neurocircuits.dynamics.geometric.testing import random_grid_network, random_stimulus
from neurocircuits.errors import ValidationError

INF = math.inf
BACKENDS = ["torch", pytest.param("numba", marks=pytest.mark.skipif(not numba_available(),
                                                                     reason="numba (the [fast] extra) not installed"))]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(8))
def test_engines_agree_on_random_grid_networks(seed: int, backend: str) -> None:
    dt = 0.5
    net = random_grid_network(seed, dt=dt)
    assert net.on_grid(dt)
    stim = random_stimulus(seed, 5, net.n_inputs, dt)
    ref = simulate_reference(net, stim, horizon=30.0)
    fast = simulate(net, stim, horizon=30.0, dt=dt, record_spikes=True, batch_size=3, backend=backend)
    assert int(ref.counts.sum()) > 3 * net.n_inputs  # the network is actually active
    for b in range(stim.shape[0]):
        assert fast.spike_trains(b) == ref.spike_trains(b)
    assert torch.equal(fast.counts, ref.counts)
    assert torch.equal(fast.first_spike, ref.first_spike)
    assert torch.equal(fast.arrivals, ref.arrivals)
    assert torch.equal(fast.discarded, ref.discarded)
    assert fast.refraction_ratio == ref.refraction_ratio


@pytest.mark.parametrize("backend", BACKENDS)
def test_engines_agree_with_reverberation_and_saturation(backend: str) -> None:
    """Excitatory, theta = 1, small R: many re-activations and many discarded arrivals."""
    dt = 1.0
    net = random_grid_network(3, n=60, p=0.1, dt=dt, inhibition=False, window=False).with_params(
        threshold=1.0, refractory=2.0)
    stim = random_stimulus(3, 4, net.n_inputs, dt)
    ref = simulate_reference(net, stim, horizon=40.0)
    fast = simulate(net, stim, horizon=40.0, dt=dt, record_spikes=True, backend=backend)
    assert float(ref.counts[:, net.hidden()].float().mean()) > 3  # reverberating
    assert ref.discard_fraction() > 0.3
    for b in range(4):
        assert fast.spike_trains(b) == ref.spike_trains(b)
    assert torch.equal(fast.discarded, ref.discarded)


def test_chain_hand_checked() -> None:
    # 0 -> 1 -> 2 -> 3 with latencies 1, 2, 3: spikes at 0, 1, 3, 6
    net = GeometricNetwork.from_arrays(4, [0, 1, 2], [1, 2, 3], [1.0, 2.0, 3.0], inputs=[0])
    for r in (simulate_reference(net, [[0.0]], 20.0), simulate(net, [[0.0]], 20.0, record_spikes=True)):
        assert r.spike_trains(0) == [(0.0, 0), (1.0, 1), (3.0, 2), (6.0, 3)]
        assert r.counts.tolist() == [[1, 1, 1, 1]]
        assert r.arrivals.tolist() == [3.0] and r.discarded.tolist() == [0.0]
    # the horizon cuts events at times >= horizon
    r = simulate_reference(net, [[0.0]], 6.0)
    assert r.first_spike[0, 3] == INF and r.counts[0].tolist() == [1, 1, 1, 0]


def test_two_input_competition_hand_checked() -> None:
    """Inputs 0 and 1 both drive node 2 (R = 3). Arrivals at 1 and 2: the second is lost."""
    net = GeometricNetwork.from_arrays(3, [0, 1], [2, 2], [1.0, 1.0], refractory=[0, 0, 3.0], inputs=[0, 1])
    stim = [[0.0, 1.0],   # arrivals 1, 2: fires at 1, arrival at 2 discarded
            [0.0, 3.0],   # arrivals 1, 4: 4 = 1 + R is accepted (boundary rule) -> fires twice
            [2.0, 0.0],   # the other input wins: fires at 1, arrival at 3 discarded
            [0.0, 0.0]]   # simultaneous arrivals are summed into one firing
    expect_counts = [1, 2, 1, 1]
    for r in (simulate_reference(net, stim, 10.0), simulate(net, stim, 10.0, record_spikes=True)):
        assert r.counts[:, 2].tolist() == expect_counts
        assert r.first_spike[:, 2].tolist() == [1.0, 1.0, 1.0, 1.0]
        assert r.discarded.tolist() == [1.0, 0.0, 1.0, 0.0]
        assert [t for t, n in r.spike_trains(1) if n == 2] == [1.0, 4.0]
        assert r.refraction_ratio == 3.0


def test_temporal_summation_window() -> None:
    """theta = 2: two unit arrivals fire the node only if they fall within the window."""
    stim = [[0.0, 1.0], [0.0, 2.0], [0.0, 0.0]]
    for window, expect in ((2.0, [1, 0, 1]), (3.0, [1, 1, 1]), (INF, [1, 1, 1]), (1.0, [0, 0, 1])):
        net = GeometricNetwork.from_arrays(3, [0, 1], [2, 2], [1.0, 1.0], threshold=[1, 1, 2.0],
                                           window=window, inputs=[0, 1])
        for r in (simulate_reference(net, stim, 10.0), simulate(net, stim, 10.0)):
            assert r.counts[:, 2].tolist() == expect, window


def test_inhibition_leaving_window_releases_firing() -> None:
    """An inhibitory arrival that leaves the window lets the remaining sum reach threshold."""
    # 0 -(-1, lat 1)-> 3 ; 1 -(+1, lat 2)-> 3 ; 2 -(+1, lat 2)-> 3 ; theta 2, window 2
    net = GeometricNetwork.from_arrays(4, [0, 1, 2], [3, 3, 3], [1.0, 2.0, 2.0], [-1.0, 1.0, 1.0],
                                       threshold=[1, 1, 1, 2.0], window=2.0, inputs=[0, 1, 2])
    # arrivals: -1 at t=1, +1 +1 at t=2 -> S(2) = 1; at t=3 the -1 expires -> S = 2 -> fire at 3
    for r in (simulate_reference(net, [[0.0, 0.0, 0.0]], 10.0), simulate(net, [[0.0, 0.0, 0.0]], 10.0)):
        assert r.first_spike[0, 3].item() == 3.0


@pytest.mark.parametrize("R", [1.0, 5.0, 20.0])
def test_first_spike_equals_dijkstra_when_one_arrival_fires(R: float) -> None:
    rng = np.random.default_rng(7)
    n_in, n_h = 30, 120
    pos = np.concatenate([rng.uniform(0, 6, (n_in, 2)), rng.uniform(0, 6, (n_h, 2))])
    c = geometric(n_in + n_h, dim=2, positions=pos, rule="knn", k=6)
    net = GeometricNetwork.from_circuit(c, speed=0.5, refractory=R, inputs=range(n_in))
    stim = np.where(rng.random((6, n_in)) < 0.5, rng.uniform(0, 3, (6, n_in)), INF)
    want = shortest_arrival(net, stim)
    horizon = float(want[np.isfinite(want)].max()) + 1.0
    got = simulate_reference(net, stim, horizon=horizon, record_spikes=False).first_spike.numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert np.isfinite(want[:, n_in:]).mean() > 0.5
    # the fast engine matches on the dt grid (latencies rounded -> compare with rounded Dijkstra)
    dt = 0.125
    lat = np.rint(net.latency / dt) * dt
    grid = GeometricNetwork.from_arrays(net.n, net.pre, net.post, lat, refractory=R, inputs=net.inputs)
    sg = np.rint(stim / dt) * dt
    fast = simulate(grid, sg, horizon=horizon + 2.0, dt=dt).first_spike.numpy()
    np.testing.assert_array_equal(fast, shortest_arrival(grid, sg))


def test_fast_engine_matches_reference_on_circuit_geometry() -> None:
    """Continuous latencies: the reference on rounded latencies equals the fast engine."""
    c = geometric(200, dim=3, rule="radius", radius=0.25, seed=4)
    dt = 0.0625  # dyadic, so grid times are exact in floating point
    net = GeometricNetwork.from_circuit(c, speed=0.25, refractory=0.375, threshold=1.0, inputs=range(10))
    grid = GeometricNetwork.from_arrays(net.n, net.pre, net.post, np.maximum(np.rint(net.latency / dt), 1) * dt,
                                        refractory=net.refractory, inputs=net.inputs)
    stim = random_stimulus(4, 3, 10, dt, t_max=4)
    ref = simulate_reference(grid, stim, horizon=6.0)
    fast = simulate(net, stim, horizon=6.0, dt=dt, record_spikes=True)
    assert int(ref.counts.sum()) > 100
    for b in range(3):
        assert [(round(t, 9), n) for t, n in fast.spike_trains(b)] == \
               [(round(t, 9), n) for t, n in ref.spike_trains(b)]


def test_refraction_ratio_and_summary() -> None:
    net = GeometricNetwork.from_arrays(3, [0, 1], [1, 2], [2.0, 4.0], refractory=[1.0, 2.0, 2.0])
    np.testing.assert_allclose(net.refraction_ratio(), [1.0, 0.5])
    s = net.summary()
    assert s["edges"] == 2 and s["refraction_ratio_median"] == 0.75
    np.testing.assert_array_equal(net.hidden(), [0, 1, 2])


def test_from_circuit_latency_is_length_over_speed() -> None:
    c = geometric(30, rule="knn", k=3, seed=2)
    net = GeometricNetwork.from_circuit(c, speed=2.0, inputs=["n0", "n1"])
    order = np.lexsort((c.post, c.pre))
    np.testing.assert_allclose(net.latency, c.length[order] / 2.0)
    np.testing.assert_array_equal(net.inputs, [0, 1])


@pytest.mark.parametrize("kw, match", [
    (dict(latency=[-1.0]), "latencies must be > 0"),
    (dict(latency=[0.0]), "latencies must be > 0"),
    (dict(latency=[math.nan]), "NaN"),
    (dict(refractory=-1.0), "refractory"),
    (dict(threshold=0.0), "thresholds"),
    (dict(window=0.0), "window"),
    (dict(positions=[[0.0, 0.0], [math.nan, 1.0]]), "NaN"),
    (dict(positions=[[0.0, 0.0]]), "positions"),
    (dict(inputs=[5]), "input indices"),
    (dict(post=[3]), "edge endpoints"),
])
def test_bad_network_raises(kw: dict, match: str) -> None:
    args = dict(n=2, pre=[0], post=[1], latency=[1.0])
    args.update({k: v for k, v in kw.items() if k in args})
    extra = {k: v for k, v in kw.items() if k not in args}
    with pytest.raises(ValidationError, match=match):
        GeometricNetwork.from_arrays(**args, **extra)


def test_bad_stimulus_and_settings_raise() -> None:
    net = GeometricNetwork.from_arrays(3, [0, 1], [2, 2], [1.0, 0.3], inputs=[0, 1])
    for sim in (lambda s, **k: simulate(net, s, 5.0, **k), lambda s, **k: simulate_reference(net, s, 5.0)):
        with pytest.raises(ValidationError, match="shape"):
            sim([[0.0, 1.0, 2.0]])
        with pytest.raises(ValidationError, match="NaN"):
            sim([[0.0, math.nan]])
        with pytest.raises(ValidationError, match=">= 0"):
            sim([[-1.0, 0.0]])
    with pytest.raises(ValidationError, match=r"too coarse.*use dt < 0\.6"):
        simulate(net, [[0.0, 0.0]], 5.0, dt=0.6)  # 0.3 / 0.6 = 0.5 rounds (to even) to 0 steps: the boundary
    with pytest.raises(ValidationError, match="dt"):
        simulate(net, [[0.0, 0.0]], 5.0, dt=-0.1)
    with pytest.raises(ValidationError, match="horizon"):
        simulate(net, [[0.0, 0.0]], math.nan, dt=0.1)
    with pytest.raises(ValidationError, match="circuit has no edge lengths"):
        from neurocircuits.circuit import Circuit
        GeometricNetwork.from_circuit(Circuit(["a", "b"], [0], [1]))


def test_torch_stimulus_and_empty_batch() -> None:
    net = GeometricNetwork.from_arrays(2, [0], [1], [1.0], inputs=[0])
    r = simulate(net, torch.tensor([[0.0], [INF]]), 5.0)
    assert r.first_spike.tolist() == [[0.0, 1.0], [INF, INF]]
    feats = r.first_spike_features(torch.tensor([1]))
    assert feats.tolist() == [[pytest.approx(0.8)], [0.0]]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available on this machine")
def test_cuda_matches_cpu() -> None:
    net = random_grid_network(1, dt=0.5)
    stim = random_stimulus(1, 6, net.n_inputs, 0.5)
    a = simulate(net, stim, 30.0, dt=0.5, record_spikes=True)
    b = simulate(net, stim, 30.0, dt=0.5, record_spikes=True, device="cuda")
    assert torch.equal(a.counts, b.counts) and torch.equal(a.spike_time, b.spike_time)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(3))
def test_engines_agree_with_one_shared_window(seed: int, backend: str) -> None:
    """The fast path for a window shared by every node gives the reference's spike trains."""
    dt = 0.5
    net = random_grid_network(seed + 20, dt=dt).with_params(window=1.5)
    stim = random_stimulus(seed, 4, net.n_inputs, dt)
    ref = simulate_reference(net, stim, horizon=30.0)
    fast = simulate(net, stim, horizon=30.0, dt=dt, record_spikes=True, backend=backend)
    assert int(ref.counts.sum()) > 2 * net.n_inputs
    for b in range(4):
        assert fast.spike_trains(b) == ref.spike_trains(b)


def test_spike_trains_need_recorded_spikes() -> None:
    net = GeometricNetwork.from_arrays(2, [0], [1], [1.0], inputs=[0])
    with pytest.raises(ValidationError, match="record_spikes=True"):
        simulate(net, [[0.0]], 5.0).spike_trains(0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_node_touched_in_one_step(backend: str) -> None:
    """Input 0 reaches every node (itself included) twice with one delay, in several stimuli:
    the pending-arrival lists of that step are full, and more arrivals follow for nodes
    already listed."""
    n = 40
    allnodes = np.arange(n)
    post = np.arange(1, n)
    net = GeometricNetwork.from_arrays(
        n, np.concatenate([np.zeros(2 * n, int), post]), np.concatenate([allnodes, allnodes, np.roll(post, 1)]),
        np.concatenate([np.full(2 * n, 2.0), np.ones(n - 1)]), refractory=3.0, threshold=2.0, inputs=[0])
    stim = np.array([[0.0], [1.0], [INF], [3.0], [0.0], [2.0]])
    ref = simulate_reference(net, stim, horizon=15.0)
    fast = simulate(net, stim, horizon=15.0, record_spikes=True, backend=backend)
    assert int(ref.counts.sum()) > 2 * n
    for b in range(stim.shape[0]):
        assert fast.spike_trains(b) == ref.spike_trains(b)
    assert torch.equal(fast.arrivals, ref.arrivals) and torch.equal(fast.discarded, ref.discarded)


def test_plan_is_built_once_per_setting_and_not_pickled() -> None:
    import pickle

    net = random_grid_network(0, dt=0.5)
    stim = random_stimulus(0, 2, net.n_inputs, 0.5)
    a = simulate(net, stim, horizon=10.0, dt=0.5, backend="torch")
    assert len(net._plans) == 1
    b = simulate(net, stim, horizon=10.0, dt=0.5, backend="torch")
    assert len(net._plans) == 1 and torch.equal(a.counts, b.counts)
    simulate(net, stim, horizon=10.0, dt=0.25, backend="torch")
    assert len(net._plans) == 2
    copy = pickle.loads(pickle.dumps(net))
    assert copy._plans == {} and np.array_equal(copy.post, net.post)
    assert torch.equal(simulate(copy, stim, horizon=10.0, dt=0.5, backend="torch").counts, a.counts)


@pytest.mark.skipif(not numba_available(), reason="numba (the [fast] extra) not installed")
@pytest.mark.parametrize("seed", range(4))
def test_locality_numbering_is_invisible(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """simulate() lets the numba kernel renumber large networks for cache locality; results come
    back in the network's numbering (forced here on small networks, windows and inhibition included)."""
    from neurocircuits.dynamics.geometric import fast

    monkeypatch.setattr(fast, "_REORDER_MIN_NODES", 0)
    dt = 0.5
    net = random_grid_network(seed, dt=dt)
    stim = random_stimulus(seed, 4, net.n_inputs, dt)
    ref = simulate_reference(net, stim, horizon=30.0)
    got = simulate(net, stim, horizon=30.0, dt=dt, record_spikes=True, backend="numba")
    plan = next(p for k, p in net._plans.items() if k[4])  # the renumbering plan
    assert plan.perm is not None and not np.array_equal(plan.perm, np.arange(net.n))
    for b in range(stim.shape[0]):
        assert got.spike_trains(b) == ref.spike_trains(b)
    assert torch.equal(got.counts, ref.counts) and torch.equal(got.first_spike, ref.first_spike)
    assert torch.equal(got.arrivals, ref.arrivals) and torch.equal(got.discarded, ref.discarded)


@pytest.mark.parametrize("seed", range(4))
def test_sync_free_sparse_matmul_scatter_is_exact(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The torch backend's CUDA path (one sparse product per delay, no host synchronisation),
    forced on the CPU: the same spike trains as the reference, windows and inhibition included."""
    from neurocircuits.dynamics.geometric import fast

    monkeypatch.setattr(fast, "_SPMM_ON", {"cpu": True})
    dt = 0.5
    net = random_grid_network(seed, dt=dt)
    stim = random_stimulus(seed, 5, net.n_inputs, dt)
    ref = simulate_reference(net, stim, horizon=30.0)
    for record in (True, False):
        got = simulate(net, stim, horizon=30.0, dt=dt, record_spikes=record, backend="torch", batch_size=3)
        assert next(p for k, p in net._plans.items() if k[-1]).spmm
        if record:
            for b in range(stim.shape[0]):
                assert got.spike_trains(b) == ref.spike_trains(b)
        assert torch.equal(got.counts, ref.counts) and torch.equal(got.first_spike, ref.first_spike)
        assert torch.equal(got.arrivals, ref.arrivals) and torch.equal(got.discarded, ref.discarded)
    # the step API on the same path
    s = initial_state(net, batch=1, dt=dt, backend="torch")
    steps = np.where(np.isfinite(stim[:1]), np.rint(stim[:1] / dt), -1).astype(int)
    for t in range(int(30.0 / dt)):
        s, _ = step(net, s, inputs=steps == t)
    assert torch.equal(s.counts[0], ref.counts[0])


@pytest.mark.skipif(not numba_available(), reason="numba (the [fast] extra) not installed")
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("parts", [2, 3, 7])
def test_one_stimulus_split_over_threads_is_exact(seed: int, parts: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """simulate() splits one stimulus over threads (node parts, two phases per step) when the
    batch leaves threads idle; forced here on small networks with inhibition and the locality
    numbering: the reference's spike trains, counts, arrivals and discards."""
    from neurocircuits.dynamics.geometric import fast

    monkeypatch.setattr(fast, "_SPLIT_MIN_EDGES", 0)
    monkeypatch.setattr(fast, "_SPLIT_PARTS", parts)
    monkeypatch.setattr(fast, "_REORDER_MIN_NODES", 0 if seed % 2 else 10 ** 9)
    dt = 0.5
    net = random_grid_network(seed, n=60, dt=dt, window=False)
    stim = random_stimulus(seed, 3, net.n_inputs, dt)
    ref = simulate_reference(net, stim, horizon=30.0)
    for record in (True, False):
        got = simulate(net, stim, horizon=30.0, dt=dt, record_spikes=record, backend="numba", num_threads=4)
        if record:
            for b in range(stim.shape[0]):
                assert got.spike_trains(b) == ref.spike_trains(b)
        assert torch.equal(got.counts, ref.counts) and torch.equal(got.first_spike, ref.first_spike)
        assert torch.equal(got.arrivals, ref.arrivals) and torch.equal(got.discarded, ref.discarded)
    plan = next(p for k, p in net._plans.items() if k[4])
    sp = plan.split(parts)
    assert sp["bounds"][0] == 0 and sp["bounds"][-1] == net.n and np.all(np.diff(sp["bounds"]) >= 0)
    assert len(plan._splits) == 1  # built once per part count


@pytest.mark.skipif(not numba_available(), reason="numba (the [fast] extra) not installed")
def test_split_is_chosen_only_where_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    from neurocircuits.dynamics.geometric import fast
    import numba

    big = GeometricNetwork.from_arrays(3, [0, 1], [1, 2], [1.0, 1.0], inputs=[0])
    windowed = GeometricNetwork.from_arrays(3, [0, 1], [1, 2], [1.0, 1.0], window=2.0, inputs=[0])
    monkeypatch.setattr(fast, "_SPLIT_MIN_EDGES", 0)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert fast._split_parts(fast._plan(big, 1.0, torch.device("cpu"), None, "numba"), 1) == 0  # one thread
        monkeypatch.setattr(fast, "_SPLIT_PARTS", 3)  # a forced part count applies on any machine
        assert fast._split_parts(fast._plan(big, 1.0, torch.device("cpu"), None, "numba"), 2) == 3
        monkeypatch.setattr(fast, "_SPLIT_PARTS", None)
        if numba.config.NUMBA_NUM_THREADS >= 2:
            numba.set_num_threads(2)
            assert fast._split_parts(fast._plan(big, 1.0, torch.device("cpu"), None, "numba"), 1) == 2
            assert fast._split_parts(fast._plan(big, 1.0, torch.device("cpu"), None, "numba"), 2) == 0  # batch fills them
            assert fast._split_parts(fast._plan(windowed, 1.0, torch.device("cpu"), None, "numba"), 1) == 0
            monkeypatch.setattr(fast, "_SPLIT_MIN_EDGES", 10)
            assert fast._split_parts(fast._plan(big, 1.0, torch.device("cpu"), None, "numba"), 1) == 0  # too small
    finally:
        numba.set_num_threads(old)


@pytest.mark.skipif(not numba_available(), reason="numba (the [fast] extra) not installed")
@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("window", [False, True])
def test_spike_record_emptied_when_full(split: bool, window: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record row that could not take another step stops the kernel, is emptied and the run
    goes on: with room for barely one step, every spike is still recorded once, in order."""
    from neurocircuits.dynamics.geometric import fast

    monkeypatch.setattr(fast, "_record_room", lambda n: n + 1)
    if split:
        monkeypatch.setattr(fast, "_SPLIT_MIN_EDGES", 0)
        monkeypatch.setattr(fast, "_SPLIT_PARTS", 4)  # more parts than the 3 stimuli
    dt = 0.5
    net = random_grid_network(5, n=60, dt=dt, window=window)
    stim = random_stimulus(5, 3, net.n_inputs, dt)
    ref = simulate_reference(net, stim, horizon=40.0)
    got = simulate(net, stim, horizon=40.0, dt=dt, record_spikes=True, backend="numba")
    assert int(ref.counts.sum()) > 2 * (net.n + 1)  # the record really filled and was emptied
    for b in range(stim.shape[0]):
        assert got.spike_trains(b) == ref.spike_trains(b)
    assert torch.equal(got.counts, ref.counts) and torch.equal(got.arrivals, ref.arrivals)
    assert bool(next(p for k, p in net._plans.items() if k[4])._splits) == (split and not window)
