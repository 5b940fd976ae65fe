"""The evidence's log-likelihood of each draw, in one compiled pass over a block of rows.

Every term is shifted so that its largest value is 0: the log-likelihood of a draw is
at most 0 and its weight exp(loglik) at most 1, so weights never overflow whatever the
evidence, and a draw the evidence rules out weighs exactly 0.
"""

from __future__ import annotations

import math

import numpy as np

from ..numeric import jit
from ..numeric.lookup import ndtr1
from ..priors.evidence import Evidence

KINDS = {"normal": 0, "student_t": 1, "bound": 2, "binomial": 3}


class Likelihood:
    """The evidence as arrays over rows: the kernel's (output x year) rows, then the inputs."""

    def __init__(self, evidence: list[Evidence], model) -> None:
        self.evidence = list(evidence)
        t = model.width
        n_out = len(model.outputs) * t
        e = len(self.evidence)
        self.row = np.zeros(e, dtype=np.intp)
        self.kind = np.zeros(e, dtype=np.intp)
        self.value = np.zeros(e)
        self.scale = np.zeros(e)      # sd; 0 for a hard bound
        self.df = np.zeros(e)
        self.lo = np.full(e, -np.inf)
        self.hi = np.full(e, np.inf)
        self.peak = np.zeros(e)       # binomial: the largest log-likelihood, subtracted
        for i, ev in enumerate(self.evidence):
            if ev.on == "output":
                k = model.output_names.index(ev.target)
                self.row[i] = k * t + (model.years.index(ev.year) if model.years is not None else 0)
            else:
                self.row[i] = n_out + model.input_names.index(ev.target)
            self.kind[i] = KINDS[ev.kind]
            self.scale[i] = ev.sd or 0.0
            if ev.kind in ("normal", "student_t"):
                self.value[i] = ev.value
                self.df[i] = ev.df or 0.0
            elif ev.kind == "bound":
                self.lo[i] = -np.inf if ev.above is None else ev.above
                self.hi[i] = np.inf if ev.below is None else ev.below
            else:
                k_, n = ev.successes, ev.trials
                self.value[i] = k_
                self.df[i] = n
                # log(k / n) and log(1 - k / n) from the whole numbers: k / n in floating
                # point can round to 1 (then log1p(-1) fails) when trials are huge.
                self.peak[i] = ((k_ * (math.log(k_) - math.log(n)) if k_ else 0.0)
                                + ((n - k_) * (math.log(n - k_) - math.log(n)) if n - k_ else 0.0))

    def __call__(self, rows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Each draw's log-likelihood (at most 0) from rows (variables x draws)."""
        out = np.empty(rows.shape[1]) if out is None else out
        _loglik(rows, self.row, self.kind, self.value, self.scale, self.df, self.lo, self.hi, self.peak, out)
        return out

    def terms(self, rows: np.ndarray) -> np.ndarray:
        """(evidence, draws): each piece's own log-likelihood, for the report."""
        out = np.empty((len(self.evidence), rows.shape[1]))
        for i in range(len(self.evidence)):
            s = slice(i, i + 1)
            _loglik(rows, self.row[s], self.kind[s], self.value[s], self.scale[s], self.df[s], self.lo[s],
                    self.hi[s], self.peak[s], out[i])
        return out


@jit.njit(nogil=True)
def log_ndtr(z):  # pragma: no cover - compiled
    """log Phi(z), accurate far into the lower tail (Phi underflows below z = -38)."""
    if z > -37.0:
        return math.log(ndtr1(z))  # erfc keeps its relative accuracy this far out
    # Asymptotic series: Phi(z) = phi(z) / -z * (1 - 1/z^2 + 3/z^4 - 15/z^6 + ...), its
    # next term below 1e-10 here.
    z2 = z * z
    return (-0.5 * z2 - math.log(-z) - 0.9189385332046727
            + math.log(1.0 - 1.0 / z2 + 3.0 / (z2 * z2) - 15.0 / (z2 * z2 * z2)))


@jit.njit(nogil=True)
def _loglik(x, row, kind, value, scale, df, lo, hi, peak, out):  # pragma: no cover - compiled
    n = x.shape[1]
    for i in range(n):
        out[i] = 0.0
    for e in range(row.shape[0]):
        r = x[row[e]]
        k = kind[e]
        s = scale[e]
        if k == 0:
            for i in range(n):
                z = (r[i] - value[e]) / s
                out[i] -= 0.5 * z * z
        elif k == 1:
            nu = df[e]
            c = 0.5 * (nu + 1.0)
            for i in range(n):
                z = (r[i] - value[e]) / s
                out[i] -= c * math.log1p(z * z / nu)
        elif k == 2:
            a, b = lo[e], hi[e]
            if s == 0.0:
                for i in range(n):
                    if not (r[i] >= a and r[i] <= b):
                        out[i] = -np.inf
            else:
                for i in range(n):
                    v = 0.0
                    if a > -np.inf:
                        v += log_ndtr((r[i] - a) / s)
                    if b < np.inf:
                        v += log_ndtr((b - r[i]) / s)
                    out[i] += v
        else:
            kk, nn, pk = value[e], df[e], peak[e]
            for i in range(n):
                p = r[i]
                if p < 0.0 or p > 1.0 or (kk > 0 and p == 0.0) or (kk < nn and p == 1.0):
                    out[i] = -np.inf
                else:
                    v = 0.0
                    if kk > 0:
                        v += kk * math.log(p)
                    if nn - kk > 0:
                        v += (nn - kk) * math.log1p(-p)
                    out[i] += v - pk
