"""Claims as events on the model's outputs: per draw, does each one hold?"""

from __future__ import annotations

import numpy as np

from ..numeric import jit
from ..priors import Claim


def hits(claim: Claim, outputs: dict[str, np.ndarray], years) -> np.ndarray:
    """Per draw: does the claim hold? (outputs: name -> (draws, years), or (draws,) for a
    model without years, `years` None; a claim written as an event needs the kernel's rows)"""
    if claim.event is not None:
        raise ValueError("an event claim is evaluated on rows: use ClaimCounter")
    v = np.asarray(outputs[claim.output], dtype=float)
    if years is None:
        v = v.reshape(len(v), 1)
    else:
        years = np.asarray(years)
        v = v[:, [int(np.flatnonzero(years == y)[0]) for y in claim.years]]
    if claim.rises:
        return np.all(np.diff(v, axis=1) > 0, axis=1)
    ok = np.ones(v.shape, dtype=bool)
    if claim.above is not None:
        ok &= v > claim.above
    if claim.below is not None:
        ok &= v < claim.below
    return np.all(ok, axis=1)


class ClaimCounter:
    """How many draws of a block satisfy each claim, in order: the per-chunk reduction.

    Works on the kernel's (variables x draws) rows, output-major then year, in one
    compiled pass; `hits` is the same event, per draw, on named outputs. `years` is the
    model's, or None for a model without years (one row per output).
    """

    def __init__(self, claims: list[Claim], outputs: tuple[str, ...], years) -> None:
        years = [0] if years is None else [int(y) for y in years]
        c = len(claims)
        # Claims written as events (riskmc.model.events) are evaluated with numpy on the rows;
        # the others in one compiled pass, where these count nothing.
        self.events = [(k, cl.event) for k, cl in enumerate(claims) if cl.event is not None]
        self.rows = np.full((c, len(years)), -1, dtype=np.intp)
        self.count = np.zeros(c, dtype=np.intp)
        self.above = np.full(c, -np.inf)
        self.below = np.full(c, np.inf)
        self.rises = np.zeros(c, dtype=np.bool_)
        for k, claim in enumerate(claims):
            if claim.event is not None:  # never holds in the compiled pass: row 0 above +inf
                self.rows[k, 0], self.count[k], self.above[k] = 0, 1, np.inf
                continue
            base = outputs.index(claim.output) * len(years)
            cols = [base + years.index(y) for y in claim.years] if claim.years else [base]
            self.rows[k, :len(cols)] = cols
            self.count[k] = len(cols)
            self.above[k] = -np.inf if claim.above is None else claim.above
            self.below[k] = np.inf if claim.below is None else claim.below
            self.rises[k] = claim.rises

    @property
    def uses_inputs(self) -> bool:
        return any(e.uses_inputs for _, e in self.events)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        out = np.zeros(len(self.count), dtype=np.int64)
        _count(rows, self.rows, self.count, self.above, self.below, self.rises, out,
               np.empty(rows.shape[1], dtype=np.bool_))
        for k, e in self.events:
            out[k] = int(np.count_nonzero(e.mask(rows)))
        return out

    def weighted(self, rows: np.ndarray, w: np.ndarray, w2: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out[c] += (sum of w, sum of w2) over the draws where claim c holds."""
        _count_weighted(rows, self.rows, self.count, self.above, self.below, self.rises, w, w2, out,
                        np.empty(rows.shape[1], dtype=np.bool_))
        for k, e in self.events:
            m = e.mask(rows)
            out[k, 0] += float(np.sum(w[m]))
            out[k, 1] += float(np.sum(w2[m]))
        return out


@jit.njit(nogil=True)
def _holding(x, c, rows, count, above, below, rises, ok):  # pragma: no cover - compiled
    """ok[i] = whether claim c holds for draw i: one branch-free pass per year it names
    (a branch per draw, taken at random, cost more than the comparisons)."""
    n = x.shape[1]
    for i in range(n):
        ok[i] = True
    if rises[c]:
        for t in range(1, count[c]):
            a = x[rows[c, t - 1]]
            b = x[rows[c, t]]
            for i in range(n):
                ok[i] &= b[i] > a[i]
    else:
        lo = above[c]
        hi = below[c]
        for t in range(count[c]):
            r = x[rows[c, t]]
            for i in range(n):
                v = r[i]
                ok[i] &= (v > lo) & (v < hi)


@jit.njit(nogil=True)
def _count(x, rows, count, above, below, rises, out, ok):  # pragma: no cover - compiled
    for c in range(rows.shape[0]):
        _holding(x, c, rows, count, above, below, rises, ok)
        m = 0
        for i in range(x.shape[1]):
            m += ok[i]
        out[c] += m


@jit.njit(nogil=True)
def _count_weighted(x, rows, count, above, below, rises, w, w2, out, ok):  # pragma: no cover - compiled
    for c in range(rows.shape[0]):
        _holding(x, c, rows, count, above, below, rises, ok)
        s = s2 = 0.0
        for i in range(x.shape[1]):
            # Adding 0.0 where it fails leaves the sum's bits as skipping the draw would.
            s += w[i] if ok[i] else 0.0
            s2 += w2[i] if ok[i] else 0.0
        out[c, 0] += s
        out[c, 1] += s2
