"""PPO (stable-baselines3 with the circuit policy) and CMA-ES: settings, checkpoints, resume."""

import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")
pytest.importorskip("dm_control")

from neurocircuits.envs import evaluate, make_vec_env, swimmer  # noqa: E402
from neurocircuits.errors import UnknownNameError, ValidationError  # noqa: E402
from neurocircuits.models.ncap import NCAPController  # noqa: E402
from neurocircuits.train.rl import (  # noqa: E402
    CMAConfig, PPOConfig, RunningNorm, make_ppo, steps_to_reach, train_cma, train_ppo, value_at,
)

TINY = dict(total_steps=256, n_envs=2, segment=128, iterations=3, eval_every=128, eval_episodes=0)


def test_policy_matches_the_spec_setup():
    env = make_vec_env(2, 5, seed=0)
    ncap = make_ppo(env, "ncap", PPOConfig(**TINY), seed=0).policy
    assert sum(p.numel() for p in ncap.actor.parameters()) == 4
    assert ncap.std().tolist() == pytest.approx([0.1] * 5)  # fixed sigma, not a parameter
    assert all(not (p is ncap.fixed_std) for p in ncap.parameters())
    lr = [g["lr"] for g in ncap.optimizer.param_groups]
    assert lr == pytest.approx([3e-4, 1e-3])
    obs = torch.randn(6, 24) * 3
    ncap.obs_norm.update(obs)  # the normaliser feeds only the critic: the actor reads raw observations
    assert torch.allclose(ncap.mean_action(obs), NCAPController(5)(obs))
    mlp = make_ppo(env, "mlp", PPOConfig(**TINY), seed=0, actor_kwargs={"hidden": (64, 64)}).policy
    assert mlp.std().tolist() == pytest.approx([np.log(2)] * 5, abs=1e-6)  # softplus(0), learnable
    assert mlp.std_raw.requires_grad and sum(p.numel() for p in mlp.actor.parameters()) == 6085
    with pytest.raises(UnknownNameError):
        make_ppo(env, "rnn", PPOConfig(**TINY), seed=0)
    with pytest.raises(ValidationError, match="n_envs"):
        make_ppo(env, "ncap", PPOConfig(**{**TINY, "n_envs": 4}), seed=0)
    env.close()


def test_ppo_trains_checkpoints_and_resumes(tmp_path):
    ck = tmp_path / "run.pt"
    envs = [swimmer(5)]

    def ev(pol, det, s):
        return evaluate(pol, envs, 1, seed=s, deterministic=det, max_steps=50)

    cfg = PPOConfig(**{**TINY, "eval_episodes": 1})
    first = train_ppo(lambda s: make_vec_env(2, 5, seed=s), "ncap", PPOConfig(**{**TINY, "total_steps": 128,
                                                                                  "eval_episodes": 1}),
                      0, ev, checkpoint=ck)
    assert [r["steps"] for r in first.curve] == [0, 128] and ck.exists()
    resumed = train_ppo(lambda s: make_vec_env(2, 5, seed=s), "ncap", cfg, 0, ev, checkpoint=ck)
    assert [r["steps"] for r in resumed.curve] == [0, 128, 256]
    assert resumed.curve[:2] == first.curve and resumed.n_params == 4
    assert set(resumed.curve[-1]) >= {"return_det", "return_stoch", "wall_time_s"}
    # fine-tuning starts from given actor weights
    state = {k: v * 0.5 for k, v in first.actor_state.items()}
    ft = train_ppo(lambda s: make_vec_env(2, 3, seed=s), "ncap", PPOConfig(**{**TINY, "total_steps": 128}), 0, ev,
                   actor_kwargs={"n_joints": 3}, init_actor_state=state)
    assert ft.steps == 128
    before = torch.random.get_rng_state()
    train_ppo(lambda s: make_vec_env(2, 5, seed=s), "mlp", PPOConfig(**{**TINY, "total_steps": 128}), 3, ev,
              actor_kwargs={"hidden": (8,)})
    assert torch.equal(before, torch.random.get_rng_state())  # global RNG state restored


def test_cma_improves_a_quadratic_and_resumes(tmp_path):
    target = np.array([0.5, -0.3, 0.8, 0.1])

    def score(xs, gen):
        return [-float(np.sum((np.asarray(x) - target) ** 2)) for x in xs]

    def ev(x, s):
        return score([x], 0)

    cfg = CMAConfig(total_steps=60, sigma0=0.3, episodes=1, episode_steps=1, eval_every=20)
    ck = tmp_path / "cma.pt"
    half = train_cma(score, np.zeros(4), CMAConfig(**{**cfg.__dict__, "total_steps": 30}), 0, ev, checkpoint=ck)
    full = train_cma(score, np.zeros(4), cfg, 0, ev, checkpoint=ck)
    assert full.curve[:len(half.curve)] == half.curve and full.steps >= 60
    assert full.curve[-1]["return_det"] > full.curve[0]["return_det"]
    with pytest.raises(ValidationError):
        CMAConfig(sigma0=0)


def test_running_norm_and_curve_helpers():
    x = torch.randn(500, 3, generator=torch.Generator().manual_seed(0)) * torch.tensor([1.0, 5.0, 0.1]) + 2
    norm = RunningNorm(3)
    for chunk in x.split(64):
        norm.update(chunk)
    np.testing.assert_allclose(norm.mean.numpy(), x.double().mean(0).numpy(), rtol=1e-9, atol=1e-12)
    z = norm(x)
    np.testing.assert_allclose(z.std(0).numpy(), np.ones(3), atol=1e-2)
    curve = [{"steps": 0, "r": 1.0}, {"steps": 100, "r": 5.0}, {"steps": 200, "r": 9.0}]
    assert value_at(curve, "r", 150) == 5.0 and np.isnan(value_at(curve, "r", 250))
    assert steps_to_reach(curve, "r", 4.0) == 100 and np.isnan(steps_to_reach(curve, "r", 10))
    with pytest.raises(ValidationError, match="multiple"):
        PPOConfig(n_envs=3, segment=128)
    with pytest.raises(ValidationError, match="whole segments"):
        PPOConfig(eval_every=25600)
