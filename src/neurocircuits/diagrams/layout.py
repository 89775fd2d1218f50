"""Layout: alternating data and operation columns, one wire per axis, into a :class:`Scene`.

Ops are layered by longest path from the inputs (one operation column per layer). Tensors
that skip layers run through the columns in between. Within each operation column the items
(ops and passing tensors) are ordered by the barycentre of their inputs (one Sugiyama sweep,
which removes most crossings) and packed top to bottom as close to their inputs as they fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neurocircuits.diagrams.ir import Axis, Op, TensorType

WS = 14.0        # spacing between the wires of a tensor
PAD = 8.0        # padding above the first and below the last wire of a tensor
GAP = 10.0       # vertical gap between tensors / items
BEND = 26.0      # horizontal room for wires bending into an op
TOP = 44.0
LEFT = 16.0
NOTE_H = 11.0
CAPTION_H = 13.0

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#e6780a", "#17a2b8", "#8c564b", "#d6489b",
           "#5a6e1f", "#3b4cc0")
FILL = {"learned-linear": "#ffffff", "elementwise": "#d4efd4", "add": "#e4d9f5", "softmax": "#fde3c8",
        "scale": "#f2f2f2", "custom": "#ffffff", "block": "#dce8f7", "recurrent": "#fbe7d0", "copy": "#f5d742"}
STROKE = {"elementwise": "#2e8b3a", "add": "#7b5fb5", "softmax": "#c9731e", "scale": "#777777",
          "custom": "#444444", "block": "#3a6ea5", "recurrent": "#b5651d", "learned-linear": "#111111"}


@dataclass
class Scene:
    """Drawing primitives (in SVG user units) plus the canvas size."""

    width: float = 0.0
    height: float = 0.0
    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    colours: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, **attrs: Any) -> None:
        self.items.append((kind, attrs))

    def colour(self, a: Axis) -> str:
        """One colour per axis symbol (per unnamed size), in order of first appearance."""
        if a.size == 1:
            return "#9a9a9a"
        if a.key not in self.colours:
            self.colours[a.key] = PALETTE[len(self.colours) % len(PALETTE)]
        return self.colours[a.key]


def text_width(s: str, size: float = 11.0) -> float:
    return sum(0.35 if ch in "il.,:;|'′·" else 0.62 for ch in s) * size


def t_height(t: TensorType) -> float:
    return 2 * PAD + max(len(t.axes) - 1, 0) * WS


def wire_y(ty: float, i: int) -> float:
    return ty + PAD + i * WS


def _op_text(op: Op) -> str:
    if op.kind == "learned-linear":
        return op.label + ("₊" if op.bias else "") + (op.superscript or "")
    return op.label


def einsum_caption(op: Op) -> str:
    """The einsum string written with the axes' symbols: ``b̄ h x̄ k, b̄ h x̄′ k → b̄ h x̄ x̄′``."""
    if not op.einsum:
        return ""
    lhs, rhs = op.einsum.split("->")
    sym: dict[str, str] = {}
    for spec, t in zip(lhs.split(","), op.domain):
        for ch, a in zip(spec, t.axes):
            sym.setdefault(ch, a.label)
    terms = [" ".join(sym.get(ch, ch) for ch in spec) for spec in lhs.split(",")]
    return ", ".join(terms) + " → " + (" ".join(sym.get(ch, ch) for ch in rhs) or "·")


def _glyph_width(op: Op) -> float:
    w = max(24.0, text_width(_op_text(op), 11 if op.kind != "block" else 11) + 14)
    if op.kind == "einsum-wiring":
        w = max(56.0, text_width(einsum_caption(op), 8.5) + 8, text_width(op.label, 11) + 20)
    if op.kind == "reshape":
        w = max(44.0, text_width(op.label, 9) + 10)
    for n in op.notes:
        w = max(w, min(text_width(n, 8), 260))
    return w


def _extra_h(op: Op) -> float:
    h = NOTE_H * len(op.notes)
    if op.kind == "einsum-wiring" or (op.kind == "reshape" and op.label):
        h += CAPTION_H
    if op.kind == "block":
        h += 8
    return h


