"""The :class:`Diagram` object and :func:`diagram`, the entry point."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from neurocircuits.diagrams.ir import Op, TensorType
from neurocircuits.errors import ValidationError


@dataclass
class Diagram:
    """A neural circuit diagram: tensors and operations, laid out left to right.

    Attributes:
        title: caption drawn above the diagram.
        inputs, outputs: the diagram's domain and codomain (tuples of tensors).
        ops: operations in execution (topological) order.
        notes: diagram-wide annotations (e.g. ``one step · scan over t̄``).
        warnings: ops drawn as labelled boxes because the renderer has no glyph for them.
        captions: per tensor name, an extra label (``h_{t−1}``, ``h_t``).

    ``svg()`` returns deterministic SVG text, ``save(path)`` writes ``.svg`` or ``.png``.
    """

    title: str
    inputs: tuple[TensorType, ...]
    outputs: tuple[TensorType, ...]
    ops: list[Op]
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    captions: dict[str, str] = field(default_factory=dict)
    program: Any = field(default=None, repr=False)
    example_inputs: tuple[torch.Tensor, ...] = field(default=(), repr=False)
    expanded_ops: list[Op] = field(default_factory=list, repr=False)

    def tensors(self) -> list[TensorType]:
        """Every tensor of the diagram (inputs first, then op outputs), each once."""
        seen: dict[str, TensorType] = {t.name: t for t in self.inputs}
        for op in self.ops:
            for t in op.codomain:
                seen.setdefault(t.name, t)
        return list(seen.values())

    def scene(self) -> Any:
        from neurocircuits.diagrams.layout import layout

        return layout(self)

    def svg(self) -> str:
        """Deterministic SVG text (same diagram, same bytes)."""
        from neurocircuits.diagrams.render import to_svg

        return to_svg(self.scene())

    def save(self, path: str | Path, dpi: int = 110) -> Path:
        """Write the diagram as ``.svg`` or ``.png`` (chosen by the suffix)."""
        from neurocircuits.diagrams.render import svg_to_png

        path = Path(path)
        if path.suffix.lower() not in (".svg", ".png"):
            raise ValidationError(f"path must end in .svg or .png, got {path.name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        text = self.svg()
        if path.suffix.lower() == ".svg":
            path.write_text(text, encoding="utf-8")
        else:
            svg_to_png(text, path, dpi=dpi)
        return path

    def _repr_svg_(self) -> str:  # Jupyter
        return self.svg()

    def summary(self) -> str:
        """One line per op: kind, label, domain → codomain axis labels."""
        lines = []
        for op in self.ops:
            dom = " × ".join("(" + " ".join(t.labels) + ")" for t in op.domain)
            cod = " × ".join("(" + " ".join(t.labels) + ")" for t in op.codomain)
            lines.append(f"{op.id:6s} {op.kind:15s} {op.label or op.einsum or '':14s} {dom} → {cod}")
        return "\n".join(lines)


def diagram(module: torch.nn.Module, *example_inputs: torch.Tensor, depth: int | None = None,
            axes: Any = None, index: str | Sequence[str] = (), sizes: Mapping[str, int] | None = None,
            state: int | Sequence[int] | None = None, title: str | None = None) -> Diagram:
    """Draw ``module`` as a neural circuit diagram (Abbott's notation).

    Args:
        module: any ``nn.Module`` that :func:`torch.export.export` can trace.
        example_inputs: tensors of the shapes to draw.
        depth: collapse ``nn.Module`` calls nested deeper than ``depth`` into component
            blocks (``0``: the whole module is one block; ``None``: fully expanded).
        axes: axis names of the inputs: an einops-style pattern (``"b x m"``), a dict
            dim → symbol (``{-1: "m"}``), or a list of those, one per input.
        index: symbols of index-like axes (token positions, pixels, neurons with identity),
            drawn barred (x̄).
        sizes: names for axis sizes created inside the module (``{"d_ff": 128}``); a name
            listed in ``index`` is drawn barred on new axes too (``{"n": 12}`` with ``index="n"``).
        state: indices of inputs that are recurrent state: the diagram is drawn as one
            time step ``(x_t, h_{t−1}) → h_t`` with a "scan over t̄" annotation.
        title: caption (default: the module's class name).

    A sub-module with a string attribute ``diagram_label`` (e.g. ``"z⁻²"`` for a delay) is
    drawn as one box with that label.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> d = diagram(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), torch.randn(2, 4), axes="b m", index="b")
        >>> [op.label for op in d.ops]
        ['L', 'R']
        >>> d.svg().startswith('<svg')
        True
    """
    from neurocircuits.diagrams.capture import capture

    if depth is not None and (not isinstance(depth, int) or depth < 0):
        raise ValidationError(f"depth must be None or an integer >= 0, got {depth!r}")
    ep, cap, ins, outs = capture(module, tuple(example_inputs), axes=axes, index=index, sizes=sizes)
    ops = list(cap.ops)
    labelled = {name: m.diagram_label for name, m in module.named_modules()
                if isinstance(getattr(m, "diagram_label", None), str)}
    if depth is not None or labelled:
        ops = _collapse(cap, ops, depth, labelled)
    ops = fuse_wirings(ops, {t.name for t in outs})
    captions: dict[str, str] = {}
    notes: list[str] = []
    if state is not None:
        idx = [state] if isinstance(state, int) else list(state)
        for i in idx:
            if not 0 <= i < len(ins):
                raise ValidationError(f"state index {i} out of range for {len(ins)} inputs")
            captions[ins[i].name] = f"{ins[i].name}ₜ₋₁"
            for o in outs:
                if o.shape == ins[i].shape:
                    captions[o.name] = f"{ins[i].name}ₜ"
        notes.append("one time step · scan over t̄ (steps are sequential, not broadcast)")
    return Diagram(title if title is not None else type(module).__name__, tuple(ins), tuple(outs), ops,
                   tuple(notes), tuple(cap.warnings), captions, ep, tuple(example_inputs), list(cap.ops))


def fuse_wirings(ops: list[Op], keep: set[str]) -> list[Op]:
    """Merge chains of pure wirings (view, permute, squeeze, select, ...) into one wiring op.

    A reshape whose only consumer is another reshape is drawn as a single column: the wire
    map of the chain is the composition of the wire maps. Tensors in ``keep`` (the diagram's
    outputs) are never hidden.
    """
    uses: dict[str, int] = {}
    for op in ops:
        for t in op.domain:
            uses[t.name] = uses.get(t.name, 0) + 1
    out: list[Op] = []
    last_of: dict[str, int] = {}   # tensor name -> index in ``out`` of the wiring producing it
    for op in ops:
        src = op.domain[0].name if len(op.domain) == 1 else ""
        k = last_of.get(src) if src else None
        if (op.kind == "reshape" and len(op.domain) == 1 and len(op.codomain) == 1 and k is not None
                and uses.get(src, 0) == 1 and src not in keep):
            prev = out[k]
            nxt: dict[int, list[tuple[int, int]]] = {}
            for (_, j), dst in op.wiring:
                nxt.setdefault(j, []).append(dst)
            pairs = tuple(dict.fromkeys((a, d) for a, (_, j) in prev.wiring for d in nxt.get(j, [])))
            labels = " ".join(x for x in (prev.label, op.label) if x)
            out[k] = replace(prev, codomain=op.codomain, wiring=pairs, label=labels,
                             broadcast=tuple(a for a in prev.broadcast if a in op.broadcast))
            del last_of[src]
            last_of[op.codomain[0].name] = k
            continue
        out.append(op)
        if op.kind == "reshape" and len(op.domain) == 1 and len(op.codomain) == 1:
            last_of[op.codomain[0].name] = len(out) - 1
    return out


def _collapse(cap: Any, ops: list[Op], depth: int | None, labelled: dict[str, str] | None = None) -> list[Op]:
    """Replace the ops of every module call nested deeper than ``depth`` by one block op.

    Sub-modules with a ``diagram_label`` attribute (e.g. ``"z⁻²"`` for a delay line) are
    always drawn as one box with that label.
    """
    labelled = labelled or {}
    groups: list[tuple[Any, list[Op]]] = []
    for op, stack in zip(ops, cap.stacks):
        inner = stack[1:] if stack and str(stack[0][1][0]) == "" else stack
        own = next((e for e in stack if str(e[1][0]) in labelled and str(e[1][0]) != ""), None)
        if own is not None:
            key = own
        elif depth is None:
            key = None
        elif depth == 0:
            key = stack[0] if stack else ("", ("", "module"))
        else:
            key = inner[depth - 1] if len(inner) >= depth else None
        if groups and key is not None and groups[-1][0] == key:
            groups[-1][1].append(op)
        else:
            groups.append((key, [op]))
    out: list[Op] = []
    for key, members in groups:
        custom = isinstance(key, tuple) and isinstance(key[1], tuple) and str(key[1][0]) in labelled
        if key is None or (len(members) == 1 and not custom):
            out.extend(members)
            continue
        produced = {t.name for op in members for t in op.codomain}
        consumed_outside: set[str] = set()
        member_ids = {id(op) for op in members}
        for op in ops:
            if id(op) not in member_ids:
                consumed_outside.update(t.name for t in op.domain)
        final = {t.name for t in ops[-1].codomain}
        dom: dict[str, TensorType] = {}
        for op in members:
            for t in op.domain:
                if t.name not in produced:
                    dom.setdefault(t.name, t)
        cod: dict[str, TensorType] = {}
        for op in members:
            for t in op.codomain:
                if t.name in consumed_outside or t.name in final or _is_output(cap, t.name):
                    cod.setdefault(t.name, t)
        boundary = {a.label for t in list(dom.values()) + list(cod.values()) for a in t.axes}
        inner_sizes: list[str] = []
        for op in members:
            for t in op.codomain:
                for a in t.axes:
                    if a.label not in boundary and a.size > 1 and a.label not in inner_sizes:
                        inner_sizes.append(a.label)
        cls = str(key[1][1]).split(".")[-1] if isinstance(key[1], tuple) else str(key)
        path = str(key[1][0]) if isinstance(key[1], tuple) else ""
        label = cls + (f"({', '.join(inner_sizes[:3])})" if inner_sizes else "")
        if custom:
            label = labelled[path]
        out.append(Op(f"blk{len(out)}", "custom" if custom else "block", label, tuple(dom.values()), tuple(cod.values()),
                      learned=any(op.learned for op in members), module=path, target="block",
                      notes=tuple(dict.fromkeys(n for op in members for n in op.notes if "scan" in n))))
    return out


def _is_output(cap: Any, name: str) -> bool:
    out_node = next(n for n in cap.ep.graph.nodes if n.op == "output")
    names = set()
    stack = list(out_node.args)
    while stack:
        a = stack.pop()
        if isinstance(a, (list, tuple)):
            stack.extend(a)
        elif isinstance(a, torch.fx.Node):
            names.add(cap.alias.get(a.name, a.name))
    return name in names
