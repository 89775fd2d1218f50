"""Capture and axis-identity propagation."""

import time
import warnings

import pytest
import torch
from torch import nn

from neurocircuits.diagrams import DiagramWarning, UntraceableError, diagram
from neurocircuits.diagrams.checks import check_all
from neurocircuits.errors import ValidationError


class SplitMerge(nn.Module):
    """(b, x, m) -> (b, x, h, k) -> (b, h, x, k) -> (b, x, h, k) -> (b, x, m)."""

    def forward(self, x):
        b, n, m = x.shape
        y = x.view(b, n, 4, m // 4).permute(0, 2, 1, 3)
        return y.permute(0, 2, 1, 3).reshape(b, n, m)


def test_linear_replaces_last_axis_and_batch_passes():
    d = diagram(nn.Linear(4, 3), torch.randn(2, 5, 4), axes="b x m", index="b x")
    op = d.ops[0]
    b, x, m = d.inputs[0].axes
    out = d.outputs[0].axes
    assert (op.kind, op.learned, op.bias) == ("learned-linear", True, True)
    assert out[0] is b and out[1] is x and out[2].size == 3 and out[2].id != m.id
    assert set(op.broadcast) == {b.id, x.id}
    assert [a.label for a in out[:2]] == ["b̄", "x̄"]


def test_split_and_merge_restore_the_same_axis():
    d = diagram(SplitMerge(), torch.randn(2, 5, 8), axes="b x m", index="b x", sizes={"h": 4, "k": 2})
    b, x, m = d.inputs[0].axes
    split = d.expanded_ops[0].codomain[0].axes
    assert [a.label for a in split] == ["b̄", "x̄", "h", "k"]
    assert d.outputs[0].axes == (b, x, m)         # k·h merged back is the original m, not a new axis
    assert len(d.ops) == 1 and d.ops[0].kind == "reshape"      # the chain is drawn as one wiring
    assert sorted(d.ops[0].wiring) == [((0, 0), (0, 0)), ((0, 1), (0, 1)), ((0, 2), (0, 2))]
    assert check_all(d).ok


def test_einsum_maps_axes_by_letter_and_matmul_becomes_a_wiring():
    class M(nn.Module):
        def forward(self, q, k):
            return torch.einsum("bik,bjk->bij", q, k) @ k

    d = diagram(M(), torch.randn(2, 3, 4), torch.randn(2, 5, 4), axes=["b y k", "b x k"], index="b x y")
    e1, e2 = d.ops
    assert e1.kind == e2.kind == "einsum-wiring"
    assert [a.label for a in e1.codomain[0].axes] == ["b\u0304", "y\u0304", "x\u0304"]
    assert e2.einsum == "abc,acd->abd"
    assert [a.label for a in d.outputs[0].axes] == ["b\u0304", "y\u0304", "k"]
    r = check_all(d)
    assert r.ok and r.n_einsums == 2


def test_mask_sign_and_low_rank_annotations():
    from neurocircuits.diagrams.gallery import EIMaskedLinear

    layer = EIMaskedLinear(n_in=12, n_out=8, frac_exc=0.75)
    d = diagram(layer, torch.randn(4, 12))
    notes = " ".join(d.ops[0].notes)
    assert "n_E=9, n_I=3" in notes and "softplus" in notes
    assert f"density {float(layer.mask.mean()):.0%}" in notes
    assert d.ops[0].superscript == "E|I" and d.ops[0].learned

    class LowRank(nn.Module):
        def __init__(self):
            super().__init__()
            self.u, self.v = nn.Parameter(torch.randn(6, 2)), nn.Parameter(torch.randn(6, 2))

        def forward(self, x):
            return nn.functional.linear(x, self.u @ self.v.T)

    d = diagram(LowRank(), torch.randn(3, 6), axes="b n", index="b", sizes={"r": 2})
    assert [op.kind for op in d.ops] == ["learned-linear", "learned-linear"]
    assert d.ops[0].codomain[0].axes[-1].label == "r"          # n -> r -> n
    assert check_all(d).ok


def test_fixed_connectome_is_not_learned():
    class Fixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("w", torch.randn(5, 5))

        def forward(self, x):
            return x @ self.w

    op = diagram(Fixed(), torch.randn(2, 5)).ops[0]
    assert op.kind == "learned-linear" and not op.learned


def test_unknown_op_is_a_labelled_box_with_a_warning():
    class M(nn.Module):
        def forward(self, x):
            return torch.cumsum(x, 1).relu()

    with pytest.warns(DiagramWarning, match="cumsum"):
        d = diagram(M(), torch.randn(2, 3))
    assert d.ops[0].kind == "custom" and d.ops[0].label == "cumsum"
    assert d.warnings and "<svg" in d.svg()


def test_untraceable_module_names_the_op_and_line():
    class M(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x * 2
            return x

    with pytest.raises(UntraceableError, match=r"if x\.sum\(\) > 0") as err:
        diagram(M(), torch.randn(3))
    assert "cannot trace M: op Tensor.__bool__" in str(err.value)

    class N(nn.Module):
        def forward(self, x):
            return torch.from_numpy(x.numpy() * 2)

    with pytest.raises(UntraceableError, match=r"op Tensor\.numpy\(\)"):
        diagram(N(), torch.randn(3))


def test_bad_arguments():
    lin = nn.Linear(2, 2)
    with pytest.raises(ValidationError, match="names 3 axes"):
        diagram(lin, torch.randn(4, 2), axes="b x m")
    with pytest.raises(ValidationError, match="depth"):
        diagram(lin, torch.randn(4, 2), depth=-1)
    with pytest.raises(ValidationError, match="module"):
        diagram(lambda x: x, torch.randn(2))
    with pytest.raises(ValidationError, match="example_inputs"):
        diagram(lin)
    with pytest.raises(ValidationError, match="state index 3"):
        diagram(lin, torch.randn(4, 2), state=3)
    with pytest.raises(ValidationError, match="dim 5"):
        diagram(lin, torch.randn(4, 2), axes={5: "m"})


def test_depth_collapses_module_calls_into_blocks():
    net = nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), nn.Linear(8, 2))
    full = diagram(net, torch.randn(3, 4))
    one = diagram(net, torch.randn(3, 4), depth=1)
    zero = diagram(net, torch.randn(3, 4), depth=0)
    assert [op.kind for op in full.ops] == ["learned-linear", "elementwise", "learned-linear"]
    assert [op.kind for op in one.ops] == ["block", "learned-linear"] and one.ops[0].learned
    assert one.ops[0].label.startswith("Sequential") and one.ops[0].codomain[0].shape == (3, 8)
    assert [op.kind for op in zero.ops] == ["block"]
    assert zero.ops[0].codomain[0].shape == (3, 2)


