"""Emergence-init: exponents, invariance, layer order per model family, and the LR control."""

import copy
import math

import pytest
import torch
from torch import nn

from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.init import (
    emergence_init, emergence_scale_, equivalent_lr_groups, kaiming_, layer_exponents, layer_groups, xavier_,
)
from neurocircuits.models.seq2seq import Seq2SeqTransformer
from neurocircuits.models.vision import cnn, mlp, resnet
from neurocircuits.train import TrainConfig, make_optimizer


@pytest.mark.parametrize("L", range(1, 12))
def test_exponents_sum_to_zero_and_factors_multiply_to_one(L):
    e = layer_exponents(L)
    assert sum(e) == 0 and len(e) == L and e == sorted(e)
    assert (0 in e) == (L % 2 == 1)
    net = mlp(depth=L, width=8, in_dim=5, n_classes=3)
    for mode in ("weight", "variance"):
        t = emergence_init(copy.deepcopy(net), 1.7, mode=mode)
        assert math.prod(t.factors) == pytest.approx(1.0, rel=1e-12)
        assert t.exponents == e


def test_pivot_is_asymmetric_for_even_depth():
    assert layer_exponents(4, "pivot") == [-2, -1, 0, 1]
    assert layer_exponents(5, "pivot") == layer_exponents(5)


def test_rescaling_applies_factors_to_weights_only():
    torch.manual_seed(0)
    net = mlp(depth=5, width=16, in_dim=6, n_classes=3, batchnorm=True)
    kaiming_(net, seed=3)
    before = copy.deepcopy(net)
    t = emergence_scale_(net, 1.3, mode="variance")
    lin = [m for m in net if isinstance(m, nn.Linear)]
    lin0 = [m for m in before if isinstance(m, nn.Linear)]
    for m, m0, e in zip(lin, lin0, t.exponents):
        assert torch.allclose(m.weight, m0.weight * 1.3 ** (e / 2))
    for m, m0 in zip(net, before):
        if isinstance(m, nn.BatchNorm1d):
            assert torch.equal(m.weight, m0.weight) and torch.equal(m.bias, m0.bias)
    assert torch.equal(lin[-1].bias, lin0[-1].bias)


@pytest.mark.parametrize("L", [4, 5, 8, 9])
def test_function_invariance_bias_free_relu_mlp(L):
    net = mlp(depth=L, width=64, in_dim=20, n_classes=5, bias=False)
    kaiming_(net, seed=L)
    x = torch.randn(32, 20, dtype=torch.float64)
    net = net.double()
    y0 = net(x)
    emergence_scale_(net, 1.5)
    y1 = net(x)
    assert (y1 - y0).abs().max() / y0.abs().max() < 1e-12
    # a non-homogeneous change (pivot on even depth: product != 1) does change the function
    if L % 2 == 0:
        emergence_scale_(net, 1.5, middle="pivot")
        assert (net(x) - y0).abs().max() / y0.abs().max() > 1e-3


def test_base_inits_are_seeded_and_have_the_right_scale():
    a, b = mlp(3, 512, in_dim=512), mlp(3, 512, in_dim=512)
    kaiming_(a, seed=1), kaiming_(b, seed=1)
    assert torch.equal(a[1].weight, b[1].weight)
    assert float(a[1].weight.detach().std()) == pytest.approx(math.sqrt(2 / 512), rel=0.02)
    xavier_(a, seed=2)
    assert float(a[1].weight.detach().std()) == pytest.approx(math.sqrt(2 / 1024), rel=0.02)
    assert float(a[1].bias.detach().abs().sum()) == 0.0 if a[1].bias is not None else True


def test_layer_order_mlp_and_cnn():
    g = layer_groups(mlp(depth=4, width=8, batchnorm=True))
    assert [x.name for x in g] == ["1", "4", "7", "10"]
    g = layer_groups(cnn(channels=(4, 4, 8)))
    assert [x.name for x in g] == ["0", "2", "5", "9"]  # convs in forward order, then the classifier
    assert [len(x.params) for x in g] == [1, 1, 1, 1]


def test_layer_order_resnet_shortcut_shares_block_exponent():
    net = resnet(widths=(4, 8, 16), blocks_per_stage=1)
    t = emergence_init(net, 1.2)
    # stem, (conv1, conv2) x 3 blocks, classifier = 8 layers; shortcuts are not layers
    assert t.layers == ["0", "3.conv1", "3.conv2", "4.conv1", "4.conv2", "5.conv1", "5.conv2", "8"]
    assert t.exponents == [-4, -3, -2, -1, 1, 2, 3, 4]
    rows = {r["name"]: r for r in t.rows()}
    assert "4.shortcut.0.weight" in rows["4.conv2"]["params"]
    assert "5.shortcut.0.weight" in rows["5.conv2"]["params"]


