"""The one compiled loop: a chunk's moments, range, histogram and atom counts in one pass.

numpy needs a dozen passes over a chunk's (variables x draws) block for these; one pass
in numba reads it once and releases the GIL, so worker threads truly run in parallel.
Integer counts are exact; the float sums run in a fixed order, so results are the same
on every run.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True, fastmath=False)
def reduce_block(x, lo, inv_width, center, nbins, atom_var, atom_val,
                 hist, sums, vmin, vmax, atoms):  # pragma: no cover - compiled
    v, n = x.shape
    for j in range(v):
        base = lo[j]
        iw = inv_width[j]
        c = center[j]
        s1 = 0.0
        s2 = 0.0
        s4 = 0.0
        mn = np.inf
        mx = -np.inf
        for i in range(n):
            val = x[j, i]
            d = val - c
            d2 = d * d
            s1 += d
            s2 += d2
            s4 += d2 * d2
            if val < mn:
                mn = val
            if val > mx:
                mx = val
            k = (val - base) * iw
            if not k >= 0.0:  # below the range (or NaN): the underflow bin
                hist[j, 0] += 1
            elif k >= nbins:
                hist[j, nbins + 1] += 1
            else:
                hist[j, int(k) + 1] += 1
        sums[0, j] = s1
        sums[1, j] = s2
        sums[2, j] = s4
        vmin[j] = mn
        vmax[j] = mx
    for a in range(atom_var.shape[0]):
        j = atom_var[a]
        target = atom_val[a]
        m = 0
        for i in range(n):
            if x[j, i] == target:
                m += 1
        atoms[a] = m
