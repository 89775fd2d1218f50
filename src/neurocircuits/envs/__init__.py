"""Embodied-control environments: the DeepMind Control Suite swimmer (dm_control + MuJoCo).

Needs the ``rl`` extra (``pip install "neurocircuits[rl]"``). Importing this package sets
``MUJOCO_GL=egl`` for off-screen rendering the first time a body is built, unless the
variable is already set.
"""

from neurocircuits.envs.swimmer import (
    CONTROL_TIMESTEP, EPISODE_STEPS, MAX_JOINTS, MIN_JOINTS, TASKS, SwimmerEnv, check_joints, check_task,
    obs_size, swimmer, time_feature,
)
from neurocircuits.envs.rollout import RandomPolicy, StackedPolicies, ZeroPolicy, act, evaluate, make_vec_env
from neurocircuits.envs.render import animation, filmstrip, filmstrip_figure, record_frames

__all__ = [
    "CONTROL_TIMESTEP", "EPISODE_STEPS", "MAX_JOINTS", "MIN_JOINTS", "RandomPolicy", "StackedPolicies", "SwimmerEnv", "TASKS",
    "ZeroPolicy", "act", "animation", "check_joints", "check_task", "evaluate", "filmstrip", "filmstrip_figure", "make_vec_env",
    "obs_size", "record_frames", "swimmer", "time_feature",
]
