"""Benchmark of the rich-lazy machinery: kernel alignment and training ranks x seeds at once.

1. Kernel alignment of a 2AF network (N = 300, 32 trials x 8 steps x 3 outputs = 768 kernel
   rows, gradients w.r.t. W_hh) between an initial and a trained-like network: the
   structured torch.func kernel of ``neurocircuits.measure.laziness`` against the
   straightforward per-output autograd loop (``tangent_kernel_loop``), interleaved in one
   process, with their agreement.
2. Training: M stacked networks (the step ``fit_stacked`` takes) against training the same
   M networks one after another with a plain per-model loop, for the same steps,
   interleaved in blocks; the full-grid time (4 ranks x 5 seeds x 10,000 steps) is
   projected from the measured time per step.

3. ``--full-grid``: actually trains the whole 2AF grid of the experiment (ranks
   {1, 30, 100, 300} x 5 seeds = 20 networks, N = 300, low_rank_ inits at g = 1.25 as in
   ``rich-lazy``, per-seed fresh trial streams, batch 32, SGD momentum 0.9 lr 3e-3,
   10,000 steps) with ``fit_stacked`` and times it wall-clock; writes the final loss and
   decision accuracy per rank so the training can be checked.

Usage: ``PYTHONPATH=src python benchmarks/rich_lazy.py [--quick] [--full-grid] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

from neurocircuits.data import get_task
from neurocircuits.init import low_rank_
from neurocircuits.measure.laziness import alignment, tangent_kernel, tangent_kernel_loop
from neurocircuits.models import RateRNN, StackedRateRNN
from neurocircuits.train import TrainConfig, fit_stacked, sequence_cross_entropy


def _nets(m: int, n: int) -> list[RateRNN]:
    out = []
    for i in range(m):
        net = RateRNN(3, n, 3, seed=i // 4)
        low_rank_(net.W_hh.data, (1, 30, 100, n)[i % 4] if n >= 100 else n, generator=torch.Generator().manual_seed(i // 4))
        out.append(net)
    return out


def kernel_benchmark(n: int, repeats: int) -> dict:
    task = get_task("2AF")
    x, _ = task.batch(32, seed=0)
    net0 = _nets(4, n)[3]
    net1 = RateRNN(3, n, 3, seed=0)
    net1.load_state_dict(net0.state_dict())
    with torch.no_grad():
        net1.W_hh.add_(0.05 * torch.randn(n, n, generator=torch.Generator().manual_seed(1)))
    fast, loop, ka_fast, ka_loop = [], [], None, None
    tangent_kernel(net0, x[:2])   # warm-up (first-call set-up of torch.func), not timed
    for _ in range(repeats):  # interleaved, so machine load hits both sides alike
        t = time.perf_counter()
        ka_fast = alignment(tangent_kernel(net0, x), tangent_kernel(net1, x))
        fast.append(time.perf_counter() - t)
        t = time.perf_counter()
        ka_loop = alignment(tangent_kernel_loop(net0, x), tangent_kernel_loop(net1, x))
        loop.append(time.perf_counter() - t)
    return {"n_hidden": n, "kernel_rows": 8 * 32 * 3, "repeats": repeats, "fast_s": fast, "loop_s": loop,
            "speedup_median": statistics.median(loop) / statistics.median(fast),
            "ka_fast": ka_fast, "ka_loop": ka_loop, "ka_abs_diff": abs(ka_fast - ka_loop)}


def training_benchmark(n: int, m: int, steps: int, block: int = 25) -> dict:
    """Stacked against one-after-another training of the same M networks, interleaved in blocks.

    Blocks of ``block`` steps alternate between the stacked model and the M separate models
    (each with its own optimiser, kept across blocks), so machine load hits both alike; both
    wall-clock and process CPU seconds are recorded.
    """
    task = get_task("2AF")
    cfg = TrainConfig(lr=3e-3, optimizer="sgd", momentum=0.9)

    def batch(step: int):
        return task.batch(32, seed=step)

    stack = StackedRateRNN.from_models(_nets(m, n))
    stacked_opt = torch.optim.SGD(stack.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    nets = _nets(m, n)
    opts = [torch.optim.SGD(net.parameters(), lr=3e-3, momentum=0.9) for net in nets]
    wall = {"stacked": 0.0, "sequential": 0.0}
    cpu = {"stacked": 0.0, "sequential": 0.0}
    for start in range(0, steps, block):
        todo = range(start, min(steps, start + block))
        t, c = time.perf_counter(), time.process_time()
        for step in todo:   # the loop fit_stacked runs
            xb, yb = batch(step)
            stacked_opt.zero_grad(set_to_none=True)
            sequence_cross_entropy(stack(xb), yb).sum().backward()
            stacked_opt.step()
        wall["stacked"] += time.perf_counter() - t
        cpu["stacked"] += time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        for net, opt in zip(nets, opts):   # the straightforward way: one model after another
            for step in todo:
                xb, yb = batch(step)
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(xb).reshape(-1, 3), yb.reshape(-1)).backward()
                opt.step()
        wall["sequential"] += time.perf_counter() - t
        cpu["sequential"] += time.process_time() - c
    per_step = wall["stacked"] / steps
    return {"n_hidden": n, "models": m, "steps": steps, "block": block, "stacked_s": wall["stacked"],
            "sequential_s": wall["sequential"], "speedup": wall["sequential"] / wall["stacked"],
            "stacked_cpu_s": cpu["stacked"], "sequential_cpu_s": cpu["sequential"],
            "speedup_cpu": cpu["sequential"] / cpu["stacked"], "stacked_s_per_step": per_step,
            "projected_full_grid_min": per_step * 10_000 * (20 / m) / 60}


def full_grid(n: int, seeds: int, steps: int, ranks: tuple[int, ...], gain: float = 1.25) -> dict:
    """Train ranks x seeds of 2AF stacked for ``steps`` steps, as the experiment's rank cell does."""
    task = get_task("2AF")
    nets, seed_of, rank_of = [], [], []
    for s in range(seeds):
        for r in ranks:
            net = RateRNN(task.n_in, n, task.n_out, seed=s)
            low_rank_(net.W_hh.data, r, gain=gain, generator=torch.Generator().manual_seed(1_000 + s))
            nets.append(net)
            seed_of.append(s)
            rank_of.append(r)
    base = task.stream(32, list(range(seeds)))
    pick = torch.tensor(seed_of)

    def batch(step: int):
        x, y = base(step)
        return x[pick], y[pick]

    stack = StackedRateRNN.from_models(nets)
    load0 = os.getloadavg()
    t = time.perf_counter()
    hist = fit_stacked(stack, batch, sequence_cross_entropy, TrainConfig(lr=3e-3, optimizer="sgd", momentum=0.9),
                       steps, log_every=100)
    wall = time.perf_counter() - t
    load1 = os.getloadavg()
    final = hist.final_loss()
    x, y = task.batch(320, seed=12_345)
    dec = task.decision_steps[-1]
    acc = [float((stack.model(i)(x).detach()[:, dec].argmax(-1) == y[:, dec]).float().mean()) for i in range(len(nets))]
    per_rank = {}
    for r in ranks:
        idx = [i for i, q in enumerate(rank_of) if q == r]
        per_rank[str(r)] = {"final_loss": [float(final[i]) for i in idx], "decision_accuracy": [acc[i] for i in idx],
                            "first_logged_loss": [float(hist.loss[0, i]) for i in idx]}
    return {"task": "2AF", "n_hidden": n, "gain": gain, "ranks": list(ranks), "seeds": seeds, "models": len(nets),
            "steps": steps, "batch": 32, "optimizer": "SGD momentum 0.9, lr 3e-3", "wall_s": wall,
            "wall_min": wall / 60, "s_per_step": wall / steps, "goal_min": 15.0, "goal_met": wall / 60 < 15.0,
            "load_average_before": load0, "load_average_after": load1, "per_rank": per_rank}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="N = 100 and fewer steps (a smoke test)")
    ap.add_argument("--out", default="benchmarks/results/rich_lazy.json")
    ap.add_argument("--part", choices=("all", "kernel", "training"), default="all")
    ap.add_argument("--full-grid", action="store_true",
                    help="train the whole 2AF grid (20 models x 10,000 steps) and time it")
    ap.add_argument("--steps", type=int, default=10_000, help="steps of --full-grid")
    a = ap.parse_args()
    n = 100 if a.quick else 300
    if a.full_grid:
        out = a.out if a.out != ap.get_default("out") else "benchmarks/results/rich_lazy_full_grid.json"
        res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
               "full_grid": full_grid(n, 5, a.steps, (1, 30, 100, n) if n >= 300 else (1, 30, n))}
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(res, indent=1))
        print(json.dumps(res, indent=1))
        return
    res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
           "load_average_start": os.getloadavg(),
           "kernel": kernel_benchmark(n, 1 if a.quick else 3) if a.part != "training" else None,
           "training": training_benchmark(n, 20, 20 if a.quick else 200) if a.part != "kernel" else None}
    res["load_average_end"] = os.getloadavg()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
