"""NCAP: the C. elegans locomotion circuit as a batched torch controller for the swimmer.

:class:`NCAPController` maps swimmer observations (joint angles first, the time feature
last) to joint torques with the circuit of :func:`neurocircuits.circuit.ncap_circuit`:

- proprioception ``q^ = clip(q / (2 pi / (N + 1)), -1, 1)``, dorsal ``clip(q^, 0, 1)``,
  ventral ``clip(-q^, 0, 1)``;
- a head oscillator, a square wave of period 60 steps: dorsal on for steps ``t mod 60 < 30``;
- B-neurons ``b_1 = g(w_o o)``, ``b_i = g(w_p q_{i-1})`` (same side), ``g = clip(., 0, 1)``;
- muscles ``m^d_i = g(w_i b^d_i + w_c b^v_i)``, ``m^v_i = g(w_i b^v_i + w_c b^d_i)``;
- torque ``m^d_i - m^v_i``.

Signs are imposed at use time by clamping (``clamp(w, min=0)`` for excitatory weights,
``clamp(w, max=0)`` for inhibitory ones), so a raw weight that crosses zero has zero
gradient; ``sign_mode="softplus"`` is a named variant (``w = sign * softplus(raw)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from neurocircuits.circuit.ncap import ncap_circuit
from neurocircuits.errors import UnknownNameError, ValidationError

INITS = ("constant", "random")
SIGN_MODES = ("clamp", "softplus")
TASKS = ("swim", "navigate")
TURNS = ("hardcoded", "learned")
EPISODE_STEPS = 1000


def graded(x: torch.Tensor) -> torch.Tensor:
    """The graded activation ``clip(x, 0, 1)``."""
    return x.clamp(0.0, 1.0)


def step_from_time_feature(f: torch.Tensor, episode_steps: int = EPISODE_STEPS) -> torch.Tensor:
    """Integer step index from the time feature (-1 at reset, +1 at ``episode_steps``)."""
    return torch.round((f.double() + 1.0) * 0.5 * episode_steps).long()


def oscillator(step: torch.Tensor, period: int = 60) -> tuple[torch.Tensor, torch.Tensor]:
    """Dorsal and ventral square waves: dorsal is 1 for ``step mod period < period / 2``."""
    d = (torch.remainder(step, period) < period // 2).float()
    return d, 1.0 - d


class NCAPController(nn.Module):
    """The NCAP swimmer controller: observations (with the time feature) -> torques.

    Args:
        n_joints: joints of the body (2..13).
        init: ``"constant"`` (excitatory +1, inhibitory -1) or ``"random"`` (U(0, 1) / U(-1, 0)).
            With ``signed=False`` constant becomes a random +-1 per weight and random U(-1, 1).
        signed: impose the signs of the circuit (E/I) on the weights.
        shared: one scalar per connection type (4 for swim) or separate per-joint, per-side
            weights (6 N).
        sign_mode: ``"clamp"`` (the authors' choice) or ``"softplus"``.
        oscillator, proprioception: ablation switches (drop the head oscillator or the
            proprioceptive input to the B-neurons).
        task: ``"swim"`` or ``"navigate"``; navigation adds a speed brake ``w_s`` on every
            B-neuron and a turning drive ``w_t`` on the first ``n_turn_joints`` joints.
        turn: navigation signals ``"hardcoded"`` from the target vector or ``"learned"`` by a
            ``Linear(2, 3)`` on ``(x, |y|)`` of the target followed by a sigmoid.
        period: oscillator period in control steps.
        seed: seed of random initialisations.

    Example:
        >>> import torch
        >>> m = NCAPController(5)
        >>> m.n_params
        4
        >>> obs = torch.zeros(2, 24); obs[:, -1] = -1.0   # time feature at reset
        >>> m(obs)[0].tolist()                             # the oscillator drives the head dorsally
        [1.0, 0.0, 0.0, 0.0, 0.0]
    """

    def __init__(self, n_joints: int = 5, init: str = "constant", signed: bool = True, shared: bool = True,
                 *, sign_mode: str = "clamp", oscillator: bool = True, proprioception: bool = True,
                 task: str = "swim", turn: str = "hardcoded", n_turn_joints: int = 1, period: int = 60,
                 seed: int = 0):
        super().__init__()
        self.circuit = ncap_circuit(n_joints)  # validates n_joints
        if init not in INITS:
            raise UnknownNameError("NCAP init", init, INITS)
        if sign_mode not in SIGN_MODES:
            raise UnknownNameError("NCAP sign_mode", sign_mode, SIGN_MODES)
        if task not in TASKS:
            raise UnknownNameError("NCAP task", task, TASKS)
        if task == "navigate" and turn not in TURNS:
            raise UnknownNameError("NCAP turn signal", turn, TURNS)
        if not 1 <= n_turn_joints <= n_joints:
            raise ValidationError(f"n_turn_joints must be in 1..{n_joints}, got {n_turn_joints}")
        if period < 2:
            raise ValidationError(f"period must be >= 2 steps, got {period}")
        self.n_joints, self.init, self.signed, self.shared = n_joints, init, bool(signed), bool(shared)
        self.sign_mode, self.task, self.turn = sign_mode, task, turn
        self.use_oscillator, self.use_proprioception = bool(oscillator), bool(proprioception)
        self.n_turn_joints, self.period = n_turn_joints, period
        self.obs_dim = n_joints + (2 if task == "navigate" else 0) + 3 * (n_joints + 1) + 1
        # the sign of each connection type, read from the circuit's signed edges
        conn = self.circuit.meta["connection"]
        signs: dict[str, int] = {}
        for pre, post, w in zip(self.circuit.pre, self.circuit.post, self.circuit.weight):
            signs[conn[f"{self.circuit.names[pre]}->{self.circuit.names[post]}"]] = int(math.copysign(1, w))
        if task == "navigate":
            signs.update(w_s=-1, w_t=+1)
        self.signs = signs
        n = n_joints
        shapes = {"w_o": (2, 1), "w_p": (2, n - 1), "w_i": (2, n), "w_c": (2, n), "w_s": (2, n),
                  "w_t": (2, n_turn_joints)}
        g = torch.Generator().manual_seed(int(seed))
        self.weights = nn.ParameterDict()
        for name, sign in signs.items():
            shape = (1, 1) if shared else shapes[name]
            if signed:
                mag = torch.ones(shape) if init == "constant" else torch.rand(shape, generator=g)
                if sign_mode == "softplus":
                    mag = mag.clamp_min(1e-6)
                    raw = mag + torch.log(-torch.expm1(-mag))  # inverse softplus
                else:
                    raw = sign * mag
            else:
                raw = (torch.randint(0, 2, shape, generator=g).float() * 2 - 1 if init == "constant"
                       else torch.rand(shape, generator=g) * 2 - 1)
            self.weights[name] = nn.Parameter(raw)
        self.turn_net = nn.Linear(2, 3) if task == "navigate" and turn == "learned" else None
        if self.turn_net is not None:
            with torch.no_grad():
                bound = 1 / math.sqrt(2)
                self.turn_net.weight.uniform_(-bound, bound, generator=g)
                self.turn_net.bias.uniform_(-bound, bound, generator=g)

    # --- weights ----------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def weight(self, name: str) -> torch.Tensor:
        """The effective (signed) weight of connection type ``name`` as used in the forward pass."""
        raw = self.weights[name]
        if not self.signed:
            return raw
        s = self.signs[name]
        if self.sign_mode == "softplus":
            return s * nn.functional.softplus(raw)
        return raw.clamp(min=0.0) if s > 0 else raw.clamp(max=0.0)

    def effective_weights(self) -> dict[str, list]:
        """The effective weights as nested lists (for reports)."""
        return {k: self.weight(k).detach().cpu().tolist() for k in self.weights}

    # --- forward ----------------------------------------------------------------------------
    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Torques ``(B, n_joints)`` in [-1, 1] for observations ``(B, obs_dim)`` (or ``(obs_dim,)``)."""
        if not isinstance(obs, torch.Tensor):
            obs = torch.as_tensor(obs, dtype=torch.float32)
        squeeze = obs.dim() == 1
        if squeeze:
            obs = obs.unsqueeze(0)
        if obs.dim() != 2 or obs.shape[-1] != self.obs_dim:
            raise ValidationError(
                f"NCAPController({self.n_joints} joints, task={self.task!r}) expects observations of shape "
                f"(batch, {self.obs_dim}) (joints, {'to_target, ' if self.task == 'navigate' else ''}"
                f"body velocities, time feature); got {tuple(obs.shape)}")
        n = self.n_joints
        w = self.weights[next(iter(self.weights))]
        obs = obs.to(w.dtype)
        q_hat = (obs[:, :n] / (2 * math.pi / (n + 1))).clamp(-1.0, 1.0)
        q = torch.stack([q_hat.clamp(0.0, 1.0), (-q_hat).clamp(0.0, 1.0)], dim=1)  # (B, 2, n): dorsal, ventral
        batch = obs.shape[0]
        zeros = obs.new_zeros(batch, 2, 1)
        if self.use_oscillator:
            od, ov = oscillator(step_from_time_feature(obs[:, -1]), self.period)
            head = self.weight("w_o") * torch.stack([od, ov], dim=1).unsqueeze(-1).to(obs.dtype)
        else:
            head = zeros
        rest = self.weight("w_p") * q[:, :, :-1] if self.use_proprioception else obs.new_zeros(batch, 2, n - 1)
        drive = torch.cat([head, rest], dim=-1)  # (B, 2, n)
        if self.task == "navigate":
            right, left, speed = self._nav_signals(obs[:, n:n + 2])
            drive = drive + self.weight("w_s") * (1.0 - speed)[:, None, None]
            k = self.n_turn_joints
            turn = self.weight("w_t") * torch.stack([right, left], dim=1).unsqueeze(-1)
            drive = torch.cat([drive[:, :, :k] + turn, drive[:, :, k:]], dim=-1)
        b = graded(drive)
        w_i, w_c = self.weight("w_i"), self.weight("w_c")
        m = graded(w_i * b + w_c * b.flip(1))  # m^d = g(w_i b^d + w_c b^v), m^v = g(w_i b^v + w_c b^d)
        torque = m[:, 0] - m[:, 1]
        return torque.squeeze(0) if squeeze else torque

    def act(self, obs, deterministic: bool = True):
        """Torques for a NumPy batch ``(B, obs_dim)``: the same equations as :meth:`forward` in NumPy.

        A fast path for rollouts (a few microseconds per call instead of a few hundred for
        the torch graph); navigation tasks use :meth:`forward`.
        """
        import numpy as np

        o = np.asarray(obs, dtype=np.float32)
        if self.task == "navigate" or o.ndim != 2 or o.shape[1] != self.obs_dim:
            with torch.no_grad():
                return self.forward(torch.as_tensor(o)).numpy()
        w = self._numpy_weights()
        n = self.n_joints
        o = o.astype(np.float64)
        q_hat = np.clip(o[:, :n] / (2 * math.pi / (n + 1)), -1.0, 1.0)
        q = np.stack([np.clip(q_hat, 0.0, 1.0), np.clip(-q_hat, 0.0, 1.0)], axis=1)
        if self.use_oscillator:
            step = np.round((o[:, -1] + 1.0) * 0.5 * EPISODE_STEPS).astype(np.int64)
            od = (step % self.period < self.period // 2).astype(np.float64)
            head = w["w_o"] * np.stack([od, 1.0 - od], axis=1)[:, :, None]
        else:
            head = np.zeros((o.shape[0], 2, 1))
        rest = w["w_p"] * q[:, :, :-1] if self.use_proprioception else np.zeros((o.shape[0], 2, n - 1))
        b = np.clip(np.concatenate([head, rest], axis=-1), 0.0, 1.0)
        m = np.clip(w["w_i"] * b + w["w_c"] * b[:, ::-1], 0.0, 1.0)
        return (m[:, 0] - m[:, 1]).astype(np.float32)

    def _numpy_weights(self) -> dict:
        """Effective weights as float64 arrays, recomputed only when a parameter changed."""
        key = tuple((id(p), p._version) for p in self.weights.values())
        cache = getattr(self, "_np_cache", None)
        if cache is None or cache[0] != key:
            with torch.no_grad():
                cache = (key, {k: self.weight(k).double().numpy() for k in self.weights})
            object.__setattr__(self, "_np_cache", cache)
        return cache[1]

    def _nav_signals(self, to_target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, y = -to_target[:, 0], to_target[:, 1]
        if self.turn_net is None:
            return (x > 0.1).to(x.dtype), (x < -0.1).to(x.dtype), (y.abs() > 0.12).to(x.dtype)
        s = torch.sigmoid(self.turn_net(torch.stack([x, y.abs()], dim=-1)))
        return s[:, 0], s[:, 1], s[:, 2]

    def extra_repr(self) -> str:
        return (f"n_joints={self.n_joints}, init={self.init!r}, signed={self.signed}, shared={self.shared}, "
                f"sign_mode={self.sign_mode!r}, oscillator={self.use_oscillator}, "
                f"proprioception={self.use_proprioception}, task={self.task!r}, n_params={self.n_params}")


class MLPActor(nn.Module):
    """The MLP baseline actor: tanh hidden layers and a tanh head (Tonic's Gaussian policy mean).

    Example:
        >>> sum(p.numel() for p in MLPActor(24, 5, (256, 256)).parameters())
        73477
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: Sequence[int] = (256, 256)):
        super().__init__()
        if obs_dim < 1 or n_actions < 1 or any(h < 1 for h in hidden):
            raise ValidationError(f"obs_dim, n_actions and hidden sizes must be >= 1, got {obs_dim}, "
                                  f"{n_actions}, {tuple(hidden)}")
        layers: list[nn.Module] = []
        d = obs_dim
        for h in hidden:
            layers += [nn.Linear(d, h), nn.Tanh()]
            d = h
        layers += [nn.Linear(d, n_actions), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.obs_dim, self.n_actions = obs_dim, n_actions

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.shape[-1] != self.obs_dim:
            raise ValidationError(f"MLPActor expects observations with {self.obs_dim} features, "
                                  f"got shape {tuple(obs.shape)}")
        return self.net(obs)
