"""Whole-brain C. elegans recordings: one type, three loaders, windowing and name alignment.

A :class:`WormRecording` holds one worm's activity (``traces``, frames x neurons), the
frame interval ``dt`` in seconds, one name per neuron (canonical connectome spelling, or
``None`` for an unnamed trace), per-frame behaviour channels and optional per-frame
integer labels (``label_names[k]`` names label ``k``).

Loaders:

- :func:`load_flavell` / :func:`flavell_recordings`: the Flavell-lab HDF5 files of Dag et
  al., Cell 2023 (``YYYY-MM-DD-NN-data.h5`` with ``YYYY-MM-DD-NN-neuron-ids.csv``).
- :func:`load_kato_mat`: the MATLAB v7.3 files of Kato et al., Cell 2015
  (``WT_NoStim.mat``, ``WT_Stim.mat``, ``AVA_HisCl.mat``: HDF5 with object references).
- :func:`load_nwb`: Neurodata Without Borders files (``pynwb``), as published on DANDI.

Windowing (:func:`chronological_segments`, :func:`make_windows`) cuts a recording into
(input window, horizon) samples that never cross a segment boundary, and
:func:`standardise` z-scores each neuron on training frames only, and :func:`resample`
puts a recording on a regular grid of another frame interval (recordings differ: 0.6 s
and 0.737 s in the Flavell release). Name alignment: :func:`shared_names`,
:func:`align_to_names` (the connectome over a name list is
:func:`neurocircuits.circuit.connectome_adjacency`). The train/validation/test protocols
built from these pieces are in :mod:`neurocircuits.data.worm_protocols`.

Name conventions: names go through :func:`~neurocircuits.base.names.normalise_name`
(``VB01`` -> ``VB1``). A label marked uncertain (``?`` in NeuroPAL, several candidates in
Kato) is kept in ``meta["raw_labels"]`` but the neuron counts as unnamed. If one certain
name occurs twice in a worm, the trace with the higher confidence keeps it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurocircuits.base.names import normalise_name
from neurocircuits.errors import (
    CorruptDataError, DataNotFoundError, MissingDependencyError, UnknownNameError, ValidationError,
)

FLAVELL_DIR = "celegans-flavell2023"
#: the seven recordings shipped in the shared data folder (the first has no neuron names)
FLAVELL_IDS = ("2022-05-02-01", "2022-07-26-31", "2022-07-26-38", "2022-07-27-31",
               "2022-07-27-38", "2022-07-27-45", "2022-08-02-31")
_FLAVELL_BEHAVIOUR = ("velocity", "reversal_vec", "angular_velocity", "head_angle", "nose_angle",
                      "nose_curling", "pumping", "worm_curvature")


@dataclass
class WormRecording:
    """One worm's whole-brain activity with behaviour.

    Attributes:
        traces: (T, N) float32 activity.
        dt: seconds between frames.
        names: N canonical neuron names, ``None`` for unnamed traces.
        behaviour: channel name -> (T,) float array (e.g. ``velocity``, ``reversal_vec``).
        labels: (T,) int64 behavioural state per frame, or ``None``.
        label_names: name of each label value (``labels == k`` means ``label_names[k]``).
        name: identifier of the recording.
        meta: provenance (source file, raw labels, ...).

    Example:
        >>> import numpy as np
        >>> rec = WormRecording(np.zeros((5, 2)), 0.5, ["AVAL", None])
        >>> rec.n_frames, rec.n_neurons, rec.named
        (5, 2, {'AVAL': 0})
    """

    traces: np.ndarray
    dt: float
    names: list[str | None]
    behaviour: dict[str, np.ndarray] = field(default_factory=dict)
    labels: np.ndarray | None = None
    label_names: tuple[str, ...] = ()
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        tr = np.asarray(self.traces)
        if tr.ndim != 2:
            raise ValidationError(f"{self._who}traces must be 2-D (frames, neurons), got shape {tr.shape}")
        if tr.shape[0] < 2 or tr.shape[1] < 1:
            raise ValidationError(f"{self._who}empty recording: traces have shape {tr.shape}")
        if not np.issubdtype(tr.dtype, np.number):
            raise ValidationError(f"{self._who}traces must be numeric, got dtype {tr.dtype}")
        if not np.isfinite(tr).all():
            raise ValidationError(f"{self._who}traces hold {int((~np.isfinite(tr)).sum())} NaN or infinite value(s)")
        self.traces = tr.astype(np.float32, copy=False)
        if not (np.isfinite(self.dt) and self.dt > 0):
            raise ValidationError(f"{self._who}dt must be a positive number of seconds, got {self.dt}")
        self.dt = float(self.dt)
        T, N = tr.shape
        self.names = [None if n is None else normalise_name(n) for n in self.names]
        if len(self.names) != N:
            raise ValidationError(f"{self._who}{len(self.names)} names for {N} traces")
        named = [n for n in self.names if n is not None]
        if len(set(named)) != len(named):
            dup = sorted({n for n in named if named.count(n) > 1})
            raise ValidationError(f"{self._who}neuron name(s) used twice: {', '.join(dup)}")
        beh = {}
        for k, v in self.behaviour.items():
            a = np.asarray(v, dtype=np.float64)
            if a.shape[0] != T:
                raise ValidationError(f"{self._who}behaviour {k!r} has {a.shape[0]} frames, traces have {T}")
            beh[k] = a
        self.behaviour = beh
        if self.labels is not None:
            lab = np.asarray(self.labels)
            if lab.shape != (T,):
                raise ValidationError(f"{self._who}labels must have shape ({T},), got {lab.shape}")
            if lab.size and (lab.min() < 0 or (self.label_names and lab.max() >= len(self.label_names))):
                raise ValidationError(f"{self._who}labels must lie in 0..{len(self.label_names) - 1}, "
                                      f"got {lab.min()}..{lab.max()}")
            self.labels = lab.astype(np.int64)
        self.label_names = tuple(self.label_names)

    @property
    def _who(self) -> str:
        return f"{self.name}: " if getattr(self, "name", "") else ""

    @property
    def n_frames(self) -> int:
        return int(self.traces.shape[0])

    @property
    def n_neurons(self) -> int:
        return int(self.traces.shape[1])

    @property
    def named(self) -> dict[str, int]:
        """Name -> trace column, for the named neurons."""
        return {n: i for i, n in enumerate(self.names) if n is not None}

    def index(self, name: str) -> int:
        """Trace column of a neuron name (normalised: ``VB01`` finds ``VB1``)."""
        named = self.named
        key = normalise_name(name)
        if key not in named:
            raise UnknownNameError("neuron", name, named, hint=f"in recording {self.name!r}")
        return named[key]

    def time(self) -> np.ndarray:
        """Frame times in seconds from the first frame."""
        return np.arange(self.n_frames) * self.dt


# --------------------------------------------------------------------------------------
# Flavell lab, Dag et al. 2023
# --------------------------------------------------------------------------------------

def flavell_dir(root: str | Path | None = None) -> Path:
    """Folder of the Flavell 2023 files: ``root`` or ``<shared data>/celegans-flavell2023``."""
    from neurocircuits.data.paths import shared_data_dir

    folder = Path(root) if root is not None else Path(str(shared_data_dir())) / FLAVELL_DIR
    if not folder.is_dir():
        raise DataNotFoundError(f"no Flavell 2023 data folder at {folder}")
    return folder


def load_flavell(path_or_id: str | Path, root: str | Path | None = None, *,
                 signal: str = "trace_array", names_csv: str | Path | None = None) -> WormRecording:
    """Load one Flavell-lab recording (Dag et al., Cell 2023).

    Args:
        path_or_id: a ``...-data.h5`` file, or a recording id such as ``"2022-07-26-31"``
            looked up in ``root`` (default: the shared data folder).
        signal: which ``gcamp/`` array to read: ``trace_array`` (z-scored, default),
            ``trace_array_original`` or ``traces_array_F_F20``.
        names_csv: neuron-ID CSV (``trace_index,neuron_class,confidence``); default the
            ``<id>-neuron-ids.csv`` beside the file if present (else all traces unnamed).

    ``dt`` is the median difference of ``timing/timestamp_confocal``; labels are
    ``behavior/reversal_vec`` (``label_names = ("forward", "reversal")``).

    Example:
        >>> rec = load_flavell("2022-07-26-31")           # doctest: +SKIP
        >>> rec.traces.shape, round(rec.dt, 2)            # doctest: +SKIP
        ((800, 146), 0.6)
    """
    p = Path(path_or_id)
    if not p.suffix:
        p = flavell_dir(root) / f"{path_or_id}-data.h5"
    if not p.exists():
        known = [f.name[:-8] for f in p.parent.glob("*-data.h5")] if p.parent.is_dir() else []
        if known and not Path(path_or_id).suffix:
            raise UnknownNameError("Flavell recording", str(path_or_id), known)
        raise DataNotFoundError(f"no such Flavell recording file: {p}")
    rec_id = p.name[:-8] if p.name.endswith("-data.h5") else p.stem
    from neurocircuits.base.hdf5 import open_hdf5

    with open_hdf5(p, "Flavell recording file") as fh:
        key = f"gcamp/{signal}"
        for need in (key, "timing/timestamp_confocal", "behavior/reversal_vec", "behavior/velocity"):
            if need not in fh:
                raise CorruptDataError(f"{p}: missing dataset {need!r} (is this a Flavell-lab data file?)")
        traces = np.asarray(fh[key][()], dtype=np.float64)
        if traces.ndim != 2 or traces.size == 0:
            raise CorruptDataError(f"{p}: {key} should be a non-empty (T, N) array, got shape {traces.shape}")
        T = traces.shape[0]
        ts = np.asarray(fh["timing/timestamp_confocal"][()], dtype=np.float64).ravel()
        if ts.shape[0] > T and "gcamp/idx_splits" in fh:
            # the clock can cover more frames than were traced (2022-05-02-01: 1600 vs 1137);
            # idx_splits holds the traced 1-based [start; end] frame ranges
            sp = np.asarray(fh["gcamp/idx_splits"][()], dtype=np.int64).reshape(2, -1)
            frames = np.concatenate([np.arange(a - 1, b) for a, b in sp.T])
            if frames.shape[0] == T and frames.min() >= 0 and frames.max() < ts.shape[0]:
                ts = ts[frames]
        if ts.shape[0] != T:
            raise CorruptDataError(f"{p}: {ts.shape[0]} timestamps for {T} frames")
        d = np.diff(ts)
        if d.size == 0 or not np.all(np.isfinite(d)) or np.any(d <= 0):
            raise CorruptDataError(f"{p}: timing/timestamp_confocal is not strictly increasing")
        beh = {}
        for k in _FLAVELL_BEHAVIOUR:
            if f"behavior/{k}" in fh:
                v = np.asarray(fh[f"behavior/{k}"][()], dtype=np.float64)
                if v.shape != (T,):
                    raise CorruptDataError(f"{p}: behavior/{k} has shape {v.shape}, expected ({T},)")
                beh[k] = v
    if not np.isfinite(traces).all():
        raise CorruptDataError(f"{p}: {key} holds {int((~np.isfinite(traces)).sum())} NaN or infinite value(s)")
    rev = beh["reversal_vec"]
    if not np.isin(rev, (0, 1)).all():
        raise CorruptDataError(f"{p}: behavior/reversal_vec must hold only 0 and 1")
    csv_path = Path(names_csv) if names_csv is not None else p.with_name(f"{rec_id}-neuron-ids.csv")
    names: list[str | None] = [None] * traces.shape[1]
    raw: dict[int, tuple[str, float]] = {}
    if names_csv is not None and not csv_path.exists():
        raise DataNotFoundError(f"no such neuron-ID file: {csv_path}")
    if csv_path.exists():
        names, raw = _read_neuron_ids(csv_path, traces.shape[1])
    return WormRecording(traces, float(np.median(d)), names, beh, labels=rev.astype(np.int64),
                         label_names=("forward", "reversal"), name=rec_id,
                         meta={"source": str(p), "signal": signal, "names_file": str(csv_path) if raw else None,
                               "raw_labels": {int(k): v[0] for k, v in raw.items()},
                               "citation": "Dag, Nwabudike, Kang et al., Cell 186 (2023), doi 10.1016/j.cell.2023.04.023"})


def _read_neuron_ids(path: Path, n_traces: int) -> tuple[list[str | None], dict[int, tuple[str, float]]]:
    """Parse a NeuroPAL neuron-ID CSV; uncertain labels (``?``) leave the trace unnamed."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or ())
        if not {"trace_index", "neuron_class", "confidence"} <= cols:
            raise CorruptDataError(f"{path}: expected columns trace_index,neuron_class,confidence; got {sorted(cols)}")
        rows = list(reader)
    raw: dict[int, tuple[str, float]] = {}
    for line, r in enumerate(rows, start=2):
        try:
            idx, conf = int(r["trace_index"]), float(r["confidence"])
        except (TypeError, ValueError) as e:
            raise CorruptDataError(f"{path}, line {line}: bad trace_index/confidence {r}") from e
        label = (r["neuron_class"] or "").strip()
        if not 0 <= idx < n_traces:
            raise CorruptDataError(f"{path}, line {line}: trace_index {idx} outside 0..{n_traces - 1} "
                                   "(CSV does not match this recording)")
        if not label:
            raise CorruptDataError(f"{path}, line {line}: empty neuron_class")
        if idx in raw:
            raise CorruptDataError(f"{path}, line {line}: trace_index {idx} listed twice")
        raw[idx] = (label, conf)
    names: list[str | None] = [None] * n_traces
    best: dict[str, tuple[float, int]] = {}
    for idx, (label, conf) in raw.items():
        if "?" in label:
            continue
        nm = normalise_name(label)
        if nm not in best or conf > best[nm][0]:
            best[nm] = (conf, idx)
    for nm, (_, idx) in best.items():
        names[idx] = nm
    return names, raw


