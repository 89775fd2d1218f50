"""A rate RNN whose recurrent weights can come from any :class:`~neurocircuits.circuit.Circuit`.

    h_t = phi((1 - alpha) h_{t-1} + alpha (W_in x_t + W_hh h_{t-1} + b_hh)),   h_{-1} = 0
    y_t = W_out h_t + b_out

Inputs are batch-first ``(B, T, n_in)``; outputs ``(B, T, n_out)``. With ``alpha = 1``
(dt = tau) this is the discrete ReLU RNN of Liu et al. (ICLR 2024). W_in, W_hh and W_out
start from PyTorch's ``nn.Linear`` default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)); biases
(off by default) start at zero.

:func:`rate_rnn_forward` is the same dynamics as a pure function of a weight dictionary;
every weight may carry leading "model" dimensions, so M networks of one size run as one
batched matmul (:class:`StackedRateRNN`, used to train ranks x seeds together).

Example:
    >>> import torch
    >>> net = RateRNN(3, 50, 3, seed=0)
    >>> y, h = net(torch.zeros(4, 8, 3), return_hidden=True)
    >>> tuple(y.shape), tuple(h.shape)
    ((4, 8, 3), (4, 8, 50))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.models.constraints import ConstrainedWeight

if TYPE_CHECKING:
    from neurocircuits.circuit.core import Circuit

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "softplus": nn.functional.softplus,
               "linear": lambda u: u}
CONSTRAINTS = (None, "mask", "dale", "mask+dale")


def _activation(name: str):
    if name not in ACTIVATIONS:
        raise UnknownNameError("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]


def rate_rnn_forward(weights: Mapping[str, torch.Tensor], x: torch.Tensor, alpha: float = 1.0,
                     activation: str = "relu", eps: torch.Tensor | None = None,
                     h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the rate RNN; returns ``(y, h)`` of shapes ``(..., B, T, n_out)``, ``(..., B, T, N)``.

    Args:
        weights: ``W_in (..., N, n_in)``, ``W_hh (..., N, N)``, ``W_out (..., n_out, N)`` and
            optional ``b_hh (..., N)``, ``b_out (..., n_out)``; leading dims are model dims.
        x: ``(B, T, n_in)`` (shared by all models) or ``(..., B, T, n_in)``.
        eps: optional ``(..., B, T, N)`` perturbation added inside the ``alpha`` bracket
            (zero in use; its gradient is the backpropagated error of each step, which the
            tangent-kernel measure needs).
        h0: optional initial state ``(..., B, N)``; default zeros.
    """
    phi = _activation(activation)
    w_in, w_hh, w_out = weights["W_in"], weights["W_hh"], weights["W_out"]
    b_hh, b_out = weights.get("b_hh"), weights.get("b_out")
    drive = torch.matmul(x, w_in.mT.unsqueeze(-3))  # (..., B, T, N)
    if b_hh is not None:
        drive = drive + b_hh.unsqueeze(-2).unsqueeze(-2)
    if eps is not None:
        drive = drive + eps
    t_steps = x.shape[-2]
    h = torch.zeros(drive.shape[:-2] + drive.shape[-1:], dtype=drive.dtype, device=drive.device) if h0 is None else h0
    w_hh_t = w_hh.mT
    fused = (torch.baddbmm if h.ndim == 3 and w_hh.ndim == 3 and drive.ndim == 4 else
             torch.addmm if h.ndim == 2 and w_hh.ndim == 2 and drive.ndim == 3 else None)
    hs = []
    for t in range(t_steps):
        pre = fused(drive[..., t, :], h, w_hh_t) if fused is not None else drive[..., t, :] + torch.matmul(h, w_hh_t)
        h = phi(pre) if alpha == 1.0 else phi((1.0 - alpha) * h + alpha * pre)
        hs.append(h)
    hidden = torch.stack(hs, dim=-2)
    y = torch.matmul(hidden, w_out.mT.unsqueeze(-3))
    if b_out is not None:
        y = y + b_out.unsqueeze(-2).unsqueeze(-2)
    return y, hidden


def _check_input(x: torch.Tensor, n_in: int) -> None:
    if x.ndim != 3 or x.shape[-1] != n_in:
        raise ValidationError(f"inputs must have shape (batch, time, n_in={n_in}), got {tuple(x.shape)}")


def _linear_default(out_f: int, in_f: int, generator: torch.Generator | None) -> torch.Tensor:
    bound = 1.0 / math.sqrt(in_f)
    return (torch.rand(out_f, in_f, generator=generator) * 2 - 1) * bound


