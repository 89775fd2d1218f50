"""Executors behind ``RunContext.map``: speed-up from worker processes and Ray, Ray's per-unit
overhead, and the projected wall time of each experiment's full config on 16 and 128 cores.

Run from the repository root (Ray needs the ``distributed`` extra):

    PYTHONPATH=src python3 benchmarks/executor.py [--units 6] [--reps 2] [--out benchmarks/results/executor.json]

What it measures, interleaved in one process so that a busy machine slows every variant alike:

1. The units of ``connectome-stats`` at its full setting (one degree-preserving shuffle with
   10 swaps per edge and its statistics per unit): wall time in-process, with 1 and 2 local
   worker processes, and as Ray tasks on a local 2-CPU instance (ratios: 1 vs 2 workers,
   in-process vs Ray). Worker pools and Ray are started before the clock runs (their start-up
   is reported separately).
2. Ray's per-unit overhead: ``map`` over trivial units on Ray against in-process, per unit
   (both sides checkpoint each result, so what remains is scheduling and transfer).
3. A projection for each experiment's full config on 16 and 128 cores: ceil(units / cores) x
   seconds per unit + units x overhead / cores (one unit per core, units of equal length, no
   start-up). The seconds per unit of connectome-stats are measured here (one worker with one
   thread); those of the other experiments come from their documented runs on a 2-core CPU,
   scaled to the full config's unit size as the ``source`` column says. They are rough: a unit
   that used both cores there may take up to twice as long on one core. ``--from-run
   NAME=DIR`` replaces them with the compute seconds per unit that a run of this version
   recorded in its manifest (e.g. a full run on the target machine).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from neurocircuits.circuit import DEFAULT_CONNECTOMES, from_connectome
from neurocircuits.experiments.connectome_stats import ConnectomeStatsConfig, shuffle_stats
from neurocircuits.experiments.context import (
    Executor, InProcessExecutor, ProcessExecutor, RayExecutor, RunContext, Unit,
)


def _noop(i: int) -> int:
    return i


def _time_map(ex: Executor, units: list[Unit]) -> float:
    with tempfile.TemporaryDirectory() as d:
        ctx = RunContext(Path(d), [0], progress=False, executor=ex)
        t = time.perf_counter()
        ctx.map(units)
        return time.perf_counter() - t


def _full_unit_counts() -> dict[str, tuple[int, str]]:
    """Units of each experiment's full config (its independent, checkpointed pieces of work)."""
    cs = ConnectomeStatsConfig()
    counts = {"connectome-stats": (len(cs.connectomes) * cs.seeds, "connectomes x seeds")}
    try:  # the emergence-init grid, enumerated by the experiment itself
        from neurocircuits.experiments.emergence_init import EmergenceInitConfig, _units

        ec = EmergenceInitConfig()
        n = len(_units(ec, list(range(ec.seeds))))
        # Kaiming (A) does not depend on alpha: one run per seed; every other arm one per alpha
        per_seed = sum(1 if a == "A" else len(ec.mt_alphas) for a in ec.mt_arms)
        n_mt = per_seed * ec.seeds if ec.translation else 0
        counts["emergence-init"] = (n + n_mt, f"{n} MNIST training runs + {n_mt} Transformer runs")
    except Exception:  # noqa: BLE001 - the experiment's internals may move; fall back to its docs
        counts["emergence-init"] = (925, "660 MLP + 220 CNN + 45 Transformer runs (docs)")
    from neurocircuits.experiments.geometric_mnist import GeometricMNISTConfig
    from neurocircuits.experiments.worm_dynamics import WormDynamicsConfig

    gc = GeometricMNISTConfig()
    counts["geometric-mnist"] = (gc.seeds * len(gc.variants), "seeds x network variants (each a full sweep)")
    wc = WormDynamicsConfig()
    folds = (1 if "within" in wc.protocols else 0) + (6 if "lowo" in wc.protocols else 0)
    counts["worm-dynamics"] = (folds * wc.seeds * len(wc.models), f"{folds} folds x seeds x models")
    return counts


