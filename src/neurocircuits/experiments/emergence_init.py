"""Experiment ``emergence-init``: emergence-promoting initialisation against honest baselines.

Reproduction attempt of Li, George & Silva (arXiv 2407.19044) on MNIST (ReLU MLPs of several depths and a CNN, with
and without BatchNorm, SGD and Adam) with five arms: A = Kaiming; B = emergence-init(alpha); C = Kaiming with the
per-layer learning rates the rescaling implies (the control); D = B with the inverse multipliers; G = GradInit. alpha
is chosen per condition on validation, and each claim is decided by paired comparisons over seeds. A small Transformer
on a translation task (IWSLT14 De-En when present locally, else a synthetic task) is scored with sacrebleu.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from neurocircuits.data.translation import CORPORA, PAD, ParallelCorpus, Vocab, encode_pairs, load_corpus
from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.experiments.context import RunContext, Unit
from neurocircuits.experiments.registry import Experiment, ExperimentConfig
from neurocircuits.init import ARMS, prepare_arm
from neurocircuits.measure.bleu import translation_bleu
from neurocircuits.measure.curves import curve_stats
from neurocircuits.measure.emergence import emergence
from neurocircuits.report.markdown import claim_line, comparison_table
from neurocircuits.report.plots import new_figure, plot_learning_curves, plot_mean_spread
from neurocircuits.report.selection import compare_selected, paired_by_seed, selected_table
from neurocircuits.report.stats import Comparison, proportion, verdict
from neurocircuits.report.table import ResultTable
from neurocircuits.train import TrainConfig, evaluate, fit, make_optimizer, metrics, seeded

METRICS = ["acc_epoch1", "test_acc_epoch1", "final_val_acc", "test_acc", "epochs_to_target", "time_to_target_s",
           "reached_target", "log10_E_init", "log10_rel_E_init", "diverged"]
NO_ALPHA = ("A", "G")  # arms without an alpha (recorded with alpha = 1)
ARM_NAMES = {"A": "Kaiming", "B": "emergence-init", "C": "LR control", "D": "inverse LR", "G": "GradInit"}


@dataclass
class EmergenceInitConfig(ExperimentConfig):
    """Settings of ``emergence-init``; ``QUICK`` keeps the same code on less data."""

    seeds: int = 5
    n_train: int = 50000
    n_val: int = 10000
    n_test: int = 10000
    mlp_depths: tuple[int, ...] = (4, 8, 16)
    width: int = 256
    cnn_channels: tuple[int, ...] = (32, 32, 64, 64)
    cnn_pool_every: int = 2
    use_cnn: bool = True
    batchnorm: tuple[bool, ...] = (False, True)
    optimizers: tuple[str, ...] = ("sgd", "adam")
    alphas: tuple[float, ...] = (1.1, 1.5, 2.0)
    arms: tuple[str, ...] = ARMS
    gradinit_steps: int = 200
    epochs: int = 3
    batch_size: int = 128
    lr_sgd: float = 0.05
    lr_adam: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    target_acc: float = 0.97
    probe: int = 512
    threshold: float = 0.05
    # translation
    translation: bool = True
    mt_data: str = "auto"  # "auto" (IWSLT14 if present locally, else synthetic) | "iwslt14" | "synthetic"
    mt_n_train: int = 10000
    mt_n_eval: int = 1000
    mt_vocab: int = 60
    mt_max_len: int = 12
    mt_d_model: int = 128
    mt_layers: int = 3
    mt_epochs: int = 6
    mt_lr: float = 5e-4
    mt_batch_size: int = 64
    mt_alphas: tuple[float, ...] = (1.05, 1.1, 1.2, 1.5)
    mt_arms: tuple[str, ...] = ("A", "B", "C")
    QUICK = {"seeds": 2, "n_train": 4000, "n_val": 1000, "n_test": 2000, "mlp_depths": (4, 8),
             "cnn_channels": (8, 16), "cnn_pool_every": 1, "alphas": (1.2, 1.5), "arms": ("A", "B", "C", "G"),
             "gradinit_steps": 20, "epochs": 2, "target_acc": 0.9, "mt_n_train": 2000, "mt_n_eval": 200,
             "mt_vocab": 30, "mt_max_len": 8, "mt_d_model": 64, "mt_layers": 2, "mt_epochs": 3,
             "mt_alphas": (1.05, 1.5), "mt_batch_size": 64}

    def __post_init__(self) -> None:
        for what, given, known in (("arm", self.arms, ARMS), ("translation arm", self.mt_arms, ARMS[:4]),
                                   ("optimizer", self.optimizers, ("sgd", "adam")),
                                   ("translation data", (self.mt_data,), CORPORA)):
            for bad in [a for a in given if a not in known][:1]:
                raise UnknownNameError(what, bad, known)
        if any(not (isinstance(a, (int, float)) and a > 0) for a in self.alphas + self.mt_alphas):
            raise ValidationError(f"alphas must be > 0, got {self.alphas} and {self.mt_alphas}")


# --------------------------------------------------------------------------- units (module level, picklable)
@functools.lru_cache(maxsize=2)
def mnist_tensors(n_train: int, n_val: int, n_test: int, device: str) -> tuple[torch.Tensor, ...]:
    """MNIST train/val/test tensors on ``device``, loaded once per process."""
    from neurocircuits.data import mnist

    d = mnist().subset(n_train, n_val, n_test)
    return tuple(t.to(device) for t in (d.train_x, d.train_y, d.val_x, d.val_y, d.test_x, d.test_y))


@functools.lru_cache(maxsize=2)
def translation_corpus(name: str, n_train: int, n_eval: int, vocab: int, max_len: int) -> ParallelCorpus:
    """The translation corpus, loaded once per process (see :func:`load_corpus`)."""
    return load_corpus(name, n_train, n_eval, vocab=vocab, max_len=max_len, seed=0)  # type: ignore[arg-type]


def mnist_unit(u: dict[str, Any]) -> dict[str, Any]:
    """Train one (model, BN, optimiser, arm, alpha, seed) run on MNIST; a pure function of ``u``."""
    from neurocircuits.models.vision import classifier

    xtr, ytr, xva, yva, xte, yte = mnist_tensors(u["n_train"], u["n_val"], u["n_test"], u["device"])
    with seeded(u["seed"]):
        model = classifier(u["model"], u["bn"], u["width"], u["cnn_channels"], u["cnn_pool_every"])
    lr = u["lr_sgd"] if u["opt"] == "sgd" else u["lr_adam"]
    params = prepare_arm(model, u["arm"], u["alpha"], lr, u["opt"], seed=u["seed"], weight_decay=u["weight_decay"],
                         device=xtr.device, gradinit_data=(xtr, ytr), loss_fn=F.cross_entropy,
                         gradinit_steps=u["gradinit_steps"], batch_size=u["batch_size"])
    em = emergence(model, xtr[: u["probe"]], threshold=u["threshold"])
    tcfg = TrainConfig(epochs=u["epochs"], lr=lr, optimizer=u["opt"], momentum=u["momentum"],
                       weight_decay=u["weight_decay"], batch_size=u["batch_size"])

    def val_fn(m: nn.Module) -> dict[str, float]:  # test accuracy is recorded, never used for a choice
        return {k: metrics.accuracy(evaluate(m, x, batch_size=4096, device=x.device), y)
                for k, x, y in (("acc", xva, yva), ("test_acc", xte, yte))}

    try:
        with seeded(u["seed"]):
            hist = fit(model, (xtr, ytr), F.cross_entropy, tcfg, seed=u["seed"], optimizer=make_optimizer(params, tcfg),
                       val_fn=val_fn, device=xtr.device)
        diverged, val, test = 0, [h.val["acc"] for h in hist], [h.val["test_acc"] for h in hist]
        loss, wall = [h.train_loss for h in hist], [h.wall_time_s for h in hist]
    except FloatingPointError:  # a diverged run scores what predicting the majority class scores
        diverged, loss, wall = 1, [math.nan] * u["epochs"], [math.nan] * u["epochs"]
        val, test = ([float(torch.bincount(y.cpu()).max()) / y.numel()] * u["epochs"] for y in (yva, yte))
    c = curve_stats(val, wall, target=u["target_acc"])
    return {"val": val, "test": test, "loss": loss, "wall": wall, "diverged": diverged,
            "epochs_to_target": c.epochs_to_target, "time_to_target_s": c.time_to_target_s,
            "log10_E": em.log10_E, "log10_rel_E": em.log10_relative, "active": em.active, "widths": em.widths}


def mt_unit(u: dict[str, Any]) -> dict[str, Any]:
    """Train one Transformer (arm, alpha, seed) and return BLEU on validation (per epoch) and test."""
    from neurocircuits.models.seq2seq import Seq2SeqTransformer

    corpus = translation_corpus(u["mt_data"], u["mt_n_train"], u["mt_n_eval"], u["mt_vocab"], u["mt_max_len"])
    sv, tv = Vocab.build([s for s, _ in corpus.train], 10000), Vocab.build([t for _, t in corpus.train], 10000)
    src, tin, tout = encode_pairs(corpus.train, sv, tv, max_len=128)
    with seeded(u["seed"]):
        model = Seq2SeqTransformer(len(sv), len(tv), u["mt_d_model"], 4, u["mt_layers"], u["mt_layers"],
                                   dim_feedforward=4 * u["mt_d_model"], dropout=0.1, max_len=130)
    params = prepare_arm(model, u["arm"], u["alpha"], u["mt_lr"], "adam", base="xavier", seed=u["seed"],
                         device=u["device"])
    tcfg = TrainConfig(epochs=u["mt_epochs"], lr=u["mt_lr"], optimizer="adam", batch_size=u["mt_batch_size"],
                       grad_clip=1.0)

    def loss_fn(out: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), tgt.reshape(-1), ignore_index=PAD, label_smoothing=0.1)

    with seeded(u["seed"]):  # dropout draws from the global RNG: seed it for this unit only
        hist = fit(model, (src, tin, tout), loss_fn, tcfg, seed=u["seed"], optimizer=make_optimizer(params, tcfg),
                   device=torch.device(u["device"]), val_fn=lambda m: {"bleu": translation_bleu(m, corpus.val, sv, tv)})
    return {"val_bleu": [h.val["bleu"] for h in hist], "loss": [h.train_loss for h in hist],
            "test_bleu": translation_bleu(model, corpus.test, sv, tv), "wall": [h.wall_time_s for h in hist]}


def _arms(arms: tuple[str, ...], alphas: tuple[float, ...]) -> list[tuple[str, float]]:
    return [(a, 1.0) for a in NO_ALPHA if a in arms] + [(a, al) for al in alphas for a in arms if a not in NO_ALPHA]


def _conditions(cfg: EmergenceInitConfig) -> list[dict[str, Any]]:
    models = [f"mlp{d}" for d in cfg.mlp_depths] + (["cnn"] if cfg.use_cnn else [])
    return [dict(model=m, bn=bool(bn), opt=o) for m in models for bn in cfg.batchnorm for o in cfg.optimizers]


def make_units(cfg: EmergenceInitConfig, seeds: list[int], device: torch.device) -> list[Unit]:
    """Every training run: the Transformer runs first (they are the longest), then MNIST."""
    d, dev, gpu = cfg.to_dict(), str(device), (0.1 if device.type == "cuda" else 0.0)
    mt_cfg = {k: v for k, v in d.items() if k.startswith("mt_")}
    mn_cfg = {k: v for k, v in d.items() if not k.startswith("mt_")}
    units = [Unit(f"mt-{arm}-a{al:g}-s{s}", mt_unit, ({**mt_cfg, "arm": arm, "alpha": al, "seed": s, "device": dev},),
                  gpu=gpu) for arm, al in _arms(cfg.mt_arms, cfg.mt_alphas) for s in seeds] if cfg.translation else []
    return units + [Unit(f"mnist-{c['model']}-bn{int(c['bn'])}-{c['opt']}-{arm}-a{al:g}-s{s}", mnist_unit,
                         ({**mn_cfg, **c, "arm": arm, "alpha": float(al), "seed": s, "device": dev},), gpu=gpu)
                    for c in _conditions(cfg) for arm, al in _arms(cfg.arms, cfg.alphas) for s in seeds]


# --------------------------------------------------------------------------- tables, claims, plots
def _label(arm: Any, alpha: Any) -> str:
    return f"{arm}: {ARM_NAMES[arm]}" + ("" if arm in NO_ALPHA else f" α={alpha:g}")


def _mnist_tables(units: list[Unit], res: list[dict[str, Any]]) -> tuple[ResultTable, ResultTable]:
    table = ResultTable(METRICS, title="MNIST: emergence-init (B) against Kaiming (A), the learning-rate control (C) "
                                       "and GradInit (G)", flags=["reached_target", "diverged"])
    curves = ResultTable(["val_acc", "test_acc", "train_loss", "diverged"], flags=["diverged"])
    for unit, r in zip(units, res):
        u = unit.args[0]
        cond = dict(model=u["model"], bn=u["bn"], opt=u["opt"], arm=u["arm"], alpha=u["alpha"])
        table.add(**cond, seed=u["seed"], acc_epoch1=r["val"][0], test_acc_epoch1=r["test"][0],
                  final_val_acc=r["val"][-1], test_acc=r["test"][-1], epochs_to_target=r["epochs_to_target"],
                  time_to_target_s=r["time_to_target_s"], reached_target=float(not math.isnan(r["epochs_to_target"])),
                  log10_E_init=r["log10_E"], log10_rel_E_init=r["log10_rel_E"], diverged=r["diverged"])
        for e, (v, t, lo) in enumerate(zip(r["val"], r["test"], r["loss"]), 1):
            curves.add(**cond, epoch=e, seed=u["seed"], val_acc=v, test_acc=t, train_loss=lo, diverged=r["diverged"])
    return table, curves


def _claims(table: ResultTable, cfg: EmergenceInitConfig) -> tuple[str, str]:
    """The claims' verdicts (one line each) and the per-condition comparisons behind them."""
    lines, details, conds = [], [], _conditions(cfg)
    sections: list[tuple[str, str, list[tuple[dict[str, Any], Comparison]], str, str]] = []
    if "A" in cfg.arms and "B" in cfg.arms:
        em = [({**c, "alpha": al}, paired_by_seed(table, "log10_E_init", {"arm": "B", "alpha": al}, {"arm": "A"}, **c))
              for c in conds for al in cfg.alphas]
        sections.append(("Higher emergence at initialisation", "log10 E of emergence-init against Kaiming per "
                         "(condition, alpha)", em, "B", "A"))
    for vm, tm, a, b, label in [
            ("acc_epoch1", "test_acc_epoch1", "B", "A", "Faster training (test accuracy after the first epoch)"),
            ("final_val_acc", "test_acc", "B", "A", f"Better accuracy (test accuracy after {cfg.epochs} epochs)"),
            ("final_val_acc", "test_acc", "B", "C", "Not a learning-rate effect (B against control C, final)"),
            ("acc_epoch1", "test_acc_epoch1", "B", "C", "Not a learning-rate effect (B against C, first epoch)"),
            ("final_val_acc", "test_acc", "G", "A", f"GradInit ({cfg.gradinit_steps} steps) beats Kaiming"),
            ("final_val_acc", "test_acc", "G", "B", "GradInit beats emergence-init")]:
        if a in cfg.arms and b in cfg.arms:
            comps = compare_selected(table, conds, a, b, vm, tm, fixed={g: 1.0 for g in NO_ALPHA})
            sections.append((label, f"{tm}, {a} against {b}, alphas chosen on {vm}", comps, a, b))
    for label, what, comps, a, b in sections:
        lines.append(claim_line(label, [c for _, c in comps], what))
        details += [f"**{label}** ({what}):", "", comparison_table(comps, a=a, b=b)]
    lines.append(f"- Kaiming (A) reached the target validation accuracy {cfg.target_acc} in "
                 f"{proportion(table.values('reached_target', arm='A'))} runs; diverged runs: "
                 + ", ".join(f"{arm} {proportion(table.values('diverged', arm=arm))}" for arm in cfg.arms) + ".")
    return "\n".join(lines), "\n".join(details)


