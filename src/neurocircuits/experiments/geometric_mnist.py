"""Experiment ``geometric-mnist``: training-free MNIST from geometric competitive refractory dynamics.

Reconstruction of George et al. (arXiv 2103.08878; no public code) following the spec's
Encoder A: each image is an intensity -> latency stimulus on 784 pixel input nodes of a
fixed random geometric network (hidden nodes in a slab above the pixel plane); features
are read from the hidden nodes only. Classification uses no gradient step: k-NN and
nearest-prototype with labelled references (P3), a few labelled templates (P2), and
k-means / HDBSCAN clustering scored against the labels (P1, unsupervised). Raw pixels,
blurred pixels and the input latency code run through the same protocols in the same run.
For each network variant and draw, the refraction ratio R / tau, the readout and k are
chosen on the validation split (training images as references); the best variant of each
draw is also chosen on validation. The test split is evaluated once, with training +
validation images as references.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neurocircuits.data import mnist
from neurocircuits.dynamics.geometric import GeometricNetwork, simulate
from neurocircuits.dynamics.geometric.encoders import (
    gaussian_blur, hidden_readouts, latency_code, latency_features, pixel_network, reference_latency,
)
from neurocircuits.errors import UnknownNameError
from neurocircuits.experiments.context import RunContext, Unit
from neurocircuits.experiments.registry import Experiment, ExperimentConfig
from neurocircuits.measure.classify import (
    count_collisions, evaluate_representation, kmeans_labels, cluster_scores, select_on_validation,
)
from neurocircuits.report import stats
from neurocircuits.report.plots import new_figure, plot_mean_spread
from neurocircuits.report.table import ResultTable

#: network families (geometry and node rule), cheapest first; each is its own pipeline, tuned on validation
VARIANTS: dict[str, dict] = {
    # thin slab z in [0.5, 1.5], input -> hidden only: first spike = local min-plus pooling of the stimulus
    "feedforward": dict(z_range=(0.5, 1.5), r_in=1.5, r_rec=1.0, p_rec=0.0, threshold=1.0, window=math.inf),
    # design-space search: wider pooling, and coincidence detection without recurrence
    "feedforward-wide": dict(z_range=(0.5, 1.5), r_in=2.5, r_rec=1.0, p_rec=0.0, threshold=1.0, window=math.inf),
    "feedforward-coincidence": dict(z_range=(0.5, 1.5), r_in=2.0, r_rec=1.0, p_rec=0.0, threshold=2.0, window=1.0),
    # spec default geometry (slab z in [0.5, 4], recurrent) with theta = 2 within a 1-time-unit (4-step) window
    "coincidence": dict(z_range=(0.5, 4.0), r_in=2.0, r_rec=2.0, p_rec=0.3, threshold=2.0, window=1.0),
    # spec default: recurrent, one arrival fires a node (pure propagation); the most expensive to simulate
    "recurrent": dict(z_range=(0.5, 4.0), r_in=2.0, r_rec=2.0, p_rec=0.3, threshold=1.0, window=math.inf),
}
RAW, BLUR, LATENCY = "raw pixels", "blurred pixels (Gaussian, control)", "input latency code (stimulus, control)"
BEST = "CRD: best variant of each draw (chosen on val)"
METRICS = ["test_acc", "val_acc", "ari", "ami", "frac_clustered", "collisions"]


@dataclass
class GeometricMNISTConfig(ExperimentConfig):
    seeds: int = 5
    n_train: int | None = None        # None = all 50,000
    n_val: int | None = None          # None = all 10,000
    n_test: int | None = None         # None = all 10,000
    n_cluster: int | None = 5000      # first test images clustered in P1 (None = all; bounds CPU time)
    n_hidden: int = 2000
    variants: tuple[str, ...] = tuple(VARIANTS)
    frac_inhibitory: float = 0.0
    speed: float = 1.0
    min_latency: float = 0.25
    dt: float = 0.25
    t_in: int = 10
    pixel_threshold: float = 0.2
    horizon: float = 30.0
    ratios: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)   # refraction ratio R / reference latency
    readouts: tuple[str, ...] = ("first", "counts", "first+counts")
    ks: tuple[int, ...] = (1, 3, 5)
    blur_sigma: float = 1.0           # blurred-pixel control (fixed a priori, not tuned)
    shots: tuple[int, ...] = (1, 10)  # P2: labelled templates per class (nearest template)
    template_draws: int = 20
    batch_size: int = 500             # stimuli per simulation chunk on CPU
    batch_size_cuda: int = 8192
    QUICK = {"seeds": 2, "n_train": 1500, "n_val": 500, "n_test": 500, "n_hidden": 1000, "ratios": (0.5, 2.0)}


@functools.lru_cache(maxsize=2)
def _data(n_train: int | None, n_val: int | None, n_test: int | None):
    return mnist().subset(n_train, n_val, n_test)


def _build(cfg: GeometricMNISTConfig, variant: str, seed: int, ratio: float) -> GeometricNetwork:
    if variant not in VARIANTS:
        raise UnknownNameError("network variant", variant, VARIANTS)
    base = pixel_network(cfg.n_hidden, frac_inhibitory=cfg.frac_inhibitory, speed=cfg.speed,
                         min_latency=cfg.min_latency, seed=seed, **VARIANTS[variant])
    return base.with_params(refractory=ratio * reference_latency(base))


def _readouts(cfg: GeometricMNISTConfig, net: GeometricNetwork, images: torch.Tensor, device: str):
    bs = cfg.batch_size_cuda if device.startswith("cuda") else cfg.batch_size
    return hidden_readouts(net, images, horizon=cfg.horizon, dt=cfg.dt, t_in=cfg.t_in,
                           pixel_threshold=cfg.pixel_threshold, readouts=cfg.readouts, batch_size=bs, device=device)


def sweep_unit(cfg: GeometricMNISTConfig, variant: str, seed: int, ratio: float, device: str) -> dict:
    """One (variant, draw, R/tau): validation k-NN accuracy of every readout and k, and activity."""
    d = _data(cfg.n_train, cfg.n_val, cfg.n_test)
    ntr = d.train_x.shape[0]
    feats, diag = _readouts(cfg, _build(cfg, variant, seed, ratio), torch.cat([d.train_x, d.val_x]), device)
    sel = select_on_validation({ro: (f[:ntr], f[ntr:]) for ro, f in feats.items()}, d.train_y, d.val_y, cfg.ks,
                               device=device)
    rows = [dict(variant=variant, readout=ro, refraction_ratio=ratio, seed=seed,
                 val_acc=max(sel.scores[(ro, k)] for k in cfg.ks), val_knn1=sel.scores[(ro, min(cfg.ks))], **diag)
            for ro in feats]
    return {"rows": rows, "scores": {(ratio, ro, k): v for (ro, k), v in sel.scores.items()}}


def evaluate_unit(cfg: GeometricMNISTConfig, variant: str, seed: int, ratio: float, readout: str, k: int,
              device: str) -> list[dict]:
    """The test split, once, at the setting chosen on validation (train + val as references)."""
    d = _data(cfg.n_train, cfg.n_val, cfg.n_test)
    net = _build(cfg, variant, seed, ratio)
    ref = _readouts(cfg, net, torch.cat([d.train_x, d.val_x]), device)[0][readout]
    fte = _readouts(cfg, net, d.test_x, device)[0][readout]
    rows = evaluate_representation(ref, torch.cat([d.train_y, d.val_y]), fte, d.test_y, ks=sorted({1, 3} & set(cfg.ks)),
                                   k_chosen=k, shots=cfg.shots, template_draws=cfg.template_draws,
                                   n_cluster=cfg.n_cluster, seed=seed, device=device)
    coll = count_collisions(fte, d.test_x)
    return [dict(r, representation=f"CRD hidden nodes: {variant}", seed=seed,
                 **({"collisions": coll} if r["method"] == "P3 k-NN (k chosen on val)" else {})) for r in rows]


def _control(cfg: GeometricMNISTConfig, rep: str, x: torch.Tensor) -> torch.Tensor:
    if rep == BLUR:
        return gaussian_blur(x, cfg.blur_sigma)
    if rep == LATENCY:
        return latency_features(x, t_in=cfg.t_in, dt=cfg.dt, pixel_threshold=cfg.pixel_threshold)
    return x.reshape(x.shape[0], -1).float()


def control_unit(cfg: GeometricMNISTConfig, rep: str, device: str) -> list[dict]:
    """A pixel-level control through the same protocols (k chosen on validation; deterministic)."""
    d = _data(cfg.n_train, cfg.n_val, cfg.n_test)
    ftr, fva, fte = (_control(cfg, rep, x) for x in (d.train_x, d.val_x, d.test_x))
    sel = select_on_validation({rep: (ftr, fva)}, d.train_y, d.val_y, cfg.ks, device=device)
    rows = evaluate_representation(torch.cat([ftr, fva]), torch.cat([d.train_y, d.val_y]), fte, d.test_y,
                                   ks=sorted({1, 3} & set(cfg.ks)), k_chosen=sel.k, shots=cfg.shots,
                                   template_draws=cfg.template_draws, n_cluster=cfg.n_cluster,
                                   density=True, seed=0, device=device)
    for r in rows:
        if r["method"].startswith("P3 k-NN k="):
            r["val_acc"] = sel.scores[(rep, int(r["method"].split("=")[1]))]
        elif r["method"] == "P3 k-NN (k chosen on val)":
            r["val_acc"] = sel.val_acc
    # k-means depends on its seed: the raw-pixel k-means runs once per network draw (see pixels_kmeans_unit)
    return [dict(r, representation=rep) for r in rows if not (rep == RAW and r["method"].startswith("P1 k-means"))]


def pixels_kmeans_unit(cfg: GeometricMNISTConfig, seed: int) -> dict:
    d = _data(cfg.n_train, cfg.n_val, cfg.n_test)
    nc = min(cfg.n_cluster or d.test_x.shape[0], d.test_x.shape[0])
    km = cluster_scores(d.test_y[:nc].numpy(), kmeans_labels(d.test_x[:nc].reshape(nc, -1).numpy(), 10, seed=seed))
    return dict(representation=RAW, method="P1 k-means (k=10)", seed=seed, test_acc=km["acc"], ari=km["ari"],
                ami=km["ami"], frac_clustered=km["frac_clustered"])


def run(cfg: GeometricMNISTConfig, ctx: RunContext) -> ResultTable:
    for v in cfg.variants:
        if v not in VARIANTS:
            raise UnknownNameError("network variant", v, VARIANTS)
    dev = str(ctx.device)
    d = _data(cfg.n_train, cfg.n_val, cfg.n_test)
    ctx.log(f"MNIST train {d.train_x.shape[0]} / val {d.val_x.shape[0]} / test {d.test_x.shape[0]} ({d.source})")
    table = ResultTable(METRICS, title="Training-free MNIST: geometric dynamics vs pixel controls (test split)")
    for rows in ctx.map([Unit(f"control-{rep}", control_unit, (cfg, rep, dev)) for rep in (RAW, BLUR, LATENCY)],
                        desc="pixel controls"):
        table.extend(rows)
    table.extend(ctx.map([Unit(f"pixels-kmeans-seed{s}", pixels_kmeans_unit, (cfg, s)) for s in ctx.seeds],
                         desc="raw-pixel k-means"))
    sweep = ResultTable(["val_acc", "val_knn1", "spikes_per_hidden", "frac_hidden_fired", "discard_fraction",
                         "events_per_image", "events_per_s", "sim_s"],
                        title="Refraction-ratio sweep (validation split, training images as references)")
    select = ResultTable(["val_acc"], title="Settings chosen on validation (one row per network draw)")
    for seed in ctx.seeds:  # draw by draw and variant by variant: a stopped full run leaves whole units behind
        choice, tests = {}, {}
        for v in cfg.variants:
            scores: dict = {}
            for o in ctx.map([Unit(f"sweep-{v}-seed{seed}-ratio{r}", sweep_unit, (cfg, v, seed, r, dev))
                              for r in cfg.ratios], desc=f"draw {seed} {v}: R/tau sweep"):
                sweep.extend(o["rows"])
                scores.update(o["scores"])
            (ratio, ro, k), val = max(scores.items(), key=lambda kv: kv[1])  # first best in (ratio, readout, k) order
            choice[v] = (ratio, ro, k, val)
            select.add(variant=v, seed=seed, readout=ro, refraction_ratio=ratio, k=k, val_acc=val)
            tests[v] = ctx.map([Unit(f"test-{v}-seed{seed}", evaluate_unit, (cfg, v, seed, ratio, ro, k, dev))],
                               desc=f"draw {seed} {v}: test")[0]
            table.extend(tests[v])
        best = max(cfg.variants, key=lambda v: choice[v][3])
        select.add(variant=f"best: {best}", seed=seed, readout=choice[best][1], refraction_ratio=choice[best][0],
                   k=choice[best][2], val_acc=choice[best][3])
        table.extend(dict(r, representation=BEST) for r in tests[best])
    _report(ctx, cfg, table, sweep, select, d.test_x[0], int(d.test_y[0]))
    return table


def _claims(cfg: GeometricMNISTConfig, table: ResultTable, sweep: ResultTable, seeds: list[int]) -> str:
    """One verdict per claim, from :mod:`neurocircuits.report.stats` (paired over network draws)."""
    def per_seed(rep: str, method: str, metric: str = "test_acc") -> list[Any]:
        vals: dict[Any, Any] = {r["seed"]: r.get(metric) for r in table.where(representation=rep, method=method).rows}
        return [vals.get(s, float("nan")) for s in seeds]

    def const(rep: str, method: str) -> list[float]:
        v = table.values("test_acc", representation=rep, method=method)
        return [v[0] if v else float("nan")] * len(seeds)

    lines = ["| claim | numbers (mean over draws; paired difference with 95 % interval) | verdict |", "|---|---|---|"]

    def claim(text: str, a: list[float], b: list[float], label_b: str) -> None:
        c = stats.paired(a, b)
        lines.append(f"| {text} | CRD {stats.summarize(a).format(4)} vs {label_b} {stats.summarize(b).format(4)}; "
                     f"{c.format()} | {stats.verdict([c])} |")

    knn = "P3 k-NN (k chosen on val)"
    claim("P3: training-free CRD readouts classify at least as well as raw-pixel k-NN (the 'nearly "
          "state-of-the-art' claim)", per_seed(BEST, knn), const(RAW, knn), "raw pixels")
    claim("P3: CRD readouts beat blurred pixels (spatial pooling alone)", per_seed(BEST, knn), const(BLUR, knn),
          "blurred pixels")
    for s in cfg.shots:
        m = f"P2 {s}-shot templates"
        claim(f"P2: {s}-shot templates on CRD readouts beat raw pixels", per_seed(BEST, m), const(RAW, m), "raw pixels")
    claim("P1 (unsupervised): k-means ARI on CRD readouts beats raw pixels",
          per_seed(BEST, "P1 k-means (k=10)", "ari"), per_seed(RAW, "P1 k-means (k=10)", "ari"), "raw pixels")
    coll = [r["collisions"] for r in table.rows if r.get("collisions") is not None
            and str(r["representation"]).startswith("CRD hidden")]
    ok = stats.proportion([c == 0 for c in coll])
    lines.append(f"| 'Uniquely encoded': no two distinct test images share a readout | draws x variants with 0 "
                 f"collisions: {ok} | {stats.HOLDS if coll and all(c == 0 for c in coll) else stats.DOES_NOT_HOLD} |")
    if "recurrent" in cfg.variants and len(cfg.ratios) > 1:
        lo, hi = min(cfg.ratios), max(cfg.ratios)
        sp = {(r["seed"], r["refraction_ratio"]): r["spikes_per_hidden"]
              for r in sweep.where(variant="recurrent", readout=cfg.readouts[0]).rows}
        a, b = [sp.get((s, lo), float("nan")) for s in seeds], [sp.get((s, hi), float("nan")) for s in seeds]
        c = stats.paired(a, b)
        lines.append(f"| Refraction ratio: R/tau = {hi} gives fewer re-activations than R/tau = {lo} (recurrent) | "
                     f"spikes per hidden node {stats.summarize(a).format(3)} vs {stats.summarize(b).format(3)}; "
                     f"{c.format()} | {stats.verdict([c])} |")
    return "\n".join(lines)


def _report(ctx: RunContext, cfg: GeometricMNISTConfig, table: ResultTable, sweep: ResultTable,
            select: ResultTable, image: torch.Tensor, label: int) -> None:
    ctx.add_text("Verdicts", _claims(cfg, table, sweep, ctx.seeds))
    ctx.add_table(sweep, "sweep", sweep.title, note=f"val_acc: k-NN accuracy at the best k; mean ± sd over network "
                  f"draws (seeds {ctx.seeds}). events_per_s: synaptic events per second of the engine on {ctx.device}.")
    ctx.add_table(select, "selection", select.title, by=["variant", "seed", "readout", "refraction_ratio", "k"])
    def summary(rows: list[dict]) -> str:
        return (f"R/tau {stats.choice_summary([r['refraction_ratio'] for r in rows])}, readout "
                f"{stats.choice_summary([r['readout'] for r in rows])}, k {stats.choice_summary([r['k'] for r in rows])}")
    best = [r for r in select.rows if str(r["variant"]).startswith("best: ")]
    chosen = "; ".join(f"`{v}`: {summary(select.where(variant=v).rows)}" for v in cfg.variants) + (
        f". Best variant per draw: {stats.choice_summary([str(r['variant'])[6:] for r in best])}, with {summary(best)}")
    ctx.add_text("Settings chosen on validation (mode (count/draws), or the list)", chosen)
    _plot_sweep(ctx, sweep)
    _plot_raster(ctx, cfg, image, label, [r for r in select.rows if r["seed"] == ctx.seeds[0]
                                          and not str(r["variant"]).startswith("best")])
    ctx.add_text("Setup", (
        f"Encoder A: 784 pixel input nodes at (col + 0.5, row + 0.5, 0); {cfg.n_hidden} hidden nodes uniform in "
        "[0,28]^2 x z_range; input->hidden edges within r_in, hidden->hidden within r_rec kept with probability p_rec; "
        f"latency = max(distance / {cfg.speed}, {cfg.min_latency}); inhibitory fraction {cfg.frac_inhibitory}. Variants: "
        + "; ".join(f"`{v}`: {VARIANTS[v]}" for v in cfg.variants)
        + f". Stimulus: pixel x >= {cfg.pixel_threshold} fires once at dt*round((1-x)*{cfg.t_in - 1}), dt={cfg.dt}; "
        f"horizon {cfg.horizon}. R = (R/tau) x tau, tau = mean hidden->hidden latency (all edges for feed-forward "
        "variants). Readouts (hidden nodes only): first = (T - t_first)/T (0 if silent), counts = log(1 + spikes). "
        "P3 = k-NN / nearest class mean with labelled references (weight-free, not unsupervised); P2 = nearest of s "
        f"labelled templates per class, s in {cfg.shots}, mean over {cfg.template_draws} template draws (the same for "
        f"every representation); P1 = clustering of the first {cfg.n_cluster or 'all'} test images (k-means: "
        "Hungarian accuracy; HDBSCAN on PCA-50: majority-label accuracy, noise counted wrong). Per variant and draw, "
        "(R/tau, readout, k) are chosen on validation with training references; the test images are simulated once "
        "at that setting and classified with training + validation references. The best variant of each draw (highest "
        "validation accuracy) is reported as its own row. collisions = distinct test images with identical readouts."))


def _plot_sweep(ctx: RunContext, sweep: ResultTable) -> None:
    variants = list(dict.fromkeys(r["variant"] for r in sweep.rows))
    fig, ax = new_figure(len(variants) + 2, 1, size=(4.0, 3.4))
    for a, v in zip(ax[0], variants):
        plot_mean_spread(a, sweep.where(variant=v), "refraction_ratio", "val_acc", hue="readout", logx=True)
        a.set_title(f"{v}: validation k-NN accuracy", fontsize=9)
        a.set_ylabel("validation accuracy")
    first = sweep.where(readout=sweep.rows[0]["readout"])
    plot_mean_spread(ax[0, -2], first, "refraction_ratio", "spikes_per_hidden", hue="variant", logx=True)
    ax[0, -2].set_title("spikes per hidden node", fontsize=9)
    plot_mean_spread(ax[0, -1], first, "refraction_ratio", "discard_fraction", hue="variant", logx=True)
    ax[0, -1].set_title("fraction of arrivals discarded", fontsize=9)
    for a in ax[0]:
        a.set_xlabel("refraction ratio R / tau")
    ctx.add_figure(fig, "refraction_sweep", "Effect of the refraction ratio R / tau on validation accuracy and "
                                            "activity (mean ± sd over network draws)")


def _plot_raster(ctx: RunContext, cfg: GeometricMNISTConfig, image: torch.Tensor, label: int,
                 selected: list[dict]) -> None:
    """Per variant (rows): the image, the hidden-node raster and the first-spike map."""
    fig, ax = new_figure(3, len(selected), size=(4.2, 3.4))
    for row, sel in zip(ax, selected):
        variant = str(sel["variant"])
        net = _build(cfg, variant, int(sel["seed"]), float(sel["refraction_ratio"]))
        stim = latency_code(image[None], t_in=cfg.t_in, dt=cfg.dt, pixel_threshold=cfg.pixel_threshold)
        r = simulate(net, stim, cfg.horizon, dt=cfg.dt, record_spikes=True)
        row[0].imshow(image.view(28, 28).numpy(), cmap="gray_r")
        row[0].set_title(f"test image 0 (label {label})", fontsize=9)
        assert r.spike_time is not None and r.spike_node is not None and net.positions is not None
        t, n = r.spike_time.numpy(), r.spike_node.numpy()
        hid = n >= net.n_inputs
        h = net.hidden()
        order = np.empty(net.n, dtype=np.int64)
        order[h] = np.argsort(np.argsort(net.positions[h, 0]))  # hidden nodes sorted by x: the wave's geometry
        row[1].scatter(t[hid], order[n[hid]], s=0.3, color="k")
        row[1].set_xlim(0, cfg.horizon)
        row[1].set_xlabel("time")
        row[1].set_ylabel("hidden node (sorted by x)")
        row[1].set_title(f"{variant}, R/tau={sel['refraction_ratio']}: {int(hid.sum())} hidden spikes", fontsize=9)
        fs = r.first_spike[0, h].numpy()
        ok = np.isfinite(fs)
        sc = row[2].scatter(net.positions[h[ok], 0], net.positions[h[ok], 1], c=fs[ok], s=4, cmap="viridis")
        row[2].set_xlim(0, 28), row[2].set_ylim(28, 0)
        row[2].set_aspect("equal")
        row[2].set_xlabel("x (pixels)")
        row[2].set_ylabel("y (pixels)")
        row[2].set_title(f"{variant}: hidden first-spike time at (x, y)", fontsize=9)
        fig.colorbar(sc, ax=row[2], label="first-spike time")
    ctx.add_figure(fig, "raster", "One test image: hidden-node spike raster and first-spike map for each variant "
                                  f"(network draw {selected[0]['seed']}, settings chosen on validation)")


EXPERIMENT = Experiment(
    name="geometric-mnist",
    title="Training-free MNIST from geometric competitive refractory dynamics",
    description=__doc__.strip().split("\n\n", 1)[1].replace("\n", " "),
    config_cls=GeometricMNISTConfig,
    run=run,
    tags=("dynamics", "geometric", "mnist", "training-free"),
)
