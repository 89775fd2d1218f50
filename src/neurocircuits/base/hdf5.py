"""Opening HDF5 files with clear errors."""

from __future__ import annotations

from pathlib import Path

from neurocircuits.errors import CorruptDataError, DataNotFoundError


def open_hdf5(path: str | Path, what: str, hint: str = ""):
    """Open ``path`` read-only with h5py, or raise a clear error naming ``what`` it should be.

    Raises :class:`DataNotFoundError` if the file is missing and
    :class:`~neurocircuits.errors.CorruptDataError` if it is not HDF5.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"no {what} at {path}")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise CorruptDataError(f"{path} is not an HDF5 file ({what}): {e}" + (f"; {hint}" if hint else "")) from e
