"""What counts as a *weight layer*: the one definition shared by the initialisers and measures.

A weight layer is an ``nn.Linear`` or ``nn.Conv1d/2d/3d`` module. Residual shortcut
projections (a module whose path contains a part named ``shortcut`` or ``downsample``) are
weight layers too, but they are not *main-path* layers: the emergence rescaling gives them
the exponent of their block and the emergence measure leaves them out.
:func:`neurocircuits.init.kaiming_`, :func:`~neurocircuits.init.emergence_scale_` and
:func:`neurocircuits.measure.emergence.emergence` all use these functions.

Example:
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> [name for name, _ in weight_layers(net)]
    ['0', '2']
"""

from __future__ import annotations

from torch import nn

#: module types whose ``weight`` is a weight layer
WEIGHT_LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
#: module-path parts that mark a residual shortcut projection
SHORTCUT_NAMES: tuple[str, ...] = ("shortcut", "downsample")


def is_weight_layer(module: nn.Module) -> bool:
    """Whether ``module`` is an ``nn.Linear`` or ``nn.Conv`` layer."""
    return isinstance(module, WEIGHT_LAYER_TYPES)


def is_shortcut(name: str) -> bool:
    """Whether the module path ``name`` lies inside a residual shortcut (``"block.shortcut.0"``).

    Example:
        >>> is_shortcut("layer1.0.downsample.0"), is_shortcut("layer1.0.conv1")
        (True, False)
    """
    return any(p in SHORTCUT_NAMES for p in name.split("."))


def weight_layers(model: nn.Module, shortcuts: bool = False) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of the weight layers of ``model`` in registration (forward) order.

    ``shortcuts=False`` (default) lists the main path only; ``True`` lists the shortcut
    projections too.
    """
    return [(n, m) for n, m in model.named_modules()
            if is_weight_layer(m) and (shortcuts or not is_shortcut(n))]
