"""``neurocircuits diagram TARGET --out FILE.svg``: the command-line front end of the diagrams."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neurocircuits.errors import UnknownNameError, ValidationError

USAGE = """TARGET is a gallery name (see --list), a saved circuit (.h5), or module:attribute where the
attribute is an nn.Module (give --input-shape), a Circuit, or a function returning either, or
(module, example_inputs, diagram_kwargs)."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neurocircuits diagram", description="Draw a neural circuit diagram.",
                                epilog=USAGE)
    p.add_argument("target", nargs="?")
    p.add_argument("--out", help="output file (.svg or .png)")
    p.add_argument("--depth", type=int, default=None, help="collapse modules nested deeper than this")
    p.add_argument("--input-shape", action="append", default=[], metavar="2,784",
                   help="example input shape for a module:attribute module (repeat for several inputs)")
    p.add_argument("--axes", action="append", default=None, metavar="'b x m'", help="axis names per input")
    p.add_argument("--index", default="", help="index-like (barred) symbols, e.g. 'b x'")
    p.add_argument("--list", action="store_true", help="list the gallery")
    p.add_argument("--gallery", metavar="DIR", help="render the whole gallery into DIR with an index page")
    p.add_argument("--check", action="store_true", help="run the faithfulness checks and print them")
    return p


def resolve(target: str, input_shapes: Sequence[str] = (), depth: int | None = None, axes: Any = None,
            index: str = "") -> Any:
    """The :class:`~neurocircuits.diagrams.Diagram` that ``target`` names (see :data:`USAGE`)."""
    import torch

    from neurocircuits.circuit import Circuit
    from neurocircuits.diagrams.diagram import diagram
    from neurocircuits.diagrams.gallery import GALLERY, build

    if target in GALLERY:
        if depth is None:
            return build(target)
        module, inputs, kw = GALLERY[target].build()
        kw = {**kw, "depth": depth}
        return diagram(module, *inputs, title=GALLERY[target].title, **kw)
    if target.endswith(".h5"):
        return Circuit.load(target).draw()
    if ":" not in target:
        raise UnknownNameError("diagram target", target, GALLERY, hint="or give module:attribute or a .h5 circuit")
    mod_name, attr = target.split(":", 1)
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as err:
        raise ValidationError(f"cannot import module {mod_name!r}: {err}") from err
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UnknownNameError(f"attribute of {mod_name}", part, [a for a in dir(obj) if not a.startswith("_")])
        obj = getattr(obj, part)
    if callable(obj) and not isinstance(obj, (torch.nn.Module, type)):
        obj = obj()
    elif isinstance(obj, type):
        obj = obj()
    if isinstance(obj, Circuit):
        return obj.draw()
    if isinstance(obj, tuple) and len(obj) == 3:
        module, inputs, kw = obj
        return diagram(module, *inputs, **({**kw, "depth": depth} if depth is not None else kw))
    if isinstance(obj, torch.nn.Module):
        if not input_shapes:
            raise ValidationError("a module:attribute module needs --input-shape (e.g. --input-shape 2,784)")
        try:
            shapes = [tuple(int(s) for s in sh.split(",")) for sh in input_shapes]
        except ValueError as err:
            raise ValidationError(f"--input-shape must be comma-separated integers, got {input_shapes}") from err
        g = torch.Generator().manual_seed(0)
        inputs = [torch.randn(s, generator=g) for s in shapes]
        return diagram(obj, *inputs, depth=depth, axes=axes, index=index)
    if hasattr(obj, "svg"):
        return obj
    raise ValidationError(f"{target} is a {type(obj).__name__}, not a module, circuit or diagram")


def run_diagram(argv: Sequence[str]) -> int:
    """Entry point of ``neurocircuits diagram``; returns the exit status."""
    args = parser().parse_args(list(argv))
    from neurocircuits.diagrams.gallery import GALLERY, render_gallery

    if args.list:
        for name, e in GALLERY.items():
            print(f"{name:28s} {e.title}")
        return 0
    if args.gallery:
        for r in render_gallery(args.gallery):
            print(f"{r['name']:28s} {r['status']}")
        print(f"index: {Path(args.gallery) / 'index.md'}")
        return 0
    if not args.target or not args.out:
        raise ValidationError("give TARGET and --out FILE.svg (or --list / --gallery DIR)")
    d = resolve(args.target, args.input_shape, args.depth, args.axes if args.axes is None or len(args.axes) > 1
                else args.axes[0], args.index)
    path = d.save(args.out)
    print(f"diagram: {path}")
    if args.check and d.program is not None:
        from neurocircuits.diagrams.checks import check_all

        print(f"checks: {check_all(d)}")
    return 0
