"""The fast discrete-time engine: an explicit state, a step function, and ``simulate``.

Time advances in steps of ``dt``; latencies, refractory periods, windows and stimulus
times are rounded to whole steps (see :mod:`.network`). The state of a batch of ``B``
independent stimuli is a :class:`GeometricState`; :func:`initial_state` makes one and
:func:`step` advances it by one step (the user decides which input nodes fire), in the
style of Norse's functional cells. :func:`simulate` is a loop over the same step.

Two backends compute the same spike trains:

* ``"numba"`` (CPU; needs the optional ``numba`` package, ``pip install neurocircuits[fast]``):
  a compiled kernel, parallel over the batch (or, for fewer stimuli than threads on a large
  network, over parts of the nodes of each stimulus); a step costs time proportional to the
  nodes that receive an arrival, leave a window or fire, and their out-edges, not to ``N``.
  No Python runs between steps inside :func:`simulate` (except to empty a full spike record).
* ``"torch"`` (CPU or CUDA): dense ``(B, N)`` tensor operations per step. On the CPU the
  firing nodes' out-edges are gathered from the CSR arrays and scattered with ``index_add_``
  (cost O(B N) per step plus O(events); the step's spike count is read back). On CUDA they
  are scattered as one sparse-dense product per delay (``ring[t + d] += A_d @ spikes``), so
  nothing is read back to the host and the steps queue on the device (cost O(B E) per step,
  spread over the GPU; spikes are read back only when ``record_spikes`` asks for them).

``backend="auto"`` picks numba on CPU when it is installed, torch otherwise.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import torch

from neurocircuits.dynamics.geometric.network import (
    GeometricNetwork, _check_dt, check_horizon, check_stimulus, n_steps_for,
)
from neurocircuits.dynamics.geometric.result import SpikeResult
from neurocircuits.errors import MissingDependencyError, ValidationError

Backend = Literal["auto", "numba", "torch"]
_NEVER = np.iinfo(np.int64).max // 4


def numba_available() -> bool:
    """True when the optional compiled CPU backend can be used."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def exact_dtype(net: GeometricNetwork, dtype: torch.dtype) -> bool:
    """True when every weight, threshold and partial sum of in-weights is exact in ``dtype``.

    All weights and thresholds are then integer multiples of one power of two ``2**-q``
    and every node's largest possible sum is below ``2**(mantissa bits)`` of those units,
    so adding and subtracting arrivals never rounds and the threshold test is exact.

    Example:
        >>> net = GeometricNetwork.from_arrays(2, [0], [1], [1.0], [1.0], threshold=1 + 2**-30)
        >>> exact_dtype(net, torch.float32), exact_dtype(net, torch.float64)
        (False, True)
    """
    bits = {torch.float32: 24, torch.float64: 53}.get(dtype)
    if bits is None:
        raise ValidationError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    vals = np.concatenate([net.weight, net.threshold])
    vals = vals[vals != 0]
    if vals.size == 0:
        return True
    m, e = np.frexp(np.abs(vals))
    mant = (m * 2.0 ** 53).astype(np.int64)
    low = e.astype(np.int64) - 53 + _trailing_zeros(mant)  # exponent of the lowest set bit
    q = int(-low.min())
    in_abs = np.bincount(net.post, weights=np.abs(net.weight), minlength=net.n)
    bound = float(max(in_abs.max(initial=0.0), net.threshold.max(initial=0.0)))
    return math.ldexp(bound, q) < 2.0 ** bits


def _pack_unit(net: GeometricNetwork) -> float:
    """A power of two ``P`` such that ``count * P + (sum of weights)`` is exact in float64 for
    every (step, node) of the arrival ring, with ``|sum| < P / 2``; 0.0 when none exists."""
    return _pack(net)[0]


def _pack(net: GeometricNetwork) -> tuple[float, int]:
    """``(P, bits)``: the packing unit of :func:`_pack_unit` and the significand bits that
    ``count * P + sum`` needs (so float32 holds it exactly when ``bits <= 24``)."""
    vals = net.weight[net.weight != 0]
    if vals.size == 0 or net.n_edges == 0:
        return 0.0, 0
    m, e = np.frexp(np.abs(vals))
    low = e.astype(np.int64) - 53 + _trailing_zeros((m * 2.0 ** 53).astype(np.int64))
    q = int(-low.min())  # weights are multiples of 2**-q
    in_abs = np.bincount(net.post, weights=np.abs(net.weight), minlength=net.n)
    in_deg = np.bincount(net.post, minlength=net.n)
    k = int(np.ceil(np.log2(max(float(in_abs.max()), 1.0)))) + 2  # P = 2**k > 2 |sum|
    bits = q + k + int(np.ceil(np.log2(float(in_deg.max()) + 2)))  # bits of count * P + sum in units 2**-q
    return (math.ldexp(1.0, k), bits) if bits <= 52 else (0.0, bits)


def _edge_order(pre: np.ndarray, k: np.ndarray, post: np.ndarray, n: int) -> np.ndarray:
    """Edge order by (pre, delay, post), stable: one composite int64 key (about 5x faster than
    ``np.lexsort`` on millions of edges) when it cannot overflow."""
    if pre.size == 0:
        return np.zeros(0, np.int64)
    span = int(k.max()) + 1
    if n * span * n < 2 ** 62:
        key = (pre.astype(np.int64) * span + k.astype(np.int64)) * n + post.astype(np.int64)
        return np.argsort(key, kind="stable")
    return np.lexsort((post, k, pre))


