"""A small test-only experiment and unit functions for the executor tests.

Imported as a top-level module (``tests/experiments`` is put on ``sys.path`` by the conftest),
so that spawned worker processes and Ray workers can import the unit functions by name.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from neurocircuits.experiments.context import RunContext, Unit
from neurocircuits.experiments.registry import Experiment, ExperimentConfig
from neurocircuits.report.table import ResultTable


def slow_square(i: int, sleep: float, log: str, fail: int) -> int:
    """Square ``i`` after ``sleep`` seconds; append ``i`` to ``log`` when starting."""
    if log:
        with open(log, "a") as f:
            f.write(f"{i}\n")
    time.sleep(sleep)
    if i == fail:
        raise ValueError(f"unit {i} is bad")
    return i * i


def diverging_fit(seed: int) -> float:
    """Train a linear model with an absurd learning rate: the loss becomes infinite."""
    import torch

    from neurocircuits.train import TrainConfig, fit

    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(64, 4, generator=g) * 1e3, torch.randn(64, 1, generator=g)
    hist = fit(torch.nn.Linear(4, 1), (x, y), torch.nn.functional.mse_loss,
               TrainConfig(epochs=50, lr=1.0, optimizer="sgd", momentum=0.0), seed=seed)
    return hist[-1].train_loss


def square(x: int) -> int:
    if x == 3:
        raise ValueError("three is bad")
    return x * x


def pid(_: int) -> int:
    return os.getpid()


@dataclass
class SelfTestConfig(ExperimentConfig):
    seeds: int = 1
    n_units: int = 6  # units per seed
    sleep: float = 0.0  # seconds per unit
    log: str = ""  # file that records each unit start
    fail: int = -1  # index of a unit that raises
    mode: Literal["square", "cube"] = "square"  # a Literal field (choices checked)
    fractions: tuple[float, ...] = (0.5, 0.5)  # must sum to 1
    offset: float = -1.0  # a field allowed to be negative
    diverge: bool = False  # one unit trains with an absurd learning rate
    SIGNED = frozenset({"offset", "fail"})
    SUM_TO_ONE = ("fractions",)
    QUICK = {"n_units": 4}


def run(cfg: SelfTestConfig, ctx: RunContext) -> ResultTable:
    units = [Unit(f"s{seed}-u{i}", slow_square, (i + 100 * seed, cfg.sleep, cfg.log, cfg.fail))
             for seed in ctx.seeds for i in range(cfg.n_units)]
    if cfg.diverge:
        units.append(Unit("diverge", diverging_fit, (0,)))
    table = ResultTable(["value"], title="self test")
    for u, v in zip(units, ctx.map(units, desc="self-test units")):
        table.add(unit=u.key, value=v)
    ctx.add_table(table, f"extra-{cfg.mode}", "a table named after the config")
    return table


EXPERIMENT = Experiment("exec-selftest", "Executor self test", "Test only.", SelfTestConfig, run)
