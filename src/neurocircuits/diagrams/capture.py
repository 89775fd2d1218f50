"""Capture: trace a module with :func:`torch.export` and build the diagram IR.

Every tensor dimension gets an :class:`~neurocircuits.diagrams.ir.Axis` with an identity,
propagated op by op (Linear replaces the last axis, permutes reorder, reshapes split and
merge, einsum maps by letter, reductions drop axes, ...). Sizes are computed from the op's
arguments, never copied from the tracer, so that :func:`~neurocircuits.diagrams.checks.check_shapes`
comparing them with the runtime shapes is a real test.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from neurocircuits.diagrams.ir import Axis, Op, TensorType
from neurocircuits.errors import NeurocircuitsError, ValidationError


class DiagramWarning(UserWarning):
    """An op the renderer has no glyph for (drawn as a labelled box)."""


class UntraceableError(NeurocircuitsError, RuntimeError):
    """A module that :func:`torch.export` cannot trace; the message names the op and the line."""


ELEMENTWISE = {
    "relu": "R", "gelu": "GELU", "tanh": "tanh", "sigmoid": "σ", "silu": "SiLU", "exp": "exp",
    "log": "log", "abs": "|·|", "neg": "−", "sqrt": "√", "rsqrt": "1/√", "sin": "sin", "cos": "cos",
    "softplus": "SP", "elu": "ELU", "leaky_relu": "LReLU", "hardtanh": "HT", "clamp": "clamp",
    "clamp_min": "max0", "square": "x²", "reciprocal": "1/x", "erf": "erf", "log1p": "log1p",
    "sign": "sgn", "relu6": "R6", "mish": "Mish", "hardswish": "HS", "log_sigmoid": "logσ",
    "pow": "pow", "tanh_": "tanh", "relu_": "R", "round": "round", "floor": "⌊·⌋", "ceil": "⌈·⌉",
    "logical_not": "not", "bitwise_not": "not", "isnan": "isnan", "nan_to_num": "nan→0", "trunc": "trunc",
}
ALIASES = {"contiguous", "clone", "alias", "detach", "lift_fresh_copy", "dropout", "feature_dropout",
           "alpha_dropout"}
DTYPE_OPS = {"_to_copy", "to", "type_as"}
BINARY = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "rsub": "−", "maximum": "max", "minimum": "min",
          "where": "where", "pow": "pow", "atan2": "atan2", "lt": "<", "gt": ">", "le": "≤", "ge": "≥", "eq": "=",
          "ne": "≠", "remainder": "mod", "fmod": "mod", "floor_divide": "//", "logical_and": "and",
          "logical_or": "or", "logical_xor": "xor", "bitwise_and": "&", "bitwise_or": "|"}
CREATION = {"zeros", "ones", "eye", "arange", "full", "empty", "zeros_like", "ones_like", "full_like",
            "new_zeros", "new_ones", "new_full", "new_empty", "empty_like",
            "scalar_tensor", "tensor", "randn", "rand"}
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _name(target: Any) -> str:
    if hasattr(target, "_overloadpacket"):
        return target._overloadpacket.__name__
    return getattr(target, "__name__", str(target))


@dataclass
class _Capture:
    ep: Any
    size_symbols: dict[int, str]
    values: dict[str, torch.Tensor]            # params / buffers / constants by placeholder name
    param_names: set[str]
    axes: dict[str, Any] = field(default_factory=dict)   # node name -> tuple[Axis] or list of them
    alias: dict[str, str] = field(default_factory=dict)
    const: set[str] = field(default_factory=set)
    const_cache: dict[str, Any] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    stacks: list[tuple] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    split_of: dict[int, tuple[Axis, int]] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)     # placeholder name -> state-dict key
    index_set: set[str] = field(default_factory=set)
    n_axes: int = 0
    n_virtual: int = 0
    node: Any = None

    # --- helpers ---------------------------------------------------------------------------
    def new_axis(self, size: int, symbol: str | None = None, barred: bool = False,
                 parts: tuple[Axis, ...] = ()) -> Axis:
        self.n_axes += 1
        if symbol is None and not barred:
            symbol = self.size_symbols.get(int(size))
            barred = symbol is not None and symbol in self.index_set
        return Axis(self.n_axes, int(size), symbol, barred, parts)

    def ax(self, n: Any) -> tuple[Axis, ...]:
        a = self.axes[self.alias.get(n.name, n.name)]
        if isinstance(a, list):
            raise ValidationError(f"{n.name} is a tuple, not a tensor")
        return a

    def tensor(self, n: Any, axes: tuple[Axis, ...] | None = None) -> TensorType:
        name = self.alias.get(n.name, n.name) if hasattr(n, "name") else str(n)
        return TensorType(name, self.ax(n) if axes is None else axes)

    def is_data(self, a: Any) -> bool:
        return isinstance(a, torch.fx.Node) and a.name not in self.const

    def const_value(self, a: Any) -> Any:
        """The value of a constant (parameter-only) node, evaluated once."""
        if isinstance(a, (list, tuple)):
            return type(a)(self.const_value(x) for x in a)
        if not isinstance(a, torch.fx.Node):
            return a
        if a.name in self.values:
            return self.values[a.name]
        if a.name not in self.const_cache:
            args = self.const_value(tuple(a.args))
            kwargs = {k: self.const_value(v) for k, v in a.kwargs.items()}
            with torch.no_grad():
                self.const_cache[a.name] = a.target(*args, **kwargs)  # type: ignore[operator]
        return self.const_cache[a.name]

    def emit(self, kind: str, label: str, domain: Sequence[TensorType], codomain: Sequence[TensorType],
             **kw: Any) -> Op:
        node = self.node
        kw.setdefault("target", str(node.target) if node is not None else "virtual")
        stack = tuple(node.meta.get("nn_module_stack", {}).items()) if node is not None else ()
        module = stack[-1][1][0] if stack else ""
        if node is not None and kw["target"] != "virtual" and kw.get("call") is None:
            kw["call"] = self.node_call(node, tuple(domain))
            kw["call_mode"] = "narrow"
        op = Op(f"op{len(self.ops)}", kind, label, tuple(domain), tuple(codomain), module=str(module), **kw)
        self.ops.append(op)
        self.stacks.append(stack)
        return op

    def node_call(self, node: Any, domain: tuple[TensorType, ...]) -> Callable[..., Any]:
        """The traced op as a function of the op's domain tensors (constants bound)."""
        names = [t.name for t in domain]
        # the IR has no memory layout (contiguous() is not drawn): views run as reshapes
        target = torch.ops.aten.reshape.default if _name(node.target) in ("view", "_unsafe_view") else node.target

        def sub(a: Any, env: dict[str, Any]) -> Any:
            if isinstance(a, (list, tuple)):
                return type(a)(sub(x, env) for x in a)
            if isinstance(a, torch.fx.Node):
                key = self.alias.get(a.name, a.name)
                return env[key] if key in env else self.const_value(a)
            return a

        def call(*vals: Any) -> Any:
            env = dict(zip(names, vals))
            return target(*sub(tuple(node.args), env), **{k: sub(v, env) for k, v in node.kwargs.items()})
        return call

    def virtual(self, axes: tuple[Axis, ...], what: str) -> TensorType:
        self.n_virtual += 1
        return TensorType(f"{self.node.name}.{what}", axes)

    def set(self, n: Any, axes: Any) -> None:
        self.axes[n.name] = axes

    def shape(self, n: Any) -> tuple[int, ...]:
        v = n.meta.get("val")
        return tuple(int(s) for s in v.shape)

    # --- weight analysis (connectome masks, E/I signs, low rank) ----------------------------
    def analyse_weight(self, w: Any) -> dict[str, Any]:
        info: dict[str, Any] = {"learned": False, "notes": [], "sup": "", "low_rank": None}
        if not isinstance(w, torch.fx.Node):
            return info
        seen, stack, ops = set(), [w], []
        leaves = []
        while stack:
            n = stack.pop()
            if n.name in seen:
                continue
            seen.add(n.name)
            if n.op == "placeholder":
                leaves.append(n)
                continue
            ops.append(n)
            stack.extend(a for a in n.all_input_nodes)
        info["learned"] = any(n.name in self.param_names for n in leaves)
        names = {_name(n.target) for n in ops}
        for n in ops:
            if _name(n.target) != "mul":
                continue
            for a in n.args:
                if isinstance(a, torch.fx.Node) and a.op == "placeholder" and a.name not in self.param_names:
                    v = self.values[a.name]
                    if v.numel() > 1 and bool(((v == 0) | (v == 1)).all()):
                        info["notes"].append(f"⊙ mask M (fixed), density {float(v.float().mean()):.0%}")
                    elif v.numel() > 1 and bool(((v == 0) | (v.abs() == 1)).all()) and bool((v < 0).any()):
                        rule = next((r for r in ("softplus", "abs", "relu", "exp", "clamp", "clamp_min")
                                     if r in names), "fixed sign")
                        per = v.reshape(-1)
                        if v.ndim == 2 and bool((v == v[:1]).all()):      # one sign per presynaptic column
                            per = v[0]
                        elif v.ndim == 2 and bool((v == v[:, :1]).all()):
                            per = v[:, 0]
                        ne, ni, nf = int((per > 0).sum()), int((per < 0).sum()), int((per == 0).sum())
                        free = f", {nf} free" if nf else ""
                        info["notes"].append(f"E|I signs fixed (n_E={ne}, n_I={ni}{free}); magnitude by {rule}")
                        info["sup"] = "E|I"
        for n in ops:
            nm = _name(n.target)
            if nm in ("clamp", "clamp_min", "clamp_max") and n.args and isinstance(n.args[0], torch.fx.Node) \
                    and n.args[0].name in self.param_names:
                lo = n.args[1] if len(n.args) > 1 else n.kwargs.get("min")
                hi = n.args[2] if len(n.args) > 2 else n.kwargs.get("max")
                if nm == "clamp_max":
                    lo, hi = None, lo
                if lo == 0 and hi is None:
                    info["notes"].append("sign + (E), kept by clamp ≥ 0")
                    info["sup"] = "E"
                elif hi == 0 and lo is None:
                    info["notes"].append("sign − (I), kept by clamp ≤ 0")
                    info["sup"] = "I"
        if w.op != "placeholder" and _name(w.target) in ("mm", "matmul") and not info["notes"]:
            a, b = (self.const_value(x) for x in w.args[:2])
            if a.ndim == 2 and b.ndim == 2 and a.shape[1] < min(a.shape[0], b.shape[1]):
                info["low_rank"] = (a.detach(), b.detach())
        if not info["learned"] and not info["notes"]:
            info["notes"].append("fixed (not learned)")
        return info


