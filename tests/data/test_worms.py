"""Loaders, windowing and name alignment of whole-brain C. elegans recordings."""

from __future__ import annotations

import itertools
import shutil
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
import pytest

from neurocircuits.data.worms import (
    FLAVELL_IDS, WormRecording, align_to_names, chronological_segments, flavell_dir, flavell_recordings,
    load_flavell, load_kato_mat, load_nwb, make_windows, resample, seconds_to_frames, shared_names, standardise,
)
from neurocircuits.errors import CorruptDataError, DataNotFoundError, UnknownNameError, ValidationError

# --------------------------------------------------------------------------------------
# the real Flavell 2023 files (must be present: CI has the shared data folder)
# --------------------------------------------------------------------------------------

EXPECTED = {  # id: (T, N, named traces with a certain, unique label)
    "2022-05-02-01": (1137, 136, 0), "2022-07-26-31": (800, 146, 100), "2022-07-26-38": (800, 141, 90),
    "2022-07-27-31": (800, 145, 102), "2022-07-27-38": (800, 135, 91), "2022-07-27-45": (800, 140, 109),
    "2022-08-02-31": (800, 130, 104),
}


@pytest.fixture(scope="module")
def recs() -> dict[str, WormRecording]:
    return {r.name: r for r in flavell_recordings()}


def test_flavell_shapes_dt_and_names(recs):
    assert tuple(recs) == FLAVELL_IDS
    for rid, (T, N, n_named) in EXPECTED.items():
        r = recs[rid]
        assert r.traces.shape == (T, N) and r.traces.dtype == np.float32
        assert r.dt == pytest.approx(0.600, abs=2e-3)  # median timestamp difference, not t0-based
        assert len(r.named) == n_named
        assert set(r.behaviour) >= {"velocity", "reversal_vec", "angular_velocity"}
        np.testing.assert_array_equal(r.labels, r.behaviour["reversal_vec"])
        assert r.label_names == ("forward", "reversal")
    # reversal fractions of the data README
    for rid, frac in {"2022-05-02-01": 0.28, "2022-07-26-38": 0.13, "2022-08-02-31": 0.31}.items():
        assert recs[rid].labels.mean() == pytest.approx(frac, abs=0.006)
    # uncertain labels stay unnamed, and the certain duplicate URADL keeps the confidence-5 trace
    r = recs["2022-07-27-38"]
    assert r.index("URADL") == 7 and r.names[46] is None
    assert all("?" not in n for rr in recs.values() for n in rr.named)
    assert recs["2022-07-26-31"].meta["raw_labels"][1] == "SIA??" and recs["2022-07-26-31"].names[1] is None


def test_flavell_sanity_check_ava_ave_reversal_and_rib_velocity(recs):
    """The biology of the data README: AVA/AVE up during reversals, RIB with forward velocity."""
    named = [r for r in recs.values() if r.named]
    assert len(named) == 6
    n_rib = 0
    for r in named:
        for n, i in r.named.items():
            if n in ("AVAL", "AVAR", "AVEL", "AVER"):
                rc = np.corrcoef(r.traces[:, i], r.behaviour["reversal_vec"])[0, 1]
                assert rc > 0.05, (r.name, n, rc)
            if n in ("RIBL", "RIBR"):
                n_rib += 1
                assert np.corrcoef(r.traces[:, i], r.behaviour["velocity"])[0, 1] > 0.05, (r.name, n)
    assert n_rib >= 3


def test_flavell_shared_names(recs):
    named = [r for r in recs.values() if r.named]
    shared = shared_names(named)
    assert len(shared) == 43 and {"AVAL", "AVAR", "AVEL", "AVER", "RID", "SMDVL"} <= set(shared)
    x, mask = align_to_names(named[0], shared)
    assert mask.all() and np.array_equal(x[:, shared.index("AVAL")], named[0].traces[:, named[0].index("AVAL")])


def test_flavell_by_path_and_unknown_id(recs, tmp_path):
    r = load_flavell(flavell_dir() / "2022-07-26-31-data.h5")
    assert np.array_equal(r.traces, recs["2022-07-26-31"].traces)
    with pytest.raises(UnknownNameError, match="did you mean"):
        load_flavell("2022-07-26-3")
    with pytest.raises(DataNotFoundError):
        load_flavell(tmp_path / "missing-data.h5")


# --------------------------------------------------------------------------------------
# corrupted / mismatched Flavell files
# --------------------------------------------------------------------------------------

