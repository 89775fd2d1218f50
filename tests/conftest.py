"""Shared pytest configuration.

Tests that read the shared data folder (the C. elegans recordings, which are not shipped
with neurocircuits) are skipped, with a reason that says where the data come from, when
the folder is missing, except in CI (``CI=true``), where a missing folder is a failure.
"""

from __future__ import annotations

import os

import pytest

# keep test runs predictable on small CI machines
os.environ.setdefault("OMP_NUM_THREADS", "2")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None or _in_ci():
        return
    try:
        from neurocircuits.data.paths import SharedDataNotFoundError
    except ImportError:  # a broken install: report the test's own error
        return
    if call.excinfo.errisinstance(SharedDataNotFoundError):
        path, line, _ = item.location
        report.outcome = "skipped"
        report.longrepr = (str(path), (line or 0) + 1, f"Skipped: {call.excinfo.value}")


@pytest.fixture
def shared_data():  # type: ignore[no-untyped-def]
    """The shared data folder; its absence skips the test (fails it in CI)."""
    from neurocircuits.data.paths import shared_data_dir

    return shared_data_dir()