def test_layer_order_transformer_blocks_and_exclusions():
    model = Seq2SeqTransformer(30, 31, d_model=16, nhead=2, num_encoder_layers=3, num_decoder_layers=2,
                               dim_feedforward=32)
    t = emergence_init(model, 1.2, base="xavier")
    assert t.layers == [f"transformer.encoder.layers.{i}" for i in range(3)] + \
        [f"transformer.decoder.layers.{i}" for i in range(2)]
    assert t.exponents == [-2, -1, 0, 1, 2]
    names = [n for ps in t.params for n in ps]
    assert not any("embed" in n or "generator" in n for n in names)
    dec = t.params[-1]
    assert any("multihead_attn.in_proj_weight" in n for n in dec) and any("linear2" in n for n in dec)
    g = emergence_init(copy.deepcopy(model), 1.2, grouping="separate")
    assert g.exponents == [-1, 0, 1, -1, 1]
    gl = emergence_init(copy.deepcopy(model), 1.2, grouping="global")
    assert len(gl.layers) == 3 * 4 + 2 * 6 and sum(gl.exponents) == 0


def _train(net, opt, x, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return net


@pytest.mark.parametrize("momentum,wd", [(0.0, 0.0), (0.9, 1e-3)])
def test_arm_b_equals_arm_c_under_sgd(momentum, wd):
    """Emergence-init with base LR == Kaiming with per-layer LR x alpha^-2e (bias-free ReLU MLP)."""
    alpha, lr = 1.3, 0.05
    base = mlp(depth=5, width=32, in_dim=12, n_classes=4, bias=False).double()
    kaiming_(base, seed=0)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 12, generator=g, dtype=torch.float64), torch.randint(0, 4, (64,), generator=g)
    cfg = TrainConfig(lr=lr, optimizer="sgd", momentum=momentum, weight_decay=wd)
    b = copy.deepcopy(base)
    t = emergence_scale_(b, alpha)
    _train(b, make_optimizer(b.parameters(), cfg), x, y, 40)
    c = copy.deepcopy(base)
    _train(c, make_optimizer(equivalent_lr_groups(c, alpha, lr, "sgd", weight_decay=wd), cfg), x, y, 40)
    lb = [m for m in b if isinstance(m, nn.Linear)]
    lc = [m for m in c if isinstance(m, nn.Linear)]
    for mb, mc, f in zip(lb, lc, t.factors):
        assert torch.allclose(mb.weight, f * mc.weight, rtol=1e-9, atol=1e-12)
    assert torch.allclose(b(x), c(x), rtol=1e-9, atol=1e-12)
    # and the control is not trivially equal to the untouched baseline
    a = _train(copy.deepcopy(base), make_optimizer(copy.deepcopy(base).parameters(), cfg), x, y, 1)
    assert not torch.allclose(a(x), c(x))


def test_lr_groups_multipliers_and_arm_d():
    net = mlp(depth=4, width=8, in_dim=3, n_classes=2)
    groups = equivalent_lr_groups(net, 2.0, 0.1, "sgd")
    assert [g["lr"] for g in groups[:4]] == pytest.approx([0.1 * 16, 0.1 * 4, 0.1 / 4, 0.1 / 16])
    assert groups[-1]["name"] == "other" and groups[-1]["lr"] == 0.1  # biases keep the base LR
    adam = equivalent_lr_groups(net, 2.0, 0.1, "adam")
    assert [g["lr"] for g in adam[:4]] == pytest.approx([0.4, 0.2, 0.05, 0.025])
    d = equivalent_lr_groups(net, 2.0, 0.1, "sgd", invert=True)
    assert [g["lr"] for g in d[:4]] == pytest.approx([0.1 / 16, 0.1 / 4, 0.4, 1.6])
    n_params = sum(len(g["params"]) for g in groups)
    assert n_params == len(list(net.parameters()))