class RateRNN(nn.Module):
    """Rate RNN ``h_t = phi((1-alpha) h + alpha (W_in x_t + W_hh h + b))``, ``y_t = W_out h_t``.

    Args:
        n_in, n_hidden, n_out: sizes.
        alpha: dt / tau in (0, 1].
        activation: ``"relu"``, ``"tanh"``, ``"softplus"`` or ``"linear"``.
        bias: add the biases ``b_hh`` and ``b_out``.
        mask, sign: optional constraints on W_hh kept during training (see
            :class:`~neurocircuits.models.constraints.ConstrainedWeight`); default none, as in the
            paper, where circuit structure shapes the initialisation only.
        seed: seed of the default initialisation (no global RNG is touched).

    The recurrent weight is ``model.W_hh`` (a parameter) when unconstrained, and
    ``model.hh()`` (a :class:`ConstrainedWeight`) otherwise; :meth:`weights` returns the
    effective tensors in both cases.
    """

    def __init__(self, n_in: int, n_hidden: int, n_out: int, alpha: float = 1.0, activation: str = "relu",
                 bias: bool = False, *, mask: torch.Tensor | None = None, sign: torch.Tensor | None = None,
                 seed: int = 0) -> None:
        super().__init__()
        for name, v in (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out)):
            if not isinstance(v, int) or v < 1:
                raise ValidationError(f"{name} must be a positive integer, got {v!r}")
        if not 0 < alpha <= 1:
            raise ValidationError(f"alpha must be in (0, 1], got {alpha}")
        _activation(activation)
        self.n_in, self.n_hidden, self.n_out = n_in, n_hidden, n_out
        self.alpha, self.activation = float(alpha), activation
        g = torch.Generator().manual_seed(int(seed))
        self.W_in = nn.Parameter(_linear_default(n_hidden, n_in, g))
        w_hh = _linear_default(n_hidden, n_hidden, g)
        self.W_out = nn.Parameter(_linear_default(n_out, n_hidden, g))
        self.constrained = mask is not None or sign is not None
        if self.constrained:
            self.hh = ConstrainedWeight(w_hh, mask=mask, sign=sign)
        else:
            self.W_hh = nn.Parameter(w_hh)
        self.b_hh = nn.Parameter(torch.zeros(n_hidden)) if bias else None
        self.b_out = nn.Parameter(torch.zeros(n_out)) if bias else None

    # --- weights -----------------------------------------------------------------------
    def recurrent_weight(self) -> torch.Tensor:
        """The effective W_hh ``(N, N)``, indexed ``[post, pre]``."""
        return self.hh() if self.constrained else self.W_hh

    def weights(self) -> dict[str, torch.Tensor]:
        """Effective weights as the dictionary :func:`rate_rnn_forward` takes."""
        w = {"W_in": self.W_in, "W_hh": self.recurrent_weight(), "W_out": self.W_out}
        if self.b_hh is not None:
            w["b_hh"], w["b_out"] = self.b_hh, self.b_out  # type: ignore[assignment]
        return w

    @torch.no_grad()
    def set_recurrent_weight(self, w: torch.Tensor) -> "RateRNN":
        """Copy ``w`` (``[post, pre]``) into W_hh (through the constraints, if any). Returns self."""
        w = torch.as_tensor(w, dtype=self.W_in.dtype)
        if w.shape != (self.n_hidden, self.n_hidden):
            raise ValidationError(f"W_hh must be ({self.n_hidden}, {self.n_hidden}), got {tuple(w.shape)}")
        if self.constrained:
            self.hh = ConstrainedWeight(w, mask=self.hh.mask, sign=self.hh.sign, magnitude=self.hh.magnitude)
        else:
            self.W_hh.copy_(w)
        return self

    # --- dynamics ------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, return_hidden: bool = False):
        """Outputs ``(B, T, n_out)`` (and hidden states ``(B, T, N)`` if ``return_hidden``)."""
        _check_input(x, self.n_in)
        y, h = rate_rnn_forward(self.weights(), x, self.alpha, self.activation)
        return (y, h) if return_hidden else y

    # --- construction from circuits ------------------------------------------------------------
    @classmethod
    def from_circuit(cls, circuit: "Circuit", n_in: int, n_out: int, *, kind: str | None = None,
                     gain: float | None = 1.25, spectral_radius: float | None = None,
                     constrain: str | None = None, alpha: float = 1.0, activation: str = "relu",
                     bias: bool = False, seed: int = 0) -> "RateRNN":
        """A RateRNN whose hidden units are the circuit's neurons and whose W_hh is its matrix.

        ``W_hh = c * A.T`` with ``A[pre, post]`` the signed matrix of ``kind`` synapses
        (``None``: chemical + electrical), scaled by :func:`neurocircuits.init.circuit_weight`
        to a Frobenius norm of ``gain * sqrt(N)`` (that of a Gaussian N(0, gain^2/N)
        draw) or, if given, to ``spectral_radius``. ``constrain``: ``"mask"`` keeps absent
        synapses at zero, ``"dale"`` keeps each neuron's outgoing sign (from
        ``circuit.sign``; unsigned neurons stay free), ``"mask+dale"`` both.

        Example:
            >>> from neurocircuits.circuit import random_dale
            >>> c = random_dale(100, p=0.2, seed=0)
            >>> net = RateRNN.from_circuit(c, 3, 3, constrain="mask+dale")
            >>> bool((net.recurrent_weight()[:, :80] >= 0).all()), bool((net.recurrent_weight()[:, 80:] <= 0).all())
            (True, True)
        """
        from neurocircuits.init.rank import circuit_weight

        if constrain not in CONSTRAINTS:
            raise UnknownNameError("constraint", constrain, [str(c) for c in CONSTRAINTS])
        w = circuit_weight(circuit, kind=kind, gain=gain, spectral_radius=spectral_radius)
        n = w.shape[0]
        mask = sign = None
        if constrain in ("mask", "mask+dale"):
            mask = (w != 0).to(torch.float32)
        if constrain in ("dale", "mask+dale"):
            sign = torch.tensor(circuit.sign.astype("float32"))
            if not bool((sign != 0).any()):
                raise ValidationError("constrain='dale' needs neuron signs; this circuit has none (all 0)")
        net = cls(n_in, n, n_out, alpha, activation, bias, mask=mask, sign=sign, seed=seed)
        return net.set_recurrent_weight(w)


