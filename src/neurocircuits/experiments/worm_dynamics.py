"""Experiment ``worm-dynamics``: whole-brain C. elegans forecasting and behaviour decoding.

Six freely moving NeuroPAL worms (Dag et al., Cell 2023) on the neuron classes named in all of them. Every model
forecasts each neuron ahead (autoregressive rollout) and decodes reversal and velocity at the window's last frame:
MLP, GRU and Transformer (structure-agnostic), a graph network with a graph inferred per sample, on the connectome,
on a shuffled connectome and with no edges, against persistence, the training mean and linear baselines; within-worm
and leave-one-worm-out. Question of Wang et al. (arXiv 2010.08569): on unseen worms, does the graph model beat the
structure-agnostic models and the linear baseline, and does the graph matter?
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neurocircuits.circuit.adjacency import connectome_adjacency, shuffled_adjacency
from neurocircuits.data.worm_protocols import Fold, leave_one_worm_out_folds, recording_windows, within_worm_fold
from neurocircuits.data.worms import flavell_recordings, resample, seconds_to_frames, shared_names
from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.experiments.context import RunContext, Unit
from neurocircuits.experiments.registry import Experiment, ExperimentConfig
from neurocircuits.measure.forecast import forecast_scores, mean_scores, predict_windows, score_baselines, score_windows
from neurocircuits.measure.graph_overlap import (
    activity_correlation, mean_inferred_adjacency, overlap_test, shuffled_nulls,
)
from neurocircuits.models.graph import GraphNet, prior_adjacency, window_model
from neurocircuits.models.sequence import Persistence
from neurocircuits.report import forecast_plots
from neurocircuits.report.stats import choice_summary, paired, proportion, verdict
from neurocircuits.report.table import ResultTable
from neurocircuits.train import TrainConfig, seeded
from neurocircuits.train.multitask import best_epoch, fit_multitask

NEURAL_MODELS = ("mlp", "gru", "transformer", "gnn-inferred", "gnn-connectome", "gnn-shuffled", "gnn-nograph")
STRUCTURE_AGNOSTIC = ("mlp", "gru", "transformer")
PROTOCOLS = ("within", "lowo")
LINEAR = "linear (logistic / ridge)"
BEHAVIOUR = ("bal_acc", "macro_f1", "auroc", "vel_r2")


@dataclass
class WormDynamicsConfig(ExperimentConfig):
    seeds: int = 3
    dt: float = 0.6                       # s; recordings with another frame interval are resampled to it
    window_s: float = 3.6                 # input window (6 frames at 0.6 s)
    horizons_s: tuple[float, ...] = (0.6, 3.0, 6.0)   # forecast horizons (1, 5 and 10 frames at 0.6 s)
    unnamed_horizon_s: float = 3.0        # longest horizon scored on worms without names
    protocols: tuple[str, ...] = PROTOCOLS
    models: tuple[str, ...] = NEURAL_MODELS
    lowo_folds: int = 0                   # held-out worms in leave-one-worm-out (0 = every named worm)
    fractions: tuple[float, ...] = (0.7, 0.1, 0.2)   # within-worm train / val / test
    lowo_val_fraction: float = 0.15       # late part of each training worm used for validation
    train_stride: int = 1                 # keep every k-th training window
    test_stride: int = 1                  # score every k-th test window
    epochs: int = 30                      # every run trains this many epochs and keeps its best validation epoch
    patience: int = 0                     # > 0: stop early after this many epochs without improvement instead
    batch_size: int = 128
    lr: float = 3e-3                      # chosen over {1e-3, 3e-3} by validation loss (all models preferred 3e-3)
    weight_decay: float = 1e-4
    mlp_hidden: int = 256
    rnn_hidden: int = 128
    d_model: int = 64
    graph_hidden: int = 32
    graph_identity: bool = True           # graph nets learn one embedding per neuron name (shared across worms)
    identity_dropout: float = 0.2         # fraction of nodes trained as 'unnamed' (identity 0)
    unnamed_worm: bool = True             # also test leave-one-worm-out graph nets on every worm without names
    unnamed_stride: int = 1               # score every k-th window of those worms
    connectome: str = "cook2019"
    ridge_alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0)
    logistic_cs: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0)
    null_shuffles: int = 200
    data_root: str = ""                   # default: <shared data>/celegans-flavell2023
    QUICK = {"seeds": 2, "lowo_folds": 2, "epochs": 8, "batch_size": 64, "null_shuffles": 50,
             "train_stride": 3, "test_stride": 2, "unnamed_stride": 8}


# --- units of work (module level, so that any executor can run them) --------------------

def baseline_unit(fold: Fold, horizons: tuple[int, ...], labels: list[str], cfg: WormDynamicsConfig) -> dict[str, Any]:
    """Persistence, training mean and ridge AR forecasts; logistic / ridge behaviour decoders."""
    return score_baselines(fold.train, fold.val, fold.test, horizons, labels=labels, alphas=cfg.ridge_alphas,
                           cs=cfg.logistic_cs)


def neural_unit(name: str, fold: Fold, adjacency: np.ndarray | None, seed: int, horizons: tuple[int, ...],
                labels: list[str], cfg: WormDynamicsConfig, checkpoint: str, device: str, keep: bool,
                unnamed: list[tuple[str, Any]], unnamed_horizons: tuple[int, ...]) -> dict[str, Any]:
    """Train one network on one fold with one seed; score it on every test worm (and every unnamed worm)."""
    n, window = fold.train.x.shape[2], fold.train.x.shape[1]
    with seeded(seed):
        model = window_model("gnn-fixed" if adjacency is not None else name, n, window, adjacency=adjacency,
                             mlp_hidden=cfg.mlp_hidden, rnn_hidden=cfg.rnn_hidden, d_model=cfg.d_model,
                             graph_hidden=cfg.graph_hidden, identities=cfg.graph_identity,
                             identity_dropout=cfg.identity_dropout)
    tc = TrainConfig(epochs=cfg.epochs, lr=cfg.lr, optimizer="adamw", weight_decay=cfg.weight_decay,
                     batch_size=cfg.batch_size, grad_clip=1.0, patience=cfg.patience or cfg.epochs)
    hist = fit_multitask(model, fold.train, fold.val, tc, seed=seed, checkpoint=checkpoint, device=device)
    scored = [score_windows(model, w, horizons, labels=labels, device=device) for w in fold.test]
    res: dict[str, Any] = {"epochs": len(hist), "best_epoch": best_epoch(hist), "per_worm": [s for s, _ in scored],
                           "train_s": sum(h.wall_time_s for h in hist), "predictions": scored[0][1] if keep else None}
    if name == "gnn-inferred":
        res["adjacency"] = mean_inferred_adjacency(model, [w.x for w in fold.test], device)
    if isinstance(model, GraphNet):
        res["unnamed"] = {}
        for worm, w in unnamed:
            m = w.x.shape[2]
            kw: dict[str, Any] = {"ids": torch.zeros(m, dtype=torch.long)} if model.identity is not None else {}
            if model.graph == "fixed":  # unnamed neurons have no anatomical edges
                kw["adjacency"] = np.zeros((m, m))
            res["unnamed"][worm] = score_windows(model, w, unnamed_horizons, labels=labels[:len(unnamed_horizons)],
                                                 device=device, batch=64, **kw)[0]
    return res


# --- the experiment -------------------------------------------------------------------

def run(cfg: WormDynamicsConfig, ctx: RunContext) -> ResultTable:
    for what, vals, known in (("model", cfg.models, NEURAL_MODELS), ("protocol", cfg.protocols, PROTOCOLS)):
        if bad := [v for v in vals if v not in known]:
            raise UnknownNameError(what, bad[0], known)
    if not cfg.horizons_s or sorted(cfg.horizons_s) != list(cfg.horizons_s) or cfg.patience < 0:
        raise ValidationError(f"horizons_s must be increasing seconds and patience >= 0, got {cfg.horizons_s}, "
                              f"{cfg.patience}")
    everything = [resample(r, cfg.dt) for r in flavell_recordings(cfg.data_root or None)]
    recs = [r for r in everything if r.named]
    unnamed = [r for r in everything if not r.named] if cfg.unnamed_worm else []
    names = shared_names(recs)
    W = seconds_to_frames(cfg.window_s, cfg.dt, what="window_s")
    hz = tuple(seconds_to_frames(h, cfg.dt, what="horizons_s") for h in cfg.horizons_s)
    labels = [f"{h:g}s" for h in cfg.horizons_s]
    uhz = tuple(h for h, s in zip(hz, cfg.horizons_s) if s <= cfg.unnamed_horizon_s) or hz[:1]
    counts, matched = connectome_adjacency(names, cfg.connectome)
    prior = prior_adjacency(counts)
    ctx.log(f"{len(recs)} named + {len(unnamed)} unnamed worms, {len(names)} shared neurons ({len(matched)} in "
            f"{cfg.connectome}), {int((counts > 0).sum())} anatomical edges; W = {W} frames; device {ctx.device}")
    held = None if cfg.lowo_folds <= 0 else range(min(cfg.lowo_folds, len(recs)))
    folds = {p: [within_worm_fold(recs, names, W, max(hz), fractions=cfg.fractions, train_stride=cfg.train_stride,
                                  test_stride=cfg.test_stride)] if p == "within" else
             leave_one_worm_out_folds(recs, names, W, max(hz), val_fraction=cfg.lowo_val_fraction, held_out=held,
                                      train_stride=cfg.train_stride, test_stride=cfg.test_stride)
             for p in cfg.protocols}
    base_units, units, meta, uw = [], [], [], []  # type: list[Unit], list[Unit], list[Any], list[tuple[str, Any]]
    plot_key = (cfg.protocols[-1], folds[cfg.protocols[-1]][0].name, ctx.seeds[0])
    for p, fl in folds.items():
        for fold in fl:
            base_units.append(Unit(f"{p}-{fold.name}-baselines", baseline_unit, (fold, hz, labels, cfg)))
            fuw = [(r.name, recording_windows(r, W, max(uhz), velocity_scale=fold.velocity_scale,
                                              stride=cfg.unnamed_stride)) for r in unnamed] if p == "lowo" else []
            uw = fuw or uw
            for seed in ctx.seeds:
                for m in cfg.models:
                    adj = {"gnn-connectome": prior, "gnn-nograph": np.zeros_like(prior),
                           "gnn-shuffled": shuffled_adjacency(prior, seed) if m == "gnn-shuffled" else None}.get(m)
                    key = f"{p}-{fold.name}-{m}-s{seed}"
                    units.append(Unit(key, neural_unit, (m, fold, adj, seed, hz, labels, cfg, str(ctx.checkpoint_path(
                        key)), str(ctx.device), (p, fold.name, seed) == plot_key, fuw, uhz), gpu=0.25))
                    meta.append((p, fold, m, seed))
    base = dict(zip([(p, f.name) for p, fl in folds.items() for f in fl], ctx.map(base_units, desc="baselines")))
    neural = list(zip(meta, ctx.map(units, desc="networks")))
    # the tables: one row per (protocol, model, run, test worm); reports aggregate these
    per_worm = ResultTable([f"{m}_{h}" for h in labels for m in ("r2", "mse")] + list(BEHAVIOUR), seed_column="run",
                           title="Forecasting every neuron (z-scored; mean per-neuron R² and MSE at each horizon, by "
                                 "autoregressive rollout) and decoding behaviour at the window's last frame")
    for (p, fname), b in base.items():
        worms = next(f.test_worms for f in folds[p] if f.name == fname)
        for bname in ("persistence", "mean", "linear"):
            for w, s in zip(worms, b[bname]["per_worm"]):
                per_worm.add(protocol=p, model=bname, run=fname, worm=w, **s)
    for (p, fold, m, seed), r in neural:
        for w, s in zip(fold.test_worms, r["per_worm"]):
            per_worm.add(protocol=p, model=m, run=f"{fold.name}/s{seed}", worm=w, **s)
    ctx.add_table(_runs(per_worm, list(BEHAVIOUR), "Behaviour decoding at the window's last frame: reversal "
                        "(balanced accuracy, macro-F1, AUROC) and velocity (R²); mean ± sd over runs"), "behaviour",
                  note="Chance balanced accuracy and AUROC: 0.5.")
    ctx.add_table(per_worm, "per_worm", per_worm.title, by=["protocol", "model", "worm"],
                  note="Mean ± sd over seeds, per test worm (deterministic baselines: one value).")
    _training_and_transfer(ctx, cfg, neural, uw, uhz, labels, unnamed)
    _graph_analysis(ctx, cfg, neural, counts, names)
    _figures(ctx, cfg, per_worm, neural, base, names, labels, plot_key)
    _verdicts(ctx, cfg, per_worm, labels, base, neural, names)
    return _runs(per_worm, [f"{m}_{h}" for h in labels for m in ("r2", "mse")], "Forecasting every neuron (z-scored):"
                 " mean per-neuron R² and MSE at each horizon (autoregressive rollout); mean ± sd over runs")


def _runs(per_worm: ResultTable, metrics: list[str], title: str) -> ResultTable:
    """One row per run: the mean over its test worms (within-worm: six worms; leave-one-out: one)."""
    out = ResultTable(metrics, seed_column="run", title=title)
    for key in dict.fromkeys((r["protocol"], r["model"], r["run"]) for r in per_worm.rows):
        rows = per_worm.where(protocol=key[0], model=key[1], run=key[2]).rows
        if all(r.get(m) is None for r in rows for m in metrics):
            continue
        out.add(protocol=key[0], model=LINEAR if key[1] == "linear" and "bal_acc" in metrics else key[1], run=key[2],
                **mean_scores([{m: float(r.get(m, np.nan)) for m in metrics} for r in rows]))  # type: ignore[arg-type]
    return out


def _training_and_transfer(ctx: RunContext, cfg: WormDynamicsConfig, neural: list[Any], uw: list[Any],
                           uhz: tuple[int, ...], labels: list[str], unnamed: list[Any]) -> None:
    training = ResultTable(["epochs", "best_epoch", "train_s"], seed_column="seed", title="Training of every run")
    transfer = ResultTable([f"{m}_{h}" for h in labels[:len(uhz)] for m in ("r2", "mse")] + list(BEHAVIOUR),
                           seed_column="run", title="Worms without neuron names (all neurons, identity 'unnamed')")
    for (p, fold, m, seed), r in neural:
        training.add(protocol=p, model=m, fold=fold.name, seed=seed, epochs=r["epochs"], best_epoch=r["best_epoch"],
                     train_s=round(r["train_s"], 1))
        for worm, s in r.get("unnamed", {}).items():
            transfer.add(worm=worm, model=f"{m} (trained on the other named worms)", run=f"{fold.name}/s{seed}", **s)
    for worm, w in uw:
        transfer.add(worm=worm, model="persistence", run="-", **forecast_scores(predict_windows(
            Persistence(), w.x, max(uhz), batch=len(w))[0], w.y, uhz, labels[:len(uhz)]))
    ctx.add_table(training, "training", training.title, by=["protocol", "model", "fold", "seed"], note=(
        f"Every run trains {cfg.epochs} epochs and keeps the weights of its best validation epoch." if not cfg.patience
        else f"Early stopping after {cfg.patience} epochs without a lower validation loss."))
    if len(transfer):
        ctx.add_table(transfer, "unnamed_transfer", transfer.title, note=(
            "Graph nets of each leave-one-worm-out fold applied unchanged to every worm without NeuroPAL names ("
            + ", ".join(f"{r.name}: {r.n_neurons} neurons" for r in unnamed) + "); every node gets the shared "
            "'unnamed' identity, so a fixed connectome graph has no edges there. Structure-agnostic and linear models "
            f"cannot run on these worms. One window in {cfg.unnamed_stride} scored."))


def _graph_analysis(ctx: RunContext, cfg: WormDynamicsConfig, neural: list[Any], counts: np.ndarray,
                    names: list[str]) -> None:
    runs = [(p, f"{fold.name}/s{seed}", r["adjacency"], activity_correlation(fold.train_traces))
            for (p, fold, m, seed), r in neural if "adjacency" in r]
    if not runs:
        return
    table = ResultTable(["overlap_inferred", "overlap_null", "z_vs_null", "p_vs_null", "overlap_correlation",
                         "density"], seed_column="seed", title="Strongest inferred edges against the connectome")
    nulls = shuffled_nulls(counts, cfg.null_shuffles)
    tests = [(p, run, a, overlap_test(a, counts, nulls=nulls), overlap_test(c, counts, nulls=nulls))
             for p, run, a, c in runs]
    for p, run, _, t, c in tests:
        table.add(protocol=p, run=run, overlap_inferred=t.overlap, overlap_null=t.null_mean, z_vs_null=t.z,
                  p_vs_null=t.p, overlap_correlation=c.overlap, density=t.density)
    ctx.add_table(table, "graph_vs_connectome", table.title, by=["protocol", "run"], note=(
        f"One row per run. k = {int((counts > 0).sum())} anatomical edges among the {len(names)} neurons "
        f"({cfg.connectome}, chemical + gap, directed A[pre, post]); overlap = fraction of the k strongest inferred "
        f"edges (mean over test windows) that are anatomical; null = the same edges scored against {cfg.null_shuffles}"
        " degree-preserving shuffles of the anatomy (z; empirical one-sided p); overlap_correlation = the "
        "|correlation| graph of the training activity scored the same way; density = chance."))
    ctx.add_text("Inferred graph against the connectome", "; ".join(
        f"{p}: the inferred graph overlaps the anatomy more than shuffled anatomy (p < 0.05) in "
        f"{proportion(t.p < 0.05 for q, _, _, t, _ in tests if q == p)} runs, and more than the activity-correlation "
        f"graph in {proportion(t.overlap > c.overlap for q, _, _, t, c in tests if q == p)} runs"
        for p in dict.fromkeys(q for q, *_ in tests)) + ".", where="bottom")
    p0 = "lowo" if any(p == "lowo" for p, *_ in tests) else tests[0][0]
    sel = [x for x in tests if x[0] == p0]
    fig = forecast_plots.graph_figure(np.mean([a for _, _, a, _, _ in sel], axis=0), counts, names,
                                      np.concatenate([t.null for *_, t, _ in sel]), [t.overlap for *_, t, _ in sel],
                                      sel[0][4].overlap, f"{p0}, mean over runs", cfg.connectome)
    ctx.add_figure(fig, "graph_vs_connectome", "Inferred graph against the connectome: mean inferred adjacency, "
                   "anatomy, and the overlap of each run (red) against the shuffled null")


def _figures(ctx: RunContext, cfg: WormDynamicsConfig, per_worm: ResultTable, neural: list[Any],
             base: dict[tuple[str, str], Any], names: list[str], labels: list[str], plot_key: tuple[Any, ...]) -> None:
    titles = {"within": "within worm (late 20%)", "lowo": "unseen worm (leave one out)"}
    fc = [f"{m}_{h}" for h in labels for m in ("r2", "mse")]
    fig, clipped = forecast_plots.horizon_figure(_runs(per_worm, fc, ""), cfg.protocols, cfg.horizons_s, labels, titles)
    ctx.add_figure(fig, "forecast_r2", "Forecast R² (mean over neurons) against horizon, mean ± sd over runs"
                   + ("; the axis stops at R² = −1, and a triangle on it marks a mean below −1 (see the table)"
                      if clipped else ""))
    ctx.add_figure(forecast_plots.behaviour_figure(_runs(per_worm, list(BEHAVIOUR), ""), cfg.protocols), "behaviour",
                   "Behaviour decoding: reversal balanced accuracy and velocity R² (bars mean ± sd, dots runs)")
    keep = [(fold, m, r["predictions"]) for (p, fold, m, s), r in neural if r["predictions"] is not None]
    if not keep:
        return
    fold, w = keep[0][0], keep[0][0].test[0]
    preds = {"persistence": base[plot_key[:2]]["persistence"]["predictions"],
             "linear": base[plot_key[:2]]["linear"]["predictions"], **{m: pr for _, m, pr in keep}}
    preds = {m: preds[m] for m in ("persistence", "linear", "gru", "gnn-inferred", "gnn-connectome", "gnn-nograph")
             if m in preds}
    where = f"{'unseen worm' if fold.name != 'all' else 'late test part of worm'} {fold.test_worms[0]}"
    for h, lab in ((1, labels[0]), (w.y.shape[1], labels[-1])):
        ctx.add_figure(forecast_plots.window_trace_figure(w, fold.dt, preds, names, h, where=where), f"traces_{lab}",
                       f"Forecasts {lab} ahead against the true trace, {where} (first seed; "
                       f"{'one step' if h == 1 else 'autoregressive rollout'})")


def _verdicts(ctx: RunContext, cfg: WormDynamicsConfig, per_worm: ResultTable, labels: list[str],
              base: dict[tuple[str, str], Any], neural: list[Any], names: list[str]) -> None:
    p = "lowo" if "lowo" in cfg.protocols else cfg.protocols[0]
    metrics = [f"r2_{labels[0]}", f"r2_{labels[-1]}", "bal_acc", "vel_r2"]

    def by_worm(m: str, k: str) -> dict[str, float]:  # each worm's mean over seeds
        worms = dict.fromkeys(str(r["worm"]) for r in per_worm.where(protocol=p, model=m).rows)
        return {w: float(np.mean(v)) if (v := per_worm.values(k, protocol=p, model=m, worm=w)) else float("nan")
                for w in worms}

    def cmp(a: str, b: str, k: str) -> tuple[str, str, str, Any]:
        va, vb = by_worm(a, k), by_worm(b, k)
        return a, b, k, paired([va[w] for w in sorted(va) if w in vb], [vb[w] for w in sorted(va) if w in vb])

    agn = [m for m in STRUCTURE_AGNOSTIC if m in cfg.models]
    claim1 = [cmp(g, r, k) for g in ("gnn-inferred", "gnn-connectome") if g in cfg.models for k in metrics
              for r in ([max(agn, key=lambda m: np.nanmean(list(by_worm(m, k).values())))] if agn else []) + ["linear"]]
    claim2 = [cmp(g, "gnn-nograph", k) for g in ("gnn-inferred", "gnn-connectome", "gnn-shuffled")
              if g in cfg.models and "gnn-nograph" in cfg.models for k in metrics[:3]]
    won = [f"{a} ({k})" for a, _, k, c in claim2 if c.favours == "a"]
    plain = ("" if not claim2 else "**The network with no graph does as well as any graph here**: no graph variant "
             f"beats it in any of the {len(claim2)} paired comparisons "
             f"({proportion(c.favours == 'b' for *_, c in claim2)}"
             " are decided for the no-graph network, the others are undecided)." if not won else
             f"A graph beats the no-graph network in {proportion(c.favours == 'a' for *_, c in claim2)} paired "
             f"comparisons: {', '.join(won)}.")
    rows = "\n".join(f"| {a} | {b} | {k} | {c.format()} | {dict(a=a, b=b).get(c.favours or '', 'neither')} |"
                     for a, b, k, c in claim1 + claim2)
    n = len({r["worm"] for r in per_worm.where(protocol=p).rows})
    ctx.add_text("Answer: on unseen worms, does the graph model beat the structure-agnostic models and the linear "
                 "baseline?", (
                     f"**{verdict([c for *_, c in claim1]) if claim1 else 'n/a'}** ({p}; every comparison pairs two "
                     f"models worm by worm over {n} worms, each worm's value the mean over {len(ctx.seeds)} seed(s); "
                     "decided = the 95% t-interval of the mean difference excludes 0). The graph models are "
                     "gnn-inferred and gnn-connectome; their rivals the best structure-agnostic network per metric "
                     f"(by mean) and the linear baselines.\n\n{plain}\n\n| model | against | metric | mean difference "
                     f"[95% CI], p | decided for |\n|---|---|---|---|---|\n{rows}"), where="top")
    ep = {m: choice_summary([int(r["epochs"]) for (_, _, mm, _), r in neural if mm == m]) for m in cfg.models}
    be = {m: choice_summary([int(r["best_epoch"]) for (_, _, mm, _), r in neural if mm == m]) for m in cfg.models}
    chosen = [b["chosen"] for b in base.values()]
    ctx.add_text("Data and protocol", (
        f"{len(names)} neuron classes named in every named worm, on a common frame interval of {cfg.dt:g} s (other "
        f"intervals are resampled); window {cfg.window_s:g} s; horizons {', '.join(labels)}. Within-worm split "
        f"{'/'.join(f'{f:g}' for f in cfg.fractions)}; leave-one-worm-out validates on the last "
        f"{cfg.lowo_val_fraction:.0%} of each training worm. Networks: next-frame MSE + class-weighted reversal "
        f"cross-entropy + velocity MSE, AdamW, lr {cfg.lr:g}, "
        + (f"every run trains all {cfg.epochs} epochs and keeps its best validation epoch. " if not cfg.patience else
           f"early stopping with patience {cfg.patience}. ")
        + "Epochs trained: " + "; ".join(f"{m} {ep[m]}" for m in cfg.models) + ". Best validation epoch: "
        + "; ".join(f"{m} {be[m]}" for m in cfg.models) + ". Penalties chosen on validation windows (over folds): "
        f"ridge AR alpha {choice_summary(c.get('ridge_alpha') for c in chosen)}, logistic C "
        f"{choice_summary(c.get('logistic_C') for c in chosen)}, velocity alpha "
        f"{choice_summary(c.get('velocity_alpha') for c in chosen)}. Tables: mean ± sd over runs (within: seeds; "
        "leave-one-worm-out: held-out worms x seeds; deterministic baselines: one row per fold). Data: Dag, "
        "Nwabudike, Kang et al., Cell 186 (2023); cite it when showing these data."), where="top")


EXPERIMENT = Experiment(
    name="worm-dynamics",
    title="Whole-brain C. elegans dynamics: forecasting, behaviour decoding and inferred graphs on unseen worms",
    description=__doc__.strip().split("\n\n", 1)[1].replace("\n", " "),
    config_cls=WormDynamicsConfig,
    run=run,
    tags=("worms", "dynamics", "graph"),
)
