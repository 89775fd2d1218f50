"""Connectomes against the numbers cect itself reports for its parsed data files."""

import json
import re

import numpy as np
import pytest

from neurocircuits.circuit import CONNECTOMES, from_connectome, normalise_name
from neurocircuits.circuit.connectome import cect_root
from neurocircuits.errors import UnknownNameError


def cect_summary(reader: str) -> dict[str, tuple[int, int, float]]:
    """Nodes, non-zero entries and sums per connection class, parsed from cect's own summary text."""
    text = json.loads((cect_root() / "cache" / f"{reader}.json").read_text())["summary"]
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
    with pytest.raises(UnknownNameError, match="synapse layer"):
        from_connectome("white1986", layers=("chemical", "magic"))
