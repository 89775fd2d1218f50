"""Run one competitive-refractory network in Brian2 (called by geometric_engines.py).

Usage: python _brian2_crd.py NETWORK.npz OUT.json TARGET [N_STIMULI]
  TARGET: cython or numpy (runtime targets), or cpp_standalone:T (C++ standalone with T OpenMP
  threads; stimulus 0 only, its compilation not timed)

This file runs in Brian2's own interpreter (it imports nothing from neurocircuits).

Mapping of the discrete-time semantics (arrival at step a = spike step + k; a node that
fired at t' accepts arrivals at a >= t' + R; a node fires at the first step whose summed
accepted arrivals reach theta; firing resets the sum; window W = infinity):

* the schedule is ``start, groups, thresholds, resets, synapses, end`` (resets *before*
  the synapses), so an effect delivered in a step's synapse slot survives that step's reset;
* an edge of k steps is a Brian2 delay of k - 1 steps: delivered in the synapse slot of
  step a - 1, after that step's threshold test, so it counts at the threshold test of step a;
* the discard rule gates the effect on the steps since the target's last spike:
  ``v_post += w * int(timestep(t - tlast_post, dt) >= R_post - 1)``, evaluated at step
  a - 1, i.e. accepted iff a - t' >= R. This holds for every R >= 0, R = 1 included
  (Brian2's own ``refractory`` / ``not_refractory`` would turn R = 1 into R = 2: a node
  that fires at step a - 1 is marked refractory in that very step);
* Brian2's ``refractory`` mechanism is not used: while refractory every arrival is gated
  out, so the sum stays 0 < theta and the node cannot fire.

Several stimuli run one after another on one built network (``store`` / ``restore`` and
``SpikeGeneratorGroup.set_spikes``), which is how Brian2 runs a batch.
"""

import json
import sys
import time

import numpy as np


def build(d, target):
    import brian2 as b2

    if not target.startswith("cpp_standalone"):
        b2.prefs.codegen.target = target
    b2.start_scope()
    b2.defaultclock.dt = 1 * b2.ms
    n_in, n_h = int(d["n_in"]), int(d["n_hidden"])
    g = b2.NeuronGroup(n_h, "v : 1\ntheta : 1 (constant)\nrm1 : integer (constant)\ntlast : second",
                       threshold="v >= theta", reset="v = 0\ntlast = t", name="crd_nodes")
    g.theta = d["threshold"]
    g.rm1 = d["refractory_steps"] - 1
    g.tlast = -1e4 * b2.second
    stim = d["stim_steps"][0]
    on = stim < int(d["horizon_steps"])
    gen = b2.SpikeGeneratorGroup(n_in, np.flatnonzero(on), stim[on] * b2.ms, name="crd_inputs")
    on_pre = "v_post += w * int(timestep(t - tlast_post, dt) >= rm1_post)"
    s_in = b2.Synapses(gen, g, "w : 1 (constant)", on_pre=on_pre, name="crd_syn_in")
    s_in.connect(i=d["in_pre"], j=d["in_post"])
    s_in.w = d["in_w"]
    s_in.delay = (d["in_k"] - 1) * b2.ms
    s_rec = b2.Synapses(g, g, "w : 1 (constant)", on_pre=on_pre, name="crd_syn_rec")
    s_rec.connect(i=d["rec_pre"], j=d["rec_post"])
    s_rec.w = d["rec_w"]
    s_rec.delay = (d["rec_k"] - 1) * b2.ms
    mon = b2.SpikeMonitor(g, name="crd_spikes")
    net = b2.Network(g, gen, s_in, s_rec, mon, name="crd_net")
    net.schedule = ["start", "groups", "thresholds", "resets", "synapses", "end"]
    return b2, net, gen, mon


def run_all(d, target, n_stim):
    t0 = time.perf_counter()
    b2, net, gen, mon = build(d, target)
    net.run(0 * b2.ms)  # code generation, compilation (cached on disk) and initialisation
    setup_s = time.perf_counter() - t0
    net.store("initial")
    horizon = int(d["horizon_steps"])
    runs, trains = [], []
    for s in range(n_stim):
        if s:
            net.restore("initial")
            stim = d["stim_steps"][s]
            on = stim < horizon
            gen.set_spikes(np.flatnonzero(on), stim[on] * b2.ms)
        t0 = time.perf_counter()
        net.run(horizon * b2.ms)
        runs.append(time.perf_counter() - t0)
        trains.append({"node": np.asarray(mon.i).tolist(),
                       "step": np.rint(np.asarray(mon.t / b2.ms)).astype(int).tolist()})
    return setup_s, runs, trains, b2.__version__


def run_standalone(d, threads):
    """Stimulus 0 in Brian2's C++ standalone mode with ``threads`` OpenMP threads.

    The project is generated and compiled once (not timed as the run); ``run_s`` is the time
    the compiled binary spends in its simulation loop (Brian2's own ``_last_run_time``), and
    ``setup_s`` the rest of the binary's time (loading arrays, initialisation, writing results).
    """
    import tempfile

    import brian2 as b2

    with tempfile.TemporaryDirectory() as tmp:
        b2.set_device("cpp_standalone", directory=tmp, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = threads
        b2, net, gen, mon = build(d, "cpp_standalone")
        net.run(int(d["horizon_steps"]) * b2.ms)
        t0 = time.perf_counter()
        b2.device.build(directory=tmp, compile=True, run=False)
        compile_s = time.perf_counter() - t0
        b2.device.run(directory=tmp)
        run_s = float(b2.device._last_run_time)
        setup_s = float(b2.device.timers["run_binary"]) - run_s
        trains = [{"node": np.asarray(mon.i).tolist(),
                   "step": np.rint(np.asarray(mon.t / b2.ms)).astype(int).tolist()}]
    return setup_s, [run_s], trains, b2.__version__, compile_s


def main():
    path, out, target = sys.argv[1], sys.argv[2], sys.argv[3]
    n_stim = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    d = dict(np.load(path))
    if target.startswith("cpp_standalone"):
        threads = int(target.split(":")[1]) if ":" in target else 1
        setup_s, runs, trains, version, compile_s = run_standalone(d, threads)
        json.dump({"setup_s": setup_s, "run_s": runs, "compile_s": compile_s, "target": target, "brian2": version,
                   "python": sys.version.split()[0], "numpy": np.__version__, "trains": trains}, open(out, "w"))
        return
    # warm-up on a tiny network with the same code, so that Cython compilation (cached on disk
    # by code hash) is not timed as setup
    small = dict(d)
    small.update(n_hidden=np.array(4), in_pre=np.array([0]), in_post=np.array([0]), in_w=np.array([1.0]),
                 in_k=np.array([1]), rec_pre=np.array([0]), rec_post=np.array([1]), rec_w=np.array([1.0]),
                 rec_k=np.array([2]), threshold=np.ones(4), refractory_steps=np.full(4, 2),
                 stim_steps=np.zeros((1, int(d["n_in"])), dtype=np.int64), horizon_steps=np.array(5))
    t0 = time.perf_counter()
    run_all(small, target, 1)
    warm = time.perf_counter() - t0
    setup_s, runs, trains, version = run_all(d, target, n_stim)
    json.dump({"setup_s": setup_s, "run_s": runs, "warmup_s": warm, "target": target, "brian2": version,
               "python": sys.version.split()[0], "numpy": np.__version__, "trains": trains}, open(out, "w"))


if __name__ == "__main__":
    main()
