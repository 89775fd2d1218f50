"""Shared pytest configuration."""

import os

# keep test runs predictable on small CI machines
os.environ.setdefault("OMP_NUM_THREADS", "2")
