"""Scores of windowed forecasting and behaviour decoding.

- :func:`predict_windows`: autoregressive rollouts (n, steps, N) and behaviour outputs
  (n, 3) of any window model (``model(x) -> (next_frame, behaviour)``), batched, in eval
  mode.
- :func:`forecast_scores`: mean per-neuron R² and MSE of a rollout at each horizon.
- :func:`behaviour_scores`: balanced accuracy, macro-F1 and AUROC of a binary label, and
  R² of a velocity.
- :func:`score_windows`: both for one model on one set of windows; :func:`mean_scores`
  averages score dicts (e.g. over test worms), skipping NaN.

The metrics are scikit-learn's (``r2_score``, ``mean_squared_error``,
``balanced_accuracy_score``, ``f1_score``, ``roc_auc_score``), computed in float64.
The mean per-neuron R² leaves out neurons that are constant in the target (their R² is
undefined), rather than scoring them 0 or 1.

Example:
    >>> import numpy as np, torch
    >>> from neurocircuits.models.sequence import Persistence
    >>> x = np.cumsum(np.random.default_rng(0).normal(size=(1, 40, 3)), axis=1).astype(np.float32)
    >>> windows = np.stack([x[0, s:s + 6] for s in range(30)])
    >>> targets = np.stack([x[0, s + 6:s + 8] for s in range(30)])
    >>> roll, beh = predict_windows(Persistence(), windows, steps=2)
    >>> s = forecast_scores(roll, targets, horizons=(1, 2))
    >>> sorted(s), bool(s["mse_h1"] < s["mse_h2"])
    (['mse_h1', 'mse_h2', 'r2_h1', 'r2_h2'], True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from neurocircuits.errors import ValidationError
from neurocircuits.models.sequence import rollout


class WindowSet(Protocol):
    """Inputs ``x`` (n, W, N), targets ``y`` (n, H, N), ``labels`` (n,) and ``velocity`` (n,)."""

    x: np.ndarray
    y: np.ndarray
    labels: np.ndarray
    velocity: np.ndarray


@torch.no_grad()
def predict_windows(model: nn.Module, x: np.ndarray, steps: int, device: torch.device | str = "cpu",
                    batch: int = 128, **forward_kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rolled-out forecasts (n, steps, N) and behaviour outputs (n, 3) of windows ``x`` (n, W, N).

    ``forward_kwargs`` go to every ``model(...)`` call (e.g. ``adjacency=`` or ``ids=`` of a
    :class:`~neurocircuits.models.graph.GraphNet` on a worm with other neurons).
    """
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise ValidationError(f"windows must be a non-empty (n, frames, neurons) array, got shape {arr.shape}")
    if batch < 1:
        raise ValidationError(f"batch must be >= 1, got {batch}")
    model.eval()
    dev = torch.device(device)
    roll, beh = [], []
    for i in range(0, arr.shape[0], batch):
        xb = torch.from_numpy(arr[i:i + batch]).to(dev)
        roll.append(rollout(lambda w: model(w, **forward_kwargs)[0], xb, steps).cpu())
        beh.append(model(xb, **forward_kwargs)[1].cpu())
    return torch.cat(roll).numpy(), torch.cat(beh).numpy()


def _labels(horizons: Sequence[int], labels: Sequence[str] | None) -> list[str]:
    hz = list(horizons)
    if not hz or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in hz):
        raise ValidationError(f"horizons must be whole numbers of steps >= 1, got {hz}")
    names = [f"h{h}" for h in hz] if labels is None else [str(s) for s in labels]
    if len(names) != len(hz):
        raise ValidationError(f"{len(names)} horizon labels for {len(hz)} horizons")
    return names


