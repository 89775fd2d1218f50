"""Training-free classifiers and clustering scores on fixed features.

* :func:`knn_predict`: k-nearest-neighbour vote (Euclidean), chunked, on any torch device.
* :func:`prototype_predict`: nearest class mean.
* :func:`few_shot_accuracy`: nearest of ``shots`` random labelled templates per class, averaged over draws.
* :func:`cluster_accuracy`, :func:`cluster_scores`: clusterings scored against labels
  (accuracy after cluster-to-label assignment, ARI, AMI) with scikit-learn.
* :func:`kmeans_labels`, :func:`hdbscan_labels`: the two clustering back ends.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from neurocircuits.errors import ValidationError, check_finite


def _check_xy(ref_x: torch.Tensor, ref_y: torch.Tensor, x: torch.Tensor) -> None:
    if ref_x.ndim != 2 or x.ndim != 2 or ref_x.shape[1] != x.shape[1]:
        raise ValidationError(f"features must be 2-D with equal widths, got {tuple(ref_x.shape)} and {tuple(x.shape)}")
    if ref_y.shape != (ref_x.shape[0],):
        raise ValidationError(f"labels must have shape ({ref_x.shape[0]},), got {tuple(ref_y.shape)}")
    if ref_x.shape[0] == 0:
        raise ValidationError("no reference samples")
    check_finite("reference features", ref_x)
    check_finite("features", x)


def knn_predict(ref_x: torch.Tensor, ref_y: torch.Tensor, x: torch.Tensor, k: int | list[int] = 1, *,
                device: str | torch.device | None = None, chunk: int = 1024) -> dict[int, torch.Tensor]:
    """Predicted labels of ``x`` by a k-NN vote among ``(ref_x, ref_y)`` for each k.

    Ties in the vote go to the class of the nearest neighbour among the tied classes.

    Example:
        >>> ref = torch.tensor([[0.0], [1.0], [10.0]]); y = torch.tensor([0, 0, 1])
        >>> knn_predict(ref, y, torch.tensor([[9.0], [0.2]]), k=[1, 3])[1].tolist()
        [1, 0]
    """
    ks = [k] if isinstance(k, int) else list(k)
    if not ks or min(ks) < 1 or max(ks) > ref_x.shape[0]:
        raise ValidationError(f"k must be in 1..{ref_x.shape[0]}, got {ks}")
    _check_xy(ref_x, ref_y, x)
    dev = torch.device(device) if device is not None else ref_x.device
    rx, ry = ref_x.to(dev, torch.float32), ref_y.to(dev).long()
    n_cls = int(ry.max()) + 1
    rn = (rx * rx).sum(1)
    out: dict[int, list[torch.Tensor]] = {kk: [] for kk in ks}
    for s in range(0, x.shape[0], chunk):
        q = x[s:s + chunk].to(dev, torch.float32)
        d = rn[None, :] - 2.0 * q @ rx.T  # + |q|^2, constant per row
        idx = d.topk(max(ks), dim=1, largest=False).indices  # sorted nearest first
        lab = ry[idx]
        for kk in ks:
            votes = torch.zeros(q.shape[0], n_cls, device=dev)
            # rank bonus < 1 vote: ties go to the class met first (the nearest)
            w = 1.0 + (kk - torch.arange(kk, device=dev, dtype=torch.float32)) / (kk * (kk + 1.0))
            votes.scatter_add_(1, lab[:, :kk], w.expand(q.shape[0], kk).contiguous())
            out[kk].append(votes.argmax(1).cpu())
    return {kk: torch.cat(v) for kk, v in out.items()}


def prototype_predict(ref_x: torch.Tensor, ref_y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Nearest class mean (Euclidean).

    Example:
        >>> ref = torch.tensor([[0.0], [2.0], [10.0]]); y = torch.tensor([0, 0, 1])
        >>> prototype_predict(ref, y, torch.tensor([[7.0], [1.0]])).tolist()
        [1, 0]
    """
    _check_xy(ref_x, ref_y, x)
    ry = ref_y.to(ref_x.device).long()
    n_cls = int(ry.max()) + 1
    sums = torch.zeros(n_cls, ref_x.shape[1], device=ref_x.device).index_add_(0, ry, ref_x.float())
    cnt = torch.bincount(ry, minlength=n_cls).clamp(min=1).float()
    protos = sums / cnt[:, None]
    return torch.cdist(x.to(ref_x.device).float(), protos).argmin(1).cpu()


