"""The DeepMind Control Suite swimmer as a :class:`gymnasium.Env` (2-13 joints, swim / navigate).

The body is the suite's procedurally generated swimmer with ``n_joints + 1`` links, run by
MuJoCo through dm_control. Two tasks:

- ``"swim"``: swim forwards. Reward per step is the suite's ``tolerance`` of the forward
  speed of the head, ``v = -(head velocimeter y)``, with ``bounds=(0.1, inf)``, ``margin=0.1``,
  ``value_at_margin=0`` and a linear sigmoid: 0 for ``v <= 0``, rising linearly to 1 at
  ``v = 0.1``. The target is hidden. Observation: joint angles (n) and body velocities
  (3 (n + 1)).
- ``"navigate"``: the suite's own swimmer task: reach a randomly placed target
  (``tolerance`` of the nose-to-target distance, long-tail sigmoid). Observation: joint
  angles, ``to_target`` (2, head frame), body velocities.

Both run 1000 control steps of 0.03 s (30 s) and, by default, append a time feature that
goes linearly from -1 at reset to +1 after the last step (as Tonic's ``TimeFeature``).

Example:
    >>> env = swimmer(5, task="swim", seed=0)
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape
    (24,)
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from neurocircuits.errors import MissingDependencyError, UnknownNameError, ValidationError

try:
    import gymnasium
except ImportError as _e:  # pragma: no cover - depends on the install
    raise MissingDependencyError("gymnasium", "neurocircuits.envs", 'pip install "neurocircuits[rl]"') from _e

TASKS: tuple[str, ...] = ("swim", "navigate")
MIN_JOINTS, MAX_JOINTS = 2, 13
EPISODE_STEPS = 1000
CONTROL_TIMESTEP = 0.03
SWIM_SPEED = 0.1
INSTALL = 'pip install "neurocircuits[rl]"'


def check_joints(n_joints: Any, what: str = "n_joints") -> int:
    """Validate a joint count (an integer in 2..13) and return it as ``int``."""
    if isinstance(n_joints, bool) or not isinstance(n_joints, (int, np.integer)):
        raise ValidationError(f"{what} must be an integer in {MIN_JOINTS}..{MAX_JOINTS}, got {n_joints!r}")
    if not MIN_JOINTS <= int(n_joints) <= MAX_JOINTS:
        raise ValidationError(f"{what} must be in {MIN_JOINTS}..{MAX_JOINTS} (the swimmer has n_joints + 1 "
                              f"links), got {n_joints}")
    return int(n_joints)


def check_task(task: Any) -> str:
    if task not in TASKS:
        raise UnknownNameError("swimmer task", task, TASKS)
    return str(task)


def obs_size(n_joints: int, task: str = "swim", time_feature: bool = True) -> int:
    """Length of the flat observation: joints, (to_target), body velocities, (time)."""
    n = check_joints(n_joints)
    return n + (2 if check_task(task) == "navigate" else 0) + 3 * (n + 1) + int(time_feature)


def _suite():
    """Import dm_control's swimmer (EGL rendering unless MUJOCO_GL is already set)."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        from dm_control.suite import swimmer as suite_swimmer
        from dm_control.utils import rewards
    except ImportError as e:  # pragma: no cover - depends on the install
        raise MissingDependencyError("dm-control", "the swimmer environment", INSTALL) from e
    return suite_swimmer, rewards


@functools.lru_cache(maxsize=1)
def _make_task_classes():
    suite_swimmer, rewards = _suite()

    class Swim(suite_swimmer.Swimmer):
        """Swim forwards at (at least) the desired speed; the target is hidden."""

        def __init__(self, desired_speed: float = SWIM_SPEED, random=None):
            super().__init__(random=random)
            self._desired_speed = desired_speed

        def initialize_episode(self, physics):
            super().initialize_episode(physics)
            for mat in ("target", "target_default", "target_highlight"):
                physics.named.model.mat_rgba[mat, "a"] = 0

        def get_observation(self, physics):
            return {"joints": physics.joints(), "body_velocities": physics.body_velocities()}

        def get_reward(self, physics):
            forward = -physics.named.data.sensordata["head_vel"][1]
            return rewards.tolerance(forward, bounds=(self._desired_speed, float("inf")),
                                     margin=self._desired_speed, value_at_margin=0.0, sigmoid="linear")

    return suite_swimmer, Swim


