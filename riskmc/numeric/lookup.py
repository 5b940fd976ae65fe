"""The compiled loops that turn uniforms into inputs: the copula and the tabulated inverse CDFs.

They call the normal CDF and its inverse (AS241, as in riskmc.numeric.normal) compiled in this
same file: numba's cache watches the file a function is defined in, so a kernel and
every function it calls live together here. Each loop releases the GIL, so worker
threads run it in parallel.
"""

from __future__ import annotations

import math

from . import jit

# The bulk of a table: u in [EDGE, 1 - EDGE] on a uniform grid of BULK steps.
BULK, EDGE = 2 ** 14, 1 / 64
# Beta tails: logit(x) tabulated on a uniform grid of logit(u) over [-30, 30].
LOGIT_LO, LOGIT_HI, LOGIT_STEPS = -30.0, 30.0, 2 ** 13
# How a row's tails are drawn: the exact normal inverse, the logit table (logit(x) on the
# logit(u) grid: beta), or the plain table (x itself on the logit(u) grid: pooled experts).
TAILS_NORMAL, TAILS_LOGIT, TAILS_PLAIN = 0, 1, 2
SQRT2 = math.sqrt(2.0)


@jit.njit(nogil=True)
def ndtri1(p):  # pragma: no cover - compiled
    """Wichura's AS241: x with Phi(x) = p (the same numbers as riskmc.numeric.normal.ndtri)."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * (((((((2.5090809287301226727e+3 * r + 3.3430575583588128105e+4) * r
                        + 6.7265770927008700853e+4) * r + 4.5921953931549871457e+4) * r
                      + 1.3731693765509461125e+4) * r + 1.9715909503065514427e+3) * r
                    + 1.3314166789178437745e+2) * r + 3.3871328727963666080e+0) / (
            ((((((5.2264952788528545610e+3 * r + 2.8729085735721942674e+4) * r
                 + 3.9307895800092710610e+4) * r + 2.1213794301586595867e+4) * r
               + 5.3941960214247511077e+3) * r + 6.8718700749205790830e+2) * r
             + 4.2313330701600911252e+1) * r + 1.0)
    r = p if q < 0.0 else 1.0 - p
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r -= 1.6
        x = (((((((7.7454501427834140764e-4 * r + 2.2723844989269184583e-2) * r
                  + 2.4178072517745061177e-1) * r + 1.2704582524523683826e+0) * r
                + 3.6478483247632046050e+0) * r + 5.7694972214606914055e+0) * r
              + 4.6303378461565452959e+0) * r + 1.4234371107496835773e+0) / (
            ((((((1.0507500716444168432e-9 * r + 5.4759380849953449460e-4) * r
                 + 1.5198666563616457197e-2) * r + 1.4810397642748007459e-1) * r
               + 6.8976733498510000455e-1) * r + 1.6763848301838038494e+0) * r
             + 2.0531916266377588219e+0) * r + 1.0)
    else:
        r -= 5.0
        x = (((((((2.0103343992922881327e-7 * r + 2.7115555687434875782e-5) * r
                  + 1.2426609473880784386e-3) * r + 2.6532189526576123093e-2) * r
                + 2.9656057182850489123e-1) * r + 1.7848265399172913358e+0) * r
              + 5.4637849111641143699e+0) * r + 6.6579046435011037772e+0) / (
            ((((((2.0442631033899397856e-15 * r + 1.4215117583164458887e-7) * r
                 + 1.8463183175100546818e-5) * r + 7.8686913114561325910e-4) * r
               + 1.4875361290850614853e-2) * r + 1.3692988092273580531e-1) * r
             + 5.9983220655588793769e-1) * r + 1.0)
    return -x if q < 0.0 else x


@jit.njit(nogil=True)
def ndtr1(x):  # pragma: no cover - compiled
    return 0.5 * math.erfc(-x / SQRT2)


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
