"""The training loop shared by every experiment, with per-epoch checkpoints.

Launched by ``torchrun`` (``RANK`` and ``WORLD_SIZE`` set), :func:`fit` trains with
DistributedDataParallel: gloo on CPU, NCCL on GPU, each rank taking its share of every
global batch, rank 0 writing checkpoints and progress.

Example:
    >>> import torch
    >>> from neurocircuits.train import TrainConfig, fit
    >>> X, y = torch.randn(64, 5), torch.randint(0, 2, (64,))
    >>> model = torch.nn.Linear(5, 2)
    >>> hist = fit(model, (X, y), torch.nn.functional.cross_entropy, TrainConfig(epochs=2, lr=0.1), seed=0)
    >>> [h.epoch for h in hist]
    [1, 2]
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neurocircuits.errors import DivergedError, ValidationError, check_finite
from neurocircuits.train.checkpoint import atomic_save
from neurocircuits.base.seed import torch_generator


@dataclass
class TrainConfig:
    """Optimiser and schedule settings of :func:`fit`."""

    epochs: int = 10
    lr: float = 1e-3
    optimizer: str = "adam"  # "sgd" | "adam" | "adamw"
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 128
    grad_clip: float | None = None
    patience: int | None = None  # early stopping on the validation "loss" key
    max_steps: int | None = None  # stop after this many optimiser steps (quick modes)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValidationError(f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}")
        if not self.lr > 0:
            raise ValidationError(f"lr must be > 0, got {self.lr}")


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    wall_time_s: float
    steps: int
    val: dict[str, float] = field(default_factory=dict)

    def flat(self) -> dict[str, float]:
        d = {k: v for k, v in asdict(self).items() if k != "val"}
        d.update({f"val_{k}": v for k, v in self.val.items()})
        return d


def make_optimizer(params: Iterable[Any], cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD (with momentum), Adam or AdamW; ``params`` may be parameter groups with own ``lr``."""
    name = cfg.optimizer.lower()
    if name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValidationError(f"unknown optimizer {cfg.optimizer!r}; use 'sgd', 'adam' or 'adamw'")


