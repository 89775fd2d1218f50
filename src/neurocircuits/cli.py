"""Command line: ``neurocircuits list | run NAME | report DIR | diagram TARGET``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from neurocircuits.errors import NeurocircuitsError


def _parse_set(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for it in items:
        if "=" not in it:
            raise SystemExit(f"--set expects KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["diagram"]:  # parsed by neurocircuits.diagrams.command
        try:
            from neurocircuits.diagrams.command import run_diagram

            return run_diagram(argv[1:])
        except NeurocircuitsError as e:
            print(f"neurocircuits: error: {e}", file=sys.stderr)
            return 2
    p = argparse.ArgumentParser(prog="neurocircuits", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the registered experiments")
    r = sub.add_parser("run", help="run an experiment and write its report")
    r.add_argument("name")
    r.add_argument("--quick", action="store_true", help="less data and fewer seeds (same code)")
    r.add_argument("--seeds", type=int, default=None, help="number of seeds (0..N-1)")
    r.add_argument("--out", default=None, help="output folder (default runs/NAME[-quick])")
    r.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config fields")
    r.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda'")
    r.add_argument("--fresh", action="store_true", help="discard checkpoints of an earlier run in --out")
    r.add_argument("--no-progress", action="store_true")
    rep = sub.add_parser("report", help="rewrite report.md of a run folder")
    rep.add_argument("run_dir")
    dg = sub.add_parser("diagram", add_help=False, help="draw a neural circuit diagram (see diagram --help)")
    dg.add_argument("diagram_argv", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    try:
        if args.cmd == "list":
            from neurocircuits.experiments import list_experiments

            for exp in list_experiments():
                print(f"{exp.name:22s} {exp.title}")
            return 0
        if args.cmd == "run":
            from neurocircuits.experiments import run_experiment

            out = run_experiment(args.name, quick=args.quick, seeds=args.seeds, out=args.out,
                                 overrides=_parse_set(args.set), device=args.device,
                                 progress=not args.no_progress, fresh=args.fresh)
            print(f"report: {out / 'report.md'}")
            return 0
        if args.cmd == "report":
            from neurocircuits.report import write_report

            print(f"report: {write_report(args.run_dir)}")
            return 0
    except NeurocircuitsError as e:
        print(f"neurocircuits: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neurocircuits: interrupted; re-run the same command to resume from checkpoints", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
