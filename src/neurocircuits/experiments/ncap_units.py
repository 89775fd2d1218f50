"""The independent units of experiment ``ncap-swimmer`` (module-level, so any executor can run them).

Each unit builds its own environments and policies from the public API
(:mod:`neurocircuits.envs`, :mod:`neurocircuits.models.ncap`, :mod:`neurocircuits.train.rl`)
and returns plain results that the runner checkpoints under the unit's key.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from neurocircuits.base.seed import seeded

#: trainable arms: name -> (actor, actor kwargs)
ARMS: dict[str, tuple[str, dict]] = {
    "ncap": ("ncap", {}),
    "ncap-unshared": ("ncap", {"shared": False}),
    "ncap-unsigned": ("ncap", {"signed": False}),
    "ncap-random-init": ("ncap", {"init": "random"}),
    "ncap-softplus": ("ncap", {"sign_mode": "softplus"}),
    "mlp-256": ("mlp", {"hidden": (256, 256)}),
    "mlp-64": ("mlp", {"hidden": (64, 64)}),
}
#: untrained policies of the first table: name -> (kind, kwargs)
UNTRAINED: dict[str, tuple[str, dict]] = {
    "ncap, constant init": ("ncap", {}),
    "ncap, random init": ("ncap", {"init": "random"}),
    "ncap unsigned, random ±1": ("ncap", {"signed": False}),
    "ncap unsigned, U(-1, 1)": ("ncap", {"signed": False, "init": "random"}),
    "ncap without oscillator": ("ncap", {"oscillator": False}),
    "ncap without proprioception": ("ncap", {"proprioception": False}),
    "mlp-256, untrained": ("mlp", {"hidden": (256, 256)}),
    "mlp-64, untrained": ("mlp", {"hidden": (64, 64)}),
    "random actions": ("random", {}),
    "zero action": ("zero", {}),
}



def _envs(n_joints: int, k: int) -> list:
    from neurocircuits.envs import swimmer

    return [swimmer(n_joints) for _ in range(max(k, 1))]


def untrained_policy(name: str, n_joints: int, seed: int):
    """The untrained policy ``name`` of :data:`UNTRAINED` for a body with ``n_joints`` joints."""
    from neurocircuits.envs import RandomPolicy, ZeroPolicy, obs_size
    from neurocircuits.models.ncap import MLPActor, NCAPController

    kind, kw = UNTRAINED[name]
    if kind == "ncap":
        return NCAPController(n_joints, seed=seed, **kw)
    if kind == "mlp":
        with seeded(seed):
            return MLPActor(obs_size(n_joints), n_joints, kw["hidden"])
    return RandomPolicy(n_joints, seed) if kind == "random" else ZeroPolicy(n_joints)


def untrained_unit(name: str, n_joints: int, seed: int) -> float:
    from neurocircuits.envs import evaluate

    torch.set_num_threads(1)
    return evaluate(untrained_policy(name, n_joints, seed), _envs(n_joints, 1), episodes=1, seed=seed)[0]


def ppo_unit(arm: str, seed: int, n_joints: int, cfg: dict, checkpoint: str, init_state: dict | None = None):
    from neurocircuits.envs import evaluate, make_vec_env
    from neurocircuits.train.rl import PPOConfig, train_ppo

    torch.set_num_threads(1)
    pcfg = PPOConfig(**cfg)
    envs = _envs(n_joints, pcfg.eval_episodes)
    actor, kw = ARMS[arm]
    kw = {**kw, "n_joints": n_joints, "seed": seed} if actor == "ncap" else kw
    return train_ppo(lambda s: make_vec_env(pcfg.n_envs, n_joints, seed=1000 * s, processes=pcfg.processes),
                     actor, pcfg, seed,
                     lambda pol, det, s: evaluate(pol, envs, pcfg.eval_episodes, seed=s, deterministic=det),
                     actor_kwargs=kw, checkpoint=checkpoint, init_actor_state=init_state)


def cma_unit(arm: str, seed: int, n_joints: int, cfg: dict, eval_episodes: int, checkpoint: str):
    from torch.nn.utils import parameters_to_vector, vector_to_parameters

    from neurocircuits.envs import StackedPolicies, evaluate
    from neurocircuits.models.ncap import NCAPController
    from neurocircuits.train.rl import CMAConfig, train_cma

    torch.set_num_threads(1)
    ccfg = CMAConfig(**cfg)
    kw = ARMS[arm][1]
    template = NCAPController(n_joints, seed=seed, **kw)

    def policy(x: np.ndarray) -> NCAPController:
        m = NCAPController(n_joints, seed=seed, **kw)
        vector_to_parameters(torch.as_tensor(np.asarray(x), dtype=torch.float32), m.parameters())
        return m

    pool: list = []

    def score(xs: list, gen: int) -> list[float]:
        while len(pool) < len(xs):
            pool.extend(_envs(n_joints, len(xs) - len(pool)))
        # common random numbers: every candidate of a generation starts from the same state
        return evaluate(StackedPolicies([policy(x) for x in xs]), pool[:len(xs)], len(xs),
                        seeds=[seed * 100_003 + gen] * len(xs))

    eval_envs = _envs(n_joints, eval_episodes)
    x0 = parameters_to_vector(template.parameters()).detach().numpy().astype(np.float64)
    res = train_cma(score, x0, ccfg, seed, lambda x, s: evaluate(policy(x), eval_envs, eval_episodes, seed=s),
                    checkpoint=checkpoint)
    res.actor_state = policy(res.actor_state["x"]).state_dict()
    return res


def zero_shot_unit(state: dict | None, n_joints: int, seed: int, episodes: int, kind: str = "ncap") -> list[float]:
    """Returns on a body of ``n_joints`` of NCAP with ``state`` (None: constant init) or random actions."""
    from neurocircuits.envs import RandomPolicy, evaluate
    from neurocircuits.models.ncap import NCAPController

    torch.set_num_threads(1)
    policy: Any
    if kind == "random":
        policy = RandomPolicy(n_joints, seed)
    else:
        policy = NCAPController(n_joints)
        if state is not None:
            policy.load_state_dict(state)
    return evaluate(policy, _envs(n_joints, episodes), episodes, seed=50_000 + 100 * seed)