def few_shot_accuracy(ref_x: torch.Tensor, ref_y: torch.Tensor, x: torch.Tensor, y: torch.Tensor, shots: int,
                      draws: int = 20, seed: int = 0, device: str | torch.device | None = None) -> float:
    """Mean accuracy of 1-NN among ``shots`` random templates per class, over ``draws`` template draws.

    Example:
        >>> ref = torch.tensor([[0.0], [0.1], [5.0], [5.1]]); y = torch.tensor([0, 0, 1, 1])
        >>> few_shot_accuracy(ref, y, torch.tensor([[0.2], [4.0]]), torch.tensor([0, 1]), shots=1, draws=3)
        1.0
    """
    if shots < 1 or draws < 1:
        raise ValidationError(f"need shots >= 1 and draws >= 1, got {shots}, {draws}")
    ry = ref_y.cpu().long()
    classes = torch.unique(ry)
    counts = torch.bincount(ry)[classes]
    if int(counts.min()) < shots:
        raise ValidationError(f"a class has only {int(counts.min())} reference samples, fewer than shots={shots}")
    g = torch.Generator().manual_seed(int(seed))
    accs = []
    for _ in range(draws):
        idx = torch.cat([torch.nonzero(ry == c).view(-1)[torch.randperm(int(n), generator=g)[:shots]]
                         for c, n in zip(classes.tolist(), counts.tolist())])
        pred = knn_predict(ref_x[idx], ry[idx], x, 1, device=device)[1]
        accs.append(float((pred == y.cpu()).float().mean()))
    return float(np.mean(accs))


def cluster_accuracy(y_true: np.ndarray, y_pred: np.ndarray, mapping: Literal["hungarian", "majority"] = "hungarian") -> float:
    """Accuracy after assigning clusters to labels.

    ``"hungarian"``: one-to-one assignment maximising agreement (unmatched clusters count as
    errors); ``"majority"``: each cluster takes its majority label. Noise (label -1) is wrong.

    Example:
        >>> cluster_accuracy(np.array([0, 0, 1, 1]), np.array([5, 5, 3, 3]))
        1.0
    """
    from scipy.optimize import linear_sum_assignment

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValidationError(f"need two equal, non-empty label vectors, got {y_true.shape} and {y_pred.shape}")
    if mapping not in ("hungarian", "majority"):
        raise ValidationError(f"mapping must be 'hungarian' or 'majority', got {mapping!r}")
    keep = y_pred >= 0
    if not keep.any():
        return 0.0
    clusters, ci = np.unique(y_pred[keep], return_inverse=True)
    labels, li = np.unique(y_true[keep], return_inverse=True)
    cont = np.zeros((clusters.size, labels.size), dtype=np.int64)
    np.add.at(cont, (ci, li), 1)
    if mapping == "majority":
        return float(cont.max(1).sum()) / y_true.size
    r, c = linear_sum_assignment(-cont)
    return float(cont[r, c].sum()) / y_true.size


def cluster_scores(y_true: np.ndarray, y_pred: np.ndarray, mapping: Literal["hungarian", "majority"] = "hungarian") -> dict[str, float]:
    """``acc`` (see :func:`cluster_accuracy`), ``ari``, ``ami`` and ``frac_clustered`` (not noise)."""
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return {"acc": cluster_accuracy(y_true, y_pred, mapping), "ari": float(adjusted_rand_score(y_true, y_pred)),
            "ami": float(adjusted_mutual_info_score(y_true, y_pred)),
            "frac_clustered": float((y_pred >= 0).mean())}


def kmeans_labels(x: np.ndarray, k: int = 10, seed: int = 0, n_init: int = 4) -> np.ndarray:
    """k-means (scikit-learn, k-means++) cluster labels."""
    from sklearn.cluster import KMeans

    check_finite("features", x)
    return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(np.asarray(x, dtype=np.float32))


def hdbscan_labels(x: np.ndarray, pca_dim: int = 50, min_cluster_size: int | None = None,
                   seed: int = 0) -> np.ndarray:
    """HDBSCAN (scikit-learn) on a PCA projection; -1 marks noise.

    ``min_cluster_size`` defaults to 1% of the points (at least 5).
    """
    from sklearn.cluster import HDBSCAN
    from sklearn.decomposition import PCA

    check_finite("features", x)
    x = np.asarray(x, dtype=np.float64)
    dim = min(pca_dim, x.shape[0], x.shape[1]) if pca_dim else 0
    if dim and x.shape[1] > dim:
        x = PCA(dim, random_state=seed).fit_transform(x)
    mcs = min_cluster_size or max(5, x.shape[0] // 100)
    return HDBSCAN(min_cluster_size=mcs, copy=True, n_jobs=-1).fit_predict(x)
