"""Training-free classifiers and clustering scores on fixed features.

* :func:`knn_predict`: k-nearest-neighbour vote (Euclidean), chunked, on any torch device.
* :func:`prototype_predict`: nearest class mean.
* :func:`few_shot_accuracy`: nearest of ``shots`` random labelled templates per class, averaged over draws.
* :func:`cluster_accuracy`, :func:`cluster_scores`: clusterings scored against labels
  (accuracy after cluster-to-label assignment, ARI, AMI) with scikit-learn.
* :func:`kmeans_labels`, :func:`hdbscan_labels`: the two clustering back ends.
* :func:`knn_accuracy`, :func:`prototype_accuracy`: the accuracies of the two classifiers.
* :func:`select_on_validation`: choose a representation and k on a validation split.
* :func:`evaluate_representation`: every protocol (P3 k-NN / prototype, P2 templates,
  P1 clustering) on one representation, as table rows.
* :func:`count_collisions`: distinct inputs that share a representation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

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


def knn_accuracy(ref_x: torch.Tensor, ref_y: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                 k: int | list[int] = 1, *, device: str | torch.device | None = None) -> dict[int, float]:
    """Accuracy of :func:`knn_predict` for each k.

    Example:
        >>> ref = torch.tensor([[0.0], [1.0], [10.0]]); y = torch.tensor([0, 0, 1])
        >>> knn_accuracy(ref, y, torch.tensor([[9.0], [0.2]]), torch.tensor([1, 1]), k=[1])
        {1: 0.5}
    """
    pred = knn_predict(ref_x, ref_y, x, k, device=device)
    yc = y.cpu()
    return {kk: float((p == yc).float().mean()) for kk, p in pred.items()}


def prototype_accuracy(ref_x: torch.Tensor, ref_y: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of :func:`prototype_predict` (nearest class mean)."""
    return float((prototype_predict(ref_x, ref_y, x) == y.cpu()).float().mean())


@dataclass(frozen=True)
class Selection:
    """The setting chosen on validation: its key, the k of the k-NN vote, and the scores.

    ``scores`` maps every (setting key, k) tried to its validation accuracy.
    """

    key: Any
    k: int
    val_acc: float
    scores: dict[tuple[Any, int], float]


def select_on_validation(candidates: Mapping[Any, tuple[torch.Tensor, torch.Tensor]], train_y: torch.Tensor,
                         val_y: torch.Tensor, ks: Sequence[int] = (1, 3, 5), *,
                         device: str | torch.device | None = None) -> Selection:
    """Choose a representation (and k) by k-NN accuracy on a validation split.

    ``candidates`` maps a setting key to ``(train_features, val_features)``; the training
    features are the references, the validation features are classified. The best
    (setting, k) wins; ties go to the earlier setting, then the smaller k. The test split is
    never looked at.

    Example:
        >>> tr = torch.tensor([[0.0], [1.0], [10.0], [11.0]]); ytr = torch.tensor([0, 0, 1, 1])
        >>> va = torch.tensor([[0.5], [10.5]]); yva = torch.tensor([0, 1])
        >>> noise = torch.tensor([[5.0], [4.0], [6.0], [3.0]]), torch.tensor([[5.5], [3.5]])
        >>> s = select_on_validation({"noise": noise, "signal": (tr, va)}, ytr, yva, ks=[1, 3])
        >>> s.key, s.k, s.val_acc
        ('signal', 1, 1.0)
    """
    if not candidates:
        raise ValidationError("select_on_validation needs at least one candidate")
    ks = sorted(set(int(k) for k in ks))
    scores: dict[tuple[Any, int], float] = {}
    best: tuple[float, Any, int] | None = None
    for key, (ftr, fva) in candidates.items():
        accs = knn_accuracy(ftr, train_y, fva, val_y, ks, device=device)
        for k in ks:
            scores[(key, k)] = accs[k]
            if best is None or accs[k] > best[0]:
                best = (accs[k], key, k)
    assert best is not None
    return Selection(best[1], best[2], best[0], scores)


