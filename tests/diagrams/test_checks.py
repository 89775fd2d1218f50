"""Faithfulness checks on the gallery models, and that the checks can fail."""

import dataclasses

import pytest
import torch

from neurocircuits.diagrams import diagram
from neurocircuits.diagrams.checks import (
    check_all, check_broadcasts, check_einsums, check_roundtrip, check_shapes, evaluate,
)
from neurocircuits.diagrams.gallery import GALLERY, SelfAttention, build
from neurocircuits.diagrams.ir import TensorType


@pytest.mark.parametrize("name", ["multi-head-attention", "gru-cell", "low-rank-rnn-cell", "worm-graph-net",
                                  "resnet-block", "cnn"])
def test_gallery_models_pass_all_checks(name):
    d = build(name)
    r = check_all(d)
    assert r.ok, str(r)
    assert r.n_shapes >= len(d.ops) and r.n_broadcasts > 0


def test_attention_is_drawn_as_its_wiring():
    d = diagram(SelfAttention(32, 4), torch.randn(2, 5, 32), axes="b x m", index="b x", sizes={"h": 4, "k": 8})
    kinds = [op.kind for op in d.ops]
    i = kinds.index("einsum-wiring")
    assert kinds[i:i + 4] == ["einsum-wiring", "scale", "softmax", "einsum-wiring"]
    qk = d.ops[i]
    assert [a.label for a in qk.domain[0].axes] == ["b̄", "h", "x̄", "k"]   # heads split from m = k·h
    assert d.ops[i + 1].scale == pytest.approx(8 ** -0.5)
    merged = [op for op in d.ops if op.kind == "learned-linear"][-1]
    assert merged.domain[0].axes[-1].label == "m"                        # (h, k) merged back into m
    assert check_all(d).ok


def test_checks_catch_a_wrong_size_a_wrong_einsum_and_a_false_broadcast():
    d = build("multi-head-attention")
    t = d.ops[1].codomain[0]
    bad_axes = (dataclasses.replace(t.axes[0], size=t.axes[0].size + 1),) + t.axes[1:]
    j = next(i for i, op in enumerate(d.expanded_ops) if op is d.ops[1])
    d.ops[1] = d.expanded_ops[j] = dataclasses.replace(d.ops[1], codomain=(TensorType(t.name, bad_axes),))
    assert not check_shapes(d).ok
    d = build("multi-head-attention")
    k = next(i for i, op in enumerate(d.expanded_ops) if op.einsum and "->" in op.einsum and op.target != "virtual")
    eq = d.expanded_ops[k].einsum
    lhs, rhs = eq.split("->")
    wrong = lhs + "->" + rhs[:-2] + rhs[-1] + rhs[-2]   # transposed output
    d.expanded_ops[k] = dataclasses.replace(d.expanded_ops[k], einsum=wrong,
                                            call=lambda a, b, e=wrong: torch.einsum(e, a, b))
    assert not check_einsums(d).ok
    d = build("ei-masked-layer")
    op = d.expanded_ops[0]
    feat = op.domain[0].axes[1].id   # claim the linear map is lifted over its own input axis
    d.expanded_ops[0] = dataclasses.replace(op, broadcast=op.broadcast + (feat,))
    assert not check_broadcasts(d).ok
    d = build("residual-mlp")
    add = d.expanded_ops[-1]
    assert add.kind == "add"
    x = d.inputs[0]
    d.expanded_ops[-1] = dataclasses.replace(add, domain=(x, x))   # wire the branch wrongly: x + x
    assert not check_roundtrip(d).ok


def test_the_diagram_runs_as_code():
    from neurocircuits.diagrams.gallery import LowRankRNNCell

    cell = LowRankRNNCell()
    x, h = torch.randn(5, 3), torch.randn(5, 16)
    d = diagram(cell, x, h, axes=["b i", "b n"], index="b", state=1)
    x2, h2 = torch.randn(5, 3), torch.randn(5, 16)
    out = evaluate(d, x2, h2)[d.outputs[0].name]
    assert torch.allclose(out, cell(x2, h2), atol=1e-6)


def test_every_gallery_entry_builds():
    assert {"mlp", "cnn", "resnet-block", "multi-head-attention", "transformer-encoder-layer", "gru-cell",
            "worm-graph-net", "low-rank-rnn-cell", "ei-masked-layer"} <= set(GALLERY)
