import networkx as nx
import numpy as np
import pytest
import torch

from neurocircuits.circuit import Circuit
from neurocircuits.errors import UnknownNameError, ValidationError


def small() -> Circuit:
    # a -> b (2), b -> c (-1), gap junction a <-> c (0.5)
    return Circuit(["a", "b", "c"], pre=[0, 1, 0, 2], post=[1, 2, 2, 0], weight=[2.0, -1.0, 0.5, 0.5],
                   kind=["chemical", "chemical", "electrical", "electrical"],
                   cell_class=["sensory", "inter", "motor"], sign=[1, -1, 0],
                   positions=[[0, 0, 0], [1, 0, 0], [2, 0, 0]], meta={"source": "test"})


def test_dense_sparse_scipy_agree():
    c = small()
    dense = c.to_dense()
    assert dense[0, 1] == 2 and dense[1, 2] == -1 and dense[0, 2] == 0.5 and dense[2, 0] == 0.5
    assert torch.equal(c.to_sparse().to_dense(), dense)
    assert np.array_equal(c.to_scipy().toarray(), dense.numpy())
    assert c.to_dense("chemical")[0, 2] == 0 and c.to_dense("electrical")[0, 1] == 0
    assert c.to_dense(signed=False)[1, 2] == 1
    assert c.edge_index("chemical").tolist() == [[0, 1], [1, 2]]


def test_networkx_round_trip_exact():
    c = small()
    g = c.to_networkx()
    assert isinstance(g, nx.MultiDiGraph)
    assert g["a"]["c"]["electrical"]["weight"] == 0.5
    back = Circuit.from_networkx(g, meta=c.meta)
    assert back == c


def test_subset_by_names_and_classes():
    c = small()
    s = c.subset(["a", "c"])
    assert s.names == ("a", "c")
    assert s.n_edges == 2 and set(s.kind.tolist()) == {1}  # only the gap junction survives
    s2 = c.subset(classes=["sensory", "inter"])
    assert s2.names == ("a", "b") and s2.to_dense()[0, 1] == 2
    assert c.subset(kind="chemical").n_edges == 2
    with pytest.raises(UnknownNameError, match="unknown neuron 'zz'"):
        c.subset(["a", "zz"])
    with pytest.raises(UnknownNameError, match="cell class"):
        c.subset(classes=["glia"])
    with pytest.raises(ValidationError, match="wrap a single name in a list"):
        c.subset("ab")  # not the neurons 'a' and 'b'
    with pytest.raises(ValidationError, match="wrap a single name in a list"):
        c.subset(classes="motor")


def test_degrees_and_ei_fraction():
    c = small()
    assert c.out_degree("chemical").tolist() == [1, 1, 0]
    assert c.in_degree().tolist() == [0, 1, 1]  # statistics default to the chemical layer
    assert c.in_degree(None).tolist() == [1, 1, 2]
    assert c.in_degree("electrical").tolist() == [1, 0, 1]
    assert c.ei_fraction() == 0.5  # one E, one I, one unknown
    assert np.array_equal(c.counts, np.abs(c.weight))


def test_degree_counts_distinct_partners_across_kinds():
    # a -> b chemical and a <-> b electrical: b has one presynaptic partner, not two
    c = Circuit(["a", "b", "c"], pre=[0, 0, 1, 2], post=[1, 1, 0, 1], kind=[0, 1, 1, 0])
    assert c.in_degree(None).tolist() == [1, 2, 0]
    assert c.out_degree(None).tolist() == [1, 1, 1]
    assert c.in_degree("chemical").tolist() == [0, 2, 0]


def test_index_normalises_padding():
    c = Circuit(["VB1", "AVAL"])
    assert c.index("VB01") == 0 and "VB01" in c and "XYZ" not in c
    with pytest.raises(UnknownNameError, match="did you mean 'AVAL'"):
        c.index("aval")


