"""Canonical C. elegans cell names.

Sources disagree on zero padding: Kato et al. write ``VB01``, most connectomes ``VB1``.
The canonical form is unpadded for neurons (``VB1``, ``DA9``, ``AS11``) and padded to two
digits for body-wall muscles (``MDL01``), which is how ``cect`` names them.
"""

from __future__ import annotations

import re

_NUMBERED = re.compile(r"^([A-Z]{2,3})0*([1-9][0-9]*)$")
_MUSCLE = re.compile(r"^(MDL|MDR|MVL|MVR)0*([1-9][0-9]*)$")


def normalise_name(name: str) -> str:
    """Canonical form of a cell name.

    Example:
        >>> normalise_name("VB01"), normalise_name("DA9"), normalise_name("MDL1"), normalise_name(" AVAL ")
        ('VB1', 'DA9', 'MDL01', 'AVAL')
    """
    s = str(name).strip()
    if m := _MUSCLE.match(s):
        return f"{m.group(1)}{int(m.group(2)):02d}"
    if m := _NUMBERED.match(s):
        return f"{m.group(1)}{int(m.group(2))}"
    return s
