"""Off-screen rendering of swimmer episodes: a filmstrip PNG and an animated GIF.

Rendering uses MuJoCo's EGL back end (``MUJOCO_GL=egl``, set by :mod:`neurocircuits.envs`
unless already set), so it works headless.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurocircuits.envs.rollout import evaluate
from neurocircuits.errors import MissingDependencyError, ValidationError


def record_frames(policy: Any, env: Any, seed: int = 0, every: int = 10, steps: int | None = None) -> tuple[
        list[np.ndarray], float]:
    """Frames (every ``every`` steps) of one deterministic episode and its return."""
    if every < 1:
        raise ValidationError(f"every must be >= 1, got {every}")
    frames: list[np.ndarray] = []

    def rec(_ep: int, step: int, e: Any) -> None:
        if step % every == 0 and (steps is None or step < steps):
            frames.append(e.render())

    ret = evaluate(policy, env, episodes=1, seed=seed, record=rec)[0]
    return frames, ret


def filmstrip_figure(frames: list[np.ndarray], n: int = 8, title: str = "", seconds_per_frame: float | None = None,
                     columns: int = 4):
    """A matplotlib figure of ``n`` evenly spaced frames in rows of ``columns`` (time labels if given)."""
    from matplotlib.figure import Figure

    if not frames:
        raise ValidationError("no frames to draw")
    idx = np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int)
    cols = min(columns, len(idx))
    rows = -(-len(idx) // cols)
    fig = Figure(figsize=(2.4 * cols, 2.0 * rows + (0.3 if title else 0)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).reshape(-1)
    for a in axes:
        a.axis("off")
    for a, i in zip(axes, idx):
        a.imshow(frames[i])
        if seconds_per_frame:
            a.set_title(f"t = {i * seconds_per_frame:.1f} s", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def filmstrip(frames: list[np.ndarray], path: str | Path, n: int = 8, title: str = "",
              seconds_per_frame: float | None = None, columns: int = 4) -> Path:
    """Save ``n`` evenly spaced frames of an episode as a PNG filmstrip."""
    from neurocircuits.report.plots import save_figure

    return save_figure(filmstrip_figure(frames, n, title, seconds_per_frame, columns), path)


def animation(frames: list[np.ndarray], path: str | Path, fps: int = 10) -> Path:
    """Save frames as an animated GIF (needs imageio)."""
    try:
        import imageio.v2 as imageio
    except ImportError as e:  # pragma: no cover
        raise MissingDependencyError("imageio", "swimmer animations", 'pip install "neurocircuits[rl]"') from e
    if not frames:
        raise ValidationError("no frames to write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, [np.asarray(f) for f in frames], duration=1.0 / fps, loop=0)
    return path
