"""Graph networks over neurons: permutation equivariance, variable N, fixed graphs; sequence models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurocircuits.errors import ValidationError
from neurocircuits.models.graph import GraphNet, normalise_in_weights, pair_features, prior_adjacency
from neurocircuits.models.sequence import GRUNet, MLPNet, Persistence, RidgeAR, TransformerNet, rollout
from neurocircuits.train import seeded


def _net(graph="inferred", adjacency=None, seed=0, rounds=1):
    with seeded(seed):
        net = GraphNet(hidden=16, graph=graph, adjacency=adjacency, rounds=rounds)
        for p in net.parameters():  # non-zero decoder, so the forecast depends on the messages
            torch.nn.init.normal_(p, std=0.3)
    return net.eval()


@pytest.mark.parametrize("rounds", [1, 2])
def test_inferred_graph_is_permutation_equivariant(rounds):
    net = _net(rounds=rounds)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 6, 9, generator=g)
    perm = torch.randperm(9, generator=g)
    nxt, beh = net(x)
    nxt_p, beh_p = net(x[:, :, perm])
    torch.testing.assert_close(nxt_p, nxt[:, perm], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(beh_p, beh, atol=1e-5, rtol=1e-5)  # readout is invariant
    a, a_p = net.infer_adjacency(x), net.infer_adjacency(x[:, :, perm])
    torch.testing.assert_close(a_p, a[:, perm][:, :, perm], atol=1e-6, rtol=1e-5)
    assert torch.all(torch.diagonal(a, dim1=1, dim2=2) == 0) and a.min() >= 0 and a.max() <= 1


def test_fixed_graph_equivariant_and_uses_the_graph():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 4, size=(7, 7)).astype(float)
    net = _net("fixed", prior_adjacency(counts))
    x = torch.randn(2, 6, 7, generator=torch.Generator().manual_seed(2))
    perm = torch.tensor([3, 0, 6, 1, 5, 2, 4])
    adj_p = prior_adjacency(counts[np.ix_(perm.numpy(), perm.numpy())])
    nxt = net(x)[0]
    torch.testing.assert_close(net(x[:, :, perm], adjacency=adj_p)[0], nxt[:, perm], atol=1e-5, rtol=1e-5)
    # a neuron's forecast changes when a presynaptic partner changes, and not otherwise
    a = prior_adjacency(counts)
    post = int(np.argmax((a > 0).sum(0)))
    pre = int(np.flatnonzero(a[:, post] > 0)[0])
    silent = [j for j in range(7) if a[j, post] == 0 and j != post]
    x2 = x.clone()
    x2[:, :, pre] += 1.0
    assert not torch.allclose(net(x2)[0][:, post], nxt[:, post])
    if silent:
        x3 = x.clone()
        x3[:, :, silent[0]] += 1.0
        torch.testing.assert_close(net(x3)[0][:, post], nxt[:, post])
    with pytest.raises(ValidationError, match="shape"):
        net(torch.randn(1, 6, 5))


def test_variable_number_of_neurons_and_message_reference():
    net = _net()
    for n in (1, 4, 23):
        nxt, beh = net(torch.randn(2, 6, n))
        assert nxt.shape == (2, n) and beh.shape == (2, 3) and torch.isfinite(nxt).all()
    # the vectorised pair MLP agrees with an explicit loop over (sender, receiver)
    h = torch.randn(1, 4, 16)
    fast = net.message[0](h, h)
    for j in range(4):
        for i in range(4):
            slow = net.message[0].out(torch.relu(net.message[0].u(h[0, i]) + net.message[0].v(h[0, j])))
            torch.testing.assert_close(fast[0, j, i], slow, atol=1e-5, rtol=1e-5)
    x = torch.randn(2, 5, 3)
    f = pair_features(x)
    for j in range(3):
        for i in range(3):
            lag = sum(x[:, t - 1, j] * x[:, t, i] for t in range(1, 5)) / 4
            torch.testing.assert_close(f[:, j, i], torch.stack([lag, (x[:, :, j] * x[:, :, i]).mean(1)], -1))


def test_normalisation_and_prior():
    a = normalise_in_weights(torch.tensor([[0.0, 1.0, 0.0], [3.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    torch.testing.assert_close(a.sum(0), torch.tensor([1.0, 1.0, 0.0]))
    with pytest.raises(ValidationError, match="non-negative"):
        GraphNet(graph="fixed", adjacency=-np.eye(3))
    with pytest.raises(ValidationError):
        GraphNet(graph="bogus")
    with pytest.raises(ValidationError, match="adjacency"):
        GraphNet(graph="fixed")(torch.randn(1, 6, 3))


def _coupled(T=1200, W=10):
    """Four AR(1) neurons; neuron 0 drives neuron 1 with a one-frame lag."""
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(T, 4)
    for t in range(1, T):
        x[t] = 0.6 * x[t - 1] + 0.5 * torch.randn(4, generator=g)
        x[t, 1] = 0.3 * x[t - 1, 1] + 0.9 * x[t - 1, 0] + 0.1 * torch.randn(1, generator=g)
    idx = torch.arange(T - W)
    return torch.stack([x[i:i + W] for i in idx]), x[idx + W]


@pytest.mark.parametrize("graph", ["fixed", "inferred"])
def test_graph_net_learns_a_coupled_system(graph):
    """Fixed true graph: near-exact forecast of the driven neuron. Inferred: clearly better than persistence,
    and the driver becomes the strongest inferred input of the driven neuron."""
    from neurocircuits.train import TrainConfig, fit

    X, Y = _coupled()
    adj = np.zeros((4, 4))
    adj[0, 1] = 1.0
    with seeded(0):
        net = GraphNet(hidden=16, graph=graph, adjacency=adj if graph == "fixed" else None)
    fit(net, (X[:900], Y[:900]), torch.nn.functional.mse_loss, TrainConfig(epochs=15, lr=1e-2, batch_size=64),
        seed=0, forward=lambda m, xs: m(*xs)[0])
    with torch.no_grad():
        err_net = ((net(X[900:])[0] - Y[900:])[:, 1] ** 2).mean()
    err_pers = ((X[900:, -1] - Y[900:])[:, 1] ** 2).mean()
    assert err_net < (0.15 if graph == "fixed" else 0.7) * err_pers
    if graph == "inferred":
        with torch.no_grad():
            a = net.infer_adjacency(X[900:]).mean(0)
        assert a[0, 1] > a[2, 1] and a[0, 1] > a[3, 1]


def test_sequence_models_and_baselines():
    x = torch.randn(5, 6, 7)
    for m in (MLPNet(7, 6, hidden=16), GRUNet(7, hidden=16), TransformerNet(7, 6, d_model=16, heads=2, layers=1)):
        nxt, beh = m.eval()(x)
        assert nxt.shape == (5, 7) and beh.shape == (5, 3)
        torch.testing.assert_close(nxt, x[:, -1])  # residual head starts at persistence
        with pytest.raises(ValidationError):
            m(torch.randn(5, 6, 8))
    torch.testing.assert_close(Persistence()(x)[0], x[:, -1])
    # ridge recovers a linear AR(2) map and its rollout matches the true recursion
    g = torch.Generator().manual_seed(0)
    A1, A2 = 0.5 * torch.eye(3), 0.2 * torch.eye(3)
    xs = torch.randn(400, 2, 3, generator=g)
    y = xs[:, -1] @ A1.T + xs[:, 0] @ A2.T + 0.1
    ar = RidgeAR().fit(xs, y, alpha=1e-6)
    torch.testing.assert_close(ar(xs)[0], y, atol=1e-4, rtol=1e-4)
    roll = rollout(lambda w: ar(w)[0], xs[:2], 3)
    w = xs[:2]
    for k in range(3):
        nxt = w[:, -1] @ A1.T + w[:, 0] @ A2.T + 0.1
        torch.testing.assert_close(roll[:, k], nxt, atol=1e-3, rtol=1e-3)
        w = torch.stack([w[:, -1], nxt], 1)
    with pytest.raises(ValidationError, match="not fitted"):
        RidgeAR()(xs)


def test_fast_aggregation_matches_the_pairwise_reference():
    """Dense (linearity trick) and edge-list aggregation agree with summing every pair's message."""
    net = _net()
    msg = net.message[0]
    x = torch.randn(2, 6, 7, generator=torch.Generator().manual_seed(4))
    h = net.encode(x)
    pair = pair_features(x)
    a = torch.rand(2, 7, 7, generator=torch.Generator().manual_seed(5))
    a[:, torch.arange(7), torch.arange(7)] = 0
    a[a < 0.5] = 0  # sparse weights
    ref = (a[..., None] * msg(h, h, pair)).sum(1)
    torch.testing.assert_close(msg.aggregate(h, pair, a), ref, atol=1e-5, rtol=1e-5)
    pre, post = torch.nonzero(a[0], as_tuple=True)
    sparse = msg.aggregate_edges(h, x, pre, post, a[0, pre, post])
    torch.testing.assert_close(sparse[0], ref[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sparse[1], msg.aggregate(h, pair, a[:1].expand(2, -1, -1))[1], atol=1e-5, rtol=1e-5)


def test_identity_embeddings_travel_with_the_neurons():
    """With per-name embeddings the net stays equivariant when names are permuted with the traces;
    unnamed neurons (id 0) share one embedding, and a worm with other neurons needs only its ids."""
    with seeded(0):
        net = GraphNet(hidden=16, n_identities=5)
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.3)
    net.eval().set_node_ids(np.array([1, 2, 3, 4, 5, 0]))
    x = torch.randn(2, 6, 6, generator=torch.Generator().manual_seed(7))
    perm = torch.tensor([5, 2, 0, 4, 1, 3])
    nxt, beh = net(x)
    nxt_p, beh_p = net(x[:, :, perm], ids=net.node_ids[perm])
    torch.testing.assert_close(nxt_p, nxt[:, perm], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(beh_p, beh, atol=1e-5, rtol=1e-5)
    # identities matter: the same traces with other names give other forecasts
    assert not torch.allclose(net(x, ids=torch.tensor([5, 4, 3, 2, 1, 0]))[0], nxt)
    # two unnamed neurons with equal traces get equal forecasts
    x2 = x.clone()
    x2[:, :, 1] = x2[:, :, 0]
    out = net(x2, ids=torch.tensor([0, 0, 3, 4, 5, 1]))[0]
    torch.testing.assert_close(out[:, 0], out[:, 1])
    assert net(torch.randn(1, 6, 3), ids=torch.tensor([0, 0, 2]))[0].shape == (1, 3)
    with pytest.raises(ValidationError):
        net.set_node_ids(np.array([1, 9]))
