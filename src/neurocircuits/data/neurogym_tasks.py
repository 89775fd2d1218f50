"""Three NeuroGym cognitive tasks as vectorised, seeded torch batch generators, and sequential MNIST.

The trials follow NeuroGym's definitions (PerceptualDecisionMaking-v0, DelayMatchSample-v0,
ContextDecisionMaking-v0; dt = 100 ms) with the timings of Liu et al. (ICLR 2024), eight
steps per trial, one trial per sequence. Labels are per step: 0 ("fixate") outside the
decision period, the correct choice in it. We generate the trials ourselves: neurogym's
releases pin numpy and gym versions that conflict with this package's stack.

======  ===========================  ==========================================  =========  ========
name    NeuroGym task                periods (steps)                             inputs     outputs
======  ===========================  ==========================================  =========  ========
2AF     PerceptualDecisionMaking     stimulus 0-6, decision 7                    3          3
DMS     DelayMatchSample             sample 0, delay 1-5, test 6, decision 7     3          3
CXT     ContextDecisionMaking        stimulus 0-1, delay 2-6, decision 7         7          3
======  ===========================  ==========================================  =========  ========

- 2AF: inputs (fixation, stimulus 1, stimulus 2); the stimuli are ``(1 +- c/100)/2`` for a
  coherence c in {0, 6.4, 12.8, 25.6, 51.2} plus N(0, 0.1414^2) noise on every input
  channel during the stimulus; fixation input 1 before the decision; choice 1 or 2.
- DMS: inputs (fixation, cos, sin) of the sample and test angles (0 or pi/2), noise
  N(0, 0.1414^2) during sample and test; fixation input 1 throughout; choice 1 = match,
  2 = non-match.
- CXT: inputs (fixation, stim1_mod1, stim2_mod1, stim1_mod2, stim2_mod2, context1,
  context2); coherences {5, 15, 50} per modality, noise N(0, 0.2^2) on every channel
  during the stimulus; every input is 0 at the decision except the context cue (on
  throughout); the context says which modality's evidence decides.

Example:
    >>> task = get_task("2AF")
    >>> x, y = task.batch(32, seed=0)
    >>> tuple(x.shape), tuple(y.shape), y[:, :7].abs().sum().item(), sorted(y[:, 7].unique().tolist())
    ((32, 8, 3), (32, 8), 0, [1, 2])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from neurocircuits.errors import UnknownNameError, ValidationError

#: the noise of NeuroGym's 2AF / DMS (sqrt(2 * 100 * 0.01) / sqrt(dt)) and CXT (sqrt(2 * 100 * 0.02) / sqrt(dt))
SIGMA_2AF = math.sqrt(2 * 100 * 0.01) / math.sqrt(100)
SIGMA_CXT = math.sqrt(2 * 100 * 0.02) / math.sqrt(100)
COHERENCES_2AF = (0.0, 6.4, 12.8, 25.6, 51.2)
COHERENCES_CXT = (5.0, 15.0, 50.0)


@dataclass(frozen=True)
class Task:
    """A trial generator: ``batch(n, seed | generator) -> (x (n, T, n_in) float32, y (n, T) int64)``.

    ``periods`` maps each period to its ``(start, stop)`` steps; ``decision_steps`` are the
    steps of the decision period (the measures' "decision" representation).
    """

    name: str
    env: str
    n_in: int
    n_out: int
    n_steps: int
    periods: dict[str, tuple[int, int]]
    input_names: tuple[str, ...]
    _make: Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]

    @property
    def decision_steps(self) -> tuple[int, ...]:
        a, b = self.periods["decision"]
        return tuple(range(a, b))

    def batch(self, n: int, seed: int | None = None, generator: torch.Generator | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` independent trials from ``generator`` (or a fresh one seeded by ``seed``)."""
        if not isinstance(n, int) or n < 1:
            raise ValidationError(f"batch size must be a positive integer, got {n!r}")
        if (seed is None) == (generator is None):
            raise ValidationError("give exactly one of seed= and generator=")
        g = generator if generator is not None else torch.Generator().manual_seed(int(seed))  # type: ignore[arg-type]
        return self._make(n, g)

    def stream(self, n: int, seeds: Sequence[int]) -> Callable[[int], tuple[torch.Tensor, torch.Tensor]]:
        """``step -> (x (S, n, T, n_in), y (S, n, T))``: one endless, resumable trial stream per seed.

        Batch ``step`` of seed ``s`` depends only on ``(s, step)``, so a resumed run sees the same trials.
        """
        seeds = [int(s) for s in seeds]

        def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
            xs, ys = zip(*(self.batch(n, generator=stream_generator(s, step)) for s in seeds))
            return torch.stack(xs), torch.stack(ys)

        return batch


def stream_generator(seed: int, step: int) -> torch.Generator:
    """A torch generator for step ``step`` of the stream of ``seed`` (independent streams)."""
    import numpy as np

    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, step]).generate_state(1)[0]))


