"""C. elegans connectomes from the data files of the PyPI package ``cect`` (0.3.5).

``cect`` (C. elegans Connectome Toolbox, MIT) ships each reader's parsed output as JSON
(``cect/cache/<Reader>.json``: ``nodes`` and ``connections = {class: N x N}``, indexed
``[pre, post]``) and a table of cell types (``cect/data/all_cell_info.csv``). We read those
files directly, never importing ``cect`` (its dependencies are heavy and partly GPL). They
are read from the pinned ``cect`` wheel that ``python -m neurocircuits.data.fetch`` (run by
``make install``) keeps in ``~/.cache/neurocircuits/packages``, or else from an installed
``cect`` package. Everything works offline.

Typed data sets. ``openworm-unified`` and ``wang2024`` split the chemical synapses by the
transmitter of the presynaptic neuron, and repeat a synapse once per transmitter when the
neuron releases several (``M5 -> pm5VR``: 3 synapses, listed under acetylcholine and under
glutamate). The copies are identical, so the chemical layer is their element-wise maximum
(never their sum); ``transmitters=`` keeps only the synapses listed under some classes.

Signs. Typed data sets give each presynaptic neuron its transmitter(s) directly. For the
generic data sets (White, Varshney, Cook, Witvliet) ``signs="openworm"`` (default) takes
each neuron's transmitters from the ``openworm-unified`` data set; ``signs=None`` leaves
every sign unknown (0), typed data sets included. The sign map is a convention:
acetylcholine +1, GABA -1, glutamate +1 by default (glutamate acts on both excitatory and
inhibitory receptors in C. elegans; pass ``transmitter_signs`` to change it); transmitters
absent from the map (betaine, the monoamines) do not set a sign. A neuron whose mapped
transmitters disagree gets sign 0, and a chemical edge weight is ``sign(pre) * count``
(``count`` when the sign is 0).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neurocircuits.base.names import normalise_name
from neurocircuits.base.packaged import PACKAGES, list_members, read_member, wheel_path
from neurocircuits.circuit.core import KINDS, Circuit, SynapseKind, _kind_code
from neurocircuits.errors import DataNotFoundError, UnknownNameError, ValidationError

SignSource = Literal["openworm"]

#: name -> (cect reader, description)
CONNECTOMES: dict[str, tuple[str, str]] = {
    "white1986": ("White_whole", "White et al. 1986, hermaphrodite, whole animal"),
    "varshney2011": ("VarshneyDataReader", "Varshney et al. 2011, hermaphrodite"),
    "cook2019": ("Cook2019HermReader", "Cook et al. 2019, adult hermaphrodite (incl. muscles, end organs)"),
    "witvliet2021-7": ("WitvlietDataReader7", "Witvliet et al. 2021, adult, data set 7"),
    "witvliet2021-8": ("WitvlietDataReader8", "Witvliet et al. 2021, adult, data set 8"),
    "openworm-unified": ("OpenWormUnifiedReader", "OpenWorm unified connectome, typed by transmitter"),
    "wang2024": ("Wang2024HermReader", "Wang et al. 2024, hermaphrodite, typed by transmitter"),
}
ALIASES = {"white": "white1986", "varshney": "varshney2011", "cook": "cook2019",
           "witvliet2021": "witvliet2021-8", "witvliet": "witvliet2021-8"}
#: connectomes shown by default (the hermaphrodite anatomical data sets)
DEFAULT_CONNECTOMES = ("white1986", "varshney2011", "cook2019", "witvliet2021-7", "witvliet2021-8")

DEFAULT_TRANSMITTER_SIGNS: dict[str, int] = {"Acetylcholine": 1, "GABA": -1, "Glutamate": 1}
_GAP, _GENERIC_CHEM = "Generic_GJ", "Generic_CS"
_TRANSMITTER_SHORT = {"Acetylcholine": "ACh", "Glutamate": "Glu", "GABA": "GABA"}
#: what the numbers of each named data set mean (recorded in ``Circuit.meta``)
DATASET_NOTES: dict[str, dict[str, str]] = {
    "wang2024": {"weights": "binary: 1 marks a connection; the data set has no synapse counts",
                 "electrical": "none: the data set has no gap junctions"},
}
_DEFAULT_NOTES = {"weights": "synapse counts", "electrical": "gap junctions, symmetric"}


def _installed_cect() -> Path | None:
    spec = importlib.util.find_spec("cect")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def cect_root() -> Path:
    """Folder of an installed ``cect`` package (found without importing it)."""
    root = _installed_cect()
    if root is None:
        raise DataNotFoundError("no installed 'cect' package; the connectomes are read from the pinned "
                                "wheel instead: run `python -m neurocircuits.data.fetch`")
    return root


def cect_file(member: str) -> bytes:
    """Bytes of a ``cect`` data file (``member`` relative to the package, e.g. ``cache/White_whole.json``).

    Read from the fetched, hash-checked ``cect`` wheel if there is one, else from an
    installed ``cect`` package.
    """
    if wheel_path("cect") is not None:
        return read_member("cect", f"cect/{member}")
    root = _installed_cect()
    if root is None:
        raise DataNotFoundError(
            "the connectomes come from the data files of the PyPI package cect==0.3.5, which have not been "
            "fetched: run `python -m neurocircuits.data.fetch` (make install does this; it downloads the "
            "wheel with pip, checks its SHA-256 and installs nothing)")
    path = root / member
    if not path.is_file():
        raise DataNotFoundError(f"the installed cect has no data file {member} (cect version mismatch?)")
    return path.read_bytes()


def cect_source() -> str:
    """Where the connectome files are read from (the wheel or an installed package)."""
    wheel = wheel_path("cect")
    if wheel is not None:
        return f"wheel {wheel.name} (sha256 {PACKAGES['cect'].sha256[:12]}...)"
    root = _installed_cect()
    return f"installed package at {root}" if root is not None else "not available"


def cect_readers() -> list[str]:
    """Names of every parsed reader file ``cect`` ships (usable as ``cect:<Reader>``)."""
    members = list_members("cect", "cect/cache/")
    if members:
        return sorted(Path(m).stem for m in members if m.endswith(".json"))
    root = _installed_cect()
    return sorted(p.stem for p in (root / "cache").glob("*.json")) if root is not None else []


@lru_cache(maxsize=16)
def _read_json(reader: str) -> dict[str, Any]:
    try:
        raw = cect_file(f"cache/{reader}.json")
    except DataNotFoundError as e:
        if reader in cect_readers() or not cect_readers():
            raise
        raise UnknownNameError("cect reader", reader, cect_readers()) from e
    data: dict[str, Any] = json.loads(raw)
    return data


@lru_cache(maxsize=16)
def _read_reader(reader: str) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    data = _read_json(reader)
    nodes = tuple(data["nodes"])
    conns = {k: np.asarray(v, dtype=np.float64) for k, v in data["connections"].items()}
    for k, m in conns.items():
        if m.shape != (len(nodes), len(nodes)):
            raise ValidationError(f"{reader}.json: matrix {k} has shape {m.shape}, expected {(len(nodes),) * 2}")
        m.flags.writeable = False
    return nodes, conns


def cect_summary(reader: str) -> str:
    """cect's own summary text of a reader (nodes, and per connection class: entries and sums)."""
    return str(_read_json(reader).get("summary", ""))


