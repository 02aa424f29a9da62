"""Numba kernels of the branch workbench: one loop over the whole trace per predictor.

Conventions (all kernels): ``pc`` and ``target`` are int64 (addresses masked to 62 bits),
``taken`` and ``cond`` are uint8 (``cond[i] == 1`` for conditional branches). A predictor kernel
returns ``pred`` (uint8, one entry per dynamic branch; 0 for non-conditional branches), so the
caller counts mispredictions, per-branch breakdowns and warm-up windows itself. Prediction for
branch ``i`` uses only the outcomes of branches ``0..i-1`` (immediate update, no wrong path),
the CBP2016 driver semantics. No validation happens here; the public layer checks inputs.
"""

from __future__ import annotations

import numpy as np

from workbench._numba import kernel

# ---------------------------------------------------------------------------------------------
# BT9 edge-sequence parsing
# ---------------------------------------------------------------------------------------------


@kernel
def _parse_edge_sequence(buf, start, out):
    """Parse whitespace-separated decimal ids from ``buf[start:]`` up to the ``EOF`` token.

    Returns ``(count, status, offset)``: status 0 = ``EOF`` found, 1 = data ended without
    ``EOF`` (truncated), 2 = unexpected byte at ``offset``, 3 = more ids than ``out`` holds.
    """
    n = buf.shape[0]
    count = 0
    i = start
    while i < n:
        c = buf[i]
        if c == 32 or c == 10 or c == 13 or c == 9:
            i += 1
            continue
        if c >= 48 and c <= 57:
            value = 0
            while i < n and buf[i] >= 48 and buf[i] <= 57:
                value = value * 10 + (buf[i] - 48)
                i += 1
            if i < n and not (buf[i] == 32 or buf[i] == 10 or buf[i] == 13 or buf[i] == 9):
                return count, 2, i
            if count >= out.shape[0]:
                return count, 3, i
            out[count] = value
            count += 1
            continue
        if c == 69 and i + 2 < n and buf[i + 1] == 79 and buf[i + 2] == 70:  # "EOF"
            return count, 0, i
        return count, 2, i
    return count, 1, n


# ---------------------------------------------------------------------------------------------
# Small helpers (kept in this file: Numba's cache does not track callees in other files)
# ---------------------------------------------------------------------------------------------


@kernel
def _sat_update(value, up, lo, hi):
    if up:
        return value + 1 if value < hi else value
    return value - 1 if value > lo else value


@kernel
def _fold_update(comp, newbit, oldbit, length, width):
    """Seznec's folded (compressed) history register of ``length`` bits folded to ``width``."""
    if width <= 0:
        return 0
    comp = (comp << 1) | newbit
    comp ^= oldbit << (length % width)
    comp ^= comp >> width
    return comp & ((1 << width) - 1)


# ---------------------------------------------------------------------------------------------
# Bimodal, gshare, tournament
# ---------------------------------------------------------------------------------------------


@kernel
def _bimodal(pc, taken, cond, log_size, shift, init):
    n = pc.shape[0]
    mask = (1 << log_size) - 1
    table = np.full(1 << log_size, init, np.int8)
    pred = np.zeros(n, np.uint8)
    for i in range(n):
        if cond[i] == 0:
            continue
        idx = (pc[i] >> shift) & mask
        c = table[idx]
        pred[i] = 1 if c >= 2 else 0
        table[idx] = _sat_update(c, taken[i] != 0, 0, 3)
    return pred


@kernel
def _gshare(pc, taken, cond, log_size, hist_len, shift, init):
    n = pc.shape[0]
    mask = (1 << log_size) - 1
    hmask = (1 << hist_len) - 1
    table = np.full(1 << log_size, init, np.int8)
    pred = np.zeros(n, np.uint8)
    ghr = 0
    for i in range(n):
        if cond[i] == 0:
            continue
        idx = ((pc[i] >> shift) ^ ghr) & mask
        c = table[idx]
        pred[i] = 1 if c >= 2 else 0
        t = taken[i]
        table[idx] = _sat_update(c, t != 0, 0, 3)
        ghr = ((ghr << 1) | t) & hmask
    return pred


