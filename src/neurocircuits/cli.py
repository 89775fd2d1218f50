"""Command line: ``neurocircuits list | run NAME | report DIR | diagram TARGET``.

Every error that comes from the input (an unknown experiment, a bad ``--set`` value, an
unavailable device, an unusable ``--out``, a broken run folder, a diverging loss) is one line
on stderr and exit code 2. Ctrl-C and SIGTERM (what batch schedulers send) stop the run with
its checkpoints kept and its report marked incomplete; the same command resumes it.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from neurocircuits.errors import NeurocircuitsError


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM (handled like Ctrl-C)."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def _parse_set(items: Sequence[str]) -> dict[str, str]:
    from neurocircuits.errors import ValidationError

    out = {}
    for it in items:
        if "=" not in it:
            raise ValidationError(f"--set expects KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _version() -> str:
    from importlib import metadata

    import neurocircuits

    try:
        return metadata.version("neurocircuits")
    except metadata.PackageNotFoundError:  # running from a source tree
        return neurocircuits.__version__


def _config_help(name: str) -> str:
    """The config fields of experiment ``name`` as a table: type, default, quick value, help."""
    from neurocircuits.experiments import get_experiment
    from neurocircuits.experiments.registry import field_help

    exp = get_experiment(name)
    rows = field_help(exp.config_cls)
    w = {k: max(len(k), *(len(r[k]) for r in rows)) for k in ("name", "type", "default", "quick")}
    w = {k: min(v, 36) for k, v in w.items()}

    def cut(s: str, n: int) -> str:
        return s if len(s) <= n else s[:n - 3] + "..."

    head = f"  {'field':{w['name']}}  {'type':{w['type']}}  {'default':{w['default']}}  {'quick':{w['quick']}}  help"
    lines = [f"config fields of {name} ({exp.title}); set them with --set FIELD=VALUE "
             "(lists comma-separated, 'none' for an empty optional):", head]
    for r in rows:
        lines.append(f"  {cut(r['name'], w['name']):{w['name']}}  {cut(r['type'], w['type']):{w['type']}}  "
                     f"{cut(r['default'], w['default']):{w['default']}}  {cut(r['quick'], w['quick']):{w['quick']}}  "
                     f"{r['help']}".rstrip())
    return "\n".join(lines)


def _parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    p = argparse.ArgumentParser(prog="neurocircuits", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"neurocircuits {_version()}")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the registered experiments")
    r = sub.add_parser("run", help="run an experiment and write its report",
                       description="Run experiment NAME and write its report. `neurocircuits run NAME --help` "
                                   "also lists NAME's config fields.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("name")
    r.add_argument("--quick", action="store_true", help="less data and fewer seeds (same code)")
    r.add_argument("--seeds", type=int, default=None, help="number of seeds (0..N-1); finished seeds are reused")
    r.add_argument("--out", default=None, help="output folder (default runs/NAME[-quick])")
    r.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config fields")
    r.add_argument("--device", default="auto", help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    r.add_argument("--workers", type=int, default=None, metavar="N",
                   help="run independent units in N local worker processes")
    r.add_argument("--executor", default="in-process", choices=["in-process", "ray"],
                   help="where units run: this process (or --workers N processes), or a Ray cluster")
    r.add_argument("--address", default=None,
                   help="with --executor ray: address of a running cluster (e.g. HOST:6379 or 'auto'); "
                        "default: start a local Ray instance")
    r.add_argument("--fresh", action="store_true",
                   help="discard the checkpoints, tables and plots of an earlier run in --out")
    r.add_argument("--no-progress", action="store_true")
    rep = sub.add_parser("report", help="rewrite report.md of a run folder")
    rep.add_argument("run_dir")
    dg = sub.add_parser("diagram", add_help=False, help="draw a neural circuit diagram (see diagram --help)")
    dg.add_argument("diagram_argv", nargs=argparse.REMAINDER)
    return p, r


def _run_help(argv: list[str]) -> str | None:
    """``run NAME --help``: the config table of NAME (None if NAME is not given or not known)."""
    if len(argv) < 2 or argv[0] != "run" or not ({"-h", "--help"} & set(argv)):
        return None
    name = next((a for a in argv[1:] if not a.startswith("-")), None)
    if name is None:
        return None
    try:
        return _config_help(name)
    except NeurocircuitsError as e:
        return f"({e})"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["diagram"]:  # parsed by neurocircuits.diagrams.command
        try:
            from neurocircuits.diagrams.command import run_diagram

            return run_diagram(argv[1:])
        except NeurocircuitsError as e:
            print(f"neurocircuits: error: {e}", file=sys.stderr)
            return 2
    extra = _run_help(argv)
    p, run_parser = _parser()
    if extra is not None:
        run_parser.epilog = extra
    args = p.parse_args(argv)
    previous: Any = None
    try:
        if args.cmd == "list":
            from neurocircuits.experiments import list_experiments

            for exp in list_experiments():
                print(f"{exp.name:22s} {exp.title}")
            return 0
        if args.cmd == "run":
            from neurocircuits.experiments import run_experiment

            try:  # SIGTERM behaves like Ctrl-C: checkpoints kept, report marked incomplete
                previous = signal.signal(signal.SIGTERM, _on_sigterm)
            except ValueError:  # not the main thread
                previous = None
            out = run_experiment(args.name, quick=args.quick, seeds=args.seeds, out=args.out,
                                 overrides=_parse_set(args.set), device=args.device,
                                 progress=not args.no_progress, fresh=args.fresh,
                                 executor=args.executor, workers=args.workers, address=args.address)
            print(f"report: {out / 'report.md'}")
            return 0
        if args.cmd == "report":
            from neurocircuits.report import write_report

            print(f"report: {write_report(args.run_dir)}")
            return 0
    except NeurocircuitsError as e:
        print(f"neurocircuits: error: {e}", file=sys.stderr)
        return 2
    except Terminated:
        print("neurocircuits: terminated (SIGTERM); checkpoints kept, re-run the same command to resume",
              file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("neurocircuits: interrupted; re-run the same command to resume from checkpoints", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
