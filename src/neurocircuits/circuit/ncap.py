"""The C. elegans locomotion circuit of NCAP (Bhattasali, Zador & Engel 2022) as a :class:`Circuit`.

One segment per joint of the swimmer (head = joint 1). Neurons:

- ``osc_d`` / ``osc_v``: the head oscillator (dorsal and ventral phase), class ``"oscillator"``;
- ``P{i}d`` / ``P{i}v`` for joints 1..N-1: proprioceptive (stretch) signals of joint i,
  class ``"proprioceptor"``;
- ``B{i}d`` / ``B{i}v``: the dorsal and ventral B-type motor neurons of joint i, class
  ``"B-neuron"`` (DB / VB);
- ``M{i}d`` / ``M{i}v``: the antagonistic muscles of joint i, class ``"muscle"``.

Edges (chemical, signed, one per connection; ``meta["connection"]`` names each edge's
weight type): ``osc -> B1`` (``w_o``, +1), ``P{i-1} -> B{i}`` on the same side (``w_p``, +1),
``B{i} -> M{i}`` on the same side (``w_i``, +1), and ``B{i} -> M{i}`` on the opposite side
(``w_c``, -1; it stands in for the D-type inhibitory pathway).
"""

from __future__ import annotations

from neurocircuits.circuit.core import Circuit
from neurocircuits.errors import ValidationError

#: connection type -> sign of its weight
NCAP_SIGNS: dict[str, int] = {"w_o": +1, "w_p": +1, "w_i": +1, "w_c": -1, "w_s": -1, "w_t": +1}


def ncap_circuit(n_joints: int = 5) -> Circuit:
    """The NCAP swimmer circuit for a body with ``n_joints`` joints (2..13).

    Example:
        >>> c = ncap_circuit(5)
        >>> c.n_neurons, c.n_edges
        (30, 30)
        >>> sorted(set(c.meta["connection"].values()))
        ['w_c', 'w_i', 'w_o', 'w_p']
    """
    if isinstance(n_joints, bool) or not isinstance(n_joints, int) or not 2 <= n_joints <= 13:
        raise ValidationError(f"n_joints must be an integer in 2..13, got {n_joints!r}")
    names: list[str] = ["osc_d", "osc_v"]
    classes = ["oscillator", "oscillator"]
    for i in range(1, n_joints):
        names += [f"P{i}d", f"P{i}v"]
        classes += ["proprioceptor"] * 2
    for i in range(1, n_joints + 1):
        names += [f"B{i}d", f"B{i}v", f"M{i}d", f"M{i}v"]
        classes += ["B-neuron", "B-neuron", "muscle", "muscle"]
    idx = {n: k for k, n in enumerate(names)}
    edges: list[tuple[str, str, str]] = []
    for s in "dv":
        edges.append((f"osc_{s}", f"B1{s}", "w_o"))
        for i in range(2, n_joints + 1):
            edges.append((f"P{i - 1}{s}", f"B{i}{s}", "w_p"))
        o = "v" if s == "d" else "d"
        for i in range(1, n_joints + 1):
            edges.append((f"B{i}{s}", f"M{i}{s}", "w_i"))
            edges.append((f"B{i}{s}", f"M{i}{o}", "w_c"))
    # oscillator and proprioceptors only excite; B-neurons excite one muscle and inhibit the other (mixed)
    sign = [1 if c in ("oscillator", "proprioceptor") else 0 for c in classes]
    return Circuit(
        names, [idx[a] for a, _, _ in edges], [idx[b] for _, b, _ in edges],
        [float(NCAP_SIGNS[t]) for _, _, t in edges], cell_class=classes, sign=sign,
        meta={"source": "ncap", "n_joints": n_joints,
              "connection": {f"{a}->{b}": t for a, b, t in edges},
              "reference": "Bhattasali, Zador & Engel, NeurIPS 2022 (arXiv 2201.05242)"},
    )