def batches(tensors: Sequence[torch.Tensor], batch_size: int, generator: torch.Generator | None,
            shuffle: bool = True, rank: int = 0, world_size: int = 1) -> Iterator[tuple[torch.Tensor, ...]]:
    """Mini-batches of aligned tensors, shuffled with an explicit generator.

    With ``world_size > 1`` this is the distributed sampler of :func:`fit`: every rank draws
    the same permutation and takes every ``world_size``-th item of each global batch of
    ``batch_size`` (so the ranks together see exactly the single-process batches); a last
    global batch with fewer items than ranks is dropped.

    Example:
        >>> x = torch.arange(8)
        >>> [b[0].tolist() for b in batches([x], 4, None, shuffle=False, rank=1, world_size=2)]
        [[1, 3], [5, 7]]
    """
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        raise ValidationError(f"tensors have different lengths: {[t.shape[0] for t in tensors]}")
    if n == 0:
        raise ValidationError("cannot train on an empty data set")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for i in range(0, n, batch_size):
        idx = order[i:i + batch_size]
        if world_size > 1:
            if idx.shape[0] < world_size:
                break
            idx = idx[rank::world_size]
        yield tuple(t[idx] for t in tensors)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a model without any).

    Example:
        >>> model_device(torch.nn.Linear(2, 2))
        device(type='cpu')
    """
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def distributed_env() -> tuple[int, int, int] | None:
    """``(rank, world_size, local_rank)`` when launched by ``torchrun`` with more than one process.

    Example:
        >>> distributed_env() is None  # a plain python process
        True
    """
    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", "0"))


def _init_distributed(device: torch.device, local_rank: int) -> torch.device:
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():  # torchrun sets MASTER_ADDR/PORT; the group stays up for the caller
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def fit(
    model: nn.Module,
    train: Sequence[torch.Tensor] | Iterable[Sequence[torch.Tensor]],
    loss_fn: Callable[..., torch.Tensor],
    cfg: TrainConfig,
    *,
    seed: int = 0,
    optimizer: torch.optim.Optimizer | None = None,
    val_fn: Callable[[nn.Module], dict[str, float]] | None = None,
    checkpoint: str | Path | None = None,
    device: torch.device | str | None = None,
    bar: Callable[..., Any] | None = None,
    forward: Callable[[nn.Module, tuple[torch.Tensor, ...]], torch.Tensor] | None = None,
) -> list[EpochRecord]:
    """Train ``model`` and return one :class:`EpochRecord` per epoch.

    Args:
        train: a tuple of tensors ``(inputs..., target)`` batched here with a generator
            seeded by ``seed``, or any re-iterable of such batches (e.g. a DataLoader; its
            sampler's ``set_epoch`` is called every epoch, as a DistributedSampler needs).
        loss_fn: ``loss_fn(output, target)``.
        optimizer: defaults to :func:`make_optimizer` over ``model.parameters()``.
        val_fn: called after every epoch with the model in eval mode; its dict is recorded.
            If ``cfg.patience`` is set, training stops when ``val["loss"]`` has not improved
            for that many epochs, and the best weights are restored.
        checkpoint: file to save model, optimiser, history and RNG state to after every
            epoch; if it exists, training resumes after its last epoch.
        device: where to train; ``None`` (default) keeps the model where it is.
        forward: ``forward(model, inputs)``; default ``model(*inputs)`` (under DDP ``model``
            is the DistributedDataParallel wrapper, so call it rather than its methods).
        bar: a progress-bar factory like ``RunContext.bar``.

    Under ``torchrun`` (``WORLD_SIZE > 1``) the model is wrapped in DistributedDataParallel
    (gloo on CPU, NCCL when ``device`` is CUDA: rank ``LOCAL_RANK``'s GPU), ``cfg.batch_size``
    is the global batch (each rank takes its share, see :func:`batches`), the recorded loss
    is the global mean, and only rank 0 writes the checkpoint and shows progress. With a
    global batch that divides evenly by the number of ranks, the trained model equals the
    single-process one up to float rounding.

    Raises:
        DivergedError: the loss became NaN or infinite.
    """
    device = model_device(model) if device is None else torch.device(device)
    dist_env = distributed_env()
    rank, world = (dist_env[0], dist_env[1]) if dist_env else (0, 1)
    if dist_env:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel

        device = _init_distributed(device, dist_env[2])
    was_training = model.training
    model.to(device)
    net: nn.Module = model
    if dist_env:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        if rank != 0:
            bar = None
    opt = optimizer or make_optimizer(model.parameters(), cfg)
    gen = torch_generator(seed)
    history: list[EpochRecord] = []
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    stale = 0
    steps = 0
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, weights_only=False, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"].cpu())
        history = [EpochRecord(**h) for h in state["history"]]
        best, stale, steps = state.get("best"), state.get("stale", 0), state.get("steps", 0)
    fwd = forward or (lambda m, xs: m(*xs))
    tensors = isinstance(train, (tuple, list)) and all(isinstance(t, torch.Tensor) for t in train)
    epochs = range(len(history) + 1, cfg.epochs + 1)
    for epoch in (bar(epochs, desc="epochs") if bar else epochs):
        if cfg.max_steps is not None and steps >= cfg.max_steps:
            break
        if cfg.patience is not None and stale >= cfg.patience:
            break
        model.train()
        t0 = time.perf_counter()
        total, count = 0.0, 0
        if tensors:
            it: Iterable[Sequence[torch.Tensor]] = batches(train, cfg.batch_size, gen,  # type: ignore[arg-type]
                                                           rank=rank, world_size=world)
        else:
            it = train  # type: ignore[assignment]
            sampler = getattr(train, "sampler", None)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)  # type: ignore[union-attr]
        for batch in it:
            batch = tuple(b.to(device, non_blocking=True) for b in batch)
            *inputs, target = batch
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(fwd(net, tuple(inputs)), target)
            finite = torch.isfinite(loss.detach()).to(device=device, dtype=torch.float32).reshape(1)
            if dist_env:  # every rank stops together if any diverges
                dist.all_reduce(finite, op=dist.ReduceOp.MIN)
            if not bool(finite.item()):
                raise DivergedError(f"loss became {loss.item()} at epoch {epoch}, step {steps}; "
                                    "lower the learning rate or check the inputs")
            loss.backward()
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            total += float(loss.detach()) * target.shape[0]
            count += target.shape[0]
            steps += 1
            if cfg.max_steps is not None and steps >= cfg.max_steps:
                break
        if dist_env:  # the recorded loss is the mean over every rank's items
            tc = torch.tensor([total, float(count)], dtype=torch.float64, device=device)
            dist.all_reduce(tc)
            total, count = float(tc[0]), int(tc[1])
        rec = EpochRecord(epoch, total / max(count, 1), time.perf_counter() - t0, steps)
        if val_fn is not None:
            model.eval()
            with torch.no_grad():
                rec.val = {k: float(v) for k, v in val_fn(model).items()}
            if cfg.patience is not None:
                vloss = rec.val.get("loss")
                if vloss is None:
                    raise ValidationError("early stopping needs val_fn to return a 'loss' entry")
                if best is None or vloss < best[0]:
                    best = (vloss, {k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
                    stale = 0
                else:
                    stale += 1
        history.append(rec)
        if ckpt is not None and rank == 0:
            atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                         "generator": gen.get_state(), "history": [asdict(h) for h in history],
                         "best": best, "stale": stale, "steps": steps}, ckpt)
        if dist_env and ckpt is not None:
            dist.barrier()  # the checkpoint is complete before any rank moves on
    if best is not None:
        model.load_state_dict(best[1])
    model.train(was_training)
    return history


@torch.no_grad()
def evaluate(model: nn.Module, inputs: torch.Tensor, batch_size: int = 1024,
             device: torch.device | str | None = None) -> torch.Tensor:
    """Model outputs on ``inputs`` in eval mode, batched, returned on the CPU.

    ``device=None`` uses the model's device; the model's train/eval mode is restored after.

    Example:
        >>> m = torch.nn.Dropout(0.5).train()
        >>> evaluate(m, torch.ones(2, 3)).tolist(), m.training
        ([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], True)
    """
    check_finite("inputs", inputs)
    device = model_device(model) if device is None else torch.device(device)
    was_training = model.training
    model.eval()
    try:
        outs = [model(inputs[i:i + batch_size].to(device)).cpu() for i in range(0, inputs.shape[0], batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(outs) if outs else torch.empty(0)
