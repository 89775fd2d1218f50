"""Joint training of a window model on forecasting and behaviour decoding.

Models of :mod:`neurocircuits.models.sequence` and :mod:`neurocircuits.models.graph` map
windows (B, W, N) to ``(next_frame (B, N), behaviour (B, 3))``, where ``behaviour`` holds
two label logits and a velocity. :func:`fit_multitask` trains such a model with the one
training loop (:func:`neurocircuits.train.fit`) on the sum of three losses:

- next-frame MSE;
- class-weighted cross-entropy of the label at the window's last frame (weights from
  :func:`class_weights`; windows with label -1 are ignored);
- velocity MSE (windows with NaN velocity are ignored);

with the summed validation loss after every epoch. With ``TrainConfig.patience`` set,
the weights of the best validation epoch are restored at the end; setting ``patience``
to the epoch budget trains every run for the full budget and still keeps its best
validation epoch (see :func:`best_epoch`).

Example:
    >>> import numpy as np
    >>> from types import SimpleNamespace as W
    >>> from neurocircuits.models.sequence import GRUNet
    >>> from neurocircuits.train import TrainConfig, seeded
    >>> rng = np.random.default_rng(0)
    >>> def windows(n):
    ...     x = rng.normal(size=(n, 4, 3)).astype(np.float32)
    ...     return W(x=x, y=x[:, -1:], labels=rng.integers(0, 2, n), velocity=rng.normal(size=n).astype(np.float32))
    >>> with seeded(0):
    ...     net = GRUNet(3, hidden=8)
    >>> hist = fit_multitask(net, windows(64), windows(32), TrainConfig(epochs=3, batch_size=16, patience=3), seed=0)
    >>> len(hist), 1 <= best_epoch(hist) <= 3
    (3, True)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neurocircuits.base.seed import seeded
from neurocircuits.errors import ValidationError
from neurocircuits.train.loop import EpochRecord, TrainConfig, fit


class WindowSet(Protocol):
    """Inputs ``x`` (n, W, N), targets ``y`` (n, H, N), ``labels`` (n,) and ``velocity`` (n,)."""

    x: np.ndarray
    y: np.ndarray
    labels: np.ndarray
    velocity: np.ndarray


def window_tensors(w: WindowSet) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (n, W, N) and packed targets ``[next frame (N), label, velocity]`` (n, N + 2).

    Example:
        >>> from types import SimpleNamespace as W
        >>> x, y = window_tensors(W(x=np.zeros((2, 3, 4), np.float32), y=np.ones((2, 1, 4), np.float32),
        ...                         labels=np.array([0, 1]), velocity=np.array([0.5, -0.5])))
        >>> tuple(x.shape), y[1].tolist()
        ((2, 3, 4), [1.0, 1.0, 1.0, 1.0, 1.0, -0.5])
    """
    x = torch.from_numpy(np.ascontiguousarray(w.x, dtype=np.float32))
    y = torch.cat([torch.from_numpy(np.ascontiguousarray(np.asarray(w.y)[:, 0], dtype=np.float32)),
                   torch.from_numpy(np.asarray(w.labels)[:, None].astype(np.float32)),
                   torch.from_numpy(np.asarray(w.velocity)[:, None].astype(np.float32))], dim=1)
    return x, y


def class_weights(labels: np.ndarray, n_classes: int = 2) -> torch.Tensor:
    """Balanced class weights ``n / (n_classes * count_c)`` over the labelled windows (label >= 0).

    Example:
        >>> [round(w, 4) for w in class_weights(np.array([0, 0, 0, 1])).tolist()]
        [0.6667, 2.0]
    """
    lab = np.asarray(labels)
    counts = np.bincount(lab[lab >= 0], minlength=n_classes).astype(np.float64)
    return torch.tensor(counts.sum() / (n_classes * np.maximum(counts, 1)), dtype=torch.float32)


def multitask_loss(class_weight: torch.Tensor) -> Callable[[tuple[torch.Tensor, torch.Tensor], torch.Tensor],
                                                           torch.Tensor]:
    """``loss((next_frame, behaviour), packed_target)``: next-frame MSE + weighted CE + velocity MSE."""
    def loss(out: tuple[torch.Tensor, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        nxt, beh = out
        n = nxt.shape[1]
        lab, vel = target[:, n], target[:, n + 1]
        total = F.mse_loss(nxt, target[:, :n])
        has_lab = lab >= 0
        if bool(has_lab.all()):
            total = total + F.cross_entropy(beh[:, :2], lab.long(), weight=class_weight.to(beh.device))
        elif bool(has_lab.any()):
            total = total + F.cross_entropy(beh[has_lab, :2], lab[has_lab].long(), weight=class_weight.to(beh.device))
        has_vel = torch.isfinite(vel)
        if bool(has_vel.all()):
            total = total + F.mse_loss(beh[:, 2], vel)
        elif bool(has_vel.any()):
            total = total + F.mse_loss(beh[has_vel, 2], vel[has_vel])
        return total
    return loss


def fit_multitask(model: nn.Module, train: WindowSet, val: WindowSet, cfg: TrainConfig, *, seed: int = 0,
                  checkpoint: str | Path | None = None, device: torch.device | str = "cpu",
                  val_batch: int = 128) -> list[EpochRecord]:
    """Train ``model`` on the multitask loss; validation loss after every epoch (see the module docstring).

    Dropout and other global-RNG draws happen inside ``seeded(seed)``, so a run is
    reproducible from its seed; ``checkpoint`` resumes an interrupted run.
    """
    if len(train.x) == 0 or len(val.x) == 0:
        raise ValidationError("fit_multitask needs non-empty training and validation windows")
    dev = torch.device(device)
    x, y = window_tensors(train)
    xv, yv = (t.to(dev) for t in window_tensors(val))
    loss_fn = multitask_loss(class_weights(train.labels))

    def val_fn(m: nn.Module) -> dict[str, float]:
        losses = [float(loss_fn(m(xv[i:i + val_batch]), yv[i:i + val_batch])) * xv[i:i + val_batch].shape[0]
                  for i in range(0, xv.shape[0], val_batch)]
        return {"loss": sum(losses) / xv.shape[0]}

    with seeded(seed):
        return fit(model, (x, y), loss_fn, cfg, seed=seed, val_fn=val_fn, checkpoint=checkpoint, device=dev)


def best_epoch(history: list[EpochRecord]) -> int:
    """The epoch (1-based) with the lowest validation loss, the one early stopping restores.

    Example:
        >>> best_epoch([EpochRecord(1, 1.0, 0.1, 1, {"loss": 0.5}), EpochRecord(2, 0.9, 0.1, 2, {"loss": 0.7})])
        1
    """
    vals: list[tuple[float, int]] = [(float(h.val["loss"]), h.epoch) for h in history if "loss" in h.val]
    if not vals:
        raise ValidationError("no validation loss recorded in this history")
    return min(vals)[1]

