"""Fold protocols on the real Flavell recordings: chronological, held-out worms never leak; dt checks."""

from __future__ import annotations

import numpy as np
import pytest

from neurocircuits.data.worm_protocols import leave_one_worm_out_folds, recording_windows, within_worm_fold
from neurocircuits.data.worms import WormRecording, flavell_recordings, shared_names
from neurocircuits.errors import ValidationError

W, H = 6, 10


@pytest.fixture(scope="module")
def named():
    recs = flavell_recordings(named_only=True)
    return recs, shared_names(recs)


def test_within_worm_fold_is_chronological(named):
    recs, names = named
    fold = within_worm_fold(recs, names, W, H)
    for k, r in enumerate(recs):
        tr = fold.train.start[fold.train.worm == k]
        va = fold.val.start[fold.val.worm == k]
        te = fold.test[k].start
        # every training frame (input or target) precedes every validation frame, which precede the test frames
        assert tr.max() + W + 1 <= va.min() - W and va.max() + W + 1 <= te.min() - W
        assert te.max() + W + H <= r.n_frames
    assert fold.train.x.shape[1:] == (W, len(names)) and fold.test[0].y.shape[1:] == (H, len(names))
    assert fold.test_worms == [r.name for r in recs] and fold.dt == pytest.approx(0.6, abs=2e-3)
    # z-scored on training frames: the training inputs have mean ~0 and sd ~1 per neuron
    z = fold.train_traces[0]
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(0, ddof=1), 1, atol=1e-3)
    # strides keep every k-th window of the same segments
    thin = within_worm_fold(recs, names, W, H, train_stride=2, test_stride=3)
    np.testing.assert_array_equal(thin.train.start[thin.train.worm == 0], fold.train.start[fold.train.worm == 0][::2])
    np.testing.assert_array_equal(thin.test[0].start, fold.test[0].start[::3])


def test_leave_one_worm_out_holds_the_worm_out(named):
    recs, names = named
    folds = leave_one_worm_out_folds(recs, names, W, H, held_out=[0, 1])
    assert [f.name for f in folds] == [recs[0].name, recs[1].name]
    for h, f in enumerate(folds):
        assert h not in set(f.train.worm.tolist()) | set(f.val.worm.tolist())
        assert set(f.test[0].worm.tolist()) == {h} and len(f.test[0]) == recs[h].n_frames - W - H + 1
        assert set(f.train.labels.tolist()) == {0, 1}
        # velocity is scaled by the training worms only
        v = np.concatenate([recs[k].behaviour["velocity"] for k in range(len(recs)) if k != h])
        assert f.velocity_scale[0] != pytest.approx(float(np.mean(recs[h].behaviour["velocity"])))
        assert abs(f.velocity_scale[0] - v.mean()) < 0.05 * abs(v).max()
    assert len(leave_one_worm_out_folds(recs[:3], names, W, H)) == 3
    with pytest.raises(ValidationError, match="held_out"):
        leave_one_worm_out_folds(recs, names, W, H, held_out=[7])
    with pytest.raises(ValidationError, match="two recordings"):
        leave_one_worm_out_folds(recs[:1], names, W, H)


def test_recordings_of_another_dt_are_refused_and_unnamed_windows():
    rng = np.random.default_rng(0)
    a = WormRecording(rng.normal(size=(300, 4)), 0.6, ["AVAL", "AVAR", None, None], name="a")
    b = WormRecording(rng.normal(size=(300, 4)), 0.737, ["AVAL", "AVAR", None, None], name="b")
    with pytest.raises(ValidationError, match="resample"):
        leave_one_worm_out_folds([a, b], ["AVAL", "AVAR"], W, H)
    with pytest.raises(ValidationError, match="window"):
        within_worm_fold([a], ["AVAL"], 0, H)
    w = recording_windows(a, W, 5, stride=4)
    assert w.x.shape == (len(range(0, 300 - W - 5 + 1, 4)), W, 4) and np.all(w.labels == -1)
    assert np.isnan(w.velocity).all()  # no velocity channel: NaN, not an error
