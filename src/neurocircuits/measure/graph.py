"""Graph statistics of circuits and weight matrices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import scipy.sparse as sp
import torch

from neurocircuits.errors import ValidationError, check_finite

if TYPE_CHECKING:
    from neurocircuits.circuit.core import Circuit


def _square(a) -> np.ndarray | sp.spmatrix:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    if not sp.issparse(a):
        a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValidationError(f"expected a square matrix, got shape {a.shape}")
    check_finite("matrix", a.data if sp.issparse(a) else a)
    return a


def spectral_radius(a, method: Literal["auto", "dense", "sparse"] = "auto") -> float:
    """Largest eigenvalue modulus of a square matrix (dense or ``scipy.sparse``).

    ``method``: ``"dense"`` (LAPACK, all eigenvalues), ``"sparse"`` (ARPACK, leading
    eigenvalues only), or ``"auto"`` (sparse input with more than 2000 rows -> sparse).

    Example:
        >>> spectral_radius(np.array([[0.0, 2.0], [2.0, 0.0]]))
        2.0
    """
    a = _square(a)
    n = a.shape[0]
    if n == 0:
        return 0.0
    if method not in ("auto", "dense", "sparse"):
        raise ValidationError(f"method must be 'auto', 'dense' or 'sparse', got {method!r}")
    if sp.issparse(a) and a.nnz == 0:
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
    if sp.issparse(a):
        a = a.toarray()
    return float(np.abs(np.linalg.eigvals(a)).max())


def effective_rank(a, eps: float = 1e-12) -> float:
    """Effective rank of Roy & Vetterli (2007): ``exp(H(p))``, ``p`` = normalised singular values.

    Equals the rank for a matrix with equal non-zero singular values; lies in [1, rank].

    Example:
        >>> round(effective_rank(np.eye(4)), 6)
        4.0
    """
    a = _square(a) if not (hasattr(a, "ndim") and a.ndim == 2 and a.shape[0] != a.shape[1]) else np.asarray(a, float)
    if sp.issparse(a):
        a = a.toarray()
    s = np.linalg.svd(a, compute_uv=False)
    total = s.sum()
    if total <= eps:
        return 0.0
    p = s[s > eps * total] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def reciprocity(a) -> float:
    """Fraction of directed edges (off-diagonal, non-zero) whose reverse edge also exists."""
    a = _square(a)
    b = sp.csr_matrix(a) if not sp.issparse(a) else a.tocsr()
    b = (b != 0).astype(np.int8)
    b.setdiag(0)
    b.eliminate_zeros()
    m = b.nnz
    if m == 0:
        return float("nan")
    return float(b.multiply(b.T).nnz / m)


def degree_distribution(degrees: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values and counts of a degree sequence."""
    vals, counts = np.unique(np.asarray(degrees), return_counts=True)
    return vals, counts


def circuit_stats(c: "Circuit") -> dict[str, float]:
    """Neurons, synapses, E/I fraction, degrees, reciprocity, effective rank, spectral radius.

    Synapse numbers are sums of counts (``abs(weight)``); electrical synapses are counted
    once per pair (they are stored in both directions). Rank and radius use the signed
    chemical matrix.
    """
    chem, el = c.edge_mask("chemical"), c.edge_mask("electrical")
    indeg, outdeg = c.in_degree("chemical"), c.out_degree("chemical")
    a = c.to_scipy("chemical")
    return {
        "neurons": c.n_neurons,
        "chemical_edges": int(chem.sum()),
        "chemical_synapses": float(c.counts[chem].sum()),
        "electrical_pairs": int(el.sum()) // 2,
        "electrical_synapses": float(c.counts[el].sum()) / 2,
        "frac_excitatory": c.ei_fraction(),
        "frac_sign_known": float((c.sign != 0).mean()) if c.n_neurons else float("nan"),
        "mean_in_degree": float(indeg.mean()) if c.n_neurons else 0.0,
        "max_in_degree": int(indeg.max()) if c.n_neurons else 0,
        "max_out_degree": int(outdeg.max()) if c.n_neurons else 0,
        "density": float(chem.sum()) / max(c.n_neurons * (c.n_neurons - 1), 1),
        "reciprocity": reciprocity(a),
        "effective_rank": effective_rank(a.toarray()),
        "spectral_radius": spectral_radius(a),
        "spectral_radius_unsigned": spectral_radius(c.to_scipy("chemical", signed=False)),
    }
