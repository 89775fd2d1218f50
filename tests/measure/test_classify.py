"""Tests of the training-free classifiers and clustering scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from neurocircuits.errors import ValidationError
from neurocircuits.measure.classify import (
    cluster_accuracy, cluster_scores, hdbscan_labels, kmeans_labels, knn_predict, prototype_predict,
)


def test_knn_matches_sklearn() -> None:
    g = torch.Generator().manual_seed(0)
    ref = torch.randn(300, 8, generator=g)
    y = (ref[:, 0] > 0).long() + 2 * (ref[:, 1] > 0).long()
    x = torch.randn(200, 8, generator=g)
    ours = knn_predict(ref, y, x, k=[1, 5], chunk=64)
    for k in (1, 5):
        sk = KNeighborsClassifier(k).fit(ref.numpy(), y.numpy())
        # sklearn breaks vote ties by the smallest label; compare only where the vote is strict
        proba = sk.predict_proba(x.numpy())
        top = np.sort(proba, 1)
        strict = top[:, -1] > top[:, -2]
        assert strict.mean() > 0.7
        np.testing.assert_array_equal(ours[k].numpy()[strict], sk.predict(x.numpy())[strict])


def test_knn_tie_goes_to_nearest() -> None:
    ref = torch.tensor([[0.0], [1.0], [3.0], [4.0]])
    y = torch.tensor([1, 0, 1, 0])
    assert knn_predict(ref, y, torch.tensor([[0.9]]), k=2)[2].tolist() == [0]


def test_prototype_and_errors() -> None:
    ref = torch.tensor([[0.0, 0.0], [0.0, 2.0], [10.0, 10.0]])
    y = torch.tensor([0, 0, 1])
    assert prototype_predict(ref, y, torch.tensor([[0.0, 1.0], [9.0, 9.0]])).tolist() == [0, 1]
    with pytest.raises(ValidationError, match="widths"):
        knn_predict(ref, y, torch.zeros(2, 3))
    with pytest.raises(ValidationError, match="k must be"):
        knn_predict(ref, y, torch.zeros(2, 2), k=4)
    with pytest.raises(ValidationError, match="NaN"):
        knn_predict(ref, y, torch.tensor([[float("nan"), 0.0]]))


def test_cluster_scores_reference_values() -> None:
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    pred = np.array([4, 4, 1, 1, 1, 1, 7, -1])
    # hungarian: 4->0 (2), 1->1 (3), 7->2 (1) = 6/8 ; majority: 4->0 (2), 1->1 (3), 7->2 (1) = 6/8
    assert cluster_accuracy(y, pred) == 0.75
    assert cluster_accuracy(y, np.array([0, 0, 0, 0, 0, 0, 0, 0])) == 3 / 8
    assert cluster_accuracy(y, np.array([0, 1, 2, 3, 4, 5, 6, 7]), mapping="majority") == 1.0
    s = cluster_scores(y, y + 5)
    assert s["acc"] == 1.0 and s["ari"] == pytest.approx(1.0) and s["ami"] == pytest.approx(1.0)
    assert cluster_scores(y, pred)["frac_clustered"] == 7 / 8
    with pytest.raises(ValidationError):
        cluster_accuracy(y, pred[:3])


def test_clustering_back_ends_separate_blobs() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 20, (3, 60))
    y = np.repeat(np.arange(3), 100)
    x = centres[y] + rng.normal(0, 1, (300, 60))
    assert cluster_scores(y, kmeans_labels(x, 3, seed=0))["ari"] > 0.99
    hd = cluster_scores(y, hdbscan_labels(x, pca_dim=10), mapping="majority")
    assert hd["acc"] > 0.95


def test_few_shot_accuracy() -> None:
    from neurocircuits.measure.classify import few_shot_accuracy

    g = torch.Generator().manual_seed(1)
    ref = torch.randn(200, 5, generator=g)
    y = (ref[:, 0] > 0).long()
    x = torch.randn(100, 5, generator=g)
    yt = (x[:, 0] > 0).long()
    one, many = (few_shot_accuracy(ref, y, x, yt, s, draws=30, seed=0) for s in (1, 50))
    assert 0.5 < one < many <= 1.0  # more templates help on average
    # with every reference of the smaller class as templates
    full = few_shot_accuracy(ref, y, x, yt, int(torch.bincount(y).min()), draws=1)
    assert 0.5 < full <= 1.0
    with pytest.raises(ValidationError, match="fewer than shots"):
        few_shot_accuracy(ref, y, x, yt, 1000)


def test_select_on_validation_picks_best_setting_and_k_with_ties_to_the_first() -> None:
    from neurocircuits.measure.classify import select_on_validation

    g = torch.Generator().manual_seed(0)
    y = torch.arange(40) % 2
    signal = y[:, None].float() * 4 + torch.randn(40, 3, generator=g) * 0.3
    noise = torch.randn(40, 3, generator=g)
    cands = {"noise": (noise[:30], noise[30:]), "signal": (signal[:30], signal[30:]),
             "signal-copy": (signal[:30].clone(), signal[30:].clone())}
    s = select_on_validation(cands, y[:30], y[30:], ks=[3, 1])
    assert s.key == "signal" and s.k == 1 and s.val_acc == 1.0  # the copy ties: the earlier setting wins
    assert set(s.scores) == {(c, k) for c in cands for k in (1, 3)}
    assert s.scores[("noise", 1)] < 1.0
    with pytest.raises(ValidationError, match="at least one"):
        select_on_validation({}, y, y)


def test_evaluate_representation_rows_and_collisions() -> None:
    from neurocircuits.measure.classify import count_collisions, evaluate_representation, knn_accuracy

    g = torch.Generator().manual_seed(1)
    centers = torch.randn(10, 5, generator=g) * 6
    y = torch.arange(200) % 10
    x = centers[y] + torch.randn(200, 5, generator=g) * 0.5
    rows = evaluate_representation(x[:150], y[:150], x[150:], y[150:], ks=[1, 3], k_chosen=5, shots=[1],
                                   template_draws=3, density=False)
    methods = [r["method"] for r in rows]
    assert methods == ["P3 k-NN k=1", "P3 k-NN k=3", "P3 k-NN (k chosen on val)", "P3 nearest prototype",
                       "P2 1-shot templates", "P1 k-means (k=10)"]
    assert all(r["test_acc"] > 0.9 for r in rows)
    assert rows[2]["test_acc"] == knn_accuracy(x[:150], y[:150], x[150:], y[150:], 5)[5]
    imgs = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert count_collisions(torch.tensor([[1.0], [2.0], [1.0], [3.0]]), imgs) == 0  # duplicates are one image
    assert count_collisions(torch.tensor([[1.0], [1.0], [1.0], [3.0]]), imgs) == 1
