"""The geometric network: nodes, directed edges with latencies, and per-node parameters.

Semantics shared by both engines (documented once here; see :mod:`.reference` and
:mod:`.fast` for the two implementations):

* **Latency.** Edge ``i -> j`` has latency ``tau_ij = length_ij / speed_ij > 0``. When ``i``
  fires at time ``t``, a signal of weight ``w_ij`` arrives at ``j`` at ``t + tau_ij``.
* **Refractoriness and the discard rule.** After firing at ``t'`` node ``j`` is refractory
  on ``[t', t' + R_j)``. An arrival at time ``a`` is *effective* iff ``a >= t' + R_j`` and
  ``a > t'`` (``t'`` = last firing of ``j``); the boundary ``a = t' + R_j`` is accepted.
  Arrivals during refractoriness are discarded, never buffered.
* **Summation.** ``S_j(t)`` = sum of the weights of the effective arrivals ``a`` with
  ``t - W_j < a <= t`` (``W_j`` = summation window, ``inf`` = a perfect integrator that
  is only reset by firing). Simultaneous arrivals are summed (spatial summation).
  Node ``j`` fires at the first time ``t`` at which ``S_j(t) >= theta_j``. ``S_j`` is
  piecewise constant and changes only at arrivals and when an arrival leaves the window,
  so a node fires only at such instants. Firing resets ``S_j`` to 0 (all buffered
  arrivals are consumed) and starts the refractory period.
* **Stimulus.** Input nodes fire exactly at their stimulus times (one spike each,
  ``inf`` = silent) and ignore arrivals. Only events at times ``< horizon`` happen.

The discrete-time engine rounds every latency to ``k_ij = round(tau_ij / dt)`` steps
(``k >= 1`` is required), every refractory period to ``round(R / dt)`` steps, every window
to ``round(W / dt)`` steps (``>= 1``) and every stimulus time to ``round(t / dt)``. When all
of these are exact multiples of ``dt`` the two engines produce identical spike trains.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurocircuits.circuit.core import as_positions
from neurocircuits.errors import ValidationError, check_finite


def _as_index(name: str, value: Any) -> np.ndarray:
    """1-D int64 node indices; integral floats are accepted, anything else is an error."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ValidationError(f"{name} must be a 1-D sequence of node indices ({exc})") from None
    arr = arr.reshape(-1)
    if arr.dtype == bool:
        raise ValidationError(f"{name} must hold node indices, got a boolean array")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind != "f":
        raise ValidationError(f"{name} must hold integer node indices, got dtype {arr.dtype}")
    bad = ~np.isfinite(arr) | (arr != np.rint(arr))
    if bad.any():
        raise ValidationError(f"{name} must hold integer node indices; {int(bad.sum())} value(s) are not "
                              f"integers (e.g. {arr[bad][0]!r})")
    return arr.astype(np.int64)


def _as_float(name: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"dtype {arr.dtype}")
        return arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be numbers ({exc})") from None


def _per_node(name: str, value: float | np.ndarray, n: int) -> np.ndarray:
    arr = _as_float(name, value)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    arr = arr.reshape(-1)
    if arr.shape[0] != n:
        raise ValidationError(f"{name} must be a scalar or have one value per node ({n}), got {arr.shape[0]}")
    if np.isnan(arr).any():
        raise ValidationError(f"{name} holds {int(np.isnan(arr).sum())} NaN value(s)")
    return arr


