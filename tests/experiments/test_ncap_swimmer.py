"""The ncap-swimmer experiment end to end on a tiny config (real simulator), and its resume."""

import json

import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("dm_control")

from neurocircuits.errors import UnknownNameError  # noqa: E402
from neurocircuits.experiments import run_experiment  # noqa: E402

TINY = {"seeds": 1, "untrained_seeds": 1, "ppo_arms": "ncap", "ppo_steps": 4096, "cma_arms": "",
        "cma_steps": 8000, "eval_every": 4096, "eval_episodes": 1, "transfer_joints": "3", "transfer_steps": 0,
        "budgets": "0,4096", "render": "false"}


@pytest.mark.slow
def test_tiny_run_writes_report_and_resumes(tmp_path):
    out = run_experiment("ncap-swimmer", out=tmp_path / "run", overrides=TINY, progress=False)
    report = (out / "report.md").read_text()
    assert "Claims and verdicts" in report and "Good performance before training" in report
    rows = json.loads((out / "results.json").read_text())["rows"]
    by_arm = {(r["algorithm"], r["arm"]): r for r in rows}
    assert by_arm[("ppo", "ncap")]["params"] == 4
    assert abs(by_arm[("ppo", "ncap")]["return_at_0"] - 799) < 30  # untrained circuit, before any update
    transfer = json.loads((out / "transfer.json").read_text())["rows"]
    assert {r["n_joints"] for r in transfer} == {3, 5}
    mtime = (out / "checkpoints" / "ppo-ncap-j5-s0-4096.memo.pt").stat().st_mtime
    run_experiment("ncap-swimmer", out=tmp_path / "run", overrides=TINY, progress=False)  # resumes from memo
    assert (out / "checkpoints" / "ppo-ncap-j5-s0-4096.memo.pt").stat().st_mtime == mtime
    with pytest.raises(UnknownNameError, match="arm"):
        run_experiment("ncap-swimmer", out=tmp_path / "bad", overrides={**TINY, "ppo_arms": "ncap,transformer"},
                       progress=False)
