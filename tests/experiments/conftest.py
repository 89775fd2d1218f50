"""Fixtures of the experiment tests: the test-only experiment, and one local Ray cluster per session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).parent)
if HERE not in sys.path:  # spawned workers inherit sys.path; Ray workers get PYTHONPATH below
    sys.path.insert(0, HERE)


@pytest.fixture
def selftest(monkeypatch):
    """Register the test-only experiment ``exec-selftest`` (module ``exec_units``)."""
    from neurocircuits.experiments import registry

    monkeypatch.setitem(registry.EXPERIMENTS, "exec-selftest", "exec_units")
    return "exec-selftest"


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray instance (2 CPUs, no dashboard, usage statistics off), started once per session."""
    if os.environ.get("CI", "").lower() == "true":  # CI installs the extra: a missing Ray is a failure there
        import ray
    else:
        ray = pytest.importorskip("ray", reason="needs the 'distributed' extra (pip install 'neurocircuits[distributed]')")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    src = str(Path(__file__).resolve().parents[2] / "src")
    os.environ["PYTHONPATH"] = os.pathsep.join([HERE, src, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
