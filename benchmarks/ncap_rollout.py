"""Environment steps per second of swimmer rollouts: physics only, with NCAP, with an MLP.

Measures, interleaved in one process (so that load from other processes hits every
configuration alike), the control steps per second of the 6-link swimmer:

- ``physics``: the environment stepped with NCAP's actions recorded beforehand and replayed
  (no policy in the loop, but the same motion, so the same solver work; zero torque would
  leave the body still and make the physics look cheaper than it is);
- ``ncap`` / ``mlp-256``: the policy in the loop, called once per step on the batch of
  all N environments (N = 1 and N = ``--envs``);
- ``ppo-ncap`` / ``ppo-mlp-256``: stable-baselines3 PPO rollout + update (one 4096-step
  segment on N environments, the spec's 80 iterations with the KL stop).

Rates are computed from the process's CPU time (``time.process_time``), which is far
less sensitive than wall time to other processes on a shared machine; wall-clock rates
are recorded too. The ratio ``physics / configuration`` of each round is reported (median
over rounds); the goal is rollouts within 1.5x of physics-only speed. Run from the repository root:

    PYTHONPATH=src python benchmarks/ncap_rollout.py [--envs 8] [--steps 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--envs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=300, help="control steps per environment per measurement")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ppo", action="store_true", help="also time PPO rollout + update")
    ap.add_argument("--out", default="benchmarks/results/ncap_rollout.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from neurocircuits.envs import evaluate, make_vec_env, obs_size, swimmer
    from neurocircuits.models.ncap import MLPActor, NCAPController
    from neurocircuits.train.rl import PPOConfig, make_ppo

    n = 5
    envs = [swimmer(n) for _ in range(args.envs)]
    ncap = NCAPController(n)
    replay = _Replay(ncap)
    for r in range(args.rounds):  # record NCAP's actions for every round's episodes
        evaluate(replay.recorder(r), envs, args.envs, seed=r, max_steps=args.steps)
        evaluate(replay.recorder(r, single=True), envs[:1], 1, seed=r, max_steps=args.steps)
    policies = {"physics": replay, "ncap": ncap, "mlp-256": MLPActor(obs_size(n), n)}
    configs = [(name, k) for name in policies for k in sorted({1, args.envs})]
    ppo = {}
    if args.ppo:
        cfg = PPOConfig(n_envs=args.envs, total_steps=4096)
        for actor, kw in (("ncap", {}), ("mlp", {"hidden": (256, 256)})):
            ppo[f"ppo-{'ncap' if actor == 'ncap' else 'mlp-256'}"] = make_ppo(
                make_vec_env(args.envs, n, seed=0), actor, cfg, 0, kw)
    rates: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    wall: dict[str, list[float]] = {}
    for r in range(args.rounds):
        here = {}
        for name, k in configs:
            replay.start(r, single=k == 1)
            t, w = time.process_time(), time.perf_counter()
            evaluate(policies[name], envs[:k], k, seed=r, max_steps=args.steps)
            here[f"{name} x{k}"] = k * args.steps / (time.process_time() - t)
            wall.setdefault(f"{name} x{k}", []).append(k * args.steps / (time.perf_counter() - w))
        for name, model in ppo.items():
            t, w = time.process_time(), time.perf_counter()
            model.learn(total_timesteps=4096, reset_num_timesteps=False)
            key = f"{name} x{args.envs} (rollout + update)"
            here[key] = 4096 / (time.process_time() - t)
            wall.setdefault(key, []).append(4096 / (time.perf_counter() - w))
        for key, v in here.items():
            rates.setdefault(key, []).append(v)
            k = int(key.split(" x")[1].split()[0])
            ratios.setdefault(key, []).append(here[f"physics x{k}"] / v)
    print(f"{'configuration':42s} {'CPU steps/s':>12s} {'wall steps/s':>13s} {'physics / this':>15s}")
    rows = []
    for key in rates:
        row = {"configuration": key, "cpu_steps_per_s": float(np.median(rates[key])),
               "wall_steps_per_s": float(np.median(wall[key])),
               "slowdown_vs_physics": float(np.median(ratios[key])), "rounds_cpu": rates[key]}
        rows.append(row)
        print(f"{key:42s} {row['cpu_steps_per_s']:12.0f} {row['wall_steps_per_s']:13.0f} "
              f"{row['slowdown_vs_physics']:15.2f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from neurocircuits.report.env import environment

    out.write_text(json.dumps({"args": vars(args), "rows": rows, "environment": environment()}, indent=1))
    print(f"wrote {out}")


class _Replay:
    """Replays recorded actions step by step (an indexing operation, no computation)."""

    def __init__(self, policy):
        self.policy, self.tapes, self.key, self.i = policy, {}, None, 0

    def recorder(self, r, single=False):
        tape = self.tapes.setdefault((r, single), [])
        policy = self.policy

        class Rec:
            def act(self, obs, deterministic=True):
                a = policy.act(obs)
                tape.append(a)
                return a
        return Rec()

    def start(self, r, single=False):
        self.key, self.i = (r, single), 0

    def act(self, obs, deterministic=True):
        a = self.tapes[self.key][self.i]
        self.i += 1
        return a


if __name__ == "__main__":
    main()