def layout(d: Any) -> Scene:  # noqa: C901 - one pass over the columns
    ops: list[Op] = d.ops
    inputs: list[TensorType] = list(d.inputs)
    producer: dict[str, int] = {t.name: 0 for t in inputs}
    tensors: dict[str, TensorType] = {t.name: t for t in inputs}
    layer: list[int] = []
    for op in ops:
        lv = 1 + max((producer.get(t.name, 0) for t in op.domain), default=0)
        layer.append(lv)
        for t in op.codomain:
            producer[t.name] = lv
            tensors[t.name] = t
    n_layers = max(layer, default=0)
    out_names = {t.name for t in d.outputs}
    last: dict[str, int] = {}
    consumers: dict[str, list[int]] = {}
    for k, op in enumerate(ops):
        for t in op.domain:
            last[t.name] = max(last.get(t.name, 0), layer[k])
            consumers.setdefault(t.name, []).append(k)
    for name in tensors:
        if name in out_names:
            last[name] = n_layers + 1
        elif name not in last:
            last[name] = producer[name] + 1
    # --- columns ------------------------------------------------------------------------------
    by_layer: dict[int, list[int]] = {}
    for k, lv in enumerate(layer):
        by_layer.setdefault(lv, []).append(k)
    ys: list[dict[str, float]] = [{}]
    y = TOP
    for t in inputs:
        ys[0][t.name] = y
        y += t_height(t) + GAP
    placements: list[list[tuple[str, Any, float, float]]] = [[]]  # per op column: (kind, ref, y, h)
    for lv in range(1, n_layers + 1):
        prev = ys[-1]
        items: list[tuple[float, int, str, Any, float]] = []
        for k in by_layer.get(lv, []):
            op = ops[k]
            ins = [prev[t.name] for t in op.domain if t.name in prev]
            cen = [prev[t.name] + t_height(t) / 2 for t in op.domain if t.name in prev]
            bary = sum(cen) / len(cen) if cen else 1e9
            items.append((bary, k, "op", op, min(ins) if ins else TOP))
        for name, y0 in prev.items():
            if producer[name] < lv < last[name] or (producer[name] < lv and last[name] > lv):
                t = tensors[name]
                items.append((y0 + t_height(t) / 2 - 0.01, -1, "pass", t, y0))
        items.sort(key=lambda it: (it[0], it[1]))
        cur = TOP
        col: dict[str, float] = {}
        place = []
        for _, _, kind, ref, want in items:
            yy = max(want, cur)
            if kind == "pass":
                col[ref.name] = yy
                h = t_height(ref)
            else:
                h_in = sum(t_height(t) for t in ref.domain) + GAP * max(len(ref.domain) - 1, 0)
                yo = yy
                for t in ref.codomain:
                    col[t.name] = yo
                    yo += t_height(t) + GAP
                h_out = yo - yy - GAP if ref.codomain else 0.0
                h = max(h_in, h_out, 2 * PAD) + _extra_h(ref)
            place.append((kind, ref, yy, h))
            cur = yy + h + GAP
        ys.append(col)
        placements.append(place)
    # --- x positions --------------------------------------------------------------------------
    dw = []
    for c in range(n_layers + 1):
        first = [tensors[n] for n in ys[c] if producer[n] == c]
        lab = max((text_width(a.label, 9) for t in first for a in t.axes), default=10)
        cap = max((text_width(d.captions.get(t.name, t.name), 8.5) for t in first), default=0) if c in (
            0, n_layers) else 0
        dw.append(max(38.0, lab + 16, cap + 8))
    ow = [0.0] + [BEND + max((_glyph_width(ref) for kind, ref, _, _ in placements[lv] if kind == "op"), default=20)
                  + 12 for lv in range(1, n_layers + 1)]
    xs_data, xs_op = [], [0.0]
    x = LEFT
    for c in range(n_layers + 1):
        if c > 0:
            xs_op.append(x)
            x += ow[c]
        xs_data.append(x)
        x += dw[c]
    scene = Scene()
    width = x + LEFT
    bottom = max([TOP] + [yy + t_height(tensors[n]) for col in ys for n, yy in col.items()]
                 + [yy + h for pl in placements for _, _, yy, h in pl])
    scene.add("text", x=LEFT, y=20, s=d.title, size=13, weight="bold", anchor="start", fill="#111111")
    # --- data columns -------------------------------------------------------------------------
    for c in range(n_layers + 1):
        x0, x1 = xs_data[c], xs_data[c] + dw[c]
        entries = sorted(ys[c].items(), key=lambda kv: kv[1])
        for j, (name, ty) in enumerate(entries):
            t = tensors[name]
            for i, a in enumerate(t.axes):
                scene.add("line", x1=x0, y1=wire_y(ty, i), x2=x1, y2=wire_y(ty, i), stroke=scene.colour(a), width=1.6)
                if producer[name] == c:
                    scene.add("text", x=x0 + 3, y=wire_y(ty, i) - 3, s=a.label, size=9, anchor="start",
                              fill=scene.colour(a))
            if not t.axes:
                scene.add("circle", cx=(x0 + x1) / 2, cy=ty + PAD, r=2.5, fill="#555555", stroke="none")
            if producer[name] == c and (c == 0 or name in out_names or name in d.captions):
                cap_s = d.captions.get(name, name)
                scene.add("text", x=x1 - 2, y=ty - 1, s=cap_s, size=8.5, anchor="end", fill="#555555",
                          style="italic")
            if j + 1 < len(entries):
                nxt_y = entries[j + 1][1]
                ym = min(ty + t_height(t) - 2, (ty + t_height(t) + nxt_y) / 2)   # clear of the next labels
                scene.add("line", x1=x0, y1=ym, x2=x1, y2=ym, stroke="#888888", width=0.8, dash="4,3")
            n_use = len([k for k in consumers.get(name, []) if layer[k] == c + 1]) + (1 if last[name] > c + 1 else 0)
            if n_use > 1 and t.axes:
                yt, yb = wire_y(ty, 0) - 4, wire_y(ty, len(t.axes) - 1) + 4
                scene.add("rect", x=x1 - 9, y=yt, w=7, h=yb - yt, fill=FILL["copy"], stroke="#b59a00", width=0.8)
                for i, a in enumerate(t.axes):
                    scene.add("circle", cx=x1 - 5.5, cy=wire_y(ty, i), r=1.8, fill="#333333", stroke="none")
    # --- op columns ---------------------------------------------------------------------------
    boxes: list[tuple[Op, tuple[float, float, float, float]]] = []
    for lv in range(1, n_layers + 1):
        xa, xb = xs_op[lv], xs_op[lv] + ow[lv]
        prev, nxt = ys[lv - 1], ys[lv]
        for kind, ref, yy, h in placements[lv]:
            if kind == "pass":
                for i, a in enumerate(ref.axes):
                    _curve(scene, xa, wire_y(prev[ref.name], i), xb, wire_y(yy, i), scene.colour(a))
                continue
            _draw_op(scene, ref, prev, nxt, xa, xb, yy, h)
            boxes.append((ref, (xa + BEND - 6, yy - 8, xb - 2, yy + h + 4)))
    _frames(scene, boxes)
    for k, note in enumerate(d.notes):
        scene.add("text", x=LEFT, y=bottom + 20 + 13 * k, s=note, size=10, anchor="start", fill="#7a3e00",
                  style="italic")
    if d.notes:
        scene.add("rect", x=LEFT - 8, y=TOP - 14, w=width - 2 * LEFT + 16, h=bottom - TOP + 22, fill="none",
                  stroke="#b5651d", width=1.0, dash="6,4", rx=8)
    scene.width = width
    scene.height = bottom + 24 + 13 * len(d.notes)
    return scene


