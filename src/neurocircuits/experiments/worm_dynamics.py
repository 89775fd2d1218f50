"""Experiment ``worm-dynamics``: whole-brain C. elegans forecasting and behaviour decoding.

Six freely moving NeuroPAL worms of Dag et al. (Cell 2023, Flavell lab), on the neuron
classes named in all of them. Every model forecasts each neuron's next frame from a
window of W frames (and k frames ahead by autoregressive rollout) and decodes behaviour
at the window's last frame: forward versus reversal and body velocity. Models: MLP, GRU
and Transformer over time (structure-agnostic), a graph network that infers a relation
graph per sample from activity, the same network on the anatomical connectome, and on a
degree-preserving shuffle of it; baselines persistence, the training mean, ridge linear
AR, logistic regression and ridge regression. Two protocols: within-worm (train on the
early 70% of every worm, test on the late 20%) and leave-one-worm-out (unseen organism).
Question of Wang et al. (arXiv 2010.08569): on unseen worms, does the graph model beat
the structure-agnostic models and the linear baseline?
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neurocircuits.circuit import Circuit, degree_preserving_shuffle
from neurocircuits.data.worms import (
    WormRecording, Windows, align_to_names, chronological_segments, connectome_adjacency, flavell_recordings,
    make_windows, shared_names, standardise,
)
from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.experiments.context import RunContext
from neurocircuits.experiments.registry import Experiment, ExperimentConfig
from neurocircuits.models.graph import GraphNet, prior_adjacency
from neurocircuits.models.sequence import GRUNet, MLPNet, Persistence, RidgeAR, TransformerNet, rollout
from neurocircuits.report.plots import bar_mean_spread, new_figure, plot_mean_spread
from neurocircuits.report.table import ResultTable
from neurocircuits.train import TrainConfig, fit, metrics, seeded

NEURAL_MODELS = ("mlp", "gru", "transformer", "gnn-inferred", "gnn-connectome", "gnn-shuffled", "gnn-nograph")
STRUCTURE_AGNOSTIC = ("mlp", "gru", "transformer")
PROTOCOLS = ("within", "lowo")
PLOT_NEURONS = ("AVAL", "AVEL", "SMDVL", "RMDL")


@dataclass
class WormDynamicsConfig(ExperimentConfig):
    seeds: int = 3
    window: int = 6                       # frames (3.6 s at 0.6 s/frame)
    horizons: tuple[int, ...] = (1, 5, 10)
    protocols: tuple[str, ...] = PROTOCOLS
    models: tuple[str, ...] = NEURAL_MODELS
    lowo_folds: int = 0                   # held-out worms in leave-one-worm-out (0 = all six)
    fractions: tuple[float, ...] = (0.7, 0.1, 0.2)   # within-worm train / val / test
    lowo_val_fraction: float = 0.15       # late part of each training worm used for early stopping
    train_stride: int = 1                 # keep every k-th training window (quick mode: 2)
    test_stride: int = 1                  # score every k-th test window (quick mode: 2; same test frames)
    epochs: int = 30
    patience: int = 6
    batch_size: int = 128
    lr: float = 3e-3                      # chosen over {1e-3, 3e-3} by validation loss (all models preferred 3e-3)
    weight_decay: float = 1e-4
    mlp_hidden: int = 256
    rnn_hidden: int = 128
    d_model: int = 64
    graph_hidden: int = 32
    graph_identity: bool = True           # graph nets learn one embedding per neuron name (shared across worms)
    identity_dropout: float = 0.2         # fraction of nodes trained as 'unnamed' (identity 0)
    unnamed_worm: bool = True             # also test leave-one-worm-out graph nets on the worm without names
    unnamed_stride: int = 1               # score every k-th window of that worm (quick mode: 4)
    connectome: str = "cook2019"
    ridge_alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0)
    logistic_cs: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0)
    null_shuffles: int = 200
    data_root: str = ""                   # default: <shared data>/celegans-flavell2023
    QUICK = {"seeds": 2, "lowo_folds": 2, "epochs": 8, "patience": 3, "batch_size": 64, "null_shuffles": 50,
             "train_stride": 2, "test_stride": 2, "unnamed_stride": 8}


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------

@dataclass
class Fold:
    """Training, validation and per-worm test windows of one protocol fold, and the training frames."""

    name: str
    train: Windows
    val: Windows
    test: list[Windows]
    test_worms: list[str]
    train_traces: list[np.ndarray]
    velocity_scale: tuple[float, float] = (0.0, 1.0)


def _velocity_scale(recs: list[WormRecording], frames: list[np.ndarray]) -> tuple[float, float]:
    v = np.concatenate([r.behaviour["velocity"][f] for r, f in zip(recs, frames)])
    return float(v.mean()), float(v.std() + 1e-9)


def build_folds(recs: list[WormRecording], names: list[str], cfg: WormDynamicsConfig, protocol: str) -> list[Fold]:
    """The folds of a protocol; traces z-scored per worm on that worm's training frames."""
    W, H = cfg.window, max(cfg.horizons)
    aligned = [align_to_names(r, names)[0] for r in recs]
    if protocol == "within":
        segs = [chronological_segments(r.n_frames, cfg.fractions, gap=W) for r in recs]
        train_frames = [np.arange(*s[0]) for s in segs]
        vm, vs = _velocity_scale(recs, train_frames)
        tr, va, te, raw = [], [], [], []
        for k, (r, x, s) in enumerate(zip(recs, aligned, segs)):
            z, _, _ = standardise(x, [s[0]])
            vel = (r.behaviour["velocity"] - vm) / vs
            tr.append(make_windows(z, W, 1, s[0], r.labels, vel, worm=k, stride=cfg.train_stride))
            va.append(make_windows(z, W, 1, s[1], r.labels, vel, worm=k))
            te.append(make_windows(z, W, H, s[2], r.labels, vel, worm=k, stride=cfg.test_stride))
            raw.append(z[s[0][0]:s[0][1]])
        return [Fold("all", Windows.concat(tr), Windows.concat(va), te, [r.name for r in recs], raw, (vm, vs))]
    if protocol != "lowo":
        raise UnknownNameError("protocol", protocol, PROTOCOLS)
    held = range(len(recs)) if cfg.lowo_folds <= 0 else range(min(cfg.lowo_folds, len(recs)))
    folds = []
    for h in held:
        others = [k for k in range(len(recs)) if k != h]
        segs = {k: chronological_segments(recs[k].n_frames, (1 - cfg.lowo_val_fraction, cfg.lowo_val_fraction), gap=W)  # type: ignore[assignment]
                for k in others}
        vm, vs = _velocity_scale([recs[k] for k in others], [np.arange(*segs[k][0]) for k in others])
        tr, va, raw = [], [], []
        for k in others:
            z, _, _ = standardise(aligned[k], [segs[k][0]])
            vel = (recs[k].behaviour["velocity"] - vm) / vs
            tr.append(make_windows(z, W, 1, segs[k][0], recs[k].labels, vel, worm=k, stride=cfg.train_stride))
            va.append(make_windows(z, W, 1, segs[k][1], recs[k].labels, vel, worm=k))
            raw.append(z[segs[k][0][0]:segs[k][0][1]])
        # the unseen worm is z-scored on its own frames (no labels used; the lab's traces are
        # z-scored over the whole recording already); velocity uses the training worms' scale
        zh, _, _ = standardise(aligned[h], slice(None))
        velh = (recs[h].behaviour["velocity"] - vm) / vs
        te = [make_windows(zh, W, H, None, recs[h].labels, velh, worm=h, stride=cfg.test_stride)]
        folds.append(Fold(recs[h].name, Windows.concat(tr), Windows.concat(va), te, [recs[h].name], raw, (vm, vs)))
    return folds


