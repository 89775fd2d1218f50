"""Emergence-promoting initialisation (Li, George, Silva; arXiv 2407.19044), reconstructed.

After a standard initialisation the weight layers, listed in forward order, are rescaled
layer-wise: the first half shrunk, the second half enlarged,
``W_l <- alpha ** e_l * W_l`` with exponents ``-n, ..., -1, (0), 1, ..., n`` (``n = L // 2``).
The paper publishes no code; every convention below is the project's reconstruction
(see ``docs/emergence-init.md``) and is a flag where the paper is open.

Conventions:

- **Layer order**: registration order of the modules (``model.named_modules()``), which
  is forward order for every model built in :mod:`neurocircuits.models` and for
  ``nn.Sequential``. Every ``nn.Linear``/``nn.Conv`` weight counts, including the stem
  and the classifier.
- **Middle layer** (``middle=``): ``"symmetric"`` (default; odd ``L``: the middle layer
  gets 0, even ``L``: no zero, so the exponents always sum to 0 and the factors multiply
  to 1) or ``"pivot"`` (``-n, ..., 0, ..., L-1-n``; asymmetric for even ``L``, whose
  factors then do *not* multiply to 1).
- **Weights or variances** (``mode=``): ``"weight"`` multiplies ``W`` by ``alpha**e``
  (std by ``alpha**e``, the formula reported for the paper); ``"variance"`` multiplies the
  variance by ``alpha**e`` (``W`` by ``alpha**(e/2)``).
- **Residual shortcuts**: a projection whose module path contains ``shortcut`` or
  ``downsample`` is not a layer of its own; it takes the exponent of the last main-path
  layer of its block (the layer whose output it is added to).
- **Transformers** (``grouping=``): ``"block"`` (default): every
  ``nn.TransformerEncoderLayer``/``nn.TransformerDecoderLayer`` is one layer, encoder
  blocks then decoder blocks, all its projection weights sharing one exponent;
  ``"global"``: every projection weight inside the blocks is its own layer (encoder then
  decoder); ``"separate"``: block exponents assigned separately within the encoder and
  within the decoder. Embeddings, positional tables and the output projection are
  excluded in every grouping.
- Biases and normalisation parameters are never rescaled.

Example:
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
    ...                           torch.nn.ReLU(), torch.nn.Linear(16, 4))
    >>> table = emergence_init(net, alpha=1.5, seed=0)
    >>> table.exponents
    [-1, 0, 1]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import torch
from torch import nn

from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.init.bases import BASES, Base, base_init_
from neurocircuits.init.gradinit import Optimizer, gradinit_
from neurocircuits.init.layers import SHORTCUT_NAMES, is_shortcut, is_weight_layer, weight_layers

_BLOCKS = (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)
Middle = Literal["symmetric", "pivot"]
Mode = Literal["weight", "variance"]
Grouping = Literal["block", "global", "separate"]
#: the arms of the control experiment (see :func:`prepare_arm`)
Arm = Literal["A", "B", "C", "D", "G"]
MIDDLES: tuple[str, ...] = get_args(Middle)
MODES: tuple[str, ...] = get_args(Mode)
GROUPINGS: tuple[str, ...] = get_args(Grouping)
ARMS: tuple[str, ...] = get_args(Arm)


@dataclass
class LayerGroup:
    """One layer of the rescaling: the weight tensors that share one exponent."""

    name: str
    params: list[tuple[str, torch.Tensor]]
    part: str = ""  # "encoder" / "decoder" for transformers


@dataclass
class ScaleTable:
    """The exponent assigned to every layer, and the factor applied to its weights."""

    alpha: float
    mode: str
    layers: list[str]
    exponents: list[int]
    params: list[list[str]] = field(default_factory=list)

    @property
    def factors(self) -> list[float]:
        """Multipliers of the weights: ``alpha ** e`` (``mode="weight"``) or ``alpha ** (e/2)``."""
        p = 1.0 if self.mode == "weight" else 0.5
        return [self.alpha ** (p * e) for e in self.exponents]

    def rows(self) -> list[dict[str, Any]]:
        return [{"layer": i, "name": n, "exponent": e, "factor": f, "params": ", ".join(ps)}
                for i, (n, e, f, ps) in enumerate(zip(self.layers, self.exponents, self.factors, self.params))]


def layer_exponents(n_layers: int, middle: Middle = "symmetric") -> list[int]:
    """Exponents ``e_l`` of ``L`` layers.

    Example:
        >>> layer_exponents(4), layer_exponents(5), layer_exponents(4, "pivot")
        ([-2, -1, 1, 2], [-2, -1, 0, 1, 2], [-2, -1, 0, 1])
    """
    if n_layers < 1:
        raise ValidationError(f"need at least one layer, got {n_layers}")
    if middle not in MIDDLES:
        raise UnknownNameError("middle convention", middle, MIDDLES)
    n = n_layers // 2
    if middle == "pivot":
        return list(range(-n, n_layers - n))
    return list(range(-n, 0)) + ([0] if n_layers % 2 else []) + list(range(1, n + 1))


def layer_groups(model: nn.Module, grouping: Grouping = "block") -> list[LayerGroup]:
    """The ordered layers of ``model`` that the rescaling indexes (see the module docstring)."""
    if grouping not in GROUPINGS:
        raise UnknownNameError("transformer grouping", grouping, GROUPINGS)
    blocks = [(n, m) for n, m in model.named_modules() if isinstance(m, _BLOCKS)]
    if blocks:
        return _transformer_groups(blocks, grouping)
    main = weight_layers(model)
    if not main:
        raise ValidationError(f"{type(model).__name__} has no nn.Linear, nn.Conv or transformer layers to rescale")
    groups = [LayerGroup(n, [(f"{n}.weight" if n else "weight", _weight(m))]) for n, m in main]
    for n, m in model.named_modules():
        if is_weight_layer(m) and is_shortcut(n):
            parts = n.split(".")
            cut = next(i for i, p in enumerate(parts) if p in SHORTCUT_NAMES)
            block = ".".join(parts[:cut])
            owners = [g for g in groups if block == "" or g.name.startswith(block + ".")]
            if not owners:
                raise ValidationError(f"shortcut {n!r} has no main-path layer in its block {block!r}")
            owners[-1].params.append((f"{n}.weight", _weight(m)))
    return groups


def _weight(m: nn.Module) -> torch.Tensor:
    w = m.weight
    assert isinstance(w, torch.Tensor)
    return w


def _transformer_groups(blocks: Sequence[tuple[str, nn.Module]], grouping: str) -> list[LayerGroup]:
    groups = []
    for bname, block in blocks:
        part = "decoder" if isinstance(block, nn.TransformerDecoderLayer) else "encoder"
        params: list[tuple[str, torch.Tensor]] = [(f"{bname}.{pn}", p) for pn, p in block.named_parameters()
                  if p.ndim >= 2 and (pn.endswith("weight"))]
        if grouping == "global":
            groups += [LayerGroup(pn, [(pn, p)], part) for pn, p in params]
        else:
            groups.append(LayerGroup(bname, params, part))
    return groups


def scale_table(model: nn.Module, alpha: float, mode: Mode = "weight", middle: Middle = "symmetric",
                grouping: Grouping = "block") -> tuple[ScaleTable, list[LayerGroup]]:
    """The exponents emergence-init would use on ``model``, without changing it."""
    _check_alpha(alpha)
    if mode not in MODES:
        raise UnknownNameError("scaling mode", mode, MODES)
    groups = layer_groups(model, grouping)
    if grouping == "separate" and any(g.part for g in groups):
        exps: list[int] = []
        for part in ("encoder", "decoder"):
            k = sum(g.part == part for g in groups)
            exps += layer_exponents(k, middle) if k else []
    else:
        exps = layer_exponents(len(groups), middle)
    table = ScaleTable(float(alpha), mode, [g.name for g in groups], exps, [[n for n, _ in g.params] for g in groups])
    return table, groups


def _check_alpha(alpha: float) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or alpha <= 0:
        raise ValidationError(f"alpha must be a finite number > 0, got {alpha!r}")


@torch.no_grad()
def emergence_scale_(model: nn.Module, alpha: float, mode: Mode = "weight", middle: Middle = "symmetric",
                     grouping: Grouping = "block") -> ScaleTable:
    """Rescale the weights of ``model`` in place by ``alpha ** e_l``; return the exponent table."""
    table, groups = scale_table(model, alpha, mode, middle, grouping)
    for g, f in zip(groups, table.factors):
        for _, p in g.params:
            p.mul_(f)
    return table


def emergence_init(model: nn.Module, alpha: float, base: Base | None = "kaiming", mode: Mode = "weight",
                   middle: Middle = "symmetric", grouping: Grouping = "block", seed: int = 0) -> ScaleTable:
    """Emergence-promoting initialisation: ``base`` init (seeded), then :func:`emergence_scale_`.

    Args:
        alpha: the scale (> 0; the paper uses ``alpha > 1``; ``alpha = 1`` is the base init).
        base: ``"kaiming"`` (ReLU MLP/CNN), ``"xavier"`` (Transformers) or ``None`` to keep
            the current weights.
        mode, middle, grouping: conventions, see the module docstring.
        seed: seed of the base initialisation.

    Returns:
        The :class:`ScaleTable` of layers, exponents and factors.

    Raises:
        ValidationError: ``alpha <= 0`` or a model with no supported layers.
    """
    _check_alpha(alpha)
    scale_table(model, alpha, mode, middle, grouping)  # validate before touching the weights
    if base is not None:
        if base not in BASES:
            raise UnknownNameError("base initialisation", base, BASES)
        base_init_(model, base, seed=seed)
    return emergence_scale_(model, alpha, mode, middle, grouping)


def equivalent_lr_groups(model: nn.Module, alpha: float, lr: float, optimizer: Optimizer = "sgd",
                         mode: Mode = "weight", middle: Middle = "symmetric", grouping: Grouping = "block",
                         weight_decay: float = 0.0, invert: bool = False) -> list[dict[str, Any]]:
    """Parameter groups whose per-layer learning rates mimic emergence-init (control arm C).

    The loss is invariant to ``W_l -> c_l W_l`` in a bias-free ReLU net, so training the
    rescaled net with SGD equals training the unscaled net with per-layer learning rate
    ``lr * c_l ** -2`` and coupled weight decay ``weight_decay * c_l ** 2`` (exact). For
    Adam, whose steps ignore the gradient scale, the multiplier is ``c_l ** -1``
    (approximate). ``invert=True`` gives the opposite multipliers (arm D: applied to a
    rescaled net they cancel the learning-rate effect of the rescaling).
    Parameters outside the rescaled layers (biases, norms, embeddings) keep ``lr``.

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 4, bias=False), torch.nn.ReLU(),
        ...                           torch.nn.Linear(4, 2, bias=False))
        >>> [round(g["lr"], 4) for g in equivalent_lr_groups(net, 2.0, lr=0.1)]
        [0.4, 0.025]
    """
    if not lr > 0:
        raise ValidationError(f"lr must be > 0, got {lr}")
    opt = optimizer.lower()
    if opt not in ("sgd", "adam", "adamw"):
        raise UnknownNameError("optimizer", optimizer, ("sgd", "adam", "adamw"))
    table, groups = scale_table(model, alpha, mode, middle, grouping)
    power = -2.0 if opt == "sgd" else -1.0
    if invert:
        power = -power
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for g, c in zip(groups, table.factors):
        m = c ** power
        group = {"params": [p for _, p in g.params], "lr": lr * m, "name": g.name}
        if weight_decay:
            group["weight_decay"] = weight_decay / m if opt == "sgd" else weight_decay
        out.append(group)
        seen.update(id(p) for _, p in g.params)
    rest = [p for p in model.parameters() if id(p) not in seen and p.requires_grad]
    if rest:
        out.append({"params": rest, "lr": lr, "name": "other"})
    return out


def prepare_arm(model: nn.Module, arm: Arm, alpha: float, lr: float, optimizer: Optimizer = "sgd", *,
                base: Base = "kaiming", seed: int = 0, weight_decay: float = 0.0,
                device: torch.device | str | None = None,
                gradinit_data: Sequence[torch.Tensor] | None = None,
                loss_fn: Callable[..., torch.Tensor] | None = None, gradinit_steps: int = 100,
                batch_size: int = 128) -> list[dict[str, Any]]:
    """Initialise ``model`` in place for one arm of the control experiment; return its parameter groups.

    The arms (``alpha`` is ignored by A and G):

    - ``"A"``: the ``base`` initialisation (seeded) and the plain learning rate ``lr``;
    - ``"B"``: ``base`` then emergence-init (:func:`emergence_scale_` by ``alpha``);
    - ``"C"``: ``base`` with the per-layer learning rates that the rescaling implies
      (:func:`equivalent_lr_groups`), the learning-rate control;
    - ``"D"``: emergence-init with the inverse multipliers (cancels the learning-rate effect);
    - ``"G"``: ``base`` then GradInit (:func:`~neurocircuits.init.gradinit_`, needs
      ``gradinit_data`` and ``loss_fn``; it runs ``gradinit_steps`` steps with mini-batches of
      ``batch_size``).

    The model is moved to ``device`` (when given) after the initialisation and before
    GradInit. Pass the returned groups to the optimiser (e.g.
    :func:`neurocircuits.train.make_optimizer`).

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 4, bias=False), torch.nn.ReLU(),
        ...                           torch.nn.Linear(4, 2, bias=False))
        >>> groups = prepare_arm(net, "C", alpha=2.0, lr=0.1)
        >>> [round(g["lr"], 4) for g in groups]
        [0.4, 0.025]
    """
    if arm not in ARMS:
        raise UnknownNameError("arm", arm, ARMS)
    if arm != "G" and arm != "A":
        _check_alpha(alpha)
    base_init_(model, base, seed=seed)
    if arm in ("B", "D"):
        emergence_scale_(model, alpha)
    if device is not None:
        model.to(device)
    if arm == "G":
        if gradinit_data is None or loss_fn is None:
            raise ValidationError("arm 'G' (GradInit) needs gradinit_data=(x, y) and loss_fn")
        gradinit_(model, gradinit_data, loss_fn, lr=lr, optimizer=optimizer, steps=gradinit_steps,
                  batch_size=batch_size, seed=seed)
    if arm in ("C", "D"):
        return equivalent_lr_groups(model, alpha, lr, optimizer, weight_decay=weight_decay, invert=arm == "D")
    return [{"params": list(model.parameters())}]