def flavell_recordings(root: str | Path | None = None, named_only: bool = False) -> list[WormRecording]:
    """All Flavell recordings in ``root`` (default: the seven shipped in the shared folder).

    ``named_only`` drops recordings without a neuron-ID file (2022-05-02-01).
    """
    folder = flavell_dir(root)
    files = sorted(folder.glob("*-data.h5"))
    if not files:
        raise DataNotFoundError(f"no *-data.h5 files in {folder}")
    recs = [load_flavell(f) for f in files]
    return [r for r in recs if not named_only or r.named]


# --------------------------------------------------------------------------------------
# Kato et al. 2015, MATLAB v7.3
# --------------------------------------------------------------------------------------

def load_kato_mat(path: str | Path, *, signal: str = "traces") -> list[WormRecording]:
    """Load every worm of a Kato et al. 2015 MATLAB v7.3 file (``WT_NoStim.mat`` etc.).

    The file is HDF5: one top-level group (named after the file) whose fields each hold
    one object reference per worm. ``traces[w]`` reads as (neurons, T); ``IDs[w]`` holds
    per ROI either 0 (unnamed) or a cell of candidate names (only a single candidate
    names the neuron); ``States[w]`` holds state codes 1..K named by ``States_key``;
    time comes from ``timeVectorSeconds`` (``timVectorSeconds`` in WT_NoStim) or ``fps``.

    Example:
        >>> worms = load_kato_mat("WT_NoStim.mat")        # doctest: +SKIP
        >>> len(worms), worms[0].label_names[:2]          # doctest: +SKIP
        (5, ('FWD', 'SLOW'))
    """
    # Read with h5py rather than pymatreader: pymatreader (1.3) squeezes one-element cells, so a
    # one-worm file, or an ROI with one candidate name, loses its list level and the structure
    # becomes ambiguous; it also refuses files without the 128-byte MATLAB header. This reader
    # keeps every cell level exactly. (pymatreader was about 1.7x faster on a synthetic 5-worm,
    # 3000-frame file in this layout; both read the traces identically.)
    import h5py

    from neurocircuits.base.hdf5 import open_hdf5

    p = Path(path)
    with open_hdf5(p, "Kato MATLAB v7.3 file", hint="re-save it with `save -v7.3`") as fh:
        groups = [k for k in fh.keys() if not k.startswith("#") and isinstance(fh[k], h5py.Group)]
        if len(groups) != 1:
            raise CorruptDataError(f"{p}: expected one top-level struct group, found {groups or 'none'}")
        g = fh[groups[0]]
        if signal not in g:
            raise CorruptDataError(f"{p}: struct {groups[0]!r} has no field {signal!r} (fields: {sorted(g.keys())})")
        traces = _mat_decode(fh, g[signal])
        if not isinstance(traces, list) or not traces:
            raise CorruptDataError(f"{p}: field {signal!r} should hold one reference per worm")
        n = len(traces)
        fields = {}
        for k in ("IDs", "States", "timeVectorSeconds", "timVectorSeconds", "fps", "dataset"):
            if k in g:
                v = _mat_decode(fh, g[k])
                if not isinstance(v, list) or len(v) != n:
                    raise CorruptDataError(f"{p}: field {k!r} has {len(v) if isinstance(v, list) else 1} "
                                           f"entries for {n} worms")
                fields[k] = v
        key = _mat_decode(fh, g["States_key"]) if "States_key" in g else None
    recs = []
    for w in range(n):
        tr = np.asarray(traces[w], dtype=np.float64)
        if tr.ndim != 2 or tr.size == 0:
            raise CorruptDataError(f"{p}: {signal}[{w}] should be a (neurons, T) matrix, got shape {tr.shape}")
        tr = tr.T  # MATLAB stores T x N column-major: h5py reads (N, T)
        T, N = tr.shape
        tvec = fields.get("timeVectorSeconds", fields.get("timVectorSeconds"))
        if tvec is not None:
            t = np.asarray(tvec[w], dtype=np.float64).ravel()
            if t.shape[0] != T:
                raise CorruptDataError(f"{p}: worm {w}: {t.shape[0]} time points for {T} frames")
            d = np.diff(t)
            if np.any(~np.isfinite(d)) or np.any(d <= 0):
                raise CorruptDataError(f"{p}: worm {w}: time vector is not strictly increasing")
            dt = float(np.median(d))
        elif "fps" in fields:
            dt = 1.0 / float(np.asarray(fields["fps"][w]).ravel()[0])
        else:
            raise CorruptDataError(f"{p}: no timeVectorSeconds/timVectorSeconds or fps field")
        names: list[str | None] = [None] * N
        raw: dict[int, str] = {}
        if "IDs" in fields:
            ids = fields["IDs"][w]
            ids = ids if isinstance(ids, list) else [ids]
            if len(ids) != N:
                raise CorruptDataError(f"{p}: worm {w}: {len(ids)} IDs for {N} traces")
            names, raw = _kato_names(ids)
        labels, label_names = None, ()
        if "States" in fields:
            codes = np.asarray(fields["States"][w], dtype=np.float64).ravel()
            if codes.shape[0] != T:
                raise CorruptDataError(f"{p}: worm {w}: {codes.shape[0]} states for {T} frames")
            wkey = key[w] if isinstance(key, list) and key and isinstance(key[0], list) else key
            if not isinstance(wkey, list) or not all(isinstance(s, str) for s in wkey):
                raise CorruptDataError(f"{p}: States_key should be a cell array of state names")
            if np.any(codes != np.round(codes)) or codes.min() < 1 or codes.max() > len(wkey):
                raise CorruptDataError(f"{p}: worm {w}: state codes must be integers in 1..{len(wkey)}")
            labels, label_names = codes.astype(np.int64) - 1, tuple(wkey)
        recs.append(WormRecording(tr, dt, names, labels=labels, label_names=label_names,
                                  name=f"{p.stem}[{w}]", meta={"source": str(p), "worm": w, "raw_labels": raw}))
    return recs


