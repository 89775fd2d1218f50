"""Benchmark the geometric competitive-refractory engines: synaptic events per second.

For each network size (hidden nodes) and mean degree, a random geometric network (3-D,
density 1, k-nearest-neighbour wiring, integer latencies in steps of dt = 1, R = 4 steps,
theta = 1, unit weights, 1 % extra input nodes wired to their nearest hidden nodes) is
simulated by

* the fast discrete-time engine (``neurocircuits.dynamics.geometric.simulate``) at several
  batch sizes (stimuli simulated at once),
* the exact event-driven reference engine (small networks only: it is pure Python),
* Brian2 (the same network, delays, refractory periods and thresholds; stimulus 0 only),

and the spike trains of stimulus 0 are compared exactly. The table is printed and written
as JSON under ``benchmarks/results/``.

Brian2 2.9.0 does not import under NumPy >= 2.4 (``np.ndarray.ptp`` was removed), so it runs
in its own interpreter: ``--brian2-python /path/to/python`` (a venv with
``pip install brian2 "numpy<2.4"``); by default the current interpreter is tried.

Usage:
    PYTHONPATH=src python3 benchmarks/geometric_engines.py --quick [--brian2-python PY] [--device cuda]
    PYTHONPATH=src python3 benchmarks/geometric_engines.py --sizes 100000 --degrees 10 --batches 1 8 --out F.json
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

from neurocircuits.dynamics.geometric import GeometricNetwork, simulate, simulate_reference
from neurocircuits.report.env import environment

HERE = Path(__file__).resolve().parent
R_STEPS = 4
HORIZON = 40


def build(n_hidden: int, degree: int, seed: int) -> GeometricNetwork:
    rng = np.random.default_rng(seed)
    n_in = max(10, n_hidden // 100)
    side = n_hidden ** (1 / 3)
    ph = rng.uniform(0, side, (n_hidden, 3))
    pin = rng.uniform(0, side, (n_in, 3))
    tree = cKDTree(ph)
    d_rec, nb = tree.query(ph, k=degree + 1)
    d_rec, nb = d_rec[:, 1:], nb[:, 1:]
    d_in, nb_in = tree.query(pin, k=degree)
    speed = float(d_rec.mean()) / 3.0  # mean latency ~3 steps
    pre = np.concatenate([np.repeat(np.arange(n_in), degree), n_in + np.repeat(np.arange(n_hidden), degree)])
    post = np.concatenate([n_in + nb_in.reshape(-1), n_in + nb.reshape(-1)])
    k = np.maximum(1, np.rint(np.concatenate([d_in.reshape(-1), d_rec.reshape(-1)]) / speed))
    return GeometricNetwork.from_arrays(n_in + n_hidden, pre, post, k, refractory=float(R_STEPS),
                                        threshold=1.0, inputs=np.arange(n_in),
                                        meta={"n_hidden": n_hidden, "degree": degree})


def stimulus(net: GeometricNetwork, batch: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    return rng.integers(0, 5, size=(batch, net.n_inputs)).astype(float)


def run_brian2(net: GeometricNetwork, stim0: np.ndarray, python: str, target: str) -> dict:
    n_in = net.n_inputs
    src_in = net.pre < n_in
    k = np.rint(net.latency).astype(np.int64)
    arrays = dict(n_in=np.array(n_in), n_hidden=np.array(net.n - n_in), refractory_steps=np.array(R_STEPS),
                  threshold=net.threshold[n_in:], stim_idx=np.arange(n_in), stim_steps=stim0.astype(np.int64),
                  in_pre=net.pre[src_in], in_post=net.post[src_in] - n_in, in_w=net.weight[src_in], in_k=k[src_in],
                  rec_pre=net.pre[~src_in] - n_in, rec_post=net.post[~src_in] - n_in, rec_w=net.weight[~src_in],
                  rec_k=k[~src_in], horizon_steps=np.array(HORIZON))
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "net.npz", **arrays)
        out = Path(tmp) / "out.json"
        proc = subprocess.run([python, str(HERE / "_brian2_crd.py"), str(Path(tmp) / "net.npz"), str(out), target],
                              capture_output=True, text=True, timeout=1800,
                              env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
        if proc.returncode != 0:
            return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
        res = json.loads(out.read_text())
    res["trains"] = sorted((float(t), int(n) + n_in) for t, n in zip(res.pop("step"), res.pop("node")))
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a few minutes on 1 CPU core)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--brian2-python", default=sys.executable)
    ap.add_argument("--brian2-target", default="cython", choices=["cython", "numpy"])
    ap.add_argument("--no-brian2", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", type=int, nargs="*", help="hidden-node counts (overrides the preset)")
    ap.add_argument("--degrees", type=int, nargs="*", help="mean degrees (overrides the preset)")
    ap.add_argument("--batches", type=int, nargs="*", help="batch sizes of the fast engine (overrides the preset)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.quick:
        sizes, degrees, batches, ref_max_edges, b2_max_edges = [1000, 10000], [10, 50], [1, 16], 60_000, 600_000
    else:
        sizes, degrees, batches, ref_max_edges, b2_max_edges = [1000, 10000, 100000], [10, 100], [1, 16, 128], \
            200_000, 10_000_000
    sizes, degrees, batches = args.sizes or sizes, args.degrees or degrees, args.batches or batches
    rows = []
    for n in sizes:
        for deg in degrees:
            net = build(n, deg, args.seed)
            stim = stimulus(net, max(batches), args.seed)
            row = {"n_hidden": n, "degree": deg, "edges": net.n_edges}
            simulate(net, stim[:1], HORIZON, dt=1.0, device=args.device)  # warm-up
            base = None
            for b in batches:
                t0 = time.perf_counter()
                r = simulate(net, stim[:b], HORIZON, dt=1.0, device=args.device, record_spikes=(b == 1))
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                dt_s = time.perf_counter() - t0
                row[f"fast_b{b}_s"] = dt_s
                row[f"fast_b{b}_events_per_s"] = float(r.arrivals.sum()) / dt_s
                if b == 1:
                    base = r
            row["events_per_stimulus"] = float(base.arrivals[0])
            row["spikes_per_stimulus"] = int(base.counts[0].sum())
            trains = base.spike_trains(0)
            if net.n_edges <= ref_max_edges:
                t0 = time.perf_counter()
                ref = simulate_reference(net, stim[:1], HORIZON)
                row["reference_s"] = time.perf_counter() - t0
                row["reference_events_per_s"] = float(ref.arrivals[0]) / row["reference_s"]
                row["reference_agrees"] = ref.spike_trains(0) == trains
            if not args.no_brian2 and net.n_edges <= b2_max_edges:
                b2 = run_brian2(net, stim[0], args.brian2_python, args.brian2_target)
                if "error" in b2:
                    row["brian2_error"] = b2["error"]
                else:
                    row["brian2_run_s"] = b2["run_s"]
                    row["brian2_build_and_run_s"] = b2["build_and_run_s"]
                    row["brian2_events_per_s"] = row["events_per_stimulus"] / b2["run_s"]
                    row["brian2_agrees"] = b2["trains"] == [(t, n) for t, n in trains if n >= net.n_inputs]
                    row["brian2_version"] = b2["brian2"]
                    row["brian2_target"] = b2["target"]
            rows.append(row)
            print(_fmt(row), flush=True)
    out = Path(args.out) if args.out else HERE / "results" / f"geometric_engines{'_quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "device": args.device, "horizon_steps": HORIZON,
                               "refractory_steps": R_STEPS, "batches": batches,
                               "torch_threads": torch.get_num_threads(), "env": environment()}, indent=1))
    print(f"wrote {out}")


def _fmt(r: dict) -> str:
    parts = [f"N={r['n_hidden']:>6} deg={r['degree']:>3} E={r['edges']:>8} ev/stim={r['events_per_stimulus']:.3g}"]
    for k, v in r.items():
        if k.endswith("events_per_s"):
            parts.append(f"{k.replace('_events_per_s', '')}={v:.3g} ev/s")
    for k in ("reference_agrees", "brian2_agrees", "brian2_error"):
        if k in r:
            parts.append(f"{k}={r[k]}")
    return " | ".join(parts)


if __name__ == "__main__":
    main()