def _copy(tmp_path: Path, rid: str = "2022-07-26-31") -> Path:
    src = flavell_dir()
    dst = tmp_path / f"{rid}-data.h5"
    shutil.copy(src / f"{rid}-data.h5", dst)
    dst.chmod(0o644)
    if (src / f"{rid}-neuron-ids.csv").exists():
        shutil.copy(src / f"{rid}-neuron-ids.csv", tmp_path)
        (tmp_path / f"{rid}-neuron-ids.csv").chmod(0o644)
    return dst


def test_flavell_rejects_bad_files(tmp_path):
    p = _copy(tmp_path)
    with h5py.File(p, "a") as f:
        tr = f["gcamp/trace_array"][()]
        tr[3, 5] = np.nan
        f["gcamp/trace_array"][...] = tr
    with pytest.raises(CorruptDataError, match="NaN"):
        load_flavell(p)
    p = _copy(tmp_path)
    with h5py.File(p, "a") as f:
        del f["behavior/velocity"]
    with pytest.raises(CorruptDataError, match="behavior/velocity"):
        load_flavell(p)
    p = _copy(tmp_path)
    with h5py.File(p, "a") as f:
        ts = f["timing/timestamp_confocal"][()]
        del f["timing/timestamp_confocal"]
        f["timing/timestamp_confocal"] = ts[:-10]
    with pytest.raises(CorruptDataError, match="timestamps"):
        load_flavell(p)
    p = _copy(tmp_path)
    with h5py.File(p, "a") as f:
        del f["gcamp/trace_array"]
        f["gcamp/trace_array"] = np.zeros((0, 146))
    with pytest.raises(CorruptDataError, match="non-empty"):
        load_flavell(p)
    bad = tmp_path / "junk-data.h5"
    bad.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(CorruptDataError, match="HDF5"):
        load_flavell(bad)


def test_flavell_rejects_mismatched_names_csv(tmp_path):
    p = _copy(tmp_path)
    csv_path = tmp_path / "2022-07-26-31-neuron-ids.csv"
    csv_path.write_text(csv_path.read_text() + "146,AVAL,5\n")  # column 146 does not exist (N = 146)
    with pytest.raises(CorruptDataError, match="trace_index 146"):
        load_flavell(p)
    csv_path.write_text("index,label\n1,AVAL\n")
    with pytest.raises(CorruptDataError, match="columns"):
        load_flavell(p)
    with pytest.raises(DataNotFoundError):
        load_flavell(p, names_csv=tmp_path / "nope.csv")


# --------------------------------------------------------------------------------------
# Kato et al. 2015, MATLAB v7.3 layout written here with h5py
# --------------------------------------------------------------------------------------

def write_kato_mat(path: Path, worms: list[dict], states_key: list[str], top: str = "WT_NoStim",
                   time_field: str = "timVectorSeconds") -> None:
    """Write worms in the layout of Kato's v7.3 files: a struct of per-worm object references."""
    ref_dt = h5py.ref_dtype
    with h5py.File(path, "w", userblock_size=512) as f:  # MATLAB keeps its 128-byte header in a user block
        refs = f.create_group("#refs#")
        count = itertools.count()

        def put(arr, cls="double"):
            d = refs.create_dataset(f"r{next(count)}", data=arr)
            d.attrs["MATLAB_class"] = np.bytes_(cls)
            return d.ref

        def put_str(s):  # a MATLAB 1xL char array reads as (L, 1) uint16
            return put(np.array([ord(c) for c in s], np.uint16)[:, None], "char")

        def put_cell(items):  # a MATLAB 1xK cell reads as (K, 1) references
            d = refs.create_dataset(f"r{next(count)}", data=np.array(items, dtype=object)[:, None], dtype=ref_dt)
            d.attrs["MATLAB_class"] = np.bytes_("cell")
            return d.ref

        g = f.create_group(top)
        g.attrs["MATLAB_class"] = np.bytes_("struct")

        def field(name, items):
            d = g.create_dataset(name, data=np.array(items, dtype=object)[None, :], dtype=ref_dt)
            d.attrs["MATLAB_class"] = np.bytes_("cell")

        field("traces", [put(w["traces"].T) for w in worms])  # (T, N) in MATLAB -> (N, T) on disk
        field("IDs", [put_cell([put(np.zeros((1, 1))) if not ids else put_cell([put_str(s) for s in ids])
                                for ids in w["ids"]]) for w in worms])
        field("States", [put(w["states"].astype(float)[:, None]) for w in worms])
        field(time_field, [put((np.arange(len(w["traces"])) / w["fps"])[:, None]) for w in worms])
        field("fps", [put(np.array([[w["fps"]]])) for w in worms])
        d = g.create_dataset("States_key", data=np.array([put_str(s) for s in states_key], dtype=object)[:, None],
                             dtype=ref_dt)
        d.attrs["MATLAB_class"] = np.bytes_("cell")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2015 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116) + b"\x00" * 8 + b"\x00\x02" + b"IM")


