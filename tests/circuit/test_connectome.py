"""Connectomes against the numbers cect itself reports for its parsed data files."""

import json
import re

import numpy as np
import pytest

from neurocircuits.circuit import CONNECTOMES, from_connectome, normalise_name
from neurocircuits.circuit.connectome import cect_file
from neurocircuits.errors import UnknownNameError, ValidationError


def raw(reader: str) -> dict:
    return json.loads(cect_file(f"cache/{reader}.json"))


def cect_summary(reader: str) -> dict[str, tuple[int, int, float]]:
    """Nodes, non-zero entries and sums per connection class, parsed from cect's own summary text."""
    text = raw(reader)["summary"]
    nodes = int(re.search(r"Nodes present \((\d+)\)", text).group(1))
    pat = re.compile(r"Connection type - (\S+): \((\d+), \d+\), (\d+) non-zero entries, sum of entries = ([\d.]+)")
    return {m.group(1): (nodes, int(m.group(3)), float(m.group(4))) for m in pat.finditer(text)}


def test_white1986_counts_match_cect():
    c = from_connectome("white1986")
    ref = cect_summary("White_whole")
    assert ref["Generic_CS"] == (309, 2386, 7943.0)  # the published White 1986 numbers in cect 0.3.5
    assert c.n_neurons == 309
    chem, el = c.kind == 0, c.kind == 1
    assert int(chem.sum()) == 2386 and c.counts[chem].sum() == 7943.0
    assert int(el.sum()) == ref["Generic_GJ"][1] == 1144 and c.counts[el].sum() == ref["Generic_GJ"][2]


@pytest.mark.parametrize("name", ["varshney2011", "cook2019", "witvliet2021-7", "witvliet2021-8"])
def test_generic_connectomes_match_cect(name):
    reader = CONNECTOMES[name][0]
    ref = cect_summary(reader)
    c = from_connectome(name)
    assert c.n_neurons == ref["Generic_CS"][0]
    chem, el = c.kind == 0, c.kind == 1
    assert (int(chem.sum()), c.counts[chem].sum()) == ref["Generic_CS"][1:]
    assert (int(el.sum()), c.counts[el].sum()) == ref["Generic_GJ"][1:]


def test_gap_junctions_symmetric_and_orientation():
    c = from_connectome("white1986")
    gap = c.to_dense("electrical").numpy()
    assert np.array_equal(gap, gap.T)
    a = c.to_dense("chemical", signed=False)
    # the AVA command interneurons drive the VA/DA backward motor neurons: AVAL -> VA/DA edges exist
    assert a[c.index("AVAL"), c.index("DA1")] > 0
    # and the edge is presynaptic-row oriented (sensory ASH -> AVA, not the reverse)
    assert a[c.index("ASHL"), c.index("AVAL")] > 0


def test_signs_follow_transmitters():
    c = from_connectome("white1986")
    # D-type motor neurons are GABAergic, VA/VB cholinergic
    for n in ("DD1", "VD5"):
        assert c.sign[c.index(n)] == -1 and "GABA" in c.transmitter[c.index(n)]
    for n in ("VA3", "VB02"):
        assert c.sign[c.index(n)] == 1
    # Dale: every chemical out-edge of a signed neuron has that neuron's sign
    chem = c.kind == 0
    s = c.sign[c.pre[chem]]
    w = c.weight[chem]
    assert (np.sign(w[s != 0]) == s[s != 0]).all()
    unsigned = from_connectome("white1986", signs=None)
    assert (unsigned.sign == 0).all() and (unsigned.weight > 0).all()


def test_typed_connectome_and_neurons_only():
    c = from_connectome("openworm-unified")
    assert c.sign[c.index("DD1")] == -1
    n = from_connectome("cook2019", neurons_only=True)
    assert "MDL01" not in n and "AVAL" in n
    assert set(n.cell_class.tolist()) <= {"sensory", "interneuron", "motor", "neuron_other"}
    assert from_connectome("witvliet2021").meta["cect_reader"] == "WitvlietDataReader8"


def test_names_are_normalised():
    c = from_connectome("varshney2011")
    assert all(n == normalise_name(n) for n in c.names)
    assert c.index("VB01") == c.index("VB1")


def test_unknown_connectome():
    with pytest.raises(UnknownNameError, match="did you mean 'white1986'"):
        from_connectome("white1968")
    with pytest.raises(UnknownNameError, match="synapse kind"), pytest.warns(DeprecationWarning):
        from_connectome("white1986", layers=("chemical", "magic"))
    with pytest.raises(UnknownNameError, match="synapse kind"):
        from_connectome("white1986", kind="magic")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="name must be a connectome name"):
        from_connectome(123)  # type: ignore[arg-type]
    with pytest.raises(UnknownNameError, match="transmitter class 'Dopamin'"):
        from_connectome("wang2024", transmitters=["Dopamin"])
    with pytest.raises(ValidationError, match="not typed by transmitter"):
        from_connectome("white1986", transmitters=["GABA"])