@lru_cache(maxsize=1)
def cell_types() -> dict[str, tuple[str, str]]:
    """Canonical cell name -> (coarse class, WormAtlas type), from cect's cell table."""
    out = {}
    text = cect_file("data/all_cell_info.csv").decode("utf-8")
    for row in csv.DictReader(io.StringIO(text, newline="")):
        typ = row["Type"]
        out[normalise_name(row["Cell name"])] = (_coarse_class(typ), typ)
    return out


def _coarse_class(typ: str) -> str:
    t = typ.lower()
    if "muscle" in t or "spicule" in t or "oblique" in t or "gubernacular" in t:
        return "muscle"
    if "motor neuron" in t and not t.startswith("layer"):
        return "motor"
    if "interneuron" in t or "linker" in t:
        return "interneuron"
    sensory = ("sensory", "cephalic", "amphid", "touch", "phasmid", "mechanosensory", "o2,", "polymodal")
    if any(s in t for s in sensory):
        return "sensory"
    if "neuron" in t:
        return "neuron_other"
    return "other"


def _resolve(name: object) -> str:
    if not isinstance(name, str):
        raise ValidationError(f"name must be a connectome name (str), got {name!r} ({type(name).__name__}); "
                              f"known: {', '.join(CONNECTOMES)}")
    key = name.lower()
    key = ALIASES.get(key, key)
    if key in CONNECTOMES:
        return CONNECTOMES[key][0]
    if name.startswith("cect:"):
        return name[5:]
    raise UnknownNameError("connectome", name, list(CONNECTOMES) + list(ALIASES),
                           hint="or 'cect:<ReaderName>' for any parsed file cect ships")