def _trailing_zeros(x: np.ndarray) -> np.ndarray:
    low = x & -x
    return np.log2(low.astype(np.float64)).astype(np.int64)


def _resolve_backend(backend: str, dev: torch.device) -> str:
    if backend not in ("auto", "numba", "torch"):
        raise ValidationError(f"backend must be 'auto', 'numba' or 'torch', got {backend!r}")
    if backend == "auto":
        return "numba" if dev.type == "cpu" and numba_available() else "torch"
    if backend == "numba":
        if dev.type != "cpu":
            raise ValidationError(f"the numba backend runs on the CPU only, got device {dev}")
        if not numba_available():
            raise MissingDependencyError("numba", "the compiled CPU backend", "pip install 'neurocircuits[fast]'")
    return backend


def _resolve_dtype(net: GeometricNetwork, dtype: torch.dtype | None) -> torch.dtype:
    if dtype is None:
        return torch.float32 if exact_dtype(net, torch.float32) else torch.float64
    if not exact_dtype(net, dtype):
        if dtype == torch.float32:
            raise ValidationError("the weights / thresholds of this network are not exact in float32 (a sum "
                                  "could round across a threshold); use dtype=torch.float64 or dtype=None")
    return dtype


class _Plan:
    """Arrays derived from a network for one ``dt``, device, dtype and backend."""

    def __init__(self, net: GeometricNetwork, dt: float, dev: torch.device, dtype: torch.dtype, backend: str,
                 reorder: bool = False):
        self.net, self.n, self.dev, self.dtype, self.backend, self.dt = net, net.n, dev, dtype, backend, dt
        k = net.delay_steps(dt)
        self.L = int(k.max()) + 1 if k.size else 1
        refr = np.rint(net.refractory / dt).astype(np.int64)
        win = net.window
        fin = np.isfinite(win)
        wk = np.where(fin, np.rint(np.where(fin, win, 1.0) / dt), 0).astype(np.int64)
        if (wk[fin] < 1).any():
            raise ValidationError(f"dt={dt} is too coarse for the smallest summation window {win[fin].min():.4g}")
        self.M = int(wk.max()) if fin.any() else 0
        self.perm: np.ndarray | None = None  # kernel index i is node perm[i] (numba, reorder=True)
        self.inv: np.ndarray | None = None
        if backend == "numba":
            pre, post, thr, is_input = net.pre, net.post, net.threshold, net.is_input
            if reorder and net.n >= _REORDER_MIN_NODES and net.n_edges:
                # number the nodes so that the targets of a node's edges lie close together
                # (reverse Cuthill-McKee): the random accesses of the kernel then stay in cache
                self.perm = _locality_order(net)
                self.inv = np.empty_like(self.perm)
                self.inv[self.perm] = np.arange(net.n)
                pre, post = self.inv[pre], self.inv[post]
                refr, wk, thr, is_input = refr[self.perm], wk[self.perm], thr[self.perm], is_input[self.perm]
            # out-edges of each node sorted by delay: the kernel visits one ring slot per delay group
            order = _edge_order(pre, k, post, net.n)
            self.pack, bits = _pack(net)
            # float32 ring when count * pack + sum is exact in its 24-bit significand
            self.ring_dtype = np.float32 if self.pack and bits <= 24 else np.float64
            weight = net.weight[order].astype(np.float64)
            ks, pres = k[order], pre[order]
            # groups of edges with one source and one delay: group g covers edges gstart[g]..gstart[g+1]-1
            new = np.ones(net.n_edges, bool)
            new[1:] = (pres[1:] != pres[:-1]) | (ks[1:] != ks[:-1])
            heads = np.flatnonzero(new)
            gptr = np.searchsorted(pres[heads], np.arange(net.n + 1)).astype(np.int64)
            self.np = dict(rowptr=np.searchsorted(pres, np.arange(net.n + 1)).astype(np.int64),
                           post=post[order].astype(np.int32),
                           delay=ks.astype(np.int32), weight=weight,
                           wpack=(weight + self.pack).astype(self.ring_dtype), gptr=gptr,
                           gdelay=ks[heads].astype(np.int64),
                           gstart=np.append(heads, net.n_edges).astype(np.int64), refr=refr, win=wk,
                           thr=thr.astype(np.float64), is_input=is_input.copy())
            self._splits: dict[int, dict[str, np.ndarray]] = {}
            return
        self.rowptr = torch.tensor(net.rowptr(), device=dev)
        self.post = torch.tensor(net.post, device=dev)
        self.delay = torch.tensor(k, device=dev)
        self.weight = torch.tensor(net.weight, dtype=dtype, device=dev)
        self.refr = torch.tensor(refr, device=dev)
        self.uniform_window = bool(fin.all() and (wk == self.M).all())
        self.win_steps = torch.tensor(wk, device=dev)
        self.win_finite = torch.tensor(fin, device=dev)
        self.threshold = torch.tensor(net.threshold, dtype=dtype, device=dev)
        self.unit_weights = bool((net.weight == 1.0).all())  # the weight ring then counts arrivals too
        self.accept_base = torch.tensor(~net.is_input, device=dev)
        self.inputs = torch.tensor(net.inputs, device=dev)
        self.node_ar = torch.arange(net.n, device=dev)
        # On CUDA the firing nodes' out-edges are scattered as one sparse-dense product per
        # delay (ring[t + d] += spikes @ A_d, A_d the edges of delay d): no spike count is
        # read back to the host, so steps queue on the device without a synchronisation.
        self.spmm = _SPMM_ON.get(dev.type, False)
        self.spmm_delays: list[int] = []
        self.spmm_w: list[torch.Tensor] = []
        self.spmm_n: list[torch.Tensor] = []
        if self.spmm and net.n_edges:
            import warnings

            def csr(idx: torch.Tensor, vals: torch.Tensor) -> torch.Tensor:
                with warnings.catch_warnings():  # "sparse CSR support is in beta"
                    warnings.simplefilter("ignore", UserWarning)
                    return torch.sparse_coo_tensor(idx, vals, (net.n, net.n), check_invariants=True
                                                   ).coalesce().to_sparse_csr()

            for d in np.unique(k):
                sel = k == d
                idx = torch.tensor(np.stack([net.post[sel], net.pre[sel]]), device=dev)
                self.spmm_delays.append(int(d))
                self.spmm_w.append(csr(idx, torch.tensor(net.weight[sel], dtype=dtype, device=dev)))
                self.spmm_n.append(csr(idx, torch.ones(int(sel.sum()), dtype=dtype, device=dev)))

    def split(self, parts: int) -> dict[str, np.ndarray]:
        """The arrays of :func:`~._kernels.advance_split` for ``parts`` threads (numba plans with a
        packed ring and no finite window), built once per part count.

        Nodes ``bounds[k] .. bounds[k + 1] - 1`` (kernel numbering) form part ``k``; the
        bounds balance the in-degree, the work a part does. Edges are sorted by (source,
        target part, delay, target): the delay groups of node ``j`` into part ``k`` are
        ``pg[j * parts + k] .. pg[j * parts + k + 1] - 1``.
        """
        got = self._splits.get(parts)
        if got is not None:
            return got
        p, n = self.np, self.n
        pre = np.repeat(np.arange(n, dtype=np.int64), np.diff(p["rowptr"]))
        post, k = p["post"].astype(np.int64), p["delay"].astype(np.int64)
        load = np.cumsum(np.bincount(post, minlength=n))
        cuts = np.searchsorted(load, load[-1] * np.arange(1, parts) / parts, side="right") if n else np.zeros(0, int)
        bounds = np.concatenate([[0], np.maximum.accumulate(np.clip(cuts, 0, n)), [n]]).astype(np.int64)
        part = np.searchsorted(bounds, post, side="right") - 1
        span = int(k.max()) + 1 if k.size else 1
        if n * parts * span * n < 2 ** 62:
            order = np.argsort(((pre * parts + part) * span + k) * n + post, kind="stable")
        else:
            order = np.lexsort((post, k, part, pre))
        pre, part, k = pre[order], part[order], k[order]
        new = np.ones(order.size, bool)
        new[1:] = (pre[1:] != pre[:-1]) | (part[1:] != part[:-1]) | (k[1:] != k[:-1])
        heads = np.flatnonzero(new)
        got = dict(bounds=bounds,
                   pg=np.searchsorted(pre[heads] * parts + part[heads], np.arange(n * parts + 1)).astype(np.int64),
                   gdelay=k[heads], gstart=np.append(heads, order.size).astype(np.int64),
                   post=p["post"][order], wpack=p["wpack"][order],
                   cap=np.int64(int(np.diff(bounds).max(initial=0)) + 1))
        self._splits[parts] = got
        return got


