"""Linear baselines of windowed forecasting and behaviour decoding, regularised on validation data.

:func:`fit_linear_baselines` fits, on training windows, the three strongest simple
baselines a multichannel-recording model must beat, and chooses each one's
regularisation on the validation windows (never on test data):

- ridge linear autoregression from the flattened window to the next frame
  (:class:`~neurocircuits.models.sequence.RidgeAR`; alpha by validation MSE), rolled out
  like any other forecaster;
- class-balanced logistic regression of the label at the window's last frame
  (scikit-learn; C by validation balanced accuracy);
- ridge regression of the velocity at the window's last frame (scikit-learn; alpha by
  validation R²).

Windows are any object with arrays ``x`` (n, W, N), ``y`` (n, H, N), ``labels`` (n,;
-1 = no label) and ``velocity`` (n,; NaN = none), such as
:class:`neurocircuits.data.worms.Windows`. A decoder whose target is missing from the
training windows is left out (``None``).

Example:
    >>> import numpy as np
    >>> from types import SimpleNamespace as W
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(300, 2, 3)).astype(np.float32)
    >>> y = 0.5 * x[:, -1:]                                    # next frame = half the last one
    >>> lab, vel = (x[:, -1, 0] > 0).astype(int), x[:, -1, 1]
    >>> tr, va = W(x=x[:200], y=y[:200], labels=lab[:200], velocity=vel[:200]), \\
    ...     W(x=x[200:], y=y[200:], labels=lab[200:], velocity=vel[200:])
    >>> lin = fit_linear_baselines(tr, va)
    >>> sorted(lin.chosen), lin.chosen["ridge_alpha"]
    (['logistic_C', 'ridge_alpha', 'velocity_alpha'], 0.1)
    >>> rev, v = lin.predict_behaviour(va.x)
    >>> bool((rev == va.labels).mean() > 0.9), bool(np.corrcoef(v, va.velocity)[0, 1] > 0.99)
    (True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from neurocircuits.errors import ValidationError
from neurocircuits.models.sequence import RidgeAR

RIDGE_ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0)
LOGISTIC_CS = (0.001, 0.01, 0.1, 1.0)


class WindowSet(Protocol):
    """What the baselines read from a set of windows (e.g. :class:`neurocircuits.data.worms.Windows`)."""

    x: np.ndarray
    y: np.ndarray
    labels: np.ndarray
    velocity: np.ndarray


@dataclass
class LinearBaselines:
    """Fitted linear baselines and the regularisation chosen for each on validation windows.

    Attributes:
        forecaster: ridge AR forecaster (``forecaster(x)[0]`` is the next frame).
        reversal: a fitted scikit-learn ``LogisticRegression`` of the label, or ``None``.
        velocity: a fitted scikit-learn ``Ridge`` of the velocity, or ``None``.
        chosen: ``ridge_alpha``, ``logistic_C``, ``velocity_alpha`` (those fitted).
    """

    forecaster: RidgeAR
    reversal: Any = None
    velocity: Any = None
    chosen: dict[str, float] = field(default_factory=dict)

    def predict_behaviour(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted labels (-1 without a decoder) and velocities (NaN without one) of windows ``x``."""
        flat = _flat(x)
        rev = self.reversal.predict(flat) if self.reversal is not None else np.full(flat.shape[0], -1)
        vel = self.velocity.predict(flat) if self.velocity is not None else np.full(flat.shape[0], np.nan)
        return np.asarray(rev), np.asarray(vel, dtype=np.float64)


def _flat(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 3:
        raise ValidationError(f"windows must have shape (n, frames, neurons), got {a.shape}")
    return a.reshape(a.shape[0], -1)


def _grid(values: Sequence[float], what: str) -> tuple[float, ...]:
    vals = tuple(float(v) for v in values)
    if not vals or any(not (np.isfinite(v) and v > 0) for v in vals):
        raise ValidationError(f"{what} must be a non-empty list of positive numbers, got {list(values)}")
    return vals


def fit_linear_baselines(train: WindowSet, val: WindowSet, *, alphas: Sequence[float] = RIDGE_ALPHAS,
                         cs: Sequence[float] = LOGISTIC_CS, max_iter: int = 2000) -> LinearBaselines:
    """Fit ridge AR, logistic and ridge decoders on ``train``; choose each one's penalty on ``val``.

    Ties go to the first value of ``alphas`` / ``cs``. See the module docstring.
    """
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import balanced_accuracy_score, mean_squared_error, r2_score

    alphas, cs = _grid(alphas, "alphas"), _grid(cs, "cs")
    for name, w in (("train", train), ("val", val)):
        if np.asarray(w.x).ndim != 3 or len(w.x) == 0:
            raise ValidationError(f"{name} windows must be a non-empty (n, frames, neurons) array")
    xt, yt = torch.from_numpy(np.asarray(train.x)), torch.from_numpy(np.asarray(train.y)[:, 0])
    xv, yv = torch.from_numpy(np.asarray(val.x)), np.asarray(val.y)[:, 0]
    with torch.no_grad():
        best = min(alphas, key=lambda a: mean_squared_error(
            yv.astype(np.float64), RidgeAR().fit(xt, yt, a)(xv)[0].numpy().astype(np.float64)))
        out = LinearBaselines(RidgeAR().fit(xt, yt, best), chosen={"ridge_alpha": best})
    ft, fv = _flat(train.x), _flat(val.x)
    lt, lv = np.asarray(train.labels), np.asarray(val.labels)
    if (lt >= 0).any() and len(np.unique(lt[lt >= 0])) > 1 and (lv >= 0).any():
        mt, mv = lt >= 0, lv >= 0

        def logistic(c: float) -> Any:
            return LogisticRegression(C=c, class_weight="balanced", max_iter=max_iter).fit(ft[mt], lt[mt])

        c_best = max(cs, key=lambda c: balanced_accuracy_score(lv[mv], logistic(c).predict(fv[mv])))
        out.reversal, out.chosen["logistic_C"] = logistic(c_best), c_best
    vt, vv = np.asarray(train.velocity), np.asarray(val.velocity)  # fitted in their own dtype
    if np.isfinite(vt).sum() > 1 and np.isfinite(vv).sum() > 1:
        mt, mv = np.isfinite(vt), np.isfinite(vv)
        a_best = max(alphas, key=lambda a: r2_score(vv[mv].astype(np.float64), Ridge(alpha=a).fit(
            ft[mt], vt[mt]).predict(fv[mv]).astype(np.float64)))
        out.velocity, out.chosen["velocity_alpha"] = Ridge(alpha=a_best).fit(ft[mt], vt[mt]), a_best
    return out
