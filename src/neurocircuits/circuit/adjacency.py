"""Dense adjacency matrices of a connectome over a given list of neurons, and their nulls.

:func:`connectome_adjacency` restricts a published connectome to the neurons of a
recording (or any name list) as an unsigned synapse-count matrix ``A[pre, post]``;
:func:`shuffled_adjacency` rewires such a matrix by degree-preserving double-edge swaps
(the null model of "is this graph special, or only its degrees?").

Example:
    >>> import numpy as np
    >>> a = np.array([[0, 2, 0], [0, 0, 1], [3, 0, 0.]])
    >>> s = shuffled_adjacency(a, seed=0)
    >>> (s > 0).sum(0).tolist() == (a > 0).sum(0).tolist(), sorted(s[s > 0].tolist())
    (True, [1.0, 2.0, 3.0])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurocircuits.errors import ValidationError


def connectome_adjacency(names: Sequence[str | None], connectome: str = "cook2019", *,
                         layers: tuple[str, ...] = ("chemical", "electrical")) -> tuple[np.ndarray, list[str]]:
    """Unsigned synapse counts ``A[pre, post]`` of a connectome over the given neuron list.

    Chemical counts plus gap-junction counts (both directions). Unnamed neurons (``None``)
    and names absent from the connectome get no edges; the diagonal is zero. Names are
    matched after normalisation (``VB01`` finds ``VB1``). Returns ``(A, matched names)``.

    Example:
        >>> A, hit = connectome_adjacency(["AVAL", "AVBL", None])
        >>> A.shape, hit, bool(A[0, 1] > 0)
        ((3, 3), ['AVAL', 'AVBL'], True)
    """
    from neurocircuits.circuit.connectome import from_connectome

    if isinstance(names, str):
        raise ValidationError("names must be a list of neuron names, not one string")
    c = from_connectome(connectome, neurons_only=True, layers=layers)
    dense = c.to_dense(signed=False).numpy().astype(np.float64)
    pos = [int(c.index(n)) if n is not None and n in c else -1 for n in names]  # type: ignore[arg-type]
    A = np.zeros((len(pos), len(pos)))
    hit = [i for i, p in enumerate(pos) if p >= 0]
    if hit:
        src = [pos[i] for i in hit]
        A[np.ix_(hit, hit)] = dense[np.ix_(src, src)]
    np.fill_diagonal(A, 0.0)
    return A, [str(names[i]) for i in hit]


def shuffled_adjacency(adjacency: np.ndarray, seed: int = 0, *, swaps_per_edge: float = 10.0) -> np.ndarray:
    """A degree-preserving shuffle of a directed, non-negative matrix ``A[pre, post]``.

    Directed double-edge swaps (``a -> b, c -> d`` becomes ``a -> d, c -> b``; no self-loops,
    no duplicate edges), as :func:`~neurocircuits.circuit.degree_preserving_shuffle` does on
    a :class:`~neurocircuits.circuit.Circuit`: every neuron keeps its in- and out-degree,
    and each edge's weight travels with its sender.

    Example:
        >>> a = np.eye(4, k=1)
        >>> float(shuffled_adjacency(a, seed=1).sum()), (shuffled_adjacency(a, seed=1) > 0).sum(1).tolist()
        (3.0, [1, 1, 1, 0])
    """
    from neurocircuits.circuit.builders import degree_preserving_shuffle
    from neurocircuits.circuit.core import Circuit

    a = np.asarray(adjacency, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValidationError(f"adjacency must be square (N, N), got shape {a.shape}")
    if not np.isfinite(a).all() or (a < 0).any():
        raise ValidationError("adjacency must hold finite, non-negative weights")
    pre, post = np.nonzero(a)
    circ = Circuit([f"n{i}" for i in range(a.shape[0])], pre, post, a[pre, post], np.zeros(pre.shape[0], np.int8))
    out = degree_preserving_shuffle(circ, seed=seed, swaps_per_edge=swaps_per_edge)
    return out.to_dense(signed=False).double().numpy()
