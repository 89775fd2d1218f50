"""Forecast and decoding scores against hand-computed references."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from neurocircuits.errors import ValidationError
from neurocircuits.measure.forecast import (
    behaviour_scores, forecast_scores, mean_scores, predict_windows, r2_per_neuron, score_windows,
)
from neurocircuits.models.sequence import Persistence, RidgeAR, rollout


def test_forecast_scores_match_a_hand_computation():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(50, 3, 4))
    pred = target + rng.normal(scale=0.5, size=target.shape)
    target[:, 1, 2] = 7.0  # a constant neuron at horizon 2: its R² is undefined and left out
    s = forecast_scores(pred, target, (1, 2), labels=("a", "b"))
    for h, lab in ((1, "a"), (2, "b")):
        p, t = pred[:, h - 1], target[:, h - 1]
        r2 = [1 - ((p[:, j] - t[:, j]) ** 2).sum() / ((t[:, j] - t[:, j].mean()) ** 2).sum()
              for j in range(4) if np.ptp(t[:, j]) > 0]
        assert s[f"r2_{lab}"] == pytest.approx(np.mean(r2), rel=1e-12)
        assert s[f"mse_{lab}"] == pytest.approx(((p - t) ** 2).mean(), rel=1e-12)
    assert np.isnan(r2_per_neuron(pred[:, 1], target[:, 1])[2])
    with pytest.raises(ValidationError, match="horizon"):
        forecast_scores(pred, target, (4,))
    with pytest.raises(ValidationError, match="labels"):
        forecast_scores(pred, target, (1, 2), labels=("a",))


def test_behaviour_scores_match_definitions():
    lab = np.array([0, 0, 0, 1, 1, -1])
    pred = np.array([0, 1, 0, 1, 0, 1])
    score = np.array([0.1, 0.7, 0.2, 0.9, 0.3, 5.0])
    s = behaviour_scores(pred, lab, np.array([1.0, 2, 3, 4, 5, 6]), np.array([1.1, 2, 2.9, 4, np.nan, 6]), score)
    # the window with label -1 is left out; recalls 2/3 and 1/2
    assert s["bal_acc"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    f1_0, f1_1 = 2 * 2 / (2 * 2 + 1 + 1), 2 * 1 / (2 * 1 + 1 + 1)
    assert s["macro_f1"] == pytest.approx((f1_0 + f1_1) / 2)
    assert s["auroc"] == pytest.approx(5 / 6)  # 5 of the 6 (positive, negative) pairs ordered correctly
    v, vp = np.array([1.1, 2, 2.9, 4, 6]), np.array([1.0, 2, 3, 4, 6])
    assert s["vel_r2"] == pytest.approx(1 - ((v - vp) ** 2).sum() / ((v - v.mean()) ** 2).sum())
    none = behaviour_scores(np.zeros(3), -np.ones(3))
    assert all(np.isnan(x) for x in none.values())
    with pytest.raises(ValidationError):
        behaviour_scores(np.zeros(3), np.zeros(4))


def test_predict_and_score_windows_agree_with_rollout():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4, 3)).astype(np.float32)
    ar = RidgeAR().fit(torch.from_numpy(x), torch.from_numpy(0.9 * x[:, -1]), alpha=1.0)
    roll, beh = predict_windows(ar, x[:70], 3, batch=16)
    ref = rollout(lambda w: ar(w)[0], torch.from_numpy(x[:70]), 3).numpy()
    np.testing.assert_allclose(roll, ref, rtol=1e-5, atol=1e-6)
    assert beh.shape == (70, 3)
    w = SimpleNamespace(x=x[:70], y=ref, labels=np.zeros(70, int), velocity=np.zeros(70))
    s, r = score_windows(ar, w, (1, 3))
    assert s["r2_h1"] == pytest.approx(1.0) and s["mse_h3"] == pytest.approx(0.0, abs=1e-10)
    assert score_windows(Persistence(), w, (1,))[0]["r2_h1"] < 1
    assert mean_scores([{"a": 1.0}, {"a": float("nan")}, {"a": 3.0}]) == {"a": 2.0}
    with pytest.raises(ValidationError):
        predict_windows(ar, np.zeros((0, 4, 3)), 1)