# --- axis-naming ------------------------------------------------------------------------------
def _parse_axes(spec: Any, ndim: int, index: set[str], which: int) -> list[tuple[str | None, bool]]:
    out: list[tuple[str | None, bool]] = [(None, False)] * ndim
    if spec is None:
        return out
    if isinstance(spec, str):
        toks = spec.split()
        if len(toks) != ndim:
            raise ValidationError(f"axes pattern {spec!r} for input {which} names {len(toks)} axes but the "
                                  f"input has {ndim}")
        spec = dict(enumerate(toks))
    if not isinstance(spec, Mapping):
        raise ValidationError(f"axes for input {which} must be a pattern string or a dict dim -> symbol, "
                              f"got {type(spec).__name__}")
    for d, sym in spec.items():
        if not isinstance(d, int) or not -ndim <= d < ndim:
            raise ValidationError(f"axes for input {which}: dim {d!r} out of range for {ndim} dims")
        s = str(sym)
        out[d % ndim] = (None if s in ("_", "?") else s, s in index)
    return out


# --- op handlers ------------------------------------------------------------------------------
def _replace(axes: tuple[Axis, ...], pos: int, new: Axis) -> tuple[Axis, ...]:
    pos %= len(axes)
    return axes[:pos] + (new,) + axes[pos + 1:]


def _passing(x: TensorType, y: TensorType) -> tuple[int, ...]:
    ids = {a.id for a in y.axes}
    return tuple(a.id for a in x.axes if a.id in ids)


def _linear(cap: _Capture, n: Any) -> None:
    x, w = n.args[0], n.args[1]
    b = n.args[2] if len(n.args) > 2 else n.kwargs.get("bias")
    _learned_matrix(cap, n, x, w, b, pos=-1, transposed=True)


def _learned_matrix(cap: _Capture, n: Any, x: Any, w: Any, b: Any, pos: int, transposed: bool,
                    left: bool = False) -> None:
    """A linear map by a constant matrix on the axis at ``pos`` of ``x``."""
    xa = cap.ax(x)
    wv = cap.const_value(w)
    info = cap.analyse_weight(w)
    bv = cap.const_value(b) if b is not None else None
    sup = info["sup"] or _param_superscript(cap, w) or _superscript(n)
    t_in = cap.tensor(x)
    if info["low_rank"] is not None and not left:
        u, v = info["low_rank"]   # w = u @ v
        # linear: y = x wᵀ = (x vᵀ) uᵀ ; matmul: y = x w = (x u) v
        f1, f2 = (v, u) if transposed else (u.T, v.T)
        r = cap.new_axis(f1.shape[0])
        mid = cap.virtual(_replace(xa, pos, r), "rank")
        out_ax = cap.new_axis(f2.shape[0])
        t_out = TensorType(n.name, _replace(xa, pos, out_ax))
        cap.emit("learned-linear", "L", [t_in], [mid], broadcast=_passing(t_in, mid), learned=info["learned"],
                 superscript="V", notes=(f"low rank U Vᵀ, r = {r.size}",), call=lambda a, m=f1: F.linear(a, m),
                 target="virtual")
        cap.emit("learned-linear", "L", [mid], [t_out], broadcast=_passing(mid, t_out), learned=info["learned"],
                 bias=bv is not None, superscript="U",
                 call=lambda a, m=f2, bb=bv: F.linear(a, m, bb))
        cap.set(n, t_out.axes)
        return
    if left:   # y = W @ x on axis -2 of x
        out_size = wv.shape[-2]
        def call(a: torch.Tensor, m: torch.Tensor = wv, bb: Any = None, tr: bool = False) -> torch.Tensor:
            return torch.matmul(m, a)
        mode = "narrow"
    else:
        out_size = wv.shape[0] if transposed else wv.shape[-1]
        def call(a: torch.Tensor, m: torch.Tensor = wv, bb: Any = bv, tr: bool = transposed) -> torch.Tensor:
            return F.linear(a, m, bb) if tr else torch.matmul(a, m) + (0 if bb is None else bb)
        mode = "vmap"
    new = cap.new_axis(out_size)
    t_out = TensorType(n.name, _replace(xa, pos, new))
    cap.emit("learned-linear", "L", [t_in], [t_out], broadcast=_passing(t_in, t_out), learned=info["learned"],
             bias=bv is not None, superscript=sup, notes=tuple(info["notes"]), call=call, call_mode=mode)
    cap.set(n, t_out.axes)


def _param_superscript(cap: _Capture, w: Any) -> str:
    """``in_proj`` for ``attn.in_proj_weight``, ``q`` for ``q.weight``; '' when not a named parameter."""
    key = cap.targets.get(getattr(w, "name", ""), "")
    if not key:
        return ""
    parts = key.split(".")
    last = parts[-1]
    if last in ("weight", "bias") and len(parts) > 1:
        last = parts[-2]
    elif last.endswith("_weight"):
        last = last[: -len("_weight")]
    return last if len(last) <= 8 and not last.isdigit() else ""


def _superscript(n: Any) -> str:
    stack = list(n.meta.get("nn_module_stack", {}).values())
    if not stack:
        return ""
    path = str(stack[-1][0]).split(".")[-1]
    return path if len(path) <= 8 and not path.isdigit() and path != "" else ""