def _frames(scene: Scene, boxes: list[tuple[Op, tuple[float, float, float, float]]]) -> None:
    """Dotted frames around the expanded definition of each top-level sub-module (>= 2 ops),
    drawn only where the frame holds no other op."""
    groups: dict[str, list[tuple[float, float, float, float]]] = {}
    for op, bb in boxes:
        key = op.module.split(".")[0] if op.module else ""
        if key and op.kind != "block":
            groups.setdefault(key, []).append(bb)
    for key, bbs in groups.items():
        if len(bbs) < 2:
            continue
        x0, y0 = min(b[0] for b in bbs), min(b[1] for b in bbs)
        x1, y1 = max(b[2] for b in bbs), max(b[3] for b in bbs)
        inside = sum(1 for op, b in boxes if b[0] < x1 and b[2] > x0 and b[1] < y1 and b[3] > y0)
        if inside != len(bbs):
            continue
        scene.add("rect", x=x0, y=y0 - 6, w=x1 - x0, h=y1 - y0 + 6, fill="none", stroke="#5b7fb0", width=0.9,
                  dash="1.5,2.5", rx=4)
        scene.add("text", x=x0 + 3, y=y0 - 8, s=key, size=8, anchor="start", fill="#5b7fb0", style="italic")


def _curve(scene: Scene, x0: float, y0: float, x1: float, y1: float, colour: str, width: float = 1.6) -> None:
    if abs(y0 - y1) < 0.01:
        scene.add("line", x1=x0, y1=y0, x2=x1, y2=y1, stroke=colour, width=width)
    else:
        xm = (x0 + x1) / 2
        scene.add("path", d=f"M {x0:.1f} {y0:.1f} C {xm:.1f} {y0:.1f} {xm:.1f} {y1:.1f} {x1:.1f} {y1:.1f}",
                  stroke=colour, width=width)


