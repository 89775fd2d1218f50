"""Simulators: geometric competitive refractory dynamics (reference and fast engines)."""
