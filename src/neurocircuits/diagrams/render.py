"""Output: a :class:`~neurocircuits.diagrams.layout.Scene` as deterministic SVG, and SVG as PNG.

PNG rendering parses the SVG this module writes (rect, line, path with ``M``/``C``,
polygon, circle, text) and draws it with matplotlib, so no system library (cairo) is
needed: ``pip install neurocircuits`` is enough.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

FONT = "'CMU Sans Serif', 'Latin Modern Sans', 'DejaVu Sans', Arial, sans-serif"
SVG_NS = "http://www.w3.org/2000/svg"


def _n(v: float) -> str:
    s = f"{float(v):.1f}"
    return s[:-2] if s.endswith(".0") else s


def to_svg(scene: Any) -> str:
    """SVG text of a scene; element ids are sequential, numbers have one decimal."""
    w, h = scene.width, scene.height
    out = [f'<svg xmlns="{SVG_NS}" width="{_n(w)}" height="{_n(h)}" viewBox="0 0 {_n(w)} {_n(h)}" '
           f'font-family="{FONT}">',
           f'<rect id="bg" x="0" y="0" width="{_n(w)}" height="{_n(h)}" fill="#ffffff"/>']
    for k, (kind, a) in enumerate(scene.items):
        eid = f'e{k}'
        stroke = a.get("stroke", "#000000")
        sw = _n(a.get("width", 1.0))
        dash = f' stroke-dasharray="{a["dash"]}"' if a.get("dash") else ""
        if kind == "line":
            cls = f' class="{a["cls"]}"' if a.get("cls") else ""
            out.append(f'<line id="{eid}"{cls} x1="{_n(a["x1"])}" y1="{_n(a["y1"])}" x2="{_n(a["x2"])}" y2="{_n(a["y2"])}" '
                       f'stroke="{stroke}" stroke-width="{sw}"{dash}/>')
        elif kind == "path":
            cls = f' class="{a["cls"]}"' if a.get("cls") else ""
            out.append(f'<path id="{eid}"{cls} d="{a["d"]}" fill="none" stroke="{stroke}" stroke-width="{sw}"{dash}/>')
        elif kind == "rect":
            rx = f' rx="{_n(a["rx"])}"' if a.get("rx") else ""
            out.append(f'<rect id="{eid}" x="{_n(a["x"])}" y="{_n(a["y"])}" width="{_n(a["w"])}" height="{_n(a["h"])}"'
                       f'{rx} fill="{a.get("fill", "none")}" stroke="{stroke}" stroke-width="{sw}"{dash}/>')
        elif kind == "polygon":
            st = a.get("stroke", "none")
            out.append(f'<polygon id="{eid}" points="{a["points"]}" fill="{a.get("fill", "none")}" stroke="{st}" '
                       f'stroke-width="{sw}"/>')
        elif kind == "circle":
            out.append(f'<circle id="{eid}" cx="{_n(a["cx"])}" cy="{_n(a["cy"])}" r="{_n(a["r"])}" '
                       f'fill="{a.get("fill", "none")}" stroke="{a.get("stroke", "none")}" stroke-width="{sw}"/>')
        elif kind == "text":
            attrs = f'x="{_n(a["x"])}" y="{_n(a["y"])}" font-size="{_n(a.get("size", 11))}" ' \
                    f'text-anchor="{a.get("anchor", "start")}" fill="{a.get("fill", "#000000")}"'
            if a.get("weight") == "bold":
                attrs += ' font-weight="bold"'
            if a.get("style") == "italic":
                attrs += ' font-style="italic"'
            if a.get("family") == "monospace":
                attrs += ' font-family="DejaVu Sans Mono, monospace"'
            out.append(f'<text id="{eid}" {attrs}>{escape(a["s"])}</text>')
        else:  # pragma: no cover - the layout only emits the kinds above
            raise ValueError(kind)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _getter(el: ET.Element) -> Any:
    def get(key: str) -> str:
        v = el.get(key)
        if v is None:
            raise ValueError(f"<{el.tag}> lacks the attribute {key!r}")
        return v
    return get


def _colour(c: str | None) -> Any:
    return "none" if c in (None, "none") else c


def _mathtext(s: str) -> str:
    """Barred symbols (combining macron) as mathtext, which matplotlib draws correctly."""
    s = s.replace("$", r"\$")
    return re.sub("(\\w)\u0304", lambda m: "$\\bar{\\mathrm{" + m.group(1) + "}}$", s)


def svg_to_png(svg: str, path: str | Path, dpi: int = 110) -> Path:
    """Render SVG text written by :func:`to_svg` to a PNG file with matplotlib.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.png"
        >>> svg = '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><line x1="0" y1="5" x2="20" y2="5" stroke="#000000"/></svg>'
        >>> svg_to_png(svg, p).stat().st_size > 0
        True
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, PathPatch, Polygon, Rectangle, FancyBboxPatch
    from matplotlib.path import Path as MPath

    root = ET.fromstring(svg)
    w, h = float(root.get("width", 100)), float(root.get("height", 100))
    fig = plt.figure(figsize=(w / 72, h / 72), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.axis("off")
    pt = 72 / 72  # 1 SVG unit = 1 pt at this figure size
    z = 0
    for el in root:
        tag = el.tag.split("}")[-1]
        get = _getter(el)
        z += 1
        sw = float(el.get("stroke-width", 1)) * pt
        stroke = _colour(el.get("stroke"))
        fill = _colour(el.get("fill"))
        dash = el.get("stroke-dasharray")
        ls = (0, tuple(float(v) / max(sw, 0.5) for v in dash.split(","))) if dash else "solid"
        if tag == "line":
            ax.plot([float(get("x1")), float(get("x2"))], [float(get("y1")), float(get("y2"))],
                    color=stroke, lw=sw, linestyle=ls, zorder=z, solid_capstyle="butt")
        elif tag == "path":
            tok = get("d").replace(",", " ").split()
            verts, codes, i = [], [], 0
            while i < len(tok):
                if tok[i] == "M":
                    verts.append((float(tok[i + 1]), float(tok[i + 2])))
                    codes.append(MPath.MOVETO)
                    i += 3
                elif tok[i] == "C":
                    for k in range(3):
                        verts.append((float(tok[i + 1 + 2 * k]), float(tok[i + 2 + 2 * k])))
                        codes.append(MPath.CURVE4)
                    i += 7
                else:
                    raise ValueError(f"unsupported path command {tok[i]!r}")
            ax.add_patch(PathPatch(MPath(verts, codes), fill=False, edgecolor=stroke, lw=sw, linestyle=ls, zorder=z))
        elif tag == "rect":
            x, y = float(get("x")), float(get("y"))
            rw, rh = float(get("width")), float(get("height"))
            rx = float(el.get("rx", 0))
            kw = dict(facecolor=fill, edgecolor=stroke if stroke != "none" else "none", lw=sw, linestyle=ls, zorder=z,
                      fill=fill != "none")
            if rx > 0:
                ax.add_patch(FancyBboxPatch((x + rx, y + rx), max(rw - 2 * rx, 0.1), max(rh - 2 * rx, 0.1),
                                            boxstyle=f"round,pad={rx}", **kw))
            else:
                ax.add_patch(Rectangle((x, y), rw, rh, **kw))
        elif tag == "polygon":
            pts = [tuple(map(float, p.split(","))) for p in get("points").split()]
            ax.add_patch(Polygon(pts, closed=True, facecolor=fill, edgecolor=stroke, lw=sw, zorder=z,
                                 fill=fill != "none"))
        elif tag == "circle":
            ax.add_patch(Circle((float(get("cx")), float(get("cy"))), float(get("r")), facecolor=fill,
                                edgecolor=stroke, lw=sw, zorder=z, fill=fill != "none"))
        elif tag == "text":
            anchor = {"start": "left", "middle": "center", "end": "right"}[el.get("text-anchor", "start")]
            fam = "monospace" if "Mono" in (el.get("font-family") or "") else "DejaVu Sans"
            ax.text(float(get("x")), float(get("y")), _mathtext(el.text or ""), fontsize=float(el.get("font-size", 11)) * pt,
                    ha=anchor, va="baseline", color=_colour(el.get("fill")) or "#000000",
                    fontweight=el.get("font-weight", "normal"), fontstyle=el.get("font-style", "normal"),
                    family=fam, zorder=z)
        else:
            raise ValueError(f"unsupported SVG element <{tag}>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, facecolor="white")
    plt.close(fig)
    return path