def _stack(ts: tuple[TensorType, ...], y0: float) -> list[float]:
    out, y = [], y0
    for t in ts:
        out.append(y)
        y += t_height(t) + GAP
    return out


def _draw_op(scene: Scene, op: Op, prev: dict[str, float], nxt: dict[str, float], xa: float, xb: float,
             yy: float, h: float) -> None:
    gx0, gx1 = xa + BEND, xb - 6
    in_y = _stack(op.domain, yy)
    out_y = [nxt.get(t.name, y) for t, y in zip(op.codomain, _stack(op.codomain, yy))]
    # bend every input from its data-column position to its stacked position at the glyph
    for t, y_dst in zip(op.domain, in_y):
        y_src = prev.get(t.name, y_dst)
        for i, a in enumerate(t.axes):
            _curve(scene, xa, wire_y(y_src, i), gx0, wire_y(y_dst, i), scene.colour(a))
    if op.kind in ("reshape", "einsum-wiring"):
        _draw_wiring(scene, op, in_y, out_y, gx0, gx1, xb, yy, h)
    else:
        _draw_box(scene, op, in_y, out_y, gx0, gx1, xb, yy, h)


def _draw_wiring(scene: Scene, op: Op, in_y: list[float], out_y: list[float], gx0: float, gx1: float,
                 xb: float, yy: float, h: float) -> None:
    fan_in: dict[tuple[int, int], int] = {}
    for src, dst in op.wiring:
        fan_in[dst] = fan_in.get(dst, 0) + 1
    xm = gx0 + (gx1 - gx0) * 0.62
    for (ti, i), (to, j) in op.wiring:
        a = op.domain[ti].axes[i]
        y0, y1 = wire_y(in_y[ti], i), wire_y(out_y[to], j)
        _curve(scene, gx0, y0, xm, y1, scene.colour(a))
    for (to, j), cnt in sorted(fan_in.items()):
        b = op.codomain[to].axes[j]
        y1 = wire_y(out_y[to], j)
        scene.add("line", x1=xm, y1=y1, x2=xb, y2=y1, stroke=scene.colour(b), width=1.6)
        if cnt > 1:
            scene.add("circle", cx=xm, cy=y1, r=2.6, fill="#222222", stroke="none")
    for to, t in enumerate(op.codomain):   # output wires with no source: new size-1 axes (unsqueeze)
        for j, b in enumerate(t.axes):
            if (to, j) not in fan_in:
                y1 = wire_y(out_y[to], j)
                scene.add("line", x1=xm, y1=y1, x2=xb, y2=y1, stroke=scene.colour(b), width=1.6)
                scene.add("polygon", points=_arrow_tail(xm, y1), fill=scene.colour(b), stroke="none")
    used = {src for src, _ in op.wiring} | {p for c in op.caps for p in c}
    for ti, t in enumerate(op.domain):     # input wires that end: squeeze / select / contraction
        for i, a in enumerate(t.axes):
            if (ti, i) not in used:
                y0 = wire_y(in_y[ti], i)
                scene.add("line", x1=gx0, y1=y0, x2=gx0 + 10, y2=y0, stroke=scene.colour(a), width=1.6)
                scene.add("polygon", points=_arrow_tail(gx0 + 10, y0), fill=scene.colour(a), stroke="none")
    for p, q in op.caps:
        a = op.domain[p[0]].axes[p[1]]
        y0, y1 = wire_y(in_y[p[0]], p[1]), wire_y(in_y[q[0]], q[1])
        xc = gx0 + 10
        if p == q:
            scene.add("line", x1=gx0, y1=y0, x2=xc, y2=y0, stroke=scene.colour(a), width=1.6)
            scene.add("circle", cx=xc, cy=y0, r=2.6, fill=scene.colour(a), stroke="none")
        else:
            bulge = xc + 8 + abs(y1 - y0) * 0.18
            scene.add("path", d=f"M {gx0:.1f} {y0:.1f} C {bulge:.1f} {y0:.1f} {bulge:.1f} {y1:.1f} {gx0:.1f} {y1:.1f}",
                      stroke=scene.colour(a), width=1.6)
    if op.kind == "einsum-wiring" or op.label:
        cap_y = yy + h - 3 - NOTE_H * len(op.notes)
        if op.kind == "einsum-wiring":
            scene.add("rect", x=gx0 - 3, y=yy - 3, w=gx1 - gx0 + 6, h=h - NOTE_H * len(op.notes), fill="none",
                      stroke="#9a9a9a", width=0.7, dash="2,2", rx=3)
            text = einsum_caption(op)
            if op.label:
                scene.add("text", x=(gx0 + gx1) / 2, y=yy + 9, s=op.label, size=10, anchor="middle", fill="#333333")
            if op.scale is not None:
                text += f" ∗{op.scale:.3g}"
            scene.add("text", x=(gx0 + gx1) / 2, y=cap_y, s=text, size=8.5, anchor="middle", fill="#333333")
        else:
            scene.add("text", x=(gx0 + gx1) / 2, y=cap_y, s=op.label, size=9, anchor="middle", fill="#333333")
    _notes(scene, op, gx0, yy + h)


