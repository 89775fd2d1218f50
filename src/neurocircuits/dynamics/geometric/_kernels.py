"""Compiled (numba) kernel of the discrete-time engine; imported only when numba is installed.

Each stimulus (batch element) is independent, so the batch is split over threads
(``prange``); a batch smaller than the thread count can instead split each stimulus over the
threads (:func:`advance_split`, at the end of this module). Within an element the work of a step is proportional to the nodes that
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

Networks without finite windows whose weights pack (the common case) take
:func:`_element_packed`, a leaner loop over the same state: each node's out-edges are sorted
by delay (the plan does this), so the edges of one delay share a ring slot and its
touched-list length stays in a register; a touched node is appended without a branch
(``length += old == 0``); its threshold is tested as its arrivals are summed (no window can
change the sum later in the step); and the ring is float32 whenever ``count * pack + sum``
is exact in 24 bits, which halves its cache footprint.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, inline="always")
def _forced_spikes(b, t, f_steps, f_nodes, fptr, fired_row, nf):
    """Append the input nodes forced to fire at step ``t`` to ``fired_row``; returns the new count."""
    K = f_steps.shape[1]
    while fptr[b] < K and f_steps[b, fptr[b]] <= t:
        if f_steps[b, fptr[b]] == t:
            fired_row[nf] = f_nodes[b, fptr[b]]
            nf += 1
        fptr[b] += 1
    return nf


@njit(cache=True, nogil=True, inline="always")
def _count_spike(b, j, t, first, counts, record, rec_node, rec_step, rec_len, row):
    """Book a spike of node ``j`` of element ``b`` at step ``t``: first-spike step, count, and
    the record (row ``row``) if asked."""
    if counts[b, j] == 0:
        first[b, j] = t
    counts[b, j] += 1
    if record:
        r = rec_len[row]
        if r < rec_node.shape[1]:
            rec_node[row, r] = j
            rec_step[row, r] = t
        rec_len[row] = r + 1


@njit(cache=True, nogil=True, boundscheck=False)
def _element(b, t0, t1, horizon_steps, rowptr, post, delay, weight, refr, win, thr, is_input, L, M1, pack,
             S, ready, ring_w, ring_n, tl, tl_len, ex_w, ex_ep, el, el_len, mark, cand, fired, n_fired,
             first, counts, arrivals, discarded, f_steps, f_nodes, fptr, record, rec_node, rec_step, rec_len):
    room = rec_node.shape[1] - S.shape[1]  # a step books at most N spikes
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
        nf = _forced_spikes(b, t, f_steps, f_nodes, fptr, fired[b], nf)
        for q in range(nf):
            j = fired[b, q]
            S[b, j] = 0.0
            ready[b, j] = t + refr[j]
            _count_spike(b, j, t, first, counts, record, rec_node, rec_step, rec_len, b)
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
        if record and rec_len[b] > room:  # the record could not take another step: stop here
            return t + 1
    return t1


@njit(cache=True, nogil=True, boundscheck=False)
def _element_packed(b, t0, t1, horizon_steps, gptr, gdelay, gstart, post, wpack, refr, is_input, L, pack,
                    nodef, node, ring_w, tl, tl_len, fired, n_fired, first, counts, arrivals, discarded,
                    f_steps, f_nodes, fptr, record, rec_node, rec_step, rec_len):
    """:func:`_element` for infinite windows and packed rings; ``wpack[e] = weight[e] + pack``.

    Here the ring is node-major, ``ring_w[b, node, slot]``: the pending arrivals of a node
    for every slot share a cache line, and so do those of nearby nodes.
    """
    rw = ring_w[b]
    tlb = tl[b]
    tll = tl_len[b]
    nfb = nodef[b]  # [j, 0] potential, [j, 2] threshold (float64)
    nib = node[b]  # [j, 1] ready step (int64): one cache line per node
    fr = fired[b]
    inv = 1.0 / pack
    nf = 0
    room = rec_node.shape[1] - nib.shape[0]
    stop = t1
    for t in range(t0, t1):
        slot = t % L
        nf = 0
        arr = 0
        disc = 0
        row = tlb[slot]
        for q in range(tll[slot]):
            j = row[q]
            v = rw[j, slot]
            rw[j, slot] = 0.0
            c = np.int64(v * inv + 0.5)  # v = c * pack + sum with |sum| < pack / 2
            arr += c
            # discard rule (inputs ignore arrivals), without branches: a discarded sum adds 0
            acc = (t >= nib[j, 1]) and not is_input[j]
            disc += c * np.int64(not acc)
            s = nfb[j, 0] + (v - c * pack) * acc
            nfb[j, 0] = s
            fr[nf] = j  # kept only if j fires
            nf += np.int64(acc and s >= nfb[j, 2])
        tll[slot] = 0
        arrivals[b] += arr
        discarded[b] += disc
        nf = _forced_spikes(b, t, f_steps, f_nodes, fptr, fr, nf)
        for q in range(nf):
            j = fr[q]
            nfb[j, 0] = 0.0
            nib[j, 1] = t + refr[j]
            _count_spike(b, j, t, first, counts, record, rec_node, rec_step, rec_len, b)
            for g in range(gptr[j], gptr[j + 1]):  # delay groups, by increasing delay
                d = gdelay[g]
                if t + d >= horizon_steps:  # these and later groups arrive after the horizon
                    break
                s2 = slot + d
                if s2 >= L:
                    s2 -= L
                ln = tll[s2]
                trow = tlb[s2]
                for e in range(gstart[g], gstart[g + 1]):
                    p = post[e]
                    v = rw[p, s2]
                    trow[ln] = p  # kept only if p was untouched in that slot
                    ln += np.int64(v == 0.0)
                    rw[p, s2] = v + wpack[e]
                tll[s2] = ln
        if record and rec_len[b] > room:
            stop = t + 1
            break
    n_fired[b] = nf
    return stop


@njit(cache=True, parallel=True, boundscheck=False)
def advance(t0, t1, horizon_steps, rowptr, post, delay, weight, wpack, gptr, gdelay, gstart, refr, win, thr, is_input, L, M1, pack,
            nodef, node, ring_w, ring_n, tl, tl_len, ex_w, ex_ep, el, el_len, mark, cand, fired, n_fired,
            first, counts, arrivals, discarded, f_steps, f_nodes, fptr, record, rec_node, rec_step, rec_len):
    """Run steps ``t0[b] .. t1 - 1`` of every batch element ``b`` (in parallel over the batch).

    An element stops early when its spike record (``record``) has less room than one step can
    fill; ``t0[b]`` is set to the step it reached (``t1`` when done), so that the caller can
    empty the record and call again.
    """
    if M1 == 1 and pack > 0.0:
        for b in prange(node.shape[0]):
            t0[b] = _element_packed(b, t0[b], t1, horizon_steps, gptr, gdelay, gstart, post, wpack, refr, is_input, L, pack,
                            nodef, node, ring_w, tl, tl_len, fired, n_fired, first, counts, arrivals, discarded,
                            f_steps, f_nodes, fptr, record, rec_node, rec_step, rec_len)
        return
    S = nodef[:, :, 0]
    ready = node[:, :, 1]
    for b in prange(S.shape[0]):
        t0[b] = _element(b, t0[b], t1, horizon_steps, rowptr, post, delay, weight, refr, win, thr, is_input, L, M1, pack,
                 S, ready, ring_w, ring_n, tl, tl_len, ex_w, ex_ep, el, el_len, mark, cand, fired, n_fired,
                 first, counts, arrivals, discarded, f_steps, f_nodes, fptr, record, rec_node, rec_step,
                 rec_len)



# ---------------------------------------------------------------------------------------------
# One stimulus on several threads: the nodes are split into P parts (contiguous ranges of the
# kernel's numbering, balanced by in-degree), and each part owns its nodes' pending arrivals,
# potentials and touched lists. A step is two parallel phases: every part receives the
# arrivals of its own nodes and decides which of them fire; then every part scatters the spikes
# of *all* parts along the edges that end in its own nodes (each node's out-edges are grouped by
# target part, then by delay). No two threads ever write the same entry, so no atomics are
# needed; the end of each phase is the only synchronisation.


@njit(cache=True, nogil=True, boundscheck=False)
def _receive_part(k, t, slot, lo, hi, b, refr, is_input, pack, rw, nfb, nib, tl, tl_len, fired, n_fired,
                  first, counts, arr_p, disc_p, f_steps, f_nodes, fptr, record, rec_node, rec_step, rec_len):
    """Phase 1 of part ``k`` at step ``t``: sum its nodes' arrivals, decide and book its spikes."""
    inv = 1.0 / pack
    row = tl[k, slot]
    fr = fired[k]
    nf = 0
    arr = 0
    disc = 0
    for q in range(tl_len[k, slot]):
        j = row[q]
        v = rw[j, slot]
        rw[j, slot] = 0.0
        c = np.int64(v * inv + 0.5)
        arr += c
        acc = (t >= nib[j, 1]) and not is_input[j]
        disc += c * np.int64(not acc)
        s = nfb[j, 0] + (v - c * pack) * acc
        nfb[j, 0] = s
        fr[nf] = j
        nf += np.int64(acc and s >= nfb[j, 2])
    tl_len[k, slot] = 0
    arr_p[k] += arr
    disc_p[k] += disc
    K = f_steps.shape[1]
    while fptr[k] < K and f_steps[b, fptr[k]] <= t:
        if f_steps[b, fptr[k]] == t:
            j = f_nodes[b, fptr[k]]
            if lo <= j and j < hi:
                fr[nf] = j
                nf += 1
        fptr[k] += 1
    for q in range(nf):
        j = fr[q]
        nfb[j, 0] = 0.0
        nib[j, 1] = t + refr[j]
        _count_spike(b, j, t, first, counts, record, rec_node, rec_step, rec_len, k)
    n_fired[k] = nf


