"""Graph statistics: of weight matrices (dense, ``scipy.sparse`` or torch) and of circuits.

The matrix functions (:func:`spectral_radius`, :func:`effective_rank`, :func:`reciprocity`,
:func:`degree_distribution`) take any square matrix; :func:`circuit_stats` summarises a
:class:`~neurocircuits.circuit.Circuit`. The methods ``Circuit.spectral_radius`` and friends
call these functions; :mod:`neurocircuits.measure.graph` re-exports the matrix functions.

Which synapses: every circuit statistic takes ``kind=`` and defaults to ``"chemical"``
(the directed layer; gap junctions are symmetric and would hide directed structure);
``kind=None`` uses chemical and electrical synapses together (their weights summed where
both connect the same pair).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.sparse as sp

from neurocircuits.errors import ValidationError, check_finite

if TYPE_CHECKING:
    from neurocircuits.circuit.core import Circuit, SynapseKind

EigenMethod = Literal["auto", "dense", "sparse"]


def _matrix(a: Any, square: bool = True) -> np.ndarray | sp.spmatrix:
    """A float64 NumPy array or a scipy sparse matrix, checked: 2-D, square, finite."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # a torch tensor (no torch import needed)
        a = a.detach().cpu()
        if getattr(a, "is_sparse", False):
            a = a.to_dense()
        a = a.numpy()
    if not sp.issparse(a):
        try:
            a = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise ValidationError(f"expected a numeric matrix, got {type(a).__name__}: {e}") from e
    if a.ndim != 2 or (square and a.shape[0] != a.shape[1]):
        raise ValidationError(f"expected a {'square ' if square else ''}matrix, got shape {a.shape}")
    check_finite("matrix", a.data if sp.issparse(a) else a)
    return a


def spectral_radius(a: Any, method: EigenMethod = "auto") -> float:
    """Largest eigenvalue modulus of a square matrix (dense, ``scipy.sparse`` or torch).

    ``method``: ``"dense"`` (LAPACK, all eigenvalues), ``"sparse"`` (ARPACK, leading
    eigenvalues only), or ``"auto"`` (sparse input with more than 2000 rows -> sparse).

    Example:
        >>> round(spectral_radius(np.array([[0.0, 2.0], [2.0, 0.0]])), 12)
        2.0
    """
    if method not in ("auto", "dense", "sparse"):
        raise ValidationError(f"method must be 'auto', 'dense' or 'sparse', got {method!r}")
    a = _matrix(a)
    n = a.shape[0]
    if n == 0 or (sp.issparse(a) and a.nnz == 0):
        return 0.0
    if method == "sparse" or (method == "auto" and sp.issparse(a) and n > 2000):
        a = sp.csr_matrix(a)
        if n > 7:
            from scipy.sparse.linalg import eigs

            # deterministic start vector; a few extra eigenvalues make ARPACK robust to
            # near-degenerate leading pairs (common in random and real connectomes)
            vals = eigs(a.astype(np.float64), k=6, which="LM", return_eigenvectors=False,
                        v0=np.ones(n) / np.sqrt(n), ncv=min(n, 60), tol=1e-12, maxiter=n * 50)
            return float(np.abs(vals).max())
    dense = a.toarray() if sp.issparse(a) else a
    return float(np.abs(np.linalg.eigvals(dense)).max())


def effective_rank(a: Any, eps: float = 1e-12) -> float:
    """Effective rank of Roy & Vetterli (2007): ``exp(H(p))``, ``p`` = normalised singular values.

    Equals the rank for a matrix with equal non-zero singular values; lies in [1, rank]
    (0 for the zero matrix). Rectangular matrices are accepted.

    Example:
        >>> round(effective_rank(np.eye(4)), 6)
        4.0
    """
    a = _matrix(a, square=False)
    dense = a.toarray() if sp.issparse(a) else a
    if dense.size == 0:
        return 0.0
    s = np.linalg.svd(dense, compute_uv=False)
    total = s.sum()
    if total <= eps:
        return 0.0
    p = s[s > eps * total] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def reciprocity(a: Any) -> float:
    """Fraction of directed edges (off-diagonal, non-zero) whose reverse edge also exists.

    Example:
        >>> round(reciprocity(np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]])), 4)
        0.6667
    """
    a = _matrix(a)
    b = sp.csr_matrix(a) if not sp.issparse(a) else sp.csr_matrix(a, copy=True)
    b = (b != 0).astype(np.int8)
    b.setdiag(0)
    b.eliminate_zeros()
    m = b.nnz
    if m == 0:
        return float("nan")
    return float(b.multiply(b.T).nnz / m)


def degree_distribution(degrees: Any) -> tuple[np.ndarray, np.ndarray]:
    """Values and counts of a degree sequence.

    Example:
        >>> vals, counts = degree_distribution([1, 3, 1, 2])
        >>> vals.tolist(), counts.tolist()
        ([1, 2, 3], [2, 1, 1])
    """
    vals, counts = np.unique(np.asarray(degrees), return_counts=True)
    return vals, counts


def circuit_stats(c: "Circuit", kind: "SynapseKind | None" = "chemical") -> dict[str, float]:
    """Neurons, synapses, E/I fraction, degrees, reciprocity, effective rank, spectral radius.

    Synapse numbers are sums of counts (``abs(weight)``); electrical synapses are counted
    once per pair (they are stored in both directions; a neuron's gap junction onto itself
    is stored once and counted once). The structural statistics
    (degrees, density, reciprocity, effective rank, spectral radius) are those of the
    synapses of ``kind`` (default the signed chemical matrix; ``None``: both kinds), the
    same default as ``Circuit.spectral_radius`` and ``Circuit.effective_rank``.

    Example:
        >>> from neurocircuits.circuit import Circuit
        >>> c = Circuit(["a", "b", "c"], pre=[0, 1, 2], post=[1, 2, 0], weight=[2.0, 2.0, 2.0])
        >>> s = circuit_stats(c)
        >>> s["chemical_synapses"], round(s["spectral_radius"], 6), s["reciprocity"]
        (6.0, 2.0, 0.0)
    """
    chem, el = c.edge_mask("chemical"), c.edge_mask("electrical")
    el_self = el & (c.pre == c.post)  # a gap junction of a neuron onto itself is stored once
    indeg, outdeg = c.in_degree(kind), c.out_degree(kind)
    a = c.to_scipy(kind)
    n = c.n_neurons
    n_edges = int((indeg.sum()))
    return {
        "neurons": n,
        "chemical_edges": int(chem.sum()),
        "chemical_synapses": float(c.counts[chem].sum()),
        "electrical_pairs": int(el.sum() + el_self.sum()) // 2,
        "electrical_synapses": float(c.counts[el].sum() + c.counts[el_self].sum()) / 2,
        "frac_excitatory": c.ei_fraction(),
        "frac_sign_known": float((c.sign != 0).mean()) if n else float("nan"),
        "mean_in_degree": float(indeg.mean()) if n else 0.0,
        "max_in_degree": int(indeg.max()) if n else 0,
        "max_out_degree": int(outdeg.max()) if n else 0,
        "density": float(n_edges) / max(n * (n - 1), 1),
        "reciprocity": reciprocity(a),
        "effective_rank": effective_rank(a),
        "spectral_radius": spectral_radius(a),
        "spectral_radius_unsigned": spectral_radius(c.to_scipy(kind, signed=False)),
    }
