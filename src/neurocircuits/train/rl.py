"""Reinforcement learning for circuit and MLP controllers: PPO (stable-baselines3) and CMA-ES.

One implementation trains every policy, so that arms differ only in the actor:

- :class:`CircuitActorCriticPolicy` is a stable-baselines3 policy whose actor is either an
  :class:`~neurocircuits.models.NCAPController` (the circuit gives the mean of a Gaussian
  with a fixed sigma = 0.1; the actor reads raw observations) or an
  :class:`~neurocircuits.models.ncap.MLPActor` (tanh MLP, a learnable state-independent
  sigma = softplus(raw) clamped to [1e-4, 1] from softplus(0); the actor reads
  normalised observations). The critic is a tanh MLP on observations normalised by running
  mean and standard deviation, with its own learning rate.
- :func:`train_ppo` runs PPO with Tonic v0.3's defaults (4096-step segments, up to 80
  full-batch iterations with a KL early stop at 0.015, gamma 0.99, GAE lambda 0.97,
  standardised advantages, clip 0.2, no entropy bonus, actor Adam 3e-4, critic Adam 1e-3),
  evaluates every ``eval_every`` steps (deterministic and stochastic episodes, reported
  separately), checkpoints after every evaluation and resumes from the checkpoint.
- :func:`train_cma` runs CMA-ES (``cma``) on a weight vector (e.g. NCAP's 4 or 30 weights).

Environments and evaluation come in as arguments (``make_env``, ``evaluate``), so this
module needs no particular simulator.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neurocircuits.base.seed import seeded
from neurocircuits.errors import MissingDependencyError, UnknownNameError, ValidationError
from neurocircuits.train.checkpoint import atomic_save

ACTORS = ("ncap", "mlp")
INSTALL = 'pip install "neurocircuits[rl]"'


def _sb3():
    try:
        import stable_baselines3
        from stable_baselines3.common import policies
    except ImportError as e:  # pragma: no cover - depends on the install
        raise MissingDependencyError("stable-baselines3", "PPO training", INSTALL) from e
    return stable_baselines3, policies


@dataclass
class PPOConfig:
    """PPO settings (Tonic v0.3 defaults unless noted)."""

    total_steps: int = 1_000_000
    n_envs: int = 8
    segment: int = 4096  # environment steps per update (n_envs x steps per env)
    iterations: int = 80  # full-batch gradient iterations per update (KL early stop)
    gamma: float = 0.99
    gae_lambda: float = 0.97
    clip: float = 0.2
    max_kl: float = 0.015
    actor_lr: float = 3e-4
    critic_lr: float = 1e-3
    critic_hidden: tuple[int, ...] = (64, 64)
    ncap_sigma: float = 0.1
    eval_every: int = 20480  # environment steps between evaluations (and checkpoints)
    eval_episodes: int = 5
    processes: int = 1  # worker processes for the environments

    def __post_init__(self) -> None:
        if self.total_steps < 1 or self.n_envs < 1 or self.segment < self.n_envs:
            raise ValidationError(f"need total_steps >= 1, n_envs >= 1 and segment >= n_envs; got "
                                  f"{self.total_steps}, {self.n_envs}, {self.segment}")
        if self.segment % self.n_envs:
            raise ValidationError(f"segment ({self.segment}) must be a multiple of n_envs ({self.n_envs})")
        if self.iterations < 1 or self.eval_every < 1 or self.eval_episodes < 0:
            raise ValidationError("iterations and eval_every must be >= 1, eval_episodes >= 0")
        if self.eval_every % self.segment:
            raise ValidationError(f"eval_every ({self.eval_every}) must be a multiple of segment ({self.segment}): "
                                  "PPO collects whole segments (total_steps is rounded up to whole segments)")


class RunningNorm(nn.Module):
    """Running mean / standard deviation of observations (updated explicitly with :meth:`update`)."""

    count: torch.Tensor
    mean: torch.Tensor
    m2: torch.Tensor

    def __init__(self, dim: int, clip: float = 10.0):
        super().__init__()
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("m2", torch.zeros(dim, dtype=torch.float64))
        self.clip = clip

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        x = x.detach().reshape(-1, self.mean.shape[0]).double()
        n, m = x.shape[0], x.mean(0)
        delta = m - self.mean
        total = self.count + n
        self.mean += delta * n / total
        self.m2 += ((x - m) ** 2).sum(0) + delta ** 2 * self.count * n / total
        self.count.copy_(total)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.count < 2:
            return x
        std = torch.sqrt(self.m2 / (self.count - 1)).clamp_min(1e-8)
        return ((x - self.mean.to(x.dtype)) / std.to(x.dtype)).clamp(-self.clip, self.clip)


def _mlp(sizes: Sequence[int], act: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def build_actor(actor: str, obs_dim: int, n_actions: int, actor_kwargs: dict[str, Any] | None = None) -> nn.Module:
    """The actor network: ``"ncap"`` (kwargs of NCAPController) or ``"mlp"`` (``hidden=(256, 256)``)."""
    from neurocircuits.models.ncap import MLPActor, NCAPController

    kw = dict(actor_kwargs or {})
    if actor == "ncap":
        kw.setdefault("n_joints", n_actions)
        m = NCAPController(**kw)
        if m.obs_dim != obs_dim:
            raise ValidationError(f"the NCAP actor expects {m.obs_dim} observation features, the env gives {obs_dim}")
        return m
    if actor == "mlp":
        return MLPActor(obs_dim, n_actions, tuple(kw.get("hidden", (256, 256))))
    raise UnknownNameError("actor", actor, ACTORS)


def _policy_class():
    _, policies = _sb3()
    from stable_baselines3.common.distributions import DiagGaussianDistribution

    class CircuitActorCriticPolicy(policies.ActorCriticPolicy):
        """stable-baselines3 actor-critic with an NCAP or MLP actor and a normalised-input critic."""

        def __init__(self, observation_space, action_space, lr_schedule, *, actor: str = "ncap",
                     actor_kwargs: dict | None = None, sigma: float | None = 0.1,
                     critic_hidden: Sequence[int] = (64, 64), critic_lr_scale: float = 1.0,
                     normalize_actor: bool = False, **kwargs):
            self._actor_name, self._actor_kwargs = actor, dict(actor_kwargs or {})
            self._sigma, self._critic_hidden = sigma, tuple(critic_hidden)
            self._critic_lr_scale, self._normalize_actor = float(critic_lr_scale), bool(normalize_actor)
            super().__init__(observation_space, action_space, lr_schedule, ortho_init=False, **kwargs)

        def _get_constructor_parameters(self) -> dict:
            data = super()._get_constructor_parameters()
            data.update(actor=self._actor_name, actor_kwargs=self._actor_kwargs, sigma=self._sigma,
                        critic_hidden=self._critic_hidden, critic_lr_scale=self._critic_lr_scale,
                        normalize_actor=self._normalize_actor)
            return data

        def _build(self, lr_schedule) -> None:
            obs_dim = int(np.prod(self.observation_space.shape))
            n_act = int(np.prod(self.action_space.shape))
            self.obs_norm = RunningNorm(obs_dim)
            self.actor = build_actor(self._actor_name, obs_dim, n_act, self._actor_kwargs)
            self.critic = _mlp([obs_dim, *self._critic_hidden, 1])
            self.action_dist = DiagGaussianDistribution(n_act)
            self.std_raw: nn.Parameter | None
            if self._sigma is None:  # learnable, state-independent: softplus(raw), raw = 0 at start
                self.std_raw = nn.Parameter(torch.zeros(n_act))
            else:
                self.register_buffer("fixed_std", torch.full((n_act,), float(self._sigma)))
                self.std_raw = None
            actor_params = list(self.actor.parameters()) + ([self.std_raw] if self.std_raw is not None else [])
            self.optimizer = self.optimizer_class(
                [{"params": actor_params, "lr_scale": 1.0},
                 {"params": list(self.critic.parameters()), "lr_scale": self._critic_lr_scale}],
                lr=lr_schedule(1), **self.optimizer_kwargs)
            for g in self.optimizer.param_groups:
                g["lr"] = lr_schedule(1) * g["lr_scale"]

        # --- pieces ---------------------------------------------------------------------------
        def std(self) -> torch.Tensor:
            if self.std_raw is None:
                return self.fixed_std
            return nn.functional.softplus(self.std_raw).clamp(1e-4, 1.0)

        def mean_action(self, obs: torch.Tensor) -> torch.Tensor:
            return self.actor(self.obs_norm(obs) if self._normalize_actor else obs)

        def _dist(self, obs: torch.Tensor):
            mean = self.mean_action(obs)
            return self.action_dist.proba_distribution(mean, torch.log(self.std()).expand_as(mean))

        def _value(self, obs: torch.Tensor) -> torch.Tensor:
            return self.critic(self.obs_norm(obs))

        # --- the ActorCriticPolicy interface ----------------------------------------------------
        def forward(self, obs: torch.Tensor, deterministic: bool = False):
            obs = obs.float()
            self.obs_norm.update(obs)  # called only while collecting rollouts
            dist = self._dist(obs)
            actions = dist.get_actions(deterministic=deterministic)
            return actions, self._value(obs), dist.log_prob(actions)

        def evaluate_actions(self, obs: torch.Tensor, actions: torch.Tensor):
            obs = obs.float()
            dist = self._dist(obs)
            return self._value(obs), dist.log_prob(actions), dist.entropy()

        def get_distribution(self, obs: torch.Tensor):
            return self._dist(obs.float())

        def predict_values(self, obs: torch.Tensor) -> torch.Tensor:
            return self._value(obs.float())

        def _predict(self, observation: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
            return self._dist(observation.float()).get_actions(deterministic=deterministic)

        # --- evaluation ---------------------------------------------------------------------------
        @torch.no_grad()
        def act(self, obs: np.ndarray, deterministic: bool = True, generator: torch.Generator | None = None):
            """Batched NumPy actions: the mean, or a sample drawn with ``generator``."""
            if hasattr(self.actor, "act") and not self._normalize_actor:  # NCAP's NumPy fast path
                mean = torch.as_tensor(self.actor.act(np.asarray(obs, dtype=np.float32)))  # type: ignore[operator]
            else:
                mean = self.mean_action(torch.as_tensor(np.asarray(obs), dtype=torch.float32))
            if not deterministic:
                mean = mean + self.std() * torch.randn(mean.shape, generator=generator)
            return mean.numpy()

    CircuitActorCriticPolicy.__module__ = __name__
    CircuitActorCriticPolicy.__qualname__ = "CircuitActorCriticPolicy"
    return CircuitActorCriticPolicy


def _ppo_class():
    sb3, _ = _sb3()

    class GroupLRPPO(sb3.PPO):
        """PPO whose optimiser keeps a per-parameter-group learning-rate scale (actor / critic)."""

        def _update_learning_rate(self, optimizers) -> None:
            lr = self.lr_schedule(self._current_progress_remaining)
            self.logger.record("train/learning_rate", lr)
            for opt in optimizers if isinstance(optimizers, list) else [optimizers]:
                for g in opt.param_groups:
                    g["lr"] = lr * g.get("lr_scale", 1.0)

    return GroupLRPPO


class _StochasticActor:
    """Evaluation adapter: samples actions with a seeded generator."""

    def __init__(self, policy: Any, seed: int):
        self.policy, self.gen = policy, torch.Generator().manual_seed(int(seed))

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        return self.policy.act(obs, deterministic=False, generator=self.gen)


def make_ppo(env: Any, actor: str, cfg: PPOConfig, seed: int, actor_kwargs: dict | None = None) -> Any:
    """A stable-baselines3 PPO (with :class:`CircuitActorCriticPolicy`) for the vector env ``env``."""
    if actor not in ACTORS:
        raise UnknownNameError("actor", actor, ACTORS)
    if env.num_envs != cfg.n_envs:
        raise ValidationError(f"the vector env has {env.num_envs} envs but cfg.n_envs = {cfg.n_envs}")
    policy_kwargs = dict(actor=actor, actor_kwargs=actor_kwargs, critic_hidden=cfg.critic_hidden,
                         sigma=cfg.ncap_sigma if actor == "ncap" else None,
                         normalize_actor=actor == "mlp", critic_lr_scale=cfg.critic_lr / cfg.actor_lr)
    return _ppo_class()(
        _policy_class(), env, learning_rate=cfg.actor_lr, n_steps=cfg.segment // cfg.n_envs,
        batch_size=cfg.segment, n_epochs=cfg.iterations, gamma=cfg.gamma, gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip, ent_coef=0.0, vf_coef=1.0, max_grad_norm=1e9,
        target_kl=cfg.max_kl / 1.5,  # stable-baselines3 stops at 1.5 x target_kl
        normalize_advantage=True, policy_kwargs=policy_kwargs, seed=seed, verbose=0, device="cpu")


@dataclass
class RLResult:
    """What a training run returns: its learning curve and the final actor."""

    curve: list[dict[str, float]]
    actor_state: dict[str, Any]
    n_params: int
    wall_time_s: float
    steps: int
    info: dict[str, Any] = field(default_factory=dict)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def train_ppo(make_env: Callable[[int], Any], actor: str, cfg: PPOConfig, seed: int,
              evaluate: Callable[[Any, bool, int], list[float]], *, actor_kwargs: dict | None = None,
              checkpoint: str | Path | None = None, init_actor_state: dict | None = None,
              log: Callable[[str], None] | None = None) -> RLResult:
    """Train ``actor`` with PPO; evaluate and checkpoint every ``cfg.eval_every`` steps.

    Args:
        make_env: ``make_env(seed)`` returns the training vector env (``cfg.n_envs`` envs).
        actor: ``"ncap"`` or ``"mlp"``; ``actor_kwargs`` go to its constructor.
        evaluate: ``evaluate(policy, deterministic, seed) -> returns``; ``policy`` has ``act``.
        checkpoint: file to checkpoint to; if it exists the run resumes from it (the
            environments restart their episodes on resume).
        init_actor_state: start the actor from these weights (fine-tuning).

    The curve has one row per evaluation: ``steps``, ``return_det``, ``return_stoch``
    (means over ``cfg.eval_episodes`` episodes) and ``wall_time_s``. Global RNG state
    (which stable-baselines3 seeds) is restored on return.
    """
    with seeded(seed):
        return _train_ppo(make_env, actor, cfg, seed, evaluate, actor_kwargs, checkpoint, init_actor_state, log)


def _train_ppo(make_env, actor, cfg, seed, evaluate, actor_kwargs, checkpoint, init_actor_state, log) -> RLResult:
    env = make_env(seed)
    model = make_ppo(env, actor, cfg, seed, actor_kwargs)
    pol = model.policy
    curve: list[dict[str, float]] = []
    wall0 = 0.0
    ck = Path(checkpoint) if checkpoint is not None else None
    if ck is not None and ck.exists():
        state = torch.load(ck, weights_only=False)
        pol.load_state_dict(state["policy"])
        pol.optimizer.load_state_dict(state["optimizer"])
        model.num_timesteps, curve, wall0 = state["steps"], state["curve"], state["wall_time_s"]
    elif init_actor_state is not None:
        pol.actor.load_state_dict(init_actor_state)
    t0 = time.perf_counter()

    def do_eval() -> None:
        pol.set_training_mode(False)
        row = {"steps": float(model.num_timesteps)}
        if cfg.eval_episodes:
            row["return_det"] = float(np.mean(evaluate(pol, True, 10_000 + len(curve))))
            row["return_stoch"] = float(np.mean(evaluate(_StochasticActor(pol, seed * 7919 + len(curve)), False,
                                                         20_000 + len(curve))))
        row["wall_time_s"] = wall0 + time.perf_counter() - t0
        curve.append(row)
        if ck is not None:
            atomic_save({"policy": pol.state_dict(), "optimizer": pol.optimizer.state_dict(),
                         "steps": model.num_timesteps, "curve": curve, "wall_time_s": row["wall_time_s"]}, ck)
        if log is not None:
            log(f"{actor} seed {seed}: {int(row['steps'])} steps, return det {row.get('return_det', float('nan')):.1f}"
                f" stoch {row.get('return_stoch', float('nan')):.1f}")

    if not curve:
        do_eval()
    while model.num_timesteps < cfg.total_steps:
        target = min(cfg.total_steps, (model.num_timesteps // cfg.eval_every + 1) * cfg.eval_every)
        model.learn(total_timesteps=target - model.num_timesteps, reset_num_timesteps=False)
        do_eval()
    env.close()
    return RLResult(curve, {k: v.detach().clone() for k, v in pol.actor.state_dict().items()},
                    count_params(pol.actor), curve[-1]["wall_time_s"], int(model.num_timesteps),
                    info={"algorithm": "ppo", "actor": actor, "actor_kwargs": dict(actor_kwargs or {}),
                          "config": asdict(cfg)})


@dataclass
class CMAConfig:
    """CMA-ES on a weight vector; every candidate is scored on ``episodes`` episodes."""

    total_steps: int = 1_000_000
    sigma0: float = 0.1
    popsize: int | None = None  # None: cma's default 4 + 3 ln(n)
    episodes: int = 1
    episode_steps: int = 1000
    eval_every: int = 20480
    eval_episodes: int = 5

    def __post_init__(self) -> None:
        if self.total_steps < 1 or not self.sigma0 > 0 or self.episodes < 1:
            raise ValidationError("CMA-ES needs total_steps >= 1, sigma0 > 0 and episodes >= 1")


def train_cma(score: Callable[[list[np.ndarray], int], list[float]], x0: np.ndarray, cfg: CMAConfig, seed: int,
              evaluate: Callable[[np.ndarray, int], list[float]], *, checkpoint: str | Path | None = None,
              log: Callable[[str], None] | None = None) -> RLResult:
    """Maximise ``score`` with CMA-ES from ``x0``; evaluate the distribution mean regularly.

    Args:
        score: ``score(candidates, generation) -> returns`` (one per candidate; higher is better).
        x0: start vector (e.g. NCAP's raw weights).
        evaluate: ``evaluate(x, seed) -> returns`` of held-out episodes for the mean vector.
        checkpoint: file to checkpoint to after every evaluation; resumes from it.

    Environment steps count ``popsize x episodes x episode_steps`` per generation.
    """
    try:
        import cma
    except ImportError as e:  # pragma: no cover
        raise MissingDependencyError("cma", "CMA-ES training", INSTALL) from e
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
    opts = {"seed": int(seed) + 1, "verbose": -9, "verb_log": 0, "verb_disp": 0}
    if cfg.popsize is not None:
        opts["popsize"] = cfg.popsize
    ck = Path(checkpoint) if checkpoint is not None else None
    curve: list[dict[str, float]] = []
    steps, wall0, gen = 0, 0.0, 0
    if ck is not None and ck.exists():
        state = torch.load(ck, weights_only=False)
        es, curve, steps, wall0, gen = state["es"], state["curve"], state["steps"], state["wall_time_s"], state["gen"]
    else:
        es = cma.CMAEvolutionStrategy(x0, cfg.sigma0, opts) if x0.size > 1 else None
        if es is None:
            raise ValidationError("CMA-ES needs at least 2 weights")
    t0 = time.perf_counter()

    def do_eval() -> None:
        x = np.asarray(es.mean)
        row = {"steps": float(steps), "return_det": float(np.mean(evaluate(x, 10_000 + len(curve))))
               if cfg.eval_episodes else float("nan"), "wall_time_s": wall0 + time.perf_counter() - t0}
        curve.append(row)
        if ck is not None:
            atomic_save({"es": es, "curve": curve, "steps": steps, "wall_time_s": row["wall_time_s"], "gen": gen}, ck)
        if log is not None:
            log(f"cma seed {seed}: {steps} steps, return {row['return_det']:.1f}")

    if not curve:
        do_eval()
    next_eval = (steps // cfg.eval_every + 1) * cfg.eval_every
    while steps < cfg.total_steps:
        xs = es.ask()
        rets = score(xs, gen)
        es.tell(xs, [-r for r in rets])
        gen += 1
        steps += len(xs) * cfg.episodes * cfg.episode_steps
        if steps >= next_eval or steps >= cfg.total_steps:
            do_eval()
            next_eval = (steps // cfg.eval_every + 1) * cfg.eval_every
    return RLResult(curve, {"x": np.asarray(es.mean).copy()}, int(x0.size), curve[-1]["wall_time_s"], steps,
                    info={"algorithm": "cma-es", "config": asdict(cfg), "generations": gen,
                          "popsize": int(es.popsize)})


def value_at(curve: Sequence[dict[str, float]], key: str, steps: float) -> float:
    """``key`` at the last evaluation with at most ``steps`` environment steps.

    NaN if there is none, or if the run stopped before ``steps`` (the budget was not reached).
    """
    if not curve or steps > curve[-1]["steps"]:
        return float("nan")
    rows = [r for r in curve if r["steps"] <= steps and key in r]
    return float(rows[-1][key]) if rows else float("nan")


def steps_to_reach(curve: Sequence[dict[str, float]], key: str, threshold: float) -> float:
    """Environment steps of the first evaluation with ``key >= threshold`` (NaN if never reached)."""
    for r in curve:
        if key in r and r[key] >= threshold:
            return float(r["steps"])
    return float("nan")
