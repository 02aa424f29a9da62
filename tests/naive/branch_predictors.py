"""Slow, obviously-correct pure-Python branch predictors (references for the Numba kernels).

Each takes plain Python lists (pc as int, taken as 0/1, cond as bool) and returns the list of
predictions (0 for non-conditional branches), with the same semantics as the kernels:
predict, then update, with the global history holding conditional outcomes only.
"""


def naive_bimodal(pcs, taken, cond, log_size=15, shift=2, init=2):
    table = [init] * (1 << log_size)
    mask = (1 << log_size) - 1
    out = []
    for pc, t, c in zip(pcs, taken, cond):
        if not c:
            out.append(0)
            continue
        i = (pc >> shift) & mask
        out.append(1 if table[i] >= 2 else 0)
        table[i] = min(3, table[i] + 1) if t else max(0, table[i] - 1)
    return out


def naive_gshare(pcs, taken, cond, log_size=15, hist_len=15, shift=2, init=2):
    table = [init] * (1 << log_size)
    history = []  # most recent outcome last
    out = []
    for pc, t, c in zip(pcs, taken, cond):
        if not c:
            out.append(0)
            continue
        ghr = 0
        for bit in history[-hist_len:]:
            ghr = (ghr << 1) | bit
        i = ((pc >> shift) ^ ghr) % (1 << log_size)
        out.append(1 if table[i] >= 2 else 0)
        table[i] = min(3, table[i] + 1) if t else max(0, table[i] - 1)
        history.append(t)
    return out


def naive_perceptron(pcs, taken, cond, n_perceptrons=8, hist_len=8, weight_bits=8, theta=None,
                     shift=2):
    theta = int(1.93 * hist_len + 14) if theta is None else theta
    wmax, wmin = (1 << (weight_bits - 1)) - 1, -(1 << (weight_bits - 1))
    weights = [[0] * (hist_len + 1) for _ in range(n_perceptrons)]
    history = [1] * hist_len  # +-1, most recent first
    out = []
    for pc, t, c in zip(pcs, taken, cond):
        if not c:
            out.append(0)
            continue
        w = weights[(pc >> shift) % n_perceptrons]
        y = w[0] + sum(wj * xj for wj, xj in zip(w[1:], history))
        p = 1 if y >= 0 else 0
        out.append(p)
        x = 1 if t else -1
        if p != t or abs(y) <= theta:
            w[0] = max(wmin, min(wmax, w[0] + x))
            for j in range(hist_len):
                w[j + 1] = max(wmin, min(wmax, w[j + 1] + x * history[j]))
        history = [x] + history[:-1]
    return out


def naive_sparse_overlay(taken, cond, branch_id, base_pred, model_of, positions, weights, bias,
                         n_global, n_local, threshold, chooser_bits, penalty, start):
    """Reference of the sparse override (global history of conditional outcomes only).

    Chooser per model: +1 when the model alone is right, -penalty when the base alone is
    right (floor 0, cap 2^bits - 1); the model overrides from the moment the counter saturates
    until it falls below half of its range.
    """
    ghist = []
    local = {}
    cmax = (1 << chooser_bits) - 1
    chooser = {}
    active = {}
    out = list(base_pred)
    for i, (t, c, b) in enumerate(zip(taken, cond, branch_id)):
        if not c:
            continue
        m = model_of[b]
        x_t = 1 if t else -1
        if m >= 0:
            g = (ghist[::-1] + [-1] * n_global)[:n_global]
            lh = (local.get(m, [])[::-1] + [-1] * n_local)[:n_local]
            x = g + lh
            s = bias[m] + sum(w * x[d] for d, w in zip(positions[m], weights[m]) if d >= 0)
            sp = 1 if s >= 0 else 0
            ch = chooser.get(m, 0)
            on = active.get(m, False)
            if i >= start and abs(s) >= threshold and on:
                out[i] = sp
            if sp != base_pred[i]:
                ch = min(cmax, ch + 1) if sp == t else max(0, ch - penalty)
                if ch == cmax:
                    on = True
                elif ch < (cmax + 1) / 2:
                    on = False
            chooser[m] = ch
            active[m] = on
            local.setdefault(m, []).append(x_t)
        ghist.append(x_t)
    return out


def naive_cachegrind(pcs, taken, cond):
    """valgrind's do_cond_branch_predict (cachegrind/cg_branchpred.c), transcribed.

    16K auto-zeroed 2-bit counters; index = (7 history bits << 7) | (7 low address bits);
    the shift register holds every conditional outcome.
    """
    counters = [0] * (1 << 14)
    shift_register = 0
    out = []
    for pc, t, c in zip(pcs, taken, cond):
        if not c:
            out.append(0)
            continue
        indx = ((shift_register & 0x7F) << 7) | (pc & 0x7F)
        out.append(1 if counters[indx] >= 2 else 0)
        shift_register = (shift_register << 1) | (1 if t else 0)
        if t:
            counters[indx] = min(3, counters[indx] + 1)
        else:
            counters[indx] = max(0, counters[indx] - 1)
    return out