# --------------------------------------------------------------------------------------
# models, training, scoring
# --------------------------------------------------------------------------------------

def make_model(name: str, n: int, cfg: WormDynamicsConfig, graphs: dict[str, np.ndarray]) -> nn.Module:
    if name == "mlp":
        return MLPNet(n, cfg.window, hidden=cfg.mlp_hidden)
    if name == "gru":
        return GRUNet(n, hidden=cfg.rnn_hidden)
    if name == "transformer":
        return TransformerNet(n, cfg.window, d_model=cfg.d_model)
    ids = n if cfg.graph_identity else 0
    kw = {"n_identities": ids, "identity_dropout": cfg.identity_dropout if ids else 0.0}
    if name == "gnn-inferred":
        net = GraphNet(cfg.graph_hidden, "inferred", **kw)  # type: ignore[arg-type]
    elif name in ("gnn-connectome", "gnn-shuffled"):
        net = GraphNet(cfg.graph_hidden, "fixed", adjacency=graphs[name], **kw)  # type: ignore[arg-type]
    elif name == "gnn-nograph":  # ablation: the same network with no edges (no messages at all)
        net = GraphNet(cfg.graph_hidden, "fixed", adjacency=np.zeros((n, n)), **kw)  # type: ignore[arg-type]
    else:
        raise UnknownNameError("model", name, NEURAL_MODELS)
    return net.set_node_ids(np.arange(1, n + 1)) if ids else net


