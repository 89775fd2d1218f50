"""Faithfulness checks: does a diagram say what the module does?

1. :func:`check_shapes`: every tensor's axis sizes equal the runtime shape on the example input.
2. :func:`check_einsums`: every wiring's einsum string (and every expanded op, e.g. attention
   drawn as q·k, scale, softmax, ·v) executes and reproduces the traced values.
3. :func:`check_broadcasts`: every axis drawn running past an op is a true broadcast:
   ``vmap`` over that axis (or index-then-apply) reproduces the op.
4. :func:`check_roundtrip`: the diagram executed op by op (:func:`evaluate`) gives the
   module's outputs.

:func:`check_all` runs the three and returns a :class:`CheckReport`.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from neurocircuits.diagrams import diagram
    >>> r = check_all(diagram(nn.Sequential(nn.Linear(3, 4), nn.Tanh()), torch.randn(5, 3)))
    >>> r.ok, r.n_shapes, r.n_broadcasts, r.n_roundtrip
    (True, 3, 3, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from neurocircuits.diagrams.diagram import Diagram


@dataclass
class CheckReport:
    """Counts of checked claims and a list of failures (empty when faithful)."""

    n_shapes: int = 0
    n_einsums: int = 0
    n_broadcasts: int = 0
    n_unchecked_broadcasts: int = 0
    n_roundtrip: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        head = (f"{self.n_shapes} tensor shapes, {self.n_einsums} wirings / expanded ops re-executed, "
                f"{self.n_broadcasts} broadcast claims confirmed ({self.n_unchecked_broadcasts} more on reshapes, "
                f"structural), {self.n_roundtrip} output(s) reproduced by running the diagram")
        return head + ("" if self.ok else "; FAILED: " + "; ".join(self.failures[:5]))


def runtime_values(d: Diagram, inputs: tuple[torch.Tensor, ...] | None = None) -> dict[str, Any]:
    """Every traced value of the module on ``inputs`` (default: the example inputs), by node name."""
    from torch.export.graph_signature import InputKind

    ep = d.program
    inputs = d.example_inputs if inputs is None else inputs
    args, k = [], 0
    for spec in ep.graph_signature.input_specs:
        if spec.kind == InputKind.USER_INPUT:
            args.append(inputs[k])
            k += 1
        elif spec.kind == InputKind.PARAMETER or (spec.kind == InputKind.BUFFER and spec.target in ep.state_dict):
            args.append(ep.state_dict[spec.target])
        else:
            args.append(ep.constants[spec.target])
    env: dict[str, Any] = {}

    class _Rec(torch.fx.Interpreter):
        def run_node(self, n: Any) -> Any:
            out = super().run_node(n)
            env[n.name] = out
            return out

    with torch.no_grad():
        _Rec(ep.graph_module).run(*args)
    for name, v in list(env.items()):
        if isinstance(v, (tuple, list)):
            for i, x in enumerate(v):
                env[f"{name}.{i}"] = x
    return env


def _value(env: dict[str, Any], name: str) -> Any:
    return env.get(name)


def check_shapes(d: Diagram, env: dict[str, Any] | None = None, report: CheckReport | None = None) -> CheckReport:
    """Each drawn tensor's axis sizes equal its runtime shape (check 1)."""
    env = runtime_values(d) if env is None else env
    report = CheckReport() if report is None else report
    tensors = {t.name: t for t in d.tensors()}
    for op in d.expanded_ops:
        for t in op.codomain:
            tensors.setdefault(t.name, t)
    for t in tensors.values():
        v = _value(env, t.name)
        if not isinstance(v, torch.Tensor):
            continue
        report.n_shapes += 1
        if tuple(v.shape) != t.shape:
            report.failures.append(f"tensor {t.name}: drawn {t.shape}, runtime {tuple(v.shape)}")
    return report


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape:
        return False
    if not a.is_floating_point():
        return bool(torch.equal(a, b))
    return bool(torch.allclose(a.double(), b.double(), rtol=1e-4, atol=1e-5))


