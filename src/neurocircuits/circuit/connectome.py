"""C. elegans connectomes from the data files shipped by the PyPI package ``cect``.

``cect`` (C. elegans Connectome Toolbox, MIT) ships each reader's parsed output as JSON
(``cect/cache/<Reader>.json``: ``nodes`` and ``connections = {class: N x N}``, indexed
``[pre, post]``) and a table of cell types (``cect/data/all_cell_info.csv``). We read those
files directly: importing ``cect`` itself would pull in its heavy (and partly GPL)
dependencies. Install it with ``pip install --no-deps cect==0.3.5``. Everything works offline.

Signs. Data sets typed by transmitter (``openworm-unified``, ``wang2024``) give each
presynaptic neuron its transmitter(s) directly. For the generic data sets (White,
Varshney, Cook, Witvliet) ``signs="openworm"`` (default) takes each neuron's transmitter
from the ``openworm-unified`` data set; ``signs=None`` leaves signs unknown. The sign map
is a convention: acetylcholine +1, GABA -1, glutamate +1 by default (glutamate acts on
both excitatory and inhibitory receptors in C. elegans; pass ``transmitter_signs`` to
change it). A neuron releasing transmitters of different signs gets sign 0, and a
chemical edge weight is ``sign(pre) * count`` (``count`` when the sign is 0).
"""

from __future__ import annotations

import csv
import importlib.util
import json
from functools import lru_cache
from pathlib import Path
import numpy as np

from neurocircuits.circuit.core import Circuit
from neurocircuits.base.names import normalise_name
from neurocircuits.errors import DataNotFoundError, UnknownNameError, ValidationError

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


def cect_root() -> Path:
    """Folder of the installed ``cect`` package (found without importing it)."""
    spec = importlib.util.find_spec("cect")
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError(
            "the connectomes come from the PyPI package 'cect', which is not installed: "
            "pip install --no-deps cect==0.3.5")
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=16)
def _read_reader(reader: str) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    path = cect_root() / "cache" / f"{reader}.json"
    if not path.exists():
        raise DataNotFoundError(f"cect has no parsed data file {path.name} (cect version mismatch?)")
    data = json.loads(path.read_text())
    nodes = tuple(data["nodes"])
    conns = {k: np.asarray(v, dtype=np.float64) for k, v in data["connections"].items()}
    for k, m in conns.items():
        if m.shape != (len(nodes), len(nodes)):
            raise ValidationError(f"{path.name}: matrix {k} has shape {m.shape}, expected {(len(nodes),) * 2}")
    return nodes, conns


@lru_cache(maxsize=1)
def cell_types() -> dict[str, tuple[str, str]]:
    """Canonical cell name -> (coarse class, WormAtlas type), from cect's cell table."""
    out = {}
    with open(cect_root() / "data" / "all_cell_info.csv", newline="") as fh:
        for row in csv.DictReader(fh):
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


def _resolve(name: str) -> str:
    key = name.lower()
    key = ALIASES.get(key, key)
    if key in CONNECTOMES:
        return CONNECTOMES[key][0]
    if name.startswith("cect:"):
        return name[5:]
    raise UnknownNameError("connectome", name, list(CONNECTOMES) + list(ALIASES),
                           hint="or 'cect:<ReaderName>' for any parsed file cect ships")


def _transmitters(nodes: tuple[str, ...], conns: dict[str, np.ndarray]) -> dict[str, set[str]]:
    typed = [k for k in conns if k not in (_GAP, _GENERIC_CHEM)]
    out: dict[str, set[str]] = {}
    for k in typed:
        for i in np.flatnonzero(conns[k].sum(1) > 0):
            out.setdefault(normalise_name(nodes[i]), set()).add(k)
    return out


