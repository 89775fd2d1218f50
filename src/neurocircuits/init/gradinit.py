"""GradInit (Zhu, Ni, Xu, Kong, Huang, Goldstein; NeurIPS 2021), the competitor emergence-init names.

GradInit learns one positive scalar ``a_j`` per parameter tensor ``theta_j`` (weights,
biases and normalisation parameters alike) so that the *first optimiser step* from the
rescaled initialisation ``a * theta`` makes the most progress, subject to a bound on the
gradient norm (the paper's Algorithm 1):

    min_a  L(S'; a*theta - eta * A[g])   subject to  ||g||_p <= gamma,  a >= a_min,
    g = grad L(S; a*theta),  A[g] = g, p = 2 (SGD)  or  A[g] = sign(g), p = 1 (Adam's first step)

Each iteration draws two independent mini-batches ``S`` and ``S'``; when ``||g||_p > gamma``
the step instead lowers ``||g||_p``; the scales are updated with Adam (learning rate
``tau``) through the second-order graph and clipped at ``a_min``. The values of ``steps``,
``gamma``, ``tau`` and ``a_min`` are this project's defaults for MNIST-sized models, not
the paper's CIFAR/ImageNet settings (which the paper tunes per architecture).

Example:
    >>> import torch
    >>> from neurocircuits.models.vision import mlp
    >>> net = mlp(3, 32, in_dim=10, n_classes=3)
    >>> x, y = torch.randn(256, 10), torch.randint(0, 3, (256,))
    >>> scales = gradinit_(net, (x, y), torch.nn.functional.cross_entropy, lr=0.05, steps=5, seed=0)
    >>> len(scales) == len(list(net.parameters()))
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import nn
from torch.func import functional_call

from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.base.seed import torch_generator

#: optimiser names the initialisers understand
Optimizer = Literal["sgd", "adam", "adamw"]


def gradinit_(model: nn.Module, data: Sequence[torch.Tensor], loss_fn: Callable[..., torch.Tensor], lr: float,
              optimizer: Optimizer = "sgd", steps: int = 100, batch_size: int = 128, gamma: float | None = None,
              tau: float = 1e-2, a_min: float = 0.01, seed: int = 0) -> dict[str, float]:
    """Rescale ``model``'s parameters in place by GradInit; return the learned scale per tensor.

    Args:
        data: ``(inputs, target)`` tensors to draw mini-batches from (training data only).
        lr: ``eta``, the learning rate of the training run that follows.
        optimizer: ``"sgd"`` (``A[g] = g``, 2-norm) or ``"adam"`` (``A[g] = sign(g)``, 1-norm).
        gamma: gradient-norm bound; default 1 for SGD, and for Adam 1 per 1000 parameters
            (the 1-norm grows with the parameter count).
    """
    opt = optimizer.lower()
    if opt not in ("sgd", "adam", "adamw"):
        raise UnknownNameError("optimizer", optimizer, ("sgd", "adam", "adamw"))
    if not lr > 0 or steps < 1 or batch_size < 1 or not tau > 0 or not a_min > 0:
        raise ValidationError(f"need lr > 0, steps >= 1, batch_size >= 1, tau > 0, a_min > 0; got {lr}, {steps}, "
                              f"{batch_size}, {tau}, {a_min}")
    x, y = data
    if x.shape[0] < 2:
        raise ValidationError("GradInit needs at least two training examples")
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    if not names:
        raise ValidationError(f"{type(model).__name__} has no trainable parameters")
    base = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    n_params = sum(p.numel() for p in base.values())
    if gamma is None:
        gamma = 1.0 if opt == "sgd" else n_params / 1000.0
    device = x.device
    scale = {n: torch.ones((), device=device, requires_grad=True) for n in names}
    meta = torch.optim.Adam(list(scale.values()), lr=tau)
    gen = torch_generator(seed)
    bs = min(batch_size, x.shape[0] // 2)
    buffers = dict(model.named_buffers())
    was = model.training
    model.train()
    for _ in range(steps):
        idx = torch.randperm(x.shape[0], generator=gen)[: 2 * bs].to(device)
        (xa, ya), (xb, yb) = (x[idx[:bs]], y[idx[:bs]]), (x[idx[bs:]], y[idx[bs:]])
        params = {n: scale[n] * base[n] for n in names}
        loss = loss_fn(functional_call(model, {**params, **buffers}, (xa,)), ya)
        grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=True)
        if opt == "sgd":
            norm = torch.sqrt(sum((g ** 2).sum() for g in grads))  # type: ignore[arg-type]
        else:
            norm = sum(g.abs().sum() for g in grads)  # type: ignore[assignment]
        if float(norm.detach()) > gamma:
            objective = norm
        else:
            step = grads if opt == "sgd" else [torch.sign(g) for g in grads]
            new = {n: params[n] - lr * s for n, s in zip(names, step)}
            objective = loss_fn(functional_call(model, {**new, **buffers}, (xb,)), yb)
        meta.zero_grad()
        objective.backward()
        meta.step()
        with torch.no_grad():
            for a in scale.values():
                a.clamp_(min=a_min)
    model.train(was)
    scales = {n: float(scale[n].detach()) for n in names}
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n in scales:
                p.copy_(base[n] * scales[n])
    return scales
