"""Rank-controlled, task-aligned and circuit-derived initialisations of a weight matrix.

- :func:`low_rank_`: the truncated-SVD family of Liu et al. (ICLR 2024). Draw
  ``W0 = gain * Z / sqrt(fan_in)``, keep its top ``rank`` singular triplets, rescale to
  ``||W0||_F``. The same generator seed gives the same ``W0`` for every rank, so a rank
  sweep with one seed shares its base draw (as in the paper's code).
- :func:`aligned_low_rank_`: a rank-k matrix whose row space is spanned by given
  ``directions`` (e.g. the teacher vector, or an input direction of the task), with the
  Frobenius norm of the same Gaussian draw: the "aligned" exception.
- :func:`circuit_weight` / :func:`circuit_init_`: a circuit's signed matrix as ``W[post, pre]``,
  scaled to the Frobenius norm of a Gaussian ``N(0, gain^2 / N)`` draw or to a spectral radius.
- :func:`scale_to_`: rescale any square weight to a Frobenius norm or spectral radius.

Example:
    >>> import torch
    >>> w = torch.empty(300, 300)
    >>> s = low_rank_(w, 30, gain=1.25, generator=torch.Generator().manual_seed(0))
    >>> int(torch.linalg.matrix_rank(w)), s.shape[0]
    (30, 30)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import torch

from neurocircuits.errors import ValidationError, check_finite

if TYPE_CHECKING:
    from neurocircuits.circuit.core import Circuit


def _check_weight(weight: torch.Tensor, name: str = "weight") -> None:
    if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
        raise ValidationError(f"{name} must be a 2-D tensor (out, in), got "
                              f"{tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__}")


def _check_rank(rank: int, weight: torch.Tensor) -> None:
    full = min(weight.shape)
    if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= full:
        raise ValidationError(f"rank must be an integer in 1..{full} (the smaller side of a "
                              f"{tuple(weight.shape)} weight), got {rank!r}")


def gaussian_draw(shape: tuple[int, int], gain: float = 1.25, generator: torch.Generator | None = None,
                  dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``gain * Z / sqrt(fan_in)`` with ``Z_ij ~ N(0, 1)``, shape ``(out, in)``."""
    if not gain > 0:
        raise ValidationError(f"gain must be > 0, got {gain}")
    return torch.randn(shape, generator=generator, dtype=dtype) * (gain / math.sqrt(shape[1]))


@torch.no_grad()
def low_rank_(weight: torch.Tensor, rank: int, gain: float = 1.25, generator: torch.Generator | None = None,
              base: torch.Tensor | None = None) -> torch.Tensor:
    """Fill ``weight`` with the rank-``rank`` truncated SVD of a Gaussian draw; return its singular values.

    Args:
        weight: ``(out, in)`` tensor, overwritten in place.
        rank: number of singular triplets kept, ``1 <= rank <= min(out, in)``.
        gain: the draw is ``gain * Z / sqrt(in)`` (1.25 in the paper's code).
        generator: the draw's random stream (the same seed gives the same base for every rank).
        base: use this ``(out, in)`` matrix instead of a fresh draw.

    Returns:
        The ``rank`` non-zero singular values of the result (descending), after the
        rescaling that makes ``||weight||_F == ||W0||_F``.
    """
    _check_weight(weight)
    _check_rank(rank, weight)
    w0 = gaussian_draw(cast("tuple[int, int]", tuple(weight.shape)), gain, generator) if base is None else torch.as_tensor(base, dtype=torch.float64)
    if w0.shape != weight.shape:
        raise ValidationError(f"base has shape {tuple(w0.shape)}, weight has {tuple(weight.shape)}")
    check_finite("base", w0)
    u, s, vh = torch.linalg.svd(w0, full_matrices=False)
    s_r = s[:rank] * (torch.linalg.norm(s) / torch.linalg.norm(s[:rank]))
    weight.copy_((u[:, :rank] * s_r) @ vh[:rank])
    return s_r.to(weight.dtype)


def _orthonormal_rows(directions: torch.Tensor, what: str) -> torch.Tensor:
    d = torch.as_tensor(directions, dtype=torch.float64)
    if d.ndim == 1:
        d = d[None]
    if d.ndim != 2:
        raise ValidationError(f"{what} must be a vector or a (k, dim) matrix, got shape {tuple(d.shape)}")
    check_finite(what, d)
    q, r = torch.linalg.qr(d.T)
    keep = r.diagonal().abs() > 1e-10 * max(float(r.diagonal().abs().max()), 1e-300)
    if not bool(keep.any()):
        raise ValidationError(f"{what} are all zero")
    if not bool(keep.all()):
        raise ValidationError(f"{what} must be linearly independent ({int(keep.sum())} of {d.shape[0]} are)")
    sign = torch.where(r.diagonal() < 0, -1.0, 1.0).to(q.dtype)   # row i keeps the sign of direction i
    return (q * sign).T  # (k, dim), orthonormal rows spanning the directions (Gram-Schmidt order)