def _kato_names(ids: list[Any]) -> tuple[list[str | None], dict[int, str]]:
    names: list[str | None] = [None] * len(ids)
    raw: dict[int, str] = {}
    for i, entry in enumerate(ids):
        cands: list[str] = []
        for s in entry if isinstance(entry, list) else [entry]:
            if isinstance(s, str):
                cands += [c for c in re.split(r"[,\s/]+", s) if c]
        if cands:
            raw[i] = ", ".join(cands)
        uniq = sorted({normalise_name(c) for c in cands})
        if len(uniq) == 1 and "?" not in uniq[0]:
            names[i] = uniq[0]
    seen: dict[str, int] = {}
    for i, n in enumerate(names):  # a name claimed by two ROIs identifies neither
        if n is not None:
            if n in seen:
                names[seen[n]] = None
                names[i] = None
            else:
                seen[n] = i
    return names, raw


def _mat_decode(fh: Any, obj: Any) -> Any:
    """A MATLAB v7.3 value: cells -> lists, char -> str, numeric -> array, struct -> dict."""
    import h5py

    if isinstance(obj, h5py.Group):
        return {k: _mat_decode(fh, obj[k]) for k in obj.keys()}
    cls = obj.attrs.get("MATLAB_class", b"")
    cls = cls.decode() if isinstance(cls, bytes) else str(cls)
    if obj.attrs.get("MATLAB_empty", 0):
        return "" if cls == "char" else np.zeros(0)
    data = obj[()]
    if h5py.check_dtype(ref=obj.dtype) is not None or (hasattr(data, "dtype") and data.dtype == object):
        out = []
        for r in np.asarray(data).T.ravel():  # MATLAB column-major order
            if not r:
                raise CorruptDataError(f"{obj.name}: null object reference")
            try:
                target = fh[r]
            except (KeyError, ValueError) as e:
                raise CorruptDataError(f"{obj.name}: dangling object reference") from e
            out.append(_mat_decode(fh, target))
        return out
    if cls == "char":
        return "".join(chr(int(c)) for c in np.asarray(data).T.ravel() if int(c) != 0)
    return np.asarray(data)


