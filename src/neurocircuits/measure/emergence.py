"""The emergence measure of Li et al. (arXiv 2311.17403) on a network's graph.

For a directed acyclic graph ``G`` and a set ``H`` of *active* nodes, the measure counts
the paths that enter ``H`` from outside and then stay inside ``H``::

    E(G, H) = sum_{x not in H} sum_{y in succ(x) & H} |P_H(y)|

where ``P_H(y)`` is the set of paths that start at ``y``, visit only active nodes and end
at an *output* node (a sink of ``G`` unless given). Conventions (the paper leaves them
open; see ``docs/emergence-init.md``):

- paths are *maximal paths ending at the output layer*; unweighted by default, or each
  path weighted by the product of its absolute edge weights (``weighted=True``);
- a node is active when its activity exceeds ``threshold`` (default 0.05). For a torch
  model the activity of a unit is its post-activation value averaged over the probe batch
  (``reduce="mean"``) or taken per sample (``reduce="per_sample"``, then E is averaged
  over samples); for a conv layer the node is a *channel* and the activity its spatial mean;
  for a layer without a following nonlinearity (the output logits) the activity is the
  mean absolute value; the input layer's activity is the mean input value;
- everything is computed in log space (counts overflow float64 beyond ~20 layers of width
  256): the functions return ``log10 E`` (``-inf`` when ``E == 0``).

For a layered, fully connected graph with widths ``n_1..n_N`` and ``a_i`` active units the
count has the closed form ``E = sum_{i<N} (n_i - a_i) * prod_{j>i} a_j``
(:func:`layered_log10_emergence`). General DAGs (e.g. a :class:`~neurocircuits.circuit.Circuit`)
use dynamic programming over a topological order, never enumerating paths
(:func:`dag_log10_emergence`); a cycle raises :class:`~neurocircuits.errors.ValidationError`.

Example:
    >>> import math
    >>> round(10 ** layered_log10_emergence([3, 4, 2], [1, 2, 2]), 6)   # 2*2*2 + 2*2
    12.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from neurocircuits.errors import ValidationError, check_finite
from neurocircuits.init.layers import weight_layers

LN10 = math.log(10.0)
_ACTS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Softplus,
         nn.Hardtanh, nn.PReLU, nn.SELU, nn.CELU, nn.Mish)
#: how activity over the probe batch is reduced (see :func:`emergence`)
Reduce = Literal["mean", "per_sample"]


# Our own log-sum-exp rather than scipy.special.logsumexp: the dynamic programs call it once
# per node (dag_log10_emergence) or per layer, and scipy's general version (weights, signs,
# complex input) costs about 8x more per call on 256 values and about 12x more per row on
# a 256 x 256 block (measured in one process on a shared 2-core machine); the results agree
# to rounding, and both return -inf for an all -inf input.
def _logsumexp(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return -math.inf
    m = float(np.max(x))
    if m == -math.inf:
        return -math.inf
    return m + math.log(float(np.sum(np.exp(x - m))))


def layered_log10_emergence(widths: Sequence[int], active: Sequence[int]) -> float:
    """``log10 E`` of a fully connected layered net with ``widths[i]`` units, ``active[i]`` active.

    Closed form ``E = sum_{i<N} (n_i - a_i) prod_{j>i} a_j`` summed in log space.

    Example:
        >>> round(10 ** layered_log10_emergence([2, 2], [0, 2]), 6)   # 2 inactive inputs x 2 paths
        4.0
    """
    n = np.asarray(widths, dtype=np.int64)
    a = np.asarray(active, dtype=np.int64)
    if n.ndim != 1 or n.shape != a.shape or n.size < 2:
        raise ValidationError(f"widths and active must be 1-D of equal length >= 2, got {n.shape} and {a.shape}")
    if (n < 1).any() or (a < 0).any() or (a > n).any():
        raise ValidationError(f"need 0 <= active <= widths and widths >= 1; got widths={n.tolist()}, "
                              f"active={a.tolist()}")
    with np.errstate(divide="ignore"):
        log_a = np.log(a.astype(np.float64))
    # suffix[i] = sum_{j > i} log a_j
    suffix = np.concatenate([np.cumsum(log_a[::-1])[::-1][1:], [0.0]])
    terms = [math.log(n[i] - a[i]) + suffix[i] for i in range(n.size - 1) if n[i] > a[i]]
    return _logsumexp(np.array(terms)) / LN10 if terms else -math.inf


def layered_dp_log10_emergence(active: Sequence[np.ndarray], weights: Sequence[np.ndarray] | None = None) -> float:
    """``log10 E`` of a layered net by dynamic programming over layers, optionally weighted.

    Args:
        active: one boolean vector per layer (input first, output last).
        weights: ``weights[i]`` is the ``(n_i, n_{i+1})`` matrix of non-negative edge weights
            from layer ``i`` to ``i+1`` (zero = no edge); ``None`` means fully connected with
            weight 1, which reproduces :func:`layered_log10_emergence`.
    """
    act = [np.asarray(a, dtype=bool) for a in active]
    if len(act) < 2:
        raise ValidationError("a layered net needs at least two layers")
    if weights is not None and len(weights) != len(act) - 1:
        raise ValidationError(f"need {len(act) - 1} weight matrices, got {len(weights)}")
    logw = []
    for i in range(len(act) - 1):
        if weights is None:
            logw.append(np.zeros((act[i].size, act[i + 1].size)))
            continue
        w = np.asarray(weights[i], dtype=np.float64)
        if w.shape != (act[i].size, act[i + 1].size):
            raise ValidationError(f"weights[{i}] has shape {w.shape}, expected {(act[i].size, act[i + 1].size)}")
        check_finite(f"weights[{i}]", w)
        if (w < 0).any():
            raise ValidationError(f"weights[{i}] must be non-negative (pass absolute values)")
        with np.errstate(divide="ignore"):
            logw.append(np.log(w))
    # log number of active paths from each unit of layer i to the output layer
    logc = np.where(act[-1], 0.0, -np.inf)
    terms = []
    for i in range(len(act) - 2, -1, -1):
        # paths from every unit of layer i through active units of i+1 (and onwards)
        through = _row_logsumexp(logw[i] + logc[None, :])
        inactive = ~act[i]
        if inactive.any():
            terms.append(_logsumexp(through[inactive]))
        logc = np.where(act[i], through, -np.inf)
    return _logsumexp(np.array(terms)) / LN10


def _row_logsumexp(x: np.ndarray) -> np.ndarray:
    m = np.max(x, axis=1, initial=-np.inf)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(m), safe + np.log(np.sum(np.exp(x - safe[:, None]), axis=1)), -np.inf)


def dag_log10_emergence(adjacency: Any, active: Sequence[bool] | np.ndarray, outputs: Sequence[int] | None = None,
                        weighted: bool = False) -> float:
    """``log10 E`` on a directed acyclic graph by dynamic programming over a topological order.

    Args:
        adjacency: ``A[pre, post]`` as a dense array, a ``scipy.sparse`` matrix or a
            :class:`~neurocircuits.circuit.Circuit` (all synapse kinds; electrical
            synapses are symmetric and so make cycles: use ``circuit.subset`` or build a
            chemical-only circuit). Non-zero entries are edges.
        active: boolean vector, one per node (the set ``H``).
        outputs: indices of output nodes where counted paths end (default: the sinks).
        weighted: weight each path by the product of its absolute edge weights.

    Raises:
        ValidationError: on a cycle, a wrong-length ``active`` or non-finite weights.

    Example:
        >>> import numpy as np
        >>> A = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]])
        >>> round(10 ** dag_log10_emergence(A, [False, True, True]), 6)   # 0->1->2, 0->2
        2.0
    """
    import scipy.sparse as sp

    from neurocircuits.circuit import Circuit

    if isinstance(adjacency, Circuit):
        mat = adjacency.to_scipy(None, signed=False)
    elif sp.issparse(adjacency):
        mat = sp.csr_matrix(adjacency)
    else:
        arr = np.asarray(adjacency.detach().cpu() if isinstance(adjacency, torch.Tensor) else adjacency,
                         dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise ValidationError(f"adjacency must be square (N, N), got shape {arr.shape}")
        mat = sp.csr_matrix(arr)
    n = mat.shape[0]
    check_finite("adjacency", mat.data)
    mat = abs(mat).tocsr()
    mat.eliminate_zeros()
    h = np.asarray(active, dtype=bool)
    if h.shape != (n,):
        raise ValidationError(f"active must have one entry per node ({n}), got shape {h.shape}")
    order = _topological_order(mat)
    is_out = np.zeros(n, dtype=bool)
    if outputs is None:
        is_out[np.diff(mat.indptr) == 0] = True
    else:
        idx = np.asarray(outputs, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValidationError(f"outputs must be node indices in [0, {n}), got {idx.tolist()}")
        is_out[idx] = True
    logc = np.full(n, -np.inf)
    total: list[float] = []
    indptr, indices, data = mat.indptr, mat.indices, mat.data
    logdata = np.log(data) if weighted else np.zeros_like(data)
    for v in order[::-1]:  # successors before predecessors
        succ = indices[indptr[v]:indptr[v + 1]]
        through = _logsumexp(logc[succ] + logdata[indptr[v]:indptr[v + 1]]) if succ.size else -math.inf
        if h[v]:
            logc[v] = np.logaddexp(0.0, through) if is_out[v] else through
        elif succ.size:
            total.append(through)
    return _logsumexp(np.array(total)) / LN10


def _topological_order(mat: Any) -> np.ndarray:
    """Kahn's algorithm on a CSR matrix; raises on a cycle."""
    n = mat.shape[0]
    indeg = np.bincount(mat.indices, minlength=n)
    stack = list(np.nonzero(indeg == 0)[0][::-1])
    order = []
    indptr, indices = mat.indptr, mat.indices
    while stack:
        v = stack.pop()
        order.append(v)
        for w in indices[indptr[v]:indptr[v + 1]]:
            indeg[w] -= 1
            if indeg[w] == 0:
                stack.append(w)
    if len(order) != n:
        raise ValidationError(
            f"the graph has a cycle ({n - len(order)} nodes lie on or after one); the emergence "
            "measure counts paths, which is only defined (and tractable) on a directed acyclic graph")
    return np.asarray(order, dtype=np.int64)


