"""The compiled loops that turn uniforms into inputs: the copula and the tabulated inverse CDFs.

They call the normal CDF and its inverse (AS241), riskmc.numeric.normal's scalar functions
compiled here. Each loop releases the GIL, so worker threads run it in parallel.
"""

from __future__ import annotations

import math

from . import jit, normal

# The bulk of a table: u in [EDGE, 1 - EDGE] on a uniform grid of BULK steps.
BULK, EDGE = 2 ** 14, 1 / 64
# Beta tails: logit(x) tabulated on a uniform grid of logit(u) over [-30, 30].
LOGIT_LO, LOGIT_HI, LOGIT_STEPS = -30.0, 30.0, 2 ** 13
# How a row's tails are drawn: the exact normal inverse, the logit table (logit(x) on the
# logit(u) grid: beta), or the plain table (x itself on the logit(u) grid: pooled experts).
TAILS_NORMAL, TAILS_LOGIT, TAILS_PLAIN = 0, 1, 2
SQRT2 = math.sqrt(2.0)


# Phi^-1 (Wichura's AS241) and Phi, compiled from their one source: the same numbers as
# normal.ndtri and normal.ndtr.
ndtri1 = jit.njit(nogil=True)(normal.ndtri_scalar)
ndtr1 = jit.njit(nogil=True)(normal.ndtr_scalar)


@jit.njit(nogil=True)
def copula(u, rows, chol, z):  # pragma: no cover - compiled
    """Correlate rows `rows` of u (priors x draws) in place through a Gaussian copula:
    u <- Phi(chol @ Phi^-1(u)), draw by draw. `z` is scratch of len(rows)."""
    k = rows.shape[0]
    for i in range(u.shape[1]):
        for a in range(k):
            z[a] = ndtri1(u[rows[a], i])
        for a in range(k):
            s = 0.0
            for b in range(k):
                s += chol[a, b] * z[b]
            u[rows[a], i] = ndtr1(s)


@jit.njit(nogil=True)
def lookup_rows(u, out, rows, which, x, tails, ty, loc, scale, exp_, lo, hi):  # pragma: no cover - compiled
    """out[j] = clip(inverse CDF of row p at u[j], lo, hi) for each tabulated row p, j = rows[p],
    looked up in table which[p] of x and ty (priors of one shape share a table, and its cache lines).

    The bulk is a table lookup; the tails are the exact normal inverse (normal and
    lognormal rows) or a table on the logit(u) grid: of logit(x) (beta rows) or of x
    itself (pooled experts). A lognormal row is exp of its normal.
    """
    bulk = BULK
    edge = EDGE
    top = 1.0 - edge
    step = (LOGIT_HI - LOGIT_LO) / LOGIT_STEPS
    for p in range(rows.shape[0]):
        j = rows[p]
        xp, tp = x[which[p]], ty[which[p]]
        for k in range(u.shape[1]):
            v = u[j, k]
            if edge <= v <= top:
                pos = v * bulk
                i = int(pos)
                # The step from the neighbour, not from a table of steps: the same bits,
                # and half the memory each draw reads (the tables outgrow a core's cache).
                r = xp[i] + (pos - i) * (xp[i + 1] - xp[i])
            elif tails[p] == TAILS_NORMAL:
                r = ndtri1(v)
            else:
                pos = (math.log(v / (1.0 - v)) - LOGIT_LO) / step
                if pos <= 0.0:
                    y = tp[0]
                elif pos >= LOGIT_STEPS:
                    y = tp[LOGIT_STEPS]
                else:
                    i = int(pos)
                    y, d = tp[i], tp[i + 1] - tp[i]
                    if math.isfinite(d):
                        y += (pos - i) * d
                    elif pos > i and math.isfinite(y):
                        y = tp[i + 1]  # next to a tail that ends at 0 or 1: as np.interp does
                r = y if tails[p] == TAILS_PLAIN else 1.0 / (1.0 + math.exp(-y))
            val = loc[p] + scale[p] * r
            if exp_[p]:
                val = math.exp(val)
            out[j, k] = min(max(val, lo[p]), hi[p])