def test_index_has_one_return_type_per_call_form():
    c = Circuit(["VB1", "AVAL", "DD1"])
    one = c.index("AVAL")
    assert type(one) is int and one == 1
    many = c.index(["DD1", "VB01"])
    assert isinstance(many, np.ndarray) and many.dtype == np.int64 and many.tolist() == [2, 0]
    assert c.index([]).shape == (0,) and c.index(("AVAL",)).tolist() == [1]
    assert 5 not in c  # type: ignore[operator]
    with pytest.raises(ValidationError, match="names must be a neuron name or a list of names, got 5"):
        c.index(5)  # type: ignore[call-overload]
    with pytest.raises(ValidationError, match="names must be neuron names"):
        c.index(["AVAL", 3])  # type: ignore[list-item]


@pytest.mark.parametrize("kwargs, message", [
    (dict(names=["a", "a"]), "unique"),
    (dict(names=["a", "b"], pre=[0], post=[0, 1]), "pre has 1 entries but post has 2"),
    (dict(names=["a", "b"], pre=[0], post=[2]), "point at missing neurons"),
    (dict(names=["a", "b"], pre=[0], post=[-1]), "point at missing neurons"),
    (dict(names=["a", "b"], pre=[0], post=[1], weight=[float("nan")]), "NaN"),
    (dict(names=["a", "b"], pre=[0], post=[1], weight=[1.0, 2.0]), "weight has 2 entries"),
    (dict(names=["a", "b"], pre=[0, 0], post=[1, 1]), "duplicate edges"),
    (dict(names=["a", "b"], pre=[0], post=[1], kind=["electrical"]), "symmetric"),
    (dict(names=["a", "b"], pre=[0, 1], post=[1, 0], weight=[1, 2], kind=["electrical"] * 2), "symmetric"),
    (dict(names=["a", "b"], sign=[2, 0]), "signs"),
    (dict(names=["a", "b"], sign=[1]), "sign has 1 entries"),
    (dict(names=["a", "b"], positions=[[0.0, 1.0]]), "positions must have shape"),
    (dict(names=["a", "b"], positions=[[0.0, np.nan], [1, 1]]), "NaN"),
    (dict(names=["a", "b"], pre=[0], post=[1], length=[-1.0]), "lengths must be >= 0"),
    (dict(names=["a", "b"], cell_class=["x"]), "cell_class has 1 entries"),
])
def test_bad_input_raises_clear_errors(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        Circuit(**kwargs)


@pytest.mark.parametrize("args, kwargs, message", [
    ((["a", "b"],), dict(pre=[0.7], post=[1]), r"pre must hold integer neuron indices; entry 0 is 0.7"),
    ((["a", "b"],), dict(pre=[0], post=[1.5]), r"post must hold integer neuron indices"),
    ((["a", "b"],), dict(pre=["0"], post=[1]), r"pre must hold integer neuron indices, got values of type"),
    ((["a", "b"],), dict(pre=[True], post=[1]), r"pre must hold integer neuron indices"),
    ((["a", "b"],), dict(sign=[0.5, -0.5]), r"neuron signs must be -1, 0 or \+1; sign\[0\] is 0.5"),
    ((["a", "b"],), dict(sign=255), r"sign must be a sequence of neuron signs"),
    ((["a", "b"],), dict(sign=[255, 0]), r"sign\[0\] is 255"),
    (("abc",), {}, r"names must be a sequence of neuron names.*wrap a single name in a list"),
    ((None,), {}, r"names must be a sequence of neuron names \(str\), got None"),
    (([1, 2],), {}, r"names must be strings; entry 0 is 1 \(int\)"),
    ((["a", "b"],), dict(pre=[0], post=[1], weight=["heavy"]), r"weight must hold numbers"),
    ((["a", "b"],), dict(pre=[0], post=[1], weight=3.0), r"weight must be a sequence of numbers"),
    ((["a", "b"],), dict(pre=0, post=1), r"pre must be a sequence of integer neuron indices"),
    ((["a", "b"],), dict(pre=[0], post=[1], kind="chemical"), r"kind must be a sequence"),
    ((["a", "b"],), dict(pre=[0], post=[1], kind=[0.5]), r"kind must hold integer"),
    ((["a", "b"],), dict(pre=[0], post=[1], kind=[3]), r"edge kind codes must be in 0..1"),
    ((["a", "b"],), dict(cell_class="motor"), r"cell_class must be a sequence"),
    ((["a", "b"],), dict(positions=[["x", "y"], ["z", "w"]]), r"positions must be an \(N=2, d\) array"),
    ((["a", "b"],), dict(pre=[0], post=[1], length=["far"]), r"length must hold numbers"),
    ((["a", "b"],), dict(meta=["not", "a", "dict"]), r"meta must be a dict"),
])
def test_wrong_types_are_named_not_truncated(args, kwargs, message):
    with pytest.raises(ValidationError, match=message):
        Circuit(*args, **kwargs)


def test_whole_number_floats_are_accepted_as_indices_and_signs():
    c = Circuit(["a", "b"], pre=np.array([0.0]), post=np.array([1.0]), sign=np.array([1.0, -1.0]))
    assert c.pre.tolist() == [0] and c.post.tolist() == [1] and c.sign.tolist() == [1, -1]


def test_unknown_kind():
    with pytest.raises(UnknownNameError, match="unknown synapse kind 'wireless'"):
        Circuit(["a", "b"], pre=[0], post=[1], kind=["wireless"])


def test_edge_order_is_canonical():
    a = Circuit(["a", "b", "c"], pre=[1, 0], post=[2, 1], weight=[3.0, 4.0], length=[0.3, 0.4])
    b = Circuit(["a", "b", "c"], pre=[0, 1], post=[1, 2], weight=[4.0, 3.0], length=[0.4, 0.3])
    assert a == b and a.length.tolist() == [0.4, 0.3]


def test_circuit_is_immutable():
    c = small()
    with pytest.raises(ValueError):
        c.weight[0] = 5.0
    with pytest.raises(AttributeError):
        c.names = ("x",)  # type: ignore[misc]


def test_stats_known_values():
    # a directed 3-cycle with weights 2: spectral radius 2, full effective rank 3, no reciprocity
    c = Circuit(["a", "b", "c"], pre=[0, 1, 2], post=[1, 2, 0], weight=[2.0, 2.0, 2.0])
    assert c.spectral_radius() == pytest.approx(2.0)
    assert c.effective_rank() == pytest.approx(3.0)
    assert c.reciprocity() == 0.0
    s = c.stats()
    assert s["neurons"] == 3 and s["chemical_edges"] == 3 and s["chemical_synapses"] == 6.0


def test_methods_and_stats_share_one_default():
    # chemical a -> b -> c -> a (weight 2) plus a strong gap junction a <-> b
    c = Circuit(["a", "b", "c"], pre=[0, 1, 2, 0, 1], post=[1, 2, 0, 1, 0], weight=[2.0, 2.0, 2.0, 5.0, 5.0],
                kind=[0, 0, 0, 1, 1])
    s, both = c.stats(), c.stats(kind=None)
    assert s["spectral_radius"] == pytest.approx(c.spectral_radius()) == pytest.approx(2.0)
    assert s["effective_rank"] == pytest.approx(c.effective_rank()) == pytest.approx(3.0)
    assert s["reciprocity"] == c.reciprocity() == 0.0
    assert both["spectral_radius"] == pytest.approx(c.spectral_radius(kind=None))
    assert both["spectral_radius"] > 6.0
    assert both["effective_rank"] == pytest.approx(c.effective_rank(kind=None))
    assert both["reciprocity"] == c.reciprocity(kind=None) == 0.5  # a->b, b->a of 4 edges


def test_self_gap_junctions_are_counted_once():
    # a gap junction of a onto itself (stored once) and a pair a <-> b (stored twice)
    c = Circuit(["a", "b"], pre=[0, 0, 1], post=[0, 1, 0], weight=[3.0, 2.0, 2.0], kind=[1, 1, 1])
    s = c.stats()
    assert (s["electrical_pairs"], s["electrical_synapses"]) == (2, 5.0)
    assert "2 electrical pairs" in repr(c)
