"""Naive tile-by-tile reference for the N:M FPGA GEMM schedule (hw.nm._kernels).

Plain Python, one array tile at a time, one M-group at a time: counts the cycles each array
tile needs by walking its reduction chunk group by group and PE lane by lane, lists every DRAM
transfer with the buffer tile it belongs to, then replays a double-buffered timeline.
"""

from __future__ import annotations

import math


def chunk_cycles(kk, lanes, sparse, nz_n, nz_m, sel):
    """Cycles for one PE row to consume a reduction chunk of kk elements."""
    if not sparse:
        macs = kk
        return math.ceil(macs / lanes)
    kept = 0
    for g0 in range(0, kk, nz_m):
        group = min(nz_m, kk - g0)
        kept += min(nz_n, group)
    cycles = math.ceil(kept / lanes)
    if sel > 0:
        cycles = max(cycles, math.ceil(kk / sel))
    return cycles


def schedule(m, n, k, *, rows, cols, lanes, fill, drain, tm, tn, tk, order, sparse, nz_n=1,
             nz_m=1, sel=0, w_bytes, a_bytes, o_bytes, bw):
    """Return dict(total, compute, dram, array_tiles, buffer_tiles)."""
    m_tiles = list(range(0, m, tm))
    n_tiles = list(range(0, n, tn))
    k_tiles = list(range(0, k, tk))
    if order == 0:
        outer = [(i, j) for i in m_tiles for j in n_tiles]
    else:
        outer = [(i, j) for j in n_tiles for i in m_tiles]
    tiles = [(i, j, kk0) for (i, j) in outer for kk0 in k_tiles]
    loaded_w, loaded_x = None, None
    computes, loads, stores = [], [], []
    array_tiles = 0
    for (i, j, k0) in tiles:
        mm, nn, kk = min(tm, m - i), min(tn, n - j), min(tk, k - k0)
        load = 0.0
        if loaded_w != (i, k0):
            load += mm * kk * w_bytes
            loaded_w = (i, k0)
        if loaded_x != (k0, j):
            load += kk * nn * a_bytes
            loaded_x = (k0, j)
        cyc = fill
        for r0 in range(0, mm, rows):
            for c0 in range(0, nn, cols):
                array_tiles += 1
                cyc += max(chunk_cycles(kk, lanes, sparse, nz_n, nz_m, sel), drain)
        store = mm * nn * o_bytes if k0 + tk >= k else 0.0
        computes.append(cyc)
        loads.append(load)
        stores.append(store)
    # timeline: transfer of tile t (its loads + the previous tile's store) overlaps compute t-1
    total = loads[0] / bw
    for t in range(1, len(tiles)):
        transfer = (loads[t] + stores[t - 1]) / bw
        total += max(computes[t - 1], transfer)
    total += computes[-1] + stores[-1] / bw
    return {"total": total, "compute": float(sum(computes)),
            "dram": float(sum(loads) + sum(stores)), "array_tiles": array_tiles,
            "buffer_tiles": len(tiles)}
