"""Benchmark the geometric competitive-refractory engine against Brian2 on stationary activity.

The network (anchor-like, in the stationary regime):

* ``N`` nodes uniform in the unit cube, each with ``degree`` out-edges to its nearest
  neighbours; integer delays ``max(1, round(distance / speed))`` with the speed set for a
  mean delay of about 3.5 steps; ``R = 5`` steps; ``theta = 3``; weights +-1 with half of the
  nodes inhibitory (all their out-edges -1); ``W = infinity``;
* ``N / 10`` input nodes, each firing once at a uniform random step of the run onto 10
  random nodes with weight theta, so that activity stays stationary (reported as spikes per
  node per step over max rate 1 / R, by fifths of the run, with the discard fraction).

Per configuration (N, degree) it measures, interleaved:

* the fast engine (numba backend when installed, else torch) at each batch size, on one
  thread and on all threads (``torch.get_num_threads()`` at start); its setup (the arrays
  it derives from a network, built once per network) is timed separately, like Brian2's;
* Brian2 (Cython runtime target) in its own interpreter, ``--brian2-python``: setup (build,
  code generation from the warm on-disk cache, initialisation) and the run itself, separately,
  on ``--brian2-stimuli`` stimuli one after another (store / restore); its steady rate is the
  events of stimulus 0 over the mean run time, and its time for a batch of B stimuli is
  setup + B x mean run time (Brian2 runs stimuli one after another); the fast engine's
  single-stimulus time is the best of two runs (on a shared machine the least disturbed
  run is the most faithful);
* exact agreement of the spike trains with Brian2 on every stimulus Brian2 ran, with the torch
  backend on stimulus 0 when the network is small, and with the exact event-driven reference
  on a short prefix of the run when the network is small.

The horizon of each N is chosen so that Brian2's setup is a small part of its time (the
measured fraction is reported per row). The table is printed and written as JSON under
``benchmarks/results/``.

Usage (from the repository root):
    PYTHONPATH=src python benchmarks/geometric_engines.py --brian2-python /path/to/brian2/python
    PYTHONPATH=src python benchmarks/geometric_engines.py --large ...   # adds 100k nodes and B = 256
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.spatial import cKDTree

from neurocircuits.dynamics.geometric import GeometricNetwork, numba_available, simulate, simulate_reference
from neurocircuits.dynamics.geometric.fast import _plan
from neurocircuits.report.env import environment

HERE = Path(__file__).resolve().parent
R_STEPS = 5
THETA = 3.0
HORIZONS = {1000: 40000, 10000: 6000, 100000: 1000}  # steps: Brian2's setup < 10 % of its run time


def build(n: int, degree: int, seed: int) -> GeometricNetwork:
    """The benchmark network: inputs are nodes 0 .. N/10 - 1, then the N recurrent nodes."""
    rng = np.random.default_rng(seed)
    n_in = max(1, n // 10)
    pos = rng.uniform(0, 1, (n, 3))
    d, nb = cKDTree(pos).query(pos, k=degree + 1)
    d, nb = d[:, 1:], nb[:, 1:]
    speed = float(d.mean()) / 3.5
    k = np.maximum(1, np.rint(d / speed)).reshape(-1)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    pre = np.repeat(np.arange(n), degree)
    ip = np.repeat(np.arange(n_in), 10)
    ipost = rng.integers(0, n, ip.size)
    return GeometricNetwork.from_arrays(
        n + n_in, np.concatenate([ip, pre + n_in]), np.concatenate([ipost, nb.reshape(-1)]) + n_in,
        np.concatenate([np.ones(ip.size), k]), np.concatenate([np.full(ip.size, THETA), sign[pre]]),
        refractory=float(R_STEPS), threshold=THETA, inputs=np.arange(n_in),
        positions=np.concatenate([rng.uniform(0, 1, (n_in, 3)), pos]),
        meta={"n": n, "degree": degree, "seed": seed, "mean_delay_steps": float(k.mean())})


def stimulus(net: GeometricNetwork, batch: int, horizon: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed + 1).integers(0, horizon, size=(batch, net.n_inputs)).astype(float)


def activity_by_fifths(r, net: GeometricNetwork, horizon: int) -> list[float]:
    """Spikes per recurrent node per step over the max rate 1/R, in each fifth of the run (stimulus 0)."""
    m = (r.spike_batch == 0) & (r.spike_node >= net.n_inputs)
    t = r.spike_time[m].numpy()
    n_rec = net.n - net.n_inputs
    edges = np.linspace(0, horizon, 6)
    h, _ = np.histogram(t, bins=edges)
    return [round(float(x) / (n_rec * (horizon / 5)) * R_STEPS, 4) for x in h]


def run_brian2(net: GeometricNetwork, stim: np.ndarray, horizon: int, python: str, target: str) -> dict:
    n_in = net.n_inputs
    src_in = net.pre < n_in
    k = np.rint(net.latency).astype(np.int64)
    arrays = dict(n_in=np.array(n_in), n_hidden=np.array(net.n - n_in),
                  refractory_steps=np.rint(net.refractory[n_in:]).astype(np.int64),
                  threshold=net.threshold[n_in:], stim_steps=stim.astype(np.int64),
                  in_pre=net.pre[src_in], in_post=net.post[src_in] - n_in, in_w=net.weight[src_in], in_k=k[src_in],
                  rec_pre=net.pre[~src_in] - n_in, rec_post=net.post[~src_in] - n_in, rec_w=net.weight[~src_in],
                  rec_k=k[~src_in], horizon_steps=np.array(horizon))
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "net.npz", **arrays)
        out = Path(tmp) / "out.json"
        proc = subprocess.run([python, str(HERE / "_brian2_crd.py"), str(Path(tmp) / "net.npz"), str(out), target,
                               str(stim.shape[0])], capture_output=True, text=True, timeout=3600,
                              env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""})
        if proc.returncode != 0:
            return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
        res = json.loads(out.read_text())
    res["trains"] = [sorted((int(t), int(n) + n_in) for t, n in zip(tr["step"], tr["node"])) for tr in res["trains"]]
    return res


def trains_of(r, b: int, n_in: int) -> list[tuple[int, int]]:
    return [(int(round(t)), n) for t, n in r.spike_trains(b) if n >= n_in]


def time_fast(net, stim, horizon, threads, backend, device, record=False):
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    r = simulate(net, stim, float(horizon), dt=1.0, device=device, backend=backend, num_threads=threads,
                 record_spikes=record)
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0, r


def mapping_check(python: str, target: str, seed: int = 0) -> list[dict]:
    """Spike trains of a small saturating network (theta = 1) against Brian2 for R = 0, 1, 2, 5 steps:
    the boundary a = t' + R is hit often, so a wrong refractory mapping shows at once."""
    out = []
    for R in (0, 1, 2, 5):
        net = build(300, 20, seed).with_params(refractory=float(R), threshold=1.0)
        stim = stimulus(net, 2, 200, seed)
        b2 = run_brian2(net, stim, 200, python, target)
        r = simulate(net, stim, 200.0, record_spikes=True)
        agree = "error" not in b2 and all(trains_of(r, i, net.n_inputs) == b2["trains"][i] for i in range(2))
        out.append({"refractory_steps": R, "spikes": int(r.counts.sum()), "brian2_agrees": agree,
                    **({"brian2_error": b2["error"]} if "error" in b2 else {})})
        print(f"mapping check R={R}: {out[-1]}", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--large", action="store_true", help="add N = 100k and B = 256 (long: tens of minutes)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--backend", default="auto", choices=["auto", "numba", "torch"])
    ap.add_argument("--brian2-python", default=sys.executable)
    ap.add_argument("--brian2-target", default="cython", choices=["cython", "numpy"])
    ap.add_argument("--brian2-stimuli", type=int, default=2, help="stimuli Brian2 runs one after another")
    ap.add_argument("--no-brian2", action="store_true")
    ap.add_argument("--brian2-standalone-threads", type=int, default=None,
                    help="also run stimulus 0 in Brian2's C++ standalone mode with this many OpenMP threads "
                         "(default: all threads; 0: off) on the rows of --batch-degrees")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", type=int, nargs="*")
    ap.add_argument("--degrees", type=int, nargs="*")
    ap.add_argument("--batches", type=int, nargs="*")
    ap.add_argument("--horizon", type=int, default=None, help="steps (default: per N, see HORIZONS)")
    ap.add_argument("--batch-degrees", type=int, nargs="*", default=[50],
                    help="degrees whose rows also run the batches B > 1 (default 50; 'all' rows with --large)")
    ap.add_argument("--max-batch-nodes", type=int, default=10000,
                    help="batches B > 8 run only on networks of at most this many nodes (time)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--mapping-check-only", action="store_true",
                    help="only compare spike trains with Brian2 for R = 0, 1, 2, 5 (JSON: brian2_mapping_check.json)")
    args = ap.parse_args(argv)
    if args.mapping_check_only:
        res = mapping_check(args.brian2_python, args.brian2_target, args.seed)
        path = Path(args.out) if args.out else HERE / "results" / "brian2_mapping_check.json"
        path.write_text(json.dumps({"rows": res, "env": environment()}, indent=1))
        print(f"wrote {path}")
        return
    all_threads = torch.get_num_threads()
    sizes = args.sizes or ([1000, 10000, 100000] if args.large else [1000, 10000])
    degrees = args.degrees or [10, 50, 100]
    batches = args.batches or ([1, 8, 64, 256] if args.large else [1, 8, 64])
    be = args.backend if args.backend != "auto" else ("numba" if numba_available() and args.device == "cpu" else "torch")
    print(f"fast engine backend {be}, device {args.device}, all threads = {all_threads}; load {os.getloadavg()}",
          flush=True)
    rows = []
    for n in sizes:
        horizon = args.horizon or HORIZONS.get(n, 3000)
        for deg in degrees:
            net = build(n, deg, args.seed)
            stim = stimulus(net, max(batches), horizon, args.seed)
            row = {"n": n, "degree": deg, "edges": net.n_edges, "horizon_steps": horizon, "backend": be,
                   "mean_delay_steps": net.meta["mean_delay_steps"], "load_start": os.getloadavg()[0]}
            t0 = time.perf_counter()  # the engine's setup: its arrays for this network (kept on the network)
            _plan(net, 1.0, torch.device(args.device), None, be, reorder=True)
            row["fast_setup_s"] = time.perf_counter() - t0
            simulate(net, stim[:1], 20.0, backend=be, device=args.device)  # warm-up (compilation)
            s1, r1 = time_fast(net, stim[:1], horizon, 1, be, args.device, record=True)
            row["events_per_stimulus"] = float(r1.arrivals[0])
            row["activity_by_fifths"] = activity_by_fifths(r1, net, horizon)
            row["discard_fraction"] = r1.discard_fraction()
            row["fast_b1_t1_s"] = s1
            b2 = None
            if not args.no_brian2:
                b2 = run_brian2(net, stim[:args.brian2_stimuli], horizon, args.brian2_python, args.brian2_target)
                if "error" in b2:
                    row["brian2_error"] = b2["error"]
                    b2 = None
            row_batches = batches if (args.large or deg in args.batch_degrees) else [1]
            row_batches = [b for b in row_batches if b <= 8 or n <= args.max_batch_nodes]
            for b in row_batches:
                for th in sorted({1, all_threads}) if b == 1 else [all_threads]:
                    sec, r = time_fast(net, stim[:b], horizon, th, be, args.device)
                    key = f"fast_b{b}_t{th}"
                    row[f"{key}_s"] = min(sec, row.get(f"{key}_s", np.inf))  # b1_t1 measured twice: keep the min
                    row[f"{key}_events_per_s"] = float(r.arrivals.sum()) / row[f"{key}_s"]
            sa_threads = all_threads if args.brian2_standalone_threads is None else args.brian2_standalone_threads
            if b2 is not None and sa_threads and deg in args.batch_degrees:
                sa = run_brian2(net, stim[:1], horizon, args.brian2_python, f"cpp_standalone:{sa_threads}")
                if "error" in sa:
                    row["brian2_standalone_error"] = sa["error"]
                else:
                    row.update(brian2_standalone_threads=sa_threads, brian2_standalone_run_s=sa["run_s"][0],
                               brian2_standalone_setup_s=sa["setup_s"], brian2_standalone_compile_s=sa["compile_s"],
                               brian2_standalone_steady_events_per_s=row["events_per_stimulus"] / sa["run_s"][0],
                               brian2_standalone_agrees=trains_of(r1, 0, net.n_inputs) == sa["trains"][0])
            if b2 is not None:
                nb2 = len(b2["trains"])
                _, rb = time_fast(net, stim[:nb2], horizon, all_threads, be, args.device, record=True)
                row["brian2_agrees"] = all(trains_of(rb, i, net.n_inputs) == b2["trains"][i] for i in range(nb2))
                row["brian2_stimuli_checked"] = nb2
                run_mean = float(np.mean(b2["run_s"]))
                row.update(brian2_setup_s=b2["setup_s"], brian2_run_s=run_mean,
                           brian2_setup_fraction=b2["setup_s"] / (b2["setup_s"] + run_mean),
                           brian2_steady_events_per_s=row["events_per_stimulus"] / run_mean,
                           brian2_version=b2["brian2"], brian2_target=b2["target"], brian2_python=b2["python"],
                           brian2_numpy=b2["numpy"])
                for b in row_batches:
                    for th in sorted({1, all_threads}) if b == 1 else [all_threads]:
                        key = f"fast_b{b}_t{th}"
                        b2_time = b2["setup_s"] + b * run_mean
                        row[f"{key}_vs_brian2"] = b2_time / (row["fast_setup_s"] + row[f"{key}_s"])
                        row[f"{key}_vs_brian2_steady"] = b * run_mean / row[f"{key}_s"]
                if "brian2_standalone_run_s" in row and f"fast_b1_t{all_threads}_s" in row:
                    row[f"fast_b1_t{all_threads}_vs_brian2_standalone"] = (row["brian2_standalone_run_s"]
                                                                          / row[f"fast_b1_t{all_threads}_s"])
            if net.n_edges <= 200_000:  # exact checks on small networks
                if be == "numba":
                    _, rt = time_fast(net, stim[:1], min(horizon, 400), 1, "torch", args.device, record=True)
                    _, rn = time_fast(net, stim[:1], min(horizon, 400), 1, "numba", args.device, record=True)
                    row["torch_backend_agrees"] = rt.spike_trains(0) == rn.spike_trains(0)
                short = 60
                ref = simulate_reference(net, stim[:1], float(short))
                _, rs = time_fast(net, stim[:1], short, 1, be, args.device, record=True)
                row["reference_agrees_first_steps"] = short
                row["reference_agrees"] = ref.spike_trains(0) == rs.spike_trains(0)
            row["load_end"] = os.getloadavg()[0]
            rows.append(row)
            print(_fmt(row), flush=True)
    out = Path(args.out) if args.out else HERE / "results" / f"geometric_engines{'_large' if args.large else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "device": args.device, "backend": be, "refractory_steps": R_STEPS,
                               "threshold": THETA, "batches": batches, "all_threads": all_threads,
                               "cpu_count": os.cpu_count(), "brian2_stimuli": args.brian2_stimuli,
                               "goals": goals(rows, all_threads), "env": environment()}, indent=1))
    print(f"wrote {out}")
    print(table(rows, all_threads))
    print()
    print(goals_table(goals(rows, all_threads)))


