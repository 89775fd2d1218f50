"""Linear baselines: penalties chosen on validation windows, decoders left out without targets."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from neurocircuits.errors import ValidationError
from neurocircuits.models.baselines import fit_linear_baselines
from neurocircuits.models.sequence import RidgeAR, TrainingMean


def _windows(rng, n, noise):
    x = rng.normal(size=(n, 3, 5)).astype(np.float32)
    y = (0.8 * x[:, -1] + noise * rng.normal(size=(n, 5))).astype(np.float32)[:, None]
    lab = (x[:, -1, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    return SimpleNamespace(x=x, y=y, labels=lab, velocity=(x[:, -1, 1] + 0.1 * rng.normal(size=n)).astype(np.float32))


def test_penalties_are_chosen_on_validation_data():
    rng = np.random.default_rng(0)
    tr, va = _windows(rng, 200, 1.0), _windows(rng, 400, 0.0)
    lin = fit_linear_baselines(tr, va, alphas=(0.01, 10.0, 1e6))
    # the reference: the alpha with the lowest validation MSE among the same closed-form fits
    xt, yt = torch.from_numpy(tr.x), torch.from_numpy(tr.y[:, 0])
    mses = [float(((RidgeAR().fit(xt, yt, a)(torch.from_numpy(va.x))[0].numpy() - va.y[:, 0]) ** 2).mean())
            for a in (0.01, 10.0, 1e6)]
    assert lin.chosen["ridge_alpha"] == (0.01, 10.0, 1e6)[int(np.argmin(mses))] != 1e6
    rev, vel = lin.predict_behaviour(va.x)
    assert (rev == va.labels).mean() > 0.8 and np.corrcoef(vel, va.velocity)[0, 1] > 0.9
    assert set(lin.chosen) == {"ridge_alpha", "logistic_C", "velocity_alpha"}


def test_missing_targets_leave_the_decoder_out():
    rng = np.random.default_rng(1)
    tr, va = _windows(rng, 80, 0.1), _windows(rng, 40, 0.1)
    tr.labels[:] = -1
    tr.velocity[:] = np.nan
    lin = fit_linear_baselines(tr, va)
    assert lin.reversal is None and lin.velocity is None and set(lin.chosen) == {"ridge_alpha"}
    rev, vel = lin.predict_behaviour(va.x)
    assert np.all(rev == -1) and np.isnan(vel).all()
    with pytest.raises(ValidationError, match="alphas"):
        fit_linear_baselines(tr, va, alphas=())
    with pytest.raises(ValidationError, match="train"):
        fit_linear_baselines(SimpleNamespace(x=np.zeros((0, 3, 5)), y=None, labels=None, velocity=None), va)


def test_training_mean_forecasts_a_constant():
    m = TrainingMean(torch.tensor([0.5, -1.0]))
    nxt, beh = m(torch.randn(4, 6, 2))
    assert torch.equal(nxt, torch.tensor([[0.5, -1.0]] * 4)) and torch.equal(beh, torch.zeros(4, 3))
    assert torch.equal(TrainingMean(n_neurons=3)(torch.randn(1, 2, 3))[0], torch.zeros(1, 3))
    with pytest.raises(ValidationError):
        TrainingMean()
    with pytest.raises(ValidationError, match="neurons"):
        m(torch.randn(1, 6, 3))
