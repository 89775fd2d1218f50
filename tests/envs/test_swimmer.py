"""The swimmer environment over dm_control + MuJoCo: spaces, reward, time feature, regression return."""

import numpy as np
import pytest

pytest.importorskip("dm_control")
pytest.importorskip("gymnasium")

from neurocircuits.envs import (  # noqa: E402
    RandomPolicy, ZeroPolicy, evaluate, obs_size, swimmer, time_feature,
)
from neurocircuits.errors import UnknownNameError, ValidationError  # noqa: E402
from neurocircuits.models.ncap import NCAPController  # noqa: E402


def test_spaces_and_observation_layout():
    env = swimmer(5, seed=0)
    obs, _ = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape == (24,) and obs.dtype == np.float32
    assert env.action_space.shape == (5,) and env.action_space.high.tolist() == [1.0] * 5
    np.testing.assert_allclose(obs[:5], env.physics.data.qpos[3:], atol=1e-6)
    np.testing.assert_allclose(obs[5:23], env.physics.body_velocities(), atol=1e-6)
    nav = swimmer(3, task="navigate", seed=0)
    o, _ = nav.reset(seed=1)
    assert o.shape == (obs_size(3, "navigate"),) == (3 + 2 + 12 + 1,)
    np.testing.assert_allclose(o[3:5], nav.physics.nose_to_target(), atol=1e-6)
    assert swimmer(13).observation_space.shape == (13 + 42 + 1,)
    assert swimmer(2, time_feature=False).observation_space.shape == (2 + 9,)


def test_reward_is_the_forward_speed_tolerance_and_time_feature_runs_to_one():
    env = swimmer(5)
    obs, _ = env.reset(seed=3)
    assert obs[-1] == -1.0
    rng = np.random.default_rng(0)
    policy = NCAPController(5)
    total, seen = 0.0, []
    for k in range(1, 1001):
        a = policy(obs[None]).detach().numpy()[0] if k % 2 else rng.uniform(-1, 1, 5)
        obs, r, term, trunc, _ = env.step(a)
        v = -env.physics.named.data.sensordata["head_vel"][1]
        assert r == pytest.approx(float(np.clip(v / 0.1, 0.0, 1.0)), abs=1e-9)
        assert obs[-1] == pytest.approx(-1 + 2 * k / 1000, abs=1e-6) and obs[-1] == np.float32(time_feature(k))
        assert not term and trunc == (k == 1000)
        total += r
        seen.append(r)
    assert 0 < total <= 1000 and max(seen) == 1.0 and min(seen) == 0.0


def test_navigate_reward_is_the_suite_reach_reward():
    from dm_control.utils import rewards

    env = swimmer(5, task="navigate")
    env.reset(seed=2)
    for _ in range(5):
        _, r, *_ = env.step(np.full(5, 0.3))
        size = env.physics.named.model.geom_size["target", 0]
        ref = rewards.tolerance(env.physics.nose_to_target_dist(), bounds=(0, size), margin=5 * size,
                                sigmoid="long_tail")
        assert r == pytest.approx(ref)


def test_reset_seed_reproducible():
    env = swimmer(4)
    a, _ = env.reset(seed=7)
    b, _ = env.reset(seed=7)
    c, _ = env.reset(seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_regression_untrained_constant_ncap_return():
    """Untrained constant-init NCAP on the 6-link body: 799 ± 20 (one episode, seed 0: 794)."""
    ret = evaluate(NCAPController(5), swimmer(5), episodes=1, seed=0)[0]
    assert abs(ret - 799) < 20
    assert evaluate(ZeroPolicy(5), swimmer(5), episodes=1, seed=0) == [0.0]


def test_batched_evaluation_equals_sequential_and_seeds_list():
    pol = RandomPolicy(3, seed=0)
    envs = [swimmer(3), swimmer(3)]
    batched = evaluate(NCAPController(3), envs, episodes=2, seed=5, max_steps=150)
    one = evaluate(NCAPController(3), envs[0], episodes=2, seed=5, max_steps=150)
    assert batched == pytest.approx(one) and one[0] != one[1]
    same = evaluate(NCAPController(3), envs, episodes=2, seeds=[5, 5], max_steps=150)
    assert same[0] == pytest.approx(same[1]) == pytest.approx(one[0])
    with pytest.raises(ValidationError, match="seeds"):
        evaluate(pol, envs, episodes=2, seeds=[1])


@pytest.mark.parametrize("bad", [1, 14, 0, 5.0, True])
def test_bad_joint_counts(bad):
    with pytest.raises(ValidationError, match="n_joints"):
        swimmer(bad)


def test_unknown_task_and_bad_action():
    with pytest.raises(UnknownNameError, match="did you mean 'swim'"):
        swimmer(5, task="swimm")
    env = swimmer(5)
    env.reset(seed=0)
    with pytest.raises(ValidationError, match="5 entries"):
        env.step(np.zeros(4))
    with pytest.raises(ValidationError, match="episodes"):
        evaluate(ZeroPolicy(5), env, episodes=0)


def test_rendering_filmstrip_and_gif(tmp_path):
    from neurocircuits.envs import animation, filmstrip

    env = swimmer(3, render_size=(48, 64))
    env.reset(seed=0)
    try:
        frames = [env.render()]
    except Exception as e:  # pragma: no cover - machines without EGL / OpenGL
        pytest.skip(f"off-screen rendering unavailable: {e}")
    env.step(np.ones(3))
    frames.append(env.render())
    assert frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8 and frames[0].std() > 0
    png = filmstrip(frames, tmp_path / "strip.png", n=2, seconds_per_frame=0.03)
    gif = animation(frames, tmp_path / "a.gif")
    assert png.stat().st_size > 1000 and gif.read_bytes()[:3] == b"GIF"
