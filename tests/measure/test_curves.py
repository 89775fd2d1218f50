"""Training-curve statistics."""

import math

import pytest

from neurocircuits.errors import ValidationError
from neurocircuits.measure.curves import curve_stats, epochs_to_target, time_to_target


def test_epochs_and_time_to_target():
    curve, wall = [0.5, 0.89, 0.9, 0.95], [1.0, 2.0, 3.0, 4.0]
    assert epochs_to_target(curve, 0.9) == 3.0
    assert time_to_target(curve, wall, 0.9) == 6.0
    assert math.isnan(epochs_to_target(curve, 0.99)) and math.isnan(time_to_target(curve, wall, 0.99))
    # a loss curve: lower is better
    assert epochs_to_target([2.0, 1.0, 0.4], 0.5, higher_is_better=False) == 3.0


def test_curve_stats_with_a_diverged_epoch():
    s = curve_stats([0.7, float("nan"), 0.6], wall=[1, 1, 1], target=0.65)
    assert s.first == 0.7 and math.isnan(s.final) is False and s.final == 0.6 and s.best == 0.7
    assert s.epochs_to_target == 1.0 and s.reached
    s = curve_stats([0.1, 0.2])
    assert not s.reached and math.isnan(s.time_to_target_s) and s.best == 0.2


def test_bad_curves():
    with pytest.raises(ValidationError, match="curve"):
        curve_stats([])
    with pytest.raises(ValidationError, match="wall"):
        time_to_target([0.1, 0.9], [1.0], 0.5)