def check_einsums(d: Diagram, env: dict[str, Any] | None = None, report: CheckReport | None = None,
                  seed: int = 0) -> CheckReport:
    """Each wiring's einsum string and each expanded op reproduce the traced values (check 2).

    Runs on fresh random inputs of the example shapes (``seed``), so it does not depend on the
    values the diagram was drawn with.
    """
    report = CheckReport() if report is None else report
    if env is None:
        g = torch.Generator().manual_seed(seed)
        fresh = tuple(torch.randn(x.shape, generator=g, dtype=x.dtype) if x.is_floating_point() else x
                      for x in d.example_inputs)
        env = runtime_values(d, fresh)
    virtual: dict[str, torch.Tensor] = {}
    for op in d.expanded_ops:
        virt_out = any(t.name not in env for t in op.codomain)
        if op.einsum is None and not virt_out and not any(t.name in virtual for t in op.domain):
            continue
        if op.call is None:
            continue
        xs = [virtual.get(t.name, env.get(t.name)) for t in op.domain]
        if any(not isinstance(x, torch.Tensor) for x in xs):
            continue
        with torch.no_grad():
            y = op.call(*xs)
        out = op.codomain[0]
        report.n_einsums += 1
        if out.name in env:
            if not _close(y, env[out.name]):
                err = (y.double() - env[out.name].double()).abs().max().item() if y.shape == env[out.name].shape else "shape"
                report.failures.append(f"{op.id} {op.einsum or op.label}: does not reproduce {out.name} (max err {err})")
        else:
            virtual[out.name] = y
    return report


def check_broadcasts(d: Diagram, env: dict[str, Any] | None = None, report: CheckReport | None = None) -> CheckReport:
    """Every axis drawn past an op is a true broadcast (check 3): ``vmap`` over it reproduces the op."""
    env = runtime_values(d) if env is None else env
    report = CheckReport() if report is None else report
    virtual: dict[str, torch.Tensor] = {}
    for op in d.expanded_ops:
        xs = [virtual.get(t.name, env.get(t.name)) for t in op.domain]
        if op.call is not None and all(isinstance(x, torch.Tensor) for x in xs) and op.codomain:
            with torch.no_grad():
                ref = op.call(*xs)
            if op.codomain[0].name not in env:
                virtual[op.codomain[0].name] = ref
        else:
            ref = None
        for ax in op.broadcast:
            if ref is None or op.kind == "reshape":
                report.n_unchecked_broadcasts += 1
                continue
            out_pos = op.codomain[0].position(ax)
            if out_pos is None:
                report.failures.append(f"{op.id}: broadcast axis {ax} missing from the output")
                continue
            report.n_broadcasts += 1
            try:
                ok = _one_broadcast(op, [x for x in xs if isinstance(x, torch.Tensor)], ref, ax, out_pos)
            except Exception as err:  # noqa: BLE001 - any failure of the claim is a failure
                ok = False
                report.failures.append(f"{op.id} {op.label}: vmap over axis {ax} raised {type(err).__name__}: {err}")
                continue
            if not ok:
                report.failures.append(f"{op.id} {op.label}: broadcast over axis {ax} does not hold")
    return report