KEY = ["FWD", "SLOW", "DT", "VT", "REV1", "REV2", "REVSUS", "NOSTATE"]


def _kato_worms(rng):
    w0 = {"traces": rng.normal(size=(50, 4)), "fps": 2.905, "states": rng.integers(1, 9, 50),
          "ids": [["AVAL"], [], ["OLQVR", "URYVR"], ["VB01"]]}
    w1 = {"traces": rng.normal(size=(40, 3)), "fps": 3.066, "states": rng.integers(1, 9, 40),
          "ids": [["RIML"], ["VB01"], []]}
    return [w0, w1]


def test_kato_round_trip(tmp_path):
    worms = _kato_worms(np.random.default_rng(0))
    p = tmp_path / "WT_NoStim.mat"
    write_kato_mat(p, worms, KEY)
    recs = load_kato_mat(p)
    assert len(recs) == 2
    for r, w in zip(recs, worms):
        np.testing.assert_allclose(r.traces, w["traces"], rtol=1e-6)
        assert r.dt == pytest.approx(1 / w["fps"])
        np.testing.assert_array_equal(r.labels, w["states"] - 1)
        assert r.label_names == tuple(KEY)
    assert recs[0].names == ["AVAL", None, None, "VB1"]  # multi-candidate ROI unnamed, VB01 -> VB1
    assert recs[0].meta["raw_labels"][2] == "OLQVR, URYVR"
    assert recs[1].names == ["RIML", "VB1", None]
    assert shared_names(recs) == ["VB1"]
    # the other files spell the time field correctly; fps alone also works
    p2 = tmp_path / "WT_Stim.mat"
    write_kato_mat(p2, worms, ["FWD", "REV", "REVSUS", "TURN", "a", "b", "c", "d"], top="WT_Stim",
                   time_field="timeVectorSeconds")
    assert load_kato_mat(p2)[1].dt == pytest.approx(1 / 3.066)


def test_kato_rejects_bad_files(tmp_path):
    rng = np.random.default_rng(1)
    worms = _kato_worms(rng)
    worms[0]["states"][3] = 9  # code outside States_key
    p = tmp_path / "bad_states.mat"
    write_kato_mat(p, worms, KEY)
    with pytest.raises(CorruptDataError, match="state codes"):
        load_kato_mat(p)
    worms = _kato_worms(rng)
    worms[1]["ids"] = worms[1]["ids"][:2]  # 2 IDs for 3 traces
    p = tmp_path / "bad_ids.mat"
    write_kato_mat(p, worms, KEY)
    with pytest.raises(CorruptDataError, match="2 IDs for 3 traces"):
        load_kato_mat(p)
    worms = _kato_worms(rng)
    worms[0]["traces"][5, 1] = np.inf
    p = tmp_path / "inf.mat"
    write_kato_mat(p, worms, KEY)
    with pytest.raises(ValidationError, match="NaN or infinite"):
        load_kato_mat(p)
    with h5py.File(tmp_path / "empty.mat", "w"):
        pass
    with pytest.raises(CorruptDataError, match="top-level struct"):
        load_kato_mat(tmp_path / "empty.mat")
    (tmp_path / "v5.mat").write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    with pytest.raises(CorruptDataError, match="v7.3"):
        load_kato_mat(tmp_path / "v5.mat")
    with pytest.raises(DataNotFoundError):
        load_kato_mat(tmp_path / "none.mat")


# --------------------------------------------------------------------------------------
# NWB, written here with pynwb
# --------------------------------------------------------------------------------------

