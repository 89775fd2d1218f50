import h5py
import numpy as np
import pytest

from neurocircuits.circuit import Circuit, geometric, load_circuit
from neurocircuits.errors import CorruptDataError, DataNotFoundError


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
