"""Connectivity constraints kept during training: a fixed mask and Dale's law.

:class:`ConstrainedWeight` holds one trainable tensor and returns the effective weight

    W = mask * (sign * relu(raw))   for columns (presynaptic neurons) with a sign (+1 / -1)
    W = mask * raw                  for columns without one (sign 0)

so a masked-out synapse stays exactly zero and an excitatory (inhibitory) neuron's
outgoing weights stay >= 0 (<= 0) whatever the optimiser does: a weight driven through
zero is clipped there (it may grow back only through the gradient of ``relu``, i.e. not
at all, so the synapse is pruned; pass ``magnitude="abs"`` to let it reflect instead).

Weights follow the PyTorch convention ``W[post, pre]`` (``y = W x``); the sign is per
column. Any model can use the layer: call it to get the weight, e.g. ``x @ layer().T``.

Example:
    >>> import torch
    >>> w = torch.tensor([[0.5, -0.25], [0.3, -0.5]])
    >>> layer = ConstrainedWeight(w, mask=torch.tensor([[1., 1.], [0., 1.]]), sign=torch.tensor([1, -1]))
    >>> layer().tolist()    # the mask zeroes W[1, 0]; column 1 (inhibitory) stays <= 0 in training
    [[0.5, -0.25], [0.0, -0.5]]
"""

from __future__ import annotations

import torch
from torch import nn

from neurocircuits.errors import UnknownNameError, ValidationError, check_finite

MAGNITUDES = ("relu", "abs")


class ConstrainedWeight(nn.Module):
    """A weight matrix with a fixed connectivity mask and/or fixed per-column signs (Dale).

    Args:
        weight: the initial effective weight ``(out, in)``. Entries outside ``mask`` are
            dropped; entries whose sign disagrees with their column's sign start at 0.
        mask: ``(out, in)`` 0/1 tensor of allowed synapses, or ``None`` (all allowed).
        sign: ``(in,)`` tensor of +1 / -1 / 0 per presynaptic neuron (0: sign free), or
            ``None`` (no Dale constraint).
        magnitude: ``"relu"`` (clip at zero) or ``"abs"`` (reflect at zero) for signed columns.
    """

    mask: torch.Tensor
    sign: torch.Tensor

    def __init__(self, weight: torch.Tensor, mask: torch.Tensor | None = None, sign: torch.Tensor | None = None,
                 magnitude: str = "relu") -> None:
        super().__init__()
        weight = torch.as_tensor(weight)
        if weight.ndim != 2:
            raise ValidationError(f"weight must be a matrix (out, in), got shape {tuple(weight.shape)}")
        check_finite("weight", weight)
        if magnitude not in MAGNITUDES:
            raise UnknownNameError("magnitude", magnitude, MAGNITUDES)
        self.magnitude = magnitude
        out_f, in_f = weight.shape
        m = torch.ones_like(weight) if mask is None else torch.as_tensor(mask, dtype=weight.dtype)
        if m.shape != weight.shape:
            raise ValidationError(f"mask has shape {tuple(m.shape)}, weight has {tuple(weight.shape)}")
        if not bool(((m == 0) | (m == 1)).all()):
            raise ValidationError("mask must hold only 0 and 1")
        s = torch.zeros(in_f, dtype=weight.dtype) if sign is None else torch.as_tensor(sign, dtype=weight.dtype)
        if s.shape != (in_f,):
            raise ValidationError(f"sign must have one entry per presynaptic neuron ({in_f}), got shape {tuple(s.shape)}")
        if not bool(torch.isin(s, torch.tensor([-1.0, 0.0, 1.0], dtype=s.dtype)).all()):
            raise ValidationError("sign entries must be -1, 0 or +1")
        self.register_buffer("mask", m)
        self.register_buffer("sign", s)
        signed = (s != 0).expand_as(weight)
        raw = torch.where(signed, (weight * s).clamp_min(0.0), weight) * m
        self.raw = nn.Parameter(raw.clone())

    @property
    def shape(self) -> torch.Size:
        return self.raw.shape

    def forward(self) -> torch.Tensor:
        mag = torch.relu(self.raw) if self.magnitude == "relu" else self.raw.abs()
        signed = self.sign != 0
        return torch.where(signed, self.sign * mag, self.raw) * self.mask

    def extra_repr(self) -> str:
        n_signed = int((self.sign != 0).sum())
        return (f"shape={tuple(self.raw.shape)}, density={float(self.mask.mean()):.3f}, "
                f"signed columns={n_signed}, magnitude={self.magnitude}")