def r2_per_neuron(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """R² of each column of (n, N) predictions; NaN where the target column is constant.

    Example:
        >>> r2_per_neuron(np.array([[0.0, 1.0], [2.0, 1.0]]), np.array([[0.0, 1.0], [2.0, 1.0]])).tolist()
        [1.0, nan]
    """
    from sklearn.metrics import r2_score

    p, t = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if p.shape != t.shape or p.ndim != 2 or p.shape[0] < 2:
        raise ValidationError(f"predictions {p.shape} and targets {t.shape} must be equal (n >= 2, N) arrays")
    with np.errstate(divide="ignore", invalid="ignore"):  # constant columns: set to NaN below
        r = np.asarray(r2_score(t, p, multioutput="raw_values", force_finite=False), dtype=np.float64)
    return np.where(np.ptp(t, axis=0) > 0, r, np.nan)


def forecast_scores(pred: np.ndarray, target: np.ndarray, horizons: Sequence[int],
                    labels: Sequence[str] | None = None) -> dict[str, float]:
    """``r2_<label>`` (mean per-neuron R²) and ``mse_<label>`` of ``pred[:, h-1]`` against ``target[:, h-1]``.

    ``pred`` and ``target`` are (n, H, N); ``labels`` name the horizons (default ``h1``, ``h5``...).
    """
    from sklearn.metrics import mean_squared_error

    p, t = np.asarray(pred), np.asarray(target)
    names = _labels(horizons, labels)
    if p.ndim != 3 or t.ndim != 3 or p.shape[0] != t.shape[0] or p.shape[2] != t.shape[2]:
        raise ValidationError(f"pred {p.shape} and target {t.shape} must be (n, horizon, neurons) arrays")
    out: dict[str, float] = {}
    for h, name in zip(horizons, names):
        if h > min(p.shape[1], t.shape[1]):
            raise ValidationError(f"horizon {h} beyond the {min(p.shape[1], t.shape[1])} predicted steps")
        ph, th = p[:, h - 1].astype(np.float64), t[:, h - 1].astype(np.float64)
        out[f"r2_{name}"] = float(np.nanmean(r2_per_neuron(ph, th)))
        out[f"mse_{name}"] = float(mean_squared_error(th, ph))
    return out


def behaviour_scores(label_pred: np.ndarray, labels: np.ndarray, velocity_pred: np.ndarray | None = None,
                     velocity: np.ndarray | None = None, label_score: np.ndarray | None = None) -> dict[str, float]:
    """Decoding scores of a label (``bal_acc``, ``macro_f1``, ``auroc``) and a velocity (``vel_r2``).

    Windows with label -1 or NaN velocity are left out. ``label_score`` (higher = class 1)
    gives the AUROC; without it, or with one class only, ``auroc`` is NaN.

    Example:
        >>> s = behaviour_scores(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]),
        ...                      label_score=np.array([0.1, 0.9, 0.6, 0.2]))
        >>> round(s["bal_acc"], 3), round(s["macro_f1"], 3), s["auroc"], s["vel_r2"]
        (0.833, 0.733, 1.0, nan)
    """
    from sklearn.metrics import balanced_accuracy_score, f1_score, r2_score, roc_auc_score

    lp, lt = np.asarray(label_pred).ravel(), np.asarray(labels).ravel()
    if lp.shape != lt.shape:
        raise ValidationError(f"{lp.shape[0]} label predictions for {lt.shape[0]} labels")
    out = {"bal_acc": float("nan"), "macro_f1": float("nan"), "auroc": float("nan"), "vel_r2": float("nan")}
    m = lt >= 0
    if m.any():
        out["bal_acc"] = float(balanced_accuracy_score(lt[m], lp[m]))
        out["macro_f1"] = float(f1_score(lt[m], lp[m], average="macro", zero_division=0))
        if label_score is not None and len(np.unique(lt[m])) == 2:
            sc = np.asarray(label_score, dtype=np.float64).ravel()
            if sc.shape != lt.shape:
                raise ValidationError(f"{sc.shape[0]} label scores for {lt.shape[0]} labels")
            out["auroc"] = float(roc_auc_score(lt[m], sc[m]))
    if velocity_pred is not None and velocity is not None:
        vp, vt = np.asarray(velocity_pred, np.float64).ravel(), np.asarray(velocity, np.float64).ravel()
        if vp.shape != vt.shape:
            raise ValidationError(f"{vp.shape[0]} velocity predictions for {vt.shape[0]} velocities")
        mv = np.isfinite(vt) & np.isfinite(vp)
        if mv.sum() > 1 and np.ptp(vt[mv]) > 0:
            out["vel_r2"] = float(r2_score(vt[mv], vp[mv]))
    return out


def score_windows(model: nn.Module, windows: WindowSet, horizons: Sequence[int], *,
                  labels: Sequence[str] | None = None, device: torch.device | str = "cpu", batch: int = 128,
                  **forward_kwargs: Any) -> tuple[dict[str, float], np.ndarray]:
    """Forecast and behaviour scores of a window model on ``windows``, and its rollouts.

    Behaviour outputs are read as :mod:`neurocircuits.models.sequence` defines them: two
    label logits (the label is their argmax, the AUROC score their difference) and a
    velocity.
    """
    roll, beh = predict_windows(model, windows.x, max(horizons), device, batch, **forward_kwargs)
    scores = forecast_scores(roll, windows.y, horizons, labels)
    scores.update(behaviour_scores(beh[:, :2].argmax(1), windows.labels, beh[:, 2], windows.velocity,
                                   label_score=beh[:, 1] - beh[:, 0]))
    return scores, roll


def mean_scores(scores: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Key-wise mean of score dicts, skipping NaN (NaN where every value is NaN).

    Example:
        >>> mean_scores([{"a": 1.0, "b": float("nan")}, {"a": 3.0, "b": float("nan")}])
        {'a': 2.0, 'b': nan}
    """
    if not scores:
        raise ValidationError("mean_scores needs at least one score dict")
    out = {}
    for k in scores[0]:
        v = np.array([s.get(k, np.nan) for s in scores], dtype=np.float64)
        out[k] = float(v[np.isfinite(v)].mean()) if np.isfinite(v).any() else float("nan")
    return out


def score_baselines(train: WindowSet, val: WindowSet, test: Sequence[WindowSet], horizons: Sequence[int], *,
                    labels: Sequence[str] | None = None, alphas: Sequence[float] | None = None,
                    cs: Sequence[float] | None = None) -> dict[str, Any]:
    """Scores of the simple baselines on each set of ``test`` windows, fitted on ``train``, tuned on ``val``.

    Forecasts: ``persistence`` (the last frame), ``mean`` (the training mean: 0 on z-scored
    traces) and ``linear`` (ridge AR, rolled out); behaviour: logistic regression and ridge
    regression (scored under ``linear``), from
    :func:`~neurocircuits.models.baselines.fit_linear_baselines`. Returns ``{"chosen":
    penalties, name: {"per_worm": [scores per test set], "predictions": rollout of the first}}``.
    """
    from neurocircuits.models.baselines import LOGISTIC_CS, RIDGE_ALPHAS, fit_linear_baselines
    from neurocircuits.models.sequence import Persistence, TrainingMean

    lin = fit_linear_baselines(train, val, alphas=alphas or RIDGE_ALPHAS, cs=cs or LOGISTIC_CS)
    models = {"persistence": Persistence(), "mean": TrainingMean(n_neurons=np.asarray(train.x).shape[2]),
              "linear": lin.forecaster}
    out: dict[str, Any] = {"chosen": lin.chosen}
    for name, model in models.items():
        per_worm, preds = [], []
        for w in test:
            roll, _ = predict_windows(model, w.x, max(horizons), batch=len(w.x))  # one batch: exact rollouts
            s = forecast_scores(roll, w.y, horizons, labels)
            if name == "linear":
                rev, vel = lin.predict_behaviour(w.x)
                flat = np.reshape(w.x, (len(w.x), -1))
                score = None if lin.reversal is None else lin.reversal.decision_function(flat)
                s.update(behaviour_scores(rev, w.labels, vel, w.velocity, label_score=score))
            per_worm.append(s)
            preds.append(roll)
        out[name] = {"per_worm": per_worm, "predictions": preds[0]}
    return out