@dataclass(frozen=True, eq=False)
class GeometricNetwork:
    """A network for competitive refractory dynamics (validated, immutable arrays).

    Args:
        n: number of nodes.
        pre, post: source and target node of each directed edge (length E).
        latency: per-edge latency ``> 0`` (length / speed).
        weight: per-edge efficacy (sign gives excitation / inhibition); default 1.
        refractory: per-node (or scalar) refractory period ``R >= 0``.
        threshold: per-node (or scalar) firing threshold ``theta > 0``.
        window: per-node (or scalar) summation window ``W > 0`` (``inf`` allowed).
        inputs: indices of the stimulated nodes (in stimulus column order), or a boolean mask
            over the nodes (then the columns are in increasing node order).
        positions: optional (n, d) node coordinates.

    Example:
        >>> net = GeometricNetwork.from_arrays(3, pre=[0, 1], post=[1, 2], latency=[1.0, 2.0],
        ...                                    refractory=1.0, inputs=[0])
        >>> net.n_edges, float(net.refraction_ratio().max())
        (2, 1.0)
    """

    n: int
    pre: np.ndarray
    post: np.ndarray
    latency: np.ndarray
    weight: np.ndarray
    refractory: np.ndarray
    threshold: np.ndarray
    window: np.ndarray
    inputs: np.ndarray
    positions: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # the engines' derived arrays per (dt, backend, ...), built once (the arrays above never change)
    _plans: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_plans"] = {}  # rebuilt where it is used (a pickled plan could hold CUDA tensors)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)

    @classmethod
    def from_arrays(cls, n: int, pre: Any, post: Any, latency: Any, weight: Any = None, *,
                    refractory: Any = 1.0, threshold: Any = 1.0, window: Any = float("inf"),
                    inputs: Any = (), positions: Any = None, meta: dict[str, Any] | None = None
                    ) -> "GeometricNetwork":
        """Validate arrays and build a network (see the class docstring)."""
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValidationError(f"n must be a positive integer, got {n!r}")
        n = int(n)
        pre_a = _as_index("pre", pre)
        post_a = _as_index("post", post)
        e = pre_a.shape[0]
        if post_a.shape[0] != e:
            raise ValidationError(f"pre has {e} entries but post has {post_a.shape[0]}")
        if e and (min(pre_a.min(), post_a.min()) < 0 or max(pre_a.max(), post_a.max()) >= n):
            raise ValidationError(f"edge endpoints must be node indices in 0..{n - 1}")
        lat = _as_float("latency", latency).reshape(-1)
        if lat.shape[0] != e:
            raise ValidationError(f"latency has {lat.shape[0]} entries but there are {e} edges")
        check_finite("latencies", lat)
        if (lat <= 0).any():
            raise ValidationError(f"latencies must be > 0; {int((lat <= 0).sum())} are not "
                                  f"(min {lat.min():.4g})")
        w = np.ones(e) if weight is None else _as_float("weight", weight).reshape(-1)
        if w.shape[0] != e:
            raise ValidationError(f"weight has {w.shape[0]} entries but there are {e} edges")
        check_finite("weights", w)
        ref = _per_node("refractory", refractory, n)
        if not np.isfinite(ref).all() or (ref < 0).any():
            raise ValidationError(f"refractory periods must be finite and >= 0 (min {ref.min():.4g})")
        thr = _per_node("threshold", threshold, n)
        if not np.isfinite(thr).all() or (thr <= 0).any():
            raise ValidationError(f"thresholds must be finite and > 0 (min {thr.min():.4g})")
        win = _per_node("window", window, n)
        if (win <= 0).any():
            raise ValidationError(f"summation windows must be > 0 (inf allowed), min {win.min():.4g}")
        inp_raw = np.asarray(inputs)
        if inp_raw.dtype == bool:  # a boolean mask over the nodes
            if inp_raw.shape != (n,):
                raise ValidationError(f"a boolean inputs mask must have one entry per node ({n}), "
                                      f"got shape {inp_raw.shape}")
            inp = np.flatnonzero(inp_raw)
        else:
            inp = _as_index("inputs", inp_raw)
        if inp.size and (inp.min() < 0 or inp.max() >= n):
            raise ValidationError(f"input indices must be in 0..{n - 1}")
        if np.unique(inp).size != inp.size:
            raise ValidationError("input indices must be unique")
        pos = as_positions(positions, n)
        order = np.lexsort((post_a, pre_a))  # CSR order: by source, then target
        arrays = [pre_a[order], post_a[order], lat[order], w[order], ref, thr, win, inp] + (
            [pos] if pos is not None else [])
        for a in arrays:
            a.flags.writeable = False
        return cls(n, pre_a[order], post_a[order], lat[order], w[order], ref, thr, win, inp, pos,
                   dict(meta or {}))

    @classmethod
    def from_circuit(cls, circuit: Any, *, speed: float | np.ndarray = 1.0, refractory: Any = 1.0,
                     threshold: Any = 1.0, window: Any = float("inf"), inputs: Any = (),
                     weights: str = "circuit") -> "GeometricNetwork":
        """A network from a :class:`~neurocircuits.circuit.Circuit` with edge lengths.

        Latency = ``circuit.length / speed``; weights are the circuit's signed weights
        (``weights="circuit"``) or all 1 (``"unit"``). Names in ``inputs`` are resolved
        with ``circuit.index``.

        Example:
            >>> from neurocircuits.circuit import geometric
            >>> c = geometric(50, rule="knn", k=4, seed=0)
            >>> net = GeometricNetwork.from_circuit(c, speed=0.5, inputs=[0, 1])
            >>> net.n_edges
            200
        """
        if circuit.length is None:
            raise ValidationError("the circuit has no edge lengths; build it with "
                                  "neurocircuits.circuit.geometric(...) or pass length=")
        sp = np.asarray(speed, dtype=np.float64)
        check_finite("speed", sp)
        if (sp <= 0).any():
            raise ValidationError("conduction speeds must be > 0")
        if weights not in ("circuit", "unit"):
            raise ValidationError(f"weights must be 'circuit' or 'unit', got {weights!r}")
        inp = [circuit.index(x) if isinstance(x, str) else int(x) for x in inputs]
        w = circuit.weight if weights == "circuit" else None
        return cls.from_arrays(circuit.n_neurons, circuit.pre, circuit.post, circuit.length / sp, w,
                               refractory=refractory, threshold=threshold, window=window, inputs=inp,
                               positions=circuit.positions, meta={"circuit": dict(circuit.meta)})

    # --- properties -------------------------------------------------------------------
    @property
    def n_edges(self) -> int:
        return int(self.pre.shape[0])

    @property
    def n_inputs(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def is_input(self) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        mask[self.inputs] = True
        return mask

    def hidden(self) -> np.ndarray:
        """Indices of the non-input nodes (the only ones a readout may use)."""
        return np.flatnonzero(~self.is_input)

    def rowptr(self) -> np.ndarray:
        """CSR row pointer over sources (edges are stored sorted by source)."""
        return np.searchsorted(self.pre, np.arange(self.n + 1)).astype(np.int64)

    def refraction_ratio(self) -> np.ndarray:
        """Per-edge refraction ratio ``Lambda_ij = R_j / tau_ij`` (Silva 2019; Puppo et al. 2018).

        ``> 1``: a signal sent back to a node that just fired arrives while it is refractory.
        """
        return self.refractory[self.post] / self.latency

    def delay_steps(self, dt: float) -> np.ndarray:
        """Integer delays ``round(tau / dt)`` used by the discrete-time engine (all ``>= 1``)."""
        _check_dt(dt)
        k = np.rint(self.latency / dt).astype(np.int64)
        if self.n_edges and k.min() < 1:
            raise ValidationError(f"dt={dt} is too coarse: the smallest latency {self.latency.min():.4g} "
                                  f"rounds to 0 steps; use dt < {2 * self.latency.min():.4g}")
        return k

    def on_grid(self, dt: float, atol: float = 1e-9) -> bool:
        """True when latencies, refractory periods and finite windows are multiples of ``dt``."""
        _check_dt(dt)
        vals = np.concatenate([self.latency, self.refractory, self.window[np.isfinite(self.window)]])
        return bool(np.all(np.abs(vals / dt - np.rint(vals / dt)) <= atol))

    def with_params(self, **kw: Any) -> "GeometricNetwork":
        """A copy with some of ``refractory``, ``threshold``, ``window``, ``weight`` replaced."""
        allowed = {"refractory", "threshold", "window", "weight", "inputs"}
        bad = set(kw) - allowed
        if bad:
            raise ValidationError(f"with_params accepts {sorted(allowed)}, got {sorted(bad)}")
        args = dict(refractory=self.refractory, threshold=self.threshold, window=self.window,
                    weight=self.weight, inputs=self.inputs)
        args.update(kw)
        w = args.pop("weight")
        return GeometricNetwork.from_arrays(self.n, self.pre, self.post, self.latency, w,
                                            positions=self.positions, meta=self.meta, **args)

    def summary(self) -> dict[str, float]:
        """Sizes and latency / refraction-ratio statistics (for reports)."""
        lam = self.refraction_ratio()
        return {"nodes": self.n, "inputs": self.n_inputs, "edges": self.n_edges,
                "mean_out_degree": self.n_edges / self.n,
                "latency_mean": float(self.latency.mean()) if self.n_edges else float("nan"),
                "refraction_ratio_median": float(np.median(lam)) if self.n_edges else float("nan"),
                "refraction_ratio_mean": float(lam.mean()) if self.n_edges else float("nan")}


def _check_dt(dt: float) -> float:
    if isinstance(dt, (bool, np.bool_)) or not isinstance(dt, numbers.Real) or not np.isfinite(dt) or dt <= 0:
        raise ValidationError(f"dt must be a finite number > 0, got {dt!r}")
    return float(dt)


def check_horizon(horizon: Any) -> float:
    """A finite horizon > 0 as a Python float (NumPy scalars accepted)."""
    if (isinstance(horizon, (bool, np.bool_)) or not isinstance(horizon, numbers.Real)
            or not math.isfinite(horizon) or horizon <= 0):
        raise ValidationError(f"horizon must be a finite number > 0, got {horizon!r}")
    return float(horizon)


def n_steps_for(horizon: float, dt: float) -> int:
    """Number of grid steps ``t`` with ``t * dt < horizon``, computed exactly (rationals).

    Example:
        >>> n_steps_for(10.0, 1.0), n_steps_for(10.0 + 1e-12, 1.0)
        (10, 11)
    """
    from fractions import Fraction

    return int(math.ceil(Fraction(float(horizon)) / Fraction(float(dt))))


def check_stimulus(net: GeometricNetwork, stimulus: Any) -> np.ndarray:
    """Validate stimulus times: a (B, n_inputs) array of firing times (``inf`` = silent)."""
    import torch

    s = stimulus.detach().cpu().numpy() if isinstance(stimulus, torch.Tensor) else np.asarray(stimulus)
    if s.dtype.kind not in "iuf":
        raise ValidationError(f"stimulus must hold numbers (firing times), got dtype {s.dtype}")
    s = s.astype(np.float64)
    if s.ndim == 1:
        s = s[None, :]
    if s.ndim != 2 or s.shape[1] != net.n_inputs:
        raise ValidationError(f"stimulus must have shape (batch, n_inputs={net.n_inputs}), got "
                              f"{tuple(np.shape(stimulus))}")
    if np.isnan(s).any():
        raise ValidationError(f"stimulus holds {int(np.isnan(s).sum())} NaN time(s); use inf for silent inputs")
    if (s < 0).any() or np.isneginf(s).any():
        raise ValidationError("stimulus times must be >= 0 (inf = silent)")
    return s
