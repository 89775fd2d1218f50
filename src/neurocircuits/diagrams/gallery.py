"""The gallery: standard architectures and the project's own models, drawn and checked.

Register a model with one line in :data:`GALLERY`::

    "rate-rnn": Entry("Rate RNN", lambda: (RateRNN(16), (torch.randn(2, 16),), dict(axes="b n", index="b"))),

The builder returns ``(module, example_inputs, diagram keyword arguments)`` or a
:class:`~neurocircuits.circuit.Circuit` (drawn as its wiring view). Imports inside the
builders keep the gallery importable while a model is still being written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from neurocircuits.errors import UnknownNameError, ValidationError


@dataclass(frozen=True)
class Entry:
    """A gallery item: a title and a builder (see the module docstring)."""

    title: str
    build: Callable[[], Any]
    about: str = ""


class SelfAttention(nn.Module):
    """``nn.MultiheadAttention`` applied as self-attention (queries = keys = values = x)."""

    def __init__(self, m: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(m, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.attn(x, x, x, need_weights=False)[0]


class ResidualMLP(nn.Module):
    """``x + L(relu(L x))``: the two-layer residual MLP of the notation's guide."""

    def __init__(self, m: int = 16, d_ff: int = 32) -> None:
        super().__init__()
        self.up, self.down = nn.Linear(m, d_ff), nn.Linear(d_ff, m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x + self.down(torch.relu(self.up(x)))


class LowRankRNNCell(nn.Module):
    """One step of a low-rank rate RNN: ``h′ = (1−α) h + α (tanh(h) V Uᵀ / n + x W_inᵀ)``."""

    def __init__(self, n: int = 16, rank: int = 2, n_in: int = 3, alpha: float = 0.1, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.u = nn.Parameter(torch.randn(n, rank, generator=g))
        self.v = nn.Parameter(torch.randn(n, rank, generator=g))
        self.w_in = nn.Linear(n_in, n, bias=False)
        self.alpha, self.n = alpha, n

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:  # noqa: D102
        rec = (torch.tanh(h) @ self.v) @ self.u.T / self.n
        return (1 - self.alpha) * h + self.alpha * (rec + self.w_in(x))


class EIMaskedLinear(nn.Module):
    """A connectome-masked layer with Dale's law: ``W = softplus(W_raw) ⊙ M ⊙ s`` (signs per presynaptic neuron)."""

    def __init__(self, n_in: int = 12, n_out: int = 8, frac_exc: float = 0.75, density: float = 0.3,
                 seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w_raw = nn.Parameter(torch.randn(n_out, n_in, generator=g) * 0.5)
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.register_buffer("mask", (torch.rand(n_out, n_in, generator=g) < density).float())
        n_e = int(round(frac_exc * n_in))
        self.register_buffer("sign", torch.cat([torch.ones(n_e), -torch.ones(n_in - n_e)])[None, :].expand(
            n_out, n_in).contiguous())

    mask: torch.Tensor
    sign: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return F.linear(x, F.softplus(self.w_raw) * self.mask * self.sign, self.bias)


class RateRNNStep(nn.Module):
    """One time step of a rate RNN, from the model's own (effective) weights:
    ``h′ = φ((1−α) h + α (W_in x + W_hh h + b))``, ``y = W_out h′``.

    The models loop over time in Python, so tracing the whole sequence would unroll it; the
    diagram shows one step with a "scan over t̄" annotation instead.
    """

    def __init__(self, net: Any) -> None:   # a neurocircuits.models.rnn.RateRNN
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: D102
        from neurocircuits.models.rnn import ACTIVATIONS

        net: Any = self.net
        w = net.weights()
        pre = F.linear(x, w["W_in"], w.get("b_hh")) + F.linear(h, w["W_hh"])
        a = float(net.alpha)
        h_new = ACTIVATIONS[net.activation](pre if a == 1.0 else (1 - a) * h + a * pre)
        return F.linear(h_new, w["W_out"], w.get("b_out")), h_new


def _rate_rnn() -> Any:
    from neurocircuits.circuit import random_dale
    from neurocircuits.models.rnn import RateRNN

    net = RateRNN.from_circuit(random_dale(12, p=0.3, seed=0), 3, 2, constrain="mask+dale", alpha=0.2,
                               activation="tanh")
    return (RateRNNStep(net), (torch.randn(2, 3), torch.randn(2, 12)),
            dict(axes=["b i", "b n"], index="b n", sizes={"n": 12}, state=1))


def _ncap() -> Any:
    from neurocircuits.models.ncap import NCAPController

    m = NCAPController(n_joints=5)
    return m, (torch.randn(2, m.obs_dim),), dict(axes="b o", index="b", sizes={"j": 5, "s": 2})


def _vision(kind: str) -> Any:
    from neurocircuits.models import vision

    if kind == "mlp":
        return vision.mlp(depth=3, width=32, in_dim=64), (torch.randn(4, 64),), dict(axes="b m", index="b")
    if kind == "cnn":
        return (vision.cnn(channels=(8, 8, 16, 16)), (torch.randn(2, 1, 28, 28),),
                dict(axes="b c h w", index="b h w"))
    if kind == "resnet":
        return (vision.resnet(widths=(8, 16), blocks_per_stage=1), (torch.randn(2, 1, 28, 28),),
                dict(axes="b c h w", index="b h w", depth=1))
    return vision.BasicBlock(8, 16, stride=2), (torch.randn(2, 8, 14, 14),), dict(axes="b c h w", index="b h w")


def _graph_net() -> Any:
    from neurocircuits.models.graph import GraphNet

    return GraphNet(hidden=8), (torch.randn(2, 6, 5),), dict(axes="b t n", index="b t n", sizes={"d": 8})


def _worm_wiring() -> Any:
    from neurocircuits.circuit import Circuit

    c = Circuit.from_connectome("varshney2011")
    keep = [n for n in c.names if n in ("AVAL", "AVAR", "AVBL", "AVBR", "AVDL", "AVDR", "PVCL", "PVCR")]
    for prefix in ("DA", "DB", "DD", "VA", "VB", "VD"):   # the first four of each motor class
        keep += sorted((n for n in c.names if n.startswith(prefix) and n[2:].isdigit()), key=lambda n: int(n[2:]))[:4]
    return c.subset(names=keep)


GALLERY: dict[str, Entry] = {
    "mlp": Entry("MLP image classifier", lambda: _vision("mlp"), "models.vision.mlp(depth=3)"),
    "cnn": Entry("Convolutional network", lambda: _vision("cnn"), "models.vision.cnn"),
    "resnet-block": Entry("ResNet basic block (projection shortcut)", lambda: _vision("block"),
                          "models.vision.BasicBlock"),
    "resnet": Entry("Small ResNet (blocks collapsed)", lambda: _vision("resnet"), "models.vision.resnet, depth=1"),
    "residual-mlp": Entry("Two-layer residual MLP", lambda: (ResidualMLP(), (torch.randn(3, 16),),
                                                             dict(axes="b m", index="b", sizes={"d_ff": 32}))),
    "multi-head-attention": Entry("Multi-head self-attention", lambda: (
        SelfAttention(), (torch.randn(2, 5, 32),), dict(axes="b x m", index="b x", sizes={"h": 4, "k": 8}))),
    "transformer-encoder-layer": Entry("Transformer encoder layer (attention collapsed)", lambda: (
        nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True), (torch.randn(2, 5, 32),),
        dict(axes="b x m", index="b x", sizes={"h": 4, "k": 8, "d_ff": 64}, depth=1))),
    "gru-cell": Entry("GRU cell (one step)", lambda: (
        nn.GRUCell(3, 8), (torch.randn(2, 3), torch.randn(2, 8)), dict(axes=["b i", "b n"], index="b", state=1))),
    "low-rank-rnn-cell": Entry("Low-rank RNN cell (one step)", lambda: (
        LowRankRNNCell(), (torch.randn(2, 3), torch.randn(2, 16)),
        dict(axes=["b i", "b n"], index="b n", sizes={"r": 2}, state=1))),
    "ei-masked-layer": Entry("E/I, connectome-masked layer", lambda: (
        EIMaskedLinear(), (torch.randn(4, 12),), dict(axes="b n", index="b"))),
    "worm-graph-net": Entry("Worm graph network (GraphNet)", _graph_net, "models.graph.GraphNet(hidden=8)"),
    "ncap-controller": Entry("NCAP swimmer controller", _ncap, "models.ncap.NCAPController(n_joints=5)"),
    "rate-rnn-step": Entry("Rate RNN, one step (connectome mask + Dale signs)", _rate_rnn,
                           "models.rnn.RateRNN.from_circuit(random_dale(12), constrain='mask+dale')"),
    "worm-wiring": Entry("C. elegans locomotion circuit (wiring view)", _worm_wiring,
                         "Varshney 2011: command interneurons and the first motor neurons of each class"),
}


def build(name: str) -> Any:
    """The diagram (or circuit wiring view) of gallery item ``name``."""
    from neurocircuits.circuit import Circuit
    from neurocircuits.diagrams.diagram import diagram

    if name not in GALLERY:
        raise UnknownNameError("gallery item", name, GALLERY)
    entry = GALLERY[name]
    try:
        obj = entry.build()
    except ModuleNotFoundError as err:
        if not str(err.name or "").startswith("neurocircuits."):
            raise
        raise ValidationError(f"gallery item {name!r} needs {err.name}, which this install does not have") from err
    if isinstance(obj, Circuit):
        return obj.draw(title=entry.title)
    module, inputs, kw = obj
    return diagram(module, *inputs, title=entry.title, **kw)


def render_gallery(out_dir: str | Path, names: Sequence[str] | None = None, png: bool = True) -> list[dict[str, Any]]:
    """Render gallery items to ``out_dir`` (``NAME.svg``, ``NAME.png``) with an ``index.md`` page.

    Every module diagram is checked with :func:`~neurocircuits.diagrams.checks.check_all`;
    the index lists the counts of checked claims and any failure.
    """
    from neurocircuits.diagrams.checks import check_all
    from neurocircuits.diagrams.circuit_view import CircuitDiagram

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for name in names or list(GALLERY):
        try:
            d = build(name)
        except ValidationError as err:   # a model that is not part of this install (yet)
            if names is not None or not isinstance(err.__cause__, ModuleNotFoundError):
                raise
            print(f"gallery: skipping {name}: {err}")
            continue
        d.save(out / f"{name}.svg")
        if png:   # very wide diagrams at a lower resolution (the SVG is exact)
            d.save(out / f"{name}.png", dpi=110 if d.scene().width < 2500 else 60)
        if isinstance(d, CircuitDiagram):
            status = "wiring view (no tensor claims to check)"
        else:
            rep = check_all(d)
            status = ("passes: " if rep.ok else "FAILS: ") + str(rep)
        rows.append({"name": name, "title": GALLERY[name].title, "status": status, "ops": len(d.ops),
                     "warnings": list(d.warnings), "about": GALLERY[name].about})
    lines = ["# Diagram gallery", "",
             "Neural circuit diagrams drawn automatically by `neurocircuits.diagrams` "
             "(regenerate with `neurocircuits diagram --gallery docs/diagrams`). "
             "Each module diagram is checked against the module it documents: drawn axis sizes equal the "
             "runtime shapes, every einsum wiring reproduces the traced values on fresh random inputs, every "
             "wire drawn past an op is a broadcast that `vmap` (or index-then-apply) confirms, and the diagram "
             "executed op by op gives the module's outputs. "
             "See [the user guide](../diagrams.md) for the notation.", ""]
    for r in rows:
        lines += [f"## {r['title']}", "", f"`{r['name']}`" + (f" — {r['about']}" if r["about"] else ""), "",
                  f"![{r['title']}]({r['name']}.svg)", "", f"Checks: {r['status']}.", ""]
        if r["warnings"]:
            lines += ["Drawn as labelled boxes: " + "; ".join(r["warnings"]), ""]
    (out / "index.md").write_text("\n".join(lines), encoding="utf-8")
    return rows
