import numpy as np
import pytest
import scipy.sparse as sp

from neurocircuits.errors import ValidationError
from neurocircuits.measure import effective_rank, reciprocity, spectral_radius


def test_effective_rank_reference_values():
    assert effective_rank(np.eye(5)) == pytest.approx(5.0)
    assert effective_rank(np.outer([1, 2, 3], [1, 0, 1])) == pytest.approx(1.0)
    # singular values 3 and 1: p = (0.75, 0.25), exp(H) = 0.75^-0.75 * 0.25^-0.25
    assert effective_rank(np.diag([3.0, 1.0])) == pytest.approx(0.75 ** -0.75 * 0.25 ** -0.25)
    assert effective_rank(np.zeros((3, 3))) == 0.0


def test_spectral_radius_dense_and_sparse_agree():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 400)) * (rng.random((400, 400)) < 0.02)
    exact = np.abs(np.linalg.eigvals(a)).max()
    assert spectral_radius(sp.csr_matrix(a)) == pytest.approx(exact)  # dense path
    assert spectral_radius(sp.csr_matrix(a), method="sparse") == pytest.approx(exact, rel=1e-8)
    assert spectral_radius(a, method="sparse") == pytest.approx(exact, rel=1e-8)


def test_reciprocity():
    a = np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]])
    assert reciprocity(a) == pytest.approx(2 / 3)
    assert np.isnan(reciprocity(np.zeros((2, 2))))


def test_bad_matrices():
    with pytest.raises(ValidationError, match="square"):
        spectral_radius(np.ones((2, 3)))
    with pytest.raises(ValidationError, match="method"):
        spectral_radius(np.eye(2), method="fast")
    with pytest.raises(ValidationError, match="NaN"):
        spectral_radius(np.array([[np.nan]]))
