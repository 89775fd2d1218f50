"""Compiled (numba) kernel of the discrete-time engine; imported only when numba is installed.

Each stimulus (batch element) is independent, so the batch is split over threads
(``prange``). Within an element the work of a step is proportional to the nodes that
receive an arrival, lose one from their window, or fire, plus their out-edges:

* pending arrivals live in a ring of ``L`` slots; each slot holds summed weights and
  arrival counts per node (dense) *and the list of nodes touched in that slot*, so a step
  visits only those nodes and clears only their entries. When every weight is a multiple of
  a power of two small enough, count and weight share one float64 (``count * pack + sum``,
  ``pack`` a power of two above any sum; exact), which halves the random memory traffic;
* finite summation windows are a second ring of expiry entries, tagged with the node's
  spike count when they were made (an entry is void once the node has fired: firing
  consumes the window);
* a node is tested against its threshold only when its sum changed in this step.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, boundscheck=False)
def _element(b, t0, t1, horizon_steps, rowptr, post, delay, weight, refr, win, thr, is_input, L, M1, pack,
             S, ready, ring_w, ring_n, tl, tl_len, ex_w, ex_ep, el, el_len, mark, cand, fired, n_fired,
             first, counts, arrivals, discarded, f_steps, f_nodes, fptr, record, rec_node, rec_step, rec_len):
    cap = rec_node.shape[1]
    K = f_steps.shape[1]
    for t in range(t0, t1):
        slot = t % L
        eslot = t % M1
        nc = 0
        arr = 0
        disc = 0
        for q in range(tl_len[b, slot]):
            j = tl[b, slot, q]
            if pack > 0.0:  # ring_w holds count * pack + summed weights, exactly
                v = ring_w[b, slot, j]
                cnt = np.int64(np.floor(v / pack + 0.5))
                wsum = v - cnt * pack
            else:
                cnt = ring_n[b, slot, j]
                ring_n[b, slot, j] = 0
                wsum = ring_w[b, slot, j]
            ring_w[b, slot, j] = 0.0
            arr += cnt
            if is_input[j] or t < ready[b, j]:  # discard rule (inputs ignore arrivals)
                disc += cnt
                continue
            S[b, j] += wsum
            wj = win[j]
            if wj > 0:  # finite window: the arrivals of this step leave it at t + wj
                es = eslot + wj
                if es >= M1:
                    es -= M1
                ex_w[b, es, j] = wsum
                ex_ep[b, es, j] = counts[b, j]
                el[b, es, el_len[b, es]] = j
                el_len[b, es] += 1
            if mark[b, j] != t:
                mark[b, j] = t
                cand[b, nc] = j
                nc += 1
        tl_len[b, slot] = 0
        arrivals[b] += arr
        discarded[b] += disc
        if M1 > 1:
            es = eslot
            for q in range(el_len[b, es]):
                j = el[b, es, q]
                if ex_ep[b, es, j] == counts[b, j]:  # still in the window (no spike since)
                    S[b, j] -= ex_w[b, es, j]
                    if mark[b, j] != t:
                        mark[b, j] = t
                        cand[b, nc] = j
                        nc += 1
                ex_w[b, es, j] = 0.0
            el_len[b, es] = 0
        nf = 0
        for q in range(nc):
            j = cand[b, q]
            if t >= ready[b, j] and S[b, j] >= thr[j]:
                fired[b, nf] = j
                nf += 1
        while fptr[b] < K and f_steps[b, fptr[b]] <= t:  # forced input spikes
            if f_steps[b, fptr[b]] == t:
                fired[b, nf] = f_nodes[b, fptr[b]]
                nf += 1
            fptr[b] += 1
        for q in range(nf):
            j = fired[b, q]
            S[b, j] = 0.0
            ready[b, j] = t + refr[j]
            if counts[b, j] == 0:
                first[b, j] = t
            counts[b, j] += 1
            if record:
                r = rec_len[b]
                if r < cap:
                    rec_node[b, r] = j
                    rec_step[b, r] = t
                rec_len[b] = r + 1
            for e in range(rowptr[j], rowptr[j + 1]):
                a = t + delay[e]
                if a >= horizon_steps:  # would arrive after the horizon: never happens
                    continue
                p = post[e]
                s2 = slot + delay[e]  # delay < L: one conditional subtraction, no division
                if s2 >= L:
                    s2 -= L
                if pack > 0.0:  # one array: an entry is > 0 once anything arrived
                    v = ring_w[b, s2, p]
                    if v == 0.0:
                        tl[b, s2, tl_len[b, s2]] = p
                        tl_len[b, s2] += 1
                    ring_w[b, s2, p] = v + (weight[e] + pack)
                else:
                    if ring_n[b, s2, p] == 0:
                        tl[b, s2, tl_len[b, s2]] = p
                        tl_len[b, s2] += 1
                    ring_n[b, s2, p] += 1
                    ring_w[b, s2, p] += weight[e]
        n_fired[b] = nf


@njit(cache=True, parallel=True, boundscheck=False)
def advance(t0, t1, horizon_steps, rowptr, post, delay, weight, refr, win, thr, is_input, L, M1, pack,
            S, ready, ring_w, ring_n, tl, tl_len, ex_w, ex_ep, el, el_len, mark, cand, fired, n_fired,
            first, counts, arrivals, discarded, f_steps, f_nodes, fptr, record, rec_node, rec_step, rec_len):
    """Run steps ``t0 .. t1 - 1`` for every batch element (in parallel over the batch)."""
    for b in prange(S.shape[0]):
        _element(b, t0, t1, horizon_steps, rowptr, post, delay, weight, refr, win, thr, is_input, L, M1, pack,
                 S, ready, ring_w, ring_n, tl, tl_len, ex_w, ex_ep, el, el_len, mark, cand, fired, n_fired,
                 first, counts, arrivals, discarded, f_steps, f_nodes, fptr, record, rec_node, rec_step,
                 rec_len)