def from_connectome(
    name: str,
    *,
    neurons_only: bool = False,
    signs: str | None = "openworm",
    transmitter_signs: dict[str, int] | None = None,
    layers: tuple[str, ...] = ("chemical", "electrical"),
) -> Circuit:
    """A C. elegans hermaphrodite connectome as a :class:`Circuit`.

    Args:
        name: one of :data:`CONNECTOMES` (``white1986``, ``varshney2011``, ``cook2019``,
            ``witvliet2021-7``, ``witvliet2021-8``, ``openworm-unified``, ``wang2024``),
            an alias (``witvliet2021`` is data set 8), or ``cect:<Reader>``.
        neurons_only: drop muscles, end organs and other non-neuronal cells.
        signs: ``"openworm"`` to take transmitters of untyped data sets from the
            OpenWorm unified data set, or ``None`` to leave them unknown.
        transmitter_signs: transmitter -> sign; defaults to :data:`DEFAULT_TRANSMITTER_SIGNS`.
        layers: which synapse kinds to keep.

    Example:
        >>> c = from_connectome("white1986")                    # doctest: +SKIP
        >>> c.n_neurons, int(c.counts[c.kind == 0].sum())       # doctest: +SKIP
        (309, 7943)
    """
    reader = _resolve(name)
    for layer in layers:
        if layer not in ("chemical", "electrical"):
            raise UnknownNameError("synapse layer", layer, ("chemical", "electrical"))
    if signs not in (None, "openworm"):
        raise UnknownNameError("sign source", signs, ("openworm", "None"))
    tsign = dict(DEFAULT_TRANSMITTER_SIGNS if transmitter_signs is None else transmitter_signs)
    raw_nodes, conns = _read_reader(reader)
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
        ts = sorted(transm.get(n, ()))
        tr_label.append("+".join(_TRANSMITTER_SHORT.get(t, t) for t in ts))
        s = {tsign.get(t, 0) for t in ts}
        sign.append(s.pop() if len(s) == 1 else 0)
    keep = np.array([not neurons_only or c in ("sensory", "interneuron", "motor", "neuron_other")
                     for c in classes])
    chem = sum((m for k, m in conns.items() if k != _GAP), np.zeros((len(nodes),) * 2))
    gap = conns.get(_GAP, np.zeros_like(chem))
    if not np.array_equal(gap, gap.T):
        raise ValidationError(f"{reader}: gap-junction matrix is not symmetric")
    pre, post, w, kind = [], [], [], []
    sign_a = np.array(sign, dtype=np.int8)
    if "chemical" in layers:
        i, j = np.nonzero(chem)
        pre.append(i), post.append(j), kind.append(np.zeros(i.shape[0], np.int8))  # type: ignore[func-returns-value]
        s = np.where(sign_a[i] != 0, sign_a[i], 1)  # type: ignore[assignment]
        w.append(chem[i, j] * s)  # type: ignore[operator]
    if "electrical" in layers:
        i, j = np.nonzero(gap)
        pre.append(i), post.append(j), kind.append(np.ones(i.shape[0], np.int8))  # type: ignore[func-returns-value]
        w.append(gap[i, j])
    full = Circuit(
        nodes, np.concatenate(pre), np.concatenate(post), np.concatenate(w), np.concatenate(kind),
        cell_class=classes, sign=sign_a, transmitter=tr_label,
        meta={"source": name, "cect_reader": reader, "cect_version": _cect_version(),
              "signs": signs or "none", "transmitter_signs": tsign,
              "orientation": "A[pre, post]"},
    )
    if neurons_only:
        sub = full.subset([n for n, k in zip(nodes, keep) if k])
        return Circuit(sub.names, sub.pre, sub.post, sub.weight, sub.kind, cell_class=sub.cell_class,  # type: ignore[arg-type]
                       sign=sub.sign, transmitter=sub.transmitter,  # type: ignore[arg-type]
                       meta={**full.meta, "neurons_only": True})
    return full


def _cect_version() -> str:
    import importlib.metadata as md

    try:
        return md.version("cect")
    except md.PackageNotFoundError:
        return "unknown"


def available_connectomes() -> dict[str, str]:
    """Name -> description of every named connectome."""
    return {k: v[1] for k, v in CONNECTOMES.items()}