@kernel
def _gselect(pc, taken, cond, pc_bits, hist_bits, shift, init):
    """gselect: 2-bit counters indexed by ``(history << pc_bits) | (pc >> shift) & pc_mask``.

    With ``pc_bits = hist_bits = 7``, ``shift = 0``, ``init = 0`` this is valgrind's
    conditional-branch predictor (``do_cond_branch_predict`` in cachegrind/cg_branchpred.c,
    also used by callgrind): 16K counters, auto-zeroed, a global history of conditional
    outcomes.
    """
    n = pc.shape[0]
    pmask = (1 << pc_bits) - 1
    hmask = (1 << hist_bits) - 1
    table = np.full(1 << (pc_bits + hist_bits), init, np.int8)
    pred = np.zeros(n, np.uint8)
    ghr = 0
    for i in range(n):
        if cond[i] == 0:
            continue
        idx = (ghr << pc_bits) | ((pc[i] >> shift) & pmask)
        c = table[idx]
        pred[i] = 1 if c >= 2 else 0
        t = taken[i]
        table[idx] = _sat_update(c, t != 0, 0, 3)
        ghr = ((ghr << 1) | t) & hmask
    return pred


@kernel
def _tournament(pc, taken, cond, log_global, hist_len, log_local, log_chooser, shift):
    """McFarling combining predictor: gshare + bimodal + per-PC 2-bit chooser."""
    n = pc.shape[0]
    gmask = (1 << log_global) - 1
    hmask = (1 << hist_len) - 1
    lmask = (1 << log_local) - 1
    cmask = (1 << log_chooser) - 1
    gtab = np.full(1 << log_global, 2, np.int8)
    ltab = np.full(1 << log_local, 2, np.int8)
    chooser = np.full(1 << log_chooser, 2, np.int8)
    pred = np.zeros(n, np.uint8)
    ghr = 0
    for i in range(n):
        if cond[i] == 0:
            continue
        p = pc[i] >> shift
        gi = (p ^ ghr) & gmask
        li = p & lmask
        ci = p & cmask
        gp = 1 if gtab[gi] >= 2 else 0
        lp = 1 if ltab[li] >= 2 else 0
        use_g = chooser[ci] >= 2
        pred[i] = gp if use_g else lp
        t = taken[i]
        if gp != lp:
            chooser[ci] = _sat_update(chooser[ci], gp == t, 0, 3)
        gtab[gi] = _sat_update(gtab[gi], t != 0, 0, 3)
        ltab[li] = _sat_update(ltab[li], t != 0, 0, 3)
        ghr = ((ghr << 1) | t) & hmask
    return pred


# ---------------------------------------------------------------------------------------------
# Perceptron (Jimenez & Lin, HPCA 2001)
# ---------------------------------------------------------------------------------------------


@kernel
def _perceptron(pc, taken, cond, n_perceptrons, hist_len, weight_bits, theta, shift):
    n = pc.shape[0]
    h = hist_len
    wmax = (1 << (weight_bits - 1)) - 1
    wmin = -(1 << (weight_bits - 1))
    weights = np.zeros((n_perceptrons, h + 1), np.int32)
    hist = np.ones(2 * h, np.int32)  # doubled ring buffer of +-1, most recent first at pos
    pos = 0
    pred = np.zeros(n, np.uint8)
    for i in range(n):
        if cond[i] == 0:
            continue
        row = (pc[i] >> shift) % n_perceptrons
        w = weights[row]
        y = w[0]
        for j in range(h):
            y += w[j + 1] * hist[pos + j]
        p = 1 if y >= 0 else 0
        pred[i] = p
        t = taken[i]
        x_t = 1 if t != 0 else -1
        if p != t or abs(y) <= theta:
            v = w[0] + x_t
            w[0] = wmax if v > wmax else (wmin if v < wmin else v)
            for j in range(h):
                v = w[j + 1] + x_t * hist[pos + j]
                w[j + 1] = wmax if v > wmax else (wmin if v < wmin else v)
        pos = pos - 1 if pos > 0 else h - 1
        hist[pos] = x_t
        hist[pos + h] = x_t
    return pred


# ---------------------------------------------------------------------------------------------
# Hashed perceptron (Tarjan & Skadron 2005; ChampSim version by Jimenez)
# ---------------------------------------------------------------------------------------------