@njit(cache=True, nogil=True, boundscheck=False)
def _scatter_part(k, t, slot, horizon_steps, P, pg, gdelay, gstart, post, wpack, L, rw, tl, tl_len, fired,
                  n_fired):
    """Phase 2 of part ``k`` at step ``t``: the spikes of every part, along the edges into part ``k``."""
    for kk in range(P):
        frk = fired[kk]
        for q in range(n_fired[kk]):
            j = frk[q]
            for g in range(pg[j * P + k], pg[j * P + k + 1]):  # this node's delay groups into part k
                d = gdelay[g]
                if t + d >= horizon_steps:
                    break
                s2 = slot + d
                if s2 >= L:
                    s2 -= L
                ln = tl_len[k, s2]
                trow = tl[k, s2]
                for e in range(gstart[g], gstart[g + 1]):
                    p = post[e]
                    v = rw[p, s2]
                    trow[ln] = p
                    ln += np.int64(v == 0.0)
                    rw[p, s2] = v + wpack[e]
                tl_len[k, s2] = ln


@njit(cache=True, parallel=True, boundscheck=False)
def advance_split(b, t0, t1, horizon_steps, bounds, pg, gdelay, gstart, post, wpack, refr, is_input, L, pack,
                  nodef, node, ring_w, tl, tl_len, fired, n_fired, first, counts, arr_p, disc_p,
                  f_steps, f_nodes, fptr, record, rec_node, rec_step, rec_len):
    """Run steps ``t0 .. t1 - 1`` of batch element ``b`` on ``P = len(bounds) - 1`` threads
    (infinite windows, packed ring; the arrays of one element, part-indexed where they are
    per part). Returns the step reached: ``t1``, or earlier when a part's spike record has
    less room than one step can fill."""
    P = bounds.shape[0] - 1
    rw = ring_w[b]
    nfb = nodef[b]
    nib = node[b]
    room = rec_node.shape[1] - (tl.shape[2] - 1)  # a part books at most its node count per step
    for t in range(t0, t1):
        slot = t % L
        for k in prange(P):
            _receive_part(k, t, slot, bounds[k], bounds[k + 1], b, refr, is_input, pack, rw, nfb, nib, tl, tl_len,
                          fired, n_fired, first, counts, arr_p, disc_p, f_steps, f_nodes, fptr, record, rec_node,
                          rec_step, rec_len)
        for k in prange(P):
            _scatter_part(k, t, slot, horizon_steps, P, pg, gdelay, gstart, post, wpack, L, rw, tl, tl_len, fired,
                          n_fired)
        if record and rec_len.max() > room:  # a part's record could not take another step
            return t + 1
    return t1
