"""The stacked trainer: per-model losses, resume, isolation of a diverging model."""

from __future__ import annotations

import pytest
import torch

from neurocircuits.errors import ValidationError
from neurocircuits.models import RateRNN, StackedRateRNN
from neurocircuits.train import TrainConfig, fit_stacked, sequence_cross_entropy

CFG = TrainConfig(lr=0.05, optimizer="sgd", momentum=0.9)


def _batch(step: int):
    g = torch.Generator().manual_seed(step)
    return torch.randn(8, 5, 3, generator=g), torch.randint(0, 3, (8, 5), generator=g)


def _stack() -> StackedRateRNN:
    return StackedRateRNN.from_models([RateRNN(3, 10, 3, seed=s) for s in range(3)])


def test_resume_gives_the_same_weights_and_losses(tmp_path) -> None:
    full = _stack()
    h_full = fit_stacked(full, _batch, sequence_cross_entropy, CFG, steps=40, log_every=10)
    part = _stack()
    fit_stacked(part, _batch, sequence_cross_entropy, CFG, steps=20, log_every=10, checkpoint=tmp_path / "c.pt")
    resumed = _stack()   # a fresh process: weights come from the checkpoint
    h = fit_stacked(resumed, _batch, sequence_cross_entropy, CFG, steps=40, log_every=10,
                    checkpoint=tmp_path / "c.pt", checkpoint_every=10)
    assert h.steps == h_full.steps == [10, 20, 30, 40]
    assert torch.allclose(h.loss, h_full.loss, atol=1e-6)
    assert torch.allclose(resumed.W_hh, full.W_hh, atol=1e-6)
    assert h.loss.shape == (4, 3) and bool((h.loss[-1] < h.loss[0]).all())


def test_a_diverging_model_does_not_touch_the_others() -> None:
    stack = _stack()
    ref = _stack()
    with torch.no_grad():
        stack.W_out[1].fill_(float("nan"))
    h = fit_stacked(stack, _batch, sequence_cross_entropy, CFG, steps=10, log_every=5)
    fit_stacked(ref, _batch, sequence_cross_entropy, CFG, steps=10, log_every=5)
    assert bool(torch.isnan(h.loss[:, 1]).all())
    assert torch.allclose(stack.W_hh[[0, 2]], ref.W_hh[[0, 2]], atol=1e-6)


def test_last_step_loss_for_sequence_classification_and_bad_config() -> None:
    logits = torch.zeros(2, 4, 6, 10)
    logits[..., -1, 3] = 10.0
    loss = sequence_cross_entropy(logits, torch.full((4,), 3), last_step=True)
    assert torch.allclose(sequence_cross_entropy(logits, torch.full((2, 4), 3), last_step=True), loss)
    assert loss.shape == (2,) and float(loss.max()) < 1e-3
    with pytest.raises(ValidationError, match="grad_clip"):
        fit_stacked(_stack(), _batch, sequence_cross_entropy, TrainConfig(grad_clip=1.0), steps=1)