def table(rows: list[dict], all_threads: int) -> str:
    """The Markdown table of the docs."""
    head = ("| N | degree | steps | events / stimulus | activity by fifths (x max rate) | discarded | "
            "fast setup s | Brian2 setup s (fraction) | Brian2 steady ev/s | fast B=1, 1 thread: ev/s (x Brian2) | "
            f"fast B=1, {all_threads} threads (x Brian2) | fast B=8 (x Brian2) | fast B=64 (x Brian2; x steady) | "
            f"Brian2 C++ standalone, {all_threads} threads: ev/s (fast B=1, {all_threads} threads x it) | "
            "ns / event (B=1, 1 thread) | agrees (Brian2 / reference / torch) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        def x(key: str) -> str:
            v = r.get(f"{key}_vs_brian2")
            return f"{v:.2f}" if v is not None else "-"
        b64 = r.get(f"fast_b64_t{all_threads}_events_per_s")
        lines.append(
            f"| {r['n']:,} | {r['degree']} | {r['horizon_steps']} | {r['events_per_stimulus']:.3g} | "
            f"{', '.join(f'{a:.2f}' for a in r['activity_by_fifths'])} | {r['discard_fraction']:.2f} | "
            f"{r['fast_setup_s']:.2f} | "
            + (f"{r['brian2_setup_s']:.2f} ({r['brian2_setup_fraction']:.0%}) | {r['brian2_steady_events_per_s']:.3g} | "
               if "brian2_setup_s" in r else "- | - | ")
            + f"{r['fast_b1_t1_events_per_s']:.3g} ({x('fast_b1_t1')}) | "
            f"{r.get(f'fast_b1_t{all_threads}_events_per_s', float('nan')):.3g} ({x(f'fast_b1_t{all_threads}')}) | "
            + (f"{r[f'fast_b8_t{all_threads}_events_per_s']:.3g} ({x(f'fast_b8_t{all_threads}')}) | "
               if f"fast_b8_t{all_threads}_events_per_s" in r else "- | ")
            + (f"{b64:.3g} ({x(f'fast_b64_t{all_threads}')}; "
               f"{r.get(f'fast_b64_t{all_threads}_vs_brian2_steady', float('nan')):.2f}) | " if b64 else "- | ")
            + (f"{r['brian2_standalone_steady_events_per_s']:.3g} "
               f"({r.get(f'fast_b1_t{all_threads}_vs_brian2_standalone', float('nan')):.2f}) | "
               if "brian2_standalone_steady_events_per_s" in r else "- | ")
            + f"{1e9 / r['fast_b1_t1_events_per_s']:.0f} | "
            f"{r.get('brian2_agrees', '-')}{'' if 'brian2_standalone_agrees' not in r else (', standalone ' + str(r['brian2_standalone_agrees']))}"
            f" / {r.get('reference_agrees', '-')} / {r.get('torch_backend_agrees', '-')} |")
    return "\n".join(lines)


def goals(rows: list[dict], all_threads: int) -> list[dict]:
    """The issue's goals, each with the measured ratios of this run and whether it is met.

    One stimulus is judged against Brian2's steady rate (its setup left out, the stricter
    reading) on one thread (Brian2's Cython target is single-threaded); the batch goal
    against Brian2 running the B stimuli one after another (setup + B runs).
    """
    out = []
    by = {(r["n"], r["degree"]): r for r in rows}
    single = [(n, by[(n, 50)].get("fast_b1_t1_vs_brian2_steady"), by[(n, 50)].get(f"fast_b1_t{all_threads}_vs_brian2_steady"))
              for n in (10000, 100000) if (n, 50) in by]
    if single:
        one = all(v1 is not None and v1 >= 2 for _, v1, _ in single)
        every = all(v2 is not None and v2 >= 2 for _, _, v2 in single)
        met: bool | str | None = None
        if len(single) == 2:
            met = True if one else ("partly (all threads only)" if every else False)
        out.append({"goal": "one stimulus >= 2x Brian2 events/s on 10k x 50 and 100k x 50 (Brian2 Cython, "
                            "single-threaded, steady rate)",
                    "measured": {f"{n // 1000}k x 50": {"1 thread": v1, f"{all_threads} threads": v2}
                                 for n, v1, v2 in single},
                    "met": met})
        sa_key = f"fast_b1_t{all_threads}_vs_brian2_standalone"
        sa = {f"{n // 1000}k x 50": by[(n, 50)][sa_key] for n in (10000, 100000) if sa_key in by.get((n, 50), {})}
        if sa:
            out.append({"goal": f"(not a goal of the issue) one stimulus, {all_threads} threads, against Brian2 C++ "
                                f"standalone with {all_threads} OpenMP threads (steady rate)",
                        "measured": sa, "met": None})
    for b in (64, 256):
        key = f"fast_b{b}_t{all_threads}_vs_brian2"
        vals = {f"{r['n'] // 1000}k x {r['degree']}": r[key] for r in rows if key in r}
        if vals:
            out.append({"goal": f"{b} stimuli batched >= 20x Brian2 running them one after another"
                        + ("" if b == 64 else " (B = 256, same goal)"),
                        "measured": vals, "met": all(v >= 20 for v in vals.values())})
    spread = {}
    for n in sorted({r["n"] for r in rows}):
        ns = {r["degree"]: 1e9 / r["fast_b1_t1_events_per_s"] for r in rows if r["n"] == n}
        if 10 in ns and 100 in ns:
            spread[f"{n // 1000}k"] = {"ns_per_event": ns, "max_over_min": max(ns.values()) / min(ns.values())}
    if spread:
        out.append({"goal": "cost per event within 2x between degree 10 and degree 100 (B = 1, 1 thread)",
                    "measured": spread, "met": all(v["max_over_min"] <= 2 for v in spread.values())})
    return out


def goals_table(gs: list[dict]) -> str:
    lines = ["| goal | measured | met? |", "|---|---|---|"]
    for g in gs:
        def fmt(v):
            if isinstance(v, dict):
                return ", ".join(f"{k}: {fmt(x)}" for k, x in v.items())
            return f"{v:.3g}" if isinstance(v, float) else str(v)
        m = g["met"]
        verdict = m if isinstance(m, str) else "yes" if m else "no" if m is not None else "-"
        lines.append(f"| {g['goal']} | {fmt(g['measured'])} | {verdict} |")
    return "\n".join(lines)


def _fmt(r: dict) -> str:
    parts = [f"N={r['n']:>6} deg={r['degree']:>3} steps={r['horizon_steps']} ev/stim={r['events_per_stimulus']:.3g} "
             f"act={r['activity_by_fifths']} disc={r['discard_fraction']:.2f}"]
    for k, v in r.items():
        if k.endswith("_vs_brian2") or k.endswith("events_per_s") or k.endswith("agrees") or k.startswith("brian2_s"):
            parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    return " | ".join(parts)


if __name__ == "__main__":
    main()