class SwimmerEnv(gymnasium.Env):
    """The dm_control swimmer with ``n_joints`` joints as a gymnasium environment.

    Use :func:`swimmer` to make one. ``reset(seed=...)`` reseeds the body's random
    initial state (heading, joint angles, target). Episodes are truncated (never
    terminated) after 1000 steps.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": int(round(1 / CONTROL_TIMESTEP))}

    def __init__(self, n_joints: int = 5, task: str = "swim", seed: int | None = None,
                 time_feature: bool = True, render_size: tuple[int, int] = (240, 320)):
        self.n_joints = check_joints(n_joints)
        self.task_name = check_task(task)
        self.time_feature = bool(time_feature)
        self.render_mode = "rgb_array"
        self._render_size = tuple(render_size)
        suite_swimmer, Swim = _make_task_classes()
        from dm_control.rl import control

        xml, assets = suite_swimmer.get_model_and_assets(self.n_joints + 1)
        physics = suite_swimmer.Physics.from_xml_string(xml, assets=assets)
        task_obj = Swim(random=seed) if self.task_name == "swim" else suite_swimmer.Swimmer(random=seed)
        self._env = control.Environment(physics, task_obj, time_limit=EPISODE_STEPS * CONTROL_TIMESTEP,
                                        control_timestep=CONTROL_TIMESTEP)
        self._task = task_obj
        self.steps = 0
        n_obs = obs_size(self.n_joints, self.task_name, self.time_feature)
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (n_obs,), np.float32)
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, (self.n_joints,), np.float32)

    @property
    def physics(self):
        """The dm_control ``Physics`` of the body (read it; do not step it directly)."""
        return self._env.physics

    def _obs(self, ts) -> np.ndarray:
        o = ts.observation
        parts = [o["joints"], o["body_velocities"]] if self.task_name == "swim" else [
            o["joints"], o["to_target"], o["body_velocities"]]
        if self.time_feature:
            parts.append([time_feature(self.steps)])
        return np.concatenate(parts).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._task._random = np.random.RandomState(seed)
        self.steps = 0
        return self._obs(self._env.reset()), {}

    def step(self, action):
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape[0] != self.n_joints:
            raise ValidationError(f"action must have {self.n_joints} entries (one torque per joint), "
                                  f"got shape {np.shape(action)}")
        ts = self._env.step(np.clip(a, -1.0, 1.0))
        self.steps += 1
        return self._obs(ts), float(ts.reward or 0.0), False, bool(ts.last()), {}

    def render(self):
        h, w = self._render_size
        return self.physics.render(height=h, width=w, camera_id=0)


def time_feature(step: int | np.ndarray) -> float | np.ndarray:
    """The time feature after ``step`` steps: -1 at reset, +1 at step 1000 (linear)."""
    return -1.0 + 2.0 * np.minimum(np.asarray(step, dtype=np.float64) / EPISODE_STEPS, 1.0) if isinstance(
        step, np.ndarray) else -1.0 + 2.0 * min(step / EPISODE_STEPS, 1.0)


def swimmer(n_joints: int = 5, task: str = "swim", seed: int | None = None, *, time_feature: bool = True,
            render_size: tuple[int, int] = (240, 320)):
    """The dm_control swimmer with ``n_joints`` joints (``n_joints + 1`` links) as a gymnasium env.

    Args:
        n_joints: actuated joints, 2..13 (the paper's standard body has 5).
        task: ``"swim"`` (forward-speed reward) or ``"navigate"`` (the suite's reach reward).
        seed: seed of the random initial state; ``reset(seed=...)`` reseeds it.
        time_feature: append the time feature (-1 at reset to +1 at step 1000).
        render_size: (height, width) of :meth:`render` frames.

    Example:
        >>> env = swimmer(5, seed=0)
        >>> obs, _ = env.reset(seed=0)
        >>> obs.shape, env.action_space.shape
        ((24,), (5,))
    """
    check_joints(n_joints)
    check_task(task)
    return SwimmerEnv(n_joints, task, seed, time_feature, render_size)
