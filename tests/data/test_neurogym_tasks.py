"""The NeuroGym-style task generators: timings, input channels, labels, seeding."""

from __future__ import annotations

import pytest
import torch

from neurocircuits.data import TASKS, get_task
from neurocircuits.errors import UnknownNameError, ValidationError


@pytest.mark.parametrize("name", list(TASKS))
def test_shapes_periods_and_labels(name: str) -> None:
    task = get_task(name)
    x, y = task.batch(512, seed=0)
    assert x.shape == (512, 8, task.n_in) and y.shape == (512, 8) and x.dtype == torch.float32
    assert task.decision_steps == (7,)
    assert bool((y[:, :7] == 0).all())                          # fixate until the decision
    assert set(y[:, 7].tolist()) == {1, 2}
    assert 0.4 < float((y[:, 7] == 1).float().mean()) < 0.6
    spans = sorted(v for v in task.periods.values() if v[1] > v[0])
    assert spans[0][0] == 0 and spans[-1][1] == 8 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    x2, y2 = task.batch(512, seed=0)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(x, task.batch(512, seed=1)[0])


def test_2af_evidence_points_at_the_label() -> None:
    x, y = get_task("2AF").batch(4000, seed=1)
    assert bool((x[:, :7, 0] > 0.4).float().mean() > 0.99) and float(x[:, 7].abs().max()) == 0.0
    diff = (x[:, :7, 1] - x[:, :7, 2]).mean(1)
    strong = diff.abs() > 0.3                                     # 51.2 % coherence trials
    assert bool(((diff[strong] > 0) == (y[strong, 7] == 1)).all())
    noise = (x[:, :7, 0] - 1).std()
    assert float(noise) == pytest.approx(0.1414, rel=0.05)


def test_dms_match_means_same_test_and_sample() -> None:
    x, y = get_task("DMS").batch(2000, seed=2)
    sample, test = x[:, 0, 1:], x[:, 6, 1:]
    same = ((sample[:, 0] > sample[:, 1]) == (test[:, 0] > test[:, 1]))
    agree = (same == (y[:, 7] == 1)).float().mean()
    assert float(agree) > 0.97                                    # noise flips a few
    assert float(x[:, 1:6, 1:].abs().max()) == 0.0 and bool((x[:, :, 0] == 1).sum() > 0.9 * x[:, 1:6, 0].numel())


def test_cxt_context_selects_the_modality() -> None:
    x, y = get_task("CXT").batch(4000, seed=3)
    ctx = x[:, 7, 5:]                                             # the cue alone is on at the decision
    assert bool(((ctx.sum(1) == 1) & ((ctx == 0) | (ctx == 1)).all(1)).all())
    assert float(x[:, 7, :5].abs().max()) == 0.0
    m0 = (x[:, :2, 1] - x[:, :2, 2]).mean(1)
    m1 = (x[:, :2, 3] - x[:, :2, 4]).mean(1)
    ev = torch.where(ctx[:, 0] == 1, m0, m1)
    other = torch.where(ctx[:, 0] == 1, m1, m0)
    right = y[:, 7] == 1
    # P(correct sign) = mean over coherences 5, 15, 50 of Phi(coh / 100 / 0.2) = 0.79
    assert float(((ev > 0) == right).float().mean()) == pytest.approx(0.79, abs=0.03)
    assert abs(float(((other > 0) == right).float().mean()) - 0.5) < 0.05   # the other is irrelevant


def test_errors() -> None:
    with pytest.raises(UnknownNameError, match="task"):
        get_task("2AFC")
    with pytest.raises(ValidationError, match="exactly one"):
        get_task("2AF").batch(4)
    with pytest.raises(ValidationError, match="batch size"):
        get_task("2AF").batch(0, seed=0)


def test_against_neurogym_when_it_can_be_imported() -> None:
    """Period structure, channels and labels of our trials against neurogym's own environments.

    Only the structure is compared: the input encodings changed between neurogym releases
    (the fixation channel and noise of 2.x differ from the 0.0.x releases the paper used,
    which our generators follow).
    """
    ngym = pytest.importorskip("neurogym", reason="neurogym is not installed (it pins numpy/gym versions "
                               "that conflict with this stack; install it with --no-deps to run this check)")
    import gymnasium as gym

    timings = {"2AF": {"fixation": 0, "stimulus": 700, "delay": 0, "decision": 100},
               "DMS": {"fixation": 0, "sample": 100, "delay": 500, "test": 100, "decision": 100},
               "CXT": {"fixation": 0, "stimulus": 200, "delay": 500, "decision": 100}}
    extra = {"CXT": {"use_expl_context": True}}   # neurogym 2.x: the context cue channels are opt-in
    for name, timing in timings.items():
        ours = get_task(name)
        env = gym.make(ours.env, dt=100, timing=timing, **extra.get(name, {})).unwrapped
        env.new_trial()
        assert env.observation_space.shape[0] == ours.n_in and env.action_space.n == ours.n_out
        assert env.ob.shape[0] == ours.n_steps
        assert env.start_ind["decision"] == ours.periods["decision"][0]
        assert set(env.gt[:-1].tolist()) == {0} and env.gt[-1] in (1, 2)
        for period, (start, stop) in ours.periods.items():
            if stop > start:
                assert (env.start_ind[period], env.end_ind[period]) == (start, stop), (name, period)
    del ngym
