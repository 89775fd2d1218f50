"""The intermediate representation of a neural circuit diagram (NCD).

It mirrors the notation: a *data type* is a tuple of tensors, a *tensor* an ordered list of
axes, an *operation* maps a domain data type to a codomain data type and records its kind,
the axes that run past it (broadcast), whether it is learned and has a bias, its label and,
for multilinear wirings, an einsum string.

Example:
    >>> m = Axis(0, 32, "m")
    >>> TensorType("x", (Axis(1, 4, "b", barred=True), m)).labels
    ('b̄', 'm')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: operation kinds (spec §3.2), plus ``wiring`` for reshapes/permutes drawn as wires
OP_KINDS: tuple[str, ...] = (
    "learned-linear", "einsum-wiring", "elementwise", "softmax", "scale", "copy", "add",
    "reshape", "block", "custom", "recurrent",
)

BAR = "\u0304"  # combining macron: x̄


@dataclass(frozen=True)
class Axis:
    """One axis (wire): a unique ``id``, its ``size``, an optional ``symbol``.

    ``barred`` marks index-like axes (token positions, image height and width, neurons with
    identity); ``parts`` lists the axes a merged axis (``k·h``) is made of.
    """

    id: int
    size: int
    symbol: str | None = None
    barred: bool = False
    parts: tuple["Axis", ...] = ()

    @property
    def label(self) -> str:
        """The wire label: the symbol (with a bar if index-like) or the size."""
        if self.symbol is None:
            return str(self.size)
        if self.barred and BAR not in self.symbol:
            return "".join(ch + BAR if ch.isalpha() else ch for ch in self.symbol[:1]) + self.symbol[1:]
        return self.symbol

    @property
    def key(self) -> str:
        """A stable key used to colour wires: one colour per symbol (or per unnamed axis)."""
        return self.symbol if self.symbol is not None else f"#{self.size}"


@dataclass(frozen=True)
class TensorType:
    """A tensor: a name (the traced value) and its ordered axes (top-to-bottom wires)."""

    name: str
    axes: tuple[Axis, ...]
    caption: str = ""

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.size for a in self.axes)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(a.label for a in self.axes)

    def position(self, axis_id: int) -> int | None:
        for i, a in enumerate(self.axes):
            if a.id == axis_id:
                return i
        return None


#: a data type is a tuple of tensors (dashed separators between members)
DataType = tuple[TensorType, ...]


@dataclass
class Op:
    """One operation of a diagram.

    Attributes:
        id: deterministic id (``op0``, ``op1``, ...).
        kind: one of :data:`OP_KINDS`.
        label: glyph text (``L``, ``R``, ``Conv 3×3``, a block's class name, ...).
        domain, codomain: input and output tensors (tuples: data types).
        broadcast: ids of the axes that run past the operation (it is applied
            independently along each of them).
        learned, bias: bold (learned) glyph, and ``L₊`` when it has a bias.
        einsum: the einsum string of a wiring (executable with :func:`torch.einsum`).
        axis: the axis id a softmax / reduction acts on.
        scale: the constant of a ``scale`` tag.
        notes: circuit annotations (mask density, E/I sign rule, scan over t̄, ...).
        module: qualified name of the ``nn.Module`` whose call produced it.
        target: the traced PyTorch op (``aten.linear.default``) or ``"virtual"``.
        call: the operation as a function of its input tensors (faithfulness checks);
            ``call_mode`` says how it treats a broadcast axis: ``"vmap"`` (rank-agnostic,
            checked with :func:`torch.vmap`) or ``"narrow"`` (index-then-apply).
        wiring: (input wire, output wire) pairs of a wiring glyph, as
            ((tensor index, axis index), (tensor index, axis index)).
        caps: pairs of contracted input wires joined by a cap.
    """

    id: str
    kind: str
    label: str
    domain: DataType
    codomain: DataType
    broadcast: tuple[int, ...] = ()
    learned: bool = False
    bias: bool = False
    einsum: str | None = None
    axis: int | None = None
    scale: float | None = None
    notes: tuple[str, ...] = ()
    module: str = ""
    target: str = ""
    call: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    call_mode: str = "vmap"
    wiring: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = ()
    caps: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = ()
    superscript: str = ""

    def __post_init__(self) -> None:
        if self.kind not in OP_KINDS:
            raise ValueError(f"unknown op kind {self.kind!r}")
