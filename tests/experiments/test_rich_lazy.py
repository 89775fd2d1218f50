"""The rich-lazy experiment end to end on tiny networks (same code path as the full grid)."""

from __future__ import annotations

import json

import pytest
import torch

from neurocircuits.data import get_task
from neurocircuits.experiments.rich_lazy import _aligned_, aligned_scale
from neurocircuits.experiments.runner import run_experiment
from neurocircuits.models import RateRNN
from neurocircuits.report.stats import VERDICTS
from neurocircuits.report.table import ResultTable

TINY = {"n_hidden": 16, "ranks": (1, 16), "steps": 40, "log_every": 20, "eval_trials": 24, "kernel_trials": 4,
        "circuits": ("dale", "geometric"), "teacher_dim": 8, "teacher_steps": 20, "gains": (1.25,),
        "stable_gain": 0.5}


def test_aligned_scale_gives_the_gain_on_the_states() -> None:
    g = torch.Generator().manual_seed(0)
    w_in, x, v = torch.randn(50, 3, generator=g), torch.randn(200, 6, 3, generator=g), torch.randn(50, generator=g)
    c = aligned_scale(w_in, x, v, 1.5)
    h = torch.relu(x.reshape(-1, 3).double() @ w_in.double().T)
    w = c * torch.outer(torch.randn(50, generator=g).double(), v.double()) / v.double().norm()
    w = w / torch.linalg.norm(w, 2) * c                       # rank 1 with singular value c, any left vector
    assert float((h @ w.T).pow(2).sum(1).mean() / h.pow(2).sum(1).mean()) == pytest.approx(1.5 ** 2, rel=1e-9)


@pytest.mark.parametrize("task", ["2AF", "DMS", "CXT"])
def test_aligned_init_maps_choice_evidence_onto_the_choice_readout(task) -> None:
    t = get_task(task)
    net = RateRNN(t.n_in, 60, t.n_out, seed=0)
    _aligned_(net, t, 1.25, torch.Generator().manual_seed(1))
    sv = torch.linalg.svdvals(net.W_hh.detach().double())
    assert float(sv[1]) < 1e-5 * float(sv[0])                                   # rank 1 (float32)
    x, y = t.batch(400, seed=5)
    dec = t.decision_steps[0]
    h = torch.relu(x[:, :dec] @ net.W_in.detach().T).mean(1)
    s = torch.where(y[:, dec] == 1, 1.0, -1.0)
    push = (h @ net.W_hh.detach().T) @ (net.W_out[1] - net.W_out[2]).detach()   # recurrent push on logit 1 - logit 2
    assert float((s * push).mean()) > 0
    ratio = (h @ net.W_hh.detach().T).pow(2).sum(1).mean() / h.pow(2).sum(1).mean()
    assert 0.5 < float(ratio) ** 0.5 < 2.5              # gain ~1.25 on the states (other trials than the reference)


@pytest.mark.slow
def test_tiny_run_writes_every_part_of_the_report(tmp_path) -> None:
    out = run_experiment("rich-lazy", quick=True, seeds=2, out=tmp_path, progress=False, device="cpu", overrides=TINY)
    t = ResultTable.load(out / "results.json")
    assert {(r["gain"], r["init"]) for r in t.rows} == {(g, i) for g in (1.25, 0.5)
                                                        for i in ("rank 1", "rank 16", "aligned rank 1")}
    assert len(t.rows) == 2 * 3 * 2
    for r in t.rows:
        assert 0 <= r["kernel_alignment"] <= 1 + 1e-9 and 0 <= r["sign_similarity"] <= 1 and r["weight_change"] > 0
    ranks = {r["init"]: r["eff_rank_participation"] for r in t.rows if r["seed"] == 0 and r["gain"] == 1.25}
    assert abs(ranks["rank 1"] - 1) < 1e-6 and ranks["rank 16"] > 3
    circ = ResultTable.load(out / "circuits.json")
    assert {r["arm"] for r in circ.rows} == {"circuit", "control"} and len(circ.rows) == 2 * 2 * 2
    for fam in ("dale", "geometric"):   # the control has the circuit's norm and (rounded) effective rank
        a = [r for r in circ.rows if r["family"] == fam and r["seed"] == 0]
        assert abs(a[0]["eff_rank_entropy"] - a[1]["eff_rank_entropy"]) < 0.5 * a[0]["eff_rank_entropy"]
    teach = ResultTable.load(out / "teacher.json")
    assert len(teach.rows) == 2 * 4
    man = json.loads((out / "manifest.json").read_text())
    assert man["complete"]
    assert {f["file"] for f in man["figures"]} == {"measures_vs_rank.png", "loss_and_spectra.png",
                                                   "circuits_ka_vs_rank.png"}
    body = next(x["body"] for x in man["text"] if x["heading"] == "Verdicts")
    for claim in ("claim 1", "claim 2", "claim 3"):
        line = next(ln for ln in body.splitlines() if ln.startswith(f"- {claim} "))
        assert any(f"**{v}**" in line for v in VERDICTS), line
    # resuming the finished run recomputes nothing and gives the same table
    again = run_experiment("rich-lazy", quick=True, seeds=2, out=tmp_path, progress=False, device="cpu", overrides=TINY)
    assert ResultTable.load(again / "results.json").rows == t.rows


def test_an_empty_circuit_list_skips_claim_3() -> None:
    from neurocircuits.experiments.runner import build_config

    assert build_config("rich-lazy", False, None, {"circuits": ""}).circuits == ()


def test_unknown_task_is_refused_before_anything_runs() -> None:
    from neurocircuits.errors import UnknownNameError
    from neurocircuits.experiments.runner import build_config

    with pytest.raises(UnknownNameError, match="XYZ"):
        build_config("rich-lazy", quick=True, overrides={"tasks": ("XYZ",)})
    assert build_config("rich-lazy", quick=True, overrides={"tasks": ("DMS", "sMNIST")}).tasks == ("DMS", "sMNIST")