class StackedRateRNN(nn.Module):
    """M unconstrained :class:`RateRNN` of one shape as stacked parameters ``(M, ...)``.

    The forward pass is one batched matmul per step; the loss of model m depends only on
    slice m, so any element-wise optimiser (SGD with momentum, Adam) applied to the sum
    of the M losses trains the M networks exactly as M separate runs would.

    Example:
        >>> import torch
        >>> nets = [RateRNN(3, 20, 3, seed=s) for s in range(4)]
        >>> stack = StackedRateRNN.from_models(nets)
        >>> x = torch.randn(5, 8, 3)
        >>> bool(torch.allclose(stack(x)[2], nets[2](x), atol=1e-6))
        True
    """

    W_in: torch.Tensor
    W_hh: torch.Tensor
    W_out: torch.Tensor

    def __init__(self, weights: Mapping[str, torch.Tensor], alpha: float = 1.0, activation: str = "relu") -> None:
        super().__init__()
        _activation(activation)
        self.alpha, self.activation = float(alpha), activation
        self.names = [k for k in ("W_in", "W_hh", "W_out", "b_hh", "b_out") if k in weights]
        for k in self.names:
            setattr(self, k, nn.Parameter(weights[k].detach().clone()))
        self.n_models = int(self.W_hh.shape[0])

    @classmethod
    def from_models(cls, models: Sequence[RateRNN]) -> "StackedRateRNN":
        if not models:
            raise ValidationError("need at least one model to stack")
        first = models[0]
        for m in models:
            if m.constrained:
                raise ValidationError("constrained RateRNNs cannot be stacked; train them one by one")
            if (m.n_in, m.n_hidden, m.n_out, m.alpha, m.activation, m.b_hh is None) != (
                    first.n_in, first.n_hidden, first.n_out, first.alpha, first.activation, first.b_hh is None):
                raise ValidationError("all stacked models must have the same sizes, alpha, activation and bias")
        ws = [m.weights() for m in models]
        return cls({k: torch.stack([w[k].detach() for w in ws]) for k in ws[0]}, first.alpha, first.activation)

    def weights(self) -> dict[str, torch.Tensor]:
        return {k: getattr(self, k) for k in self.names}

    def forward(self, x: torch.Tensor, return_hidden: bool = False):
        """``(M, B, T, n_out)`` outputs for inputs ``(B, T, n_in)`` or ``(M, B, T, n_in)``."""
        y, h = rate_rnn_forward(self.weights(), x, self.alpha, self.activation)
        return (y, h) if return_hidden else y

    @torch.no_grad()
    def model(self, i: int) -> RateRNN:
        """A standalone copy of model ``i``."""
        if not 0 <= i < self.n_models:
            raise ValidationError(f"model index must be in 0..{self.n_models - 1}, got {i}")
        n_out, n = self.W_out.shape[1:]
        net = RateRNN(int(self.W_in.shape[2]), int(n), int(n_out), self.alpha, self.activation,
                      bias="b_hh" in self.names)
        for k in self.names:
            getattr(net, k).copy_(getattr(self, k)[i])
        return net
