"""Training M networks at once as one stacked model, with per-model losses and resume.

:func:`fit` trains one model over epochs of a data set and stops on a non-finite loss.
Training ranks x seeds of a rate RNN together needs three things it does not do:
per-model losses (the stacked loss is their sum), a run measured in optimiser steps over
an endless stream of freshly generated trials (batch ``i`` is a pure function of the step,
so a resumed run sees the same trials), and tolerance of one model diverging (its loss
is recorded as NaN; the other models' slices are unaffected). The optimiser is
:func:`make_optimizer`'s, applied to the stacked parameters: SGD (with momentum) and Adam
act element-wise, so the result equals M separate runs.

Example:
    >>> import torch
    >>> from neurocircuits.models import RateRNN, StackedRateRNN
    >>> from neurocircuits.train import TrainConfig
    >>> stack = StackedRateRNN.from_models([RateRNN(3, 16, 3, seed=s) for s in range(2)])
    >>> def batch(step):
    ...     g = torch.Generator().manual_seed(step)
    ...     return torch.randn(8, 5, 3, generator=g), torch.randint(0, 3, (8, 5), generator=g)
    >>> hist = fit_stacked(stack, batch, sequence_cross_entropy, TrainConfig(lr=0.01, optimizer="sgd"), steps=20,
    ...                    log_every=10)
    >>> hist.steps, tuple(hist.loss.shape)
    ([10, 20], (2, 2))
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from neurocircuits.errors import ValidationError
from neurocircuits.train.checkpoint import atomic_save
from neurocircuits.train.loop import TrainConfig, make_optimizer


@dataclass
class StackedHistory:
    """Per-model training losses: ``loss[i, m]`` is model m's mean loss over log window i."""

    steps: list[int] = field(default_factory=list)
    loss: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 0))
    wall_time_s: float = 0.0

    def final_loss(self, last: int = 20) -> torch.Tensor:
        """Mean of the last ``last`` logged losses of each model (the paper's "final loss")."""
        if self.loss.shape[0] == 0:
            raise ValidationError("no losses were logged")
        return self.loss[-last:].mean(0)


def sequence_cross_entropy(logits: torch.Tensor, target: torch.Tensor, last_step: bool = False) -> torch.Tensor:
    """Per-model cross-entropy of logits ``(M, B, T, K)``; returns ``(M,)``.

    ``target``: ``(B, T)`` shared by the models or ``(M, B, T)`` per model, scoring every
    step (the NeuroGym tasks, fixation steps included); with ``last_step=True`` it is
    ``(B,)`` or ``(M, B)`` and only the last step is scored (sequential MNIST).
    """
    m = logits.shape[0]
    if last_step:
        logits = logits[..., -1, :]
    want = logits.shape[1:-1]
    if tuple(target.shape) == tuple(want):
        target = target.expand(m, *want)
    elif tuple(target.shape) != (m, *want):
        raise ValidationError(f"target has shape {tuple(target.shape)}; expected {tuple(want)} or {(m, *want)}")
    ce = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none")
    return ce.view(m, -1).mean(1)


def fit_stacked(
    model: nn.Module,
    batch_fn: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    cfg: TrainConfig,
    steps: int,
    *,
    log_every: int = 100,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 500,
    device: torch.device | str = "cpu",
    bar: Callable[..., object] | None = None,
) -> StackedHistory:
    """Train a stacked model for ``steps`` optimiser steps; return the per-model losses.

    Args:
        model: a module whose forward maps a batch's inputs to ``(M, ...)`` outputs, e.g.
            :class:`~neurocircuits.models.StackedRateRNN`.
        batch_fn: ``batch_fn(step) -> (inputs, target)`` for step 0, 1, ...; make it a
            pure function of the step (e.g. a generator seeded by (seed, step)) so that a
            resumed run draws the same trials.
        loss_fn: ``loss_fn(outputs, target) -> (M,)`` per-model losses; their sum is minimised.
        cfg: optimiser settings (``optimizer``, ``lr``, ``momentum``, ``weight_decay``);
            ``grad_clip`` is refused (a global norm would couple the models).
        log_every: losses are averaged over windows of this many steps.
        checkpoint: file for model, optimiser and losses, written every
            ``checkpoint_every`` steps and at the end; an existing one is resumed.
    """
    if cfg.grad_clip is not None:
        raise ValidationError("grad_clip couples the stacked models (one global norm); use grad_clip=None")
    if steps < 1 or log_every < 1 or checkpoint_every < 1:
        raise ValidationError(f"steps, log_every and checkpoint_every must be >= 1, got {steps}, {log_every}, "
                              f"{checkpoint_every}")
    device = torch.device(device)
    model.to(device)
    opt = make_optimizer(model.parameters(), cfg)
    ckpt = Path(checkpoint) if checkpoint is not None else None
    logged: list[torch.Tensor] = []
    log_steps: list[int] = []
    start, wall = 0, 0.0
    if ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, wall = state["step"], state["wall_time_s"]
        log_steps, logged = list(state["log_steps"]), list(state["logged"])
    window = None
    count = 0
    t0 = time.perf_counter()
    rng = range(start, steps)
    for step in (bar(rng, desc="steps") if bar else rng):  # type: ignore[attr-defined]
        x, target = batch_fn(step)
        x, target = x.to(device), target.to(device)
        opt.zero_grad(set_to_none=True)
        per_model = loss_fn(model(x), target)
        per_model.sum().backward()
        opt.step()
        with torch.no_grad():   # summed on the model's device: one host copy per log window, not per step
            lv = per_model.detach().double()
            window = lv if window is None else window + lv
            count += 1
        done = step + 1
        if done % log_every == 0:
            logged.append((window / count).cpu())
            log_steps.append(done)
            window, count = None, 0
        if ckpt is not None and (done % checkpoint_every == 0 or done == steps) and window is None:
            atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": done,
                         "wall_time_s": wall + time.perf_counter() - t0, "log_steps": log_steps,
                         "logged": logged}, ckpt)
    if window is not None:  # a partial last window
        logged.append((window / count).cpu())
        log_steps.append(steps)
    loss = torch.stack(logged) if logged else torch.zeros(0, 0)
    return StackedHistory(log_steps, loss, wall + time.perf_counter() - t0)
