"""The compiled reduction of a block of draws: moments, range, histogram and atom counts.

Every output adds to what its arrays already hold, so a chunk is reduced a sub-block
at a time (see reduce.SUB_BLOCK) in a fixed order.

numpy needs a dozen passes over a chunk's (variables x draws) block for these; numba
reads each variable's row in two tight passes and releases the GIL, so worker threads
truly run in parallel. Integer counts are exact; the float sums run in a fixed order
(four interleaved partial sums, added pairwise at the end), so results are the same on
every run and every machine.
"""

from __future__ import annotations

import numpy as np

from . import jit


@jit.njit(nogil=True, fastmath=False)
def reduce_block(x, lo, inv_width, center, nbins, atom_var, atom_val,
                 hist, sums, vmin, vmax, atoms, idx):  # pragma: no cover - compiled
    v, n = x.shape
    m = n - n % 4
    top = float(nbins)
    for j in range(v):
        row = x[j]
        c = center[j]
        # Four independent partial sums and extremes: the additions of one lane no
        # longer wait on the previous draw's, which was the loop's bottleneck.
        p0 = p1 = p2 = p3 = 0.0
        q0 = q1 = q2 = q3 = 0.0
        r0 = r1 = r2 = r3 = 0.0
        a0 = a1 = a2 = a3 = np.inf
        b0 = b1 = b2 = b3 = -np.inf
        for i in range(0, m, 4):
            v0, v1, v2, v3 = row[i], row[i + 1], row[i + 2], row[i + 3]
            # Comparisons, not min(): a NaN is skipped, as the histogram's underflow takes it.
            a0 = v0 if v0 < a0 else a0
            a1 = v1 if v1 < a1 else a1
            a2 = v2 if v2 < a2 else a2
            a3 = v3 if v3 < a3 else a3
            b0 = v0 if v0 > b0 else b0
            b1 = v1 if v1 > b1 else b1
            b2 = v2 if v2 > b2 else b2
            b3 = v3 if v3 > b3 else b3
            d0, d1, d2, d3 = v0 - c, v1 - c, v2 - c, v3 - c
            p0 += d0
            p1 += d1
            p2 += d2
            p3 += d3
            e0, e1, e2, e3 = d0 * d0, d1 * d1, d2 * d2, d3 * d3
            q0 += e0
            q1 += e1
            q2 += e2
            q3 += e3
            r0 += e0 * e0
            r1 += e1 * e1
            r2 += e2 * e2
            r3 += e3 * e3
        for i in range(m, n):
            v0 = row[i]
            a0 = v0 if v0 < a0 else a0
            b0 = v0 if v0 > b0 else b0
            d0 = v0 - c
            e0 = d0 * d0
            p0 += d0
            q0 += e0
            r0 += e0 * e0
        sums[0, j] += (p0 + p1) + (p2 + p3)
        sums[1, j] += (q0 + q1) + (q2 + q3)
        sums[2, j] += (r0 + r1) + (r2 + r3)
        vmin[j] = min(vmin[j], min(min(a0, a1), min(a2, a3)))
        vmax[j] = max(vmax[j], max(max(b0, b1), max(b2, b3)))
        # Bins first (branch-free, so it vectorises), counts second: one loop doing
        # both stalled on its own branches.
        base = lo[j]
        iw = inv_width[j]
        for i in range(n):
            k = (row[i] - base) * iw
            k = k if k >= 0.0 else -1.0  # below the range, or NaN: the underflow bin
            k = k if k < top else top    # at or above the top: the overflow bin
            idx[i] = np.int32(k) + 1  # int32: a double converts to it in vector registers
        counts = hist[j]
        for i in range(n):
            counts[idx[i]] += 1
    for a in range(atom_var.shape[0]):
        j = atom_var[a]
        target = atom_val[a]
        hits = 0
        for i in range(n):
            if x[j, i] == target:
                hits += 1
        atoms[a] += hits


@jit.njit(nogil=True)
def count_below(x, levels, below):  # pragma: no cover - compiled
    """below[j, k] += draws of variable j at or below levels[j, k] (batch-means MCSE)."""
    v, n = x.shape
    for j in range(v):
        row = x[j]
        for k in range(levels.shape[1]):
            q = levels[j, k]
            m = 0
            for i in range(n):
                m += row[i] <= q
            below[j, k] += m