def write_nwb(path: Path, traces: np.ndarray, names: list[str], velocity: np.ndarray, reversal: np.ndarray,
              rate: float = 1 / 0.6, timestamps: np.ndarray | None = None) -> None:
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.behavior import BehavioralTimeSeries
    from pynwb.ophys import DfOverF, ImageSegmentation, OpticalChannel, RoiResponseSeries

    nwb = NWBFile(session_description="test worm", identifier="w1",
                  session_start_time=datetime(2022, 7, 26, tzinfo=timezone.utc))
    dev = nwb.create_device(name="confocal")
    plane = nwb.create_imaging_plane(name="plane", optical_channel=OpticalChannel(name="gcamp", description="GCaMP", emission_lambda=525.0),
                                     description="whole brain", device=dev, excitation_lambda=488.0,
                                     indicator="GCaMP7f", location="head", imaging_rate=rate)
    ophys = nwb.create_processing_module("ophys", "calcium")
    img_seg = ImageSegmentation()
    ophys.add(img_seg)
    seg = img_seg.create_plane_segmentation(name="seg", description="neurons", imaging_plane=plane)
    seg.add_column("neuron_name", "NeuroPAL label, empty if unnamed")
    for i, nm in enumerate(names):
        seg.add_roi(voxel_mask=[(i, i, 0, 1.0)], neuron_name=nm)
    region = seg.create_roi_table_region(description="all", region=list(range(len(names))))
    kw = {"timestamps": timestamps} if timestamps is not None else {"rate": rate}
    rrs = RoiResponseSeries(name="gcamp", data=traces, rois=region, unit="a.u.", **kw)
    ophys.add(DfOverF(rrs))
    beh = nwb.create_processing_module("behavior", "behaviour")
    bts = BehavioralTimeSeries(name="motion")
    bts.add_timeseries(TimeSeries(name="velocity", data=velocity, unit="mm/s", rate=rate))
    bts.add_timeseries(TimeSeries(name="reversal_vec", data=reversal, unit="n/a", rate=rate))
    beh.add(bts)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def test_nwb_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    tr = rng.normal(size=(60, 5))
    rev = (rng.random(60) < 0.3).astype(np.int64)
    vel = rng.normal(size=60) * 0.05
    p = tmp_path / "worm.nwb"
    write_nwb(p, tr, ["AVAL", "", "VB01", "RIBL", ""], vel, rev)
    r = load_nwb(p)
    np.testing.assert_allclose(r.traces, tr, rtol=1e-6)
    assert r.names == ["AVAL", None, "VB1", "RIBL", None]
    assert r.dt == pytest.approx(0.6)
    np.testing.assert_array_equal(r.labels, rev)
    np.testing.assert_allclose(r.behaviour["velocity"], vel)
    ts = 100.0 + np.cumsum(np.full(60, 0.25))
    write_nwb(tmp_path / "ts.nwb", tr, ["AVAL", "", "VB01", "RIBL", ""], vel, rev, timestamps=ts)
    assert load_nwb(tmp_path / "ts.nwb").dt == pytest.approx(0.25)


def test_nwb_rejects_bad_files(tmp_path):
    rng = np.random.default_rng(3)
    tr = rng.normal(size=(30, 3))
    tr[4, 2] = np.nan
    p = tmp_path / "nan.nwb"
    write_nwb(p, tr, ["A", "B", "C"], np.zeros(30), np.zeros(30, np.int64))
    with pytest.raises(CorruptDataError, match="NaN"):
        load_nwb(p)
    (tmp_path / "junk.nwb").write_bytes(b"junk")
    with pytest.raises(CorruptDataError, match="NWB"):
        load_nwb(tmp_path / "junk.nwb")
    with pytest.raises(DataNotFoundError):
        load_nwb(tmp_path / "missing.nwb")
    write_nwb(tmp_path / "ok.nwb", rng.normal(size=(30, 3)), ["A", "B", "C"], np.zeros(30), np.zeros(30, np.int64))
    with pytest.raises(UnknownNameError):
        load_nwb(tmp_path / "ok.nwb", series="nope")


# --------------------------------------------------------------------------------------
# the recording type, windows, splits, standardisation
# --------------------------------------------------------------------------------------

def test_recording_validation():
    with pytest.raises(ValidationError, match="2 names for 3"):
        WormRecording(np.zeros((5, 3)), 0.5, ["A", "B"])
    with pytest.raises(ValidationError, match="empty"):
        WormRecording(np.zeros((0, 3)), 0.5, [None] * 3)
    with pytest.raises(ValidationError, match="NaN"):
        WormRecording(np.array([[np.nan, 1.0], [0.0, 0.0]]), 0.5, [None, None])
    with pytest.raises(ValidationError, match="dt"):
        WormRecording(np.zeros((5, 1)), 0.0, [None])
    with pytest.raises(ValidationError, match="twice"):
        WormRecording(np.zeros((5, 2)), 0.5, ["VB01", "VB1"])
    with pytest.raises(ValidationError, match="frames"):
        WormRecording(np.zeros((5, 1)), 0.5, [None], behaviour={"velocity": np.zeros(4)})
    r = WormRecording(np.zeros((5, 2)), 0.5, ["VB01", None])
    assert r.index("VB1") == 0 and r.index("VB01") == 0
    with pytest.raises(UnknownNameError):
        r.index("AVAL")


