"""The one training loop, the stacked (many models at once) trainer, metrics, checkpoint/resume and seeding."""

from neurocircuits.base.seed import seeded, torch_generator, numpy_rng
from neurocircuits.train.loop import EpochRecord, TrainConfig, fit, make_optimizer, evaluate
from neurocircuits.train.stacked import StackedHistory, fit_stacked, sequence_cross_entropy
from neurocircuits.train import metrics

__all__ = ["EpochRecord", "StackedHistory", "TrainConfig", "evaluate", "fit", "fit_stacked", "make_optimizer",
           "metrics", "numpy_rng", "seeded", "sequence_cross_entropy", "torch_generator"]
