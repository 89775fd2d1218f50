"""Where local data lives."""

from __future__ import annotations

import os
from pathlib import Path

from neurocircuits.errors import DataNotFoundError


def shared_data_dir(required: bool = True) -> Path | None:
    """The project's shared data folder.

    Looked up in order: ``$NEUROCIRCUITS_DATA``, then ``../shared/data`` beside the
    current directory or beside the source checkout.
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
        raise DataNotFoundError(
            "no shared data folder found; set NEUROCIRCUITS_DATA or place it at "
            f"{candidates[1]} (looked in: {', '.join(map(str, candidates))})")
    return None


def cache_dir() -> Path:
    """Folder for downloads: ``$NEUROCIRCUITS_CACHE`` or ``~/.cache/neurocircuits``."""
    return Path(os.environ.get("NEUROCIRCUITS_CACHE", Path.home() / ".cache" / "neurocircuits"))
