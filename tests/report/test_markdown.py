"""Markdown helpers for verdicts and paired comparisons."""

from neurocircuits.report.markdown import claim_line, comparison_table
from neurocircuits.report.stats import paired


def test_claim_line_and_comparison_table():
    win = paired([0.9, 0.91, 0.92, 0.93], [0.8, 0.8, 0.81, 0.82])
    lose = paired([0.7, 0.71, 0.7, 0.72], [0.8, 0.8, 0.81, 0.82])
    line = claim_line("B beats A", [win, lose], "test accuracy")
    assert line.startswith("- **B beats A**: partly.") and "for it in 1, against it in 1, undecided in 0 of 2" in line
    assert claim_line("x", []) == "- **x**: not tested."
    md = comparison_table([({"model": "m1"}, win), ({"model": "m2"}, lose)], a="B", b="A")
    rows = md.strip().splitlines()
    assert rows[0].startswith("| model | B − A") and rows[2].endswith("| 4 | B |") and rows[3].endswith("| A |")
    assert " ± " not in md
