"""The compiled weighted reduction of a block of draws (the posterior's, under evidence).

Like riskmc.numeric.fused for the prior: each output adds to what its arrays hold, float sums
run in a fixed order. Two weights per draw, `w` and `w2` (w squared for a draw of the
run; the change in both when the Pareto-smoothed tail replaces a draw's weight), so the
same pass serves the run and the correction of its tail.
"""

from __future__ import annotations

import numpy as np

from . import jit


@jit.njit(nogil=True, fastmath=False)
def reduce_weighted(x, w, w2, lo, inv_width, center, nbins, atom_var, atom_val,
                    hist, sums, atoms, idx):  # pragma: no cover - compiled
    """For each variable j of x (V, n), with d = x - center[j]:
    sums[:, j] += (sum w d, sum w d^2, sum w2 d, sum w2 d^2, sum w2 d^3, sum w2 d^4);
    hist[j, bin, :] += (w, w2); atoms[a, :] += (w, w2) of draws exactly at atom a."""
    v, n = x.shape
    m = n - n % 2
    top = float(nbins)
    for j in range(v):
        row = x[j]
        c = center[j]
        # Two interleaved partial sums: the adds of one lane do not wait on the other's.
        a0 = a1 = b0 = b1 = c0 = c1 = e0 = e1 = f0 = f1 = g0 = g1 = 0.0
        for i in range(0, m, 2):
            d0 = row[i] - c
            d1 = row[i + 1] - c
            u0, u1 = w[i] * d0, w[i + 1] * d1
            a0 += u0
            a1 += u1
            b0 += u0 * d0
            b1 += u1 * d1
            s0, s1 = w2[i] * d0, w2[i + 1] * d1
            c0 += s0
            c1 += s1
            s0 *= d0
            s1 *= d1
            e0 += s0
            e1 += s1
            s0 *= d0
            s1 *= d1
            f0 += s0
            f1 += s1
            g0 += s0 * d0
            g1 += s1 * d1
        for i in range(m, n):
            d0 = row[i] - c
            u0 = w[i] * d0
            a0 += u0
            b0 += u0 * d0
            s0 = w2[i] * d0
            c0 += s0
            s0 *= d0
            e0 += s0
            s0 *= d0
            f0 += s0
            g0 += s0 * d0
        sums[0, j] += a0 + a1
        sums[1, j] += b0 + b1
        sums[2, j] += c0 + c1
        sums[3, j] += e0 + e1
        sums[4, j] += f0 + f1
        sums[5, j] += g0 + g1
        # Bins first (branch-free, so it vectorises), weights second, as in _fused.
        base = lo[j]
        iw = inv_width[j]
        for i in range(n):
            k = (row[i] - base) * iw
            k = k if k >= 0.0 else -1.0
            k = k if k < top else top
            idx[i] = np.int64(k) + 1
        h = hist[j]
        for i in range(n):
            b = idx[i]
            h[b, 0] += w[i]
            h[b, 1] += w2[i]
    for a in range(atom_var.shape[0]):
        j = atom_var[a]
        target = atom_val[a]
        s0 = s1 = 0.0
        for i in range(n):
            if x[j, i] == target:
                s0 += w[i]
                s1 += w2[i]
        atoms[a, 0] += s0
        atoms[a, 1] += s1


@jit.njit(nogil=True)
def weights(ll, w, w2):  # pragma: no cover - compiled
    """w = exp(ll), w2 = w^2; returns (sum w, sum w2) in a fixed order."""
    s = s2 = 0.0
    for i in range(ll.shape[0]):
        e = np.exp(ll[i])
        w[i] = e
        w2[i] = e * e
        s += e
        s2 += e * e
    return s, s2


@jit.njit(nogil=True)
def coarse_mass(x, w, lo, step, mass):  # pragma: no cover - compiled
    """mass[j, k] += the weights of the draws of variable j in coarse bin k (of width
    step[j] from lo[j]; below the range or NaN: the first bin, above it: the last);
    each bin's weights added in draw order, as np.bincount adds them."""
    v, n = x.shape
    last = mass.shape[1] - 1
    for j in range(v):
        s = step[j]
        if not s > 0.0:  # no width to divide by (a range of one value): one bin holds all
            for i in range(n):
                mass[j, 0] += w[i]
            continue
        for i in range(n):
            k = (x[j, i] - lo[j]) / s
            k = k if k > 0.0 else 0.0
            k = k if k < last else float(last)
            mass[j, np.int64(k)] += w[i]
