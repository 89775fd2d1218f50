"""The :class:`Circuit`: neurons and signed, typed, sparse synapses.

Conventions (used everywhere in neurocircuits):

- Edges are stored as parallel arrays ``pre``, ``post``, ``weight``, ``kind``; a dense
  matrix ``A`` built from a circuit is indexed ``A[pre, post]`` (rows are presynaptic).
- ``weight`` is signed: a chemical synapse from an inhibitory neuron has a negative
  weight; ``abs(weight)`` is the synapse count (connectomes) or the magnitude.
- ``kind`` is ``"chemical"`` or ``"electrical"``. Electrical synapses (gap junctions)
  are symmetric: they are stored in both directions with equal weight, and the
  constructor checks this.
- ``sign`` per neuron: +1 excitatory, -1 inhibitory, 0 unknown or mixed.
- At most one edge per (pre, post, kind); builders merge parallel synapses.
- Edges are stored in canonical order, sorted by (kind, pre, post): two circuits with the
  same synapses are equal whatever order the edges were given in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import scipy.sparse as sp
import torch

from neurocircuits.errors import UnknownNameError, ValidationError, check_finite

#: the synapse kinds, in the order of their codes (0 = chemical, 1 = electrical)
SynapseKind = Literal["chemical", "electrical"]
KINDS: tuple[SynapseKind, ...] = ("chemical", "electrical")
CHEMICAL, ELECTRICAL = 0, 1


def _kind_code(kind: object) -> int | None:
    """Code of a synapse kind name (``None`` -> ``None``, meaning every kind)."""
    if kind is None:
        return None
    if not isinstance(kind, str):
        raise ValidationError(f"kind must be 'chemical', 'electrical' or None, got {kind!r}")
    if kind not in KINDS:
        raise UnknownNameError("synapse kind", kind, KINDS)
    return KINDS.index(kind)


@dataclass(frozen=True, eq=False)
class Circuit:
    """A neural circuit: named neurons and signed, typed synapses.

    Args:
        names: unique neuron names (length N).
        pre, post: integer neuron indices of each edge's source and target (length E).
        weight: signed edge weights (length E); defaults to 1.
        kind: per edge ``"chemical"`` / ``"electrical"`` or codes 0 / 1; default chemical.
        cell_class: per neuron class label (e.g. ``"sensory"``, ``"motor"``, a layer name).
        sign: per neuron +1 / -1 / 0 (unknown).
        transmitter: per neuron transmitter name (``""`` if unknown).
        positions: optional (N, d) coordinates.
        length: optional per-edge path length (geometric circuits).
        meta: free-form JSON-serialisable provenance (source data set, builder arguments).

    Example:
        >>> c = Circuit(["a", "b", "c"], pre=[0, 1], post=[1, 2], weight=[1.0, -2.0])
        >>> c.n_neurons, c.n_edges
        (3, 2)
        >>> c.to_dense().tolist()
        [[0.0, 1.0, 0.0], [0.0, 0.0, -2.0], [0.0, 0.0, 0.0]]
    """

    names: tuple[str, ...]
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    kind: np.ndarray
    cell_class: np.ndarray
    sign: np.ndarray
    transmitter: np.ndarray
    positions: np.ndarray | None = None
    length: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        names: Sequence[str],
        pre: Sequence[int] | np.ndarray = (),
        post: Sequence[int] | np.ndarray = (),
        weight: Sequence[float] | np.ndarray | None = None,
        kind: Sequence[str] | Sequence[int] | np.ndarray | None = None,
        *,
        cell_class: Sequence[str] | np.ndarray | None = None,
        sign: Sequence[int] | np.ndarray | None = None,
        transmitter: Sequence[str] | np.ndarray | None = None,
        positions: np.ndarray | Sequence[Sequence[float]] | None = None,
        length: Sequence[float] | np.ndarray | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        names = _names(names)
        n = len(names)
        if len(set(names)) != n:
            dup = sorted({x for x in names if names.count(x) > 1})[:5]
            raise ValidationError(f"neuron names must be unique; duplicated: {dup}")
        pre_a = _integers("pre", pre)
        post_a = _integers("post", post)
        e = pre_a.shape[0]
        if post_a.shape[0] != e:
            raise ValidationError(f"pre has {e} entries but post has {post_a.shape[0]}")
        w = np.ones(e) if weight is None else _floats("weight", weight)
        if w.shape[0] != e:
            raise ValidationError(f"weight has {w.shape[0]} entries but there are {e} edges")
        check_finite("synapse weights", w)
        k = np.zeros(e, dtype=np.int8) if kind is None else _kinds(kind)
        if k.shape[0] != e:
            raise ValidationError(f"kind has {k.shape[0]} entries but there are {e} edges")
        if e:
            bad = (pre_a < 0) | (pre_a >= n) | (post_a < 0) | (post_a >= n)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValidationError(
                    f"{int(bad.sum())} edge(s) point at missing neurons (there are {n}); "
                    f"first: edge {i} = ({pre_a[i]} -> {post_a[i]})")
            key = (pre_a * n + post_a) * len(KINDS) + k
            if np.unique(key).shape[0] != e:
                raise ValidationError("duplicate edges: at most one edge per (pre, post, kind); "
                                      "sum parallel synapses into one weight")
        cc = _per_neuron("cell_class", cell_class, n, "unknown", str)
        tr = _per_neuron("transmitter", transmitter, n, "", str)
        sg = np.zeros(n, dtype=np.int8) if sign is None else _signs(sign)
        if sg.shape[0] != n:
            raise ValidationError(f"sign has {sg.shape[0]} entries but there are {n} neurons")
        pos = as_positions(positions, n)
        if meta is not None and not isinstance(meta, dict):
            raise ValidationError(f"meta must be a dict (JSON-serialisable provenance), got {type(meta).__name__}")
        ln = None
        if length is not None:
            ln = _floats("length", length)
            if ln.shape[0] != e:
                raise ValidationError(f"length has {ln.shape[0]} entries but there are {e} edges")
            check_finite("edge lengths", ln)
            if (ln < 0).any():
                raise ValidationError("edge lengths must be >= 0")
        if e and (k == ELECTRICAL).any():
            el = k == ELECTRICAL
            fwd = dict(zip(zip(pre_a[el].tolist(), post_a[el].tolist()), w[el].tolist()))
            for (a, b), val in fwd.items():
                if fwd.get((b, a)) != val:
                    raise ValidationError(
                        f"electrical synapses must be symmetric: {names[a]}->{names[b]} has weight {val} "
                        f"but {names[b]}->{names[a]} has {fwd.get((b, a))}")
        order = np.lexsort((post_a, pre_a, k))
        pre_a, post_a, w, k = pre_a[order], post_a[order], w[order], k[order]
        if ln is not None:
            ln = ln[order]
        for arr in (pre_a, post_a, w, k, cc, tr, sg) + ((pos,) if pos is not None else ()) + (
                (ln,) if ln is not None else ()):
            arr.flags.writeable = False
        set_ = object.__setattr__
        set_(self, "names", names)
        set_(self, "pre", pre_a)
        set_(self, "post", post_a)
        set_(self, "weight", w)
        set_(self, "kind", k)
        set_(self, "cell_class", cc)
        set_(self, "sign", sg)
        set_(self, "transmitter", tr)
        set_(self, "positions", pos)
        set_(self, "length", ln)
        set_(self, "meta", dict(meta or {}))
        set_(self, "_index", {nm: i for i, nm in enumerate(names)})

    # --- basic properties -------------------------------------------------------------
    @property
    def n_neurons(self) -> int:
        return len(self.names)

    @property
    def n_edges(self) -> int:
        return int(self.pre.shape[0])

    def __len__(self) -> int:
        return self.n_neurons

    def __repr__(self) -> str:
        src = self.meta.get("source", "")
        n_chem = int((self.kind == CHEMICAL).sum())
        el = self.kind == ELECTRICAL
        n_el = int(el.sum() + (el & (self.pre == self.post)).sum()) // 2
        return (f"Circuit({self.n_neurons} neurons, {n_chem} chemical edges, {n_el} electrical pairs"
                + (f", source={src!r}" if src else "") + ")")

    def __eq__(self, other: object) -> bool:
        """Exact equality of every array and the metadata (edge order included)."""
        if not isinstance(other, Circuit):
            return NotImplemented
        arrays = ("pre", "post", "weight", "kind", "cell_class", "sign", "transmitter")
        same = self.names == other.names and all(
            np.array_equal(getattr(self, a), getattr(other, a)) for a in arrays)
        for a in ("positions", "length"):
            x, y = getattr(self, a), getattr(other, a)
            same = same and ((x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y)))
        return bool(same and self.meta == other.meta)

    __hash__ = None  # type: ignore[assignment]

    @property
    def counts(self) -> np.ndarray:
        """Unsigned synapse counts / magnitudes, ``abs(weight)``."""
        return np.abs(self.weight)

    @overload
    def index(self, names: str) -> int: ...  # type: ignore[overload-overlap]

    @overload
    def index(self, names: Iterable[str]) -> np.ndarray: ...

    def index(self, names: str | Iterable[str]) -> int | np.ndarray:
        """Position of a neuron name (an ``int``), or of each name in a list (an int64 array).

        Names are normalised (``VB01`` -> ``VB1``). Unknown names raise
        :class:`~neurocircuits.errors.UnknownNameError` with a suggestion.

        Example:
            >>> c = Circuit(["AVAL", "VB1"])
            >>> c.index("VB01"), c.index(["VB1", "AVAL"]).tolist()
            (1, [1, 0])
        """
        from neurocircuits.base.names import normalise_name

        lookup: dict[str, int] = self._index  # type: ignore[attr-defined]

        def one(nm: object) -> int:
            if not isinstance(nm, str):
                raise ValidationError(f"names must be neuron names (str), got {nm!r} ({type(nm).__name__})")
            if nm in lookup:
                return lookup[nm]
            norm = normalise_name(nm)
            if norm in lookup:
                return lookup[norm]
            raise UnknownNameError("neuron", nm, self.names)

        if isinstance(names, str):
            return one(names)
        if not isinstance(names, Iterable):
            raise ValidationError(
                f"names must be a neuron name or a list of names, got {names!r} ({type(names).__name__})")
        return np.array([one(nm) for nm in names], dtype=np.int64)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.index(name)
        except UnknownNameError:
            return False
        return True

    def edge_mask(self, kind: SynapseKind | None = None) -> np.ndarray:
        """Boolean mask of the edges of ``kind`` (``None``: every edge)."""
        code = _kind_code(kind)
        return np.ones(self.n_edges, bool) if code is None else self.kind == code

    # --- conversions ----------------------------------------------------------------------
    def _values(self, signed: bool) -> np.ndarray:
        return self.weight if signed else np.abs(self.weight)

    def to_scipy(self, kind: SynapseKind | None = None, signed: bool = True) -> sp.csr_matrix:
        """``scipy.sparse`` CSR matrix ``A[pre, post]``; ``kind=None`` sums both kinds."""
        m = self.edge_mask(kind)
        n = self.n_neurons
        return sp.csr_matrix((self._values(signed)[m], (self.pre[m], self.post[m])), shape=(n, n))

    def to_dense(self, kind: SynapseKind | None = None, signed: bool = True,
                 dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> torch.Tensor:
        """Dense torch tensor ``A[pre, post]`` (N, N); ``kind=None`` sums both kinds."""
        a = torch.zeros(self.n_neurons, self.n_neurons, dtype=torch.float64)
        m = self.edge_mask(kind)
        a.index_put_((torch.from_numpy(self.pre[m].copy()), torch.from_numpy(self.post[m].copy())),
                     torch.from_numpy(self._values(signed)[m].copy()), accumulate=True)
        return a.to(dtype=dtype, device=device)

    def to_sparse(self, kind: SynapseKind | None = None, signed: bool = True,
                  dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> torch.Tensor:
        """Coalesced sparse COO torch tensor ``A[pre, post]``."""
        m = self.edge_mask(kind)
        idx = torch.from_numpy(np.stack([self.pre[m], self.post[m]]))
        vals = torch.from_numpy(self._values(signed)[m].copy()).to(dtype)
        return torch.sparse_coo_tensor(idx, vals, (self.n_neurons,) * 2, device=device,
                                       check_invariants=False).coalesce()

    def edge_index(self, kind: SynapseKind | None = None) -> torch.Tensor:
        """``(2, E)`` long tensor of (pre, post) pairs, as PyTorch Geometric expects."""
        m = self.edge_mask(kind)
        return torch.from_numpy(np.stack([self.pre[m], self.post[m]]))

    def to_networkx(self) -> Any:
        """A ``networkx.MultiDiGraph``; edge keys are the synapse kinds.

        Node attributes: ``cell_class``, ``sign``, ``transmitter`` and ``position``;
        edge attributes: ``weight`` and ``length``.
        """
        import networkx as nx

        g = nx.MultiDiGraph(**{k: v for k, v in self.meta.items() if isinstance(v, (str, int, float))})
        for i, nm in enumerate(self.names):
            attrs: dict[str, Any] = {"cell_class": str(self.cell_class[i]), "sign": int(self.sign[i]),
                                     "transmitter": str(self.transmitter[i])}
            if self.positions is not None:
                attrs["position"] = tuple(self.positions[i].tolist())
            g.add_node(nm, **attrs)
        for j in range(self.n_edges):
            attrs = {"weight": float(self.weight[j])}
            if self.length is not None:
                attrs["length"] = float(self.length[j])
            g.add_edge(self.names[self.pre[j]], self.names[self.post[j]], key=KINDS[self.kind[j]], **attrs)
        return g

    @classmethod
    def from_networkx(cls, g: Any, meta: dict[str, Any] | None = None) -> "Circuit":
        """Inverse of :meth:`to_networkx` (also accepts a DiGraph: every edge chemical)."""
        names = [str(n) for n in g.nodes]
        idx = {n: i for i, n in enumerate(g.nodes)}
        pre, post, w, k, ln = [], [], [], [], []
        multi = g.is_multigraph()
        edges = g.edges(keys=True, data=True) if multi else ((a, b, "chemical", d) for a, b, d in g.edges(data=True))
        for a, b, key, d in edges:
            pre.append(idx[a])
            post.append(idx[b])
            w.append(d.get("weight", 1.0))
            k.append(key if key in KINDS else "chemical")
            ln.append(d.get("length"))
        nd = g.nodes
        has_pos = names and all("position" in nd[n] for n in g.nodes)
        return cls(names, pre, post, w, k if k else None,
                   cell_class=[nd[n].get("cell_class", "unknown") for n in g.nodes],
                   sign=[nd[n].get("sign", 0) for n in g.nodes],
                   transmitter=[nd[n].get("transmitter", "") for n in g.nodes],
                   positions=[nd[n]["position"] for n in g.nodes] if has_pos else None,
                   length=ln if ln and all(x is not None for x in ln) else None,
                   meta=meta if meta is not None else dict(g.graph))

    # --- selection -----------------------------------------------------------------------
    def subset(self, names: Iterable[str] | None = None, classes: Iterable[str] | None = None,
               kind: SynapseKind | None = None) -> "Circuit":
        """The induced sub-circuit on the given neurons and/or cell classes (order kept).

        ``kind`` keeps only one synapse kind. Unknown names or classes raise an error.
        """
        keep = np.ones(self.n_neurons, bool)
        if isinstance(names, str) or isinstance(classes, str):
            raise ValidationError("subset takes lists: names=[...] and classes=[...]; wrap a single name in a list")
        if names is not None:
            idx = self.index(list(names))
            sel = np.zeros(self.n_neurons, bool)
            sel[idx] = True
            keep &= sel
        if classes is not None:
            classes = list(classes)
            known = set(self.cell_class.tolist())
            for c in classes:
                if c not in known:
                    raise UnknownNameError("cell class", c, known)
            keep &= np.isin(self.cell_class, classes)
        old = np.flatnonzero(keep)
        new_of_old = -np.ones(self.n_neurons, np.int64)
        new_of_old[old] = np.arange(old.shape[0])
        em = keep[self.pre] & keep[self.post] & self.edge_mask(kind)
        return Circuit(
            [self.names[i] for i in old], new_of_old[self.pre[em]], new_of_old[self.post[em]],
            self.weight[em], self.kind[em], cell_class=self.cell_class[old], sign=self.sign[old],
            transmitter=self.transmitter[old],
            positions=None if self.positions is None else self.positions[old],
            length=None if self.length is None else self.length[em],
            meta={**self.meta, "subset_of": self.meta.get("source", "")},
        )

    # --- statistics (thin wrappers over neurocircuits.circuit.stats) -----------------------
    # Every statistic defaults to the chemical layer (kind="chemical"); kind=None uses both
    # kinds. The matrix conversions above default to every synapse (kind=None).
    def _partners(self, kind: SynapseKind | None, of: np.ndarray, other: np.ndarray) -> np.ndarray:
        m = self.edge_mask(kind)
        n = self.n_neurons
        if kind is None:  # a pair joined by both kinds is one partner, not two
            key = np.unique(of[m] * n + other[m])
            return np.bincount(key // n, minlength=n) if n else np.zeros(0, np.int64)
        return np.bincount(of[m], minlength=n)

    def in_degree(self, kind: SynapseKind | None = "chemical") -> np.ndarray:
        """Number of distinct presynaptic partners of each neuron (synapses of ``kind``).

        Example:
            >>> c = Circuit(["a", "b"], pre=[0, 0, 1], post=[1, 1, 0], kind=[0, 1, 1])
            >>> c.in_degree().tolist(), c.in_degree(None).tolist()
            ([0, 1], [1, 1])
        """
        return self._partners(kind, self.post, self.pre)

    def out_degree(self, kind: SynapseKind | None = "chemical") -> np.ndarray:
        """Number of distinct postsynaptic partners of each neuron (synapses of ``kind``)."""
        return self._partners(kind, self.pre, self.post)

    def ei_fraction(self) -> float:
        """Fraction of excitatory neurons among neurons with a known sign (NaN if none)."""
        known = self.sign != 0
        return float((self.sign[known] > 0).mean()) if known.any() else float("nan")

    def spectral_radius(self, kind: SynapseKind | None = "chemical", signed: bool = True) -> float:
        """Largest eigenvalue modulus of the (signed) matrix of ``kind`` synapses."""
        from neurocircuits.circuit.stats import spectral_radius

        return spectral_radius(self.to_scipy(kind, signed))

    def effective_rank(self, kind: SynapseKind | None = "chemical", signed: bool = True) -> float:
        """Effective rank (Roy & Vetterli 2007) of the (signed) matrix of ``kind`` synapses."""
        from neurocircuits.circuit.stats import effective_rank

        return effective_rank(self.to_scipy(kind, signed))

    def reciprocity(self, kind: SynapseKind | None = "chemical") -> float:
        """Fraction of directed ``kind`` edges whose reverse edge also exists."""
        from neurocircuits.circuit.stats import reciprocity

        return reciprocity(self.to_scipy(kind, signed=False))

    def stats(self, kind: SynapseKind | None = "chemical") -> dict[str, float]:
        """The statistics of :func:`neurocircuits.circuit.circuit_stats` (same ``kind`` default).

        Example:
            >>> c = Circuit(["a", "b", "c"], pre=[0, 1, 2], post=[1, 2, 0], weight=[2.0, 2.0, 2.0])
            >>> round(c.stats()["spectral_radius"], 6) == round(c.spectral_radius(), 6) == 2.0
            True
        """
        from neurocircuits.circuit.stats import circuit_stats

        return circuit_stats(self, kind)

    # --- persistence ------------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Save to HDF5 (see :mod:`neurocircuits.circuit.io` for the layout); exact round trip.

        An existing file is replaced only with ``overwrite=True``.
        """
        from neurocircuits.circuit.io import save_circuit

        return save_circuit(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> "Circuit":
        from neurocircuits.circuit.io import load_circuit

        return load_circuit(path)

    def draw(self, labels: bool | None = None, max_edges: int = 2000, title: str | None = None) -> Any:
        """The wiring view, a :class:`neurocircuits.diagrams.Diagram` (``.svg()``, ``.save(path)``); see
        :func:`neurocircuits.diagrams.draw_circuit`."""
        from neurocircuits.diagrams.circuit_view import draw_circuit

        return draw_circuit(self, labels=labels, max_edges=max_edges, title=title)

    # --- builders (see neurocircuits.circuit.builders) ----------------------------------------
    @classmethod
    def from_connectome(cls, name: str, **kw: Any) -> "Circuit":
        from neurocircuits.circuit.connectome import from_connectome

        return from_connectome(name, **kw)

    @classmethod
    def geometric(cls, n: int, **kw: Any) -> "Circuit":
        from neurocircuits.circuit.builders import geometric

        return geometric(n, **kw)

    @classmethod
    def random_dale(cls, n: int, **kw: Any) -> "Circuit":
        from neurocircuits.circuit.builders import random_dale

        return random_dale(n, **kw)

    @classmethod
    def low_rank(cls, n: int, rank: int, **kw: Any) -> "Circuit":
        from neurocircuits.circuit.builders import low_rank

        return low_rank(n, rank, **kw)

    @classmethod
    def from_module(cls, module: torch.nn.Module, **kw: Any) -> "Circuit":
        from neurocircuits.circuit.builders import from_module

        return from_module(module, **kw)


def _names(names: Any) -> tuple[str, ...]:
    if names is None or isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
        raise ValidationError(
            f"names must be a sequence of neuron names (str), got {names!r} ({type(names).__name__})"
            + ("; wrap a single name in a list" if isinstance(names, str) else ""))
    out = tuple(names)
    for i, nm in enumerate(out):
        if not isinstance(nm, str):
            raise ValidationError(f"names must be strings; entry {i} is {nm!r} ({type(nm).__name__})")
    return out


def _numeric(name: str, values: Any, what: str) -> np.ndarray:
    """A 1-D numeric (int, unsigned or float) array, or a ValidationError naming ``name``."""
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as e:
        raise ValidationError(f"{name} must be a sequence of {what}: {e}") from e
    if values is None or isinstance(values, (str, bytes)) or arr.ndim == 0:
        raise ValidationError(f"{name} must be a sequence of {what} (one per entry), "
                              f"got {values!r} ({type(values).__name__})")
    if arr.ndim != 1:
        raise ValidationError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iuf":
        raise ValidationError(f"{name} must hold {what}, got values of type {arr.dtype} (first: {arr.tolist()[0]!r})")
    return arr


def _integers(name: str, values: Any) -> np.ndarray:
    """Integer neuron indices: floats are accepted only if they are whole numbers."""
    arr = _numeric(name, values, "integer neuron indices")
    if arr.dtype.kind == "f":
        check_finite(name, arr)
        frac = arr != np.round(arr)
        if frac.any():
            raise ValidationError(f"{name} must hold integer neuron indices; "
                                  f"entry {int(np.flatnonzero(frac)[0])} is {arr[frac].tolist()[0]!r}")
    return arr.astype(np.int64)


def _floats(name: str, values: Any) -> np.ndarray:
    return _numeric(name, values, "numbers").astype(np.float64)


def _kinds(kind: Any) -> np.ndarray:
    if isinstance(kind, (str, bytes)) or not isinstance(kind, (Iterable, np.ndarray)):
        raise ValidationError(f"kind must be a sequence with one synapse kind per edge "
                              f"('chemical'/'electrical' or 0/1), got {kind!r}")
    if isinstance(kind, np.ndarray) and kind.dtype.kind in "iuf":
        kl: Any = kind
    else:
        kl = list(kind)
    if not isinstance(kl, np.ndarray) and kl and all(isinstance(x, str) for x in kl):
        return np.array([_kind_code(x) for x in kl], dtype=np.int8)
    k = _integers("kind", kl)
    if k.size and (k.min() < 0 or k.max() >= len(KINDS)):
        raise ValidationError(f"edge kind codes must be in 0..{len(KINDS) - 1}, got {int(k[(k < 0) | (k >= len(KINDS))][0])}")
    return k.astype(np.int8)


def _signs(sign: Any) -> np.ndarray:
    arr = _numeric("sign", sign, "neuron signs (-1, 0 or +1)")
    bad = ~np.isin(arr, (-1, 0, 1))
    if bad.any():
        raise ValidationError(f"neuron signs must be -1, 0 or +1; sign[{int(np.flatnonzero(bad)[0])}] is {arr[bad].tolist()[0]!r}")
    return arr.astype(np.int8)


def as_positions(positions: Any, n: int) -> np.ndarray | None:
    """Validate optional (n, d) node coordinates: float64, finite; ``None`` passes through."""
    if positions is None:
        return None
    try:
        pos = np.asarray(positions, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValidationError(f"positions must be an (N={n}, d) array of numbers: {e}") from e
    if pos.ndim != 2 or pos.shape[0] != n:
        raise ValidationError(f"positions must have shape (N={n}, d), got {pos.shape}")
    check_finite("positions", pos)
    return pos


def _per_neuron(name: str, values: Sequence[Any] | np.ndarray | None, n: int, default: Any, typ: type) -> np.ndarray:
    if isinstance(values, (str, bytes)) or (values is not None and not isinstance(values, Iterable)):
        raise ValidationError(f"{name} must be a sequence with one entry per neuron, got {values!r}")
    if values is None:
        return np.array([default] * n, dtype=object).astype(str) if n else np.array([], dtype=str)
    arr = np.array([typ(v) for v in values], dtype=str) if len(values) else np.array([], dtype=str)
    if arr.shape[0] != n:
        raise ValidationError(f"{name} has {arr.shape[0]} entries but there are {n} neurons")
    return arr


def meta_json(meta: dict[str, Any]) -> str:
    return json.dumps(meta, sort_keys=True, default=str)