def _grid(conds: list[dict[str, Any]], draw: Callable[[Any, dict[str, Any]], object]) -> Any:
    """One panel per condition: a row per model, a column per (BN, optimiser)."""
    per = len(conds) // len(dict.fromkeys(c["model"] for c in conds))
    fig, ax = new_figure(per, len(conds) // per, size=(3.6, 2.8))
    for k, c in enumerate(conds):
        draw(ax[k // per, k % per], c)
        ax[k // per, k % per].set_title(f"{c['model']} bn={int(c['bn'])} {c['opt']}", fontsize=8)
    return fig


def _plots(ctx: RunContext, table: ResultTable, curves: ResultTable, cfg: EmergenceInitConfig) -> None:
    conds, show = _conditions(cfg), cfg.alphas[len(cfg.alphas) // 2] if cfg.alphas else 1.0
    lc = ResultTable(curves.metrics, [{**r, "arm (α)": _label(r["arm"], r["alpha"])}
                                      for r in curves.rows if r["alpha"] in (1.0, show)], flags=curves.flags)
    ctx.add_figure(_grid(conds, lambda a, c: plot_learning_curves(a, lc, "val_acc", hue="arm (α)", where=c,
                                                                  ylabel="validation accuracy")),
                   "learning_curves", f"Validation accuracy per epoch (mean ± sd over {len(ctx.seeds)} seeds; "
                                      f"crosses: diverged runs, left out of the mean); B and C at α={show:g}")

    def sweep(a: Any, c: dict[str, Any]) -> None:  # alpha = 1 is Kaiming for every arm
        rows = [r for r in table.where(**c).rows if r["arm"] not in NO_ALPHA]
        arms = sorted({str(r["arm"]) for r in rows})
        rows += [{**r, "arm": arm} for arm in arms for r in table.where(**c, arm="A").rows]
        plot_mean_spread(a, ResultTable(table.metrics, rows), "alpha", "test_acc_epoch1", hue="arm",
                         xlabel="α (1 = Kaiming)", ylabel="test accuracy after epoch 1")

    ctx.add_figure(_grid(conds, sweep), "epoch1_vs_alpha",
                   "Test accuracy after the first epoch against alpha (alpha = 1: Kaiming)")
    fig, ax = new_figure(1, 1)
    rows = table.where(arm="B", bn=False, opt=cfg.optimizers[0]).rows + table.where(arm="A", bn=False,
                                                                                     opt=cfg.optimizers[0]).rows
    plot_mean_spread(ax[0, 0], ResultTable(table.metrics, rows), "alpha", "log10_E_init", hue="model",
                     xlabel="α (1 = Kaiming)", ylabel="log10 E at initialisation")
    ctx.add_figure(fig, "emergence_vs_alpha", "log10 E at initialisation against alpha (no BN)")


def _translation(units: list[Unit], res: list[dict[str, Any]], cfg: EmergenceInitConfig, ctx: RunContext) -> None:
    corpus = translation_corpus(cfg.mt_data, cfg.mt_n_train, cfg.mt_n_eval, cfg.mt_vocab, cfg.mt_max_len)
    table = ResultTable(["val_bleu_epoch1", "final_val_bleu", "test_bleu", "train_time_s"],
                        title=f"Translation ({corpus.source}): Transformer, Xavier (A) vs emergence-init (B)")
    curves = ResultTable(["val_bleu", "train_loss"])
    for unit, r in zip(units, res):
        u = unit.args[0]
        table.add(arm=u["arm"], alpha=u["alpha"], seed=u["seed"], val_bleu_epoch1=r["val_bleu"][0],
                  final_val_bleu=r["val_bleu"][-1], test_bleu=r["test_bleu"], train_time_s=float(sum(r["wall"])))
        for e, (b, lo) in enumerate(zip(r["val_bleu"], r["loss"]), 1):
            curves.add(**{"arm (α)": _label(u["arm"], u["alpha"]).replace("Kaiming", "Xavier")}, epoch=e,
                       seed=u["seed"], val_bleu=b, train_loss=lo)
    ctx.add_table(table, "translation", table.title,
                  note=f"{len(corpus.train)} training pairs, {len(corpus.val)} validation and {len(corpus.test)} test "
                       f"pairs; greedy decoding; sacrebleu corpus BLEU; mean ± sd over {len(ctx.seeds)} seeds. "
                       "C uses Adam per-layer LR x alpha^-e.")
    fig, ax = new_figure(2, 1)
    plot_learning_curves(ax[0, 0], curves, "val_bleu", hue="arm (α)", ylabel="validation BLEU")
    plot_learning_curves(ax[0, 1], curves, "train_loss", hue="arm (α)", ylabel="training loss")
    ctx.add_figure(fig, "translation_curves", "Transformer: validation BLEU and training loss per epoch")
    for lab, c in compare_selected(table, [{}], "B", "A", "final_val_bleu", "test_bleu", fixed={"A": 1.0}):
        ctx.add_text("Claim: Transformer translation", (
            f"Test BLEU of emergence-init (alpha={lab['alpha B']:g}, chosen on validation) minus Xavier: {c.format()}. "
            f"The paper's small gain (35.13 vs 34.85 on IWSLT14): **{verdict([c])}** here ({corpus.source})."),
            where="bottom")


def run(cfg: EmergenceInitConfig, ctx: RunContext) -> ResultTable:
    units = make_units(cfg, ctx.seeds, ctx.device)
    mt = [u for u in units if u.fn is mt_unit]
    if mt and "iwslt" not in translation_corpus(cfg.mt_data, cfg.mt_n_train, cfg.mt_n_eval, cfg.mt_vocab,
                                                cfg.mt_max_len).source.lower():
        ctx.log("the Transformer part uses the synthetic transduction task (IWSLT14 De-En is not here)")
    res = ctx.map(units, desc="training runs")
    table, curves = _mnist_tables(units[len(mt):], res[len(mt):])
    summ = selected_table(table, _conditions(cfg), cfg.arms, "final_val_acc", ["test_acc_epoch1", "test_acc",
                          "epochs_to_target", "log10_E_init", "diverged"], fixed={g: 1.0 for g in NO_ALPHA},
                          title="Selected alpha per condition (chosen on validation), test accuracy")
    ctx.add_table(summ, "selected", summ.title,
                  note="For each condition and arm, alpha is the one with the best mean final validation accuracy; "
                       "the numbers are test accuracies of those runs (mean ± sd over seeds; diverged: k/n runs).")
    ctx.add_table(curves, "curves", "Learning curves (validation and test accuracy per epoch)")
    _plots(ctx, table, curves, cfg)
    ctx.add_text("Setup", (
        f"MNIST {cfg.n_train} training / {cfg.n_val} validation / {cfg.n_test} test images; ReLU MLPs of depths "
        f"{list(cfg.mlp_depths)} (width {cfg.width}) and a CNN (channels {list(cfg.cnn_channels)}), with and without "
        f"BatchNorm; SGD (lr {cfg.lr_sgd}, momentum {cfg.momentum}) and Adam (lr {cfg.lr_adam}), the same untuned "
        f"rates for every arm; batch {cfg.batch_size}; {cfg.epochs} epochs; seeds {ctx.seeds}; alphas "
        f"{list(cfg.alphas)}. "
        "Arms: A Kaiming; B emergence-init (W_l x alpha^e_l, symmetric exponents); C Kaiming + per-layer LR x "
        "alpha^-2e (SGD) / alpha^-e (Adam); D emergence-init + the inverse multipliers; G GradInit "
        f"({cfg.gradinit_steps} steps). Target for epochs/time-to-target: {cfg.target_acc} validation accuracy. A "
        "diverged run (non-finite loss) scores the majority-class rate and counts in `diverged` (k/n runs)."))
    claims, details = _claims(table, cfg)
    ctx.add_text("Claims of the paper, as measured here", claims, where="bottom")
    ctx.add_text("Paired comparisons behind the claims", details, where="bottom")
    if mt:
        _translation(mt, res[:len(mt)], cfg, ctx)
    return table


EXPERIMENT = Experiment(
    name="emergence-init",
    title="Emergence-promoting initialisation (Li, George, Silva 2024) against Kaiming and LR-equivalent controls",
    description=(__doc__ or "").strip().split("\n\n", 1)[1].replace("\n", " "),
    config_cls=EmergenceInitConfig,
    run=run,
    tags=("init", "emergence", "mnist", "translation"),
)