# --------------------------------------------------------------------------------------
# NWB
# --------------------------------------------------------------------------------------

_NAME_COLUMNS = ("neuron_name", "neuron_names", "ID", "IDs", "name", "label", "neuron_id")


def load_nwb(path: str | Path, *, series: str | None = None, name_column: str | None = None,
             label_series: str | None = "reversal_vec") -> WormRecording:
    """Load a whole-brain recording from an NWB file (``pynwb``).

    Activity is the ``RoiResponseSeries`` called ``series`` (default: the first one found
    in the ``ophys`` processing module, under DfOverF or Fluorescence), read as (T, N).
    Neuron names come from a string column of its ROI table (``name_column``, default the
    first of ``neuron_name``, ``ID``, ``name``, ``label``...; empty strings are unnamed).
    Every 1-D ``TimeSeries`` of length T in the ``behavior`` module becomes a behaviour
    channel; ``label_series`` (if present) gives integer labels. ``dt`` comes from the
    timestamps if stored, else from the sampling rate.

    Example:
        >>> rec = load_nwb("sub-01_ophys.nwb")           # doctest: +SKIP
    """
    try:
        import pynwb
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("pynwb", "load_nwb", "pip install 'neurocircuits[worms]'") from e
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"no such NWB file: {p}")
    try:
        io = pynwb.NWBHDF5IO(str(p), "r")
        nwb = io.read()
    except Exception as e:  # pynwb raises many types for a bad file
        raise CorruptDataError(f"{p}: not a readable NWB file ({type(e).__name__}: {e})") from e
    try:
        rrs = _find_roi_series(nwb, series, p)
        data = np.asarray(rrs.data[()], dtype=np.float64)
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2 or data.shape[0] < 2 or data.shape[1] < 1:
            raise CorruptDataError(f"{p}: series {rrs.name!r} should be a (T, N) array, got shape {data.shape}")
        T, N = data.shape
        dt = _series_dt(rrs, T, p)
        names: list[str | None] = [None] * N
        table = rrs.rois.table
        cols = [c for c in ((name_column,) if name_column else _NAME_COLUMNS) if c in table.colnames]
        if name_column and not cols:
            raise UnknownNameError("ROI table column", name_column, table.colnames)
        if cols:
            rows = np.asarray(rrs.rois.data[()]).ravel()
            col = list(table[cols[0]].data[()])
            if len(rows) != N:
                raise CorruptDataError(f"{p}: {len(rows)} ROIs for {N} traces in {rrs.name!r}")
            cand = [col[int(r)] for r in rows]
            cand = [c.decode() if isinstance(c, bytes) else str(c) for c in cand]
            names, _ = _kato_names([c if c.strip() else 0 for c in cand])
        beh: dict[str, np.ndarray] = {}
        labels = None
        if "behavior" in nwb.processing:
            for iface in nwb.processing["behavior"].data_interfaces.values():
                ts_list = getattr(iface, "time_series", None)
                items = ts_list.values() if ts_list is not None else [iface]
                for ts in items:
                    if not isinstance(ts, pynwb.TimeSeries):
                        continue
                    v = np.asarray(ts.data[()])
                    if v.ndim == 1 and v.shape[0] == T:
                        beh[ts.name] = v.astype(np.float64)
        label_names: tuple[str, ...] = ()
        if label_series and label_series in beh:
            lab = beh[label_series]
            if np.any(lab != np.round(lab)) or lab.min() < 0:
                raise CorruptDataError(f"{p}: label series {label_series!r} must hold non-negative integers")
            labels = lab.astype(np.int64)
            label_names = ("forward", "reversal") if label_series == "reversal_vec" else ()
    finally:
        io.close()
    if not np.isfinite(data).all():
        raise CorruptDataError(f"{p}: series {rrs.name!r} holds NaN or infinite values")
    return WormRecording(data, dt, names, beh, labels=labels, label_names=label_names, name=p.stem,
                         meta={"source": str(p), "series": rrs.name})