@kernel
def _hashed_perceptron(pc, taken, cond, lengths, log_table, weight_bits, theta0, speed, shift):
    n = pc.shape[0]
    nt = lengths.shape[0]
    size = 1 << log_table
    mask = size - 1
    wmax = (1 << (weight_bits - 1)) - 1
    wmin = -(1 << (weight_bits - 1))
    weights = np.zeros((nt, size), np.int32)
    folds = np.zeros(nt, np.int64)
    hsize = 1
    maxlen = 0
    for k in range(nt):
        if lengths[k] > maxlen:
            maxlen = lengths[k]
    while hsize < maxlen + 2:
        hsize <<= 1
    hmask = hsize - 1
    ghist = np.zeros(hsize, np.int64)
    head = 0
    idx = np.zeros(nt, np.int64)
    theta = theta0
    tc = 0
    pred = np.zeros(n, np.uint8)
    for i in range(n):
        if cond[i] == 0:
            continue
        p = pc[i] >> shift
        s = 0
        for k in range(nt):
            ix = (p ^ (p >> log_table) ^ folds[k] ^ (k * 0x9E5)) & mask
            idx[k] = ix
            s += weights[k, ix]
        pr = 1 if s >= 0 else 0
        pred[i] = pr
        t = taken[i]
        if pr != t or abs(s) < theta:
            for k in range(nt):
                ix = idx[k]
                if t != 0:
                    if weights[k, ix] < wmax:
                        weights[k, ix] += 1
                elif weights[k, ix] > wmin:
                    weights[k, ix] -= 1
            if pr != t:
                tc += 1
                if tc >= speed:
                    theta += 1
                    tc = 0
            else:
                tc -= 1
                if tc <= -speed:
                    if theta > 1:
                        theta -= 1
                    tc = 0
        # push the outcome into the global history and the folded registers
        head = (head - 1) & hmask
        ghist[head] = t
        for k in range(nt):
            L = lengths[k]
            if L > 0:
                old = ghist[(head + L) & hmask]
                folds[k] = _fold_update(folds[k], np.int64(t), old, L, log_table)
    return pred


# ---------------------------------------------------------------------------------------------
# TAGE, and TAGE-SC-L (TAGE + loop predictor + statistical corrector), Seznec 2006/2016
# ---------------------------------------------------------------------------------------------


@kernel
def _lfsr(state):
    state ^= (state << 13) & 0x7FFFFFFFFFFFFFFF
    state ^= state >> 7
    state ^= (state << 17) & 0x7FFFFFFFFFFFFFFF
    return state & 0x7FFFFFFFFFFFFFFF


