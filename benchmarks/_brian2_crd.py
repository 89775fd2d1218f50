"""Run one competitive-refractory network in Brian2 (called by geometric_engines.py).

Usage: python _brian2_crd.py NETWORK.npz OUT.json TARGET   (TARGET: cython or numpy)

Brian2 applies a synaptic effect of delay d at step t + d *after* that step's threshold
test, so an arrival at step a of our semantics is a Brian2 delay of (k - 1) steps, and
our refractory period of R steps (arrival at t' + R accepted) is Brian2's R - 1 steps
(Brian2 tests ``t - lastspike >= refractory`` before the synapses of a step). Arrivals
during refractoriness are discarded by gating the synaptic effect with ``not_refractory``.
"""

import json
import sys
import time

import numpy as np


def build_and_run(d, target):
    import brian2 as b2

    b2.prefs.codegen.target = target
    b2.start_scope()
    b2.defaultclock.dt = 1 * b2.ms
    n_in, n_h = int(d["n_in"]), int(d["n_hidden"])
    R = int(d["refractory_steps"])
    g = b2.NeuronGroup(n_h, "v : 1\ntheta : 1", threshold="v >= theta", reset="v = 0",
                       refractory=(R - 1) * b2.ms, method="exact", name="crd_nodes")
    g.theta = d["threshold"]
    gen = b2.SpikeGeneratorGroup(n_in, d["stim_idx"], d["stim_steps"] * b2.ms, name="crd_inputs")
    on_pre = "v_post += w * int(not_refractory_post)"
    s_in = b2.Synapses(gen, g, "w : 1", on_pre=on_pre, name="crd_syn_in")
    s_in.connect(i=d["in_pre"], j=d["in_post"])
    s_in.w = d["in_w"]
    s_in.delay = (d["in_k"] - 1) * b2.ms
    s_rec = b2.Synapses(g, g, "w : 1", on_pre=on_pre, name="crd_syn_rec")
    s_rec.connect(i=d["rec_pre"], j=d["rec_post"])
    s_rec.w = d["rec_w"]
    s_rec.delay = (d["rec_k"] - 1) * b2.ms
    mon = b2.SpikeMonitor(g, name="crd_spikes")
    net = b2.Network(g, gen, s_in, s_rec, mon, name="crd_net")
    t0 = time.perf_counter()
    net.run(int(d["horizon_steps"]) * b2.ms)
    run_s = time.perf_counter() - t0
    return mon, run_s


def main():
    path, out, target = sys.argv[1], sys.argv[2], sys.argv[3]
    d = dict(np.load(path))
    # warm-up on a tiny copy with the same object names, so that code generation and Cython
    # compilation (cached on disk by code hash) are not timed
    small = dict(d)
    small.update(n_hidden=np.array(4), in_pre=np.array([0]), in_post=np.array([0]), in_w=np.array([1.0]),
                 in_k=np.array([1]), rec_pre=np.array([0]), rec_post=np.array([1]), rec_w=np.array([1.0]),
                 rec_k=np.array([2]), threshold=np.ones(4), stim_idx=np.array([0]), stim_steps=np.array([0]),
                 horizon_steps=np.array(5))
    t0 = time.perf_counter()
    build_and_run(small, target)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    mon, run_s = build_and_run(d, target)
    total = time.perf_counter() - t0
    import brian2 as b2

    json.dump({"run_s": run_s, "build_and_run_s": total, "warmup_s": warm, "target": target,
               "brian2": b2.__version__, "node": np.asarray(mon.i).tolist(),
               "step": np.rint(np.asarray(mon.t / b2.ms)).astype(int).tolist()}, open(out, "w"))


if __name__ == "__main__":
    main()