# seconds per unit of a full config, from documented runs on the shared 2-core CPU machine
RECORDED = {
    "emergence-init": (276 / 154 * (50000 * 3) / (4000 * 2),
                       "quick run 276 s / 154 units, x18.75 for 50k images and 3 epochs (vs 4k, 2)"),
    "geometric-mnist": (655 / 3 * 2, "full-data run 655 s / 3 (seed, variant) units at 2 ratios, x2 for 4 ratios"),
    "worm-dynamics": (653 / 147 * (30 / 8) * 2,
                      "quick 3-seed run 653 s / 147 units, x3.75 for 30 epochs (vs 8), x2 for stride 1 (vs 2)"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=6, help="connectome-stats units per timing")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--noop-units", type=int, default=100)
    ap.add_argument("--out", default="benchmarks/results/executor.json")
    ap.add_argument("--from-run", nargs="*", default=[], metavar="NAME=DIR",
                    help="take an experiment's seconds per unit from a finished run folder (its manifest)")
    args = ap.parse_args()
    measured_runs = dict(_unit_seconds_of_run(item) for item in args.from_run)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    cfg = ConnectomeStatsConfig()
    names = list(DEFAULT_CONNECTOMES)
    circuits = {n: from_connectome(n, neurons_only=cfg.neurons_only) for n in names}
    pairs = [(names[i % len(names)], i // len(names)) for i in range(args.units)]
    units = [Unit(f"{n}-{s}", shuffle_stats, (circuits[n], cfg.swaps_per_edge, s)) for n, s in pairs]

    t = time.perf_counter()
    exs: dict[str, Executor] = {"in-process": InProcessExecutor(), "1 worker": ProcessExecutor(1, threads=1),
                                "2 workers": ProcessExecutor(2, threads=1), "ray (2 CPUs)": RayExecutor(num_cpus=2)}
    startup = {}
    for name, ex in exs.items():  # start pools and Ray (and import the code in workers) off the clock
        t = time.perf_counter()
        _time_map(ex, [Unit(f"warm{i}", _noop, (i,)) for i in range(4)])
        startup[name] = time.perf_counter() - t
    times: dict[str, list[float]] = {k: [] for k in exs}
    for _ in range(args.reps):
        for name, ex in exs.items():
            times[name].append(_time_map(ex, units))
    noop = [Unit(f"n{i}", _noop, (i,)) for i in range(args.noop_units)]
    overhead_s = {}
    for name in ("in-process", "2 workers", "ray (2 CPUs)"):
        overhead_s[name] = min(_time_map(exs[name], noop) for _ in range(args.reps)) / args.noop_units
    for ex in exs.values():
        ex.close()

    best = {k: min(v) for k, v in times.items()}
    per_unit = best["1 worker"] / args.units
    ray_over = max(overhead_s["ray (2 CPUs)"] - overhead_s["in-process"], 0.0)
    print(f"connectome-stats units ({args.units} per run, best of {args.reps}; machine: {os.cpu_count()} cores, shared)")
    print(f"  {'executor':14s} {'wall s':>8s} {'per unit s':>10s} {'start-up s':>10s}")
    for k in exs:
        print(f"  {k:14s} {best[k]:8.2f} {best[k] / args.units:10.3f} {startup[k]:10.2f}")
    ratios = {"1 worker / 2 workers": best["1 worker"] / best["2 workers"],
              "in-process / ray": best["in-process"] / best["ray (2 CPUs)"],
              "in-process / 2 workers": best["in-process"] / best["2 workers"]}
    for k, v in ratios.items():
        print(f"  speed-up {k}: {v:.2f}x")
    print(f"per-unit overhead over in-process ({args.noop_units} trivial units): "
          + ", ".join(f"{k} {1000 * (v - overhead_s['in-process']):.1f} ms" for k, v in overhead_s.items()
                      if k != "in-process"))

    counts = _full_unit_counts()
    rows = []
    print(f"\n  {'experiment':18s} {'units':>6s} {'s/unit':>8s} {'1 core h':>9s} {'16 cores':>10s} {'128 cores':>10s}  source")
    for name, (n, how) in counts.items():
        if name in measured_runs:
            sec, src = measured_runs[name]
        elif name == "connectome-stats":
            sec, src = per_unit, "measured here (1 worker, 1 thread)"
        else:
            sec, src = RECORDED[name]
        proj = {c: math.ceil(n / c) * sec + n * ray_over / c for c in (1, 16, 128)}
        rows.append({"experiment": name, "units": n, "units_are": how, "seconds_per_unit": sec, "source": src,
                     **{f"projected_s_{c}_cores": v for c, v in proj.items()}})
        print(f"  {name:18s} {n:6d} {sec:8.1f} {proj[1] / 3600:9.2f} {_hm(proj[16]):>10s} {_hm(proj[128]):>10s}  {src}")
    result: dict[str, Any] = {
        "machine": {"cpu_count": os.cpu_count(), "note": "shared with other jobs; ratios interleaved"},
        "units_per_timing": args.units, "reps": args.reps, "wall_s": times, "startup_s": startup,
        "ratios": ratios, "per_unit_overhead_s": {k: v - overhead_s["in-process"] for k, v in overhead_s.items()},
        "connectome_stats_seconds_per_unit": per_unit, "projection": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"\nwrote {out}")


def _unit_seconds_of_run(item: str) -> tuple[str, tuple[float, str]]:
    """``NAME=DIR`` -> (NAME, (mean compute seconds per unit, source)) from DIR/manifest.json."""
    name, _, folder = item.partition("=")
    man = json.loads((Path(folder) / "manifest.json").read_text())
    units = [u for u in (man.get("units") or {}).values() if u.get("computed")]
    if not units:
        raise SystemExit(f"{folder}: the manifest records no computed units (run it with this version first)")
    n = sum(u["computed"] for u in units)
    sec = sum(u["seconds_total"] for u in units) / n
    return name, (sec, f"measured in a {'quick' if man.get('quick') else 'full'} run: {n} units "
                       f"({man.get('executor', 'in-process')})")


def _hm(s: float) -> str:
    return f"{s / 60:.1f} min" if s < 3600 else f"{s / 3600:.1f} h"


if __name__ == "__main__":
    main()
