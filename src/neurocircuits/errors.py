"""Exceptions raised by neurocircuits.

Every error subclasses both :class:`NeurocircuitsError` and the matching built-in
exception, so ``except ValueError`` and ``except NeurocircuitsError`` both work.
"""

from __future__ import annotations

from collections.abc import Iterable


class NeurocircuitsError(Exception):
    """Base class of every error raised on purpose by neurocircuits."""


class ValidationError(NeurocircuitsError, ValueError):
    """Input with the wrong shape, sign, length or values (NaN, negative sizes, ...)."""


class UnknownNameError(NeurocircuitsError, KeyError):
    """A neuron, dataset, experiment or option name that does not exist."""

    def __init__(self, kind: str, name: object, known: Iterable[object] = (), hint: str = ""):
        known = sorted(map(str, known))
        close = _close_matches(str(name), known)
        msg = f"unknown {kind} {name!r}"
        if close:
            msg += f"; did you mean {', '.join(map(repr, close))}?"
        elif known and len(known) <= 30:
            msg += f"; known: {', '.join(known)}"
        elif known:
            msg += f" ({len(known)} known, e.g. {', '.join(known[:8])}, ...)"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)
        self.kind, self.name = kind, name

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0])


class DataNotFoundError(NeurocircuitsError, FileNotFoundError):
    """A data set or file that is not available locally (and could not be fetched)."""


class CorruptDataError(NeurocircuitsError, ValueError):
    """A file that exists but does not hold what its format promises."""


class DivergedError(NeurocircuitsError, FloatingPointError):
    """Training produced a non-finite loss (NaN or infinity): lower the learning rate or check the data.

    A subclass of :class:`FloatingPointError` (an :class:`ArithmeticError`), so code that
    catches either keeps working.
    """


class MissingDependencyError(NeurocircuitsError, ImportError):
    """An optional dependency that a feature needs is not installed."""

    def __init__(self, package: str, feature: str, install: str | None = None):
        install = install or f"pip install {package}"
        super().__init__(f"{feature} needs the optional package {package!r}: {install}")


def _close_matches(name: str, known: list[str]) -> list[str]:
    import difflib

    upper = {k.upper(): k for k in known}
    if name.upper() in upper and upper[name.upper()] != name:
        return [upper[name.upper()]]
    return difflib.get_close_matches(name, known, n=3, cutoff=0.75)


def check_finite(name: str, values: object) -> None:
    """Raise :class:`ValidationError` if an array or tensor holds NaN or infinity."""
    import numpy as np

    try:
        import torch

        if isinstance(values, torch.Tensor):
            if values.is_floating_point() and not bool(torch.isfinite(values).all()):
                bad = int((~torch.isfinite(values)).sum())
                raise ValidationError(f"{name} holds {bad} NaN or infinite value(s)")
            return
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    arr = np.asarray(values)
    if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ValidationError(f"{name} holds {bad} NaN or infinite value(s)")
