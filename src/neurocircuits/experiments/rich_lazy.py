"""Experiment ``rich-lazy``: initial connectivity rank and rich vs lazy learning (Liu et al., ICLR 2024).

Claim 1: higher-rank initial W_hh gives lazier learning (smaller ||dW_hh||, higher
representation and tangent-kernel alignment). Claim 2: a low-rank init aligned with the
task is the exception and learns lazily (linear student-teacher, and an RNN version).
Claim 3: the trend holds for biologically derived connectivity ordered by effective rank.
Every network of a (task, gain) cell is trained at once (ranks x seeds stacked)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, cast

import numpy as np
import torch

from neurocircuits.circuit import from_connectome, geometric, random_dale
from neurocircuits.data import get_task, smnist, smnist_stream, student_teacher
from neurocircuits.data.neurogym_tasks import TASKS
from neurocircuits.errors import UnknownNameError
from neurocircuits.experiments.context import RunContext, Unit
from neurocircuits.experiments.registry import Experiment, ExperimentConfig
from neurocircuits.init import aligned_low_rank_, circuit_weight, low_rank_
from neurocircuits.measure import effective_rank
from neurocircuits.measure.laziness import alignment, laziness, tangent_kernel
from neurocircuits.models import RateRNN, StackedRateRNN
from neurocircuits.report.plots import new_figure, plot_seed_dots
from neurocircuits.report.stats import combine, paired, summarize, verdict
from neurocircuits.report.table import ResultTable
from neurocircuits.train import TrainConfig, fit, fit_stacked, sequence_cross_entropy

MEASURES = ["weight_change", "representation_alignment", "kernel_alignment", "sign_similarity"]
METRICS = MEASURES + ["final_loss", "decision_accuracy", "eff_rank_entropy", "eff_rank_participation",
                      "eff_rank_eig_ratio", "spectral_radius"]
LAZY_HIGHER = {m: m != "weight_change" for m in MEASURES}   # which direction is lazier


@dataclass
class RichLazyConfig(ExperimentConfig):
    seeds: int = 5
    tasks: tuple[str, ...] = ("2AF", "DMS", "CXT", "sMNIST")
    gains: tuple[float, ...] = (1.25, 1.5)
    stable_gain: float = 0.5            # stable-regime control on the first task (0 = off)
    n_hidden: int = 300
    ranks: tuple[int, ...] = (1, 30, 100, 300)
    smnist_ranks: tuple[int, ...] = (5, 30, 300)
    aligned: bool = True                 # add the task-aligned rank-1 init to the NeuroGym cells
    steps: int = 10000
    smnist_steps: int = 2000
    lr: float = 3e-3
    batch: int = 32
    smnist_batch: int = 200
    eval_trials: int = 320
    kernel_trials: int = 32
    smnist_kernel_trials: int = 200
    log_every: int = 100
    circuits: tuple[str, ...] = ("white1986", "cook2019", "witvliet2021-8", "dale", "geometric")
    circuit_task: str = "2AF"
    circuit_radius: float = 1.25         # circuits scaled to this spectral radius (a g = 1.25 draw's)
    teacher_dim: int = 100
    teacher_kappa: float = 4.0
    teacher_scale: float = 0.1           # ||W1(0)||_F = ||W2(0)||_F in the linear student
    teacher_steps: int = 1000
    teacher_lr: float = 0.05
    MAY_BE_EMPTY = frozenset({"circuits"})   # an empty list skips claim 3
    def validate(self) -> None:
        super().validate()
        known = [*TASKS, "sMNIST"]
        for name in self.tasks:
            if name not in known:  # before any unit runs, not when its unit is reached
                raise UnknownNameError("task (config field 'tasks')", name, known)

    QUICK = {"seeds": 3, "tasks": ("2AF",), "gains": (1.25,), "n_hidden": 100, "ranks": (1, 30, 100),
             "steps": 1000, "circuits": ("white1986", "dale", "geometric"), "teacher_dim": 40, "teacher_steps": 400}


def _init_names(cfg: dict, task: str) -> list[str]:
    ranks = cfg["smnist_ranks"] if task == "sMNIST" else cfg["ranks"]
    names = [f"rank {r}" for r in ranks]
    return names + (["aligned rank 1"] if cfg["aligned"] and task != "sMNIST" else [])


def aligned_scale(w_in: torch.Tensor, x: torch.Tensor, direction: torch.Tensor, gain: float) -> float:
    """Singular value that gives a rank-1 ``W = c u v^T`` (``v`` = unit ``direction``) gain ``gain`` on the task's states.

    A random W of Frobenius norm ``g sqrt(N)`` (the rank family) amplifies a generic state by
    ``g`` on average: ``E ||W h||^2 = g^2 ||h||^2``. A rank-1 W whose right vector lies where
    the states are does not: with the same Frobenius norm it amplifies them by up to
    ``g sqrt(N)``. Here ``c = g sqrt(E ||h||^2 / E (v . h)^2)`` over the input-driven states
    ``h = relu(W_in x)`` of reference trials ``x``, so that ``E ||W h||^2 = g^2 E ||h||^2``.
    """
    h = torch.relu(x.reshape(-1, x.shape[-1]).double() @ w_in.detach().double().T)
    v = direction.double() / torch.linalg.norm(direction.double())
    return gain * float(torch.sqrt(h.pow(2).sum(1).mean() / (h @ v).pow(2).mean()))


def _aligned_(net: RateRNN, task, gain: float, gen: torch.Generator) -> None:
    """Rank-1 W_hh ``c u v^T`` aligned with the task's input-output statistics.

    ``v``: the input-driven states' cross-covariance with the choice, ``E[s h]`` over the
    steps before the decision, with ``h = relu(W_in x)`` and ``s = +1 / -1`` for decision
    label 1 / 2 (the RNN analogue of the student-teacher's ``beta = F^T w``); ``u``: the
    choice readout direction ``W_out[1] - W_out[2]``, so at init the state's evidence for a
    choice raises that choice's logit. ``c`` gives gain ``gain`` on those states
    (:func:`aligned_scale`); at the random draw's Frobenius norm the aligned matrix would
    amplify them by about ``g sqrt(N)`` and training diverges.
    """
    x, y = task.batch(512, generator=torch.Generator().manual_seed(99))
    dec = task.decision_steps[0]
    h = torch.relu(x[:, :dec].double() @ net.W_in.detach().double().T).mean(1)   # (trials, N)
    s = torch.where(y[:, dec] == 1, 1.0, torch.where(y[:, dec] == 2, -1.0, 0.0)).double()
    v = (s[:, None] * h).mean(0)
    readout = (net.W_out[1] - net.W_out[2]).detach().double()
    aligned_low_rank_(net.W_hh.data, v, left=readout, norm=aligned_scale(net.W_in, x[:, :dec], v, gain), generator=gen)


def _eval_data(cfg: dict, task: str, seed: int):
    """(inputs, labels, kernel trials, kernel steps, decision steps) drawn once per seed, shared by every init."""
    if task == "sMNIST":
        x, y = smnist("val")
        g = torch.Generator().manual_seed(10_000 + seed)
        idx = torch.randperm(x.shape[0], generator=g)[:cfg["eval_trials"]]
        return x[idx], y[idx], cfg["smnist_kernel_trials"], (-1,), (27,)
    t = get_task(task)
    x, y = t.batch(cfg["eval_trials"], seed=10_000 + seed)
    return x, y, cfg["kernel_trials"], None, t.decision_steps


def _train_measure(nets: list[RateRNN], seeds: list[int], task: str, cfg: dict, ckpt: str, device: str = "cpu"
                   ) -> tuple[list[dict], dict]:
    """Train the nets stacked on per-seed trial streams, then measure each against its initial copy."""
    stack = StackedRateRNN.from_models(nets)   # copies: ``nets`` stay the initial networks
    uniq = sorted(set(seeds))
    pick = torch.tensor([uniq.index(s) for s in seeds])
    loss_fn: Callable[..., torch.Tensor]
    if task == "sMNIST":
        imgs, labels = smnist("train")
        base = smnist_stream(imgs, labels, cfg["smnist_batch"], uniq)
        steps, loss_fn = cfg["smnist_steps"], partial(sequence_cross_entropy, last_step=True)
    else:
        base = get_task(task).stream(cfg["batch"], uniq)
        steps, loss_fn = cfg["steps"], sequence_cross_entropy

    def batch(step: int):
        x, y = base(step)
        return x[pick], y[pick]

    hist = fit_stacked(stack, batch, loss_fn, TrainConfig(lr=cfg["lr"], optimizer="sgd", momentum=0.9), steps,
                       log_every=cfg["log_every"], checkpoint=ckpt, device=device)
    final = hist.final_loss()
    rows = []
    for i, (net0, s) in enumerate(zip(nets, seeds)):
        x, y, nk, ksteps, dec = _eval_data(cfg, task, s)
        trained = stack.model(i)
        row = {"final_loss": float(final[i]), **_rank_stats(net0.W_hh.detach())}
        lab = y if task == "sMNIST" else y[:, dec[-1]]
        row["decision_accuracy"] = float((trained(x).detach()[:, dec[-1]].argmax(-1) == lab).float().mean())
        if math.isfinite(row["final_loss"]):
            row.update(laziness(net0, trained, x, n_kernel_trials=nk, kernel_steps=ksteps, decision_steps=dec).as_dict())
        rows.append(row)
    return rows, {"steps": hist.steps, "loss": hist.loss.T.tolist(), "wall_time_s": hist.wall_time_s}


def _rank_stats(w: torch.Tensor) -> dict:
    return {**{f"eff_rank_{k}": effective_rank(w, k) for k in ("entropy", "participation", "eig_ratio")},
            "spectral_radius": float(torch.linalg.eigvals(w.double()).abs().max())}


def rank_unit(task: str, gain: float, cfg: dict, ckpt: str, device: str = "cpu") -> dict:
    """Claims 1, 2 (RNN) and the stable control: every init x seed of one (task, gain) cell."""
    t = get_task(task) if task != "sMNIST" else None
    n_in, n_out = (28, 10) if t is None else (t.n_in, t.n_out)
    nets, seeds, names = [], [], []
    for s in range(cfg["seeds"]):
        for name in _init_names(cfg, task):
            net = RateRNN(n_in, cfg["n_hidden"], n_out, seed=s)
            gen = torch.Generator().manual_seed(1_000 + s)           # one base draw per seed, shared by the ranks
            if name.startswith("rank"):
                low_rank_(net.W_hh.data, int(name.split()[1]), gain=gain, generator=gen)
            else:
                _aligned_(net, t, gain, gen)
            nets.append(net)
            seeds.append(s)
            names.append(name)
    rows, curves = _train_measure(nets, seeds, task, cfg, ckpt, device)
    for r, s, name in zip(rows, seeds, names):
        r.update(task=task, gain=gain, init=name, seed=s)
    spectra = {n: torch.linalg.svdvals(net.W_hh.detach()).tolist() for n, net, s in zip(names, nets, seeds) if s == 0}
    return {"rows": rows, "curves": curves, "names": names, "seeds": seeds, "spectra": spectra}


def _circuit(name: str, n: int, seed: int):
    if name == "dale":
        return random_dale(n, p=0.1, seed=seed)
    if name == "geometric":
        return geometric(n, rule="knn", k=10, seed=seed)
    return from_connectome(name, neurons_only=True)


def circuit_unit(name: str, cfg: dict, ckpt: str, device: str = "cpu") -> dict:
    """Claim 3: one circuit family as initial W_hh beside a rank-matched random control of equal norm."""
    t = get_task(cfg["circuit_task"])
    nets, seeds, kinds = [], [], []
    for s in range(cfg["seeds"]):
        w = circuit_weight(_circuit(name, cfg["n_hidden"], s), spectral_radius=cfg["circuit_radius"])
        n = w.shape[0]
        r = max(1, round(effective_rank(w)))
        circ, ctrl = RateRNN(t.n_in, n, t.n_out, seed=s), RateRNN(t.n_in, n, t.n_out, seed=s)
        circ.set_recurrent_weight(w)
        low_rank_(ctrl.W_hh.data, r, generator=torch.Generator().manual_seed(1_000 + s))
        ctrl.W_hh.data.mul_(torch.linalg.norm(w) / torch.linalg.norm(ctrl.W_hh.data))
        nets += [circ, ctrl]
        seeds += [s, s]
        kinds += [name, f"random rank {r} (control of {name})"]
    rows, curves = _train_measure(nets, seeds, cfg["circuit_task"], cfg, ckpt, device)
    for row, s, k in zip(rows, seeds, kinds):
        row.update(task=cfg["circuit_task"], family=name, init=k, arm="circuit" if k == name else "control", seed=s)
    return {"rows": rows, "curves": curves}


def teacher_unit(seed: int, cfg: dict) -> list[dict]:
    """Claim 2 (theory setting): two-layer linear student, teacher y = w^T F x, whitened inputs x."""
    d, sc = cfg["teacher_dim"], cfg["teacher_scale"]
    st = student_teacher(d, cfg["teacher_kappa"], seed=seed)
    x, y = st.x, st.y
    rows = []
    for name in ("random rank 1", f"random rank {d}", "aligned rank 1", "partially aligned rank 1"):
        net = torch.nn.Sequential(torch.nn.Linear(d, d, bias=False), torch.nn.Linear(d, 1, bias=False))
        g = torch.Generator().manual_seed(seed + 7)
        w1 = cast(torch.Tensor, net[0].weight).data
        if name.startswith("random"):
            low_rank_(w1, int(name.split()[-1]), gain=1.0, generator=g)
        else:
            aligned_low_rank_(w1, st.beta if name.startswith("aligned") else st.beta_half, gain=1.0, generator=g)
        w1.mul_(sc / torch.linalg.norm(w1))
        net[1].weight.data = torch.randn(1, d, generator=g) * sc / math.sqrt(d)
        w1_0 = w1.clone()
        k0 = tangent_kernel(net, x[:200], "all")
        hist = fit(net, (x, y), torch.nn.functional.mse_loss,
                   TrainConfig(epochs=cfg["teacher_steps"], lr=cfg["teacher_lr"], optimizer="sgd", momentum=0.0,
                               batch_size=x.shape[0]), seed=seed)
        rows.append({"init": name, "seed": seed, "final_loss": hist[-1].train_loss,
                     "weight_change": float(torch.linalg.norm(cast(torch.Tensor, net[0].weight).data - w1_0)),
                     "kernel_alignment": alignment(k0, tangent_kernel(net, x[:200], "all")),
                     "eff_rank_entropy": effective_rank(w1_0)})
    return rows


def _values(table: ResultTable, metric: str, seeds: list[int], **match) -> list[float]:
    out = []
    for s in seeds:
        v = table.values(metric, seed=s, **match)
        out.append(v[0] if v else float("nan"))
    return out


def _cmp_line(label: str, c) -> str:
    return f"- {label}: {c.format()} -> favours {c.favours or 'neither'}"


def run(cfg: RichLazyConfig, ctx: RunContext) -> ResultTable:
    d, dev = asdict(cfg), str(ctx.device)
    seeds = list(range(cfg.seeds))
    cells = [(t, g) for t in cfg.tasks for g in cfg.gains] + (
        [(cfg.tasks[0], cfg.stable_gain)] if cfg.stable_gain > 0 and cfg.tasks else [])
    ck = lambda k: str(ctx.checkpoint_path(f"train-{k}"))  # noqa: E731 - per-unit trainer checkpoint
    units = [Unit(f"rank-{t}-g{g}", rank_unit, (t, g, d, ck(f"{t}-g{g}"), dev)) for t, g in cells]
    units += [Unit(f"circuit-{c}", circuit_unit, (c, d, ck(f"circuit-{c}"), dev)) for c in cfg.circuits]
    units += [Unit(f"teacher-seed{s}", teacher_unit, (s, d)) for s in seeds]
    # computed in order of importance, so a stopped run has the main parts first: the student-teacher
    # (claim 2, seconds), the first task's main gains (claims 1, 2), the circuits (3), the stable
    # control, the other tasks
    n_main, n_circ = len(cfg.tasks) * len(cfg.gains), len(cfg.circuits)
    first = list(range(min(len(cfg.gains), n_main)))
    order = (list(range(len(cells) + n_circ, len(units))) + first + list(range(len(cells), len(cells) + n_circ))
             + list(range(n_main, len(cells))) + list(range(len(cfg.gains), n_main)))
    assert sorted(order) == list(range(len(units)))
    done = ctx.map([units[i] for i in order], desc="rich-lazy units")
    res: list[Any] = [None] * len(units)
    for i, r in zip(order, done):
        res[i] = r
    rank_res, circ_res, teach_res = res[:len(cells)], res[len(cells):len(cells) + len(cfg.circuits)], res[-len(seeds):]
    table = ResultTable(METRICS, [q for r in rank_res for q in r["rows"]],
                        title="Laziness measures per initialisation (rank family, aligned, stable control)")
    circ = ResultTable(METRICS, [q for r in circ_res for q in r["rows"]],
                       title="Circuit-derived initial W_hh and rank-matched random controls")
    teach = ResultTable(["final_loss", "weight_change", "kernel_alignment", "eff_rank_entropy"],
                        [q for r in teach_res for q in r], title="Linear student-teacher (claim 2, theory setting)")
    ctx.add_table(circ, "circuits", by=["family", "arm", "init"])
    ctx.add_table(teach, "teacher", by=["init"])
    text: list[str] = []
    parts1, parts2 = [], []
    for (t, g), r in zip(cells, rank_res):
        ranks = [n for n in dict.fromkeys(r["names"]) if n.startswith("rank")]
        lo, hi = ranks[0], ranks[-1]
        acc = {n: summarize(_values(table, "decision_accuracy", seeds, task=t, gain=g, init=n)) for n in dict.fromkeys(r["names"])}
        # a blank line before each cell's heading, so Markdown does not fold it into the list above
        text.append(("\n" if text else "") + f"**{t}, g = {g}** (decision accuracy: "
                    + ", ".join(f"{n} {a.format(3)}" for n, a in acc.items()) + ")")
        failed = [n for n, a in acc.items() if not a.mean >= 0.6]
        if failed:
            text.append(f"- {', '.join(failed)} did not learn the task (decision accuracy < 0.6): a failed fit, not a lazy one")
        for m in ("weight_change", "representation_alignment", "kernel_alignment"):
            c = paired(_values(table, m, seeds, task=t, gain=g, init=hi), _values(table, m, seeds, task=t, gain=g, init=lo),
                       higher_is_better=LAZY_HIGHER[m])
            text.append(_cmp_line(f"{m}: {hi} minus {lo} (lazier = {'higher' if LAZY_HIGHER[m] else 'lower'})", c))
            if g != cfg.stable_gain:
                parts1.append(verdict([c]))
        if "aligned rank 1" in r["names"]:
            for m in ("kernel_alignment", "weight_change"):
                c = paired(_values(table, m, seeds, task=t, gain=g, init="aligned rank 1"),
                           _values(table, m, seeds, task=t, gain=g, init=lo), higher_is_better=LAZY_HIGHER[m])
                text.append(_cmp_line(f"claim 2 (RNN) {m}: aligned rank 1 minus {lo}", c))
                parts2.append(verdict([c]))
    for m in ("kernel_alignment", "weight_change"):
        c = paired(_values(teach, m, seeds, init="aligned rank 1"), _values(teach, m, seeds, init="random rank 1"),
                   higher_is_better=LAZY_HIGHER[m])
        text.append(_cmp_line(f"claim 2 (linear student-teacher) {m}: aligned rank 1 minus random rank 1", c))
        parts2.append(verdict([c]))
    if cfg.stable_gain > 0 and cfg.gains and cfg.tasks:
        t, ranks = cfg.tasks[0], [n for n in _init_names(d, cfg.tasks[0]) if n.startswith("rank")]
        gaps = [[abs(a - b) for a, b in zip(_values(table, "kernel_alignment", seeds, task=t, gain=g, init=ranks[-1]),
                                            _values(table, "kernel_alignment", seeds, task=t, gain=g, init=ranks[0]))]
                for g in (cfg.gains[0], cfg.stable_gain)]
        text.append(_cmp_line(f"stable control: |KA({ranks[-1]}) - KA({ranks[0]})| at g = {cfg.gains[0]} minus at "
                              f"g = {cfg.stable_gain} (the gap shrinks in the stable regime if positive)", paired(*gaps)))
    fam = sorted(cfg.circuits, key=lambda f: summarize(circ.values("eff_rank_entropy", family=f, arm="circuit")).mean)
    parts3 = []
    for a, b in zip(fam[1:], fam[:-1]):
        c = paired(_values(circ, "kernel_alignment", seeds, family=a, arm="circuit"),
                   _values(circ, "kernel_alignment", seeds, family=b, arm="circuit"))
        text.append(_cmp_line(f"claim 3 KA: {a} (higher effective rank) minus {b}", c))
        parts3.append(verdict([c]))
    pts = [(summarize(circ.values("eff_rank_entropy", init=i)).mean, summarize(circ.values("kernel_alignment", init=i)).mean)
           for i in dict.fromkeys(r["init"] for r in circ.rows)]
    pts = [p for p in pts if all(map(math.isfinite, p))]
    if len(pts) > 2:
        from scipy.stats import spearmanr

        text.append(f"- claim 3 descriptive: Spearman correlation of effective rank and KA over the {len(pts)} "
                    f"circuit and control inits (seed means): {spearmanr(*zip(*pts))[0]:.2f}")
    verdicts = {"1 (higher rank is lazier: dW, RA, KA of the highest vs the lowest rank)": combine(parts1) if parts1 else "n/a",
                "2 (aligned low rank is lazy: KA and dW vs random rank 1)": combine(parts2) if parts2 else "n/a",
                "3 (circuits ordered by effective rank: KA rises with rank)": combine(parts3) if parts3 else "n/a"}
    ctx.add_text("Verdicts", "\n".join(f"- claim {k}: **{v}**" for k, v in verdicts.items()) +
                 "\n\nPaired over seeds (95 % t-interval of the mean difference):\n\n" + "\n".join(text))
    _figures(ctx, table, circ, rank_res, cells)
    return table


def _figures(ctx: RunContext, table: ResultTable, circ: ResultTable, rank_res: list, cells: list) -> None:
    fig, axes = new_figure(4, 1, (3.6, 3.0))
    for (t, g), r in zip(cells, rank_res):
        names = [n for n in dict.fromkeys(r["names"]) if n.startswith("rank")]
        xs = [int(n.split()[1]) for n in names]
        for ax, m in zip(axes[0], MEASURES):
            plot_seed_dots(ax, xs, [table.values(m, task=t, gain=g, init=n) for n in names], f"{t}, g={g}")
    for ax, m in zip(axes[0], MEASURES):
        ax.set(xscale="log", xlabel="initial rank of W_hh", ylabel=m.replace("_", " ")), ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    ctx.add_figure(fig, "measures_vs_rank", "Each measure against the initial rank (line: mean, dots: seeds)")
    fig, axes = new_figure(2, 1, (4.5, 3.3))
    r = rank_res[0]
    loss = np.array(r["curves"]["loss"])
    for name in dict.fromkeys(r["names"]):
        idx = [i for i, n in enumerate(r["names"]) if n == name]
        axes[0][0].plot(r["curves"]["steps"], loss[idx].mean(0), label=name)
    for name, sv in r["spectra"].items():   # float32 round-off below 1e-4 of the top value is not shown
        sv = [v for v in sv if v > 1e-4 * sv[0]]
        axes[0][1].plot(range(1, len(sv) + 1), sv, marker="." if len(sv) < 3 else None, label=name)
    axes[0][0].set(xlabel="training step", ylabel="cross-entropy (mean over seeds)", yscale="log",
                   title=f"{cells[0][0]}, g = {cells[0][1]}")
    axes[0][1].set(xlabel="index", ylabel="singular value of W_hh(0)", xscale="log", yscale="log", title="seed 0")
    for ax in axes[0]:
        ax.legend(fontsize=7), ax.grid(alpha=0.3)
    ctx.add_figure(fig, "loss_and_spectra", "Loss curves and initial singular-value spectra")
    fig, axes = new_figure(1, 1, (5.0, 3.6))
    ax = axes[0][0]
    for arm, mk in (("circuit", "o"), ("control", "x")):
        rows = [q for q in circ.rows if q["arm"] == arm and math.isfinite(q.get("kernel_alignment", float("nan")))]  # type: ignore[arg-type]
        ax.scatter([q["eff_rank_entropy"] for q in rows], [q["kernel_alignment"] for q in rows], marker=mk, label=arm)
        if arm == "circuit":
            for f in dict.fromkeys(q["family"] for q in rows):
                q = next(q for q in rows if q["family"] == f)
                ax.annotate(f, (q["eff_rank_entropy"], q["kernel_alignment"]), fontsize=7)
    ax.set(xlabel="effective rank of W_hh(0) (entropy)", ylabel="kernel alignment")
    ax.legend(fontsize=7), ax.grid(alpha=0.3)
    ctx.add_figure(fig, "circuits_ka_vs_rank", "Circuit-derived inits and rank-matched controls: KA against effective rank")


EXPERIMENT = Experiment(
    name="rich-lazy",
    title="Connectivity rank and rich vs lazy learning",
    description=("Rate RNNs with rank-controlled, task-aligned and circuit-derived initial recurrent weights, "
                 "trained on NeuroGym-style tasks (and sequential MNIST); weight change, representation "
                 "alignment, tangent-kernel alignment and sign similarity (Liu et al., ICLR 2024)."),
    config_cls=RichLazyConfig,
    run=run,
    tags=("rnn", "rank", "laziness"),
)
