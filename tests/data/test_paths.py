"""The shared data folder: skipped with a reason outside CI, a failure in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurocircuits.data.paths import SharedDataNotFoundError, shared_data_dir

CONFTEST = (Path(__file__).parents[1] / "conftest.py").read_text()
INNER = """
from neurocircuits.data.paths import shared_data_dir

def test_needs_recordings(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROCIRCUITS_DATA", str(tmp_path / "missing"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("neurocircuits.data.paths.__file__", str(tmp_path / "a" / "b" / "c" / "paths.py"))
    shared_data_dir()

def test_plain_failure_stays_a_failure():
    assert 1 == 2
"""


def test_missing_shared_data_message_names_the_source(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROCIRCUITS_DATA", str(tmp_path / "missing"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("neurocircuits.data.paths.__file__", str(tmp_path / "a" / "b" / "c" / "paths.py"))
    assert shared_data_dir(required=False) is None
    with pytest.raises(SharedDataNotFoundError, match="Flavell lab.*NEUROCIRCUITS_DATA"):
        shared_data_dir()


@pytest.mark.parametrize("ci, outcome", [("", dict(skipped=1, failed=1)), ("true", dict(failed=2))])
def test_missing_shared_data_skips_outside_ci_and_fails_in_ci(pytester, monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_inprocess("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(**outcome)
    if not ci:
        result.stdout.fnmatch_lines(["*SKIPPED*no shared data folder found*Flavell lab*"])
