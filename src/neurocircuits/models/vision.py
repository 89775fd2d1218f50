"""Image classifiers for MNIST-sized inputs: deep ReLU MLPs, a plain CNN and a small ResNet.

All modules are registered in forward order (initialisers that index layers rely on it).
``batchnorm=True`` puts a BatchNorm after every hidden weight layer, before the ReLU.

Example:
    >>> import torch
    >>> net = mlp(depth=4, width=32)
    >>> net(torch.rand(5, 784)).shape
    torch.Size([5, 10])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from neurocircuits.errors import ValidationError


def mlp(depth: int, width: int = 256, in_dim: int = 784, n_classes: int = 10, batchnorm: bool = False,
        bias: bool = True) -> nn.Sequential:
    """A ReLU MLP with ``depth`` Linear layers (``depth - 1`` hidden layers of ``width``).

    Inputs of any shape ``(B, ...)`` are flattened.
    """
    if depth < 1 or width < 1 or in_dim < 1 or n_classes < 1:
        raise ValidationError(f"depth, width, in_dim and n_classes must be >= 1, got {depth}, {width}, "
                              f"{in_dim}, {n_classes}")
    layers: list[nn.Module] = [nn.Flatten()]
    d = in_dim
    for _ in range(depth - 1):
        layers.append(nn.Linear(d, width, bias=bias and not batchnorm))
        if batchnorm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.ReLU())
        d = width
    layers.append(nn.Linear(d, n_classes, bias=bias))
    return nn.Sequential(*layers)


def classifier(name: str, batchnorm: bool = False, width: int = 256, channels: Sequence[int] = (32, 32, 64, 64),
               pool_every: int = 2) -> nn.Module:
    """A classifier by name: ``"mlp<depth>"`` (:func:`mlp` of ``width``), ``"cnn"`` (:func:`cnn` of
    ``channels``) or ``"resnet"`` (:func:`resnet` with ``channels`` as stage widths).

    Example:
        >>> [type(classifier(n, channels=(4, 8))).__name__ for n in ("mlp3", "cnn")]
        ['Sequential', '_ImageInput']
    """
    if name.startswith("mlp") and name[3:].isdigit():
        return mlp(int(name[3:]), width, batchnorm=batchnorm)
    if name == "cnn":
        return cnn(tuple(channels), batchnorm=batchnorm, pool_every=pool_every)
    if name == "resnet":
        return resnet(tuple(channels), batchnorm=batchnorm)
    raise ValidationError(f"unknown classifier {name!r}; use 'mlp<depth>' (e.g. 'mlp4'), 'cnn' or 'resnet'")


def cnn(channels: Sequence[int] = (32, 32, 64, 64), in_channels: int = 1, n_classes: int = 10,
        batchnorm: bool = False, pool_every: int = 2) -> nn.Sequential:
    """A VGG-style CNN: 3x3 conv (+BN) + ReLU layers, 2x2 max-pool after every ``pool_every``-th
    one, adaptive average pooling to 4x4 and a linear classifier on the flattened map."""
    if not channels or any(c < 1 for c in channels) or pool_every < 1:
        raise ValidationError(f"channels must be a non-empty list of positive ints and pool_every >= 1, got "
                              f"{list(channels)}, {pool_every}")
    layers: list[nn.Module] = []
    c_in = in_channels
    for i, c in enumerate(channels):
        layers.append(nn.Conv2d(c_in, c, 3, padding=1, bias=not batchnorm))
        if batchnorm:
            layers.append(nn.BatchNorm2d(c))
        layers.append(nn.ReLU())
        if i % pool_every == pool_every - 1:
            layers.append(nn.MaxPool2d(2))
        c_in = c
    layers += [nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(c_in * 16, n_classes)]
    return _ImageInput(nn.Sequential(*layers))


class _ImageInput(nn.Sequential):
    """Accepts flat ``(B, 784)`` MNIST vectors as well as ``(B, 1, 28, 28)`` images."""

    def __init__(self, body: nn.Sequential) -> None:
        super().__init__(*body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if x.ndim == 2:
            side = int(round(x.shape[1] ** 0.5))
            if side * side != x.shape[1]:
                raise ValidationError(f"flat input of {x.shape[1]} features is not a square image")
            x = x.view(-1, 1, side, side)
        return super().forward(x)


class BasicBlock(nn.Module):
    """``relu(bn(conv2(relu(bn(conv1 x)))) + shortcut(x))``; the shortcut is a 1x1 conv when
    the shape changes and the identity otherwise."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, batchnorm: bool = True) -> None:
        super().__init__()
        norm = (lambda c: nn.BatchNorm2d(c)) if batchnorm else (lambda c: nn.Identity())
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=not batchnorm)
        self.bn1 = norm(c_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=not batchnorm)
        self.bn2 = norm(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=not batchnorm), norm(c_out))
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        h = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(h)) + self.shortcut(x))


def resnet(widths: Sequence[int] = (16, 32, 64), blocks_per_stage: int = 1, in_channels: int = 1,
           n_classes: int = 10, batchnorm: bool = True) -> nn.Sequential:
    """A small ResNet: stem conv, stages of :class:`BasicBlock` (stride 2 from the second
    stage on, 1x1 projection shortcuts), global average pooling, linear classifier."""
    if not widths or blocks_per_stage < 1:
        raise ValidationError("resnet needs at least one stage and one block per stage")
    norm = nn.BatchNorm2d(widths[0]) if batchnorm else nn.Identity()
    layers: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=not batchnorm), norm, nn.ReLU()]
    c = widths[0]
    for s, w in enumerate(widths):
        for b in range(blocks_per_stage):
            layers.append(BasicBlock(c, w, stride=2 if (s > 0 and b == 0) else 1, batchnorm=batchnorm))
            c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes)]
    return _ImageInput(nn.Sequential(*layers))
