"""Multitask training: the loss, missing targets, full budget with the best validation epoch restored."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neurocircuits.errors import ValidationError
from neurocircuits.models.sequence import GRUNet
from neurocircuits.train import TrainConfig, seeded
from neurocircuits.train.multitask import best_epoch, class_weights, fit_multitask, multitask_loss, window_tensors


def _windows(rng, n, labels=True):
    x = rng.normal(size=(n, 4, 3)).astype(np.float32)
    return SimpleNamespace(x=x, y=0.5 * x[:, -1:], labels=(x[:, -1, 0] > 0).astype(int) if labels else -np.ones(n, int),
                           velocity=x[:, -1, 1].astype(np.float32))


def test_loss_is_the_sum_of_three_terms_and_skips_missing_targets():
    rng = np.random.default_rng(0)
    w = _windows(rng, 8)
    x, y = window_tensors(w)
    nxt, beh = torch.randn(8, 3), torch.randn(8, 3)
    cw = class_weights(w.labels)
    ref = (F.mse_loss(nxt, y[:, :3]) + F.cross_entropy(beh[:, :2], y[:, 3].long(), weight=cw)
           + F.mse_loss(beh[:, 2], y[:, 4]))
    assert float(multitask_loss(cw)((nxt, beh), y)) == pytest.approx(float(ref), rel=1e-6)
    y2 = y.clone()
    y2[:4, 3] = -1          # unlabelled windows
    y2[:, 4] = float("nan")  # no velocity at all
    ref2 = F.mse_loss(nxt, y[:, :3]) + F.cross_entropy(beh[4:, :2], y[4:, 3].long(), weight=cw)
    assert float(multitask_loss(cw)((nxt, beh), y2)) == pytest.approx(float(ref2), rel=1e-6)
    assert class_weights(np.array([0, 0, 0, 1, -1])).tolist() == pytest.approx([2 / 3, 2.0])


def test_full_budget_keeps_the_best_validation_epoch():
    rng = np.random.default_rng(1)
    tr, va = _windows(rng, 64), _windows(rng, 32)
    cfg = TrainConfig(epochs=4, lr=3e-2, batch_size=16, patience=4)  # patience = budget: never stops early
    with seeded(0):
        net = GRUNet(3, hidden=8)
    hist = fit_multitask(net, tr, va, cfg, seed=0)
    assert [h.epoch for h in hist] == [1, 2, 3, 4]
    b = best_epoch(hist)
    x, y = (t for t in window_tensors(va))
    net.eval()
    with torch.no_grad():
        restored = float(multitask_loss(class_weights(tr.labels))(net(x), y))
    assert restored == pytest.approx(hist[b - 1].val["loss"], rel=1e-5)  # the weights of the best epoch are back
    with seeded(0):
        again = GRUNet(3, hidden=8)
    assert [h.val["loss"] for h in fit_multitask(again, tr, va, cfg, seed=0)] == [h.val["loss"] for h in hist]
    with pytest.raises(ValidationError):
        fit_multitask(net, tr, _windows(rng, 0), cfg)
    with pytest.raises(ValidationError, match="validation"):
        best_epoch([])
