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
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from neurocircuits.errors import UnknownNameError, ValidationError, check_finite

KINDS: tuple[str, ...] = ("chemical", "electrical")
CHEMICAL, ELECTRICAL = 0, 1


def _kind_code(kind: str | None) -> int | None:
    if kind is None:
        return None
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
        cell_class: Sequence[str] | None = None,
        sign: Sequence[int] | np.ndarray | None = None,
        transmitter: Sequence[str] | None = None,
        positions: np.ndarray | Sequence[Sequence[float]] | None = None,
        length: Sequence[float] | np.ndarray | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        names = tuple(str(n) for n in names)
        n = len(names)
        if len(set(names)) != n:
            dup = sorted({x for x in names if names.count(x) > 1})[:5]
            raise ValidationError(f"neuron names must be unique; duplicated: {dup}")
        pre_a = np.asarray(pre, dtype=np.int64).reshape(-1)
        post_a = np.asarray(post, dtype=np.int64).reshape(-1)
        e = pre_a.shape[0]
        if post_a.shape[0] != e:
            raise ValidationError(f"pre has {e} entries but post has {post_a.shape[0]}")
        w = np.ones(e) if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)
        if w.shape[0] != e:
            raise ValidationError(f"weight has {w.shape[0]} entries but there are {e} edges")
        check_finite("synapse weights", w)
        if kind is None:
            k = np.zeros(e, dtype=np.int8)
        else:
            kl = list(kind) if not isinstance(kind, np.ndarray) else kind
            k = (np.array([_kind_code(x) for x in kl], dtype=np.int8) if len(kl) and isinstance(kl[0], str)  # type: ignore[arg-type]
                 else np.asarray(kl, dtype=np.int8).reshape(-1))
            if k.shape[0] != e:
                raise ValidationError(f"kind has {k.shape[0]} entries but there are {e} edges")
            if e and (k.min() < 0 or k.max() >= len(KINDS)):
                raise ValidationError(f"edge kind codes must be in 0..{len(KINDS) - 1}")
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
        sg = np.zeros(n, dtype=np.int8) if sign is None else np.asarray(sign, dtype=np.int8).reshape(-1)
        if sg.shape[0] != n:
            raise ValidationError(f"sign has {sg.shape[0]} entries but there are {n} neurons")
        if not np.isin(sg, (-1, 0, 1)).all():
            raise ValidationError("neuron signs must be -1, 0 or +1")
        pos = as_positions(positions, n)
        ln = None
        if length is not None:
            ln = np.asarray(length, dtype=np.float64).reshape(-1)
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
        n_el = int((self.kind == ELECTRICAL).sum()) // 2
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

    def index(self, names: str | Iterable[str]) -> int | list[int]:
        """Index of a neuron name (or list of indices); names are normalised (VB01 -> VB1)."""
        from neurocircuits.base.names import normalise_name

        def one(nm: str) -> int:
            if nm in self._index:  # type: ignore[attr-defined]
                return self._index[nm]  # type: ignore[attr-defined]
            norm = normalise_name(nm)
            if norm in self._index:  # type: ignore[attr-defined]
                return self._index[norm]  # type: ignore[attr-defined]
            raise UnknownNameError("neuron", nm, self.names)

        if isinstance(names, str):
            return one(names)
        return [one(nm) for nm in names]

    def __contains__(self, name: object) -> bool:
        try:
            self.index(str(name))
        except UnknownNameError:
            return False
        return True

    def edge_mask(self, kind: str | None = None) -> np.ndarray:
        code = _kind_code(kind)
        return np.ones(self.n_edges, bool) if code is None else self.kind == code

    # --- conversions ----------------------------------------------------------------------
    def _values(self, signed: bool) -> np.ndarray:
        return self.weight if signed else np.abs(self.weight)

    def to_scipy(self, kind: str | None = None, signed: bool = True) -> sp.csr_matrix:
        """``scipy.sparse`` CSR matrix ``A[pre, post]``; ``kind=None`` sums both kinds."""
        m = self.edge_mask(kind)
        n = self.n_neurons
        return sp.csr_matrix((self._values(signed)[m], (self.pre[m], self.post[m])), shape=(n, n))

    def to_dense(self, kind: str | None = None, signed: bool = True,
                 dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> torch.Tensor:
        """Dense torch tensor ``A[pre, post]`` (N, N); ``kind=None`` sums both kinds."""
        a = torch.zeros(self.n_neurons, self.n_neurons, dtype=torch.float64)
        m = self.edge_mask(kind)
        a.index_put_((torch.from_numpy(self.pre[m].copy()), torch.from_numpy(self.post[m].copy())),
                     torch.from_numpy(self._values(signed)[m].copy()), accumulate=True)
        return a.to(dtype=dtype, device=device)

    def to_sparse(self, kind: str | None = None, signed: bool = True,
                  dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> torch.Tensor:
        """Coalesced sparse COO torch tensor ``A[pre, post]``."""
        m = self.edge_mask(kind)
        idx = torch.from_numpy(np.stack([self.pre[m], self.post[m]]))
        vals = torch.from_numpy(self._values(signed)[m].copy()).to(dtype)
        return torch.sparse_coo_tensor(idx, vals, (self.n_neurons,) * 2, device=device,
                                       check_invariants=False).coalesce()

    def edge_index(self, kind: str | None = None) -> torch.Tensor:
        """``(2, E)`` long tensor of (pre, post) pairs, as PyTorch Geometric expects."""
        m = self.edge_mask(kind)
        return torch.from_numpy(np.stack([self.pre[m], self.post[m]]))

    def to_networkx(self):
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
    def from_networkx(cls, g, meta: dict[str, Any] | None = None) -> "Circuit":
        """Inverse of :meth:`to_networkx` (also accepts a DiGraph: every edge chemical)."""
        names = [str(n) for n in g.nodes]
        idx = {n: i for i, n in enumerate(g.nodes)}
        pre, post, w, k, ln = [], [], [], [], []
        multi = g.is_multigraph()
        edges = g.edges(keys=True, data=True) if multi else ((a, b, "chemical", d) for a, b, d in g.edges(data=True))
        for a, b, key, d in edges:
            pre.append(idx[a]), post.append(idx[b]), w.append(d.get("weight", 1.0))  # type: ignore[func-returns-value]
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
               kind: str | None = None) -> "Circuit":
        """The induced sub-circuit on the given neurons and/or cell classes (order kept).

        ``kind`` keeps only one synapse kind. Unknown names or classes raise an error.
        """
        keep = np.ones(self.n_neurons, bool)
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
            self.weight[em], self.kind[em], cell_class=self.cell_class[old], sign=self.sign[old],  # type: ignore[arg-type]
            transmitter=self.transmitter[old],  # type: ignore[arg-type]
            positions=None if self.positions is None else self.positions[old],
            length=None if self.length is None else self.length[em],
            meta={**self.meta, "subset_of": self.meta.get("source", "")},
        )

    # --- statistics (thin wrappers over neurocircuits.measure.graph) ----------------------
    def in_degree(self, kind: str | None = None) -> np.ndarray:
        """Number of distinct presynaptic partners of each neuron."""
        m = self.edge_mask(kind)
        return np.bincount(self.post[m], minlength=self.n_neurons)

    def out_degree(self, kind: str | None = None) -> np.ndarray:
        m = self.edge_mask(kind)
        return np.bincount(self.pre[m], minlength=self.n_neurons)

    def ei_fraction(self) -> float:
        """Fraction of excitatory neurons among neurons with a known sign (NaN if none)."""
        known = self.sign != 0
        return float((self.sign[known] > 0).mean()) if known.any() else float("nan")

    def spectral_radius(self, kind: str | None = None, signed: bool = True) -> float:
        from neurocircuits.measure.graph import spectral_radius

        return spectral_radius(self.to_scipy(kind, signed))

    def effective_rank(self, kind: str | None = None, signed: bool = True) -> float:
        from neurocircuits.measure.graph import effective_rank

        return effective_rank(self.to_scipy(kind, signed).toarray())

    def reciprocity(self, kind: str = "chemical") -> float:
        from neurocircuits.measure.graph import reciprocity

        return reciprocity(self.to_scipy(kind, signed=False))

    def stats(self) -> dict[str, float]:
        """The basic statistics of :func:`neurocircuits.measure.graph.circuit_stats`."""
        from neurocircuits.measure.graph import circuit_stats

        return circuit_stats(self)

    # --- persistence ------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save to HDF5 (see :mod:`neurocircuits.circuit.io` for the layout); exact round trip."""
        from neurocircuits.circuit.io import save_circuit

        return save_circuit(self, path)

    @classmethod
    def load(cls, path: str | Path) -> "Circuit":
        from neurocircuits.circuit.io import load_circuit

        return load_circuit(path)

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


def as_positions(positions: Any, n: int) -> np.ndarray | None:
    """Validate optional (n, d) node coordinates: float64, finite; ``None`` passes through."""
    if positions is None:
        return None
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[0] != n:
        raise ValidationError(f"positions must have shape (N={n}, d), got {pos.shape}")
    check_finite("positions", pos)
    return pos


def _per_neuron(name: str, values: Sequence[Any] | None, n: int, default: Any, typ: type) -> np.ndarray:
    if values is None:
        return np.array([default] * n, dtype=object).astype(str) if n else np.array([], dtype=str)
    arr = np.array([typ(v) for v in values], dtype=str) if len(values) else np.array([], dtype=str)
    if arr.shape[0] != n:
        raise ValidationError(f"{name} has {arr.shape[0]} entries but there are {n} neurons")
    return arr


def meta_json(meta: dict[str, Any]) -> str:
    return json.dumps(meta, sort_keys=True, default=str)