def test_layers_keyword_still_works_and_equals_kind():
    with pytest.warns(DeprecationWarning):
        old = from_connectome("witvliet2021-7", layers=("chemical",))
    assert old.edge_mask("electrical").sum() == 0
    assert (old.pre.tolist(), old.weight.tolist()) == (
        from_connectome("witvliet2021-7", kind="chemical").pre.tolist(),
        from_connectome("witvliet2021-7", kind="chemical").weight.tolist())
    gj = from_connectome("witvliet2021-7", kind="electrical")
    assert gj.n_edges == cect_summary("WitvlietDataReader7")["Generic_GJ"][1] and (gj.kind == 1).all()


# --------------------------------------------------------------------------------------
# typed data sets: a synapse is listed once per transmitter of its presynaptic neuron
# --------------------------------------------------------------------------------------

TYPED = {"openworm-unified": (4377, 26307.0, 28436.0), "wang2024": (6257, 6257.0, 6698.0)}


@pytest.mark.parametrize("name", list(TYPED))
def test_typed_connectome_merges_transmitter_copies_exactly(name):
    reader = CONNECTOMES[name][0]
    data = raw(reader)
    classes = {k: np.array(v) for k, v in data["connections"].items() if k != "Generic_GJ"}
    stack = np.stack(list(classes.values()))
    # the copies are identical wherever a pair is listed under several transmitters
    for v in stack[:, (stack > 0).sum(0) > 1].T:
        assert len(set(v[v > 0].tolist())) == 1
    edges, merged_total, summed_total = TYPED[name]
    assert stack.sum() == summed_total  # what adding the classes used to give
    c = from_connectome(name, kind="chemical", signs=None)
    assert (c.n_edges, c.counts.sum()) == (edges, merged_total)
    nodes = [normalise_name(n) for n in data["nodes"]]
    expect = stack.max(0)
    got = c.to_dense(dtype=__import__("torch").float64).numpy()
    assert np.array_equal(got, expect[np.ix_(range(len(nodes)), range(len(nodes)))])
    assert "element-wise max" in c.meta["chemical_merge"]


@pytest.mark.parametrize("name", list(TYPED))
def test_typed_connectome_per_transmitter_split_matches_cect(name):
    reader = CONNECTOMES[name][0]
    ref = cect_summary(reader)
    typed = [k for k in ref if k not in ("Generic_GJ", "Generic_CS")]
    assert len(typed) >= 4
    for t in typed:  # cect's own per-class entry counts and sums
        c = from_connectome(name, kind="chemical", transmitters=[t])
        assert (c.n_edges, c.counts.sum()) == ref[t][1:], t
    assert c.n_neurons == ref[typed[0]][0]


def test_m5_to_pm5vr_has_three_synapses_as_in_cook2019():
    for name in ("openworm-unified", "cook2019"):
        c = from_connectome(name, kind="chemical")
        edge = (c.pre == c.index("M5")) & (c.post == c.index("pm5VR"))
        assert c.counts[edge].tolist() == [3.0], name
    both = from_connectome("openworm-unified", kind="chemical", transmitters=["Acetylcholine", "Glutamate"])
    edge = (both.pre == both.index("M5")) & (both.post == both.index("pm5VR"))
    assert both.counts[edge].tolist() == [3.0]


@pytest.mark.parametrize("name", list(TYPED) + ["white1986"])
def test_signs_none_leaves_every_sign_unknown(name):
    c = from_connectome(name, signs=None)
    assert (c.sign == 0).all() and (c.weight > 0).all() and c.meta["signs"] == "none"
    signed = from_connectome(name)
    assert (signed.sign != 0).sum() > 100 and (signed.weight < 0).any()
    assert np.array_equal(np.abs(signed.weight), c.weight)


def test_wang2024_is_binary_without_gap_junctions_and_says_so():
    c = from_connectome("wang2024")
    assert set(c.counts.tolist()) == {1.0} and c.edge_mask("electrical").sum() == 0
    assert c.meta["weights"].startswith("binary") and c.meta["electrical"].startswith("none")
    w = from_connectome("white1986")
    assert w.meta["weights"] == "synapse counts" and w.meta["electrical"].startswith("gap junctions")


def test_unsigned_transmitters_do_not_hide_a_sign():
    c = from_connectome("wang2024")
    # RIML is listed under glutamate, betaine and tyramine; only glutamate has a sign in the
    # default map, so RIML is excitatory (it used to be "mixed", sign 0)
    i = c.index("RIML")
    assert c.transmitter[i] == "Betaine+Glu+Tyramine" and c.sign[i] == 1
    assert from_connectome("wang2024", transmitter_signs={"Glutamate": 1, "Tyramine": -1}).sign[i] == 0