def count_collisions(features: torch.Tensor, images: torch.Tensor) -> int:
    """Distinct images minus distinct feature vectors among them (0 = uniquely encoded).

    Example:
        >>> imgs = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
        >>> count_collisions(torch.tensor([[1.0], [1.0], [1.0]]), imgs)
        1
    """
    if features.shape[0] != images.shape[0]:
        raise ValidationError(f"features ({features.shape[0]}) and images ({images.shape[0]}) differ in number")
    if images.shape[0] == 0:
        return 0
    _, inv = torch.unique(images.reshape(images.shape[0], -1), dim=0, return_inverse=True)
    reps = torch.zeros(int(inv.max()) + 1, dtype=torch.long).scatter_(0, inv, torch.arange(inv.numel()))
    return int(reps.numel() - torch.unique(features[reps], dim=0).shape[0])


def evaluate_representation(ref_x: torch.Tensor, ref_y: torch.Tensor, x: torch.Tensor, y: torch.Tensor, *,
                            ks: Sequence[int] = (1, 3), k_chosen: int | None = None, shots: Sequence[int] = (1, 10),
                            template_draws: int = 20, n_cluster: int | None = None, density: bool = True,
                            seed: int = 0, device: str | torch.device | None = None) -> list[dict[str, Any]]:
    """Every training-free protocol on one representation, as table rows (``method``, scores).

    * P3 (labels as references, no weights): k-NN for each of ``ks`` and ``k_chosen`` (a k
      chosen beforehand on validation), and the nearest class mean;
    * P2: the nearest of ``s`` random labelled templates per class, for each ``s`` in
      ``shots`` (mean over ``template_draws`` draws, generator seed 0 so that every
      representation sees the same templates);
    * P1 (unsupervised; labels only score): k-means (k = 10, ``seed``) and, if ``density``,
      HDBSCAN on PCA-50, on the first ``n_cluster`` samples of ``x``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> ref = torch.cat([torch.randn(20, 2, generator=g), torch.randn(20, 2, generator=g) + 8])
        >>> ry = torch.tensor([0] * 20 + [1] * 20)
        >>> rows = evaluate_representation(ref, ry, ref[::4], ry[::4], ks=[1], shots=[1], density=False)
        >>> [(r["method"], r["test_acc"]) for r in rows][:2]
        [('P3 k-NN k=1', 1.0), ('P3 nearest prototype', 1.0)]
    """
    rows: list[dict[str, Any]] = []
    kk = sorted(set(int(k) for k in ks) | ({int(k_chosen)} if k_chosen is not None else set()))
    acc = knn_accuracy(ref_x, ref_y, x, y, kk, device=device)
    rows += [dict(method=f"P3 k-NN k={k}", test_acc=acc[k]) for k in sorted(set(int(k) for k in ks))]
    if k_chosen is not None:
        rows.append(dict(method="P3 k-NN (k chosen on val)", test_acc=acc[int(k_chosen)]))
    rows.append(dict(method="P3 nearest prototype", test_acc=prototype_accuracy(ref_x.to(device or "cpu"), ref_y, x, y)))
    rows += [dict(method=f"P2 {s}-shot templates",
                  test_acc=few_shot_accuracy(ref_x, ref_y, x, y, s, template_draws, seed=0, device=device))
             for s in shots]
    nc = x.shape[0] if n_cluster is None else min(int(n_cluster), x.shape[0])
    xc, yc = x[:nc].cpu().numpy(), y[:nc].cpu().numpy()
    km = cluster_scores(yc, kmeans_labels(xc, 10, seed=seed))
    rows.append(dict(method="P1 k-means (k=10)", test_acc=km["acc"], ari=km["ari"], ami=km["ami"],
                     frac_clustered=km["frac_clustered"]))
    if density:
        hd = cluster_scores(yc, hdbscan_labels(xc, pca_dim=50, seed=seed), mapping="majority")
        rows.append(dict(method="P1 HDBSCAN (PCA-50)", test_acc=hd["acc"], ari=hd["ari"], ami=hd["ami"],
                         frac_clustered=hd["frac_clustered"]))
    return rows
