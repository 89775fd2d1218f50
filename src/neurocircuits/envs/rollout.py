"""Running policies in swimmer environments: batched evaluation, simple policies, vector envs.

A *policy* here is any of:

- an object with ``act(obs, deterministic=True) -> actions`` (batched NumPy in, NumPy out);
- a :class:`torch.nn.Module` mapping a ``(B, obs_dim)`` tensor to ``(B, n_actions)`` actions;
- a plain callable ``f(obs) -> actions`` on batched NumPy arrays.

Policies are always called on a batch (one row per environment), so running many
episodes in lock-step costs one policy call per control step, not one per environment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neurocircuits.errors import ValidationError


def act(policy: Any, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
    """Batched actions of ``policy`` for observations ``obs`` of shape ``(B, obs_dim)``."""
    if hasattr(policy, "act"):
        return np.asarray(policy.act(obs, deterministic=deterministic))
    import torch

    if isinstance(policy, torch.nn.Module):
        with torch.no_grad():
            return policy(torch.as_tensor(obs, dtype=torch.float32)).cpu().numpy()
    if callable(policy):
        return np.asarray(policy(obs))
    raise ValidationError(f"policy must be an nn.Module, a callable or have .act(); got {type(policy).__name__}")


class RandomPolicy:
    """Uniform random torques in [-1, 1] (its own seeded generator)."""

    def __init__(self, n_actions: int, seed: int = 0):
        self.n_actions, self.rng = int(n_actions), np.random.default_rng(seed)

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, size=(obs.shape[0], self.n_actions))


class ZeroPolicy:
    """Zero torque on every joint."""

    def __init__(self, n_actions: int):
        self.n_actions = int(n_actions)

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        return np.zeros((obs.shape[0], self.n_actions))


def evaluate(policy: Any, env: Any, episodes: int = 5, seed: int = 0, deterministic: bool = True,
             *, seeds: Sequence[int] | None = None, max_steps: int | None = None,
             record: Callable[[int, int, Any], None] | None = None) -> list[float]:
    """Episode returns of ``policy``; episode k starts from ``reset(seed=seed + k)``.

    Args:
        policy: see the module docstring.
        env: one environment, or a sequence of environments of the same body: then
            ``len(env)`` episodes run in lock-step with one batched policy call per step.
        episodes: number of episodes.
        seed: seed of the first episode's initial state.
        deterministic: passed to ``policy.act`` (mean action or a sample).
        seeds: explicit initial-state seed of every episode (overrides ``seed``; e.g. the
            same seed for every member of a population).
        max_steps: stop every episode after this many steps (partial returns; quick checks).
        record: optional ``record(episode, step, env)`` called after every step (rendering).

    Example:
        >>> from neurocircuits.envs import swimmer, ZeroPolicy
        >>> evaluate(ZeroPolicy(5), swimmer(5), episodes=1)
        [0.0]
    """
    envs = list(env) if isinstance(env, Sequence) else [env]
    if not envs:
        raise ValidationError("env must be an environment or a non-empty sequence of environments")
    if episodes < 1:
        raise ValidationError(f"episodes must be >= 1, got {episodes}")
    if seeds is not None and len(seeds) != episodes:
        raise ValidationError(f"seeds must give one seed per episode ({episodes}), got {len(seeds)}")
    if max_steps is not None and max_steps < 1:
        raise ValidationError(f"max_steps must be >= 1, got {max_steps}")
    ep_seeds = [int(x) for x in seeds] if seeds is not None else [seed + k for k in range(episodes)]
    shapes = {e.observation_space.shape for e in envs}
    if len(shapes) > 1:
        raise ValidationError(f"all environments must share one observation shape, got {sorted(shapes)}")
    returns: list[float] = []
    for start in range(0, episodes, len(envs)):
        batch = envs[:min(len(envs), episodes - start)]
        obs = np.stack([e.reset(seed=ep_seeds[start + j])[0] for j, e in enumerate(batch)])
        total = np.zeros(len(batch))
        done = np.zeros(len(batch), dtype=bool)
        step = 0
        while not done.all():
            a = act(policy, obs, deterministic)
            for j, e in enumerate(batch):
                if done[j]:
                    continue
                o, r, term, trunc, _ = e.step(a[j])
                obs[j] = o
                total[j] += r
                done[j] = term or trunc
                if record is not None:
                    record(start + j, step, e)
            step += 1
            if max_steps is not None and step >= max_steps:
                break
        returns.extend(float(x) for x in total)
    return returns


def make_vec_env(n_envs: int = 8, n_joints: int = 5, task: str = "swim", seed: int = 0, processes: int = 1):
    """A stable-baselines3 vector env of ``n_envs`` swimmers (sub-processes if ``processes > 1``).

    With ``processes > 1`` the environments are spread over that many worker processes
    (each running ``n_envs / processes`` bodies); the policy is still called once per
    step on the whole batch.
    """
    from neurocircuits.envs.swimmer import check_joints, check_task

    check_joints(n_joints)
    check_task(task)
    if n_envs < 1 or processes < 1:
        raise ValidationError(f"n_envs and processes must be >= 1, got {n_envs}, {processes}")
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    fns: list[Callable[[], Any]] = [_EnvFactory(n_joints, task, seed + i) for i in range(n_envs)]
    if processes > 1:
        return SubprocVecEnv(fns, start_method="forkserver")
    return DummyVecEnv(fns)


class _EnvFactory:
    """A picklable environment constructor (for sub-process vector envs)."""

    def __init__(self, n_joints: int, task: str, seed: int):
        self.n_joints, self.task, self.seed = n_joints, task, seed

    def __call__(self):
        from neurocircuits.envs.swimmer import swimmer

        return swimmer(self.n_joints, self.task, seed=self.seed)


class StackedPolicies:
    """Row j of a batch goes to policy j: evaluates a population (CMA-ES) in lock-step."""

    def __init__(self, policies: Sequence[Any]):
        self.policies = list(policies)

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        if obs.shape[0] > len(self.policies):
            raise ValidationError(f"{obs.shape[0]} observations but only {len(self.policies)} policies")
        return np.concatenate([act(p, obs[j:j + 1], deterministic) for j, p in enumerate(self.policies[:obs.shape[0]])])
