"""Torch modules: sequence baselines, graph networks, circuit controllers, rate RNNs."""

from neurocircuits.models.constraints import ConstrainedWeight
from neurocircuits.models.ncap import MLPActor, NCAPController
from neurocircuits.models.rnn import RateRNN, StackedRateRNN, rate_rnn_forward

__all__ = ["ConstrainedWeight", "MLPActor", "NCAPController", "RateRNN", "StackedRateRNN", "rate_rnn_forward"]