def _tensors(w: Windows) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and packed targets ``[next frame (N), reversal, velocity]``."""
    x = torch.from_numpy(w.x)
    y = torch.cat([torch.from_numpy(w.y[:, 0]), torch.from_numpy(w.labels[:, None].astype(np.float32)),
                   torch.from_numpy(w.velocity[:, None].astype(np.float32))], dim=1)
    return x, y


def multitask_loss(class_weight: torch.Tensor) -> Any:
    """MSE of the next frame + class-weighted cross-entropy of reversal + MSE of velocity."""
    def loss(out: tuple[torch.Tensor, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        nxt, beh = out
        n = nxt.shape[1]
        ce = F.cross_entropy(beh[:, :2], target[:, n].long(), weight=class_weight.to(beh.device))
        return F.mse_loss(nxt, target[:, :n]) + ce + F.mse_loss(beh[:, 2], target[:, n + 1])
    return loss


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, steps: int, device: torch.device, batch: int = 128
            ) -> tuple[np.ndarray, np.ndarray]:
    """Rolled-out forecasts (n, steps, N) and behaviour outputs (n, 3) of windows ``x``."""
    model.eval()
    roll, beh = [], []
    for i in range(0, x.shape[0], batch):
        xb = torch.from_numpy(x[i:i + batch]).to(device)
        roll.append(rollout(lambda w: model(w)[0], xb, steps).cpu())
        beh.append(model(xb)[1].cpu())
    return torch.cat(roll).numpy(), torch.cat(beh).numpy()


def score_forecast(roll: np.ndarray, w: Windows, horizons: tuple[int, ...]) -> dict[str, float]:
    out = {}
    for h in horizons:
        out[f"r2_h{h}"] = metrics.r2(roll[:, h - 1], w.y[:, h - 1])
        out[f"mse_h{h}"] = metrics.mse(roll[:, h - 1], w.y[:, h - 1])
    return out


def score_behaviour(rev_pred: np.ndarray, vel_pred: np.ndarray, w: Windows) -> dict[str, float]:
    return {"bal_acc": metrics.balanced_accuracy(rev_pred, w.labels),
            "macro_f1": metrics.macro_f1(rev_pred, w.labels),
            "vel_r2": metrics.r2(vel_pred, w.velocity)}


def _mean_dicts(ds: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.nanmean([d[k] for d in ds])) for k in ds[0]}


def train_neural(name: str, fold: Fold, cfg: WormDynamicsConfig, graphs: dict[str, np.ndarray], seed: int,
                 ctx: RunContext, key: str, keep_predictions: bool, unnamed: Windows | None = None) -> dict[str, Any]:
    """Train one model on one fold with one seed; score it on every test worm.

    ``unnamed``: windows of a worm without neuron names (all neurons, identity 0) on which a
    graph net is also scored (forecast at horizons <= 5 and behaviour).
    """
    n = fold.train.x.shape[2]
    with seeded(seed):
        model = make_model(name, n, cfg, graphs)
    x, y = _tensors(fold.train)
    xv, yv = (t.to(ctx.device) for t in _tensors(fold.val))
    counts = np.bincount(fold.train.labels, minlength=2).astype(np.float64)
    cw = torch.tensor(counts.sum() / (2 * np.maximum(counts, 1)), dtype=torch.float32)
    loss_fn = multitask_loss(cw)

    def val_fn(m: nn.Module) -> dict[str, float]:
        losses = [float(loss_fn(m(xv[i:i + 128]), yv[i:i + 128])) * xv[i:i + 128].shape[0]
                  for i in range(0, xv.shape[0], 128)]
        return {"loss": sum(losses) / xv.shape[0]}

    tc = TrainConfig(epochs=cfg.epochs, lr=cfg.lr, optimizer="adamw", weight_decay=cfg.weight_decay,
                     batch_size=cfg.batch_size, grad_clip=1.0, patience=cfg.patience)
    with seeded(seed):  # dropout draws from the global generator: make it reproducible per unit
        hist = fit(model, (x, y), loss_fn, tc, seed=seed, val_fn=val_fn, checkpoint=ctx.checkpoint_path(key),
                   device=ctx.device)
    res: dict[str, Any] = {"epochs": len(hist), "train_s": sum(h.wall_time_s for h in hist)}
    scores, preds = [], []
    for w in fold.test:
        roll, beh = predict(model, w.x, max(cfg.horizons), ctx.device)
        scores.append({**score_forecast(roll, w, cfg.horizons),
                       **score_behaviour(beh[:, :2].argmax(1), beh[:, 2], w)})
        preds.append(roll)
    res["scores"] = _mean_dicts(scores)
    if keep_predictions:
        res["predictions"] = preds[0]
    if name == "gnn-inferred":
        model.eval()
        with torch.no_grad():
            acc = torch.zeros(n, n)
            total = 0
            for w in fold.test:
                for i in range(0, len(w), 128):
                    a = model.infer_adjacency(torch.from_numpy(w.x[i:i + 128]).to(ctx.device))  # type: ignore[operator]
                    acc += a.sum(0).cpu()
                    total += a.shape[0]
        res["adjacency"] = (acc / total).numpy()
    if unnamed is not None and isinstance(model, GraphNet):
        hz = tuple(h for h in cfg.horizons if h <= 5)
        ids = torch.zeros(unnamed.x.shape[2], dtype=torch.long) if model.identity is not None else None
        if ids is not None:
            model.set_node_ids(ids)
        if model.graph == "fixed":  # unnamed neurons have no anatomical edges
            model.adjacency = torch.zeros(unnamed.x.shape[2], unnamed.x.shape[2], device=ctx.device)  # type: ignore[assignment]
        roll, beh = predict(model, unnamed.x, max(hz), ctx.device, batch=64)
        res["unnamed"] = {**score_forecast(roll, unnamed, hz), **score_behaviour(beh[:, :2].argmax(1), beh[:, 2], unnamed)}
    return res


def unnamed_windows(rec: WormRecording, cfg: WormDynamicsConfig, vel_scale: tuple[float, float]) -> Windows:
    """Windows of a worm without names: every neuron, z-scored on its own frames."""
    z, _, _ = standardise(rec.traces, slice(None))
    vel = (rec.behaviour["velocity"] - vel_scale[0]) / vel_scale[1]
    hz = max(h for h in cfg.horizons if h <= 5)
    return make_windows(z, cfg.window, hz, None, rec.labels, vel, stride=cfg.unnamed_stride)


def run_baselines(fold: Fold, cfg: WormDynamicsConfig) -> dict[str, dict[str, Any]]:
    """Persistence, training mean and ridge AR (forecast); logistic and ridge regression (behaviour)."""
    from sklearn.linear_model import LogisticRegression, Ridge

    H = max(cfg.horizons)
    xt, yt = torch.from_numpy(fold.train.x), torch.from_numpy(fold.train.y[:, 0])
    xv, yv = torch.from_numpy(fold.val.x), torch.from_numpy(fold.val.y[:, 0])
    best = min(cfg.ridge_alphas, key=lambda a: metrics.mse(RidgeAR().fit(xt, yt, a)(xv)[0], yv))
    ar = RidgeAR().fit(xt, yt, best)
    flat = lambda w: w.x.reshape(len(w), -1)  # noqa: E731
    c_best = max(cfg.logistic_cs, key=lambda c: metrics.balanced_accuracy(
        LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(flat(fold.train), fold.train.labels)
        .predict(flat(fold.val)), fold.val.labels))
    logit = LogisticRegression(C=c_best, class_weight="balanced", max_iter=2000).fit(flat(fold.train), fold.train.labels)
    a_best = max(cfg.ridge_alphas, key=lambda a: metrics.r2(
        Ridge(alpha=a).fit(flat(fold.train), fold.train.velocity).predict(flat(fold.val)), fold.val.velocity))
    ridge_v = Ridge(alpha=a_best).fit(flat(fold.train), fold.train.velocity)
    out: dict[str, dict[str, Any]] = {}
    for name in ("persistence", "mean", "linear"):
        scores, preds = [], []
        for w in fold.test:
            x = torch.from_numpy(w.x)
            if name == "persistence":
                roll = rollout(lambda b: Persistence()(b)[0], x, H).numpy()
            elif name == "mean":
                roll = np.zeros((len(w), H, w.x.shape[2]), np.float32)  # the z-scored training mean
            else:
                with torch.no_grad():
                    roll = rollout(lambda b: ar(b)[0], x, H).numpy()
            s = score_forecast(roll, w, cfg.horizons)
            if name == "linear":
                s.update(score_behaviour(logit.predict(flat(w)), ridge_v.predict(flat(w)), w))
            scores.append(s)
            preds.append(roll)
        out[name] = {"scores": _mean_dicts(scores), "predictions": preds[0],
                     "chosen": {"ridge_alpha": best, "logistic_C": c_best, "velocity_alpha": a_best}}
    return out


# --------------------------------------------------------------------------------------
# inferred graph against the connectome
# --------------------------------------------------------------------------------------

def topk_overlap(score: np.ndarray, graph: np.ndarray, k: int) -> float:
    """Fraction of the ``k`` highest-scoring off-diagonal pairs that are edges of ``graph``.

    Example:
        >>> s = np.array([[0, 3, 1], [2, 0, 0], [0, 0, 0.]]); g = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
        >>> topk_overlap(s, g, 2)
        0.5
    """
    n = score.shape[0]
    off = ~np.eye(n, dtype=bool)
    flat = np.where(off, score, -np.inf).ravel()
    top = np.argsort(-flat, kind="stable")[:k]
    return float((graph.ravel()[top] > 0).mean())


def graph_vs_connectome(adjs: list[np.ndarray], counts: np.ndarray, names: list[str], corr: list[np.ndarray],
                        shuffles: int, seed: int = 0) -> tuple[list[dict[str, float]], np.ndarray]:
    """Overlap of the strongest inferred edges with anatomical edges, against shuffled connectomes.

    ``k`` = the number of anatomical edges among the nodes. The null re-scores the same
    inferred graph against degree-preserving shuffles of the anatomy; the simple baseline
    is the |correlation| graph of the training activity scored the same way.
    """
    binary = (counts > 0).astype(float)
    np.fill_diagonal(binary, 0)
    k = int(binary.sum())
    pre, post = np.nonzero(binary)
    circ = Circuit(names, pre, post, np.ones(pre.shape[0]), np.zeros(pre.shape[0], np.int8))
    nulls = [(degree_preserving_shuffle(circ, seed=seed * 100003 + s).to_dense(signed=False).numpy() > 0)
             for s in range(shuffles)]
    rows = []
    null_all = []
    for a, c in zip(adjs, corr):
        real = topk_overlap(a, binary, k)
        null = np.array([topk_overlap(a, g, k) for g in nulls])
        null_all.append(null)
        sd = null.std(ddof=1) if null.size > 1 else float("nan")
        rows.append({"overlap_inferred": real, "overlap_null": float(null.mean()),
                     "z_vs_null": float((real - null.mean()) / sd) if sd > 0 else float("nan"),
                     "p_vs_null": float((1 + (null >= real).sum()) / (1 + null.size)),
                     "overlap_correlation": topk_overlap(c, binary, k),
                     "density": float(k / (len(names) * (len(names) - 1)))})
    return rows, np.concatenate(null_all) if null_all else np.zeros(0)


def _abs_corr(traces: list[np.ndarray]) -> np.ndarray:
    return np.abs(np.corrcoef(np.concatenate(traces).T))


# --------------------------------------------------------------------------------------
# the experiment
# --------------------------------------------------------------------------------------

def run(cfg: WormDynamicsConfig, ctx: RunContext) -> ResultTable:
    for m in cfg.models:
        if m not in NEURAL_MODELS:
            raise UnknownNameError("model", m, NEURAL_MODELS)
    for p in cfg.protocols:
        if p not in PROTOCOLS:
            raise UnknownNameError("protocol", p, PROTOCOLS)
    if min(cfg.horizons) < 1 or 1 not in cfg.horizons:
        raise ValidationError(f"horizons must be >= 1 and include 1, got {cfg.horizons}")
    everything = flavell_recordings(cfg.data_root or None)
    recs = [r for r in everything if r.named]
    unnamed_recs = [r for r in everything if not r.named] if cfg.unnamed_worm else []
    names = shared_names(recs)
    counts, matched = connectome_adjacency(names, cfg.connectome)
    graphs = {"gnn-connectome": prior_adjacency(counts)}
    ctx.log(f"{len(recs)} worms, {len(names)} shared neurons ({len(matched)} in {cfg.connectome}), "
            f"{int((counts > 0).sum())} anatomical edges among them; device {ctx.device}")
    hz = [f"{m}_h{h}" for h in cfg.horizons for m in ("r2", "mse")]
    forecast = ResultTable(hz, seed_column="run", title="Forecasting every neuron (z-scored): mean per-neuron R² "
                           "and MSE at horizon h (autoregressive rollout)")
    behaviour = ResultTable(["bal_acc", "macro_f1", "vel_r2"], seed_column="run",
                            title="Behaviour decoding at the window's last frame: reversal (balanced accuracy, "
                                  "macro-F1) and velocity (R²)")
    adjs: dict[str, list[np.ndarray]] = {p: [] for p in cfg.protocols}
    corrs: dict[str, list[np.ndarray]] = {p: [] for p in cfg.protocols}
    traces_plot: dict[str, Any] = {}
    transfer = ResultTable(["r2_h1", "mse_h1", "r2_h5", "mse_h5", "bal_acc", "macro_f1", "vel_r2"], seed_column="run",
                           title="Unseen worm without neuron names (all its neurons, identity 'unnamed')")
    for protocol in cfg.protocols:
        folds = build_folds(recs, names, cfg, protocol)
        for fi, fold in enumerate(ctx.bar(folds, desc=f"{protocol} folds")):
            base = ctx.memo(f"{protocol}-{fold.name}-baselines", lambda fold=fold: run_baselines(fold, cfg))  # type: ignore[misc]
            for bname, b in base.items():
                forecast.add(protocol=protocol, model=bname, run=fold.name,
                             **{k: v for k, v in b["scores"].items() if k in hz})
                if bname == "linear":
                    behaviour.add(protocol=protocol, model="linear (logistic / ridge)", run=fold.name,
                                  **{k: b["scores"][k] for k in behaviour.metrics})
            uw = None
            if protocol == "lowo" and unnamed_recs:
                uw = unnamed_windows(unnamed_recs[0], cfg, fold.velocity_scale)
                pers = rollout(lambda b: Persistence()(b)[0], torch.from_numpy(uw.x), uw.y.shape[1]).numpy()
                transfer.add(worm=unnamed_recs[0].name, model="persistence", run=fold.name,
                             **score_forecast(pers, uw, tuple(h for h in cfg.horizons if h <= 5)))
            plot_here = protocol == cfg.protocols[-1] and fi == 0
            if plot_here:
                where = "unseen worm" if protocol == "lowo" else "late test part of worm"
                traces_plot = {"worm": f"{where} {fold.test_worms[0]}", "truth": fold.test[0].y,
                               "persistence": base["persistence"]["predictions"],
                               "linear": base["linear"]["predictions"]}
            for seed in ctx.seeds:
                if "gnn-shuffled" in cfg.models:
                    graphs["gnn-shuffled"] = _shuffled_prior(graphs["gnn-connectome"], names, seed)
                for mname in cfg.models:
                    key = f"{protocol}-{fold.name}-{mname}-s{seed}"
                    keep = plot_here and seed == ctx.seeds[0]
                    res = ctx.memo(key, lambda m=mname, s=seed, k=key, kp=keep: train_neural(  # type: ignore[misc]
                        m, fold, cfg, graphs, s, ctx, k, kp, uw if m.startswith("gnn") else None))
                    run_id = f"{fold.name}/s{seed}"
                    forecast.add(protocol=protocol, model=mname, run=run_id,
                                 **{k: v for k, v in res["scores"].items() if k in hz})
                    behaviour.add(protocol=protocol, model=mname, run=run_id,
                                  **{k: res["scores"][k] for k in behaviour.metrics})
                    if keep:
                        traces_plot[mname] = res["predictions"]
                    if "unnamed" in res:
                        transfer.add(worm=unnamed_recs[0].name, model=f"{mname} (trained on the other named worms)",
                                     run=run_id, **res["unnamed"])
                    if "adjacency" in res:
                        adjs[protocol].append(res["adjacency"])
                        corrs[protocol].append(_abs_corr(fold.train_traces))
            ctx.log(f"{protocol} fold {fold.name} done")
    ctx.add_table(behaviour, "behaviour", behaviour.title,
                  note="Rows: mean ± sd over runs (within: seeds; leave-one-worm-out: held-out worms x seeds). "
                       "Chance balanced accuracy is 0.5. The linear baseline is deterministic (spread over folds only).")
    if len(transfer):
        ctx.add_table(transfer, "unnamed_transfer", transfer.title,
                      note=f"Graph nets trained in each leave-one-worm-out fold (on {len(names)} named neurons of five "
                           f"worms) applied unchanged to {unnamed_recs[0].name} ({unnamed_recs[0].n_neurons} neurons, "
                           "no NeuroPAL names: every node gets the shared 'unnamed' identity; a fixed connectome graph "
                           "then has no edges). Structure-agnostic models and the linear baselines cannot run on it "
                           f"(they need the {len(names)} named inputs). One window in {cfg.unnamed_stride} scored.")
    _graph_analysis(ctx, cfg, adjs, corrs, counts, names)
    _plots(ctx, cfg, forecast, behaviour, traces_plot, names)
    _summary(ctx, cfg, forecast, behaviour, recs, names)
    return forecast


def _shuffled_prior(prior: np.ndarray, names: list[str], seed: int) -> np.ndarray:
    """The connectome prior rewired by a degree-preserving shuffle (weights travel with the sender)."""
    pre, post = np.nonzero(prior)
    circ = Circuit(names, pre, post, prior[pre, post], np.zeros(pre.shape[0], np.int8))
    return degree_preserving_shuffle(circ, seed=seed).to_dense(signed=False).double().numpy()


def _graph_analysis(ctx: RunContext, cfg: WormDynamicsConfig, adjs: dict[str, list[np.ndarray]],
                    corrs: dict[str, list[np.ndarray]], counts: np.ndarray, names: list[str]) -> None:
    if not any(adjs.values()):
        return
    table = ResultTable(["overlap_inferred", "overlap_null", "z_vs_null", "p_vs_null", "overlap_correlation",
                         "density"], seed_column="run",
                        title="Strongest inferred edges against the connectome")
    nulls = {}
    for protocol, a in adjs.items():
        rows, null = graph_vs_connectome(a, counts, names, corrs[protocol], cfg.null_shuffles)
        nulls[protocol] = null
        for i, r in enumerate(rows):
            table.add(protocol=protocol, graph="gnn-inferred (test-window mean)", run=i, **r)
    ctx.add_table(table, "graph_vs_connectome", table.title,
                  note=f"k = number of anatomical edges among the {len(names)} neurons ({cfg.connectome}, chemical "
                       "+ gap, directed A[pre, post]). overlap = fraction of the k strongest inferred edges that "
                       f"are anatomical; null = the same edges scored against {cfg.null_shuffles} degree-preserving "
                       "shuffles of the anatomy; overlap_correlation = the |correlation| graph of the training "
                       "activity scored the same way (a simple functional baseline); density = chance level.")
    parts = []
    for protocol in adjs:
        if not adjs[protocol]:
            continue
        t = table.where(protocol=protocol)
        m = {k: (float(np.mean(t.values(k))), float(np.std(t.values(k), ddof=1)) if len(t) > 1 else 0.0)
             for k in ("overlap_inferred", "overlap_null", "z_vs_null", "overlap_correlation", "density")}
        parts.append(f"{protocol}: {m['overlap_inferred'][0]:.3f} ± {m['overlap_inferred'][1]:.3f} of the top-k "
                     f"inferred edges are anatomical, against {m['overlap_null'][0]:.3f} for shuffled anatomy "
                     f"(z = {m['z_vs_null'][0]:.2f} ± {m['z_vs_null'][1]:.2f}), {m['overlap_correlation'][0]:.3f} for "
                     f"the activity-correlation graph and {m['density'][0]:.3f} by chance")
    ctx.add_text("Inferred graph against the connectome", "; ".join(parts) + ". An inferred graph recovers anatomy "
                 "only if its overlap clearly exceeds the shuffled null (z well above 2 in most runs).", where="bottom")
    proto = next(p for p in adjs if adjs[p])
    fig, ax = new_figure(3, 1, size=(4.4, 4.0))
    mean_a = np.mean(adjs[proto], axis=0)
    ax[0, 0].imshow(mean_a, cmap="viridis")
    ax[0, 0].set_title(f"inferred A[pre, post] ({proto}, mean)", fontsize=9)
    ax[0, 1].imshow(np.log1p(counts), cmap="viridis")
    ax[0, 1].set_title(f"{cfg.connectome} log1p(synapses)", fontsize=9)
    for a in ax[0, :2]:
        a.set_xticks(range(len(names)), names, rotation=90, fontsize=4)
        a.set_yticks(range(len(names)), names, fontsize=4)
    rows = table.where(protocol=proto).rows  # type: ignore[assignment]
    ax[0, 2].hist(nulls[proto], bins=20, color="grey", alpha=0.7, label="shuffled anatomy")
    for r in rows:
        ax[0, 2].axvline(r["overlap_inferred"], color="crimson", lw=1)
    ax[0, 2].axvline(rows[0]["overlap_correlation"], color="navy", ls="--", label="|corr| graph")
    ax[0, 2].set_xlabel("overlap of top-k edges with anatomy")
    ax[0, 2].legend(fontsize=7)
    ctx.add_figure(fig, "graph_vs_connectome", "Inferred graph against the connectome: mean inferred adjacency, "
                                               "anatomy, and overlap (red: each run) against the shuffled null")


def _plots(ctx: RunContext, cfg: WormDynamicsConfig, forecast: ResultTable, behaviour: ResultTable,
           traces: dict[str, Any], names: list[str]) -> None:
    long = ResultTable(["r2", "mse"], seed_column="run")
    for r in forecast.rows:
        for h in cfg.horizons:
            long.add(protocol=r["protocol"], model=r["model"], run=r["run"], horizon=h,
                     r2=r.get(f"r2_h{h}"), mse=r.get(f"mse_h{h}"))
    fig, ax = new_figure(len(cfg.protocols), 1)
    for a, p in zip(ax[0], cfg.protocols):
        plot_mean_spread(a, long, "horizon", "r2", hue="model", where={"protocol": p})
        a.set_title({"within": "within worm (late 20%)", "lowo": "unseen worm (leave one out)"}[p])
        a.set_ylim(-1, 1)
    ctx.add_figure(fig, "forecast_r2", "Forecast R² (mean over neurons) against horizon, mean ± sd over runs")
    fig, ax = new_figure(2, len(cfg.protocols), size=(5.5, 3.4))
    for i, p in enumerate(cfg.protocols):
        for j, m in enumerate(("bal_acc", "vel_r2")):
            bar_mean_spread(ax[i, j], behaviour, "model", m, where={"protocol": p})
            ax[i, j].set_title(f"{p}: {m}", fontsize=9)
    ctx.add_figure(fig, "behaviour", "Behaviour decoding: reversal balanced accuracy and velocity R² "
                                     "(bars mean ± sd, dots runs)")
    if traces:
        show = [n for n in PLOT_NEURONS if n in names][:3] or names[:3]
        models = [m for m in ("persistence", "linear", "gru", "gnn-inferred", "gnn-connectome") if m in traces]
        fig, ax = new_figure(1, len(show), size=(11, 2.4))
        T = min(250, traces["truth"].shape[0])
        for a, nm in zip(ax[:, 0], show):
            j = names.index(nm)
            a.plot(traces["truth"][:T, 0, j], color="k", lw=1.5, label="true")
            for m in models:
                a.plot(traces[m][:T, 0, j], lw=0.9, label=m)
            a.set_ylabel(f"{nm} (z)")
        ax[0, 0].legend(fontsize=7, ncol=len(models) + 1)
        ax[-1, 0].set_xlabel(f"test window, {traces['worm']}")
        ctx.add_figure(fig, "traces_1step", f"One-step forecasts against the true trace, {traces['worm']} "
                                            "(first seed)")
        H = max(cfg.horizons)
        fig, ax = new_figure(1, len(show), size=(11, 2.4))
        for a, nm in zip(ax[:, 0], show):
            j = names.index(nm)
            a.plot(traces["truth"][:T, H - 1, j], color="k", lw=1.5, label="true")
            for m in models:
                a.plot(traces[m][:T, H - 1, j], lw=0.9, label=m)
            a.set_ylabel(f"{nm} (z)")
        ax[0, 0].legend(fontsize=7, ncol=len(models) + 1)
        ctx.add_figure(fig, f"traces_{H}step", f"{H}-step autoregressive rollouts against the true trace, "
                                               f"{traces['worm']} (first seed)")


def _summary(ctx: RunContext, cfg: WormDynamicsConfig, forecast: ResultTable, behaviour: ResultTable,
             recs: list[WormRecording], names: list[str]) -> None:
    H = max(cfg.horizons)
    ctx.add_text("Data and protocol", (
        f"{len(recs)} NeuroPAL worms of Dag et al., Cell 2023 (Flavell lab; cite the paper when showing these data), "
        f"{', '.join(r.name for r in recs)}; {len(names)} neuron classes named (without '?') in all of them. "
        f"dt = {recs[0].dt:.3f} s. Window W = {cfg.window} frames; forecasts are scored at horizons "
        f"{', '.join(map(str, cfg.horizons))} by autoregressive rollout. Within-worm: each worm split "
        f"{'/'.join(str(f) for f in cfg.fractions)} (train/val/test) chronologically, with a {cfg.window}-frame gap "
        "between segments and no window crossing a boundary; traces z-scored per worm on its training frames; one "
        "model is trained on the training parts of all worms. Leave-one-worm-out: train on five worms (their last "
        f"{cfg.lowo_val_fraction:.0%} for early stopping), test on the whole sixth worm, z-scored on its own frames. "
        "Neural models are trained jointly on the three tasks (next-frame MSE + class-weighted reversal "
        "cross-entropy + velocity MSE) with AdamW and early stopping on validation loss; linear baselines are fitted "
        "per task with their regularisation chosen on the validation windows."))
    lo = "lowo" if "lowo" in cfg.protocols else cfg.protocols[0]

    def stat(table: ResultTable, metric: str, model: str) -> tuple[float, float]:
        v = np.array(table.values(metric, protocol=lo, model=model), dtype=float)
        return (float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0) if v.size else (float("nan"),) * 2

    lines = []
    graph_models = [m for m in ("gnn-inferred", "gnn-connectome") if m in cfg.models]
    agn = [m for m in STRUCTURE_AGNOSTIC if m in cfg.models]
    checks = [(forecast, "r2_h1", "linear"), (forecast, f"r2_h{H}", "linear"), (behaviour, "bal_acc",
              "linear (logistic / ridge)"), (behaviour, "vel_r2", "linear (logistic / ridge)")]
    verdicts = []
    for gm in graph_models:
        for table, metric, lin in checks:
            g = stat(table, metric, gm)
            best_agn = max(agn, key=lambda m: stat(table, metric, m)[0]) if agn else None
            a = stat(table, metric, best_agn) if best_agn else (float("nan"), 0.0)
            li = stat(table, metric, lin)
            beats_a, beats_l = g[0] > a[0], g[0] > li[0]
            verdicts.append(beats_a and beats_l)
            lines.append(f"- {gm}, {metric}: {g[0]:.3f} ± {g[1]:.3f} vs best structure-agnostic "
                         f"({best_agn}) {a[0]:.3f} ± {a[1]:.3f} -> {'higher' if beats_a else 'not higher'}; "
                         f"vs linear {li[0]:.3f} ± {li[1]:.3f} -> {'higher' if beats_l else 'not higher'}.")
    pers = stat(forecast, "r2_h1", "persistence")
    control = []
    ctrl = [m for m in ("gnn-connectome", "gnn-shuffled", "gnn-nograph", "gnn-inferred") if m in cfg.models]
    if len(ctrl) > 1:
        for table, metric in ((forecast, "r2_h1"), (forecast, f"r2_h{H}"), (behaviour, "bal_acc")):
            control.append(f"{metric}: " + ", ".join(
                f"{m} {stat(table, metric, m)[0]:.3f} ± {stat(table, metric, m)[1]:.3f}" for m in ctrl))
        lines.append("- Does the graph matter? (connectome, degree-preserving shuffle, no edges, inferred) "
                     + "; ".join(control) + ". Where these agree, a gain of the graph nets comes from their "
                     "per-neuron, shared-weight design, not from the graph.")
    answer = ("yes on every metric" if verdicts and all(verdicts) else
              "no: on no metric" if not any(verdicts) else
              f"partly: on {sum(verdicts)} of {len(verdicts)} model-metric comparisons")
    ctx.add_text("Answer: on unseen worms, does the graph model beat the structure-agnostic models and the linear "
                 "baseline?", f"**{answer}** (leave-one-worm-out, mean ± sd over held-out worms x seeds; "
                 f"persistence R² at h=1: {pers[0]:.3f}).\n\n" + "\n".join(lines)
                 + "\n\n'Higher' compares means only; overlapping spreads mean the difference is not resolved "
                   "with this many worms and seeds.", where="top")


EXPERIMENT = Experiment(
    name="worm-dynamics",
    title="Whole-brain C. elegans dynamics: forecasting, behaviour decoding and inferred graphs on unseen worms",
    description=__doc__.strip().split("\n\n", 1)[1].replace("\n", " "),
    config_cls=WormDynamicsConfig,
    run=run,
    tags=("worms", "dynamics", "graph"),
)