def _choice(values, n: int, g: torch.Generator) -> torch.Tensor:
    v = torch.as_tensor(values, dtype=torch.float32)
    return v[torch.randint(len(v), (n,), generator=g)]


def _make_2af(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    gt = torch.randint(1, 3, (n,), generator=g)                 # 1 or 2
    coh = _choice(COHERENCES_2AF, n, g)
    signed = torch.where(gt == 1, coh, -coh)
    x = torch.zeros(n, 8, 3)
    x[:, :7, 0] = 1.0
    x[:, :7, 1] = ((1 + signed / 100) / 2)[:, None]
    x[:, :7, 2] = ((1 - signed / 100) / 2)[:, None]
    x[:, :7] += torch.randn(n, 7, 3, generator=g) * SIGMA_2AF
    y = torch.zeros(n, 8, dtype=torch.int64)
    y[:, 7] = gt
    return x, y


def _make_dms(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    gt = torch.randint(1, 3, (n,), generator=g)                 # 1 match, 2 non-match
    sample = _choice((0.0, 0.5), n, g)
    test = torch.where(gt == 1, sample, 0.5 - sample)
    x = torch.zeros(n, 8, 3)
    x[:, :, 0] = 1.0
    x[:, 0, 1], x[:, 0, 2] = torch.cos(sample * math.pi), torch.sin(sample * math.pi)
    x[:, 6, 1], x[:, 6, 2] = torch.cos(test * math.pi), torch.sin(test * math.pi)
    noise = torch.randn(n, 2, 3, generator=g) * SIGMA_2AF
    x[:, 0] += noise[:, 0]
    x[:, 6] += noise[:, 1]
    y = torch.zeros(n, 8, dtype=torch.int64)
    y[:, 7] = gt
    return x, y


def _make_cxt(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    gt = torch.randint(1, 3, (n,), generator=g)
    other = torch.randint(1, 3, (n,), generator=g)
    context = torch.randint(0, 2, (n,), generator=g)
    coh0, coh1 = _choice(COHERENCES_CXT, n, g), _choice(COHERENCES_CXT, n, g)
    choice0 = torch.where(context == 0, gt, other)
    choice1 = torch.where(context == 0, other, gt)
    s0 = torch.where(choice0 == 1, coh0, -coh0)
    s1 = torch.where(choice1 == 1, coh1, -coh1)
    x = torch.zeros(n, 8, 7)
    x[:, :7, 0] = 1.0
    x[:, :2, 1] = ((1 + s0 / 100) / 2)[:, None]
    x[:, :2, 2] = ((1 - s0 / 100) / 2)[:, None]
    x[:, :2, 3] = ((1 + s1 / 100) / 2)[:, None]
    x[:, :2, 4] = ((1 - s1 / 100) / 2)[:, None]
    x[:, :2] += torch.randn(n, 2, 7, generator=g) * SIGMA_CXT
    x[torch.arange(n), :, 5 + context] += 1.0
    y = torch.zeros(n, 8, dtype=torch.int64)
    y[:, 7] = gt
    return x, y


TASKS: dict[str, Task] = {
    "2AF": Task("2AF", "PerceptualDecisionMaking-v0", 3, 3, 8,
                {"fixation": (0, 0), "stimulus": (0, 7), "delay": (7, 7), "decision": (7, 8)},
                ("fixation", "stimulus1", "stimulus2"), _make_2af),
    "DMS": Task("DMS", "DelayMatchSample-v0", 3, 3, 8,
                {"fixation": (0, 0), "sample": (0, 1), "delay": (1, 6), "test": (6, 7), "decision": (7, 8)},
                ("fixation", "stimulus_cos", "stimulus_sin"), _make_dms),
    "CXT": Task("CXT", "ContextDecisionMaking-v0", 7, 3, 8,
                {"fixation": (0, 0), "stimulus": (0, 2), "delay": (2, 7), "decision": (7, 8)},
                ("fixation", "stim1_mod1", "stim2_mod1", "stim1_mod2", "stim2_mod2", "context1", "context2"),
                _make_cxt),
}


def get_task(name: str) -> Task:
    """The task called ``name`` (``"2AF"``, ``"DMS"`` or ``"CXT"``; case-insensitive)."""
    key = {k.upper(): k for k in TASKS}.get(str(name).upper())
    if key is None:
        raise UnknownNameError("task", name, TASKS, hint="sequential MNIST is smnist_batches()")
    return TASKS[key]


def smnist(split: str = "train", path=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequential MNIST: images as ``(N, 28, 28)`` sequences (rows as the 28 steps) and labels.

    Splits are those of :func:`neurocircuits.data.mnist` (50k / 10k / 10k).
    """
    from neurocircuits.data.mnist import mnist

    if split not in ("train", "val", "test"):
        raise UnknownNameError("MNIST split", split, ("train", "val", "test"))
    d = mnist(path)
    return getattr(d, f"{split}_x").view(-1, 28, 28), getattr(d, f"{split}_y")


def smnist_stream(images: torch.Tensor, labels: torch.Tensor, n: int, seeds: Sequence[int]
                  ) -> Callable[[int], tuple[torch.Tensor, torch.Tensor]]:
    """Like :meth:`Task.stream` for sequential MNIST: ``step -> (x (S, n, 28, 28), y (S, n))``, sampled
    with replacement from :func:`smnist` arrays."""
    seeds = [int(s) for s in seeds]

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.stack([torch.randint(images.shape[0], (n,), generator=stream_generator(s, step)) for s in seeds])
        return images[idx], labels[idx]

    return batch


@dataclass(frozen=True)
class StudentTeacher:
    """The linear student-teacher setting: whitened inputs ``x``, targets ``y = w^T F x``.

    ``F`` has its top half of singular values equal to ``kappa`` and the rest 1;
    ``beta = F^T w`` is the teacher direction in input space and ``beta_half`` the same
    with ``F`` truncated to its top ``d / 2`` singular triplets (the "partially aligned" direction).
    """

    x: torch.Tensor
    y: torch.Tensor
    beta: torch.Tensor
    beta_half: torch.Tensor


def student_teacher(dim: int, kappa: float = 4.0, n: int = 2000, seed: int = 0) -> StudentTeacher:
    """A seeded :class:`StudentTeacher` data set with ``n`` samples of dimension ``dim``.

    Example:
        >>> st = student_teacher(10, seed=0)
        >>> tuple(st.x.shape), tuple(st.y.shape), bool(torch.allclose(st.y[:, 0], st.x @ st.beta, atol=1e-5))
        ((2000, 10), (2000, 1), True)
    """
    if not isinstance(dim, int) or dim < 2:
        raise ValidationError(f"dim must be an integer >= 2, got {dim!r}")
    gen = torch.Generator().manual_seed(int(seed))
    q1, q2 = (torch.linalg.qr(torch.randn(dim, dim, generator=gen))[0] for _ in range(2))
    sv = torch.cat([torch.full((dim // 2,), float(kappa)), torch.ones(dim - dim // 2)])
    f = q1 @ torch.diag(sv) @ q2.T
    f_half = q1[:, :dim // 2] @ torch.diag(sv[:dim // 2]) @ q2[:, :dim // 2].T
    w = torch.randn(dim, generator=gen) / math.sqrt(dim)
    x = torch.randn(n, dim, generator=gen)
    return StudentTeacher(x, (x @ (f.T @ w))[:, None], f.T @ w, f_half.T @ w)