def _find_roi_series(nwb: Any, series: str | None, p: Path) -> Any:
    from pynwb.ophys import RoiResponseSeries

    found: dict[str, Any] = {}
    for mod in nwb.processing.values():
        for iface in mod.data_interfaces.values():
            members = getattr(iface, "roi_response_series", None)
            for s in (members.values() if members is not None else [iface]):
                if isinstance(s, RoiResponseSeries):
                    found.setdefault(s.name, s)
    for s in nwb.acquisition.values():
        if isinstance(s, RoiResponseSeries):
            found.setdefault(s.name, s)
    if not found:
        raise CorruptDataError(f"{p}: no RoiResponseSeries (calcium traces) in this NWB file")
    if series is None:
        return next(iter(found.values()))
    if series not in found:
        raise UnknownNameError("RoiResponseSeries", series, found)
    return found[series]


def _series_dt(s: Any, T: int, p: Path) -> float:
    if s.timestamps is not None:
        t = np.asarray(s.timestamps[()], dtype=np.float64)
        if t.shape[0] != T:
            raise CorruptDataError(f"{p}: {t.shape[0]} timestamps for {T} frames in {s.name!r}")
        d = np.diff(t)
        if np.any(~np.isfinite(d)) or np.any(d <= 0):
            raise CorruptDataError(f"{p}: timestamps of {s.name!r} are not strictly increasing")
        return float(np.median(d))
    if s.rate:
        return 1.0 / float(s.rate)
    raise CorruptDataError(f"{p}: series {s.name!r} has neither timestamps nor a rate")


