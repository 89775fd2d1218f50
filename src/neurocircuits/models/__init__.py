"""Torch modules: sequence baselines, graph networks, circuit controllers."""

from neurocircuits.models.ncap import MLPActor, NCAPController

__all__ = ["MLPActor", "NCAPController"]
