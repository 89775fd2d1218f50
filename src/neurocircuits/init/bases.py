"""The standard initialisations that emergence-init and GradInit start from.

Both act in place on every ``nn.Linear``/``nn.Conv`` weight and on the packed input
projections of ``nn.MultiheadAttention``; biases are set to zero; normalisation layers
and embeddings are left as PyTorch built them. A seed makes them reproducible without
touching the global RNG.

Example:
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    >>> _ = kaiming_(net, seed=0)
    >>> round(float(net[0].weight.detach().std()) * 784 ** 0.5, 1)   # std = sqrt(2 / fan_in)
    1.4
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

import torch
from torch import nn

from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.base.seed import torch_generator
from neurocircuits.init.layers import is_weight_layer


def init_targets(model: nn.Module) -> Iterator[tuple[str, nn.Parameter, nn.Parameter | None]]:
    """``(name, weight, bias)`` of every layer a base initialisation touches, in registration order."""
    for name, m in model.named_modules():
        if is_weight_layer(m):
            yield name, m.weight, m.bias  # type: ignore[misc]
        elif isinstance(m, nn.MultiheadAttention):
            for pn in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
                p = getattr(m, pn, None)
                if isinstance(p, nn.Parameter):
                    yield f"{name}.{pn}", p, (m.in_proj_bias if pn == "in_proj_weight" else None)


@torch.no_grad()
def kaiming_(model: nn.Module, seed: int = 0, nonlinearity: Literal["relu", "leaky_relu", "linear", "tanh", "sigmoid",
                                                                    "selu"] = "relu") -> nn.Module:
    """He/Kaiming normal init (fan-in) of every weight layer; zero biases. Returns ``model``."""
    return _apply(model, seed, lambda w, g: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity=nonlinearity,
                                                                      generator=g))


@torch.no_grad()
def xavier_(model: nn.Module, seed: int = 0, gain: float = 1.0) -> nn.Module:
    """Glorot/Xavier uniform init of every weight layer; zero biases. Returns ``model``."""
    return _apply(model, seed, lambda w, g: nn.init.xavier_uniform_(w, gain=gain, generator=g))


def _apply(model: nn.Module, seed: int, fn) -> nn.Module:
    targets = list(init_targets(model))
    if not targets:
        raise ValidationError(f"{type(model).__name__} has no nn.Linear, nn.Conv or attention layers to initialise")
    gen = torch_generator(seed)
    for _, w, b in targets:
        fn(w, gen)
        if b is not None:
            b.zero_()
    return model


#: the base initialisations by name
Base = Literal["kaiming", "xavier"]
BASES: dict[str, Callable[..., nn.Module]] = {"kaiming": kaiming_, "xavier": xavier_}


def base_init_(model: nn.Module, base: Base, seed: int = 0) -> nn.Module:
    """Apply the base initialisation called ``base`` (``"kaiming"`` or ``"xavier"``)."""
    if base not in BASES:
        raise UnknownNameError("base initialisation", base, BASES)
    return BASES[base](model, seed=seed)