def _arrow_tail(x: float, y: float) -> str:
    return f"{x - 4:.1f},{y - 3.5:.1f} {x + 1:.1f},{y:.1f} {x - 4:.1f},{y + 3.5:.1f}"


def _notes(scene: Scene, op: Op, x: float, y_bottom: float) -> None:
    for k, note in enumerate(op.notes):
        y = y_bottom - NOTE_H * (len(op.notes) - k - 1) - 2
        scene.add("text", x=x, y=y, s=note, size=8, anchor="start", fill="#7a3e00", style="italic")


def _draw_box(scene: Scene, op: Op, in_y: list[float], out_y: list[float], gx0: float, gx1: float,
              xb: float, yy: float, h: float) -> None:
    bc = set(op.broadcast)
    passing: set[int] = set()
    if len(op.domain) == 1 and len(op.codomain) == 1 and op.kind not in ("block", "recurrent"):
        t_in, t_out = op.domain[0], op.codomain[0]
        for i, a in enumerate(t_in.axes):
            j = t_out.position(a.id)
            if a.id in bc and j is not None:
                passing.add(a.id)
                _curve(scene, gx0, wire_y(in_y[0], i), xb, wire_y(out_y[0], j), scene.colour(a))
    active_in = [(ti, i) for ti, t in enumerate(op.domain) for i, a in enumerate(t.axes) if a.id not in passing]
    active_out = [(to, j) for to, t in enumerate(op.codomain) for j, a in enumerate(t.axes) if a.id not in passing]
    text = op.label
    w = max(22.0, text_width(_op_text(op), 11) + 12)
    lift = op.kind in ("elementwise", "scale", "softmax") and not active_in and not active_out
    cx = (gx0 + gx1) / 2
    bx0, bx1 = cx - w / 2, cx + w / 2
    ys_act = [wire_y(in_y[ti], i) for ti, i in active_in] + [wire_y(out_y[to], j) for to, j in active_out]
    body_h = h - _extra_h(op)
    if op.kind == "softmax" and op.axis is not None:
        t_in = op.domain[0]
        sm_pos = t_in.position(op.axis)
        yw = wire_y(in_y[0], sm_pos if sm_pos is not None else 0)
        scene.add("polygon", points=f"{cx - 8:.1f},{yw - 8:.1f} {cx + 8:.1f},{yw:.1f} {cx - 8:.1f},{yw + 8:.1f}",
                  fill=FILL["softmax"], stroke=STROKE["softmax"], width=1.2)
        scene.add("text", x=cx, y=yw - 10, s=op.label, size=8, anchor="middle", fill=STROKE["softmax"])
        _notes(scene, op, gx0, yy + h)
        return
    if lift:
        if op.domain and op.domain[0].axes:
            t = op.domain[0]
            ymid = (wire_y(in_y[0], 0) + wire_y(in_y[0], len(t.axes) - 1)) / 2
        else:
            ymid = yy + body_h / 2
        top, bot = ymid - 8, ymid + 8
    elif ys_act:
        top, bot = min(ys_act) - 7, max(ys_act) + 7
    else:
        top, bot = yy + 2, yy + body_h - 2
    if op.kind in ("block", "recurrent", "add") or len(op.domain) > 1:
        top, bot = yy + 1, yy + body_h - 1
        w = max(w, 34.0)
        bx0, bx1 = cx - w / 2, cx + w / 2
    # wires into / out of the box
    for ti, i in active_in:
        a = op.domain[ti].axes[i]
        y0 = wire_y(in_y[ti], i)
        scene.add("line", x1=gx0, y1=y0, x2=bx0, y2=y0, stroke=scene.colour(a), width=1.6)
    for to, j in active_out:
        b = op.codomain[to].axes[j]
        y1 = wire_y(out_y[to], j)
        scene.add("line", x1=bx1, y1=y1, x2=xb, y2=y1, stroke=scene.colour(b), width=1.6)
    fill = FILL.get(op.kind, "#ffffff")
    stroke = STROKE.get(op.kind, "#333333")
    bold = op.learned
    if op.kind == "custom" and op.learned:
        stroke = "#111111"
    if op.kind == "block":
        for off in (6, 3):
            scene.add("rect", x=bx0 + off, y=top - off, w=bx1 - bx0, h=bot - top, fill="#eef3fa", stroke=stroke,
                      width=0.8)
    if op.kind == "scale":
        scene.add("rect", x=bx0, y=top, w=bx1 - bx0, h=bot - top, fill=fill, stroke=stroke, width=0.9, rx=7)
    else:
        scene.add("rect", x=bx0, y=top, w=bx1 - bx0, h=bot - top, fill=fill, stroke=stroke,
                  width=2.4 if bold else 1.0, rx=2 if op.kind != "elementwise" else 5)
    if op.kind == "elementwise":   # arrow-tail ends of a lifted ℝ¹ → ℝ¹ map
        ym = (top + bot) / 2
        scene.add("polygon", points=_arrow_tail(bx0, ym), fill=stroke, stroke="none")
        scene.add("polygon", points=_arrow_tail(bx1 + 4, ym), fill=stroke, stroke="none")
    ym = (top + bot) / 2 + 4
    if op.kind == "learned-linear":
        main = op.label
        tw = text_width(main + ("₊" if op.bias else ""), 12)
        sw = text_width(op.superscript, 7.5)
        x0 = cx - (tw + sw) / 2
        scene.add("text", x=x0, y=ym, s=main + ("₊" if op.bias else ""), size=12, anchor="start",
                  weight="bold" if op.learned else "normal", fill="#111111")
        if op.superscript:
            scene.add("text", x=x0 + tw, y=ym - 6, s=op.superscript, size=7.5, anchor="start", fill="#111111")
    else:
        scene.add("text", x=(bx0 + bx1) / 2, y=ym, s=text, size=10.5 if op.kind != "block" else 10,
                  anchor="middle", weight="bold" if bold else "normal", fill="#111111")
    if op.kind == "recurrent":
        scene.add("text", x=bx1 - 3, y=top + 10, s="↻", size=10, anchor="end", fill=STROKE["recurrent"])
    _notes(scene, op, gx0, yy + h)
