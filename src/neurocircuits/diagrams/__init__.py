"""Neural circuit diagrams (Abbott's notation) drawn automatically from PyTorch modules and circuits.

``diagram(module, *inputs)`` traces with :func:`torch.export`, propagates axis identity
through every op and returns a :class:`Diagram` (``.svg()``, ``.save(path)``);
``draw_circuit(circuit)`` (also ``Circuit.draw()``) returns the wiring view of a circuit.
The faithfulness checks of :mod:`neurocircuits.diagrams.checks` compare a diagram with the
module it documents.

Example:
    >>> import torch
    >>> from torch import nn
    >>> d = diagram(nn.Linear(4, 3), torch.randn(2, 4), axes="b m", index="b")
    >>> d.ops[0].label, d.ops[0].bias, [a.label for a in d.outputs[0].axes]
    ('L', True, ['b̄', '3'])
"""

from neurocircuits.diagrams.capture import DiagramWarning, UntraceableError
from neurocircuits.diagrams.diagram import Diagram, diagram
from neurocircuits.diagrams.ir import OP_KINDS, Axis, DataType, Op, TensorType

__all__ = ["OP_KINDS", "Axis", "DataType", "Diagram", "DiagramWarning", "Op", "TensorType", "UntraceableError",
           "diagram", "draw_circuit"]


def draw_circuit(circuit, **kw):  # noqa: ANN001, ANN201 - thin lazy wrapper
    """The wiring view of a :class:`~neurocircuits.circuit.Circuit` (see :mod:`.circuit_view`)."""
    from neurocircuits.diagrams.circuit_view import draw_circuit as _draw

    return _draw(circuit, **kw)
