"""The one training loop, metrics, checkpoint/resume and seeding."""

from neurocircuits.base.seed import seeded, torch_generator, numpy_rng
from neurocircuits.train.loop import EpochRecord, TrainConfig, fit, make_optimizer, evaluate
from neurocircuits.train import metrics

__all__ = ["EpochRecord", "TrainConfig", "evaluate", "fit", "make_optimizer", "metrics",
           "numpy_rng", "seeded", "torch_generator"]
