"""Circuit wiring view and the ``neurocircuits diagram`` command."""

import xml.etree.ElementTree as ET

import pytest

from neurocircuits.circuit import Circuit
from neurocircuits.cli import main
from neurocircuits.diagrams import Diagram
from neurocircuits.errors import ValidationError


def _circuit():
    return Circuit(["s1", "i1", "i2", "m1"], pre=[0, 1, 2, 1, 2], post=[1, 3, 3, 2, 1],
                   weight=[2.0, -1.0, 3.0, 0.5, 0.5], kind=["chemical", "chemical", "chemical", "electrical", "electrical"],
                   cell_class=["sensory", "interneuron", "interneuron", "motor"], sign=[1, -1, 1, 0])


def test_circuit_draw_shows_signed_chemical_and_electrical_edges():
    c = _circuit()
    d = c.draw()
    assert isinstance(d, Diagram)
    svg = d.svg()
    root = ET.fromstring(svg)
    chem = [e for e in root if e.get("class") == "chem"]
    gap = [e for e in root if e.get("class") == "gap"]
    assert len(chem) == 3 and len(gap) == 1
    assert sum(e.get("stroke").startswith("#") and e.get("stroke") != "#888888" for e in chem) == 3
    texts = [e.text for e in root if e.tag.endswith("text")]
    assert {"s1", "i1", "i2", "m1"} <= set(texts)
    assert "sensory (1)" in texts and "interneuron (2)" in texts
    assert "s1" not in [e.text for e in ET.fromstring(c.draw(labels=False).svg()) if e.tag.endswith("text")]
    assert len([e for e in ET.fromstring(c.draw(max_edges=1).svg()) if e.get("class") == "chem"]) == 1
    with pytest.raises(ValidationError):
        c.draw(max_edges=-1)


def test_cli_gallery_target_module_path_and_saved_circuit(tmp_path, capsys):
    out = tmp_path / "a.svg"
    assert main(["diagram", "residual-mlp", "--out", str(out), "--check"]) == 0
    assert "checks:" in capsys.readouterr().out and ET.parse(out).getroot().tag.endswith("svg")
    out2 = tmp_path / "b.png"
    assert main(["diagram", "neurocircuits.diagrams.gallery:ResidualMLP", "--input-shape", "3,16",
                 "--out", str(out2)]) == 0
    assert out2.stat().st_size > 1000
    h5 = _circuit().save(tmp_path / "c.h5")
    assert main(["diagram", str(h5), "--out", str(tmp_path / "c.svg")]) == 0
    assert main(["diagram", "no-such-model", "--out", str(tmp_path / "x.svg")]) == 2
    assert "unknown diagram target" in capsys.readouterr().err
    assert main(["diagram", "neurocircuits.diagrams.gallery:ResidualMLP", "--out", str(tmp_path / "y.svg")]) == 2
