"""RateRNN dynamics, construction from circuits, constraints and stacking."""

from __future__ import annotations

import pytest
import torch

from neurocircuits.circuit import Circuit, random_dale
from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.models import ConstrainedWeight, RateRNN, StackedRateRNN


def test_forward_matches_the_equation_by_hand() -> None:
    net = RateRNN(2, 5, 3, alpha=0.4, activation="tanh", bias=True, seed=3)
    with torch.no_grad():
        net.b_hh.fill_(0.1), net.b_out.fill_(-0.2)
    x = torch.randn(4, 6, 2, generator=torch.Generator().manual_seed(0))
    y, hs = net(x, return_hidden=True)
    h = torch.zeros(4, 5)
    for t in range(6):
        h = torch.tanh(0.6 * h + 0.4 * (x[:, t] @ net.W_in.T + h @ net.W_hh.T + net.b_hh))
        assert torch.allclose(hs[:, t], h, atol=1e-6)
        assert torch.allclose(y[:, t], h @ net.W_out.T + net.b_out, atol=1e-6)


def test_default_init_is_pytorch_linear_default_and_seeded() -> None:
    a, b = RateRNN(3, 200, 3, seed=1), RateRNN(3, 200, 3, seed=1)
    assert torch.equal(a.W_hh, b.W_hh)
    assert not torch.equal(a.W_hh, RateRNN(3, 200, 3, seed=2).W_hh)
    bound = 1 / 200 ** 0.5
    assert float(a.W_hh.abs().max()) <= bound and float(a.W_hh.abs().max()) > 0.95 * bound
    assert float(a.W_in.abs().max()) <= 1 / 3 ** 0.5


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(ValidationError, match="n_hidden"):
        RateRNN(3, 0, 3)
    with pytest.raises(ValidationError, match="alpha"):
        RateRNN(3, 4, 3, alpha=0.0)
    with pytest.raises(UnknownNameError, match="activation"):
        RateRNN(3, 4, 3, activation="gelu2")
    net = RateRNN(3, 4, 3)
    with pytest.raises(ValidationError, match="W_hh must be"):
        net.set_recurrent_weight(torch.zeros(4, 5))          # non-square
    with pytest.raises(ValidationError, match="n_in=3"):
        net(torch.zeros(2, 5, 4))


def test_from_circuit_uses_the_transposed_signed_matrix_scaled_to_gain() -> None:
    c = Circuit(["a", "b", "c"], pre=[0, 1, 2], post=[1, 2, 0], weight=[2.0, -1.0, 3.0])
    net = RateRNN.from_circuit(c, 1, 1, gain=1.5)
    w = net.W_hh.detach()
    a = c.to_dense()
    scale = float(w[1, 0] / a[0, 1])
    assert torch.allclose(w, scale * a.T, atol=1e-6)            # W[post, pre] = c * A[pre, post]
    assert float(torch.linalg.norm(w)) == pytest.approx(1.5 * 3 ** 0.5, rel=1e-6)
    net = RateRNN.from_circuit(c, 1, 1, spectral_radius=0.9)
    assert float(torch.linalg.eigvals(net.W_hh.detach().double()).abs().max()) == pytest.approx(0.9, rel=1e-6)
    with pytest.raises(UnknownNameError, match="constraint"):
        RateRNN.from_circuit(c, 1, 1, constrain="sparse")
    with pytest.raises(ValidationError, match="signs"):
        RateRNN.from_circuit(c, 1, 1, constrain="dale")


def test_mask_and_dale_constraints_survive_training() -> None:
    c = random_dale(40, p=0.2, seed=0)
    net = RateRNN.from_circuit(c, 2, 2, constrain="mask+dale", spectral_radius=0.9, seed=0)
    w0 = net.recurrent_weight().detach().clone()
    assert torch.allclose(w0, RateRNN.from_circuit(c, 2, 2, spectral_radius=0.9).W_hh.detach())  # same start as unconstrained
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    x = torch.randn(8, 5, 2, generator=torch.Generator().manual_seed(0))
    target = torch.randn(8, 5, 2, generator=torch.Generator().manual_seed(1)) * 3
    for _ in range(20):
        opt.zero_grad()
        ((net(x) - target) ** 2).mean().backward()
        opt.step()
    w = net.recurrent_weight().detach()
    assert torch.isfinite(w).all() and float((w - w0).abs().max()) > 1e-3
    assert int(((w == 0) & (w0 != 0)).sum()) >= 0
    assert bool((w[w0 == 0] == 0).all())                        # absent synapses stay absent
    sign = torch.tensor(c.sign.astype("float32"))
    assert bool((w[:, sign > 0] >= 0).all()) and bool((w[:, sign < 0] <= 0).all())


def test_constrained_weight_validates_its_inputs() -> None:
    with pytest.raises(ValidationError, match="mask must hold"):
        ConstrainedWeight(torch.ones(2, 2), mask=torch.full((2, 2), 0.5))
    with pytest.raises(ValidationError, match="one entry per presynaptic"):
        ConstrainedWeight(torch.ones(2, 3), sign=torch.ones(2))
    layer = ConstrainedWeight(torch.tensor([[1.0, 1.0]]), sign=torch.tensor([-1, 0]))
    assert layer().tolist() == [[0.0, 1.0]]                     # wrong-signed entry starts at 0; sign-0 column free


def test_stacked_forward_and_training_equal_separate_runs() -> None:
    nets = [RateRNN(3, 12, 3, seed=s) for s in range(3)]
    copies = [RateRNN(3, 12, 3, seed=s) for s in range(3)]
    stack = StackedRateRNN.from_models(nets)
    x = torch.randn(6, 5, 3, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 3, (6, 5), generator=torch.Generator().manual_seed(1))
    opt = torch.optim.SGD(stack.parameters(), lr=0.05, momentum=0.9)
    opts = [torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in copies]
    for _ in range(5):
        opt.zero_grad()
        out = stack(x)
        sum(torch.nn.functional.cross_entropy(out[i].reshape(-1, 3), y.reshape(-1)) for i in range(3)).backward()
        opt.step()
        for m, o in zip(copies, opts):
            o.zero_grad()
            torch.nn.functional.cross_entropy(m(x).reshape(-1, 3), y.reshape(-1)).backward()
            o.step()
    for i, m in enumerate(copies):
        assert torch.allclose(stack.model(i).W_hh, m.W_hh, atol=1e-6)
        assert torch.allclose(stack(x)[i], m(x), atol=1e-5)
    with pytest.raises(ValidationError, match="same sizes"):
        StackedRateRNN.from_models([RateRNN(3, 12, 3), RateRNN(3, 13, 3)])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_stacked_forward_on_cuda_matches_cpu() -> None:
    stack = StackedRateRNN.from_models([RateRNN(3, 32, 3, seed=s) for s in range(3)])
    x = torch.randn(4, 8, 3, generator=torch.Generator().manual_seed(0))
    cpu = stack(x)
    assert torch.allclose(stack.to("cuda")(x.to("cuda")).cpu(), cpu, atol=1e-4)
