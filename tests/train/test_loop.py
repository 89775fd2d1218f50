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
    with pytest.raises(FloatingPointError, match="loss became"):  # DivergedError is one
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


def test_diverging_loss_raises_diverged_error():
    from neurocircuits.errors import DivergedError, NeurocircuitsError

    x = data(64)[0] * 1e3
    with pytest.raises(DivergedError, match="loss became inf") as info:  # gradient descent far above 2 / L
        fit(nn.Linear(10, 1), (x, x[:, :1]), nn.functional.mse_loss,
            TrainConfig(epochs=50, lr=1.0, optimizer="sgd", momentum=0.0))
    assert isinstance(info.value, NeurocircuitsError) and isinstance(info.value, ArithmeticError)


def test_device_none_keeps_the_model_where_it_is_and_evaluate_restores_mode():
    from neurocircuits.train import evaluate
    from neurocircuits.train.loop import model_device

    x, y = data(64)
    m = model()
    fit(m, (x, y), nn.functional.cross_entropy, TrainConfig(epochs=1))
    assert model_device(m).type == "cpu" and m.training
    drop = nn.Sequential(nn.Linear(10, 10), nn.Dropout(0.9))
    drop.train()
    a, b = evaluate(drop, x), evaluate(drop, x)
    assert torch.equal(a, b) and drop.training  # eval mode inside, train mode restored
    drop.eval()
    evaluate(drop, x)
    assert not drop.training


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_device_none_trains_a_cuda_model_on_cuda():  # pragma: no cover - GPU machines only
    from neurocircuits.train import evaluate
    from neurocircuits.train.loop import model_device

    x, y = data(64)
    m = model().cuda()
    fit(m, (x, y), nn.functional.cross_entropy, TrainConfig(epochs=1))
    assert model_device(m).type == "cuda"
    assert evaluate(m, x).device.type == "cpu" and model_device(m).type == "cuda"


def test_ddp_on_two_gloo_processes_matches_one_process(tmp_path):
    """torchrun --nproc_per_node 2 (gloo, global batch 32 = 2 x 16) gives the single-process model."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).with_name("ddp_script.py")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1"}
    out, ck = tmp_path / "ddp.pt", tmp_path / "ddp-ckpt.pt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), str(out), str(ck)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    ddp = torch.load(out)
    assert ddp["world"] == 2 and ddp["backend"] == "gloo"
    x, y = data()
    single = model()
    hist = fit(single, (x, y), nn.functional.cross_entropy,
               TrainConfig(epochs=3, lr=0.05, optimizer="sgd", batch_size=32), seed=3)
    for k, v in single.state_dict().items():
        assert torch.allclose(ddp["state"][k], v, atol=1e-5, rtol=1e-4), k
    assert ddp["loss"] == pytest.approx([h.train_loss for h in hist], rel=1e-5)
    # rank 0 wrote the checkpoint: resuming it in one process finds all 3 epochs done
    assert len(torch.load(ck, weights_only=False)["history"]) == 3
