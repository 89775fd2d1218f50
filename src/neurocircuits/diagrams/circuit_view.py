"""The wiring view of a :class:`~neurocircuits.circuit.Circuit`.

Neurons are grouped by cell class into columns (sensory → inter → motor, then any other
class), sorted by name; chemical synapses are curves coloured by sign (excitatory red with
an arrow, inhibitory blue with a bar end, unknown grey), with opacity growing with
``abs(weight)``; electrical synapses (gap junctions) are dashed green, undirected. This
view is a library extension, not part of Abbott's notation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurocircuits.diagrams.diagram import Diagram
from neurocircuits.diagrams.layout import Scene, text_width
from neurocircuits.errors import ValidationError

CLASS_ORDER = ("sensory", "interneuron", "inter", "motor", "muscle")
CLASS_COLOURS = ("#e6780a", "#3b4cc0", "#2ca02c", "#9467bd", "#8c564b", "#17a2b8", "#d6489b", "#5a6e1f")
EXC, INH, UNK, GAP_C = "#c0392b", "#2e5fa8", "#888888", "#2ca02c"


@dataclass
class CircuitDiagram(Diagram):
    """A :class:`Diagram` of a circuit's wiring (``.svg()``, ``.save(path)``)."""

    circuit: Any = field(default=None, repr=False)
    labels: bool = True
    max_edges: int = 2000

    def scene(self) -> Scene:
        return _wiring_scene(self)


def draw_circuit(circuit: Any, labels: bool | None = None, max_edges: int = 2000,
                 title: str | None = None) -> CircuitDiagram:
    """The wiring view of ``circuit`` (see the module docstring).

    Args:
        labels: draw neuron names (default: when there are at most 120 neurons).
        max_edges: draw at most this many chemical edges, the strongest first (the figure
            says how many were left out).

    Example:
        >>> from neurocircuits.circuit import Circuit
        >>> c = Circuit(["a", "b", "c"], [0, 1], [1, 2], [2.0, -1.0], cell_class=["sensory", "inter", "motor"])
        >>> d = draw_circuit(c)
        >>> d.svg().count('class="chem"')
        2
    """
    if not all(hasattr(circuit, a) for a in ("names", "pre", "post", "weight", "kind", "cell_class", "sign")):
        raise ValidationError(f"circuit must be a Circuit, got {type(circuit).__name__}")
    if not isinstance(max_edges, int) or max_edges < 0:
        raise ValidationError(f"max_edges must be an integer >= 0, got {max_edges!r}")
    lab = circuit.n_neurons <= 120 if labels is None else bool(labels)
    name = title if title is not None else str(circuit.meta.get("source") or "Circuit")
    return CircuitDiagram(name, (), (), [], circuit=circuit, labels=lab, max_edges=max_edges)


def _classes(c: Any) -> list[str]:
    present = list(dict.fromkeys(c.cell_class.tolist()))
    known = [k for k in CLASS_ORDER if k in present]
    return known + sorted(k for k in present if k not in known)


