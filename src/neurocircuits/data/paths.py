"""Where local data lives: the shared recordings folder and the download cache."""

from __future__ import annotations

import os
from pathlib import Path

from neurocircuits.base.packaged import data_home
from neurocircuits.errors import DataNotFoundError

#: what the shared data folder holds and where it comes from (used in error and skip messages)
SHARED_DATA_ORIGIN = (
    "the shared data folder holds the C. elegans whole-brain recordings of Dag et al. 2023 "
    "(Flavell lab, Cell 186; public repository flavell-lab/NSM_5HTR_analysis) as "
    "celegans-flavell2023/*.h5; it is not distributed with neurocircuits: set NEUROCIRCUITS_DATA "
    "to the folder that holds celegans-flavell2023/, or place it at ../shared/data beside the checkout")


class SharedDataNotFoundError(DataNotFoundError):
    """The shared data folder (recordings not shipped with the package) is not there."""


def shared_data_dir(required: bool = True) -> Path | None:
    """The project's shared data folder.

    Looked up in order: ``$NEUROCIRCUITS_DATA``, then ``../shared/data`` beside the
    current directory or beside the source checkout. Raises
    :class:`SharedDataNotFoundError` (a :class:`~neurocircuits.errors.DataNotFoundError`)
    if none exists and ``required``; else returns ``None``.

    Example:
        >>> shared_data_dir(required=False) is None or shared_data_dir().is_dir()
        True
    """
    candidates = []
    if env := os.environ.get("NEUROCIRCUITS_DATA"):
        candidates.append(Path(env))
    candidates.append(Path.cwd().parent / "shared" / "data")
    here = Path(__file__).resolve()
    candidates += [p.parent / "shared" / "data" for p in here.parents[2:5]]
    for c in candidates:
        if c.is_dir():
            return c
    if required:
        raise SharedDataNotFoundError(
            f"no shared data folder found (looked in: {', '.join(map(str, candidates))}); {SHARED_DATA_ORIGIN}")
    return None


def cache_dir() -> Path:
    """Folder for downloads: ``$NEUROCIRCUITS_CACHE`` or ``~/.cache/neurocircuits``."""
    return data_home()
