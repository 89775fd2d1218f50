"""The command line: every input error is one line and exit code 2; resume, seeds, --fresh, help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from neurocircuits.cli import main
from neurocircuits.experiments import RunContext, Unit

import exec_units

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _run(capsys, *args):
    rc = main(list(args))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_line_error(err):
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("neurocircuits: error:"), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("value, words", [
    ("n_units=-1", "must not be negative"),
    ("sleep=nan", "must be finite"),
    ("fractions=", "must not be empty"),
    ("mode=quadratic", "must be one of 'square', 'cube'"),
    ("fractions=0.5,0.6", "must sum to 1"),
    ("n_units=abc", "cannot read 'abc' as int"),
    ("diverge=maybe", "cannot read 'maybe' as bool"),
    ("nonsense=1", "unknown config field"),
    ("n_units", "expects KEY=VALUE"),
])
def test_bad_set_values_are_one_line_exit_2_and_write_nothing(tmp_path, capsys, selftest, value, words):
    out = tmp_path / "run"
    rc, _, err = _run(capsys, "run", selftest, "--out", str(out), "--no-progress", "--set", value)
    assert rc == 2 and words in _one_line_error(err)
    assert not (out / "config.json").exists()
    # the corrected command then runs in the same folder
    assert _run(capsys, "run", selftest, "--out", str(out), "--no-progress")[0] == 0


def test_device_and_out_errors(tmp_path, capsys, selftest):
    out = str(tmp_path / "run")
    rc, _, err = _run(capsys, "run", selftest, "--out", out, "--device", "gpu")
    assert rc == 2 and "'gpu' is not a device" in _one_line_error(err)
    if not torch.cuda.is_available():
        rc, _, err = _run(capsys, "run", selftest, "--out", out, "--device", "cuda")
        assert rc == 2 and "CUDA is not available" in _one_line_error(err)
    file = tmp_path / "a-file"
    file.write_text("x")
    rc, _, err = _run(capsys, "run", selftest, "--out", str(file))
    assert rc == 2 and "is an existing file" in _one_line_error(err)
    rc, _, err = _run(capsys, "run", selftest, "--out", str(file / "sub"))
    assert rc == 2 and "cannot create the folder" in _one_line_error(err)
    rc, _, err = _run(capsys, "run", selftest, "--out", out, "--address", "localhost:1")
    assert rc == 2 and "--address needs --executor ray" in _one_line_error(err)
    assert not Path(out).exists() or not (Path(out) / "config.json").exists()


def test_refusal_names_only_the_fields_that_differ_and_empty_runs_do_not_lock(tmp_path, capsys, selftest):
    out = str(tmp_path / "run")
    # a run whose only unit fails leaves no finished unit: the folder is not locked
    rc, _, err = _run(capsys, "run", selftest, "--out", out, "--no-progress", "--set", "n_units=1", "fail=0")
    assert rc == 2 and "unit s0-u0 failed: ValueError: unit 0 is bad" in _one_line_error(err)
    assert "INCOMPLETE (failed" in (Path(out) / "report.md").read_text()
    assert _run(capsys, "run", selftest, "--out", out, "--no-progress", "--set", "n_units=3")[0] == 0
    rc, _, err = _run(capsys, "run", selftest, "--out", out, "--no-progress", "--set", "n_units=4", "mode=cube")
    line = _one_line_error(err)
    assert rc == 2 and "n_units: 3 -> 4" in line and 'mode: "square" -> "cube"' in line
    assert "sleep" not in line and "fractions" not in line and len(line) < 300


def test_more_seeds_reuse_the_finished_seeds(tmp_path, capsys, selftest):
    out, log = str(tmp_path / "run"), tmp_path / "log"
    args = ["run", selftest, "--out", out, "--no-progress", "--set", "n_units=3", f"log={log}"]
    assert _run(capsys, *args, "--seeds", "1")[0] == 0
    assert sorted(map(int, log.read_text().split())) == [0, 1, 2]
    log.write_text("")
    assert _run(capsys, *args, "--seeds", "2")[0] == 0
    assert sorted(map(int, log.read_text().split())) == [100, 101, 102]  # only seed 1 ran
    rows = json.loads((Path(out) / "results.json").read_text())["rows"]
    assert len(rows) == 6


def test_fresh_removes_the_previous_configs_tables_and_checkpoints(tmp_path, capsys, selftest):
    out = Path(tmp_path / "run")
    assert _run(capsys, "run", selftest, "--out", str(out), "--no-progress")[0] == 0
    assert (out / "extra-square.json").exists() and (out / "extra-square.csv").exists()
    assert _run(capsys, "run", selftest, "--out", str(out), "--no-progress", "--set", "mode=cube", "--fresh")[0] == 0
    assert not (out / "extra-square.json").exists() and not (out / "extra-square.csv").exists()
    assert (out / "extra-cube.json").exists()
    man = json.loads((out / "manifest.json").read_text())
    assert [t["file"] for t in man["tables"]] == ["results.json", "extra-cube.json"] and man["sessions"] == 1


def test_wall_time_accumulates_over_resumed_sessions(tmp_path, capsys, selftest):
    out = Path(tmp_path / "run")
    args = ["run", selftest, "--out", str(out), "--no-progress", "--set", "n_units=2", "sleep=0.3"]
    assert _run(capsys, *args)[0] == 0
    first = json.loads((out / "manifest.json").read_text())["wall_time_s"]
    assert first >= 0.6
    assert _run(capsys, *args)[0] == 0
    man = json.loads((out / "manifest.json").read_text())
    assert man["sessions"] == 2 and man["wall_time_s"] > first
    assert "(over 2 sessions)" in (out / "report.md").read_text()


def test_interrupt_keeps_checkpoints_and_marks_the_report_incomplete(tmp_path, capsys, selftest, monkeypatch):
    calls = {"n": 0}
    real = exec_units.slow_square

    def interrupt_third(*a):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a)

    monkeypatch.setattr(exec_units, "slow_square", interrupt_third)
    out = Path(tmp_path / "run")
    rc, _, err = _run(capsys, "run", selftest, "--out", str(out), "--no-progress")
    assert rc == 130 and "re-run the same command" in err
    assert len(list((out / "checkpoints").glob("*.memo.pt"))) == 2
    assert "INCOMPLETE (interrupted" in (out / "report.md").read_text()


def test_report_on_a_broken_folder_is_one_line_exit_2(tmp_path, capsys, selftest):
    out = Path(tmp_path / "run")
    assert _run(capsys, "run", selftest, "--out", str(out), "--no-progress")[0] == 0
    (out / "extra-square.json").unlink()
    rc, _, err = _run(capsys, "report", str(out))
    assert rc == 2 and "extra-square.json is missing" in _one_line_error(err)
    (out / "manifest.json").write_text("{not json")
    rc, _, err = _run(capsys, "report", str(out))
    assert rc == 2 and "manifest.json is broken" in _one_line_error(err)
    rc, _, err = _run(capsys, "report", str(tmp_path / "nowhere"))
    assert rc == 2 and "not a neurocircuits run directory" in _one_line_error(err)


def test_diverging_loss_is_one_line_exit_2(tmp_path, capsys, selftest):
    rc, _, err = _run(capsys, "run", selftest, "--out", str(tmp_path / "run"), "--no-progress",
                      "--set", "n_units=1", "diverge=true")
    line = _one_line_error(err)
    assert rc == 2 and "unit diverge failed: DivergedError: loss became" in line


def test_progress_goes_to_the_log_without_a_terminal(tmp_path, capsys):
    ctx = RunContext(tmp_path, [0], progress=True, log_interval_s=0.0)
    assert ctx.map([Unit(f"u{i}", exec_units.square, (i,)) for i in (0, 1, 2)], desc="squares") == [0, 1, 4]
    err = capsys.readouterr().err
    assert "squares: 1/3 after" in err and "squares: 3/3 after" in err and "\r" not in err
    quiet = RunContext(tmp_path / "q", [0], progress=True)  # default interval: 30 s, nothing yet
    quiet.map([Unit("a", exec_units.square, (1,))])
    assert capsys.readouterr().err == ""


def test_run_help_lists_every_config_field_with_type_default_and_quick_value(capsys, selftest):
    with pytest.raises(SystemExit) as info:
        main(["run", selftest, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for field in ("seeds", "n_units", "sleep", "log", "fail", "mode", "fractions", "offset", "diverge"):
        assert f"\n  {field} " in out, field
    row = next(ln for ln in out.splitlines() if ln.strip().startswith("n_units"))
    assert row.split()[:4] == ["n_units", "int", "6", "4"] and "units per seed" in row
    assert "{square,cube}" in out and "--workers" in out and "--executor" in out


def test_version_and_python_dash_m(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("neurocircuits ")
    res = subprocess.run([sys.executable, "-m", "neurocircuits", "--version"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": SRC}, timeout=60)
    assert res.returncode == 0 and res.stdout.startswith("neurocircuits 0.")