# --------------------------------------------------------------------------------------
# Windowing, splits, standardisation
# --------------------------------------------------------------------------------------

def chronological_segments(n_frames: int, fractions: Sequence[float] = (0.7, 0.1, 0.2),
                           gap: int = 0) -> list[tuple[int, int]]:
    """Consecutive ``[start, stop)`` frame ranges with ``gap`` dropped frames between them.

    Example:
        >>> chronological_segments(100, (0.7, 0.1, 0.2), gap=5)
        [(0, 63), (68, 77), (82, 100)]
    """
    fr = np.asarray(fractions, dtype=float)
    if fr.ndim != 1 or fr.size == 0 or np.any(fr <= 0):
        raise ValidationError(f"fractions must be positive, got {list(fractions)}")
    if gap < 0:
        raise ValidationError(f"gap must be >= 0, got {gap}")
    usable = n_frames - gap * (fr.size - 1)
    if usable < fr.size:
        raise ValidationError(f"{n_frames} frames cannot hold {fr.size} segments with gap {gap}")
    sizes = np.floor(usable * fr / fr.sum() + 1e-9).astype(int)
    sizes[-1] = usable - sizes[:-1].sum()
    out, s = [], 0
    for k in sizes:
        out.append((s, s + int(k)))
        s += int(k) + gap
    return out