def transmitter_classes(conns: dict[str, np.ndarray]) -> list[str]:
    """The per-transmitter chemical classes of a reader's matrices (empty for generic data sets)."""
    return [k for k in conns if k not in (_GAP, _GENERIC_CHEM)]


def merge_chemical(conns: dict[str, np.ndarray], classes: Sequence[str] | None = None) -> np.ndarray:
    """The chemical synapse counts of a reader: the element-wise maximum of its chemical classes.

    Typed readers list a synapse once under each transmitter of its presynaptic neuron (the
    copies are identical), so summing the classes would count it several times.
    """
    chem = [k for k in conns if k != _GAP] if classes is None else list(classes)
    if not chem:
        n = next(iter(conns.values())).shape[0] if conns else 0
        return np.zeros((n, n))
    return np.maximum.reduce([conns[k] for k in chem])


def _transmitters(nodes: tuple[str, ...], conns: dict[str, np.ndarray]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for k in transmitter_classes(conns):
        for i in np.flatnonzero(conns[k].sum(1) > 0):
            out.setdefault(normalise_name(nodes[i]), set()).add(k)
    return out


def _sign_of(transmitters: set[str], tsign: dict[str, int]) -> int:
    signs = {tsign[t] for t in transmitters if t in tsign and tsign[t] != 0}
    return signs.pop() if len(signs) == 1 else 0


def _kind_from_layers(layers: Sequence[str]) -> SynapseKind | None | Literal["none"]:
    warnings.warn("from_connectome(layers=...) is deprecated; use kind='chemical', 'electrical' or None (both)",
                  DeprecationWarning, stacklevel=3)
    if isinstance(layers, str):
        layers = (layers,)
    for layer in layers:
        if layer not in KINDS:
            raise UnknownNameError("synapse kind", layer, KINDS)
    got = set(layers)
    if got == set(KINDS):
        return None
    if not got:
        return "none"
    return "chemical" if "chemical" in got else "electrical"


def from_connectome(
    name: str,
    *,
    neurons_only: bool = False,
    signs: SignSource | None = "openworm",
    transmitter_signs: dict[str, int] | None = None,
    kind: SynapseKind | None = None,
    transmitters: Sequence[str] | None = None,
    layers: Sequence[str] | None = None,
) -> Circuit:
    """A C. elegans hermaphrodite connectome as a :class:`Circuit`.

    Args:
        name: one of :data:`CONNECTOMES` (``white1986``, ``varshney2011``, ``cook2019``,
            ``witvliet2021-7``, ``witvliet2021-8``, ``openworm-unified``, ``wang2024``),
            an alias (``witvliet2021`` is data set 8), or ``cect:<Reader>``.
        neurons_only: drop muscles, end organs and other non-neuronal cells.
        signs: ``"openworm"``: signs from transmitters (for untyped data sets, those of the
            OpenWorm unified data set); ``None``: every sign unknown (0), weights are counts.
        transmitter_signs: transmitter -> sign; defaults to :data:`DEFAULT_TRANSMITTER_SIGNS`.
        kind: keep only ``"chemical"`` or ``"electrical"`` synapses; ``None`` keeps both.
        transmitters: typed data sets only: keep the chemical synapses listed under these
            transmitter classes (e.g. ``["GABA"]``); ``None`` keeps all, merged exactly.
        layers: deprecated spelling of ``kind`` (a tuple of kinds).

    ``meta`` records the source, the cect reader and version, the sign rule, what the
    weights mean (``weights``: synapse counts, or binary for ``wang2024``) and what the
    electrical layer holds (``electrical``).

    Example:
        >>> c = from_connectome("white1986")
        >>> c.n_neurons, int(c.counts[c.kind == 0].sum())
        (309, 7943)
        >>> m5 = from_connectome("openworm-unified")
        >>> int(m5.counts[(m5.pre == m5.index("M5")) & (m5.post == m5.index("pm5VR")) & (m5.kind == 0)][0])
        3
    """
    reader = _resolve(name)
    if not isinstance(neurons_only, (bool, np.bool_)):
        raise ValidationError(f"neurons_only must be True or False, got {neurons_only!r}")
    if layers is not None:
        k_sel = _kind_from_layers(layers)
    else:
        _kind_code(kind)
        k_sel = kind
    if signs not in (None, "openworm"):
        raise UnknownNameError("sign source", signs, ("openworm", "None"))
    if transmitter_signs is not None and not isinstance(transmitter_signs, dict):
        raise ValidationError(f"transmitter_signs must be a dict transmitter -> sign, got {transmitter_signs!r}")
    tsign = dict(DEFAULT_TRANSMITTER_SIGNS if transmitter_signs is None else transmitter_signs)
    for t, v in tsign.items():
        if v not in (-1, 0, 1) or isinstance(v, bool):
            raise ValidationError(f"transmitter_signs[{t!r}] must be -1, 0 or +1, got {v!r}")
    raw_nodes, conns = _read_reader(reader)
    typed = transmitter_classes(conns)
    if transmitters is not None:
        if isinstance(transmitters, str):
            transmitters = [transmitters]
        if not typed:
            raise ValidationError(f"{name} is not typed by transmitter; transmitters= needs "
                                  "openworm-unified, wang2024 or another typed reader")
        for t in transmitters:
            if t not in typed:
                raise UnknownNameError("transmitter class", t, typed)
    nodes = [normalise_name(n) for n in raw_nodes]
    if len(set(nodes)) != len(nodes):
        raise ValidationError(f"{reader}: names collide after normalisation")
    types = cell_types()
    classes = [types.get(n, ("unknown", ""))[0] for n in nodes]
    transm = _transmitters(raw_nodes, conns)
    if not transm and signs == "openworm":
        transm = _transmitters(*_read_reader(CONNECTOMES["openworm-unified"][0]))
    tr_label, sign = [], []
    for n in nodes:
        ts = transm.get(n, set())
        tr_label.append("+".join(_TRANSMITTER_SHORT.get(t, t) for t in sorted(ts)))
        sign.append(_sign_of(ts, tsign) if signs is not None else 0)
    chem = merge_chemical(conns, list(transmitters) if transmitters is not None else None)
    gap = conns.get(_GAP, np.zeros_like(chem))
    if not np.array_equal(gap, gap.T):
        raise ValidationError(f"{reader}: gap-junction matrix is not symmetric")
    pre, post, w, kinds = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)], [np.zeros(0, np.int8)]
    sign_a = np.array(sign, dtype=np.int8)
    if k_sel in (None, "chemical"):
        i, j = np.nonzero(chem)
        pre.append(i)
        post.append(j)
        kinds.append(np.zeros(i.shape[0], np.int8))
        s = np.where(sign_a[i] != 0, sign_a[i], 1)
        w.append(chem[i, j] * s)
    if k_sel in (None, "electrical"):
        i, j = np.nonzero(gap)
        pre.append(i)
        post.append(j)
        kinds.append(np.ones(i.shape[0], np.int8))
        w.append(gap[i, j])
    key = next((k for k, v in CONNECTOMES.items() if v[0] == reader), name)
    notes = DATASET_NOTES.get(key, _DEFAULT_NOTES if _GAP in conns else
                              {**_DEFAULT_NOTES, "electrical": "none: the data set has no gap junctions"})
    meta: dict[str, Any] = {
        "source": name, "cect_reader": reader, "cect_version": _cect_version(),
        "signs": signs or "none", "transmitter_signs": tsign, "orientation": "A[pre, post]",
        "kind": k_sel if k_sel != "none" else "none", **notes,
    }
    if typed:
        meta["chemical_merge"] = ("element-wise max over the transmitter classes "
                                  f"{list(transmitters) if transmitters is not None else typed} "
                                  "(a synapse is listed once per transmitter of its presynaptic neuron)")
    full = Circuit(nodes, np.concatenate(pre), np.concatenate(post), np.concatenate(w), np.concatenate(kinds),
                   cell_class=classes, sign=sign_a, transmitter=tr_label, meta=meta)
    if neurons_only:
        keep = [n for n, c in zip(nodes, classes) if c in ("sensory", "interneuron", "motor", "neuron_other")]
        sub = full.subset(keep)
        return Circuit(sub.names, sub.pre, sub.post, sub.weight, sub.kind, cell_class=sub.cell_class,
                       sign=sub.sign, transmitter=sub.transmitter, meta={**meta, "neurons_only": True})
    return full


def _cect_version() -> str:
    if wheel_path("cect") is not None:
        return PACKAGES["cect"].version
    import importlib.metadata as md

    try:
        return md.version("cect")
    except md.PackageNotFoundError:
        return "unknown"


def available_connectomes() -> dict[str, str]:
    """Name -> description of every named connectome.

    Example:
        >>> list(available_connectomes())[:3]
        ['white1986', 'varshney2011', 'cook2019']
    """
    return {k: v[1] for k, v in CONNECTOMES.items()}
