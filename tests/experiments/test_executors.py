"""Executors behind RunContext.map: same results everywhere, failures by key, resumable interruptions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neurocircuits.experiments import RunContext, Unit, UnitsFailedError, run_experiment
from neurocircuits.experiments.context import InProcessExecutor, ProcessExecutor, RayExecutor, make_executor
from neurocircuits.errors import UnknownNameError, ValidationError

import exec_units

SRC = str(Path(__file__).resolve().parents[2] / "src")
HERE = str(Path(__file__).parent)


@pytest.fixture(scope="module")
def executors(ray_cluster):
    """One of each executor for this module (the worker pool starts once)."""
    exs = {"in-process": InProcessExecutor(), "workers": ProcessExecutor(2, threads=1), "ray": RayExecutor()}
    yield exs
    for ex in exs.values():
        ex.close()


def test_map_on_every_executor_orders_results_and_reports_failures_by_key(tmp_path, executors):
    for name, ex in executors.items():
        ctx = RunContext(tmp_path / name, [0], progress=False, executor=ex)
        units = [Unit(f"x={i}", exec_units.square, (i,)) for i in range(6)]
        try:
            with pytest.raises(UnitsFailedError) as info:
                ctx.map(units)
            assert list(info.value.failures) == ["x=3"], name
            assert isinstance(info.value.failures["x=3"], ValueError) and "three is bad" in str(info.value)
            assert [ctx.is_memoized(f"x={i}") for i in range(6)] == [True, True, True, False, True, True]
            ok = [u for u in units if u.key != "x=3"]
            assert ctx.map(ok) == [0, 1, 4, 16, 25], name
            if name != "in-process":  # units really ran elsewhere; a GPU request on a CPU-only cluster still runs
                pids = ctx.map([Unit(f"pid{i}", exec_units.pid, (i,), gpu=0.5) for i in range(4)])
                assert os.getpid() not in pids
        finally:
            ex.close() if name == "in-process" else None


def test_make_executor_validates():
    assert isinstance(make_executor(workers=1), InProcessExecutor)
    assert make_executor(workers=3).workers == 3
    with pytest.raises(ValidationError, match="workers"):
        make_executor(workers=0)
    with pytest.raises(ValidationError, match="--address needs --executor ray"):
        make_executor(address="localhost:6379")
    with pytest.raises(UnknownNameError, match="executor"):
        make_executor("dask")


def test_connectome_stats_tables_are_byte_identical_on_every_executor(tmp_path, executors):
    over = {"connectomes": "witvliet2021-8", "swaps_per_edge": "2"}
    outs = {}
    for name, ex in executors.items():
        outs[name] = run_experiment("connectome-stats", quick=True, out=tmp_path / name, overrides=over,
                                    progress=False, executor=ex)
    for f in ("results.json", "results.csv", "null.json", "null.csv"):
        ref = (outs["in-process"] / f).read_bytes()
        for name, out in outs.items():
            assert (out / f).read_bytes() == ref, (name, f)
    man = json.loads((outs["ray"] / "manifest.json").read_text())
    assert man["complete"] and man["executor"].startswith("ray")


def _cli(args, cwd):
    code = ("import sys; from neurocircuits.experiments import registry; "
            "registry.EXPERIMENTS['exec-selftest'] = 'exec_units'; "
            "from neurocircuits.cli import main; sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, HERE]), "OMP_NUM_THREADS": "1",
           "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("executor", ["workers", "ray"])
def test_sigterm_midway_then_rerun_loses_only_units_in_flight(tmp_path, selftest, executor, request):
    """SIGTERM a run after a few units (as a batch scheduler does), then re-run the same command."""
    out, log = tmp_path / "run", tmp_path / "started.log"
    args = ["run", selftest, "--out", str(out), "--no-progress",
            "--set", "n_units=8", "sleep=0.3", f"log={log}"]
    if executor == "ray":
        args += ["--executor", "ray", "--address", request.getfixturevalue("ray_cluster")]
    else:
        args += ["--workers", "2"]
    proc = _cli(args, tmp_path)
    ck = out / "checkpoints"
    deadline = time.monotonic() + 60
    while len(list(ck.glob("*.memo.pt"))) < 3:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)  # as a batch scheduler does: the whole process group
    _, err = proc.communicate(timeout=30)
    if executor == "ray" and "discovered a bug in Ray" in err:  # Ray 2.60's own driver abort (task_manager.cc)
        pytest.xfail("Ray's driver aborted on an internal check while stopping: " + err.splitlines()[0][:200])
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "terminated" in err and "Traceback" not in err
    assert "INCOMPLETE" in (out / "report.md").read_text()
    # Ray stops the stopped driver's tasks asynchronously: wait until no unit starts any more
    quiet, last = time.monotonic(), log.read_text()
    while time.monotonic() - quiet < 1.0 and time.monotonic() < deadline:
        time.sleep(0.1)
        if log.read_text() != last:
            quiet, last = time.monotonic(), log.read_text()
    done = {p.name.split(".")[0] for p in ck.glob("*.memo.pt")}
    started_first = set(log.read_text().split())
    assert 3 <= len(done) < 8, (done, err)
    lost = len(started_first) - len(done)  # started in the first session but not checkpointed
    if executor == "workers":  # 2 parallel slots (+1 returning as the signal came)
        assert 0 <= lost <= 3, (started_first, done, err)
    # (on Ray every unit handed to the cluster is in flight: queued ones may still start while
    # Ray ends the stopped driver's job; what matters is below: none that returned is recomputed)
    # re-run: on the same Ray cluster; the worker run is resumed in-process (any executor resumes)
    log.write_text("")
    run_experiment(selftest, out=out, progress=False, overrides={"n_units": "8", "sleep": "0.3", "log": str(log)},
                   executor="ray" if executor == "ray" else "in-process")
    rerun = sorted(int(i) for i in log.read_text().split())
    assert rerun == sorted(i for i in range(8) if f"s0-u{i}" not in done), (rerun, done)  # each missing unit once
    man = json.loads((out / "manifest.json").read_text())
    assert man["complete"] and man["sessions"] == 2
