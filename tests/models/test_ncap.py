"""NCAP: the circuit's equations (hand-computed torques), signs, sharing, ablations, errors."""

import math

import numpy as np
import pytest
import torch

from neurocircuits.circuit import NCAP_SIGNS, ncap_circuit
from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.models.ncap import MLPActor, NCAPController, oscillator, step_from_time_feature


def _obs(n_joints, q_over_range, step, nav=False):
    """An observation with joint angles given in units of the joint range and the time feature of ``step``."""
    rng = 2 * math.pi / (n_joints + 1)
    body = n_joints + (2 if nav else 0) + 3 * (n_joints + 1)
    obs = torch.zeros(body + 1)
    obs[:n_joints] = torch.tensor(q_over_range, dtype=torch.float32) * rng
    obs[-1] = float(np.float32(-1.0 + 2.0 * step / 1000))
    return obs


def _set(m, **w):
    with torch.no_grad():
        for k, v in w.items():
            m.weights[k].fill_(v)


def test_hand_computed_torques_constant_init():
    # q^ = (0.5, -0.25, 1 [clipped from 2]); step 45 -> ventral oscillator phase
    # b1v = 1, b2d = w_p q^d_1 = 0.5, b3v = w_p q^v_2 = 0.25
    # m1v = g(1) = 1, m1d = g(-1) = 0 -> -1; m2d = 0.5 -> +0.5; m3v = 0.25 -> -0.25
    m = NCAPController(3)
    out = m(_obs(3, [0.5, -0.25, 2.0], step=45))
    assert out.tolist() == pytest.approx([-1.0, 0.5, -0.25], abs=1e-6)


def test_hand_computed_torques_other_weights():
    m = NCAPController(3)
    _set(m, w_o=0.7, w_p=0.5, w_i=0.8, w_c=-0.3)
    # b1v = 0.7, b2d = 0.25, b3v = 0.125
    # m1v = 0.8 * 0.7 = 0.56; m1d = g(-0.3 * 0.7) = 0      -> -0.56
    # m2d = 0.8 * 0.25 = 0.2; m2v = g(-0.3 * 0.25) = 0     -> +0.2
    # m3v = 0.8 * 0.125 = 0.1; m3d = g(-0.3 * 0.125) = 0   -> -0.1
    out = m(_obs(3, [0.5, -0.25, 2.0], step=45))
    assert out.tolist() == pytest.approx([-0.56, 0.2, -0.1], abs=1e-6)
    # dorsal phase (step 10): b1d = 0.7 -> +0.56 on the head joint
    assert m(_obs(3, [0.0, 0.0, 0.0], step=10)).tolist() == pytest.approx([0.56, 0.0, 0.0], abs=1e-6)


def test_graded_saturation_and_co_activation():
    m = NCAPController(2)
    _set(m, w_o=3.0, w_i=2.0, w_c=-0.5)
    # b1d = g(3) = 1; m1d = g(2 * 1) = 1; m1v = g(-0.5) = 0
    assert m(_obs(2, [0.0, 0.0], step=0))[0].item() == pytest.approx(1.0)
    _set(m, w_o=1.0, w_i=1.0, w_c=-0.0)
    assert m(_obs(2, [0.0, 0.0], step=0))[0].item() == pytest.approx(1.0)


def test_oscillator_square_wave_and_time_feature_round_trip():
    steps = torch.arange(0, 1001)
    feature = torch.tensor((-1.0 + 2.0 * steps.numpy() / 1000).astype(np.float32))
    assert torch.equal(step_from_time_feature(feature), steps)  # exact through float32
    d, v = oscillator(steps, 60)
    assert d[:30].eq(1).all() and d[30:60].eq(0).all() and d[60:90].eq(1).all()
    assert torch.equal(d + v, torch.ones_like(d))