@kernel
def _tage_scl(pc, target, taken, cond,
              log_base, hist_lens, log_tables, tag_bits, u_bits, u_reset_period,
              path_bits, shift, seed,
              use_loop, loop_log, loop_iter_bits, loop_conf_max,
              use_sc, sc_lengths, sc_log, sc_ctr_bits, sc_bias_log,
              local_log, local_hist_len, sc_local_lengths):
    """TAGE (optionally with loop predictor and statistical corrector).

    Tables: base = 2^log_base 2-bit counters; tagged table k = 2^log_tables[k] entries of
    (3-bit counter, tag_bits[k] tag, u_bits useful counter), geometric history lengths
    hist_lens[k] (increasing). History: every branch pushes one bit (its direction for
    conditional branches, bit ``shift`` of the target for unconditional ones) and path bits.
    """
    n = pc.shape[0]
    nt = hist_lens.shape[0]
    pred = np.zeros(n, np.uint8)

    maxlen = 0
    maxsize = 1
    for k in range(nt):
        if hist_lens[k] > maxlen:
            maxlen = hist_lens[k]
        if (1 << log_tables[k]) > maxsize:
            maxsize = 1 << log_tables[k]
    for k in range(sc_lengths.shape[0]):
        if sc_lengths[k] > maxlen:
            maxlen = sc_lengths[k]
    hsize = 1
    while hsize < maxlen + 2:
        hsize <<= 1
    hmask = hsize - 1
    ghist = np.zeros(hsize, np.int64)
    head = 0
    phist = 0
    pmask = (1 << path_bits) - 1

    base = np.full(1 << log_base, 2, np.int8)
    bmask = (1 << log_base) - 1
    ctr = np.zeros((nt, maxsize), np.int8)
    tags = np.zeros((nt, maxsize), np.int64)
    useful = np.zeros((nt, maxsize), np.int8)
    umax = (1 << u_bits) - 1
    ci = np.zeros(nt, np.int64)
    ct0 = np.zeros(nt, np.int64)
    ct1 = np.zeros(nt, np.int64)
    gidx = np.zeros(nt, np.int64)
    gtag = np.zeros(nt, np.int64)
    use_alt = 8  # 4-bit counter, >= 8 means "use alt on newly allocated"
    rng = seed | 1
    tick = 0

    # loop predictor (Seznec's L component), direct mapped
    lsize = 1 << loop_log
    lmask = lsize - 1
    l_tag = np.zeros(lsize, np.int64)
    l_past = np.zeros(lsize, np.int64)
    l_cur = np.zeros(lsize, np.int64)
    l_conf = np.zeros(lsize, np.int64)
    l_age = np.zeros(lsize, np.int64)
    l_dir = np.zeros(lsize, np.int64)
    imax = (1 << loop_iter_bits) - 1
    with_loop = -1  # 7-bit counter: use the loop prediction when >= 0

    # statistical corrector: bias tables + global GEHL + local GEHL
    n_sc = sc_lengths.shape[0]
    n_scl = sc_local_lengths.shape[0]
    sc_size = 1 << sc_log
    sc_mask = sc_size - 1
    cmax = (1 << (sc_ctr_bits - 1)) - 1
    cmin = -(1 << (sc_ctr_bits - 1))
    sc_g = np.zeros((n_sc + 1, sc_size), np.int64)
    sc_l = np.zeros((n_scl + 1, sc_size), np.int64)
    sc_fold = np.zeros(n_sc + 1, np.int64)
    bias = np.zeros(1 << sc_bias_log, np.int64)
    bias_sk = np.zeros(1 << sc_bias_log, np.int64)
    bias_mask = (1 << sc_bias_log) - 1
    local_hist = np.zeros(1 << local_log, np.int64)
    local_mask = (1 << local_log) - 1
    lh_mask = (1 << local_hist_len) - 1
    sc_theta = 12
    sc_tc = 0
    sc_idx = np.zeros(n_sc + 1, np.int64)
    scl_idx = np.zeros(n_scl + 1, np.int64)
    sc_choose = np.zeros(2, np.int64)  # per TAGE-confidence class: trust SC when >= 0

    for i in range(n):
        p = pc[i] >> shift
        if cond[i] != 0:
            # ---------------- TAGE lookup
            for k in range(nt):
                lg = log_tables[k]
                m = (1 << lg) - 1
                ph = phist & ((1 << min(path_bits, hist_lens[k])) - 1)
                gidx[k] = (p ^ (p >> (lg - (k % 4) + 1)) ^ ci[k] ^ ph ^ (ph >> lg)) & m
                gtag[k] = (p ^ ct0[k] ^ (ct1[k] << 1)) & ((1 << tag_bits[k]) - 1)
            provider = -1
            alt = -1
            for k in range(nt - 1, -1, -1):
                if tags[k, gidx[k]] == gtag[k]:
                    if provider < 0:
                        provider = k
                    else:
                        alt = k
                        break
            bidx = p & bmask
            base_pred = 1 if base[bidx] >= 2 else 0
            if alt >= 0:
                alt_pred = 1 if ctr[alt, gidx[alt]] >= 0 else 0
            else:
                alt_pred = base_pred
            weak_new = False
            if provider >= 0:
                pctr = ctr[provider, gidx[provider]]
                prov_pred = 1 if pctr >= 0 else 0
                weak_new = (pctr == 0 or pctr == -1) and useful[provider, gidx[provider]] == 0
                if weak_new and use_alt >= 8:
                    tage_pred = alt_pred
                else:
                    tage_pred = prov_pred
                conf = abs(2 * pctr + 1)  # 1, 3, 5, 7
            else:
                prov_pred = base_pred
                tage_pred = base_pred
                conf = 1 if (base[bidx] == 1 or base[bidx] == 2) else 5
            final = tage_pred

            # ---------------- loop predictor
            lhit = False
            lvalid = False
            lpred = 0
            li = 0
            ltag = 0
            if use_loop:
                li = (p ^ (p >> loop_log)) & lmask
                ltag = (p >> loop_log) & 0x3FF
                if l_tag[li] == ltag and l_age[li] > 0 and l_past[li] > 0:
                    lhit = True
                    lvalid = l_conf[li] >= loop_conf_max
                    if l_cur[li] + 1 == l_past[li]:
                        lpred = 1 - l_dir[li]
                    else:
                        lpred = l_dir[li]
                if lvalid and with_loop >= 0:
                    final = lpred

            # ---------------- statistical corrector
            pre = final
            sc_pred = final
            total = 0
            cls = 1 if conf >= 7 else 0
            lhi = 0
            if use_sc:
                loop_used = lvalid and with_loop >= 0
                bi = ((p << 1) | pre) & bias_mask
                bsi = (((p << 3) ^ (conf << 1)) | pre) & bias_mask
                total = 2 * bias[bi] + 1 + 2 * bias_sk[bsi] + 1
                for k in range(n_sc):
                    ix = (p ^ (p >> sc_log) ^ sc_fold[k] ^ (pre << (k % 5))) & sc_mask
                    sc_idx[k] = ix
                    total += 2 * sc_g[k, ix] + 1
                lhi = (p ^ (p >> local_log)) & local_mask
                lh = local_hist[lhi]
                for k in range(n_scl):
                    lk = lh & ((1 << sc_local_lengths[k]) - 1)
                    ix = (p ^ lk ^ (lk >> sc_log) ^ (k << (sc_log - 2)) ^ pre) & sc_mask
                    scl_idx[k] = ix
                    total += 2 * sc_l[k, ix] + 1
                # the TAGE (or loop) decision enters the adder with a confidence-scaled weight
                tw = 64 if loop_used else 8 * conf
                total += tw if pre != 0 else -tw
                sc_pred = 1 if total >= 0 else 0
                if sc_pred != pre and sc_choose[cls] >= 0:
                    final = sc_pred
            pred[i] = final
            t = np.int64(taken[i])

            # ---------------- statistical corrector update
            if use_sc:
                if sc_pred != pre:
                    sc_choose[cls] = _sat_update(sc_choose[cls], sc_pred == t, -64, 63)
                if sc_pred != t or abs(total) < sc_theta:
                    if sc_pred != t:
                        sc_tc += 1
                        if sc_tc >= 32:
                            sc_theta += 1
                            sc_tc = 0
                    else:
                        sc_tc -= 1
                        if sc_tc <= -32:
                            if sc_theta > 4:
                                sc_theta -= 1
                            sc_tc = 0
                    bi = ((p << 1) | pre) & bias_mask
                    bsi = (((p << 3) ^ (conf << 1)) | pre) & bias_mask
                    bias[bi] = _sat_update(bias[bi], t != 0, cmin, cmax)
                    bias_sk[bsi] = _sat_update(bias_sk[bsi], t != 0, cmin, cmax)
                    for k in range(n_sc):
                        ix = sc_idx[k]
                        sc_g[k, ix] = _sat_update(sc_g[k, ix], t != 0, cmin, cmax)
                    for k in range(n_scl):
                        ix = scl_idx[k]
                        sc_l[k, ix] = _sat_update(sc_l[k, ix], t != 0, cmin, cmax)
                local_hist[lhi] = ((local_hist[lhi] << 1) | t) & lh_mask

            # ---------------- loop predictor update (trip count = executions per instance)
            if use_loop:
                if l_tag[li] == ltag and l_age[li] > 0:
                    if lvalid and lpred != tage_pred:
                        with_loop = _sat_update(with_loop, lpred == t, -64, 63)
                        if lpred == t:
                            if l_age[li] < 7:
                                l_age[li] += 1
                    if lvalid and lpred != t:
                        l_past[li] = 0
                        l_conf[li] = 0
                        l_cur[li] = 0
                        l_age[li] = 0
                    elif t == l_dir[li]:
                        l_cur[li] += 1
                        if l_cur[li] >= imax or (l_past[li] > 0 and l_cur[li] >= l_past[li]):
                            l_past[li] = 0
                            l_conf[li] = 0
                            l_cur[li] = 0
                    else:
                        trip = l_cur[li] + 1
                        if l_past[li] == trip:
                            if l_conf[li] < loop_conf_max:
                                l_conf[li] += 1
                        else:
                            l_past[li] = trip
                            l_conf[li] = 0
                        l_cur[li] = 0
                elif tage_pred != t:
                    if l_age[li] == 0:
                        l_tag[li] = ltag
                        l_dir[li] = 1 - t
                        l_cur[li] = 0
                        l_past[li] = 0
                        l_conf[li] = 0
                        l_age[li] = 7
                    else:
                        l_age[li] -= 1

            # ---------------- TAGE update
            if provider >= 0:
                gi = gidx[provider]
                if weak_new and prov_pred != alt_pred:
                    if alt_pred == t:
                        if use_alt < 15:
                            use_alt += 1
                    elif use_alt > 0:
                        use_alt -= 1
            alloc = tage_pred != t and provider < nt - 1
            if alloc:
                start = provider + 1
                rng = _lfsr(rng)
                if (rng & 1) == 1 and start < nt - 1:
                    start += 1
                done = False
                for k in range(start, nt):
                    if useful[k, gidx[k]] == 0:
                        tags[k, gidx[k]] = gtag[k]
                        ctr[k, gidx[k]] = 0 if t != 0 else -1
                        done = True
                        break
                if not done:
                    for k in range(provider + 1, nt):
                        if useful[k, gidx[k]] > 0:
                            useful[k, gidx[k]] -= 1
            if provider >= 0:
                gi = gidx[provider]
                ctr[provider, gi] = _sat_update(ctr[provider, gi], t != 0, -4, 3)
                if useful[provider, gi] == 0:
                    if alt >= 0:
                        ctr[alt, gidx[alt]] = _sat_update(ctr[alt, gidx[alt]], t != 0, -4, 3)
                    else:
                        base[bidx] = _sat_update(base[bidx], t != 0, 0, 3)
                if prov_pred != alt_pred:
                    if prov_pred == t:
                        if useful[provider, gi] < umax:
                            useful[provider, gi] += 1
                    elif useful[provider, gi] > 0:
                        useful[provider, gi] -= 1
            else:
                base[bidx] = _sat_update(base[bidx], t != 0, 0, 3)
            tick += 1
            if tick >= u_reset_period:
                tick = 0
                for k in range(nt):
                    for e in range(1 << log_tables[k]):
                        useful[k, e] >>= 1
            bit = t
        else:
            bit = (target[i] >> shift) & 1
        # ---------------- history update (every branch)
        head = (head - 1) & hmask
        ghist[head] = bit
        phist = ((phist << 1) ^ (p & 0xFFFF) ^ (p >> 7)) & pmask
        for k in range(nt):
            L = hist_lens[k]
            old = ghist[(head + L) & hmask]
            ci[k] = _fold_update(ci[k], bit, old, L, log_tables[k])
            ct0[k] = _fold_update(ct0[k], bit, old, L, tag_bits[k])
            ct1[k] = _fold_update(ct1[k], bit, old, L, tag_bits[k] - 1)
        for k in range(n_sc):
            L = sc_lengths[k]
            old = ghist[(head + L) & hmask]
            sc_fold[k] = _fold_update(sc_fold[k], bit, old, L, sc_log)
    return pred


