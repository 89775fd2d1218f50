import json

import pytest

from neurocircuits.cli import main
from neurocircuits.errors import UnknownNameError, ValidationError
from neurocircuits.experiments import EXPERIMENTS, build_config, get_experiment, run_experiment
from neurocircuits.report import ResultTable


def test_every_registered_experiment_resolves():
    for name in EXPERIMENTS:
        exp = get_experiment(name)
        cfg = exp.config_cls()
        assert cfg.quick().seeds <= cfg.seeds  # quick never uses more seeds
        cfg.validate()
        cfg.quick().validate()


def test_build_config_overrides_and_errors():
    cfg = build_config("connectome-stats", quick=True, seeds=3, overrides={"connectomes": "white1986,cook2019"})
    assert cfg.seeds == 3 and cfg.connectomes == ("white1986", "cook2019")
    with pytest.raises(UnknownNameError, match="config field"):
        build_config("connectome-stats", overrides={"nonsense": 1})
    with pytest.raises(ValidationError, match="seeds"):
        build_config("connectome-stats", seeds=0)
    with pytest.raises(UnknownNameError, match="unknown experiment"):
        build_config("connectome-stat")


def test_connectome_stats_runs_writes_report_and_resumes(tmp_path):
    out = tmp_path / "run"
    overrides = {"connectomes": "white1986,witvliet2021-8"}
    run_experiment("connectome-stats", quick=True, out=out, overrides=overrides, progress=False)
    report = (out / "report.md").read_text()
    assert "status: complete" in report and "white1986" in report and "![" in report
    for f in ("results.json", "results.csv", "null.json", "degree_ccdf.png", "env.json", "config.json"):
        assert (out / f).exists(), f
    table = ResultTable.load(out / "results.json")
    white = table.where(connectome="white1986").rows[0]
    assert white["neurons"] == 300 and white["chemical_synapses"] > 6000
    null = ResultTable.load(out / "null.json")
    real = null.values("reciprocity", connectome="white1986", graph="real")[0]
    shuffled = null.values("reciprocity", connectome="white1986", graph="degree-preserving shuffle")
    assert len(shuffled) == 2 and max(shuffled) < real
    env = json.loads((out / "env.json").read_text())
    assert "torch" in env["packages"] and env["cpu_count"] >= 1
    # resume: checkpoints are reused (memo files untouched), and a different config is refused
    memo = sorted((out / "checkpoints").glob("*.memo.pt"))
    assert len(memo) == 4
    mtimes = [p.stat().st_mtime_ns for p in memo]
    run_experiment("connectome-stats", quick=True, out=out, overrides=overrides, progress=False)
    assert [p.stat().st_mtime_ns for p in memo] == mtimes
    with pytest.raises(ValidationError, match=r"another config \(swaps_per_edge: 3.0 -> 4.0\)"):
        run_experiment("connectome-stats", quick=True, out=out, overrides={**overrides, "swaps_per_edge": "4"},
                       progress=False)
    # a third seed reuses the finished ones and adds only its own units
    run_experiment("connectome-stats", quick=True, out=out, seeds=3, overrides=overrides, progress=False)
    assert [p.stat().st_mtime_ns for p in memo] == mtimes
    assert len(list((out / "checkpoints").glob("*.memo.pt"))) == 6


def test_cli_list_run_report(tmp_path, capsys):
    assert main(["list"]) == 0
    assert "connectome-stats" in capsys.readouterr().out
    out = tmp_path / "cli"
    assert main(["run", "connectome-stats", "--quick", "--seeds", "1", "--out", str(out),
                 "--set", "connectomes=witvliet2021-8", "--no-progress"]) == 0
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0 and (out / "report.md").exists()
    assert main(["run", "no-such-experiment"]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2


def _square(x):
    if x == 3:
        raise ValueError("three is bad")
    return x * x


def test_map_returns_in_order_checkpoints_and_reports_failures(tmp_path):
    from neurocircuits.experiments import RunContext, Unit, UnitsFailedError

    ctx = RunContext(tmp_path, [0], progress=False)
    units = [Unit(f"x={i}", _square, (i,)) for i in range(5)]
    with pytest.raises(UnitsFailedError) as info:
        ctx.map(units)
    assert list(info.value.failures) == ["x=3"] and "three is bad" in str(info.value)
    assert all(ctx.is_memoized(f"x={i}") for i in (0, 1, 2, 4)) and not ctx.is_memoized("x=3")
    ok = [u for u in units if u.key != "x=3"]
    assert ctx.map(ok) == [0, 1, 4, 16]
    with pytest.raises(ValidationError):
        ctx.map([units[0], units[0]])