def test_bad_input():
    net = mlp(depth=3, width=8)
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValidationError, match="alpha"):
            emergence_init(net, bad)
    with pytest.raises(ValidationError, match="no nn.Linear"):
        emergence_init(nn.Sequential(nn.ReLU(), nn.BatchNorm1d(3)), 1.5)
    with pytest.raises(UnknownNameError):
        emergence_init(net, 1.5, base="orthogonal")
    with pytest.raises(UnknownNameError):
        emergence_init(net, 1.5, middle="left")
    with pytest.raises(UnknownNameError):
        emergence_init(net, 1.5, mode="std")
    with pytest.raises(UnknownNameError):
        equivalent_lr_groups(net, 1.5, 0.1, optimizer="rmsprop")
    with pytest.raises(ValidationError):
        equivalent_lr_groups(net, 1.5, 0.0)


def _grad_norm(net, x, y):
    net.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    return float(torch.sqrt(sum((p.grad ** 2).sum() for p in net.parameters())))


def test_gradinit_repairs_an_exploding_init_and_respects_bounds():
    from neurocircuits.init import gradinit_

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(512, 20, generator=g), torch.randint(0, 4, (512,), generator=g)
    net = mlp(depth=6, width=32, in_dim=20, n_classes=4)
    kaiming_(net, seed=0)
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.mul_(2.0)  # 2^6 = 64x too large outputs: gradients explode
    before = _grad_norm(net, x, y)
    scales = gradinit_(net, (x, y), nn.functional.cross_entropy, lr=0.05, steps=30, tau=0.1, seed=0)
    after = _grad_norm(net, x, y)
    assert before > 10 and after < before / 10
    assert min(scales.values()) >= 0.01 - 1e-6 and set(scales) == {n for n, _ in net.named_parameters()}
    # deterministic for a seed
    net2 = mlp(depth=6, width=32, in_dim=20, n_classes=4)
    kaiming_(net2, seed=0)
    with torch.no_grad():
        for m in net2:
            if isinstance(m, nn.Linear):
                m.weight.mul_(2.0)
    assert gradinit_(net2, (x, y), nn.functional.cross_entropy, lr=0.05, steps=30, tau=0.1, seed=0) == scales
    with pytest.raises(UnknownNameError):
        gradinit_(net, (x, y), nn.functional.cross_entropy, lr=0.05, optimizer="lbfgs")
    with pytest.raises(ValidationError):
        gradinit_(net, (x, y), nn.functional.cross_entropy, lr=0.0)


# --- prepare_arm: the arms of the control experiment -----------------------------------
def _net():
    return mlp(depth=4, width=16, in_dim=6, n_classes=3, bias=False)


def test_prepare_arm_matches_the_building_blocks():
    from neurocircuits.init import prepare_arm

    a, ref = _net(), _net()
    groups = prepare_arm(a, "A", 1.5, lr=0.1, seed=3)
    kaiming_(ref, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), ref.parameters()))
    assert len(groups) == 1 and "lr" not in groups[0]

    b, ref = _net(), _net()
    prepare_arm(b, "B", 1.5, lr=0.1, seed=3)
    emergence_init(ref, 1.5, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(b.parameters(), ref.parameters()))

    c = _net()
    groups = prepare_arm(c, "C", 1.5, lr=0.1, optimizer="sgd", seed=3)
    kaiming_(ref := _net(), seed=3)
    assert all(torch.equal(p, q) for p, q in zip(c.parameters(), ref.parameters()))  # C keeps Kaiming weights
    assert [g["lr"] for g in groups] == [g["lr"] for g in equivalent_lr_groups(ref, 1.5, 0.1, "sgd")]

    d = _net()
    groups = prepare_arm(d, "D", 1.5, lr=0.1, optimizer="adam", seed=3)
    e = layer_exponents(4)
    assert [g["lr"] for g in groups] == pytest.approx([0.1 * 1.5 ** k for k in e])  # Adam: x alpha^+e


def test_prepare_arm_gradinit_and_errors():
    from neurocircuits.init import prepare_arm

    g = _net()
    x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
    before = [p.detach().clone() for p in g.parameters()]
    prepare_arm(g, "G", 1.0, lr=0.05, gradinit_data=(x, y), loss_fn=nn.functional.cross_entropy,
                gradinit_steps=3, batch_size=16, seed=0)
    kaiming_(ref := _net(), seed=0)
    assert any(not torch.equal(p, q) for p, q in zip(g.parameters(), ref.parameters()))
    assert len(before) == len(list(g.parameters()))
    with pytest.raises(ValidationError, match="gradinit_data"):
        prepare_arm(_net(), "G", 1.0, lr=0.05)
    with pytest.raises(UnknownNameError):
        prepare_arm(_net(), "E", 1.0, lr=0.05)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="alpha"):
        prepare_arm(_net(), "B", -1.0, lr=0.05)