@dataclass
class Windows:
    """(input window, horizon) samples cut from recordings.

    Attributes:
        x: (n, W, N) inputs; y: (n, H, N) the H frames after each window.
        labels: (n,) label at the last input frame (-1 when the recording has none).
        velocity: (n,) velocity at the last input frame (NaN when absent).
        worm: (n,) index of the source recording; start: (n,) first frame of each window.
    """

    x: np.ndarray
    y: np.ndarray
    labels: np.ndarray
    velocity: np.ndarray
    worm: np.ndarray
    start: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @staticmethod
    def concat(parts: Sequence["Windows"]) -> "Windows":
        parts = [p for p in parts if len(p)]
        if not parts:
            raise ValidationError("no windows to concatenate (segments too short for window + horizon?)")
        return Windows(*(np.concatenate([getattr(p, f) for p in parts])
                         for f in ("x", "y", "labels", "velocity", "worm", "start")))

    def select(self, mask: np.ndarray) -> "Windows":
        return Windows(self.x[mask], self.y[mask], self.labels[mask], self.velocity[mask],
                       self.worm[mask], self.start[mask])


def make_windows(traces: np.ndarray, window: int, horizon: int = 1, segment: tuple[int, int] | None = None,
                 labels: np.ndarray | None = None, velocity: np.ndarray | None = None,
                 worm: int = 0, stride: int = 1) -> Windows:
    """All windows ``traces[s:s+W]`` with targets ``traces[s+W:s+W+H]`` inside ``segment``.

    No window or target frame leaves ``[start, stop)``, so samples from different
    segments never share a frame.

    Example:
        >>> w = make_windows(np.arange(20.0)[:, None], window=3, horizon=2, segment=(0, 10))
        >>> len(w), w.x[0, :, 0].tolist(), w.y[-1, :, 0].tolist()
        (6, [0.0, 1.0, 2.0], [8.0, 9.0])
    """
    tr = np.asarray(traces, dtype=np.float32)
    if tr.ndim != 2:
        raise ValidationError(f"traces must be (T, N), got shape {tr.shape}")
    if window < 1 or horizon < 1 or stride < 1:
        raise ValidationError(f"window, horizon and stride must be >= 1, got {window}, {horizon}, {stride}")
    T = tr.shape[0]
    start, stop = segment if segment is not None else (0, T)
    if not 0 <= start <= stop <= T:
        raise ValidationError(f"segment {segment} outside 0..{T}")
    starts = np.arange(start, stop - window - horizon + 1, stride)
    idx = starts[:, None] + np.arange(window + horizon)[None, :]
    seq = tr[idx] if starts.size else np.zeros((0, window + horizon, tr.shape[1]), np.float32)
    last = starts + window - 1
    lab = np.full(starts.shape, -1, np.int64) if labels is None else np.asarray(labels, np.int64)[last]
    vel = np.full(starts.shape, np.nan, np.float32) if velocity is None else np.asarray(velocity, np.float32)[last]
    return Windows(seq[:, :window], seq[:, window:], lab, vel, np.full(starts.shape, worm, np.int64), starts)