def _wiring_scene(d: CircuitDiagram) -> Scene:
    c = d.circuit
    scene = Scene()
    classes = _classes(c)
    col_w, row_h, top, left = 170.0, 15.0 if d.labels else 7.0, 60.0, 30.0
    pos = np.zeros((c.n_neurons, 2))
    tallest = 1
    for k, cl in enumerate(classes):
        members = sorted(np.flatnonzero(c.cell_class == cl).tolist(), key=lambda i: c.names[i])
        tallest = max(tallest, len(members))
        for r, i in enumerate(members):
            pos[i] = (left + 40 + k * col_w, top + 20 + r * row_h)
    height = top + 40 + tallest * row_h + 50
    width = left + 80 + max(len(classes) - 1, 0) * col_w + 80
    scene.add("text", x=left, y=22, s=d.title, size=13, weight="bold", anchor="start", fill="#111111")
    n_chem = int((c.kind == 0).sum())
    n_gap = int((c.kind == 1).sum()) // 2
    chem = np.flatnonzero(c.kind == 0)
    order = chem[np.argsort(-np.abs(c.weight[chem]), kind="stable")][: d.max_edges]
    order = np.sort(order)
    wmax = float(np.abs(c.weight[chem]).max()) if chem.size else 1.0
    for e in order:
        a, b = int(c.pre[e]), int(c.post[e])
        w = float(c.weight[e])
        colour = EXC if w > 0 else INH if w < 0 else UNK
        op = 0.25 + 0.75 * math.sqrt(abs(w) / wmax) if wmax > 0 else 1.0
        (x0, y0), (x1, y1) = pos[a], pos[b]
        if a == b:
            path = f"M {x0:.1f} {y0:.1f} C {x0 + 20:.1f} {y0 - 14:.1f} {x0 + 20:.1f} {y0 + 14:.1f} {x0:.1f} {y0:.1f}"
        else:
            bend = 18.0 + 0.08 * abs(y1 - y0) if abs(x1 - x0) < 1 else 0.12 * math.hypot(x1 - x0, y1 - y0)
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            if abs(x1 - x0) < 1:   # within a class: bulge away from the neuron names
                cx, cy = mx + (bend if x0 < left + 40 + 1 and len(classes) > 1 else -bend), my
            else:
                nx, ny = -(y1 - y0), (x1 - x0)
                norm = math.hypot(nx, ny) or 1.0
                cx, cy = mx + bend * nx / norm, my + bend * ny / norm
            path = (f"M {x0:.1f} {y0:.1f} C {cx:.1f} {cy:.1f} {cx:.1f} {cy:.1f} {x1:.1f} {y1:.1f}")
        scene.add("path", d=path, stroke=_blend(colour, op), width=0.6 + 1.4 * op, cls="chem")
        # end marker: arrow (excitatory) / bar (inhibitory) / dot (unknown), just before the target
        dx, dy = x1 - x0, y1 - y0
        L = math.hypot(dx, dy) or 1.0
        ux, uy = dx / L, dy / L
        ex, ey = x1 - 5 * ux, y1 - 5 * uy
        if a != b:
            if w > 0:
                scene.add("polygon", points=f"{ex - 4 * ux - 3 * uy:.1f},{ey - 4 * uy + 3 * ux:.1f} {ex:.1f},{ey:.1f} "
                          f"{ex - 4 * ux + 3 * uy:.1f},{ey - 4 * uy - 3 * ux:.1f}", fill=_blend(colour, op), stroke="none")
            elif w < 0:
                scene.add("line", x1=ex - 3.5 * uy, y1=ey + 3.5 * ux, x2=ex + 3.5 * uy, y2=ey - 3.5 * ux,
                          stroke=colour, width=1.6)
    gap = np.flatnonzero((c.kind == 1) & (c.pre < c.post))
    for e in gap:
        (x0, y0), (x1, y1) = pos[int(c.pre[e])], pos[int(c.post[e])]
        scene.add("line", x1=x0, y1=y0, x2=x1, y2=y1, stroke=GAP_C, width=1.2, dash="3,2", cls="gap")
    for k, cl in enumerate(classes):
        colour = CLASS_COLOURS[k % len(CLASS_COLOURS)]
        x = left + 40 + k * col_w
        idx = np.flatnonzero(c.cell_class == cl)
        scene.add("text", x=x, y=top, s=f"{cl} ({idx.size})", size=11, anchor="middle", weight="bold", fill=colour)
        for i in idx:
            s = int(c.sign[i])
            scene.add("circle", cx=pos[i][0], cy=pos[i][1], r=4.5 if d.labels else 2.8, fill=colour,
                      stroke="#c0392b" if s > 0 else "#2e5fa8" if s < 0 else "#ffffff", width=1.4)
            if d.labels:   # outside the edges: left of the first column, right of the others
                first = k == 0 and len(classes) > 1
                scene.add("text", x=pos[i][0] + (-8 if first else 8), y=pos[i][1] + 3.5, s=c.names[i], size=8,
                          anchor="end" if first else "start", fill="#222222")
    ly = height - 30
    items = [(EXC, "excitatory chemical (+)"), (INH, "inhibitory chemical (−)"), (GAP_C, "electrical (gap junction)")]
    x = left
    for colour, text in items:
        if colour == GAP_C:
            scene.add("line", x1=x, y1=ly, x2=x + 22, y2=ly, stroke=colour, width=1.2, dash="3,2")
        else:
            scene.add("line", x1=x, y1=ly, x2=x + 22, y2=ly, stroke=colour, width=1.6)
        scene.add("text", x=x + 27, y=ly + 3.5, s=text, size=9, anchor="start", fill="#222222")
        x += 40 + text_width(text, 9)
    shown = len(order)
    extra = f" (strongest {shown} drawn)" if shown < n_chem else ""
    scene.add("text", x=left, y=ly + 17, s=f"{c.n_neurons} neurons · {n_chem} chemical edges{extra} · {n_gap} "
              f"electrical pairs · node ring: neuron sign (red +, blue −, white unknown)", size=9, anchor="start",
              fill="#555555")
    footer = scene.items[-1][1]["s"]
    scene.width = max(width, x + 10, left + text_width(footer, 9) + 20)
    scene.height = height
    return scene


def _blend(hex_colour: str, opacity: float) -> str:
    """``hex_colour`` mixed with white (opacity without an SVG attribute: same look in PNG)."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    mix = [round(255 - (255 - v) * opacity) for v in (r, g, b)]
    return "#" + "".join(f"{v:02x}" for v in mix)