@torch.no_grad()
def aligned_low_rank_(weight: torch.Tensor, directions: torch.Tensor, left: torch.Tensor | None = None,
                      gain: float = 1.25, norm: float | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``weight`` with a rank-k matrix aligned with ``directions``; return its singular values.

    ``weight = c * U V^T`` where the rows of ``V^T`` are an orthonormal basis of the k
    ``directions`` (``(k, in)`` or a vector), the columns of ``U`` an orthonormal basis of
    ``left`` (``(k, out)``; default: random, from ``generator``), each with the sign of the
    direction it comes from (Gram-Schmidt order), all singular values are
    equal, and ``c`` sets ``||weight||_F`` to ``norm`` (default: the Frobenius norm of the
    Gaussian draw of :func:`low_rank_` with the same ``gain`` and ``generator``, so an aligned
    and a random rank-k init of one seed have the same norm).

    For a square recurrent matrix, ``left = directions`` gives ``c * V V^T``: self-excitation
    along the task's directions (e.g. the evidence input direction of a decision task).

    Example:
        >>> import torch
        >>> w = torch.empty(4, 3)
        >>> s = aligned_low_rank_(w, torch.tensor([1.0, 0.0, 0.0]), norm=2.0)
        >>> round(float(torch.linalg.norm(w)), 6), bool((w[:, 1:] == 0).all())
        (2.0, True)
    """
    _check_weight(weight)
    v = _orthonormal_rows(directions, "directions")
    k = v.shape[0]
    if v.shape[1] != weight.shape[1]:
        raise ValidationError(f"directions have dimension {v.shape[1]}, weight has {weight.shape[1]} inputs")
    _check_rank(k, weight)
    if norm is None:
        norm = float(torch.linalg.norm(gaussian_draw(cast("tuple[int, int]", tuple(weight.shape)), gain, generator)))
    if not norm > 0:
        raise ValidationError(f"norm must be > 0, got {norm}")
    if left is None:
        left = torch.randn(k, weight.shape[0], generator=generator, dtype=torch.float64)
    u = _orthonormal_rows(left, "left")
    if u.shape != (k, weight.shape[0]):
        raise ValidationError(f"left must have shape ({k}, {weight.shape[0]}), got {tuple(u.shape)}")
    s = torch.full((k,), norm / math.sqrt(k), dtype=torch.float64)
    weight.copy_((u.T * s) @ v)
    return s.to(weight.dtype)


def _spectral_radius(w: torch.Tensor) -> float:
    return float(torch.linalg.eigvals(w.to(torch.float64)).abs().max()) if w.numel() else 0.0


@torch.no_grad()
def scale_to_(weight: torch.Tensor, *, gain: float | None = None, spectral_radius: float | None = None) -> float:
    """Rescale a square ``weight`` in place; return the factor applied.

    Exactly one of ``gain`` (target ``||W||_F = gain * sqrt(N)``, the norm a Gaussian
    ``N(0, gain^2 / N)`` matrix has in expectation) and ``spectral_radius`` (target
    ``max |eig(W)|``) must be given.
    """
    _check_weight(weight)
    if weight.shape[0] != weight.shape[1]:
        raise ValidationError(f"scale_to_ needs a square matrix, got {tuple(weight.shape)}")
    if (gain is None) == (spectral_radius is None):
        raise ValidationError("give exactly one of gain= and spectral_radius=")
    target = gain if gain is not None else spectral_radius
    assert target is not None  # exactly one of the two was given (checked above)
    if not target > 0:
        raise ValidationError(f"the target gain / spectral radius must be > 0, got {target}")
    current = (float(torch.linalg.norm(weight.to(torch.float64))) / math.sqrt(weight.shape[0]) if gain is not None
               else _spectral_radius(weight))
    if current == 0:
        raise ValidationError("cannot rescale a matrix whose norm / spectral radius is 0")
    factor = target / current
    weight.mul_(factor)
    return factor


def circuit_weight(circuit: "Circuit", *, kind: str | None = None, signed: bool = True, gain: float | None = 1.25,
                   spectral_radius: float | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The circuit's matrix as a recurrent weight ``W[post, pre] = A[pre, post]``, rescaled.

    ``spectral_radius`` (if given) wins over ``gain``; with both ``None`` the raw synapse
    counts are returned. ``kind``: ``"chemical"``, ``"electrical"`` or ``None`` (their sum).

    Example:
        >>> from neurocircuits.circuit import random_dale
        >>> w = circuit_weight(random_dale(200, seed=0), gain=1.25)
        >>> round(float(torch.linalg.norm(w)) / 200 ** 0.5, 4)
        1.25
    """
    w = circuit.to_dense(kind=kind, signed=signed, dtype=torch.float64).T.contiguous()  # type: ignore[arg-type]
    if w.shape[0] == 0 or not bool((w != 0).any()):
        raise ValidationError("the circuit has no synapses of the requested kind")
    if spectral_radius is not None:
        scale_to_(w, spectral_radius=spectral_radius)
    elif gain is not None:
        scale_to_(w, gain=gain)
    return w.to(dtype)


@torch.no_grad()
def circuit_init_(weight: torch.Tensor, circuit: "Circuit", *, kind: str | None = None, gain: float | None = 1.25,
                  spectral_radius: float | None = None) -> torch.Tensor:
    """Copy :func:`circuit_weight` into a square ``weight`` of the circuit's size; return ``weight``."""
    _check_weight(weight)
    if weight.shape != (circuit.n_neurons, circuit.n_neurons):
        raise ValidationError(f"weight is {tuple(weight.shape)} but the circuit has {circuit.n_neurons} neurons")
    weight.copy_(circuit_weight(circuit, kind=kind, gain=gain, spectral_radius=spectral_radius, dtype=weight.dtype))
    return weight