def test_hundred_layer_model_under_five_seconds():
    from neurocircuits.models.vision import mlp

    diagram(nn.Linear(2, 2), torch.randn(1, 2))      # torch.export's one-time start-up is not counted
    net = mlp(depth=100, width=16, in_dim=16)         # 100 Linear layers, 99 ReLUs
    t = time.perf_counter()
    d = diagram(net, torch.randn(2, 16))
    svg = d.svg()
    elapsed = time.perf_counter() - t
    assert sum(op.kind == "learned-linear" for op in d.ops) == 100 and svg.count('stroke-width="2.4"') == 100
    assert elapsed < 5.0, elapsed


def test_a_module_with_a_diagram_label_is_one_labelled_box():
    class Delay(nn.Module):
        diagram_label = "z⁻²"

        def forward(self, x):            # a two-step delay line along the time axis
            return torch.cat([torch.zeros_like(x[:, :2]), x[:, :-2]], dim=1)

    net = nn.Sequential(nn.Linear(3, 3), Delay(), nn.Tanh())
    d = diagram(net, torch.randn(2, 6, 3), axes="b t n", index="b t")
    assert [(op.kind, op.label) for op in d.ops] == [("learned-linear", "L"), ("custom", "z⁻²"), ("elementwise", "tanh")]
    assert d.ops[1].codomain[0].shape == (2, 6, 3)


def test_einsum_with_a_weight_is_a_learned_map():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(4, 6))

        def forward(self, x):
            return torch.einsum("bti,ij->btj", x, self.w)

    d = diagram(M(), torch.randn(2, 3, 4), axes="b t m", index="b t")
    op = d.ops[0]
    b, t, _ = d.inputs[0].axes
    assert (op.kind, op.learned, op.superscript) == ("learned-linear", True, "w")
    assert set(op.broadcast) == {b.id, t.id} and d.outputs[0].shape == (2, 3, 6)
    assert check_all(d).ok
