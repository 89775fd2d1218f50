"""Data sets and loaders (MNIST; C. elegans whole-brain recordings)."""

from neurocircuits.data.mnist import MNISTSplits, mnist
from neurocircuits.data.paths import shared_data_dir

__all__ = ["MNISTSplits", "mnist", "shared_data_dir"]