def _elementwise(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    name = _name(n.target)
    t = cap.tensor(x)
    out = TensorType(n.name, t.axes)
    rest = n.args[1:]
    kw = dict(n.kwargs)
    label = ELEMENTWISE.get(name, name)
    cap.emit("elementwise", label, [t], [out], broadcast=tuple(a.id for a in t.axes),
             call=lambda a, f=n.target, r=rest, k=kw: f(a, *r, **k))
    cap.set(n, t.axes)


def _broadcast_axes(cap: _Capture, shapes_axes: list[tuple[Axis, ...] | None], out_shape: tuple[int, ...]
                    ) -> tuple[Axis, ...]:
    nd = len(out_shape)
    out: list[Axis] = []
    for i in range(nd):
        pick = None
        for axs in shapes_axes:
            if axs is None:
                continue
            j = i - (nd - len(axs))
            if j >= 0 and axs[j].size == out_shape[i] and (pick is None or pick.size == 1):
                pick = axs[j] if pick is None or pick.size == 1 else pick
        out.append(pick if pick is not None else cap.new_axis(out_shape[i]))
    return tuple(out)


def _binary(cap: _Capture, n: Any) -> None:
    name = _name(n.target)
    args = list(n.args)
    if name == "where":
        _custom(cap, n, label="where")
        return
    a, b = args[0], args[1] if len(args) > 1 else n.kwargs.get("other")
    alpha = n.kwargs.get("alpha", 1)
    da, db = cap.is_data(a), cap.is_data(b)
    out_shape = cap.shape(n)
    if da and db:
        ta, tb = cap.tensor(a), cap.tensor(b)
        axes = _broadcast_axes(cap, [ta.axes, tb.axes], out_shape)
        out = TensorType(n.name, axes)
        kind = "add" if name in ("add", "sub", "rsub") else "elementwise"
        cap.emit(kind, BINARY.get(name, name), [ta, tb], [out], broadcast=tuple(x.id for x in axes),
                 call=lambda x, y, f=n.target, k=dict(n.kwargs): f(x, y, **k))
        cap.set(n, axes)
        return
    x = a if da else b
    other = b if da else a
    tx = cap.tensor(x)
    axes = _broadcast_axes(cap, [tx.axes], out_shape) if len(out_shape) != len(tx.axes) or tuple(
        s.size for s in tx.axes) != out_shape else tx.axes
    out = TensorType(n.name, axes)
    ov = cap.const_value(other)
    learned = isinstance(other, torch.fx.Node) and cap.analyse_weight(other)["learned"]
    scalar = not learned and (not isinstance(ov, torch.Tensor) or ov.numel() == 1)
    if da:
        call = lambda t, f=n.target, o=ov, k=dict(n.kwargs): f(t, o, **k)  # noqa: E731
    else:
        call = lambda t, f=n.target, o=ov, k=dict(n.kwargs): f(o, t, **k)  # noqa: E731
    if scalar and name in ("mul", "div") and da:
        c = float(ov) if name == "mul" else 1.0 / float(ov)
        cap.emit("scale", f"∗{_fmt(c)}", [tx], [out], broadcast=tuple(s.id for s in tx.axes), scale=c, call=call)
    else:
        if scalar:
            sym = "c"
            label = {"add": f"+{_fmt(float(ov) * alpha)}", "sub": f"−{_fmt(float(ov) * alpha)}",
                     "rsub": f"{_fmt(float(ov))}−", "mul": f"∗{_fmt(float(ov))}", "div": f"{_fmt(float(ov))}÷"}.get(
                name, f"{BINARY.get(name, name)} {_fmt(float(ov))}")
        else:
            sym = "b" if name in ("add", "sub") and learned else ("w" if learned else "M")
            if learned:
                sym = _param_superscript(cap, _param_leaf(other)) or sym
            label = {"add": f"+{sym}", "sub": f"−{sym}", "mul": f"⊙{sym}", "div": f"÷{sym}"}.get(name, name)
        # lifted only over the axes along which the constant does not vary
        cshape = tuple(ov.shape) if isinstance(ov, torch.Tensor) else ()
        off = len(tx.axes) - len(cshape)
        bc = tuple(s.id for i, s in enumerate(tx.axes) if i - off < 0 or cshape[i - off] == 1)
        notes: tuple[str, ...] = ()
        if not scalar and not learned and name == "mul":
            v = ov.float()
            if bool(((v == 0) | (v == 1)).all()):
                notes = (f"mask (fixed), density {float(v.mean()):.0%}",)
        if learned:
            notes = tuple(n for n in cap.analyse_weight(other)["notes"] if "fixed (not" not in n)
        cap.emit("elementwise", label, [tx], [out], broadcast=bc, learned=learned, call=call,
                 call_mode="vmap" if scalar else "narrow", notes=notes)
    cap.set(n, axes)


def _param_leaf(n: Any) -> Any:
    """The parameter placeholder a constant expression is computed from (first found)."""
    stack = [n]
    while stack:
        x = stack.pop()
        if x.op == "placeholder":
            return x
        stack.extend(x.all_input_nodes)
    return n


def _fmt(c: float) -> str:
    if c == int(c) and abs(c) < 1e6:
        return str(int(c))
    return f"{c:.3g}"


def _reshape(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    xa = cap.ax(x)
    name = _name(n.target)
    in_sizes = [a.size for a in xa]
    if name in ("view", "reshape", "_unsafe_view"):
        tgt = list(n.args[1])
    elif name == "flatten":
        s = n.args[1] if len(n.args) > 1 else 0
        e = n.args[2] if len(n.args) > 2 else -1
        nd = max(len(xa), 1)
        s, e = s % nd, e % nd
        tgt = in_sizes[:s] + [math.prod(in_sizes[s:e + 1])] + in_sizes[e + 1:]
    elif name == "unflatten":
        d = n.args[1] % len(xa)
        tgt = in_sizes[:d] + list(n.args[2]) + in_sizes[d + 1:]
    else:
        raise AssertionError(name)
    if -1 in tgt:
        known = math.prod(t for t in tgt if t != -1)
        tgt[tgt.index(-1)] = math.prod(in_sizes) // max(known, 1)
    tgt = [int(t) for t in tgt]
    out_axes, pairs = _regroup(cap, xa, tgt)
    t_in, t_out = cap.tensor(x), TensorType(n.name, out_axes)
    label = "flatten" if name == "flatten" else ""
    cap.emit("reshape", label, [t_in], [t_out], broadcast=_passing(t_in, t_out), wiring=tuple(pairs),
             call=None)
    cap.set(n, out_axes)


def _refine(a: list[int], b: list[int]) -> list[int] | None:
    """The common refinement of two factorisations of one number, or ``None``."""
    ca, cb, x, y = set(), set(), 1, 1
    for s in a:
        x *= s
        ca.add(x)
    for s in b:
        y *= s
        cb.add(y)
    cuts = sorted(ca | cb)
    out, prev = [], 1
    for c in cuts:
        if c % prev:
            return None
        out.append(c // prev)
        prev = c
    return out


def _ranges(sizes: list[int], pieces: list[int]) -> list[range]:
    out, k = [], 0
    for s in sizes:
        start, p = k, 1
        while p < s:
            p *= pieces[k]
            k += 1
        out.append(range(start, k))
    return out


def _regroup(cap: _Capture, xa: tuple[Axis, ...], tgt: list[int]) -> tuple[tuple[Axis, ...], list]:
    """Split / merge axes of ``xa`` into sizes ``tgt`` (k·h ↔ (k, h)); new axes and wire pairs."""
    ins = [i for i, a in enumerate(xa) if a.size != 1]
    outs = [j for j, t in enumerate(tgt) if t != 1]
    out: list[Axis | None] = [None] * len(tgt)
    pairs = []
    a_sizes, b_sizes = [xa[i].size for i in ins], [tgt[j] for j in outs]
    pieces = _refine(a_sizes, b_sizes)
    if pieces is None:
        for j in outs:
            out[j] = cap.new_axis(tgt[j])
        pairs += [((0, i), (0, j)) for i in ins for j in outs]
    else:
        ra, rb = _ranges(a_sizes, pieces), _ranges(b_sizes, pieces)
        piece_ax: list[Axis] = []
        for i, r in zip(ins, ra):
            parent = xa[i]
            if len(r) == 1:
                piece_ax.append(parent)
            elif parent.parts and [p.size for p in parent.parts] == [pieces[k] for k in r]:
                piece_ax.extend(parent.parts)
            else:
                for c, k in enumerate(r):
                    ax = cap.new_axis(pieces[k], barred=parent.barred and c == 0)
                    cap.split_of[ax.id] = (parent, c)
                    piece_ax.append(ax)
        for j, r in zip(outs, rb):
            srcs = [piece_ax[k] for k in r]
            if len(srcs) == 1:
                out[j] = srcs[0]
                continue
            par = [cap.split_of[a.id] for a in srcs if a.id in cap.split_of]
            if len(par) == len(srcs) and len({p[0].id for p in par}) == 1 and \
                    [p[1] for p in par] == list(range(len(par))) and par[0][0].size == tgt[j]:
                out[j] = par[0][0]
            else:
                out[j] = cap.new_axis(tgt[j], "·".join(a.label for a in srcs), barred=all(a.barred for a in srcs),
                                      parts=tuple(srcs))
        for i, r1 in zip(ins, ra):
            for j, r2 in zip(outs, rb):
                if set(r1) & set(r2):
                    pairs.append(((0, i), (0, j)))
    ones_in = [xa[k] for k in range(len(xa)) if xa[k].size == 1]
    for j2 in range(len(tgt)):
        if out[j2] is None:
            out[j2] = ones_in.pop(0) if ones_in else cap.new_axis(1, "1")
    for k, a in enumerate(xa):
        for k2, b in enumerate(out):
            if a.size == 1 and b is a:
                pairs.append(((0, k), (0, k2)))
    return tuple(out), pairs  # type: ignore[arg-type]


def _permute(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    xa = cap.ax(x)
    name = _name(n.target)
    nd = len(xa)
    if name == "permute":
        dims = [d % nd for d in n.args[1]]
    elif name in ("transpose", "swapaxes"):
        dims = list(range(nd))
        d0, d1 = n.args[1] % nd, n.args[2] % nd
        dims[d0], dims[d1] = dims[d1], dims[d0]
    elif name in ("t", "numpy_T"):
        dims = list(range(nd))[::-1]
    else:  # movedim
        dims = list(range(nd))
        src, dst = n.args[1] % nd, n.args[2] % nd
        dims.pop(src)
        dims.insert(dst, src)
    out = tuple(xa[d] for d in dims)
    pairs = tuple(((0, d), (0, j)) for j, d in enumerate(dims))
    t_in, t_out = cap.tensor(x), TensorType(n.name, out)
    if dims != list(range(nd)):
        cap.emit("reshape", "", [t_in], [t_out], broadcast=(), wiring=pairs)
    else:
        cap.alias[n.name] = cap.alias.get(x.name, x.name)
    cap.set(n, out)


def _squeeze(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    xa = cap.ax(x)
    name = _name(n.target)
    if name == "unsqueeze":
        d = n.args[1] % (len(xa) + 1)
        out = xa[:d] + (cap.new_axis(1, "1"),) + xa[d:]
    else:
        dims = n.args[1] if len(n.args) > 1 else None
        if dims is None:
            dims = [i for i, a in enumerate(xa) if a.size == 1]
        elif isinstance(dims, int):
            dims = [dims]
        drop = {d % len(xa) for d in dims if xa[d % len(xa)].size == 1}
        out = tuple(a for i, a in enumerate(xa) if i not in drop)
    t_in, t_out = cap.tensor(x), TensorType(n.name, out)
    ids = {a.id for a in out}
    pairs = tuple(((0, i), (0, out.index(a))) for i, a in enumerate(xa) if a.id in ids)
    cap.emit("reshape", "", [t_in], [t_out], broadcast=_passing(t_in, t_out), wiring=pairs)
    cap.set(n, out)


def _expand(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    xa = cap.ax(x)
    tgt = [int(s) for s in n.args[1]]
    lead = len(tgt) - len(xa)
    out = [cap.new_axis(s) for s in tgt[:lead]]
    for a, s in zip(xa, tgt[lead:]):
        out.append(a if s in (-1, a.size) else cap.new_axis(s))
    t_in, t_out = cap.tensor(x), TensorType(n.name, tuple(out))
    if tuple(out) == xa:
        cap.alias[n.name] = cap.alias.get(x.name, x.name)
    else:
        pairs = tuple(((0, i), (0, lead + i)) for i in range(len(xa)))
        cap.emit("reshape", "expand", [t_in], [t_out], broadcast=_passing(t_in, t_out), wiring=pairs)
    cap.set(n, tuple(out))


def _select(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    xa = cap.ax(x)
    name = _name(n.target)
    d = n.args[1] % len(xa)
    if name == "select":
        out = xa[:d] + xa[d + 1:]
        label = f"[{n.args[2]}]"
    else:  # slice(dim, start, end, step)
        start = n.args[2] if len(n.args) > 2 else None
        end = n.args[3] if len(n.args) > 3 else None
        step = n.args[4] if len(n.args) > 4 else 1
        size = len(range(*slice(start, end, step).indices(xa[d].size)))
        if size == xa[d].size:
            cap.alias[n.name] = cap.alias.get(x.name, x.name)
            cap.set(n, xa)
            return
        old = xa[d]
        sym = cap.size_symbols.get(size) or ((old.symbol + "′") if old.symbol else None)
        out = _replace(xa, d, cap.new_axis(size, sym, old.barred))
        s0 = "" if start in (None, 0) else start
        s1 = "" if end is None or end >= 2 ** 62 else end
        label = f"[{s0}:{s1}]"
    t_in, t_out = cap.tensor(x), TensorType(n.name, out)
    ids = {a.id for a in out}
    pairs = [((0, i), (0, out.index(a))) for i, a in enumerate(xa) if a.id in ids]
    if name != "select":
        pairs.append(((0, d), (0, d)))
    cap.emit("reshape", label, [t_in], [t_out], broadcast=_passing(t_in, t_out), wiring=tuple(pairs), axis=xa[d].id)
    cap.set(n, out)


def _flip(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    xa = cap.ax(x)
    dims = {d % len(xa) for d in n.args[1]}
    t_in, t_out = cap.tensor(x), TensorType(n.name, xa)
    label = "flip " + " ".join(xa[d].label for d in sorted(dims))
    cap.emit("reshape", label, [t_in], [t_out], broadcast=tuple(a.id for i, a in enumerate(xa) if i not in dims),
             wiring=tuple(((0, i), (0, i)) for i in range(len(xa))))
    cap.set(n, xa)


def _cat(cap: _Capture, n: Any) -> None:
    name = _name(n.target)
    items = list(n.args[0])
    data = [a for a in items if cap.is_data(a)]
    if len(data) != len(items):
        _custom(cap, n, label=name)
        return
    ts = [cap.tensor(a) for a in data]
    base = ts[0].axes
    d = n.args[1] if len(n.args) > 1 else n.kwargs.get("dim", 0)
    if name == "cat":
        d %= len(base)
        size = sum(t.axes[d].size for t in ts)
        sym = cap.size_symbols.get(size) or "+".join(t.axes[d].label for t in ts)
        out = _replace(base, d, cap.new_axis(size, sym if len(sym) <= 12 else None))
    else:
        d %= len(base) + 1
        out = base[:d] + (cap.new_axis(len(ts)),) + base[d:]
    t_out = TensorType(n.name, out)
    pairs = []
    for ti, t in enumerate(ts):
        for i, a in enumerate(t.axes):
            j = i if (name == "cat" or i < d) else i + 1
            pairs.append(((ti, i), (0, j)))
    cap.emit("reshape", name, ts, [t_out], broadcast=tuple(a.id for a in base if a.id in {b.id for b in out}),
             wiring=tuple(pairs))
    cap.set(n, out)


def _split(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    xa = cap.ax(x)
    vals = n.meta["val"]
    name = _name(n.target)
    d = (n.args[2] if len(n.args) > 2 else n.kwargs.get("dim", 0)) if name != "unbind" else (
        n.args[1] if len(n.args) > 1 else 0)
    d %= len(xa)
    outs = []
    for v in vals:
        if name == "unbind":
            outs.append(xa[:d] + xa[d + 1:])
        else:
            outs.append(_replace(xa, d, cap.new_axis(int(v.shape[d]))))
    t_in = cap.tensor(x)
    tos = [TensorType(f"{n.name}.{i}", o) for i, o in enumerate(outs)]
    pairs = tuple(((0, i), (k, i if name != "unbind" or i < d else i - 1)) for k in range(len(outs))
                  for i in range(len(xa)) if not (name == "unbind" and i == d))
    cap.emit("reshape", name, [t_in], tos, broadcast=(), wiring=pairs)
    cap.set(n, outs)


def _getitem(cap: _Capture, n: Any) -> None:
    src, i = n.args
    a = cap.axes.get(src.name)
    if a is None:
        cap.const.add(n.name)
        return
    cap.set(n, a[i])
    # a getitem of a tuple-valued op refers to that op's i-th output tensor
    for op in reversed(cap.ops):
        names = [t.name for t in op.codomain]
        if f"{src.name}.{i}" in names:
            k = names.index(f"{src.name}.{i}")
            t = op.codomain[k]
            op.codomain = op.codomain[:k] + (TensorType(n.name, t.axes),) + op.codomain[k + 1:]
            break


def _letters(k: int) -> str:
    return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[k]


def _einsum_op(cap: _Capture, n: Any, operands: list[Any], eq: str, label: str = "",
               scale: float | None = None) -> None:
    lhs, rhs = eq.replace(" ", "").split("->")
    specs = lhs.split(",")
    ts = [cap.tensor(o) for o in operands]
    letter_axis: dict[str, Axis] = {}
    for t, s in zip(ts, specs):
        for ch, a in zip(s, t.axes):
            if ch not in letter_axis or letter_axis[ch].size == 1:
                letter_axis[ch] = a
    out = tuple(letter_axis[ch] for ch in rhs)
    t_out = TensorType(n.name, out)
    pairs, caps = [], []
    for ch in rhs:
        for ti, s in enumerate(specs):
            for i, c in enumerate(s):
                if c == ch:
                    pairs.append(((ti, i), (0, rhs.index(ch))))
    for ch in set(lhs) - set(rhs) - {","}:
        occ = [(ti, i) for ti, s in enumerate(specs) for i, c in enumerate(s) if c == ch]
        for p, q in zip(occ, occ[1:]):
            caps.append((p, q))
        if len(occ) == 1:
            caps.append((occ[0], occ[0]))
    shared = [ch for ch in rhs if sum(ch in s for s in specs) > 1]
    bc = tuple(letter_axis[ch].id for ch in shared)
    f = (lambda *xs, e=eq, c=scale: torch.einsum(e, *xs) * (1.0 if c is None else c))
    cap.emit("einsum-wiring", label, ts, [t_out], broadcast=bc, einsum=eq, scale=scale, wiring=tuple(pairs),
             caps=tuple(sorted(caps)), call=f)
    cap.set(n, out)


def _einsum(cap: _Capture, n: Any) -> None:
    eq, ops = n.args[0], list(n.args[1])
    if "..." in eq:
        _custom(cap, n, label="einsum")
        return
    if all(cap.is_data(o) for o in ops):
        _einsum_op(cap, n, ops, eq)
        return
    _einsum_with_weights(cap, n, ops, eq.replace(" ", ""))


def _einsum_with_weights(cap: _Capture, n: Any, ops: list[Any], eq: str) -> None:
    """An einsum with constant operands (weights): a linear map drawn as **L**, the string as a note."""
    lhs, rhs = eq.split("->")
    specs = lhs.split(",")
    data = [i for i, o in enumerate(ops) if cap.is_data(o)]
    consts = {i: cap.const_value(o) for i, o in enumerate(ops) if i not in data}
    ts = [cap.tensor(ops[i]) for i in data]
    letter_axis: dict[str, Axis] = {}
    for i, t in zip(data, ts):
        for ch, a in zip(specs[i], t.axes):
            letter_axis.setdefault(ch, a)
    out_shape = cap.shape(n)
    out = tuple(letter_axis[ch] if ch in letter_axis else cap.new_axis(out_shape[k]) for k, ch in enumerate(rhs))
    const_letters = {ch for i in consts for ch in specs[i]}
    bc = tuple(letter_axis[ch].id for ch in rhs if ch in letter_axis and ch not in const_letters)
    learned = any(cap.analyse_weight(ops[i])["learned"] for i in consts)
    notes = tuple(dict.fromkeys(x for i in consts for x in cap.analyse_weight(ops[i])["notes"]))

    def call(*xs: torch.Tensor) -> torch.Tensor:
        it = iter(xs)
        return torch.einsum(eq, *[consts[i] if i in consts else next(it) for i in range(len(ops))])

    cap.emit("learned-linear", "L", ts, [TensorType(n.name, out)], broadcast=bc, learned=learned,
             notes=(f"einsum {eq}",) + notes, call=call, call_mode="narrow",
             superscript=_param_superscript(cap, ops[next(iter(consts))]) if len(consts) == 1 else "")
    cap.set(n, out)


def _matmul(cap: _Capture, n: Any) -> None:
    a, b = n.args[0], n.args[1]
    da, db = cap.is_data(a), cap.is_data(b)
    if da and not db:
        wv = cap.const_value(b)
        if wv.ndim == 2:
            _learned_matrix(cap, n, a, b, None, pos=-1, transposed=False)
            return
    if db and not da:
        wv = cap.const_value(a)
        if wv.ndim == 2 and len(cap.ax(b)) >= 2:
            _learned_matrix(cap, n, b, a, None, pos=-2, transposed=False, left=True)
            return
    if not (da and db):
        _custom(cap, n)
        return
    na, nb = len(cap.ax(a)), len(cap.ax(b))
    k = 0

    def take(m: int) -> str:
        nonlocal k
        s = "".join(_letters(k + i) for i in range(m))
        k += m
        return s

    if na == 1 and nb == 1:
        eq = "a,a->"
    elif nb == 1:
        sa = take(na)
        eq = f"{sa},{sa[-1]}->{sa[:-1]}"
    elif na == 1:
        sb = take(nb)
        eq = f"{sb[-2]},{sb}->{sb[:-2] + sb[-1]}"
    else:
        nbatch = max(na, nb) - 2
        batch = take(nbatch)
        i, j, l2 = take(1), take(1), take(1)
        ba, bb = batch[nbatch - (na - 2):], batch[nbatch - (nb - 2):]
        # size-1 batch dims broadcast: give them their own letters
        eq = f"{ba}{i}{j},{bb}{j}{l2}->{batch}{i}{l2}"
        ax_a, ax_b = cap.ax(a), cap.ax(b)
        out_shape = cap.shape(n)
        if any(x.size == 1 and out_shape[len(out_shape) - 2 - (na - 2) + q] != 1 for q, x in enumerate(ax_a[:na - 2])) or \
           any(x.size == 1 and out_shape[len(out_shape) - 2 - (nb - 2) + q] != 1 for q, x in enumerate(ax_b[:nb - 2])):
            _custom(cap, n, label="matmul")
            return
    _einsum_op(cap, n, [a, b], eq, label="")


def _reduce(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    xa = cap.ax(x)
    name = _name(n.target)
    dims = n.args[1] if len(n.args) > 1 else n.kwargs.get("dim")
    keep = n.args[2] if len(n.args) > 2 else n.kwargs.get("keepdim", False)
    if dims is None:
        dims = list(range(len(xa)))
    if isinstance(dims, int):
        dims = [dims]
    dims = sorted(d % len(xa) for d in dims)
    if name not in ("sum", "mean") or keep or n.kwargs.get("dtype") is not None:
        _custom(cap, n, label=name)
        return
    s = "".join(_letters(i) for i in range(len(xa)))
    eq = f"{s}->{''.join(c for i, c in enumerate(s) if i not in dims)}"
    scale = 1.0 / math.prod(xa[d].size for d in dims) if name == "mean" else None
    _einsum_op(cap, n, [x], eq, label="Σ" if name == "sum" else "mean", scale=scale)


def _softmax(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    xa = cap.ax(x)
    d = n.args[1] % len(xa)
    t = cap.tensor(x)
    out = TensorType(n.name, xa)
    neg = d - len(xa)
    log = _name(n.target) in ("log_softmax", "_log_softmax")
    fn = torch.log_softmax if log else torch.softmax
    cap.emit("softmax", "logSM" if log else "SM", [t], [out], broadcast=tuple(a.id for a in xa if a.id != xa[d].id),
             axis=xa[d].id, call=lambda a, dd=neg, f=fn: f(a, dim=dd))
    cap.set(n, xa)


def _layer_norm(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    xa = cap.ax(x)
    shape = list(n.args[1])
    w = n.args[2] if len(n.args) > 2 else None
    b = n.args[3] if len(n.args) > 3 else None
    eps = n.args[4] if len(n.args) > 4 else 1e-5
    wv, bv = cap.const_value(w), cap.const_value(b)
    t = cap.tensor(x)
    active = {a.id for a in xa[len(xa) - len(shape):]}
    cap.emit("custom", "LN", [t], [TensorType(n.name, xa)], broadcast=tuple(a.id for a in xa if a.id not in active),
             learned=w is not None, bias=b is not None,
             call=lambda a, s=shape, ww=wv, bb=bv, e=eps: F.layer_norm(a, s, ww, bb, e))
    cap.set(n, xa)


def _narrow_call(cap: _Capture, n: Any, data_pos: int = 0) -> Callable[..., Any]:
    args = list(n.args)
    kw = dict(n.kwargs)
    consts = {i: cap.const_value(a) for i, a in enumerate(args) if i != data_pos}

    def call(x: torch.Tensor) -> torch.Tensor:
        full = [x if i == data_pos else consts[i] for i in range(len(args))]
        out = n.target(*full, **kw)
        return out[0] if isinstance(out, (tuple, list)) else out
    return call


def _spatial(cap: _Capture, xa: tuple[Axis, ...], out_shape: tuple[int, ...], c_new: Axis | None) -> tuple[Axis, ...]:
    out = [xa[0], c_new if c_new is not None else xa[1]]
    for a, s in zip(xa[2:], out_shape[2:]):
        out.append(a if a.size == s else cap.new_axis(s, (a.symbol + "′") if a.symbol else None, a.barred))
    return tuple(out)


def _conv(cap: _Capture, n: Any) -> None:
    x, w = n.args[0], n.args[1]
    b = n.args[2] if len(n.args) > 2 else None
    xa = cap.ax(x)
    wv = cap.const_value(w)
    if len(xa) != wv.ndim:   # unbatched conv: draw as a box
        _custom(cap, n, label="Conv")
        return
    out = _spatial(cap, xa, cap.shape(n), cap.new_axis(wv.shape[0]))
    ks = "×".join(str(k) for k in wv.shape[2:])
    t = cap.tensor(x)
    stride = n.args[3] if len(n.args) > 3 else 1
    st = "" if stride in (1, [1, 1], [1], (1, 1)) else f" /{stride[0] if isinstance(stride, (list, tuple)) else stride}"
    cap.emit("custom", f"Conv {ks}{st}", [t], [TensorType(n.name, out)], broadcast=(xa[0].id,),
             learned=cap.analyse_weight(w)["learned"], bias=b is not None, call=_narrow_call(cap, n),
             call_mode="narrow")
    cap.set(n, out)


def _pool(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    xa = cap.ax(x)
    name = _name(n.target)
    vals = n.meta["val"]
    shape = tuple(int(s) for s in (vals[0] if isinstance(vals, (tuple, list)) else vals).shape)
    if len(xa) < 3:
        _custom(cap, n, label=name)
        return
    out = _spatial(cap, xa, shape, None)
    k = n.args[1] if len(n.args) > 1 else ""
    ks = "×".join(str(v) for v in k) if isinstance(k, (list, tuple)) else str(k)
    label = {"max_pool2d": f"MaxPool {ks}", "max_pool2d_with_indices": f"MaxPool {ks}", "avg_pool2d": f"AvgPool {ks}",
             "adaptive_avg_pool2d": f"AvgPool→{ks}", "adaptive_max_pool2d": f"MaxPool→{ks}",
             "max_pool1d": f"MaxPool {ks}", "avg_pool1d": f"AvgPool {ks}",
             "adaptive_avg_pool1d": f"AvgPool→{ks}"}.get(name, name)
    t = cap.tensor(x)
    to = TensorType(n.name, out)
    cap.emit("custom", label, [t], [to], broadcast=(xa[0].id, xa[1].id), call=_narrow_call(cap, n),
             call_mode="narrow")
    cap.set(n, [out, out] if isinstance(vals, (tuple, list)) else out)
    if isinstance(vals, (tuple, list)):
        cap.ops[-1].codomain = (TensorType(f"{n.name}.0", out),)


def _batch_norm(cap: _Capture, n: Any) -> None:
    x = n.args[0]
    xa = cap.ax(x)
    w = n.args[1]
    vals = n.meta["val"]
    t = cap.tensor(x)
    multi = isinstance(vals, (tuple, list))
    cap.emit("custom", "BN", [t], [TensorType(f"{n.name}.0" if multi else n.name, xa)],
             broadcast=tuple(a.id for i, a in enumerate(xa) if i != 1), learned=w is not None,
             bias=True, call=_narrow_call(cap, n), call_mode="narrow")
    cap.set(n, [xa] + [(xa[1],)] * (len(vals) - 1) if multi else xa)


def _embedding(cap: _Capture, n: Any) -> None:
    w, idx = n.args[0], n.args[1]
    ia = cap.ax(idx)
    wv = cap.const_value(w)
    out = ia + (cap.new_axis(wv.shape[1]),)
    t = cap.tensor(idx)
    cap.emit("learned-linear", "E", [t], [TensorType(n.name, out)], broadcast=tuple(a.id for a in ia),
             learned=cap.analyse_weight(w)["learned"], call=lambda i, m=wv: F.embedding(i, m))
    cap.set(n, out)


def _sdpa(cap: _Capture, n: Any) -> None:
    """``scaled_dot_product_attention`` drawn as its wiring: q·k, scale, softmax, ·v."""
    q, k, v = n.args[:3]
    mask = n.args[3] if len(n.args) > 3 else n.kwargs.get("attn_mask")
    causal = (n.args[5] if len(n.args) > 5 else n.kwargs.get("is_causal", False))
    scale = n.kwargs.get("scale", n.args[6] if len(n.args) > 6 else None)
    if mask is not None or not all(cap.is_data(t) for t in (q, k, v)):
        _custom(cap, n, label="attention")
        return
    qa, ka, va = cap.ax(q), cap.ax(k), cap.ax(v)
    nb = len(qa) - 2
    batch = "".join(_letters(i) for i in range(nb))
    y, x, kk, d = "w", "x", "y", "z"
    tq, tk, tv = cap.tensor(q), cap.tensor(k), cap.tensor(v)
    key_pos = ka[-2] if ka[-2].id != qa[-2].id else cap.new_axis(
        ka[-2].size, (ka[-2].symbol + "′") if ka[-2].symbol else None, ka[-2].barred)
    s_axes = qa[:nb] + (qa[-2], key_pos)
    scores = cap.virtual(s_axes, "scores")
    eq1 = f"{batch}{y}{kk},{batch}{x}{kk}->{batch}{y}{x}"
    c = float(scale) if scale is not None else 1.0 / math.sqrt(qa[-1].size)
    pairs1 = [((0, i), (0, i)) for i in range(nb)] + [((1, i), (0, i)) for i in range(nb)] + [
        ((0, nb), (0, nb)), ((1, nb), (0, nb + 1))]
    cap.emit("einsum-wiring", "", [tq, tk], [scores], broadcast=tuple(a.id for a in qa[:nb]), einsum=eq1,
             wiring=tuple(pairs1), caps=(((0, nb + 1), (1, nb + 1)),),
             call=lambda a, b, e=eq1: torch.einsum(e, a, b), target="virtual")
    scaled = cap.virtual(s_axes, "scaled")
    lab = f"∗1/√{qa[-1].label}" if scale is None else f"∗{_fmt(c)}"
    cap.emit("scale", lab, [scores], [scaled], broadcast=tuple(a.id for a in s_axes), scale=c,
             call=lambda a, cc=c: a * cc, target="virtual")
    src = scaled
    if causal:
        masked = cap.virtual(s_axes, "masked")
        cap.emit("elementwise", "causal", [scaled], [masked], broadcast=tuple(a.id for a in s_axes[:nb]),
                 call=lambda a: a.masked_fill(torch.ones(a.shape[-2:], dtype=torch.bool).triu(1), float("-inf")),
                 call_mode="vmap", target="virtual", notes=("causal mask (future keys −∞)",))
        src = masked
    probs = cap.virtual(s_axes, "probs")
    cap.emit("softmax", "SM", [src], [probs], broadcast=tuple(a.id for a in s_axes[:-1]), axis=key_pos.id,
             call=lambda a: torch.softmax(a, dim=-1), target="virtual")
    out = qa[:nb] + (qa[-2], va[-1])
    eq2 = f"{batch}{y}{x},{batch}{x}{d}->{batch}{y}{d}"
    pairs2 = [((0, i), (0, i)) for i in range(nb)] + [((1, i), (0, i)) for i in range(nb)] + [
        ((0, nb), (0, nb)), ((1, nb + 1), (0, nb + 1))]
    cap.emit("einsum-wiring", "", [probs, tv], [TensorType(n.name, out)], broadcast=tuple(a.id for a in qa[:nb]),
             einsum=eq2, wiring=tuple(pairs2), caps=(((0, nb + 1), (1, nb)),),
             call=lambda a, b, e=eq2: torch.einsum(e, a, b))
    cap.set(n, out)


def _gru_cell(cap: _Capture, n: Any) -> None:
    """``gru_cell`` drawn as one step: two learned linears into the gate nonlinearity."""
    x, h, w_ih, w_hh = n.args[:4]
    b_ih = n.args[4] if len(n.args) > 4 else None
    b_hh = n.args[5] if len(n.args) > 5 else None
    xa, ha = cap.ax(x), cap.ax(h)
    wi, wh, bi, bh = (cap.const_value(t) for t in (w_ih, w_hh, b_ih, b_hh))
    tx, th = cap.tensor(x), cap.tensor(h)
    gi = cap.virtual(xa[:-1] + (cap.new_axis(wi.shape[0], f"3·{ha[-1].label}"),), "gi")
    gh = cap.virtual(ha[:-1] + (cap.new_axis(wh.shape[0], f"3·{ha[-1].label}"),), "gh")
    cap.emit("learned-linear", "L", [tx], [gi], broadcast=tuple(a.id for a in xa[:-1]), learned=True,
             bias=bi is not None, superscript="ih", call=lambda a: F.linear(a, wi, bi), target="virtual")
    cap.emit("learned-linear", "L", [th], [gh], broadcast=tuple(a.id for a in ha[:-1]), learned=True,
             bias=bh is not None, superscript="hh", call=lambda a: F.linear(a, wh, bh), target="virtual")

    def gates(a: torch.Tensor, b: torch.Tensor, hh: torch.Tensor) -> torch.Tensor:
        ir, iz, inn = a.chunk(3, -1)
        hr, hz, hn = b.chunk(3, -1)
        r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
        nn_ = torch.tanh(inn + r * hn)
        return (1 - z) * nn_ + z * hh

    out = ha
    cap.emit("elementwise", "GRU gates", [gi, gh, th], [TensorType(n.name, out)],
             broadcast=tuple(a.id for a in ha[:-1]), call=gates,
             notes=("r,z = σ(·); n = tanh(i_n + r⊙h_n); h′ = (1−z)⊙n + z⊙h",))
    cap.set(n, out)


def _rnn(cap: _Capture, n: Any) -> None:
    """A whole-sequence ``GRU`` / ``LSTM`` / ``RNN``: one recurrent block, scanned over t̄."""
    x = n.args[0]
    name = _name(n.target)
    xa = cap.ax(x)
    vals = n.meta["val"]
    batch_first = bool(n.args[-1]) if isinstance(n.args[-1], bool) else False
    out0 = tuple(int(s) for s in vals[0].shape)
    h_new = cap.new_axis(out0[-1])
    out = xa[:-1] + (h_new,)
    outs = [out]
    for v in vals[1:]:
        shp = tuple(int(s) for s in v.shape)
        bpos = 0 if batch_first else 1
        outs.append((cap.new_axis(shp[0]), xa[bpos], h_new) if len(shp) == 3 else tuple(
            cap.new_axis(s) for s in shp))
    t = cap.tensor(x)
    tos = [TensorType(f"{n.name}.{i}", o) for i, o in enumerate(outs)]
    tdim = xa[1] if batch_first else xa[0]
    cap.emit("recurrent", name.split(".")[0].upper().replace("_TANH", "").replace("RNN_RELU", "RNN"), [t], tos,
             learned=True, bias=True, notes=(f"scan over {tdim.label}",), axis=tdim.id)
    cap.set(n, outs)


def _custom(cap: _Capture, n: Any, label: str | None = None, warn: bool = False) -> None:
    data = [a for a in _flat(n.args) if cap.is_data(a)]
    ts = [cap.tensor(a) for a in data]
    vals = n.meta.get("val")
    multi = isinstance(vals, (tuple, list))
    shapes = [tuple(int(s) for s in v.shape) for v in (vals if multi else [vals]) if hasattr(v, "shape")]
    outs = []
    for shp in shapes:
        like = ts[0].axes if ts else ()
        if len(like) == len(shp):
            outs.append(tuple(a if a.size == s else cap.new_axis(s) for a, s in zip(like, shp)))
        else:
            outs.append(tuple(cap.new_axis(s) for s in shp))
    name = label or _name(n.target)
    if warn:
        msg = f"no glyph for {n.target} (node {n.name}); drawn as a labelled box"
        warnings.warn(msg, DiagramWarning, stacklevel=4)
        cap.warnings.append(msg)
    tos = [TensorType(f"{n.name}.{i}" if multi else n.name, o) for i, o in enumerate(outs)]
    learned = any(isinstance(a, torch.fx.Node) and a.name in cap.param_names for a in _flat(n.args))
    cap.emit("custom", name, ts, tos, learned=learned)
    cap.set(n, list(outs) if multi else (outs[0] if outs else ()))


def _flat(args: Any) -> list[Any]:
    out = []
    for a in args:
        if isinstance(a, (list, tuple)):
            out += _flat(a)
        else:
            out.append(a)
    return out


HANDLERS: dict[str, Callable[[_Capture, Any], None]] = {
    "linear": _linear, "softmax": _softmax, "_softmax": _softmax, "log_softmax": _softmax,
    "_log_softmax": _softmax, "view": _reshape, "reshape": _reshape, "_unsafe_view": _reshape,
    "flatten": _reshape, "unflatten": _reshape, "permute": _permute, "transpose": _permute, "t": _permute,
    "movedim": _permute, "swapaxes": _permute, "unsqueeze": _squeeze, "squeeze": _squeeze, "expand": _expand,
    "select": _select, "slice": _select, "flip": _flip, "cat": _cat, "concat": _cat, "stack": _cat, "split": _split,
    "split_with_sizes": _split, "chunk": _split, "unbind": _split, "getitem": _getitem, "einsum": _einsum,
    "matmul": _matmul, "bmm": _matmul, "mm": _matmul, "sum": _reduce, "mean": _reduce, "amax": _reduce,
    "layer_norm": _layer_norm, "conv2d": _conv, "conv1d": _conv, "convolution": _conv,
    "max_pool2d": _pool, "avg_pool2d": _pool, "adaptive_avg_pool2d": _pool, "max_pool2d_with_indices": _pool,
    "adaptive_max_pool2d": _pool, "max_pool1d": _pool, "avg_pool1d": _pool, "adaptive_avg_pool1d": _pool,
    "_native_batch_norm_legit_no_training": _batch_norm, "batch_norm": _batch_norm,
    "_native_batch_norm_legit": _batch_norm, "embedding": _embedding,
    "scaled_dot_product_attention": _sdpa, "gru_cell": _gru_cell, "gru": _rnn, "lstm": _rnn,
    "rnn_tanh": _rnn, "rnn_relu": _rnn,
}
for _k in ELEMENTWISE:
    HANDLERS.setdefault(_k, _elementwise)
for _k in BINARY:
    HANDLERS[_k] = _binary


def _export(module: torch.nn.Module, inputs: tuple[Any, ...]) -> Any:
    try:
        with warnings.catch_warnings():   # torch's note about nn.RNN's flat weights, not the user's concern
            warnings.filterwarnings("ignore", message=".*were assigned during export.*")
            return torch.export.export(module, inputs, strict=False)
    except Exception as err:  # noqa: BLE001 - re-raised with the op and the line
        raise UntraceableError(_explain(module, err)) from err


def _explain(module: torch.nn.Module, err: BaseException) -> str:
    import traceback

    frames = traceback.extract_tb(err.__traceback__)
    user = [f for f in frames if "site-packages" not in f.filename and "/torch/" not in f.filename
            and not f.filename.endswith("diagrams/capture.py")]
    where = f" at {user[-1].filename.split('/')[-1]}:{user[-1].lineno} `{(user[-1].line or '').strip()}`" if user else ""
    text = str(err).strip().splitlines()
    first = next((ln for ln in text if ln.strip()), type(err).__name__)
    line = (user[-1].line or "").strip() if user else ""
    msg = str(err)
    op = None
    m = re.search(r"\.(item|tolist|numpy|cpu\(\)\.numpy|data_ptr)\(\)", line)
    if m:
        op = f"Tensor.{m.group(1)}()"
    elif "data-dependent" in msg.lower() or "guard" in msg.lower():
        if re.match(r"(if|elif|while|assert)\b", line) or " if " in line:
            op = "Tensor.__bool__ (Python control flow on a tensor value)"
        else:
            op = "a data-dependent value (Tensor.item() / int(tensor) / a value-dependent shape)"
    else:
        m = re.search(r"(aten\.[\w.]+|torch\.(?!export)[\w.]+|Tensor\.\w+)", msg)
        if m:
            op = m.group(1).rstrip(".")
    if op is None and line:
        m2 = re.search(r"\.(\w+)\(", line)
        op = m2.group(1) if m2 else None
    return (f"torch.export cannot trace {type(module).__name__}: op {op or type(err).__name__}{where}: "
            f"{first[:300]}")


def capture(module: torch.nn.Module, inputs: tuple[Any, ...], axes: Any = None, index: Sequence[str] = (),
            sizes: Mapping[str, int] | None = None) -> tuple[Any, _Capture, list[TensorType], list[TensorType]]:
    """Trace ``module`` on ``inputs`` and build ops and tensors (see :func:`neurocircuits.diagrams.diagram`)."""
    from torch.export.graph_signature import InputKind

    if not isinstance(module, torch.nn.Module):
        raise ValidationError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not inputs or not all(isinstance(x, torch.Tensor) for x in inputs):
        raise ValidationError("example_inputs must be one or more tensors (the shapes the diagram shows)")
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        ep = _export(module, tuple(inputs))
    finally:
        for m, t in modes.items():
            m.train(t)
    index_set = set(index.split() if isinstance(index, str) else index)
    if axes is None or isinstance(axes, (str, Mapping)):
        axes_list = [axes] + [None] * (len(inputs) - 1)
    else:
        axes_list = list(axes)
        if len(axes_list) != len(inputs):
            raise ValidationError(f"axes has {len(axes_list)} entries but there are {len(inputs)} inputs")
    named = [_parse_axes(s, x.ndim, index_set, i) for i, (s, x) in enumerate(zip(axes_list, inputs))]
    size_symbols: dict[int, str] = {}
    counts: dict[int, set[str]] = {}
    for nm, x in zip(named, inputs):
        for (sym, barred), s in zip(nm, x.shape):
            if sym is not None and not barred:
                counts.setdefault(int(s), set()).add(sym)
    for sym, s in (sizes or {}).items():
        counts.setdefault(int(s), set()).add(sym)
    size_symbols = {s: next(iter(v)) for s, v in counts.items() if len(v) == 1}
    values: dict[str, torch.Tensor] = {}
    params: set[str] = set()
    user: list[Any] = []
    sd, consts = ep.state_dict, ep.constants
    targets: dict[str, str] = {}
    for spec in ep.graph_signature.input_specs:
        name = spec.arg.name
        if spec.target:
            targets[name] = spec.target
        if spec.kind == InputKind.USER_INPUT:
            user.append(name)
        elif spec.kind == InputKind.PARAMETER:
            values[name] = sd[spec.target]
            params.add(name)
        elif spec.kind == InputKind.BUFFER:
            values[name] = sd[spec.target] if spec.target in sd else consts[spec.target]
        elif spec.kind in (InputKind.CONSTANT_TENSOR, InputKind.CUSTOM_OBJ, InputKind.TOKEN):
            if spec.target and spec.target in consts:
                values[name] = consts[spec.target]
    cap = _Capture(ep, size_symbols, values, params, targets=targets, index_set=index_set)
    ins: list[TensorType] = []
    nodes = {n.name: n for n in ep.graph.nodes}
    by_symbol: dict[tuple[str, int], Axis] = {}
    for i, (nm, x) in enumerate(zip(named, inputs)):
        node = nodes[user[i]]
        ax_l = []
        for (sym, barred), s in zip(nm, x.shape):
            if sym is not None and (sym, int(s)) in by_symbol:   # one symbol, one axis, across inputs
                ax_l.append(by_symbol[(sym, int(s))])
                continue
            a = cap.new_axis(int(s), sym, barred) if sym is not None else cap.new_axis(int(s), None, False)
            if sym is not None:
                by_symbol[(sym, int(s))] = a
            ax_l.append(a)
        ax = tuple(ax_l)
        cap.axes[node.name] = ax
        ins.append(TensorType(node.name, ax))
    for node in ep.graph.nodes:
        cap.node = node
        if node.op == "placeholder":
            if node.name not in cap.axes:
                cap.const.add(node.name)
            continue
        if node.op == "output":
            continue
        inputs_data = [a for a in node.all_input_nodes if a.name not in cap.const]
        name = _name(node.target)
        if not inputs_data or name in CREATION:
            cap.const.add(node.name)
            continue
        if name in DTYPE_OPS and cap.is_data(node.args[0]):
            src_val, out_val = node.args[0].meta.get("val"), node.meta.get("val")
            if getattr(src_val, "dtype", None) == getattr(out_val, "dtype", None):
                name = "contiguous"    # a no-op conversion: an alias
            else:
                cap.node = node
                t_src = cap.tensor(node.args[0])
                label = str(getattr(out_val, "dtype", "")).replace("torch.", "")
                cap.emit("elementwise", label, [t_src], [TensorType(node.name, t_src.axes)],
                         broadcast=tuple(a.id for a in t_src.axes))
                cap.set(node, t_src.axes)
                continue
        if name in ALIASES and cap.is_data(node.args[0]):
            src = node.args[0]
            cap.alias[node.name] = cap.alias.get(src.name, src.name)
            cap.axes[node.name] = cap.ax(src)
            continue
        if name.startswith("_assert") or name in ("sym_size", "sym_numel"):
            continue
        handler = HANDLERS.get(name)
        try:
            if handler is None:
                _custom(cap, node, warn=True)
            else:
                handler(cap, node)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError, AssertionError) as err:
            if isinstance(err, ValidationError) and "cannot reshape" not in str(err):
                raise
            msg = f"could not propagate axes through {node.target} (node {node.name}): {err}; drawn as a box"
            warnings.warn(msg, DiagramWarning, stacklevel=3)
            cap.warnings.append(msg)
            _custom(cap, node)
    out_node = next(n for n in ep.graph.nodes if n.op == "output")
    outs = []
    for a in _flat(out_node.args):
        if isinstance(a, torch.fx.Node) and a.name in cap.axes and not isinstance(cap.axes[a.name], list):
            outs.append(cap.tensor(a))
    return ep, cap, ins, outs
