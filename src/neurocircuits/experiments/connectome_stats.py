"""Experiment ``connectome-stats``: statistics of the C. elegans connectomes against a null.

For each connectome: neurons, synapses, E/I fraction, degree distributions, reciprocity,
effective rank and spectral radius of the signed chemical matrix, side by side with the
same statistics of degree-preserving shuffles (one per seed), which keep every neuron's
in- and out-degree and outgoing weights but destroy the wiring.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurocircuits.circuit import DEFAULT_CONNECTOMES, Circuit, available_connectomes, degree_preserving_shuffle, from_connectome
from neurocircuits.errors import UnknownNameError
from neurocircuits.experiments.context import RunContext, Unit
from neurocircuits.experiments.registry import Experiment, ExperimentConfig
from neurocircuits.circuit import circuit_stats
from neurocircuits.report.plots import bar_mean_spread, new_figure
from neurocircuits.report.table import ResultTable

METRICS = ["neurons", "chemical_edges", "chemical_synapses", "electrical_pairs", "electrical_synapses",
           "frac_excitatory", "frac_sign_known", "mean_in_degree", "max_in_degree", "max_out_degree",
           "density", "reciprocity", "effective_rank", "spectral_radius"]
NULL_METRICS = ["reciprocity", "effective_rank", "spectral_radius", "max_in_degree"]


@dataclass
class ConnectomeStatsConfig(ExperimentConfig):
    connectomes: tuple[str, ...] = DEFAULT_CONNECTOMES  # names from `available_connectomes()`
    neurons_only: bool = True  # drop muscles and end organs
    seeds: int = 5  # one degree-preserving shuffle per seed and connectome
    swaps_per_edge: float = 10.0  # edge swaps per edge in each shuffle
    QUICK = {"seeds": 2, "swaps_per_edge": 3.0}

    def validate(self) -> None:
        super().validate()
        known = available_connectomes()
        for name in self.connectomes:
            if name not in known:
                raise UnknownNameError("connectome (config field 'connectomes')", name, known)


def shuffle_stats(circuit: Circuit, swaps_per_edge: float, seed: int) -> dict:
    """Statistics of one degree-preserving shuffle of ``circuit`` (one unit of the experiment)."""
    return circuit_stats(degree_preserving_shuffle(circuit, swaps_per_edge=swaps_per_edge, seed=seed))


def run(cfg: ConnectomeStatsConfig, ctx: RunContext) -> ResultTable:
    table = ResultTable(METRICS, title="Connectome statistics (chemical layer; electrical counted per pair)")
    null = ResultTable(NULL_METRICS, title="Real wiring against degree-preserving shuffles")
    circuits = {}
    for name in ctx.bar(cfg.connectomes, desc="connectomes"):
        c = from_connectome(name, neurons_only=cfg.neurons_only)
        circuits[name] = c
        s = circuit_stats(c)
        table.add(connectome=name, **{m: s[m] for m in METRICS})
        null.add(connectome=name, graph="real", **{m: s[m] for m in NULL_METRICS})
    # one unit per (connectome, seed): run on the executor, checkpointed under its key
    pairs = [(name, seed) for name in circuits for seed in ctx.seeds]
    units = [Unit(f"{name}-shuffle-{seed}", shuffle_stats, (circuits[name], cfg.swaps_per_edge, seed))
             for name, seed in pairs]
    for (name, seed), s2 in zip(pairs, ctx.map(units, desc="shuffles")):
        null.add(connectome=name, graph="degree-preserving shuffle", seed=seed, **{m: s2[m] for m in NULL_METRICS})
    ctx.add_table(null, "null", null.title,
                  note="The shuffle keeps every neuron's in/out degree and outgoing weights; "
                       "mean ± sd over seeds (one shuffle per seed).")
    _plots(ctx, circuits, null, cfg)
    descr = available_connectomes()
    ctx.add_text("Data", "\n".join(f"- `{n}`: {descr.get(n, n)}; {circuits[n].meta.get('cect_reader')} "
                                   f"from cect {circuits[n].meta.get('cect_version')}" for n in circuits)
                 + "\n\nNeurons only (muscles and end organs dropped): " + str(cfg.neurons_only)
                 + ". Signs: transmitter of each presynaptic neuron (OpenWorm unified data set for "
                   "untyped connectomes); ACh +1, GABA -1, Glu +1. frac_excitatory is over neurons of known sign.")
    rec_real = {n: null.values("reciprocity", connectome=n, graph="real")[0] for n in circuits}
    rec_null = {n: float(np.mean(null.values("reciprocity", connectome=n, graph="degree-preserving shuffle")))
                for n in circuits}
    ctx.add_text("Finding", "Reciprocity of the real wiring against its degree-preserving null: " + "; ".join(
        f"{n} {rec_real[n]:.3f} vs {rec_null[n]:.3f} ({rec_real[n] / rec_null[n]:.1f}x)" for n in circuits)
        + f". Real reciprocity exceeds the null mean in {sum(rec_real[n] > rec_null[n] for n in circuits)} "
        f"of {len(circuits)} data sets.",
        where="bottom")
    return table


def _plots(ctx: RunContext, circuits: dict, null: ResultTable, cfg: ConnectomeStatsConfig) -> None:
    fig, ax = new_figure(2, 1)
    for name, c in circuits.items():
        for a, deg, lab in ((ax[0, 0], c.in_degree("chemical"), "in"), (ax[0, 1], c.out_degree("chemical"), "out")):
            d = np.sort(deg)[::-1]
            ccdf = np.arange(1, d.size + 1) / d.size
            a.loglog(np.maximum(d, 0.8), ccdf, label=name, lw=1.2)
            a.set_xlabel(f"chemical {lab}-degree")
            a.set_ylabel("P(degree >= k)")
            a.grid(alpha=0.3, which="both")
    ax[0, 0].legend(fontsize=7)
    ctx.add_figure(fig, "degree_ccdf", "Degree distributions (complementary CDF, log-log)")
    fig, ax = new_figure(3, 1, size=(4.2, 3.4))
    for a, metric in zip(ax[0], ("reciprocity", "effective_rank", "spectral_radius")):
        shuf = null.where(graph="degree-preserving shuffle")
        bar_mean_spread(a, shuf, "connectome", metric, order=list(circuits))
        real = [null.values(metric, connectome=n, graph="real")[0] for n in circuits]
        a.scatter(range(len(real)), real, marker="*", s=90, color="crimson", zorder=4, label="real")
        a.set_title(metric)
        a.legend(fontsize=7)
    ctx.add_figure(fig, "real_vs_null", "Real wiring (red star) against degree-preserving shuffles "
                                         f"(bars: mean ± sd over {len(ctx.seeds)} seeds, dots: seeds)")
    fig, ax = new_figure(len(circuits), 1, size=(4.0, 4.2))
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap

    dense = {}
    for name, c in circuits.items():
        order = np.argsort(c.cell_class, kind="stable")
        dense[name] = (order, c.to_dense("chemical").numpy()[np.ix_(order, order)])
    vmax = max(float(np.abs(d).max()) for _, d in dense.values()) or 1.0
    # binned diverging scale, symmetric about 0: even a single synapse gets a saturated colour
    steps = [1, 3, 10, 30]
    pos_edges = [0.5] + [x + 0.5 for x in steps] + [max(vmax, steps[-1] + 1) + 0.5]
    edges = [-e for e in pos_edges[::-1]] + pos_edges
    rdbu = colormaps["RdBu_r"]
    colours = [rdbu(x) for x in np.linspace(0.0, 0.2, len(pos_edges) - 1)]
    colours += [(1, 1, 1, 1)] + [rdbu(x) for x in np.linspace(0.8, 1.0, len(pos_edges) - 1)]
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(edges, cmap.N)
    im = None
    for a, (name, c) in zip(ax[0], circuits.items()):
        order, d = dense[name]
        im = a.imshow(np.ma.masked_equal(d, 0.0), cmap=cmap, norm=norm, interpolation="nearest")
        ii, jj = np.nonzero(d < 0)  # the few inhibitory entries, enlarged so that they stay visible
        a.scatter(jj, ii, c=d[ii, jj], cmap=cmap, norm=norm, s=3.0, marker="s", linewidths=0)
        cls = np.asarray(c.cell_class)[order]
        bounds = np.flatnonzero(cls[1:] != cls[:-1]) + 1
        for bnd in bounds:
            a.axhline(bnd - 0.5, color="0.35", lw=0.6)
            a.axvline(bnd - 0.5, color="0.35", lw=0.6)
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [cls.size]])
        mids = (starts + ends - 1) / 2
        labels = [str(cls[s0]).replace("neuron_other", "other").replace("interneuron", "inter") for s0 in starts]
        a.set_xticks(mids, labels, rotation=45, ha="right", fontsize=7)
        a.set_yticks(mids, labels, fontsize=7)
        a.tick_params(length=0)
        a.set_title(f"{name} ({c.n_neurons} neurons)", fontsize=9)
        a.set_xlabel("postsynaptic neuron (by class)", fontsize=8)
    ax[0, 0].set_ylabel("presynaptic neuron (by class)", fontsize=8)
    if im is not None:
        cb = fig.colorbar(im, ax=list(ax[0]), shrink=0.85, pad=0.01)
        labels = ["1", "2-3", "4-10", "11-30", f"31-{int(vmax)}"]
        mids = [(lo + hi) / 2 for lo, hi in zip(edges[:-1], edges[1:])]
        cb.set_ticks(mids, labels=[f"-{t}" for t in labels[::-1]] + ["0 (none)"] + labels)
        cb.ax.tick_params(labelsize=7)
        cb.set_label("signed synapse count A[pre, post]\n(> 0: excitatory or unknown-sign pre, < 0: inhibitory pre)",
                     fontsize=8)
    ctx.add_figure(fig, "matrices", "Signed chemical matrices A[pre, post], neurons sorted by cell class "
                                    "(grey lines: class boundaries). Red: synapses of excitatory or "
                                    "unknown-sign neurons, blue: of inhibitory (GABAergic) neurons; white: "
                                    "no synapse (inhibitory entries drawn enlarged). Colour bins of the synapse count, "
                                    "symmetric about zero.")


EXPERIMENT = Experiment(
    name="connectome-stats",
    title="Statistics of the C. elegans connectomes",
    description=__doc__.strip().split("\n\n", 1)[1].replace("\n", " "),
    config_cls=ConnectomeStatsConfig,
    run=run,
    tags=("circuit", "connectome"),
)