def test_sign_clamp_and_its_zero_gradient():
    m = NCAPController(5)
    _set(m, w_c=0.4, w_o=-0.2)  # both on the wrong side of zero
    assert m.weight("w_c").item() == 0.0 and m.weight("w_o").item() == 0.0
    obs = torch.stack([_obs(5, [0.3, -0.2, 0.1, 0.4, -0.5], s) for s in (0, 31, 70)])
    m(obs).pow(2).sum().backward()
    assert m.weights["w_c"].grad.item() == 0.0 and m.weights["w_o"].grad.item() == 0.0
    assert m.weights["w_i"].grad.abs().item() > 0 and m.weights["w_p"].grad.abs().item() > 0
    # the unsigned variant uses the raw values and gets gradient through them
    u = NCAPController(5, signed=False)
    _set(u, w_o=1.0, w_p=1.0, w_i=1.0, w_c=0.4)
    assert u.weight("w_c").item() == pytest.approx(0.4)
    u(obs).pow(2).sum().backward()
    assert u.weights["w_c"].grad.abs().item() > 0


def test_softplus_variant_keeps_signs_and_starts_at_constant_init():
    m = NCAPController(5, sign_mode="softplus")
    assert m.weight("w_o").item() == pytest.approx(1.0, abs=1e-5)
    assert m.weight("w_c").item() == pytest.approx(-1.0, abs=1e-5)
    _set(m, w_c=5.0)
    assert m.weight("w_c").item() < 0
    obs = _obs(5, [0.3, -0.2, 0.1, 0.4, -0.5], 40)
    assert torch.allclose(NCAPController(5, sign_mode="softplus")(obs), NCAPController(5)(obs), atol=1e-5)


def test_inits():
    r = NCAPController(5, init="random", seed=3)
    assert 0 <= r.weight("w_o").item() <= 1 and -1 <= r.weight("w_c").item() <= 0
    assert not torch.equal(r.weights["w_i"], NCAPController(5, init="random", seed=4).weights["w_i"])
    u = NCAPController(5, signed=False, shared=False, seed=1)
    vals = torch.cat([p.flatten() for p in u.parameters()])
    assert set(vals.tolist()) <= {-1.0, 1.0} and (vals > 0).any() and (vals < 0).any()
    ur = NCAPController(5, signed=False, init="random", shared=False, seed=1)
    vals = torch.cat([p.flatten() for p in ur.parameters()])
    assert vals.min() >= -1 and vals.max() <= 1 and (vals < 0).any() and (vals > 0).any()


@pytest.mark.parametrize("n", [2, 5, 13])
def test_parameter_counts(n):
    assert NCAPController(n).n_params == 4
    assert NCAPController(n, shared=False).n_params == 6 * n
    assert NCAPController(n, task="navigate").n_params == 6
    assert NCAPController(n, task="navigate", turn="learned").n_params == 15
    assert NCAPController(5, shared=False).n_params == 30
    assert sum(p.numel() for p in MLPActor(24, 5, (256, 256)).parameters()) == 73477
    assert sum(p.numel() for p in MLPActor(24, 5, (64, 64)).parameters()) == 6085


def test_unshared_constant_equals_shared_and_batching_is_rowwise():
    g = torch.Generator().manual_seed(0)
    obs = torch.rand(7, 24, generator=g) * 4 - 2
    obs[:, -1] = torch.tensor((-1 + 2 * np.arange(7) * 9 / 1000).astype(np.float32))
    a, b = NCAPController(5), NCAPController(5, shared=False)
    assert torch.allclose(a(obs), b(obs))
    rows = torch.stack([a(o) for o in obs])
    assert torch.allclose(rows, a(obs))
    assert a(obs).abs().max() <= 1


def test_ablations():
    obs = _obs(5, [0.4, -0.4, 0.2, 0.0, 0.1], step=5)
    no_osc = NCAPController(5, oscillator=False)(obs)
    assert no_osc[0].item() == 0.0 and no_osc[1].item() == pytest.approx(0.4)
    no_prop = NCAPController(5, proprioception=False)(obs)
    assert no_prop.tolist() == pytest.approx([1.0, 0, 0, 0, 0])


