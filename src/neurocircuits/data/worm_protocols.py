"""Train / validation / test protocols for whole-brain recordings of several worms.

A :class:`Fold` holds the windows (:class:`~neurocircuits.data.worms.Windows`) of one
split: training and validation windows (one-step targets) and one set of test windows per
test worm (``horizon`` targets each). Two protocols:

- :func:`within_worm_fold`: every worm is cut chronologically into train / validation /
  test segments (70/10/20 by default) with a gap of one window between segments; one
  model sees the early part of every worm and is tested on each worm's late part.
- :func:`leave_one_worm_out_folds`: for each held-out worm, train on the others (their
  last ``val_fraction`` for validation) and test on the whole held-out worm: the
  "unseen organism" setting.

Traces are aligned to a common neuron list (:func:`~neurocircuits.data.worms.align_to_names`)
and z-scored per worm on that worm's training frames only; the held-out worm of
leave-one-worm-out is z-scored on its own frames (no labels are used for that). Velocity
is centred and scaled with the training worms' statistics. Windows are counted in frames,
so every recording of a fold must share one frame interval: put recordings of different
``dt`` on one grid with :func:`~neurocircuits.data.worms.resample` first, and convert
durations with :func:`~neurocircuits.data.worms.seconds_to_frames`.
:func:`recording_windows` cuts one worm on all its own neurons (e.g. a worm without neuron
names, for models that run on any number of neurons).

Example:
    >>> import numpy as np
    >>> from neurocircuits.data.worms import WormRecording
    >>> rng = np.random.default_rng(0)
    >>> recs = [WormRecording(rng.normal(size=(200, 3)), 0.6, ["AVAL", "AVAR", "RIBL"], name=f"w{i}",
    ...                       labels=rng.integers(0, 2, 200)) for i in range(3)]
    >>> folds = leave_one_worm_out_folds(recs, ["AVAL", "RIBL"], window=6, horizon=10)
    >>> [f.name for f in folds], folds[0].train.x.shape[1:], folds[0].test[0].y.shape[1:]
    (['w0', 'w1', 'w2'], (6, 2), (10, 2))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from neurocircuits.data.worms import (
    Windows, WormRecording, align_to_names, chronological_segments, make_windows, standardise,
)
from neurocircuits.errors import ValidationError


@dataclass
class Fold:
    """The windows of one protocol fold.

    Attributes:
        name: the fold's name (``"all"`` within worm; the held-out worm's name otherwise).
        train, val: training and validation windows (one-step targets).
        test: one :class:`Windows` per test worm (``horizon`` targets).
        test_worms: the names of the test worms, in the order of ``test``.
        train_traces: the z-scored training frames of each training worm (e.g. for a
            correlation graph of the training activity).
        velocity_scale: ``(mean, sd)`` of the training velocity used to scale every worm.
        dt: the frame interval shared by the fold's recordings, in seconds.
    """

    name: str
    train: Windows
    val: Windows
    test: list[Windows]
    test_worms: list[str]
    train_traces: list[np.ndarray]
    velocity_scale: tuple[float, float] = (0.0, 1.0)
    dt: float = 1.0


def _check(recordings: Sequence[WormRecording], names: Sequence[str], window: int, horizon: int) -> float:
    recs = list(recordings)
    if not recs or not all(isinstance(r, WormRecording) for r in recs):
        raise ValidationError("recordings must be a non-empty list of WormRecording")
    if isinstance(names, str) or len(names) == 0:
        raise ValidationError("names must be a non-empty list of neuron names")
    for what, v in (("window", window), ("horizon", horizon)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValidationError(f"{what} must be a whole number of frames >= 1, got {v!r}")
    dts = np.array([r.dt for r in recs])
    if dts.max() > 1.01 * dts.min():
        raise ValidationError(f"recordings have different frame intervals ({dts.min():g}-{dts.max():g} s); "
                              "windows are counted in frames, so resample them to one dt first "
                              "(neurocircuits.data.worms.resample)")
    return float(np.median(dts))


def _stride(stride: int, what: str) -> int:
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValidationError(f"{what} must be an integer >= 1, got {stride!r}")
    return int(stride)


def _velocity(rec: WormRecording) -> np.ndarray | None:
    return rec.behaviour.get("velocity")


def _velocity_scale(recs: Sequence[WormRecording], frames: Sequence[np.ndarray]) -> tuple[float, float]:
    parts = [v[f] for r, f in zip(recs, frames) if (v := _velocity(r)) is not None]
    if not parts:
        return 0.0, 1.0
    v = np.concatenate(parts)
    return float(v.mean()), float(v.std() + 1e-9)


def _scaled(rec: WormRecording, scale: tuple[float, float]) -> np.ndarray | None:
    v = _velocity(rec)
    return None if v is None else (v - scale[0]) / scale[1]


def within_worm_fold(recordings: Sequence[WormRecording], names: Sequence[str], window: int, horizon: int, *,
                     fractions: Sequence[float] = (0.7, 0.1, 0.2), train_stride: int = 1,
                     test_stride: int = 1) -> Fold:
    """One fold: the early part of every worm for training, the late part for testing.

    Each worm is cut into chronological train / validation / test segments
    (:func:`~neurocircuits.data.worms.chronological_segments`, gap = ``window`` frames) and
    z-scored on its training segment. ``train_stride`` keeps every k-th training window,
    ``test_stride`` scores every k-th test window.

    Example:
        >>> import numpy as np
        >>> from neurocircuits.data.worms import WormRecording
        >>> rec = WormRecording(np.random.default_rng(0).normal(size=(100, 2)), 0.6, ["AVAL", "RIBL"])
        >>> f = within_worm_fold([rec], ["AVAL", "RIBL"], window=3, horizon=2)
        >>> len(f.train), len(f.val), len(f.test[0]), f.test_worms
        (62, 6, 16, [''])
    """
    dt = _check(recordings, names, window, horizon)
    recs = list(recordings)
    tr_stride, te_stride = _stride(train_stride, "train_stride"), _stride(test_stride, "test_stride")
    segs = [chronological_segments(r.n_frames, fractions, gap=window) for r in recs]
    scale = _velocity_scale(recs, [np.arange(*s[0]) for s in segs])
    tr, va, te, raw = [], [], [], []
    for k, (r, s) in enumerate(zip(recs, segs)):
        z, _, _ = standardise(align_to_names(r, names)[0], [s[0]])
        vel = _scaled(r, scale)
        tr.append(make_windows(z, window, 1, s[0], r.labels, vel, worm=k, stride=tr_stride))
        va.append(make_windows(z, window, 1, s[1], r.labels, vel, worm=k))
        te.append(make_windows(z, window, horizon, s[2], r.labels, vel, worm=k, stride=te_stride))
        raw.append(z[s[0][0]:s[0][1]])
    return Fold("all", Windows.concat(tr), Windows.concat(va), te, [r.name for r in recs], raw, scale, dt)


def leave_one_worm_out_folds(recordings: Sequence[WormRecording], names: Sequence[str], window: int, horizon: int,
                             *, val_fraction: float = 0.15, held_out: Sequence[int] | None = None,
                             train_stride: int = 1, test_stride: int = 1) -> list[Fold]:
    """One fold per held-out worm: train on the other worms, test on the whole held-out worm.

    The last ``val_fraction`` of each training worm (after a gap of ``window`` frames) is
    the validation set. ``held_out`` lists the indices of the worms to hold out (default:
    every worm). Needs at least two recordings.
    """
    dt = _check(recordings, names, window, horizon)
    recs = list(recordings)
    if len(recs) < 2:
        raise ValidationError("leave-one-worm-out needs at least two recordings")
    if not 0 < val_fraction < 1:
        raise ValidationError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    tr_stride, te_stride = _stride(train_stride, "train_stride"), _stride(test_stride, "test_stride")
    held = list(range(len(recs))) if held_out is None else [int(h) for h in held_out]
    if any(not 0 <= h < len(recs) for h in held) or len(set(held)) != len(held):
        raise ValidationError(f"held_out must be distinct indices in 0..{len(recs) - 1}, got {list(held_out or [])}")
    aligned = [align_to_names(r, names)[0] for r in recs]
    folds = []
    for h in held:
        others = [k for k in range(len(recs)) if k != h]
        segs = {k: chronological_segments(recs[k].n_frames, (1 - val_fraction, val_fraction), gap=window)
                for k in others}
        scale = _velocity_scale([recs[k] for k in others], [np.arange(*segs[k][0]) for k in others])
        tr, va, raw = [], [], []
        for k in others:
            z, _, _ = standardise(aligned[k], [segs[k][0]])
            vel = _scaled(recs[k], scale)
            tr.append(make_windows(z, window, 1, segs[k][0], recs[k].labels, vel, worm=k, stride=tr_stride))
            va.append(make_windows(z, window, 1, segs[k][1], recs[k].labels, vel, worm=k))
            raw.append(z[segs[k][0][0]:segs[k][0][1]])
        zh, _, _ = standardise(aligned[h], slice(None))
        te = [make_windows(zh, window, horizon, None, recs[h].labels, _scaled(recs[h], scale), worm=h,
                           stride=te_stride)]
        folds.append(Fold(recs[h].name, Windows.concat(tr), Windows.concat(va), te, [recs[h].name], raw, scale, dt))
    return folds


def recording_windows(rec: WormRecording, window: int, horizon: int, *,
                      velocity_scale: tuple[float, float] = (0.0, 1.0), stride: int = 1) -> Windows:
    """Windows of one worm on all of its own neurons, z-scored on its own frames.

    For models that run on any number of neurons (e.g.
    :class:`~neurocircuits.models.graph.GraphNet`) applied to a worm without neuron names.
    Velocity is scaled with ``velocity_scale`` (use the training worms' :attr:`Fold.velocity_scale`).

    Example:
        >>> import numpy as np
        >>> from neurocircuits.data.worms import WormRecording
        >>> rec = WormRecording(np.random.default_rng(0).normal(size=(50, 7)), 0.6, [None] * 7)
        >>> recording_windows(rec, 6, 5, stride=4).x.shape
        (10, 6, 7)
    """
    _check([rec], ["any"], window, horizon)
    z, _, _ = standardise(rec.traces, slice(None))
    return make_windows(z, window, horizon, None, rec.labels, _scaled(rec, velocity_scale),
                        stride=_stride(stride, "stride"))
