"""Torch modules: sequence baselines, graph networks, circuit controllers."""
