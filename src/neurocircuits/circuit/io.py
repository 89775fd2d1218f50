"""Saving and loading circuits: HDF5, an open, self-describing format.

Layout of a ``.h5`` circuit file (format version 1)::

    /                      attrs: format="neurocircuits.circuit", version=1,
                                  kinds=JSON list of edge-kind names, meta=JSON object
    /neurons/names         (N,)  UTF-8 strings
    /neurons/cell_class    (N,)  UTF-8 strings
    /neurons/transmitter   (N,)  UTF-8 strings
    /neurons/sign          (N,)  int8, +1 / -1 / 0
    /neurons/positions     (N, d) float64       (only if the circuit has positions)
    /edges/pre, /edges/post (E,) int64 indices into /neurons/names; matrix A[pre, post]
    /edges/weight          (E,)  float64, signed
    /edges/kind            (E,)  int8, index into the root attribute ``kinds``
    /edges/length          (E,)  float64       (only if the circuit has edge lengths)

All arrays are stored at full precision, so ``load(save(c)) == c`` exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurocircuits.circuit.core import KINDS, Circuit
from neurocircuits.errors import CorruptDataError, ValidationError

FORMAT, VERSION = "neurocircuits.circuit", 1
_STR = h5py.string_dtype("utf-8")


def _meta_json(meta: dict[str, Any]) -> str:
    try:
        return json.dumps(meta, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError) as e:
        bad = [k for k, v in meta.items() if not _json_ok(v)]
        raise ValidationError(
            f"circuit meta must be JSON-serialisable to be saved; not serialisable: {bad or e} "
            "(convert NumPy values with .tolist() or float())") from e


def _json_ok(v: Any) -> bool:
    try:
        json.dumps(v)
    except (TypeError, ValueError):
        return False
    return True


def save_circuit(circuit: Circuit, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``circuit`` to an HDF5 file (layout above); refuse to replace a file unless ``overwrite``.

    The file is written to a temporary name first and renamed, so a failed save never
    leaves a half-written file. Returns the path.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.h5"
        >>> c = Circuit(["a", "b"], pre=[0], post=[1], weight=[-2.0])
        >>> Circuit.load(save_circuit(c, p)) == c
        True
        >>> save_circuit(c, p)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        neurocircuits.errors.ValidationError: ... already exists; pass overwrite=True to replace it
    """
    if not isinstance(circuit, Circuit):
        raise ValidationError(f"circuit must be a Circuit, got {type(circuit).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise ValidationError(f"path must be a file path, got {path!r}")
    path = Path(path)
    if path.is_dir():
        raise ValidationError(f"path {path} is a directory; give a file name such as {path / 'circuit.h5'}")
    if path.exists() and not overwrite:
        raise ValidationError(f"path {path} already exists; pass overwrite=True to replace it")
    meta = _meta_json(circuit.meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"], f.attrs["version"] = FORMAT, VERSION
            f.attrs["kinds"] = json.dumps(list(KINDS))
            f.attrs["meta"] = meta
            g = f.create_group("neurons")
            g.create_dataset("names", data=np.array(circuit.names, dtype=object), dtype=_STR)
            g.create_dataset("cell_class", data=circuit.cell_class.astype(object), dtype=_STR)
            g.create_dataset("transmitter", data=circuit.transmitter.astype(object), dtype=_STR)
            g.create_dataset("sign", data=circuit.sign)
            if circuit.positions is not None:
                g.create_dataset("positions", data=circuit.positions)
            edg = f.create_group("edges")
            for key in ("pre", "post", "weight", "kind"):
                edg.create_dataset(key, data=getattr(circuit, key))
            if circuit.length is not None:
                edg.create_dataset("length", data=circuit.length)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _attr_json(f: h5py.File, path: Path, name: str) -> Any:
    if name not in f.attrs:
        raise CorruptDataError(f"{path} lacks the root attribute {name!r} of a circuit file")
    raw = f.attrs[name]
    try:
        return json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    except json.JSONDecodeError as e:
        raise CorruptDataError(f"{path}: the root attribute {name!r} is not valid JSON ({e})") from e


def load_circuit(path: str | Path) -> Circuit:
    """Read a circuit written by :func:`save_circuit`; clear errors for missing or damaged files."""
    from neurocircuits.base.hdf5 import open_hdf5

    if not isinstance(path, (str, os.PathLike)):
        raise ValidationError(f"path must be a file path, got {path!r}")
    path = Path(path)
    if path.is_dir():
        raise ValidationError(f"path {path} is a directory, not a circuit file")
    with open_hdf5(path, "circuit file") as f:
        if f.attrs.get("format") != FORMAT:
            raise CorruptDataError(f"{path} is not a neurocircuits circuit file (format attribute missing)")
        if "version" not in f.attrs:
            raise CorruptDataError(f"{path} lacks the format version attribute of a circuit file")
        try:
            version = int(f.attrs["version"])
        except (TypeError, ValueError) as e:
            raise CorruptDataError(f"{path} has an unreadable format version {f.attrs['version']!r}") from e
        if version > VERSION:
            raise CorruptDataError(f"{path} has format version {version}; this neurocircuits reads <= {VERSION}")
        kinds = _attr_json(f, path, "kinds")
        if kinds != list(KINDS):
            raise CorruptDataError(f"{path} uses edge kinds {kinds}, expected {list(KINDS)}")
        meta = _attr_json(f, path, "meta")
        if not isinstance(meta, dict):
            raise CorruptDataError(f"{path}: the root attribute 'meta' is not a JSON object")
        try:
            nrn, edg = f["neurons"], f["edges"]
            strs = {k: [s.decode() if isinstance(s, bytes) else s for s in nrn[k][()]]
                    for k in ("names", "cell_class", "transmitter")}
            return Circuit(
                strs["names"], edg["pre"][()], edg["post"][()], edg["weight"][()], edg["kind"][()],
                cell_class=strs["cell_class"], transmitter=strs["transmitter"], sign=nrn["sign"][()],
                positions=nrn["positions"][()] if "positions" in nrn else None,
                length=edg["length"][()] if "length" in edg else None,
                meta=meta,
            )
        except KeyError as err:
            raise CorruptDataError(f"{path} lacks dataset {err}") from err
        except ValidationError as err:
            raise CorruptDataError(f"{path} holds an invalid circuit: {err}") from err