@dataclass
class EmergenceResult:
    """The emergence of a model on a probe batch.

    Attributes:
        log10_E: ``log10`` of the emergence count (``-inf`` if zero).
        log10_relative: ``log10(E / n_params)`` ("relative emergence" of the sister paper).
        widths: nodes per layer (input first); ``active``: active nodes per layer (mean
            over samples when ``reduce="per_sample"``).
        layers: names of the weight layers whose outputs form layers ``1..N``.
    """

    log10_E: float
    log10_relative: float
    widths: list[int]
    active: list[float]
    layers: list[str] = field(default_factory=list)
    n_params: int = 0


def _layer_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    if any(isinstance(m, nn.MultiheadAttention) for m in model.modules()):
        raise ValidationError(
            "emergence() does not support attention models: their token-mixing graph has no "
            "agreed node definition (see docs/emergence-init.md); use a Circuit or an MLP/CNN")
    layers = weight_layers(model)
    if not layers:
        raise ValidationError(f"{type(model).__name__} has no nn.Linear or nn.Conv layers to measure")
    return layers


@torch.no_grad()
def activities(model: nn.Module, probe: torch.Tensor) -> tuple[list[str], list[torch.Tensor]]:
    """Per-sample node activities ``(B, n_i)`` of every layer (input first) from one forward pass.

    The input nodes are what the first weight layer reads (conv: its channels). A weight layer's nodes take the output of the first nonlinearity module that runs
    after it (before the next weight layer); with none (e.g. the logits) the mean absolute
    output is used. Conv outputs are averaged over space (node = channel).
    """
    layers = _layer_modules(model)
    ids = {id(m): n for n, m in layers}
    events: list[tuple[str, str, torch.Tensor]] = []

    first: list[torch.Tensor] = []

    def hook_w(mod: nn.Module, inp: Any, out: torch.Tensor) -> None:
        if not first:
            first.append(inp[0].detach())  # the input nodes: what the first layer reads
        events.append(("w", ids[id(mod)], out.detach()))

    def hook_a(mod: nn.Module, inp: Any, out: torch.Tensor) -> None:
        events.append(("a", "", out.detach()))

    handles = [m.register_forward_hook(hook_w) for _, m in layers]
    handles += [m.register_forward_hook(hook_a) for m in model.modules() if isinstance(m, _ACTS)]
    was_training = model.training
    model.eval()
    try:
        model(probe)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    names, acts = [], []
    i = 0
    while i < len(events):
        kind, name, out = events[i]
        if kind == "w":
            nxt = events[i + 1] if i + 1 < len(events) else None
            if nxt is not None and nxt[0] == "a" and nxt[2].shape == out.shape:
                names.append(name)
                acts.append(_node_mean(nxt[2], absolute=False))
                i += 2
                continue
            names.append(name)
            acts.append(_node_mean(out, absolute=True))
        i += 1
    return ["input"] + names, [_node_mean(first[0], absolute=False)] + acts


