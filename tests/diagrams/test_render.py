"""SVG output: golden files, valid XML, PNG rendering, determinism."""

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from neurocircuits.diagrams.gallery import build
from neurocircuits.diagrams.render import svg_to_png

GOLDEN = Path(__file__).parent / "golden"
NAMES = ["mlp", "multi-head-attention", "residual-mlp", "low-rank-rnn-cell", "ei-masked-layer"]


@pytest.mark.parametrize("name", NAMES)
def test_golden_svg(name):
    svg = build(name).svg()
    path = GOLDEN / f"{name}.svg"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(svg, encoding="utf-8")
    assert svg == path.read_text(encoding="utf-8"), f"{name}.svg changed; rerun with UPDATE_GOLDEN=1 and look at it"


@pytest.mark.parametrize("name", ["residual-mlp", "ei-masked-layer"])
def test_svg_is_valid_xml_and_renders_to_png(tmp_path, name):
    svg = build(name).svg()
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and len(root) > 5
    png = svg_to_png(svg, tmp_path / "d.png")
    img = mpimg.imread(png)
    h, w = img.shape[:2]
    assert w == pytest.approx(float(root.get("width")) * 110 / 72, abs=2)
    dark = (img[..., :3].mean(-1) < 0.5).mean()
    assert 0.002 < dark < 0.3          # something is drawn, and it is not a black page


def test_golden_svgs_are_valid_xml():
    for name in NAMES:
        ET.fromstring((GOLDEN / f"{name}.svg").read_text(encoding="utf-8"))


def test_learned_ops_are_bold_and_residual_has_copy_and_add():
    svg = build("residual-mlp").svg()
    assert svg.count('stroke-width="2.4"') == 2          # two learned linears, bold
    assert 'fill="#f5d742"' in svg                        # copy pictogram where x forks
    assert 'fill="#e4d9f5"' in svg                        # addition pictogram
    assert build("residual-mlp").svg() == svg             # deterministic


def test_save_rejects_other_suffixes(tmp_path):
    from neurocircuits.errors import ValidationError

    with pytest.raises(ValidationError, match=".svg or .png"):
        build("mlp").save(tmp_path / "x.pdf")