def standardise(traces: np.ndarray, train_frames: np.ndarray | slice | Sequence[tuple[int, int]],
                eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-score each column with the mean and sd of the training frames only.

    ``train_frames`` is a slice, a frame index/mask array, or a list of ``[start, stop)``
    segments. Returns ``(z, mean, sd)``; columns constant in training get sd 1.

    Example:
        >>> z, m, s = standardise(np.array([[0.0], [1.0], [2.0], [100.0]]), slice(0, 3))
        >>> z.ravel().tolist(), m.tolist()
        ([-1.0, 0.0, 1.0, 99.0], [1.0])
    """
    tr = np.asarray(traces, dtype=np.float64)
    sel: Any
    if isinstance(train_frames, list) and train_frames and isinstance(train_frames[0], tuple):
        sel = np.concatenate([np.arange(a, b) for a, b in train_frames])
    else:
        sel = train_frames  # type: ignore[assignment]
    fit = tr[sel]
    if fit.shape[0] < 2:
        raise ValidationError(f"need at least 2 training frames to standardise, got {fit.shape[0]}")
    mean, sd = fit.mean(0), fit.std(0, ddof=1)
    sd = np.where(sd > eps, sd, 1.0)
    return ((tr - mean) / sd).astype(np.float32), mean, sd


def seconds_to_frames(seconds: float, dt: float, *, what: str = "duration", tol: float = 0.02) -> int:
    """The whole number of frames of interval ``dt`` that spans ``seconds``.

    Raises :class:`~neurocircuits.errors.ValidationError` (naming ``what``) if fewer than
    one frame fits, or if the nearest whole number of frames misses ``seconds`` by more
    than the fraction ``tol`` (resample the recording to a matching ``dt`` instead).

    Example:
        >>> seconds_to_frames(3.6, 0.6), seconds_to_frames(3.0, 0.6)
        (6, 5)
    """
    if not (np.isfinite(seconds) and seconds > 0):
        raise ValidationError(f"{what} must be a positive number of seconds, got {seconds}")
    if not (np.isfinite(dt) and dt > 0):
        raise ValidationError(f"dt must be a positive number of seconds, got {dt}")
    n = int(round(seconds / dt))
    if n < 1 or abs(n * dt - seconds) > tol * seconds:
        raise ValidationError(f"{what} of {seconds:g} s is not a whole number of {dt:g} s frames "
                              f"(nearest: {max(n, 1)} frames = {max(n, 1) * dt:g} s); resample the recordings "
                              "to a frame interval that divides it")
    return n


def resample(rec: WormRecording, dt: float, *, tol: float = 0.01) -> WormRecording:
    """``rec`` on a regular grid of frame interval ``dt`` seconds (from its first frame).

    Traces and continuous behaviour channels are interpolated linearly; labels and
    integer-valued channels (e.g. ``reversal_vec``) take the value of the nearest frame.
    A recording whose ``dt`` is already within the fraction ``tol`` of ``dt`` is returned
    unchanged (no interpolation error for recordings that match). The new recording's
    ``meta["resampled_from_dt"]`` holds the original interval.

    Example:
        >>> rec = WormRecording(np.arange(5.0)[:, None], 0.5, ["AVAL"], labels=np.array([0, 0, 1, 1, 1]))
        >>> r = resample(rec, 1.0)
        >>> r.traces[:, 0].tolist(), r.labels.tolist(), r.dt
        ([0.0, 2.0, 4.0], [0, 1, 1], 1.0)
    """
    if not (np.isfinite(dt) and dt > 0):
        raise ValidationError(f"dt must be a positive number of seconds, got {dt}")
    if abs(rec.dt - dt) <= tol * dt:
        return rec
    t_old = np.arange(rec.n_frames) * rec.dt
    t_new = np.arange(0.0, t_old[-1] + 1e-9 * dt, dt)
    if t_new.shape[0] < 2:
        raise ValidationError(f"{rec.name or 'recording'}: {rec.n_frames} frames of {rec.dt:g} s "
                              f"do not span two frames of {dt:g} s")
    nearest = np.clip(np.round(t_new / rec.dt).astype(np.int64), 0, rec.n_frames - 1)
    traces = np.stack([np.interp(t_new, t_old, rec.traces[:, j]) for j in range(rec.n_neurons)], axis=1)
    beh = {}
    for k, v in rec.behaviour.items():
        integer = bool(np.all(np.isfinite(v)) and np.all(v == np.round(v)))
        beh[k] = v[nearest] if integer else np.interp(t_new, t_old, v)
    labels = None if rec.labels is None else rec.labels[nearest]
    return WormRecording(traces, dt, list(rec.names), beh, labels=labels, label_names=rec.label_names,
                         name=rec.name, meta={**rec.meta, "resampled_from_dt": rec.dt})


# --------------------------------------------------------------------------------------
# Name alignment
# --------------------------------------------------------------------------------------

def shared_names(recordings: Iterable[WormRecording], min_worms: int | None = None) -> list[str]:
    """Neuron names present in at least ``min_worms`` recordings (default: all), sorted.

    Example:
        >>> a = WormRecording(np.zeros((3, 2)), 1.0, ["AVAL", "RIBL"])
        >>> b = WormRecording(np.zeros((3, 2)), 1.0, ["RIBL", None])
        >>> shared_names([a, b]), shared_names([a, b], min_worms=1)
        (['RIBL'], ['AVAL', 'RIBL'])
    """
    recs = list(recordings)
    if not recs:
        raise ValidationError("no recordings given")
    k = len(recs) if min_worms is None else int(min_worms)
    counts: dict[str, int] = {}
    for r in recs:
        for n in r.named:
            counts[n] = counts.get(n, 0) + 1
    return sorted(n for n, c in counts.items() if c >= k)


def align_to_names(rec: WormRecording, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Traces of ``rec`` reordered to ``names``: (T, len(names)) with zeros where absent, and the mask.

    Example:
        >>> r = WormRecording(np.array([[1.0, 2.0]] * 3), 1.0, ["RIBL", "AVAL"])
        >>> x, m = align_to_names(r, ["AVAL", "SMDVL"])
        >>> x[0].tolist(), m.tolist()
        ([2.0, 0.0], [True, False])
    """
    named = rec.named
    cols = [named.get(normalise_name(n), -1) for n in names]
    mask = np.array([c >= 0 for c in cols], dtype=bool)
    out = np.zeros((rec.n_frames, len(cols)), np.float32)
    if mask.any():
        out[:, mask] = rec.traces[:, [c for c in cols if c >= 0]]
    return out, mask
