import pytest
import torch
from torch import nn

from neurocircuits.errors import ValidationError
from neurocircuits.train import TrainConfig, fit, metrics, seeded


def data(n=256):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 10, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return x, y


def model(seed=0):
    with seeded(seed):
        return nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 2))


def test_fit_learns_and_records_history():
    x, y = data()
    m = model()
    hist = fit(m, (x, y), nn.functional.cross_entropy, TrainConfig(epochs=15, lr=0.05, optimizer="sgd", batch_size=32),
               val_fn=lambda mm: {"acc": metrics.accuracy(mm(x), y)})
    assert [h.epoch for h in hist] == list(range(1, 16))
    assert hist[-1].train_loss < hist[0].train_loss
    assert hist[-1].val["acc"] > 0.9
    assert hist[-1].steps == 15 * 8


def test_checkpoint_resume_is_exact(tmp_path):
    x, y = data()
    cfg = TrainConfig(epochs=6, lr=1e-2, optimizer="adam", batch_size=32)
    full = model()
    fit(full, (x, y), nn.functional.cross_entropy, cfg, seed=3)
    # interrupted after 3 epochs, then resumed from the checkpoint with a fresh model object
    ck = tmp_path / "ck.pt"
    part = model()
    fit(part, (x, y), nn.functional.cross_entropy, TrainConfig(**{**cfg.__dict__, "epochs": 3}), seed=3, checkpoint=ck)
    resumed = model(seed=99)
    hist = fit(resumed, (x, y), nn.functional.cross_entropy, cfg, seed=3, checkpoint=ck)
    assert len(hist) == 6
    for a, b in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_early_stopping_restores_best():
    x, y = data()
    m = model()
    losses = iter([1.0, 0.5, 0.7, 0.8, 0.9, 1.0, 1.0])
    hist = fit(m, (x, y), nn.functional.cross_entropy, TrainConfig(epochs=7, lr=1e-3, patience=2),
               val_fn=lambda mm: {"loss": next(losses)})
    assert len(hist) == 4  # best at epoch 2, then 2 stale epochs


def test_bad_inputs():
    with pytest.raises(ValidationError):
        TrainConfig(lr=0)
    with pytest.raises(ValidationError, match="different lengths"):
        fit(model(), (torch.randn(5, 10), torch.zeros(4).long()), nn.functional.cross_entropy, TrainConfig(epochs=1))
    with pytest.raises(ValidationError, match="empty"):
        fit(model(), (torch.randn(0, 10), torch.zeros(0).long()), nn.functional.cross_entropy, TrainConfig(epochs=1))
    with pytest.raises(FloatingPointError, match="loss became"):
        fit(model(), (torch.full((4, 10), float("nan")), torch.zeros(4).long()), nn.functional.cross_entropy,
            TrainConfig(epochs=1))


def test_metrics_reference_values():
    pred, target = torch.tensor([0, 0, 1, 1, 1]), torch.tensor([0, 1, 1, 1, 1])
    assert metrics.accuracy(pred, target) == 0.8
    assert metrics.balanced_accuracy(pred, target) == pytest.approx((1.0 + 0.75) / 2)
    assert metrics.macro_f1(pred, target) == pytest.approx((2 / 3 + 6 / 7) / 2)
    t = torch.tensor([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    assert metrics.r2(t, t) == 1.0
    assert metrics.r2_per_column(t.mean(0).expand(3, 2), t).tolist() == [0.0, 0.0]
    with pytest.raises(ValidationError):
        metrics.accuracy(torch.zeros(3), torch.zeros(4))