# ---------------------------------------------------------------------------------------------
# Synthetic traces and history features
# ---------------------------------------------------------------------------------------------


@kernel
def _planted_outcomes(noise_bits, distances, function, n_noise, flip):
    """Outcomes of ``n_iter`` iterations of (n_noise noise branches, 1 target branch).

    ``noise_bits`` (n_iter, n_noise) uint8, ``flip`` (n_iter,) uint8 label noise.
    function: 0 copy, 1 AND, 2 OR, 3 XOR, 4 majority. Distances count conditional branches
    back from the target (distance 1 = the branch executed just before it).
    """
    n_iter = noise_bits.shape[0]
    period = n_noise + 1
    out = np.zeros(n_iter * period, np.uint8)
    m = distances.shape[0]
    for it in range(n_iter):
        b = it * period
        for j in range(n_noise):
            out[b + j] = noise_bits[it, j]
        pos = b + n_noise
        s = 0
        acc_and = 1
        acc_or = 0
        acc_xor = 0
        for q in range(m):
            src = pos - distances[q]
            v = out[src] if src >= 0 else 0
            s += v
            acc_and &= v
            acc_or |= v
            acc_xor ^= v
        if function == 0:
            y = acc_or  # copy of one distance
        elif function == 1:
            y = acc_and
        elif function == 2:
            y = acc_or
        elif function == 3:
            y = acc_xor
        else:
            y = 1 if 2 * s > m else 0
        out[pos] = y ^ flip[it]
    return out


