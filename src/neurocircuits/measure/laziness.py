"""How lazy or rich a network's learning was: weight change, representation and kernel alignment.

Following Liu et al. (ICLR 2024) and their code, between the initial (theta_0) and trained
(theta_T) weights of a recurrent network:

- ``weight_change``: ``||W_hh(T) - W_hh(0)||_F`` (or over the chosen parameters); larger is richer.
- ``representation_alignment``: uncentred cosine of the trial x trial Gram matrices
  ``K_R = H H^T`` of the hidden states at the last decision step; higher is lazier.
- ``kernel_alignment``: cosine of the tangent kernels ``K = J J^T``, J the Jacobian of every
  output ``y[b, t, k]`` (first ``n_kernel_trials`` trials) w.r.t. the chosen parameters
  (W_hh by default); higher is lazier.
- ``sign_similarity``: fraction of hidden activations over the decision steps whose sign
  did not change (for ReLU: the active / inactive pattern).

The tangent kernel of a :class:`~neurocircuits.models.RateRNN` is computed without ever
forming J. With ``delta[r, s] = d y_r / d u_s`` (``u_s`` the pre-activation of step s, from
``torch.func.jacrev`` over a zero perturbation, vmapped over trials) the gradient of output
r w.r.t. W_hh is ``sum_s delta[r, s] h_{s-1}^T``, so

    K_hh[r, r'] = sum_{s, s'} (delta[r, s] . delta[r', s']) (h_{s-1}^{b(r)} . h_{s'-1}^{b(r')})

(and likewise for W_in with x_s, W_out and biases). When ``T^2 > N`` forming J is cheaper;
it is then built in chunks over the parameter dimension (rows of W_hh), so memory stays at
``rows x chunk x N``. Any other model (or a constrained RateRNN) goes through the generic
``vmap(jacrev)`` path; :func:`tangent_kernel_loop` is the slow per-output autograd reference.

Example:
    >>> import torch
    >>> from neurocircuits.models import RateRNN
    >>> net = RateRNN(3, 20, 3, seed=0)
    >>> x = torch.randn(8, 8, 3, generator=torch.Generator().manual_seed(0))
    >>> lz = laziness(net, net, x, n_kernel_trials=4)
    >>> lz.weight_change, round(lz.kernel_alignment, 6), round(lz.representation_alignment, 6), lz.sign_similarity
    (0.0, 1.0, 1.0, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import cast

import torch
from torch import nn

from neurocircuits.errors import UnknownNameError, ValidationError, check_finite
from neurocircuits.circuit.stats import EFFECTIVE_RANK_KINDS, effective_rank
from neurocircuits.models.rnn import RateRNN, rate_rnn_forward

__all__ = ["EFFECTIVE_RANK_KINDS", "Laziness", "alignment", "effective_rank", "kernel_alignment", "laziness",
           "representation_alignment", "sign_similarity", "tangent_kernel", "tangent_kernel_loop"]

METHODS = ("auto", "structured", "jacobian")
_RNN_PARAMS = ("W_in", "W_hh", "W_out", "b_hh", "b_out")


@dataclass(frozen=True)
class Laziness:
    """The four laziness / richness measures of one training run."""

    weight_change: float
    representation_alignment: float
    kernel_alignment: float
    sign_similarity: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def alignment(a: torch.Tensor, b: torch.Tensor) -> float:
    """Uncentred cosine ``<A, B>_F / (||A||_F ||B||_F)`` of two same-shape matrices (float64)."""
    a64, b64 = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    if a64.shape != b64.shape:
        raise ValidationError(f"cannot align matrices of shapes {tuple(a64.shape)} and {tuple(b64.shape)}")
    na, nb = torch.linalg.norm(a64), torch.linalg.norm(b64)
    if na == 0 or nb == 0:
        return float("nan")
    return float((a64 * b64).sum() / (na * nb))


kernel_alignment = alignment


def representation_alignment(h0: torch.Tensor, h1: torch.Tensor) -> float:
    """Alignment of the trial Gram matrices ``H H^T`` of two ``(trials, units)`` representations."""
    h0, h1 = torch.as_tensor(h0).double(), torch.as_tensor(h1).double()
    if h0.ndim != 2 or h0.shape[0] != h1.shape[0]:
        raise ValidationError(f"representations must be (trials, units) with the same trials, got "
                              f"{tuple(h0.shape)} and {tuple(h1.shape)}")
    return alignment(h0 @ h0.T, h1 @ h1.T)


def sign_similarity(h0: torch.Tensor, h1: torch.Tensor) -> float:
    """Fraction of entries with the same sign (``torch.sign``: -1, 0, +1) in two same-shape tensors."""
    if h0.shape != h1.shape:
        raise ValidationError(f"shapes differ: {tuple(h0.shape)} vs {tuple(h1.shape)}")
    return float((torch.sign(h0) == torch.sign(h1)).double().mean())


# --- parameters ------------------------------------------------------------------------------
def _param_names(model: nn.Module, params: Sequence[str] | str) -> list[str]:
    named = dict(model.named_parameters())
    if params == "all":
        return list(named)
    if isinstance(params, str):
        params = (params,)
    out = []
    for p in params:
        if p == "W_hh" and isinstance(model, RateRNN) and model.constrained:
            p = "hh.raw"
        if p not in named:
            raise UnknownNameError("parameter", p, named)
        out.append(p)
    if not out:
        raise ValidationError("params must name at least one parameter")
    return out


def _steps(steps: Sequence[int] | None, t: int) -> list[int]:
    if steps is None:
        return list(range(t))
    out = sorted({s % t if -t <= s < t else -1 for s in steps})
    if -1 in out or not out:
        raise ValidationError(f"steps must be indices in -{t}..{t - 1}, got {list(steps)}")
    return out


def _check_inputs(x: torch.Tensor, sequence: bool = True) -> None:
    if not isinstance(x, torch.Tensor) or (x.ndim != 3 if sequence else x.ndim < 2):
        raise ValidationError(f"inputs must be a (trials, time, n_in) tensor{'' if sequence else ' or (trials, ...)'}, "
                              f"got {tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    check_finite("inputs", x)


# --- tangent kernel ---------------------------------------------------------------------------
def tangent_kernel(model: nn.Module, inputs: torch.Tensor, params: Sequence[str] | str = ("W_hh",),
                   steps: Sequence[int] | None = None, method: str = "auto",
                   max_chunk_elements: int = 2 ** 24) -> torch.Tensor:
    """The tangent kernel ``J J^T`` (float64) of a model's outputs w.r.t. ``params``.

    Args:
        model: a :class:`RateRNN` (fast structured path) or any module mapping ``(B, T, n_in)``
            to ``(B, T, K)`` outputs.
        inputs: ``(B, T, n_in)``; every trial's outputs at ``steps`` (default all) are rows.
        params: parameter names (``"W_hh"`` also names a constrained RateRNN's magnitudes)
            or ``"all"``.
        method: ``"structured"`` (RateRNN only), ``"jacobian"`` (generic torch.func) or ``"auto"``.
        max_chunk_elements: bound on the elements of one Jacobian chunk.

    Rows are ordered ``(t, b, k)``: time outermost, as in the paper's code. A model with
    ``(B, K)`` outputs (any inputs ``(B, ...)``) gives rows ``(b, k)``.
    """
    _check_inputs(inputs, sequence=isinstance(model, RateRNN))
    if method not in METHODS:
        raise UnknownNameError("kernel method", method, METHODS)
    names = _param_names(model, params)
    structured_ok = isinstance(model, RateRNN) and not model.constrained and set(names) <= set(_RNN_PARAMS)
    if method == "structured" and not structured_ok:
        raise ValidationError("the structured kernel needs an unconstrained RateRNN and params among "
                              f"{_RNN_PARAMS}; use method='jacobian'")
    if method == "jacobian" or not structured_ok:
        return _kernel_jacobian(model, inputs, names, steps, max_chunk_elements)
    return _kernel_structured(cast(RateRNN, model), inputs, names, steps, max_chunk_elements)


def _kernel_structured(model: RateRNN, x: torch.Tensor, names: list[str], steps: Sequence[int] | None,
                       max_chunk: int) -> torch.Tensor:
    from torch.func import jacrev, vmap

    w = {k: v.detach() for k, v in model.weights().items()}
    x = x.to(w["W_hh"].dtype)
    b, t_len, _ = x.shape
    n = model.n_hidden
    st = _steps(steps, t_len)

    def per_trial(eps: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
        y, _ = rate_rnn_forward(w, xb[None], model.alpha, model.activation, eps=eps[None])
        return y[0, st]

    with torch.no_grad():
        _, h = rate_rnn_forward(w, x, model.alpha, model.activation)
    need_delta = any(p in names for p in ("W_in", "W_hh", "b_hh"))
    k_out = model.n_out
    rows = len(st) * b * k_out
    rt = torch.tensor(st).repeat_interleave(b * k_out)                 # time of each row
    rb = torch.arange(b).repeat_interleave(k_out).repeat(len(st))      # trial of each row
    rk = torch.arange(k_out).repeat(len(st) * b)                       # output of each row
    kern = torch.zeros(rows, rows, dtype=torch.float64)
    if need_delta:
        zeros = torch.zeros(t_len, n, dtype=x.dtype)
        chunk = max(1, max_chunk // max(1, len(st) * k_out * t_len * n))
        d = vmap(jacrev(per_trial), in_dims=(None, 0), chunk_size=chunk)(zeros, x)  # (B, T', K, T, N)
        d = d.permute(1, 0, 2, 3, 4).reshape(rows, t_len, n)
        factors = []
        if "W_hh" in names:
            factors.append(torch.cat([torch.zeros(b, 1, n, dtype=x.dtype), h[:, :-1]], 1))  # h_{s-1}, h_{-1} = 0
        if "W_in" in names:
            factors.append(x)
        if "b_hh" in names:
            factors.append(torch.ones(b, t_len, 1, dtype=x.dtype))
        for f in factors:
            kern += _delta_kernel(d, rt, rb, f, max_chunk)
    if "W_out" in names or "b_out" in names:
        same_k = (rk[:, None] == rk[None, :]).to(torch.float64)
        if "W_out" in names:
            hr = h[rb, rt].double()
            kern += same_k * (hr @ hr.T)
        if "b_out" in names:
            kern += same_k
    return kern


def _delta_kernel(d: torch.Tensor, rt: torch.Tensor, rb: torch.Tensor, f: torch.Tensor, max_chunk: int) -> torch.Tensor:
    """``sum_{s,s'} (d[:, s] d[:, s']^T) * (f[rb, s] f[rb, s']^T)``: the kernel of ``sum_s d_s f_s^T``."""
    rows, t_len, n = d.shape
    dim = f.shape[-1]
    active = [s for s in range(t_len) if bool(f[:, s].abs().sum() > 0)]
    # rows are sorted by output time; delta[r, s] = 0 for s > t(r), so only a suffix of rows is live
    start = {s: int(torch.searchsorted(rt, torch.tensor(s))) for s in active}
    pair_cost = sum((rows - start[s]) * (rows - start[q]) for s in active for q in active) * (n + dim) / 2
    direct_cost = rows * rows * n * dim + rows * len(active) * n * dim
    if pair_cost <= direct_cost:
        dt = d.transpose(0, 1).contiguous()          # (T, rows, N): contiguous per-step slices
        grams = torch.einsum("bsd,ctd->sbtc", f, f)  # trial-level Grams of the factor, (T, B, T, B)
        acc = torch.zeros(rows, rows, dtype=d.dtype)
        for i, s in enumerate(active):
            a = start[s]
            later = active[i:]
            rhs = torch.cat([dt[q, start[q]:] for q in later])        # one matmul per step s
            prod = dt[s, a:] @ rhs.T
            col = 0
            for q in later:
                c = start[q]
                blk = prod[:, col:col + rows - c]
                col += rows - c
                blk.mul_(grams[s, :, q][rb[a:]][:, rb[c:]])
                acc[a:, c:] += blk
                if q != s:
                    acc[c:, a:] += blk.T
        return acc.double()
    out = torch.zeros(rows, rows, dtype=torch.float64)
    fr = f[rb][:, active]                     # (rows, S, dim)
    dr = d[:, active]                         # (rows, S, N)
    chunk = max(1, max_chunk // max(1, rows * dim))
    for lo in range(0, n, chunk):             # chunks over the parameter dimension (post-synaptic units)
        j = torch.einsum("rsn,rsq->rnq", dr[:, :, lo:lo + chunk], fr).reshape(rows, -1)
        out += (j @ j.T).double()
    return out


def _kernel_jacobian(model: nn.Module, x: torch.Tensor, names: list[str], steps: Sequence[int] | None,
                     max_chunk: int) -> torch.Tensor:
    from torch.func import functional_call, jacrev, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    free = {k: params[k] for k in names}
    fixed = {**{k: v for k, v in params.items() if k not in free}, **buffers}
    with torch.no_grad():
        probe = model(x[:1])
    probe = probe[0] if isinstance(probe, tuple) else probe
    if probe.ndim not in (2, 3):
        raise ValidationError(f"the model must return (B, K) or (B, T, K) outputs, got {tuple(probe.shape)}")
    st = _steps(steps, probe.shape[1]) if probe.ndim == 3 else None

    def per_trial(p: dict[str, torch.Tensor], xb: torch.Tensor) -> torch.Tensor:
        y = functional_call(model, {**fixed, **p}, (xb[None],))
        y = (y[0] if isinstance(y, tuple) else y)[0]
        return y[st] if st is not None else y

    n_out = math.prod(probe.shape[1:]) if st is None else len(st) * probe.shape[2]
    size = sum(v.numel() for v in free.values())
    chunk = max(1, max_chunk // max(1, n_out * size))
    jac = vmap(jacrev(per_trial), in_dims=(None, 0), chunk_size=chunk)(free, x.to(probe.dtype))
    kern = None
    for k in names:
        j = jac[k]
        if st is not None:  # (B, T', K, *shape) -> rows (t, b, k)
            j = j.transpose(0, 1)
        j = j.reshape(-1, free[k].numel())
        part = (j @ j.T).double()
        kern = part if kern is None else kern + part
    return kern  # type: ignore[return-value]


def tangent_kernel_loop(model: nn.Module, inputs: torch.Tensor, params: Sequence[str] | str = ("W_hh",),
                        steps: Sequence[int] | None = None) -> torch.Tensor:
    """Slow reference: one ``torch.autograd.grad`` per output ``y[b, t, k]``, rows stacked, ``J J^T``.

    The straightforward implementation (as in the paper's code, without its repeated
    concatenation); used to check :func:`tangent_kernel` and as the benchmark baseline.
    """
    _check_inputs(inputs, sequence=isinstance(model, RateRNN))
    names = _param_names(model, params)
    named = dict(model.named_parameters())
    ps = [named[k] for k in names]
    y = model(inputs)
    y = y[0] if isinstance(y, tuple) else y
    rows = []
    index: list[tuple[int, ...]]
    if y.ndim == 3:
        st = _steps(steps, y.shape[1])
        index = [(b, t, k) for t in st for b in range(y.shape[0]) for k in range(y.shape[2])]
    else:
        index = [(b, k) for b in range(y.shape[0]) for k in range(y.shape[1])]
    for idx in index:
        grads = torch.autograd.grad(y[idx], ps, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(grads, ps)]))
    j = torch.stack(rows).double()
    return j @ j.T


# --- the report --------------------------------------------------------------------------------
def _param_values(model: nn.Module, names: list[str]) -> list[torch.Tensor]:
    if isinstance(model, RateRNN):
        eff = model.weights()
        return [(eff["W_hh"] if k == "hh.raw" else eff.get(k, dict(model.named_parameters())[k])).detach()
                for k in names]
    named = dict(model.named_parameters())
    return [named[k].detach() for k in names]


@torch.no_grad()
def _hidden(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x, return_hidden=True)
    return out[1]


def laziness(model_0: nn.Module, model_t: nn.Module, inputs: torch.Tensor, params: Sequence[str] | str = ("W_hh",),
             n_kernel_trials: int = 32, kernel_steps: Sequence[int] | None = None,
             decision_steps: Sequence[int] = (-1,), method: str = "auto") -> Laziness:
    """The four measures between an initial and a trained :class:`RateRNN`.

    Args:
        inputs: evaluation trials ``(B, T, n_in)`` (the paper: 320 trials, drawn once).
        params: parameters of the weight change and the kernel (default W_hh, as in the paper;
            for W_hh the change is of the effective weight).
        n_kernel_trials: the kernel uses the first this-many trials (default 32, as in the paper).
        kernel_steps: time steps whose outputs enter the kernel (default all; sMNIST: ``(-1,)``).
        decision_steps: the decision period; representation alignment uses its last step,
            sign similarity all of it.
    """
    _check_inputs(inputs)
    if not isinstance(n_kernel_trials, int) or not 1 <= n_kernel_trials:
        raise ValidationError(f"n_kernel_trials must be a positive integer, got {n_kernel_trials!r}")
    names0, names_t = _param_names(model_0, params), _param_names(model_t, params)
    if names0 != names_t:
        raise ValidationError(f"the two models have different parameters: {names0} vs {names_t}")
    v0, vt = _param_values(model_0, names0), _param_values(model_t, names_t)
    for a, c, k in zip(v0, vt, names0):
        if a.shape != c.shape:
            raise ValidationError(f"parameter {k} has shape {tuple(a.shape)} at init but {tuple(c.shape)} after training")
    dw = math.sqrt(sum(float(((c.double() - a.double()) ** 2).sum()) for a, c in zip(v0, vt)))
    h0, ht = _hidden(model_0, inputs), _hidden(model_t, inputs)
    dec = _steps(decision_steps, inputs.shape[1])
    ra = representation_alignment(h0[:, dec[-1]], ht[:, dec[-1]])
    ss = sign_similarity(h0[:, dec], ht[:, dec])
    xk = inputs[:n_kernel_trials]
    k0 = tangent_kernel(model_0, xk, params, kernel_steps, method)
    kt = tangent_kernel(model_t, xk, params, kernel_steps, method)
    return Laziness(dw, ra, alignment(k0, kt), ss)
