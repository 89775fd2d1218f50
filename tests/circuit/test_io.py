import h5py
import numpy as np
import pytest

from neurocircuits.circuit import Circuit, geometric, load_circuit
from neurocircuits.errors import CorruptDataError, DataNotFoundError, ValidationError


def test_round_trip_exact_with_positions_lengths_and_meta(tmp_path):
    c = geometric(60, rule="knn", k=4, seed=3)
    c2 = Circuit(c.names, c.pre, c.post, c.weight * np.pi, c.kind, cell_class=c.cell_class,
                 sign=np.where(np.arange(60) % 3 == 0, -1, 1), transmitter=["ACh"] * 60,
                 positions=c.positions, length=c.length, meta={**c.meta, "note": "ünïcode"})
    path = c2.save(tmp_path / "c.h5")
    back = Circuit.load(path)
    assert back == c2
    assert back.weight.dtype == np.float64 and np.array_equal(back.weight, c2.weight)


def test_round_trip_connectome(tmp_path):
    from neurocircuits.circuit import from_connectome

    c = from_connectome("witvliet2021-8")
    assert load_circuit(c.save(tmp_path / "w.h5")) == c


def test_load_errors(tmp_path):
    with pytest.raises(DataNotFoundError):
        load_circuit(tmp_path / "missing.h5")
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(CorruptDataError, match="not an HDF5 file"):
        load_circuit(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(CorruptDataError, match="not a neurocircuits circuit file"):
        load_circuit(tmp_path / "other.h5")
    c = Circuit(["a", "b"], [0], [1])
    p = c.save(tmp_path / "c.h5")
    with h5py.File(p, "a") as f:
        del f["edges/weight"]
    with pytest.raises(CorruptDataError, match="lacks dataset"):
        load_circuit(p)


def test_save_refuses_to_overwrite_unless_asked(tmp_path):
    a, b = Circuit(["a", "b"], [0], [1]), Circuit(["x", "y", "z"])
    p = a.save(tmp_path / "c.h5")
    with pytest.raises(ValidationError, match="already exists; pass overwrite=True"):
        b.save(p)
    assert Circuit.load(p) == a  # untouched
    b.save(p, overwrite=True)
    assert Circuit.load(p) == b


def test_save_errors_are_clear(tmp_path):
    c = Circuit(["a", "b"], [0], [1], meta={"when": {1, 2}, "ok": 1})
    with pytest.raises(ValidationError, match=r"meta must be JSON-serialisable.*\['when'\]"):
        c.save(tmp_path / "c.h5")
    assert list(tmp_path.iterdir()) == []  # no half-written file
    with pytest.raises(ValidationError, match="is a directory"):
        Circuit(["a"]).save(tmp_path)
    with pytest.raises(ValidationError, match="is a directory"):
        load_circuit(tmp_path)


def test_damaged_attributes_are_clear(tmp_path):
    p = Circuit(["a", "b"], [0], [1]).save(tmp_path / "c.h5")
    with h5py.File(p, "a") as f:
        del f.attrs["version"]
    with pytest.raises(CorruptDataError, match="lacks the format version"):
        load_circuit(p)
    p = Circuit(["a", "b"], [0], [1]).save(tmp_path / "d.h5")
    with h5py.File(p, "a") as f:
        f.attrs["meta"] = "{not json"
    with pytest.raises(CorruptDataError, match="'meta' is not valid JSON"):
        load_circuit(p)
    with h5py.File(p, "a") as f:
        f.attrs["meta"] = "[1, 2]"
    with pytest.raises(CorruptDataError, match="not a JSON object"):
        load_circuit(p)
    with h5py.File(p, "a") as f:
        f.attrs["meta"] = "{}"
        del f["edges/pre"]
        f["edges/pre"] = np.array([0.5])
    with pytest.raises(CorruptDataError, match="invalid circuit: pre must hold integer"):
        load_circuit(p)