def test_windows_never_cross_segments():
    T, W, H = 200, 6, 10
    tr = np.arange(T, dtype=float)[:, None] * np.ones((1, 3))
    segs = chronological_segments(T, (0.7, 0.1, 0.2), gap=W)
    assert segs[0][0] == 0 and segs[-1][1] == T
    assert all(b2 - a2 >= 0 and a2 - b1 == W for (a1, b1), (a2, b2) in zip(segs, segs[1:]))
    used = []
    for seg in segs:
        w = make_windows(tr, W, H, seg, labels=np.arange(T) % 2, velocity=np.arange(T) * 1.0)
        assert len(w) == seg[1] - seg[0] - W - H + 1
        frames = np.concatenate([w.x[:, :, 0].ravel(), w.y[:, :, 0].ravel()])
        assert frames.min() >= seg[0] and frames.max() < seg[1]
        # targets are the frames right after the window; labels at the last input frame
        np.testing.assert_array_equal(w.y[:, 0, 0], w.x[:, -1, 0] + 1)
        np.testing.assert_array_equal(w.velocity, w.x[:, -1, 0])
        np.testing.assert_array_equal(w.labels, (w.start + W - 1) % 2)
        used.append(set(frames.astype(int).tolist()))
    assert not (used[0] & used[1]) and not (used[1] & used[2]) and not (used[0] & used[2])
    with pytest.raises(ValidationError):
        make_windows(tr, 0, 1)
    assert len(make_windows(tr, W, H, (0, W + H - 1))) == 0


def test_standardise_uses_training_frames_only():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(100, 4))
    x[80:] += 50.0  # a shift in the test part must not leak into the statistics
    z, mean, sd = standardise(x, [(0, 60)])
    np.testing.assert_allclose(z[:60].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z[:60].std(0, ddof=1), 1, atol=1e-5)
    np.testing.assert_allclose(mean, x[:60].mean(0))
    assert z[80:].mean() > 10
    z2, _, _ = standardise(x, slice(0, 60))
    np.testing.assert_allclose(z, z2)
    with pytest.raises(ValidationError):
        standardise(x, slice(0, 1))


def test_resample_to_another_frame_interval():
    t = np.arange(0, 60, 0.737)
    x = np.stack([np.sin(t), np.cos(0.5 * t)], axis=1)
    rev = (np.sin(0.2 * t) > 0).astype(int)
    rec = WormRecording(x, 0.737, ["AVAL", None], {"velocity": np.cos(t), "reversal_vec": rev}, labels=rev, name="w")
    r = resample(rec, 0.6)
    tn = np.arange(r.n_frames) * 0.6
    assert r.dt == 0.6 and tn[-1] <= t[-1] < tn[-1] + 0.6 and r.meta["resampled_from_dt"] == 0.737
    # linear interpolation: exact at shared time points, close to the smooth signal elsewhere
    np.testing.assert_allclose(r.traces[:, 0], np.sin(tn), atol=0.07)
    np.testing.assert_allclose(r.behaviour["velocity"], np.cos(tn), atol=0.07)
    # labels and integer channels take the nearest frame (never a fraction)
    nearest = np.round(tn / 0.737).astype(int)
    np.testing.assert_array_equal(r.labels, rev[nearest])
    np.testing.assert_array_equal(r.behaviour["reversal_vec"], rev[nearest])
    assert r.names == ["AVAL", None] and r.label_names == rec.label_names
    assert resample(rec, 0.74) is rec  # within 1 %: unchanged, no interpolation error
    with pytest.raises(ValidationError, match="dt"):
        resample(rec, 0.0)


def test_seconds_to_frames():
    assert seconds_to_frames(3.6, 0.6) == 6 and seconds_to_frames(6.0, 0.6003) == 10
    with pytest.raises(ValidationError, match="window_s"):
        seconds_to_frames(3.6, 0.737, what="window_s")  # 4.88 frames: resample instead
    with pytest.raises(ValidationError, match="positive"):
        seconds_to_frames(-1.0, 0.6)