@kernel
def _history_features(taken, cond, branch_id, select, n_global, n_local, n_ids, max_rows,
                      per_branch):
    """±1 global (last ``n_global`` conditional outcomes) and local histories at executions.

    ``branch_id`` (n,) int64 static-branch id of each dynamic branch; ``select`` (n_ids,)
    uint8 marks the ids to collect; at most ``per_branch`` rows per id (its first executions).
    Returns ``(X, y, ids, rows)``: X int8 (max_rows, n_global + n_local), y uint8, ids int64
    of the rows filled (first ``rows`` rows).
    """
    n = taken.shape[0]
    hsize = 1
    while hsize < n_global + 1:
        hsize <<= 1
    hmask = hsize - 1
    g2 = np.full(2 * hsize, -1, np.int8)  # doubled ring: g2[pos:pos+n_global] recent first
    pos = 0
    lh = np.full((n_ids, 2 * max(n_local, 1)), -1, np.int8)
    lpos = np.zeros(n_ids, np.int64)
    X = np.zeros((max_rows, n_global + n_local), np.int8)
    y = np.zeros(max_rows, np.uint8)
    ids = np.zeros(max_rows, np.int64)
    rows = 0
    count = np.zeros(n_ids, np.int64)
    for i in range(n):
        if cond[i] == 0:
            continue
        b = branch_id[i]
        x_t = np.int8(1) if taken[i] != 0 else np.int8(-1)
        if select[b] != 0 and rows < max_rows and count[b] < per_branch:
            count[b] += 1
            for j in range(n_global):
                X[rows, j] = g2[pos + j]
            lp = lpos[b]
            for j in range(n_local):
                X[rows, n_global + j] = lh[b, lp + j]
            y[rows] = taken[i]
            ids[rows] = b
            rows += 1
        if n_local > 0:
            lp = lpos[b] - 1 if lpos[b] > 0 else n_local - 1
            lpos[b] = lp
            lh[b, lp] = x_t
            lh[b, lp + n_local] = x_t
        pos = pos - 1 if pos > 0 else hsize - 1
        g2[pos] = x_t
        g2[pos + hsize] = x_t
    return X, y, ids, rows