def _node_mean(t: torch.Tensor, absolute: bool) -> torch.Tensor:
    t = t.abs() if absolute else t
    t = t.float()
    return t.flatten(2).mean(2) if t.ndim > 2 else t


def emergence(model: nn.Module, probe: torch.Tensor, threshold: float = 0.05, reduce: Reduce = "mean",
              weighted: bool = False) -> EmergenceResult:
    """The emergence of ``model`` with active nodes found by a forward pass over ``probe``.

    The model is read as the layered chain of its ``nn.Linear``/``nn.Conv`` layers in
    forward order (residual shortcut projections, named ``shortcut``/``downsample``, and
    skip edges are left out: for residual nets the value is that of the main path).
    Consecutive layers are fully connected (conv: channel to channel, the conv -> linear
    transition: each channel to every unit). Unweighted counts use the closed form;
    ``weighted=True`` weights edges by ``|W|`` summed over the kernel and uses the
    layer-wise dynamic program.

    Args:
        probe: a batch of inputs (the spec recommends >= 512 samples).
        threshold: a node is active when its activity exceeds this.
        reduce: ``"mean"`` (activity averaged over the batch, then thresholded) or
            ``"per_sample"`` (E per sample, then averaged).

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
        >>> r = emergence(net, torch.rand(64, 4))
        >>> r.widths
        [4, 8, 3]
    """
    if not isinstance(probe, torch.Tensor) or probe.ndim < 2 or probe.shape[0] == 0:
        raise ValidationError("probe must be a non-empty batch tensor (B, ...)")
    check_finite("probe", probe)
    if not math.isfinite(threshold):
        raise ValidationError(f"threshold must be finite, got {threshold}")
    if reduce not in ("mean", "per_sample"):
        raise ValidationError(f"reduce must be 'mean' or 'per_sample', got {reduce!r}")
    names, acts = activities(model, probe)
    widths = [int(a.shape[1]) for a in acts]
    n_params = sum(p.numel() for _, m in _layer_modules(model) for p in m.parameters(recurse=False))
    weights = _edge_weights(model) if weighted else None
    if reduce == "mean":
        act = [(a.mean(0) > threshold).cpu().numpy() for a in acts]
        logE = _log10(act, widths, weights)
        mean_active = [float(a.sum()) for a in act]
    else:
        per = [(a > threshold).cpu().numpy() for a in acts]
        vals = [_log10([p[s] for p in per], widths, weights) for s in range(probe.shape[0])]
        logE = (_logsumexp(np.array(vals) * LN10) - math.log(len(vals))) / LN10
        mean_active = [float(p.sum(1).mean()) for p in per]
    rel = logE - math.log10(max(n_params, 1))
    return EmergenceResult(logE, rel, widths, mean_active, names[1:], n_params)


def _log10(act: list[np.ndarray], widths: list[int], weights: list[np.ndarray] | None) -> float:
    if weights is None:
        return layered_log10_emergence(widths, [int(a.sum()) for a in act])
    return layered_dp_log10_emergence(act, weights)


@torch.no_grad()
def _edge_weights(model: nn.Module) -> list[np.ndarray]:
    out = []
    prev_out = None
    for _, m in _layer_modules(model):
        weight = m.weight
        assert isinstance(weight, torch.Tensor)
        w = weight.detach().abs().double().cpu()
        if w.ndim > 2:  # conv (out, in, k...) -> channel-level (in, out)
            w = w.flatten(2).sum(2)
        w = w.T  # (in, out)
        if prev_out is not None and w.shape[0] != prev_out:
            if w.shape[0] % prev_out:
                raise ValidationError(f"cannot map {prev_out} channels onto {w.shape[0]} inputs of {type(m).__name__}")
            # conv -> linear after flatten: inputs are (channel, position); sum per channel
            w = w.reshape(prev_out, -1, w.shape[1]).sum(1)
        out.append(w.numpy())
        prev_out = w.shape[1]
    return out