def test_navigation_signals():
    m = NCAPController(3, task="navigate")
    obs = _obs(3, [0.0, 0.0, 0.0], step=45, nav=True)
    obs[3], obs[4] = -0.5, 1.0  # target to the right (x = 0.5 > 0.1) and far (|y| > 0.12): no brake
    # b1d = g(w_t * right) = 1, b1v = g(w_o * o^v) = 1 -> m1d = g(1 - 1) = 0 = m1v
    assert m(obs)[0].item() == pytest.approx(0.0)
    obs[4] = 0.0  # close in y: the brake (w_s (1 - speed) = -1) silences every B-neuron
    assert m(obs).abs().max().item() == 0.0
    learned = NCAPController(3, task="navigate", turn="learned")
    assert learned(obs.unsqueeze(0)).shape == (1, 3)


def test_circuit_structure_and_signs():
    c = ncap_circuit(5)
    assert c.n_neurons == 2 + 2 * 4 + 4 * 5 and c.n_edges == 2 + 2 * 4 + 4 * 5
    conn = c.meta["connection"]
    for pre, post, w in zip(c.pre, c.post, c.weight):
        kind = conn[f"{c.names[pre]}->{c.names[post]}"]
        assert np.sign(w) == NCAP_SIGNS[kind]
    assert conn["B1d->M1v"] == "w_c" and conn["P1v->B2v"] == "w_p" and conn["osc_d->B1d"] == "w_o"
    assert set(c.cell_class) == {"oscillator", "proprioceptor", "B-neuron", "muscle"}


@pytest.mark.parametrize("bad", [1, 14, 2.5, True, "5"])
def test_bad_joint_counts(bad):
    with pytest.raises(ValidationError, match="n_joints"):
        NCAPController(bad)
    with pytest.raises(ValidationError, match="n_joints"):
        ncap_circuit(bad)


def test_bad_observations_and_options():
    m = NCAPController(5)
    with pytest.raises(ValidationError, match=r"\(batch, 24\)"):
        m(torch.zeros(3, 23))
    with pytest.raises(ValidationError, match="shape"):
        m(torch.zeros(2, 3, 24))
    with pytest.raises(ValidationError, match="26"):
        NCAPController(5, task="navigate")(torch.zeros(24))
    with pytest.raises(UnknownNameError, match="init"):
        NCAPController(5, init="zeros")
    with pytest.raises(UnknownNameError, match="task"):
        NCAPController(5, task="crawl")
    with pytest.raises(UnknownNameError, match="sign_mode"):
        NCAPController(5, sign_mode="exp")
    with pytest.raises(ValidationError, match="MLPActor"):
        MLPActor(24, 5)(torch.zeros(1, 23))


@pytest.mark.parametrize("kw", [{}, {"shared": False, "init": "random"}, {"signed": False, "init": "random"},
                                {"sign_mode": "softplus"}, {"oscillator": False}, {"proprioception": False}])
def test_numpy_fast_path_equals_torch_forward(kw):
    g = torch.Generator().manual_seed(1)
    obs = torch.rand(9, 24, generator=g) * 3 - 1.5
    obs[:, -1] = torch.tensor((-1 + 2 * np.array([0, 1, 29, 30, 59, 60, 61, 500, 1000]) / 1000).astype(np.float32))
    m = NCAPController(5, seed=2, **kw)
    np.testing.assert_allclose(m.act(obs.numpy()), m(obs).detach().numpy(), atol=1e-6)
    _set(m, w_i=0.3)  # the cached NumPy weights follow in-place parameter updates
    np.testing.assert_allclose(m.act(obs.numpy()), m(obs).detach().numpy(), atol=1e-6)
