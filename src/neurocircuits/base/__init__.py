"""The bottom layer: what every other subpackage shares.

Cell-name normalisation (:mod:`~neurocircuits.base.names`), seeding and random generators
(:mod:`~neurocircuits.base.seed`) and HDF5 opening with clear errors
(:mod:`~neurocircuits.base.hdf5`). Nothing here imports another neurocircuits subpackage
except :mod:`neurocircuits.errors`.
"""

from neurocircuits.base.hdf5 import open_hdf5
from neurocircuits.base.names import normalise_name
from neurocircuits.base.seed import numpy_rng, seeded, torch_generator

__all__ = ["normalise_name", "numpy_rng", "open_hdf5", "seeded", "torch_generator"]