def _one_broadcast(op: Any, xs: list[torch.Tensor], ref: torch.Tensor, ax: int, out_pos: int) -> bool:
    pos = [t.position(ax) for t in op.domain]
    if op.einsum is not None:      # operands are aligned by letter
        lhs, rhs = op.einsum.split("->")
        letter = rhs[out_pos]
        pos = [s.index(letter) if letter in s else None for s in lhs.split(",")]
    elif len(op.domain) > 1:       # elementwise operands are aligned by position, from the right
        nd = ref.ndim
        pos = [out_pos - (nd - x.ndim) if out_pos - (nd - x.ndim) >= 0 else None for x in xs]
    if op.call_mode == "narrow":
        n = ref.shape[out_pos]
        for i in sorted({0, n - 1}):
            sl = [x.narrow(p, i, 1) if p is not None and x.shape[p] == n else x for x, p in zip(xs, pos)]
            with torch.no_grad():
                y = op.call(*sl)
            if not _close(y, ref.narrow(out_pos, i, 1)):
                return False
        return True
    args: list[torch.Tensor] = []
    in_dims: list[int | None] = []
    for x, p in zip(xs, pos):
        if p is None:
            args.append(x)
            in_dims.append(None)
        elif x.shape[p] == 1 and ref.shape[out_pos] != 1:
            args.append(x.squeeze(p))     # a size-1 operand axis is broadcast by replication
            in_dims.append(None)
        else:
            args.append(x)
            in_dims.append(p)
    fn = op.call
    if op.einsum is not None:       # the same wiring without the vmapped letter
        lhs, rhs = op.einsum.split("->")
        specs = lhs.split(",")
        letter = next(s[p] for s, p in zip(specs, pos) if p is not None)
        eq = ",".join(s.replace(letter, "") if p is not None else s for s, p in zip(specs, pos)) + "->" + \
            rhs.replace(letter, "")
        c = 1.0 if op.scale is None else op.scale
        fn = (lambda *a, e=eq: torch.einsum(e, *a) * c)
    elif op.kind == "softmax":
        p0 = pos[0]
        k = op.domain[0].position(op.axis)
        dim = k - (1 if p0 is not None and p0 < k else 0)
        f = torch.log_softmax if op.label.startswith("log") else torch.softmax
        fn = (lambda a, dd=dim: f(a, dim=dd))
    with torch.no_grad():
        y = torch.vmap(fn, in_dims=tuple(in_dims), out_dims=out_pos)(*args)
    return _close(y, ref)


def evaluate(d: Diagram, *inputs: torch.Tensor) -> dict[str, torch.Tensor]:
    """Run the diagram itself: every op of the IR, in order, on ``inputs``; values by tensor name.

    Expanded ops (attention as q·k, scale, softmax, ·v; a low-rank weight as two linears; a
    GRU cell as two linears and its gates) run as drawn, not as the fused op they replace.
    """
    if len(inputs) != len(d.inputs):
        raise ValueError(f"the diagram has {len(d.inputs)} inputs, got {len(inputs)}")
    env: dict[str, Any] = {t.name: x for t, x in zip(d.inputs, inputs)}
    with torch.no_grad():
        for op in d.expanded_ops:
            if op.call is None:
                raise ValueError(f"{op.id} ({op.label or op.kind}) has no executable form")
            y = op.call(*[env[t.name] for t in op.domain])
            if isinstance(y, (tuple, list)):
                for t, v in zip(op.codomain, y):
                    env[t.name] = v
            else:
                env[op.codomain[0].name] = y
    return env


def check_roundtrip(d: Diagram, report: CheckReport | None = None, seed: int = 1) -> CheckReport:
    """Check 4: the diagram, executed op by op (:func:`evaluate`), gives the module's outputs."""
    report = CheckReport() if report is None else report
    g = torch.Generator().manual_seed(seed)
    fresh = tuple(torch.randn(x.shape, generator=g, dtype=x.dtype) if x.is_floating_point() else x
                  for x in d.example_inputs)
    ref = runtime_values(d, fresh)
    try:
        got = evaluate(d, *fresh)
    except Exception as err:  # noqa: BLE001 - reported as a failure
        report.failures.append(f"round trip: {type(err).__name__}: {err}")
        return report
    for t in d.outputs:
        report.n_roundtrip += 1
        if t.name not in got or not _close(got[t.name], ref[t.name]):
            report.failures.append(f"round trip: output {t.name} differs from the module's")
    return report


def check_all(d: Diagram) -> CheckReport:
    """All four checks on the example inputs (and fresh random inputs for the wirings and round trip)."""
    env = runtime_values(d)
    r = check_shapes(d, env)
    check_einsums(d, None, r)
    check_broadcasts(d, env, r)
    check_roundtrip(d, r)
    return r
