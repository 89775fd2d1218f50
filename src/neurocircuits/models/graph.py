"""Graph networks over neurons that apply to any number of (named or unnamed) neurons.

:class:`GraphNet` treats every neuron as a node. A shared GRU encodes each node's own
trace over the window into ``h_i``; messages pass over a graph; a shared node update and
decoder forecast every node's next frame (residual, like the sequence models), and a
permutation-invariant readout (attention pooling over nodes, then an MLP) gives the behaviour outputs.
Nothing in the network depends on the number or the order of the neurons, so a model
trained on some worms runs on a worm it never saw, with its own N and unnamed cells.

The graph is either

- ``inferred`` (relational inference, per sample, in the spirit of NRI): pair hidden
  units ``r_ji = relu(U h_i + V h_j + P f_ji)`` for every ordered pair, where ``f_ji``
  are the lag-1 and zero-lag co-activations of the two traces in the window
  (:func:`pair_features`); edge weights ``A[b, j, i] = sigmoid(w . r_ji)`` (self-edges
  masked); messages ``m_i = sum_j A[b, j, i] * (W r_ji + d) / (N - 1)``;
- ``fixed``: a given non-negative adjacency ``A[pre, post]`` (e.g. the connectome,
  :func:`prior_adjacency`), each column normalised to sum to at most one, so a neuron
  receives the weighted mean of its presynaptic partners' messages; neurons without
  anatomical inputs (unnamed, or absent from the connectome) receive none.

All adjacencies follow the library convention ``A[pre, post]`` (sender, receiver).

Example:
    >>> import torch
    >>> net = GraphNet(hidden=8)
    >>> nxt, beh = net(torch.randn(2, 6, 11))        # 11 neurons
    >>> nxt2, _ = net(torch.randn(2, 6, 4))          # the same weights on 4 neurons
    >>> tuple(nxt.shape), tuple(beh.shape), tuple(nxt2.shape)
    ((2, 11), (2, 3), (2, 4))
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neurocircuits.errors import ValidationError, check_finite
from neurocircuits.models.sequence import N_BEHAVIOUR, _check_window


class _PairMLP(nn.Module):
    """``MLP([a_i, b_j, f_ji])`` for all pairs, as ``W relu(U a_i + V b_j + P f_ji + c) + d``.

    :meth:`forward` returns every pair (the reference); :meth:`aggregate` (dense weights)
    and :meth:`aggregate_edges` (an edge list) return the weighted sum over senders
    ``sum_j a_ji MLP(...)`` without materialising the output of every pair, using
    linearity of the last layer.
    """

    def __init__(self, d_in: int, hidden: int, d_out: int, d_pair: int = 0):
        super().__init__()
        self.u = nn.Linear(d_in, hidden)
        self.v = nn.Linear(d_in, hidden, bias=False)
        self.p = nn.Linear(d_pair, hidden, bias=False) if d_pair else None
        self.out = nn.Linear(hidden, d_out)

    def _hidden(self, recv: torch.Tensor, send: torch.Tensor, pair: torch.Tensor | None) -> torch.Tensor:
        z = self.u(recv)[:, None, :, :] + self.v(send)[:, :, None, :]
        if self.p is not None and pair is not None:
            z = z + self.p(pair)
        return torch.relu(z)

    def forward(self, recv: torch.Tensor, send: torch.Tensor, pair: torch.Tensor | None = None) -> torch.Tensor:
        """``recv``, ``send``: (B, N, D), ``pair``: (B, N_send, N_recv, d_pair) -> (B, N_send, N_recv, d_out)."""
        return self.out(self._hidden(recv, send, pair))

    def aggregate(self, h: torch.Tensor, pair: torch.Tensor | None, a: torch.Tensor) -> torch.Tensor:
        """``sum_j a[b, j, i] * MLP([h_i, h_j, f_ji])`` -> (B, N, d_out); ``a`` is (B or 1, N, N)."""
        return self.aggregate_hidden(self._hidden(h, h, pair), a)

    def aggregate_hidden(self, r: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """:meth:`aggregate` from precomputed pair hidden units ``r`` (B, N, N, hidden)."""
        a = a.expand(r.shape[0], -1, -1)
        agg = torch.matmul(a.transpose(1, 2).unsqueeze(2), r.permute(0, 2, 1, 3)).squeeze(2)
        return F.linear(agg, self.out.weight) + self.out.bias * a.sum(1)[..., None]

    def aggregate_edges(self, h: torch.Tensor, x: torch.Tensor, pre: torch.Tensor, post: torch.Tensor,
                        w: torch.Tensor) -> torch.Tensor:
        """The same sum over an edge list ``pre -> post`` with weights ``w`` (E,) -> (B, N, d_out)."""
        z = self.u(h[:, post]) + self.v(h[:, pre])
        if self.p is not None:
            z = z + self.p(edge_pair_features(x, pre, post))
        r = torch.relu(z) * w[None, :, None]
        agg = h.new_zeros(h.shape[0], h.shape[1], r.shape[-1]).index_add_(1, post, r)
        insum = h.new_zeros(h.shape[1]).index_add_(0, post, w)
        return F.linear(agg, self.out.weight) + self.out.bias * insum[None, :, None]


#: number of pairwise features of :func:`pair_features`
N_PAIR = 2


def pair_features(x: torch.Tensor) -> torch.Tensor:
    """Per-sample relation features of every ordered pair of neurons, (B, N_send, N_recv, 2).

    ``[mean_t x_j[t-1] x_i[t], mean_t x_j[t] x_i[t]]`` over the window: the lag-1 and
    zero-lag co-activation of sender ``j`` and receiver ``i`` (what NRI's edge network
    sees through the concatenated trajectories, given here explicitly).

    Example:
        >>> x = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])   # neuron 0 at t=0, neuron 1 at t=1
        >>> pair_features(x)[0, 0, 1].tolist()               # sender 0 -> receiver 1
        [1.0, 0.0]
    """
    w = x.shape[1]
    lag = torch.einsum("btj,bti->bji", x[:, :-1], x[:, 1:]) / max(w - 1, 1)
    zero = torch.einsum("btj,bti->bji", x, x) / w
    return torch.stack([lag, zero], dim=-1)


def edge_pair_features(x: torch.Tensor, pre: torch.Tensor, post: torch.Tensor) -> torch.Tensor:
    """:func:`pair_features` of the edges ``pre -> post`` only, (B, E, 2)."""
    w = x.shape[1]
    lag = (x[:, :-1, pre] * x[:, 1:, post]).sum(1) / max(w - 1, 1)
    zero = (x[:, :, pre] * x[:, :, post]).sum(1) / w
    return torch.stack([lag, zero], dim=-1)


class GraphNet(nn.Module):
    """Message passing over an inferred (per sample) or fixed graph of neurons.

    Args:
        hidden: node embedding size.
        graph: ``"inferred"`` or ``"fixed"``.
        adjacency: (N, N) non-negative ``A[pre, post]`` for ``graph="fixed"`` (may also be
            passed per call to :meth:`forward`, e.g. for a worm with other neurons).
        rounds: message-passing rounds.
        dropout: dropout inside the node update.
        n_identities: if > 0, a learned embedding per neuron identity ``1..n_identities``
            is added to each node's embedding; identity 0 is shared by all unnamed neurons.
            Identities follow the neurons (set with :meth:`set_node_ids` or per call), so
            the network stays permutation-equivariant.
        identity_dropout: during training, the fraction of nodes whose identity is
            replaced by 0 (so the model also learns to handle unnamed neurons).
    """

    def __init__(self, hidden: int = 32, graph: Literal["inferred", "fixed"] = "inferred", adjacency: torch.Tensor | np.ndarray | None = None,
                 rounds: int = 1, dropout: float = 0.0, n_identities: int = 0, identity_dropout: float = 0.0):
        super().__init__()
        if graph not in ("inferred", "fixed"):
            raise ValidationError(f"graph must be 'inferred' or 'fixed', got {graph!r}")
        if rounds < 1:
            raise ValidationError(f"rounds must be >= 1, got {rounds}")
        if not 0.0 <= identity_dropout < 1.0:
            raise ValidationError(f"identity_dropout must be in [0, 1), got {identity_dropout}")
        self.identity_dropout = identity_dropout
        self.graph, self.hidden, self.rounds = graph, hidden, rounds
        self.encoder = nn.GRU(1, hidden, batch_first=True)
        # optional learned embedding per neuron identity (index 0 = unnamed, shared by all unnamed cells)
        self.identity = nn.Embedding(n_identities + 1, hidden) if n_identities > 0 else None
        if self.identity is not None:
            nn.init.normal_(self.identity.weight, std=0.5)
        # the edge logit reads the first round's pair hidden units (shared with its messages)
        self.edge = nn.Linear(hidden, 1) if graph == "inferred" else None
        self.message = nn.ModuleList([_PairMLP(hidden, hidden, hidden, N_PAIR) for _ in range(rounds)])
        self.update = nn.ModuleList([nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
                                                   nn.Linear(hidden, hidden)) for _ in range(rounds)])
        self.decode = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        nn.init.zeros_(self.decode[-1].weight)  # type: ignore[arg-type]
        nn.init.zeros_(self.decode[-1].bias)  # type: ignore[arg-type]
        # behaviour: attention pooling over nodes (4 heads, softmax over neurons), then an MLP
        self.pool_heads = 4
        self.pool_score = nn.Linear(hidden, self.pool_heads)
        self.pool_value = nn.Linear(hidden + 2, hidden)  # embedding + the node's last and mean activity
        self.readout = nn.Sequential(nn.Linear(self.pool_heads * hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, N_BEHAVIOUR))
        if adjacency is not None:
            self.register_buffer("adjacency", normalise_in_weights(_as_tensor(adjacency)))
        else:
            self.adjacency = None
        self.register_buffer("node_ids", None)

    def set_node_ids(self, ids: torch.Tensor | np.ndarray | None) -> "GraphNet":
        """Default identity index of each input neuron (0 = unnamed) for ``n_identities > 0``."""
        if ids is None:
            self.register_buffer("node_ids", None)
        else:
            t = torch.as_tensor(ids, dtype=torch.long)
            if t.ndim != 1 or (t < 0).any() or (self.identity is not None and (t >= self.identity.num_embeddings).any()):
                raise ValidationError("node ids must be a 1-D array of indices in 0..n_identities")
            self.register_buffer("node_ids", t)
        return self

    def encode(self, x: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        """Per-node embeddings (B, N, hidden) from each node's own trace (B, W, N) (plus its identity)."""
        _check_window(x)
        b, w, n = x.shape
        _, h = self.encoder(x.permute(0, 2, 1).reshape(b * n, w, 1))
        h = h[-1].reshape(b, n, self.hidden)
        if self.identity is not None:
            ids = self.node_ids if ids is None else ids  # type: ignore[assignment]
            if ids is None:
                ids = torch.zeros(n, dtype=torch.long, device=x.device)
            if ids.shape != (n,):
                raise ValidationError(f"node ids must have shape ({n},), got {tuple(ids.shape)}")
            ids = ids.to(x.device).expand(b, n)
            if self.training and self.identity_dropout > 0:  # train the shared 'unnamed' embedding too
                ids = torch.where(torch.rand(b, n, device=x.device) < self.identity_dropout, 0, ids)
            h = h + self.identity(ids)
        return h

    def infer_adjacency(self, x: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        """The per-sample inferred graph ``A[b, pre, post]`` in [0, 1] with a zero diagonal."""
        if self.edge is None:
            raise ValidationError("infer_adjacency needs graph='inferred'")
        h = self.encode(x, ids)
        return self._infer(self.message[0]._hidden(h, h, pair_features(x)))  # type: ignore[operator]

    def _infer(self, r: torch.Tensor) -> torch.Tensor:
        a = torch.sigmoid(self.edge(r).squeeze(-1))  # type: ignore[misc]
        n = r.shape[1]
        return a * (1 - torch.eye(n, device=r.device, dtype=a.dtype))

    def _fixed(self, n: int, adjacency: torch.Tensor | np.ndarray | None, device: torch.device
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a = self.adjacency if adjacency is None else normalise_in_weights(_as_tensor(adjacency))
        if a is None:
            raise ValidationError("graph='fixed' needs an adjacency (constructor or forward argument)")
        if a.shape != (n, n):
            raise ValidationError(f"adjacency has shape {tuple(a.shape)} but the input has {n} neurons")
        a = a.to(device)
        pre, post = torch.nonzero(a, as_tuple=True)
        return pre, post, a[pre, post]

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor | np.ndarray | None = None,
                ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(next_frame (B, N), behaviour (B, 3))`` for windows ``x`` (B, W, N).

        ``adjacency`` overrides the fixed graph and ``ids`` the node identities for this call
        (e.g. for a worm with other neurons).
        """
        h = self.encode(x, ids)
        n = h.shape[1]
        if self.graph == "inferred":
            pair = pair_features(x)
            r0 = self.message[0]._hidden(h, h, pair)  # type: ignore[operator]
            a = self._infer(r0) / max(n - 1, 1)
        else:
            pre, post, w = self._fixed(n, adjacency, x.device)
        for k, (msg, upd) in enumerate(zip(self.message, self.update)):
            if self.graph == "inferred":
                m = msg.aggregate_hidden(r0, a) if k == 0 else msg.aggregate(h, pair, a)  # type: ignore[operator]
            else:
                m = msg.aggregate_edges(h, x, pre, post, w)  # type: ignore[operator]
            h = h + upd(torch.cat([h, m], dim=-1))
        nxt = x[:, -1] + self.decode(h).squeeze(-1)
        beh = self.readout(self.pool(h, x))
        return nxt, beh


    def pool(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Attention pooling over nodes -> (B, heads * hidden), invariant to node order.

        Scores read the node embeddings ``h`` (B, N, hidden); values read ``h`` and each
        node's last and mean activity in the window ``x`` (B, W, N).
        """
        alpha = torch.softmax(self.pool_score(h), dim=1)  # (B, N, heads), over neurons
        raw = torch.stack([x[:, -1], x.mean(1)], dim=-1)
        return torch.einsum("bnk,bnh->bkh", alpha, self.pool_value(torch.cat([h, raw], dim=-1))).flatten(1)


def _as_tensor(a: torch.Tensor | np.ndarray) -> torch.Tensor:
    t = torch.as_tensor(a, dtype=torch.float32)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise ValidationError(f"adjacency must be square (N, N), got shape {tuple(t.shape)}")
    check_finite("adjacency", t)
    if bool((t < 0).any()):
        raise ValidationError("adjacency weights must be non-negative (use synapse counts, not signs)")
    return t


def normalise_in_weights(a: torch.Tensor) -> torch.Tensor:
    """Scale each column (receiver) of ``A[pre, post]`` to sum to 1 (empty columns stay zero).

    Example:
        >>> normalise_in_weights(torch.tensor([[0.0, 2.0], [0.0, 6.0]])).tolist()
        [[0.0, 0.25], [0.0, 0.75]]
    """
    s = a.sum(0, keepdim=True)
    return a / torch.where(s > 0, s, torch.ones_like(s))


def prior_adjacency(counts: np.ndarray) -> np.ndarray:
    """The connectome prior of :class:`GraphNet`: ``log1p`` of synapse counts ``A[pre, post]``, zero diagonal.

    Example:
        >>> prior_adjacency(np.array([[5.0, np.e - 1], [0.0, 0.0]])).round(3).tolist()
        [[0.0, 1.0], [0.0, 0.0]]
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValidationError(f"counts must be square, got shape {c.shape}")
    if np.any(c < 0) or not np.isfinite(c).all():
        raise ValidationError("synapse counts must be finite and non-negative")
    out = np.log1p(c)
    np.fill_diagonal(out, 0.0)
    return out


#: the window models :func:`window_model` builds
WINDOW_MODELS = ("mlp", "gru", "transformer", "gnn-inferred", "gnn-fixed")


def window_model(name: str, n_neurons: int, window: int, *, adjacency: np.ndarray | None = None,
                 mlp_hidden: int = 256, rnn_hidden: int = 128, d_model: int = 64, graph_hidden: int = 32,
                 identities: bool = True, identity_dropout: float = 0.2) -> nn.Module:
    """A forecasting / decoding model of windows (B, ``window``, ``n_neurons``) by name.

    ``mlp``, ``gru`` and ``transformer`` are the structure-agnostic models of
    :mod:`neurocircuits.models.sequence`; ``gnn-inferred`` is a :class:`GraphNet` that
    infers its graph per sample, ``gnn-fixed`` one on ``adjacency`` (``A[pre, post]``, e.g.
    :func:`prior_adjacency` of a connectome; all zeros = no messages). With ``identities``
    a graph net learns one embedding per input neuron (ids ``1..n_neurons``).

    Example:
        >>> import torch
        >>> m = window_model("gnn-fixed", 5, 6, adjacency=np.ones((5, 5)), graph_hidden=8)
        >>> tuple(m(torch.zeros(2, 6, 5))[0].shape)
        (2, 5)
    """
    from neurocircuits.models.sequence import GRUNet, MLPNet, TransformerNet

    if name == "mlp":
        return MLPNet(n_neurons, window, hidden=mlp_hidden)
    if name == "gru":
        return GRUNet(n_neurons, hidden=rnn_hidden)
    if name == "transformer":
        return TransformerNet(n_neurons, window, d_model=d_model)
    if name not in WINDOW_MODELS:
        raise ValidationError(f"unknown window model {name!r}; choose from {', '.join(WINDOW_MODELS)}")
    if (name == "gnn-fixed") != (adjacency is not None):
        raise ValidationError("gnn-fixed needs an adjacency, gnn-inferred takes none")
    ids = n_neurons if identities else 0
    net = GraphNet(graph_hidden, "inferred" if adjacency is None else "fixed", adjacency=adjacency, n_identities=ids,
                   identity_dropout=identity_dropout if ids else 0.0)
    return net.set_node_ids(np.arange(1, n_neurons + 1)) if ids else net
