"""Time the units of the ``emergence-init`` experiment to size its full config.

Prints a table (seconds per training unit, in-process and with a pool of worker
processes) and writes JSON. Run from the repository root:

    PYTHONPATH=src python3 benchmarks/emergence_init_timing.py [--device cuda] [--epochs 1] [--workers 8]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from neurocircuits.experiments.context import RunContext
from neurocircuits.experiments.emergence_init import (
    EmergenceInitConfig, _corpus, _mnist_data, _run_units, _units, mnist_unit, mt_unit,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--pool-units", type=int, default=32)
    ap.add_argument("--out", default="benchmarks/results/emergence_init_timing.json")
    args = ap.parse_args()
    dev = torch.device(args.device)
    cfg = EmergenceInitConfig(epochs=args.epochs, mt_epochs=1, workers=args.workers)
    rows = []
    data = _mnist_data(cfg.to_dict(), dev)
    units = {u["key"]: u for u in _units(cfg, [0])}
    for key in ("mnist-mlp4-bn0-sgd-A-a1-s0", "mnist-mlp16-bn1-adam-B-a1.5-s0", "mnist-cnn-bn1-sgd-C-a1.5-s0"):
        mnist_unit(units[key], data) if not rows else None  # warm-up (CUDA context, kernels)
        t = time.perf_counter()
        r = mnist_unit(units[key], data)
        rows.append({"unit": key, "mode": "in-process", "epochs": args.epochs, "seconds": time.perf_counter() - t,
                     "final_val_acc": r["val"][-1]})
    with tempfile.TemporaryDirectory() as tmp:
        ctx = RunContext(Path(tmp), [0], device=dev, progress=False)
        pool = list(units.values())[: args.pool_units]
        t = time.perf_counter()
        _run_units(pool, ctx, cfg)
        dt = time.perf_counter() - t
        rows.append({"unit": f"{len(pool)} units", "mode": f"pool of {args.workers}", "epochs": args.epochs,
                     "seconds": dt / len(pool), "final_val_acc": float("nan")})
        corpus = _corpus(cfg.to_dict())
        u = {**{k: v for k, v in cfg.to_dict().items() if k.startswith("mt_")}, "arm": "A", "alpha": 1.0, "seed": 0}
        t = time.perf_counter()
        r = mt_unit(u, corpus, dev)
        rows.append({"unit": "transformer", "mode": "in-process", "epochs": 1, "seconds": time.perf_counter() - t,
                     "final_val_acc": r["val_bleu"][-1]})
    n_mnist = len(_units(EmergenceInitConfig(), list(range(EmergenceInitConfig().seeds))))
    print(f"{'unit':40s} {'mode':14s} {'epochs':>6s} {'s/unit':>8s} {'val':>7s}")
    for r in rows:
        print(f"{r['unit']:40s} {r['mode']:14s} {r['epochs']:6d} {r['seconds']:8.2f} {r['final_val_acc']:7.3f}")
    print(f"full config: {n_mnist} MNIST units of {EmergenceInitConfig().epochs} epochs")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"device": str(dev), "rows": rows, "full_units": n_mnist}, indent=1))


if __name__ == "__main__":
    main()
