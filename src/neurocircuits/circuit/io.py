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
from pathlib import Path

import h5py
import numpy as np

from neurocircuits.circuit.core import KINDS, Circuit
from neurocircuits.errors import CorruptDataError

FORMAT, VERSION = "neurocircuits.circuit", 1
_STR = h5py.string_dtype("utf-8")


def save_circuit(circuit: Circuit, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["format"], f.attrs["version"] = FORMAT, VERSION
        f.attrs["kinds"] = json.dumps(list(KINDS))
        f.attrs["meta"] = json.dumps(circuit.meta, sort_keys=True)
        g = f.create_group("neurons")
        g.create_dataset("names", data=np.array(circuit.names, dtype=object), dtype=_STR)
        g.create_dataset("cell_class", data=circuit.cell_class.astype(object), dtype=_STR)
        g.create_dataset("transmitter", data=circuit.transmitter.astype(object), dtype=_STR)
        g.create_dataset("sign", data=circuit.sign)
        if circuit.positions is not None:
            g.create_dataset("positions", data=circuit.positions)
        e = f.create_group("edges")
        for key in ("pre", "post", "weight", "kind"):
            e.create_dataset(key, data=getattr(circuit, key))
        if circuit.length is not None:
            e.create_dataset("length", data=circuit.length)
    return path


def load_circuit(path: str | Path) -> Circuit:
    from neurocircuits.base.hdf5 import open_hdf5

    path = Path(path)
    with open_hdf5(path, "circuit file") as f:
        if f.attrs.get("format") != FORMAT:
            raise CorruptDataError(f"{path} is not a neurocircuits circuit file (format attribute missing)")
        if int(f.attrs["version"]) > VERSION:
            raise CorruptDataError(f"{path} has format version {f.attrs['version']}; this neurocircuits reads <= {VERSION}")
        if json.loads(f.attrs["kinds"]) != list(KINDS):
            raise CorruptDataError(f"{path} uses edge kinds {f.attrs['kinds']}, expected {list(KINDS)}")
        try:
            n, e = f["neurons"], f["edges"]
            strs = {k: [s.decode() if isinstance(s, bytes) else s for s in n[k][()]]
                    for k in ("names", "cell_class", "transmitter")}
            return Circuit(
                strs["names"], e["pre"][()], e["post"][()], e["weight"][()], e["kind"][()],
                cell_class=strs["cell_class"], transmitter=strs["transmitter"], sign=n["sign"][()],
                positions=n["positions"][()] if "positions" in n else None,
                length=e["length"][()] if "length" in e else None,
                meta=json.loads(f.attrs["meta"]),
            )
        except KeyError as err:
            raise CorruptDataError(f"{path} lacks dataset {err}") from err