# ---------------------------------------------------------------------------------------------
# Sparse-correlation overlay (offline models, online SGD-L1 models)
# ---------------------------------------------------------------------------------------------


@kernel
def _chooser_step(chooser, active, model_right, cmax, penalty):
    """One disagreement between a sparse model and the base predictor.

    The counter (``0..cmax``, starts at 0) moves +1 when the model is right and ``-penalty``
    when the base is right, so it drifts upwards only if the model wins more than
    ``penalty / (penalty + 1)`` of the disagreements. The model is switched on when the counter
    saturates at ``cmax`` and off again when it falls below half of its range (hysteresis), so a
    model that stops helping is dropped after a few lost disagreements. Returns
    ``(chooser, active)``.
    """
    if model_right:
        chooser = chooser + 1 if chooser < cmax else cmax
    else:
        chooser = chooser - penalty if chooser > penalty else 0
    if chooser >= cmax:
        active = 1
    elif 2 * chooser < cmax + 1:
        active = 0
    return chooser, active


@kernel
def _sparse_overlay(taken, cond, branch_id, base_pred, model_of, positions, weights, bias,
                    n_global, n_local, threshold, chooser_bits, chooser_penalty, start):
    """Override ``base_pred`` with per-branch sparse linear models.

    Model ``m`` (``model_of[branch_id] = m``, -1 = none) predicts
    ``sign(bias[m] + sum_q weights[m, q] * x[positions[m, q]])`` over the ±1 feature vector
    x = (global history, local history). Safe override (see :func:`_chooser_step`): the model
    overrides only while its ``active`` flag is set and ``|sum| >= threshold``; the flag comes
    from a per-model chooser counter trained on every disagreement with the base. Only branches
    ``i >= start`` may be overridden (held-out window).
    """
    n = taken.shape[0]
    n_models = positions.shape[0]
    k = positions.shape[1]
    hsize = 1
    while hsize < n_global + 1:
        hsize <<= 1
    g2 = np.full(2 * hsize, -1, np.int8)
    pos = 0
    lh = np.full((max(n_models, 1), 2 * max(n_local, 1)), -1, np.int8)
    lpos = np.zeros(max(n_models, 1), np.int64)
    cmax = (1 << chooser_bits) - 1
    chooser = np.zeros(max(n_models, 1), np.int64)
    active = np.zeros(max(n_models, 1), np.int64)
    out = base_pred.copy()
    for i in range(n):
        if cond[i] == 0:
            continue
        m = model_of[branch_id[i]]
        x_t = np.int8(1) if taken[i] != 0 else np.int8(-1)
        if m >= 0:
            s = bias[m]
            lp = lpos[m]
            for q in range(k):
                d = positions[m, q]
                if d < 0:
                    continue
                if d < n_global:
                    v = g2[pos + d]
                else:
                    v = lh[m, lp + d - n_global]
                s += weights[m, q] * v
            sp = 1 if s >= 0 else 0
            if i >= start and abs(s) >= threshold and active[m] != 0:
                out[i] = sp
            if sp != base_pred[i]:
                c, a = _chooser_step(chooser[m], active[m], sp == taken[i], cmax,
                                     chooser_penalty)
                chooser[m] = c
                active[m] = a
            if n_local > 0:
                lp = lp - 1 if lp > 0 else n_local - 1
                lpos[m] = lp
                lh[m, lp] = x_t
                lh[m, lp + n_local] = x_t
        pos = pos - 1 if pos > 0 else hsize - 1
        g2[pos] = x_t
        g2[pos + hsize] = x_t
    return out