_SPMM_ON = {"cuda": True}  # device types whose torch backend scatters by sparse matmul (tests force "cpu")
_REORDER_MIN_NODES = 4096  # below this every array of the kernel fits in the core's cache anyway


def _locality_order(net: GeometricNetwork) -> np.ndarray:
    """A numbering that keeps neighbours close: the Z-order (Morton) curve of the node positions
    when the network has them, else reverse Cuthill-McKee on the (symmetrised) graph."""
    if net.positions is not None and np.isfinite(net.positions).all():
        return _morton_order(np.asarray(net.positions, dtype=np.float64))
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    a = coo_matrix((np.ones(net.n_edges, np.int8), (net.pre, net.post)), shape=(net.n, net.n)).tocsr()
    return np.asarray(reverse_cuthill_mckee((a + a.T).tocsr(), symmetric_mode=True), dtype=np.int64)


def _morton_order(pos: np.ndarray) -> np.ndarray:
    """Nodes sorted along the Z-order curve of their positions (up to 3 coordinates used)."""
    pos = pos[:, :3]
    d = pos.shape[1]
    bits = 63 // max(d, 1)
    lo, span = pos.min(0), np.ptp(pos, 0)
    q = ((pos - lo) / np.where(span > 0, span, 1.0) * (2 ** bits - 1)).astype(np.uint64)
    code = np.zeros(pos.shape[0], np.uint64)
    for bit in range(bits):
        for c in range(d):
            code |= ((q[:, c] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(bit * d + c)
    return np.argsort(code, kind="stable").astype(np.int64)


def _plan(net: GeometricNetwork, dt: float, dev: torch.device, dtype: torch.dtype | None, backend: str,
          reorder: bool = False) -> _Plan:
    """The plan of ``net`` for these settings, built once and kept on the (immutable) network.

    ``reorder`` (numba only; used by :func:`simulate`, whose results are mapped back) lets the
    kernel number the nodes for locality; the state API keeps the network's numbering.
    """
    dt_ = _resolve_dtype(net, dtype) if backend == "torch" else torch.float64
    reorder = reorder and backend == "numba"
    key = (dt, str(dev), dt_, backend, reorder, backend == "torch" and _SPMM_ON.get(dev.type, False))
    plan = net._plans.get(key)
    if plan is None:
        plan = net._plans[key] = _Plan(net, dt, dev, dt_, backend, reorder)
    return plan


@dataclass(eq=False)
class GeometricState:
    """The state of a batch of ``B`` independent runs of one network (see :func:`initial_state`).

    Attributes:
        t: the next step to run (time ``t * dt``).
        dt: the time step.
        backend: ``"numba"`` or ``"torch"``.
        potential: (B, N) summed weights of the effective arrivals in each node's window.
        ready_at: (B, N) int64 first step at which each node accepts arrivals again.
        first_step: (B, N) int64 step of each node's first spike (-1 = not yet).
        counts: (B, N) int32 spikes so far.
        arrivals, discarded: (B,) int64 arrivals so far, and those discarded (refractory
            target or input node).

    The tensors are updated **in place** by :func:`step` (copying ``O(B N)`` buffers at every
    step would defeat an engine whose step costs O(active nodes)); use :meth:`clone` to keep
    a snapshot. On the numba backend they are CPU tensors sharing memory with the kernel's
    arrays.
    """

    t: int
    dt: float
    backend: str
    potential: torch.Tensor
    ready_at: torch.Tensor
    first_step: torch.Tensor
    counts: torch.Tensor
    arrivals: torch.Tensor
    discarded: torch.Tensor
    buffers: dict[str, Any] = field(repr=False)
    plan: _Plan = field(repr=False)

    @property
    def batch_size(self) -> int:
        return int(self.potential.shape[0])

    @property
    def time(self) -> float:
        """Time of the next step, ``t * dt``."""
        return self.t * self.dt

    def clone(self) -> "GeometricState":
        """A deep copy (its buffers are independent of this state's)."""
        cp = (lambda x: x.clone()) if self.backend == "torch" else (lambda x: x.copy())
        bufs = {k: cp(v) for k, v in self.buffers.items()}
        if self.backend == "numba":
            return _numba_state(self.plan, self.t, bufs)
        return replace(self, potential=self.potential.clone(), ready_at=self.ready_at.clone(),
                       first_step=self.first_step.clone(), counts=self.counts.clone(),
                       arrivals=self.arrivals.clone(), discarded=self.discarded.clone(), buffers=bufs)


def _numba_state(p: _Plan, t: int, b: dict[str, np.ndarray]) -> GeometricState:
    f = torch.from_numpy
    node = b["node"]  # one 32-byte record per node: potential (float64 bits), ready step, threshold, spare
    return GeometricState(t, p.dt, "numba", f(node.view(np.float64)[:, :, 0]), f(node[:, :, 1]), f(b["first"]), f(b["counts"]),
                          f(b["arrivals"]), f(b["discarded"]), b, p)


def _check_batch(batch: Any) -> int:
    if isinstance(batch, (bool, np.bool_)) or not isinstance(batch, numbers.Integral) or batch < 0:
        raise ValidationError(f"batch must be a non-negative integer, got {batch!r}")
    return int(batch)


def initial_state(net: GeometricNetwork, batch: int = 1, *, dt: float = 1.0,
                  device: str | torch.device | None = None, dtype: torch.dtype | None = None,
                  backend: Backend = "auto") -> GeometricState:
    """A fresh state for ``batch`` independent runs of ``net``: nothing pending, every node ready.

    Args:
        net: the network.
        batch: number of independent runs (stimuli) advanced together.
        dt: time step (latencies must round to >= 1 step).
        device: ``"cpu"`` (default) or ``"cuda"``...
        dtype: accumulator dtype of the torch backend (``None``: float32 when every sum is
            exact in float32, else float64; see :func:`exact_dtype`). The numba backend
            always accumulates in float64.
        backend: ``"auto"``, ``"numba"`` or ``"torch"`` (see the module docstring).

    Example:
        >>> net = GeometricNetwork.from_arrays(3, [0, 1], [1, 2], [1.0, 2.0], inputs=[0])
        >>> s = initial_state(net, batch=2)
        >>> s, spikes = step(net, s, inputs=[[True], [False]])   # input 0 fires in run 0 only
        >>> [(int(b), int(n)) for b, n in zip(*spikes)]
        [(0, 0)]
        >>> for _ in range(3):
        ...     s, spikes = step(net, s)
        >>> s.first_step.tolist()
        [[0, 1, 3], [-1, -1, -1]]
    """
    dt = _check_dt(dt)
    batch = _check_batch(batch)
    dev = torch.device(device) if device is not None else torch.device("cpu")
    be = _resolve_backend(backend, dev)
    return _fresh_state(_plan(net, dt, dev, dtype, be), batch)


def _fresh_state(p: _Plan, B: int) -> GeometricState:
    N, L, M = p.n, p.L, p.M
    if p.backend == "numba":
        M1, NW = (M + 1, N) if M else (1, 1)
        node = np.zeros((B, N, 4), np.int64)
        node.view(np.float64)[:, :, 2] = p.np["thr"]
        bufs: dict[str, np.ndarray] = dict(node=node, first=np.full((B, N), -1, np.int64),
                    counts=np.zeros((B, N), np.int32), arrivals=np.zeros(B, np.int64),
                    discarded=np.zeros(B, np.int64),
                    # node-major ring for the packed kernel (no finite windows), slot-major otherwise
                    ring_w=np.zeros((B, N, L) if (not M and p.pack) else (B, L, N), p.ring_dtype),
                    tl=np.zeros((B, L, N + 1), np.int32),  # + 1: the packed kernel writes one past the list
                    tl_len=np.zeros((B, L), np.int64), ex_w=np.zeros((B, M1, NW)),
                    ex_ep=np.zeros((B, M1, NW), np.int32), el=np.zeros((B, M1, NW), np.int32),
                    el_len=np.zeros((B, M1), np.int64), mark=np.full((B, N), -1, np.int64),
                    cand=np.zeros((B, N), np.int32), fired=np.zeros((B, N), np.int32),
                    ring_n=np.zeros((B, L, N) if not p.pack else (B, 1, 1), np.int32),
                    n_fired=np.zeros(B, np.int64))
        return _numba_state(p, 0, bufs)
    dev, dt_ = p.dev, p.dtype
    ring = torch.zeros(L, B, N, dtype=dt_, device=dev)
    tbufs: dict[str, Any] = dict(ring=ring, ring_n=ring if p.unit_weights else torch.zeros(L, B, N, dtype=dt_, device=dev),
                hist=torch.zeros(max(M, 1), B, N, dtype=dt_, device=dev),
                edge_off=p.delay * (B * N) + p.post)
    return GeometricState(0, p.dt, "torch", torch.zeros(B, N, dtype=dt_, device=dev),
                          torch.zeros(B, N, dtype=torch.int64, device=dev),
                          torch.full((B, N), -1, dtype=torch.int64, device=dev),
                          torch.zeros(B, N, dtype=torch.int32, device=dev),
                          torch.zeros(B, dtype=torch.int64, device=dev),
                          torch.zeros(B, dtype=torch.int64, device=dev), tbufs, p)


def _forced_mask(net: GeometricNetwork, state: GeometricState, inputs: Any) -> np.ndarray | torch.Tensor | None:
    if inputs is None:
        return None
    if isinstance(inputs, torch.Tensor):
        m = inputs.to(state.plan.dev) if state.backend == "torch" else inputs.detach().cpu().numpy()
    else:
        m = np.asarray(inputs)
    shape = tuple(m.shape)
    if shape != (state.batch_size, net.n_inputs):
        raise ValidationError(f"inputs must have shape (batch={state.batch_size}, n_inputs={net.n_inputs}), "
                              f"got {shape}")
    if m.dtype not in (np.bool_, torch.bool):
        raise ValidationError(f"inputs must be a boolean mask (which input nodes fire now), got dtype {m.dtype}")
    if state.backend == "torch" and not isinstance(m, torch.Tensor):
        m = torch.from_numpy(m).to(state.plan.dev)
    return m


def step(net: GeometricNetwork, state: GeometricState, inputs: Any = None
         ) -> tuple[GeometricState, tuple[torch.Tensor, torch.Tensor]]:
    """Advance every run by one step; the input nodes marked in ``inputs`` fire at this step.

    Args:
        net: the network ``state`` was made for.
        state: from :func:`initial_state` (updated in place and returned).
        inputs: ``None`` (no input fires) or a (B, n_inputs) boolean mask.

    Returns:
        ``(state, (batch_index, node_index))``: the spikes of this step, as two int64 tensors
        (dense form: ``torch.zeros(B, N, dtype=bool).index_put_((b, n), torch.tensor(True))``).

    Example: see :func:`initial_state`.
    """
    if not isinstance(state, GeometricState):
        raise ValidationError(f"state must be a GeometricState from initial_state(), got {type(state).__name__}")
    if state.plan.net is not net:
        raise ValidationError("state was made for another network; call initial_state(net, ...) for this one")
    forced = _forced_mask(net, state, inputs)
    if state.backend == "numba":
        B = state.batch_size
        if forced is None:
            f_steps, f_nodes = np.zeros((B, 0), np.int64), np.zeros((B, 0), np.int64)
        else:
            order = np.argsort(~forced, axis=1, kind="stable")
            f_nodes = net.inputs[order]
            f_steps = np.where(np.take_along_axis(forced, order, 1), state.t, _NEVER).astype(np.int64)
        _numba_advance(state, state.t + 1, _NEVER, f_steps, f_nodes, np.zeros(B, np.int64), None)
        bb = state.buffers
        nf = bb["n_fired"]
        b_idx = np.repeat(np.arange(B), nf)
        n_idx = np.concatenate([bb["fired"][b, :nf[b]] for b in range(B)]) if B else np.zeros(0, np.int32)
        return state, (torch.from_numpy(b_idx.astype(np.int64)), torch.from_numpy(n_idx.astype(np.int64)))
    assert forced is None or isinstance(forced, torch.Tensor)
    b, i = _torch_step(state, forced)
    return state, (b, i)


def _numba_advance(state: GeometricState, t1: int, horizon_steps: int, f_steps: np.ndarray, f_nodes: np.ndarray,
                   fptr: np.ndarray, rec: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
                   t0: np.ndarray | None = None) -> None:
    """Advance every element from ``state.t`` (or from ``t0[b]``, updated in place: where each
    element stopped, ``t1`` unless its record ``rec`` filled up) to step ``t1``."""
    from neurocircuits.dynamics.geometric._kernels import advance

    p, b = state.plan.np, state.buffers
    M1 = b["ex_w"].shape[1]
    if rec is None:
        rec = (np.zeros((state.batch_size, 0), np.int32), np.zeros((state.batch_size, 0), np.int64),
               np.zeros(state.batch_size, np.int64))
        record = False
    else:
        record = True
    own = t0 is None
    if t0 is None:
        t0 = np.full(state.batch_size, state.t, np.int64)
    advance(t0, t1, horizon_steps, p["rowptr"], p["post"], p["delay"], p["weight"], p["wpack"], p["gptr"], p["gdelay"], p["gstart"], p["refr"], p["win"],
            p["thr"], p["is_input"], state.plan.L, M1, state.plan.pack, b["node"].view(np.float64), b["node"], b["ring_w"], b["ring_n"], b["tl"],
            b["tl_len"], b["ex_w"], b["ex_ep"], b["el"], b["el_len"], b["mark"], b["cand"], b["fired"],
            b["n_fired"], b["first"], b["counts"], b["arrivals"], b["discarded"], f_steps, f_nodes, fptr,
            record, rec[0], rec[1], rec[2])
    if own or (t0 == t1).all():
        state.t = t1


def _torch_step(st: GeometricState, forced: torch.Tensor | None, spikes: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor]:
    p, buf, t = st.plan, st.buffers, st.t
    B, N, dev = st.batch_size, p.n, p.dev
    ring, ring_n, hist = buf["ring"], buf["ring_n"], buf["hist"]
    slot = t % p.L
    arr = ring[slot].clone()
    ring[slot].zero_()
    if p.unit_weights:
        arr_n = arr
    else:
        arr_n = ring_n[slot].clone()
        ring_n[slot].zero_()
    accept = (st.ready_at <= t) & p.accept_base
    S = st.potential
    S += arr * accept
    st.arrivals += arr_n.sum(1, dtype=torch.float64).long()
    st.discarded += (arr_n * ~accept).sum(1, dtype=torch.float64).long()
    if p.M:
        hslot = t % p.M
        eff = arr * accept
        if p.uniform_window:  # every window is M steps: the expiring slot is the one overwritten now
            S -= hist[hslot]
        else:
            old_slot = (t - p.win_steps) % p.M  # (N,), per-node expiry slot
            expired = hist[old_slot, :, p.node_ar].T  # (B, N)
            S -= torch.where(p.win_finite, expired, torch.zeros((), dtype=p.dtype, device=dev))
        hist[hslot] = eff
    fire = accept & (S >= p.threshold)
    if forced is not None:
        fire[:, p.inputs] = forced
    S.masked_fill_(fire, 0)
    if p.M:
        hist.masked_fill_(fire.unsqueeze(0), 0)
    st.ready_at.copy_(torch.where(fire, t + p.refr, st.ready_at))
    st.first_step.copy_(torch.where(fire & (st.first_step < 0), torch.full((), t, device=dev), st.first_step))
    st.counts += fire.to(torch.int32)
    if p.spmm:  # no host synchronisation: one sparse product per delay
        if p.spmm_delays:
            f = fire.to(p.dtype).T  # (N, B)
            for d, aw, an in zip(p.spmm_delays, p.spmm_w, p.spmm_n):
                s2 = (t + d) % p.L  # (arrivals after the horizon land in the ring but are never read)
                ring[s2] += (aw @ f).T
                if not p.unit_weights:
                    ring_n[s2] += (an @ f).T
        st.t = t + 1
        if not spikes:
            none = torch.zeros(0, dtype=torch.int64, device=dev)
            return none, none
        b, i = fire.nonzero(as_tuple=True)
        return b, i
    b, i = fire.nonzero(as_tuple=True)
    if b.numel():
        lo = p.rowptr.index_select(0, i)
        deg = p.rowptr.index_select(0, i + 1) - lo
        total = int(deg.sum())
        if total:
            BN = B * N
            # expand each firing node into its contiguous CSR range of out-edges
            start = lo - (torch.cumsum(deg, 0) - deg)
            e = torch.repeat_interleave(start, deg, output_size=total) + torch.arange(total, device=dev)
            row = torch.repeat_interleave(b * N + t * BN, deg, output_size=total)
            flat = (buf["edge_off"].index_select(0, e) + row) % (p.L * BN)
            if p.unit_weights:
                ring.view(-1).index_add_(0, flat, torch.ones(total, dtype=p.dtype, device=dev))
            else:
                ring.view(-1).index_add_(0, flat, p.weight.index_select(0, e))
                ring_n.view(-1).index_add_(0, flat, torch.ones(total, dtype=p.dtype, device=dev))
    st.t = t + 1
    return b, i


def simulate(net: GeometricNetwork, stimulus: Any, horizon: float, *, dt: float = 1.0,
             device: str | torch.device | None = None, batch_size: int | None = None,
             record_spikes: bool = False, dtype: torch.dtype | None = None, backend: Backend = "auto",
             num_threads: int | None = None) -> SpikeResult:
    """Simulate ``net`` for every row of ``stimulus`` at once (a loop over :func:`step`).

    Args:
        net: the network.
        stimulus: (B, n_inputs) input firing times (``inf`` = silent); NumPy or torch.
        horizon: simulated time; the steps ``t`` with ``t * dt < horizon`` (exactly) are run.
        dt: time step; latencies, refractory periods, windows and stimulus times are rounded
            to multiples of it (latencies must round to >= 1 step).
        device: ``"cpu"``, ``"cuda"``... (default: CPU).
        batch_size: stimuli per chunk (bounds memory: about ``3 (kmax + W + 4) x chunk x N``
            numbers); default all at once.
        record_spikes: also return every spike as (stimulus, node, time).
        dtype: accumulator dtype of the torch backend (see :func:`initial_state`).
        backend: ``"auto"``, ``"numba"`` or ``"torch"``.
        num_threads: threads of the numba backend (default ``torch.get_num_threads()``): one
            stimulus per thread at a time, or, when the batch has fewer stimuli than threads
            and the network at least 2**18 edges, each stimulus split over all of them (same
            results).

    Returns:
        :class:`SpikeResult` on CPU (first-spike times in time units, multiples of ``dt``).

    Example:
        >>> net = GeometricNetwork.from_arrays(3, [0, 1], [1, 2], [1.0, 2.0], inputs=[0])
        >>> r = simulate(net, [[0.0], [1.0]], horizon=10.0, dt=1.0)
        >>> r.first_spike.tolist()
        [[0.0, 1.0, 3.0], [1.0, 2.0, 4.0]]
    """
    dt = _check_dt(dt)
    horizon = check_horizon(horizon)
    stim = check_stimulus(net, stimulus)
    if batch_size is not None:
        if (isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, numbers.Integral)
                or batch_size < 1):
            raise ValidationError(f"batch_size must be a positive integer, got {batch_size!r}")
        batch_size = int(batch_size)
    if num_threads is not None and (not isinstance(num_threads, numbers.Integral) or num_threads < 1):
        raise ValidationError(f"num_threads must be a positive integer, got {num_threads!r}")
    dev = torch.device(device) if device is not None else torch.device("cpu")
    be = _resolve_backend(backend, dev)
    plan = _plan(net, dt, dev, dtype, be, reorder=True)
    n_steps = n_steps_for(horizon, dt)
    fin = np.isfinite(stim)
    steps_all = np.where(fin, np.rint(np.where(fin, stim, 0) / dt), n_steps)
    steps_all = np.minimum(steps_all, n_steps).astype(np.int64)  # n_steps = never
    chunk = batch_size or max(1, stim.shape[0])
    run = _run_numba if be == "numba" else _run_torch
    if be == "numba":
        import numba

        old = numba.get_num_threads()
        numba.set_num_threads(min(num_threads or torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    try:
        parts = [run(plan, steps_all[s:s + chunk], n_steps, record_spikes, s)
                 for s in range(0, stim.shape[0], chunk)] or [run(plan, steps_all[:0], n_steps, record_spikes, 0)]
    finally:
        if be == "numba":
            numba.set_num_threads(old)
    cat = lambda i: torch.cat([q[i] for q in parts])  # noqa: E731
    first_steps, counts = cat(0), cat(1)
    first = torch.where(first_steps >= 0, first_steps.double() * dt, torch.full((), math.inf, dtype=torch.float64))
    lam = net.refraction_ratio()
    res = SpikeResult(first, counts, cat(2).double(), cat(3).double(), float(horizon), float(dt),
                      float(np.median(lam)) if lam.size else float("nan"))
    if record_spikes:
        b, nodes, steps = cat(4), cat(5), cat(6)
        bn, nn, sn = b.numpy(), nodes.numpy(), steps.numpy()
        span = (int(sn.max()) + 1) if sn.size else 1
        if stim.shape[0] * span * max(net.n, 1) < 2 ** 62:  # one key per (stimulus, step, node): unique
            order = torch.from_numpy(np.argsort((bn * span + sn) * net.n + nn))
        else:
            order = torch.from_numpy(np.lexsort((nn, sn, bn)))
        res.spike_batch, res.spike_node, res.spike_time = b[order], nodes[order], steps[order].double() * dt
    return res


def _split_parts(p: _Plan, B: int) -> int:
    """Threads to split each stimulus over (0: one thread per stimulus, the default kernel).

    A stimulus is split only when the batch leaves threads idle, the network is large enough
    for a step's work to outweigh two thread synchronisations (about 1 us each), and the lean
    kernel applies (packed ring, no finite window)."""
    import numba

    threads = int(numba.get_num_threads()) if _SPLIT_PARTS is None else _SPLIT_PARTS
    if threads < 2 or B >= threads or p.M or not p.pack or p.net.n_edges < _SPLIT_MIN_EDGES:
        return 0
    return threads


def _record_room(n: int) -> int:
    """Spikes a record row holds before the kernel stops to have it emptied (at least ``n + 1``:
    one step of ``n`` nodes must fit)."""
    return max(4 * n + 1024, 1 << 16)


_SPLIT_MIN_EDGES = 2 ** 18  # below this (e.g. 10k nodes x degree 25) one thread per stimulus is as fast
_SPLIT_PARTS: int | None = None  # tests force a part count (also on a one-core machine)


def _run_numba(p: _Plan, steps: np.ndarray, n_steps: int, record: bool, offset: int) -> tuple:
    B = steps.shape[0]
    order = np.argsort(steps, axis=1, kind="stable")
    f_steps = np.ascontiguousarray(np.take_along_axis(steps, order, 1))
    inputs = p.net.inputs if p.inv is None else p.inv[p.net.inputs]
    f_nodes = np.ascontiguousarray(inputs[order]).astype(np.int64)
    parts = _split_parts(p, B)
    st = _fresh_state(p, B)
    # the spike record: one row per stimulus (per (stimulus, part) when split); a kernel stops
    # when a row could not take another step, and the rows are emptied here before it goes on
    rows = B * parts if parts else B
    cap = _record_room(p.n) if record else 0
    rec = (np.zeros((rows, cap), np.int32), np.zeros((rows, cap), np.int64), np.zeros(rows, np.int64))
    got: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(rows)]

    def drain(sel: range) -> None:
        for r in sel:
            n = int(rec[2][r])
            if n:
                got[r].append((rec[0][r, :n].copy(), rec[1][r, :n].copy()))
        rec[2][sel.start:sel.stop] = 0

    if parts:
        _advance_split(p, st, parts, n_steps, f_steps, f_nodes, record, rec, drain)
    else:
        t0, fptr = np.zeros(B, np.int64), np.zeros(B, np.int64)
        while True:
            _numba_advance(st, n_steps, n_steps, f_steps, f_nodes, fptr, rec if record else None, t0)
            drain(range(rows))
            if (t0 >= n_steps).all():
                break
        st.t = n_steps
    b = st.buffers
    first, counts = b["first"], b["counts"]
    if p.inv is not None:  # back to the network's numbering
        first, counts = np.ascontiguousarray(first[:, p.inv]), np.ascontiguousarray(counts[:, p.inv])
    out = [torch.from_numpy(first), torch.from_numpy(counts), torch.from_numpy(b["arrivals"]),
           torch.from_numpy(b["discarded"])]
    if record:
        n = np.array([sum(a.size for a, _ in g) for g in got], np.int64)
        nodes = np.concatenate([a for g in got for a, _ in g] or [np.zeros(0, np.int32)]).astype(np.int64)
        per = parts or 1  # the part rows of one stimulus are adjacent
        out += [torch.from_numpy(np.repeat(np.arange(rows, dtype=np.int64) // per + offset, n)),
                torch.from_numpy(nodes if p.perm is None else p.perm[nodes]),
                torch.from_numpy(np.concatenate([s for g in got for _, s in g] or [np.zeros(0, np.int64)]))]
    return tuple(out)


def _advance_split(p: _Plan, st: GeometricState, parts: int, n_steps: int, f_steps: np.ndarray,
                   f_nodes: np.ndarray, record: bool, rec: tuple[np.ndarray, np.ndarray, np.ndarray],
                   drain: Callable[[range], None]) -> None:
    """Run every stimulus of ``st`` to ``n_steps``, one after another, each on ``parts`` threads
    (:func:`~._kernels.advance_split`); the spike record has one row per (stimulus, part), and
    ``drain`` empties the rows of a stimulus whenever its kernel stops for room."""
    from neurocircuits.dynamics.geometric._kernels import advance_split

    sp, b, B, L = p.split(parts), st.buffers, st.batch_size, p.L
    w = int(sp["cap"])
    for i in range(B):
        tl, tl_len = np.zeros((parts, L, w), np.int32), np.zeros((parts, L), np.int64)
        fired, n_fired = np.zeros((parts, w), np.int32), np.zeros(parts, np.int64)
        arr_p, disc_p, fptr = np.zeros(parts, np.int64), np.zeros(parts, np.int64), np.zeros(parts, np.int64)
        rows = range(i * parts, (i + 1) * parts)
        t = 0
        while True:
            t = advance_split(i, t, n_steps, n_steps, sp["bounds"], sp["pg"], sp["gdelay"], sp["gstart"], sp["post"],
                              sp["wpack"], p.np["refr"], p.np["is_input"], L, p.pack, b["node"].view(np.float64),
                              b["node"], b["ring_w"], tl, tl_len, fired, n_fired, b["first"], b["counts"], arr_p,
                              disc_p, f_steps, f_nodes, fptr, record, rec[0][i * parts:(i + 1) * parts],
                              rec[1][i * parts:(i + 1) * parts], rec[2][i * parts:(i + 1) * parts])
            drain(rows)
            if t >= n_steps:
                break
        b["arrivals"][i], b["discarded"][i] = arr_p.sum(), disc_p.sum()
    st.t = n_steps


def _run_torch(p: _Plan, steps: np.ndarray, n_steps: int, record: bool, offset: int) -> tuple:
    B = steps.shape[0]
    st = _fresh_state(p, B)
    stim_steps = torch.tensor(steps, device=p.dev)
    live = steps[steps < n_steps]
    busy_until = int(live.max()) if live.size else -1  # no event can happen after busy_until (+ windows)
    rec: list[tuple[torch.Tensor, torch.Tensor, int]] = []
    if p.spmm:  # every step, queued on the device; spikes are read back only when recorded
        while st.t < n_steps:
            t = st.t
            b, i = _torch_step(st, stim_steps == t, spikes=record)
            if record and b.numel():
                rec.append((b + offset, i, t))
    while st.t < n_steps and st.t <= busy_until + p.M:
        t = st.t
        b, i = _torch_step(st, stim_steps == t)
        if b.numel():
            if record:
                rec.append((b + offset, i, t))
            busy_until = max(busy_until, t + p.L - 1)
    out = [st.first_step.cpu(), st.counts.cpu(), st.arrivals.cpu(), st.discarded.cpu()]
    if record:
        if rec:
            out += [torch.cat([r[0] for r in rec]).cpu(), torch.cat([r[1] for r in rec]).cpu(),
                    torch.cat([torch.full((r[0].numel(),), r[2], dtype=torch.int64) for r in rec])]
        else:
            out += [torch.zeros(0, dtype=torch.int64)] * 3
    return tuple(out)
