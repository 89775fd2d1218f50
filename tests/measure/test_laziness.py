"""Laziness measures: the tangent kernel against the per-output loop, hand cases, invariants."""

from __future__ import annotations

import copy

import pytest
import torch

from neurocircuits.circuit import random_dale
from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.measure.laziness import (
    alignment, laziness, representation_alignment, sign_similarity, tangent_kernel, tangent_kernel_loop,
)
from neurocircuits.models import RateRNN


@pytest.fixture
def f64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _x(b: int, t: int, n_in: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, t, n_in, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("params", [("W_hh",), ("W_in",), ("W_out",), "all"])
def test_kernel_equals_the_per_output_loop(f64, params) -> None:
    net = RateRNN(3, 10, 3, alpha=0.7, bias=True, seed=0)
    with torch.no_grad():
        net.W_hh.mul_(4)
    x = _x(4, 6, 3)
    ref = tangent_kernel_loop(net, x, params)
    for method in ("structured", "jacobian"):
        k = tangent_kernel(net, x, params, method=method)
        assert k.shape == (6 * 4 * 3,) * 2
        assert torch.allclose(k, ref, rtol=1e-10, atol=1e-10), method


def test_kernel_on_selected_steps_and_the_chunked_parameter_path(f64) -> None:
    net = RateRNN(2, 4, 2, activation="tanh", seed=1)   # T^2 > N: J is built in parameter chunks
    x = _x(3, 12, 2)
    ref = tangent_kernel_loop(net, x, ("W_hh", "W_in"), steps=[-1, 4])
    k = tangent_kernel(net, x, ("W_hh", "W_in"), steps=[-1, 4], max_chunk_elements=16)
    assert torch.allclose(k, ref, rtol=1e-10, atol=1e-12)


def test_constrained_model_goes_through_the_generic_path(f64) -> None:
    net = RateRNN.from_circuit(random_dale(12, p=0.3, seed=0), 2, 2, constrain="mask+dale", spectral_radius=0.9)
    x = _x(3, 5, 2)
    ref = tangent_kernel_loop(net, x, ("W_hh",))
    assert torch.allclose(tangent_kernel(net, x, ("W_hh",)), ref, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValidationError, match="structured"):
        tangent_kernel(net, x, method="structured")


def test_hand_computed_kernel_of_a_one_unit_linear_rnn(f64) -> None:
    net = RateRNN(1, 1, 1, activation="linear")
    with torch.no_grad():
        net.W_in.fill_(2.0), net.W_hh.fill_(0.5), net.W_out.fill_(3.0)
    x = torch.tensor([[[1.0], [0.0], [0.0]]])
    # h0 = 2, h1 = w h0, h2 = w^2 h0; y_t = 3 h_t -> dy/dw = (0, 3*2, 3*2*2w) = (0, 6, 6)
    k = tangent_kernel(net, x)
    assert torch.allclose(k, torch.tensor([[0.0, 0, 0], [0, 36, 36], [0, 36, 36]]))


def test_an_unchanged_model_is_perfectly_lazy() -> None:
    net = RateRNN(3, 30, 3, seed=0)
    x = _x(40, 8, 3)
    lz = laziness(net, copy.deepcopy(net), x, n_kernel_trials=8)
    assert lz.weight_change == 0.0 and lz.sign_similarity == 1.0
    assert lz.kernel_alignment == pytest.approx(1.0, abs=1e-9)
    assert lz.representation_alignment == pytest.approx(1.0, abs=1e-9)


def test_a_trained_model_moves_and_measures_are_in_range() -> None:
    net = RateRNN(3, 30, 3, seed=0)
    moved = copy.deepcopy(net)
    with torch.no_grad():
        moved.W_hh.add_(0.3 * torch.randn(30, 30, generator=torch.Generator().manual_seed(1)))
    lz = laziness(net, moved, _x(20, 8, 3), n_kernel_trials=5)
    assert lz.weight_change == pytest.approx(float(torch.linalg.norm(moved.W_hh - net.W_hh)), rel=1e-6)
    assert 0 < lz.kernel_alignment < 1 and 0 < lz.representation_alignment <= 1 and 0 < lz.sign_similarity < 1


def test_alignments_by_hand() -> None:
    assert alignment(torch.eye(2), torch.tensor([[1.0, 0], [0, 0]])) == pytest.approx(2 ** -0.5)
    h = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert representation_alignment(h, 3 * h) == pytest.approx(1.0)
    assert representation_alignment(h, torch.tensor([[0.0, 1.0], [1.0, 0.0]])) == pytest.approx(5 / 34 ** 0.5)
    assert sign_similarity(torch.tensor([1.0, 0.0, -1.0, 2.0]), torch.tensor([2.0, 0.0, 1.0, 0.0])) == 0.5


def test_errors() -> None:
    net = RateRNN(3, 5, 3)
    with pytest.raises(ValidationError, match="inputs"):
        laziness(net, net, torch.zeros(4, 3))
    with pytest.raises(UnknownNameError, match="parameter"):
        tangent_kernel(net, _x(2, 3, 3), ("W_xx",))
    with pytest.raises(UnknownNameError, match="kernel method"):
        tangent_kernel(net, _x(2, 3, 3), method="fast")
    with pytest.raises(ValidationError, match="steps"):
        tangent_kernel(net, _x(2, 3, 3), steps=[5])