@kernel
def _sgd_l1_online(taken, cond, branch_id, base_pred, model_of, n_models, n_global, n_local,
                   eta0, lam0, lam_min, lam_max, max_nonzero, k_deploy, weight_bits,
                   weight_scale, refresh, threshold, chooser_bits, chooser_penalty, start):
    """Online sparse models: SGD on the logistic loss with Tsuruoka's cumulative L1 penalty.

    Each modelled branch keeps a dense float weight vector over (global, local) ±1 history
    (the learner) and a *deployed* compact model: its ``k_deploy`` largest weights quantised
    to ``weight_bits`` bits, refreshed every ``refresh`` executions; predictions use only the
    deployed model (what the storage budget counts). lambda is adapted per model by the
    binary-search rule of the paper (halve / double within [lam_min, lam_max]) so that at most
    ``max_nonzero`` weights are non-zero. Returns (pred, nonzero_counts, lambdas).
    """
    n = taken.shape[0]
    dim = n_global + n_local
    hsize = 1
    while hsize < n_global + 1:
        hsize <<= 1
    g2 = np.full(2 * hsize, -1, np.int8)
    pos = 0
    nm = max(n_models, 1)
    lh = np.full((nm, 2 * max(n_local, 1)), -1, np.int8)
    lpos = np.zeros(nm, np.int64)
    w = np.zeros((nm, dim + 1), np.float64)
    q = np.zeros((nm, dim + 1), np.float64)  # cumulative penalty actually applied
    u = np.zeros(nm, np.float64)  # total penalty that could have been applied
    lam = np.full(nm, lam0, np.float64)
    steps = np.zeros(nm, np.int64)
    dep_pos = np.full((nm, k_deploy), -1, np.int64)
    dep_w = np.zeros((nm, k_deploy), np.int64)
    dep_b = np.zeros(nm, np.int64)
    wq = (1 << (weight_bits - 1)) - 1
    cmax = (1 << chooser_bits) - 1
    chooser = np.zeros(nm, np.int64)
    active = np.zeros(nm, np.int64)
    x = np.zeros(dim, np.float64)
    out = base_pred.copy()
    nnz_out = np.zeros(nm, np.int64)
    for i in range(n):
        if cond[i] == 0:
            continue
        m = model_of[branch_id[i]]
        x_t = np.int8(1) if taken[i] != 0 else np.int8(-1)
        if m >= 0:
            lp = lpos[m]
            for j in range(n_global):
                x[j] = g2[pos + j]
            for j in range(n_local):
                x[n_global + j] = lh[m, lp + j]
            # deployed compact model prediction
            s = dep_b[m]
            for qq in range(k_deploy):
                d = dep_pos[m, qq]
                if d >= 0:
                    s += dep_w[m, qq] * np.int64(x[d])
            sp = 1 if s >= 0 else 0
            if i >= start and steps[m] >= refresh and abs(s) >= threshold \
                    and active[m] != 0:
                out[i] = sp
            if steps[m] >= refresh and sp != base_pred[i]:
                c, a = _chooser_step(chooser[m], active[m], sp == taken[i], cmax,
                                     chooser_penalty)
                chooser[m] = c
                active[m] = a
            # SGD step on the logistic loss, y in {-1, +1}
            yv = 1.0 if taken[i] != 0 else -1.0
            z = w[m, dim]
            for j in range(dim):
                z += w[m, j] * x[j]
            margin = yv * z
            if margin > 30.0:
                g = 0.0
            else:
                g = yv / (1.0 + np.exp(margin))
            steps[m] += 1
            eta = eta0 / (1.0 + steps[m] / 10000.0)
            u[m] += eta * lam[m]
            w[m, dim] += eta * g
            nnz = 0
            for j in range(dim):
                wj = w[m, j] + eta * g * x[j]
                z2 = wj
                if wj > 0.0:
                    wj = max(0.0, wj - (u[m] + q[m, j]))
                elif wj < 0.0:
                    wj = min(0.0, wj + (u[m] - q[m, j]))
                q[m, j] += wj - z2
                w[m, j] = wj
                if wj != 0.0:
                    nnz += 1
            # lambda binary search: keep at most max_nonzero weights
            if steps[m] % 256 == 0:
                if nnz > max_nonzero:
                    lam[m] = min(lam_max, lam[m] * 2.0)
                elif nnz < max_nonzero // 2:
                    lam[m] = max(lam_min, lam[m] / 2.0)
            nnz_out[m] = nnz
            if steps[m] % refresh == 0:
                # deploy the k largest |w| quantised to weight_bits
                for qq in range(k_deploy):
                    dep_pos[m, qq] = -1
                    dep_w[m, qq] = 0
                for qq in range(k_deploy):
                    best = -1
                    bestv = 0.0
                    for j in range(dim):
                        a = abs(w[m, j])
                        if a > bestv:
                            taken_already = False
                            for r in range(qq):
                                if dep_pos[m, r] == j:
                                    taken_already = True
                            if not taken_already:
                                bestv = a
                                best = j
                    if best < 0:
                        break
                    v = int(np.round(w[m, best] * weight_scale))
                    v = wq if v > wq else (-wq if v < -wq else v)
                    dep_pos[m, qq] = best
                    dep_w[m, qq] = v
                vb = int(np.round(w[m, dim] * weight_scale))
                dep_b[m] = wq if vb > wq else (-wq if vb < -wq else vb)
            if n_local > 0:
                lp = lp - 1 if lp > 0 else n_local - 1
                lpos[m] = lp
                lh[m, lp] = x_t
                lh[m, lp + n_local] = x_t
        pos = pos - 1 if pos > 0 else hsize - 1
        g2[pos] = x_t
        g2[pos + hsize] = x_t
    return out, nnz_out, lam
