"""Every prior's inverse CDF over a block of uniforms: the marginals of the joint draw.

Priors with a compiled table (normal, lognormal, beta, PERT) are looked up in one
compiled pass over all their rows, clipped to the model's bounds on the way; the rest
use their own `ppf_into`. One pass instead of a Python call per prior per chunk: the
calls held the GIL, so two workers queued for it.
"""

from __future__ import annotations

import numpy as np

from . import _jit
from .model.spec import Input
from .priors import PriorSet
from .priors.families import lookup


class Marginals:
    """The inverse CDFs of `specs`' priors, in specs order, ready for blocks of draws."""

    def __init__(self, priors: PriorSet, specs: tuple[Input, ...]) -> None:
        self.fams = [priors.priors[s.name].family for s in specs]
        self.specs = specs
        tab = [(j, f.tabulated()) for j, f in enumerate(self.fams)]
        tab = [(j, t) for j, t in tab if t is not None]
        self.rows = np.array([j for j, _ in tab], dtype=np.intp)
        self.tables = [t for _, t in tab]
        ts = [t.table for t in self.tables]
        self.x = _stack([t.x for t in ts])
        self.slope = _stack([t.slope for t in ts])
        self.logit = np.array([t.logit for t in ts], dtype=np.bool_)
        self.ty = _stack([t.ty for t in ts])
        self.loc = np.array([t.loc for t in self.tables], dtype=float)
        self.scale = np.array([t.scale for t in self.tables], dtype=float)
        self.lo = np.array([specs[j].lower for j in self.rows], dtype=float)
        self.hi = np.array([specs[j].upper for j in self.rows], dtype=float)
        done = set(self.rows.tolist())
        self.others = [j for j in range(len(specs)) if j not in done]

    def __call__(self, u: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out[j] = prior j's inverse CDF at u[j], inside the model's bounds; returns out."""
        n = u.shape[1]
        tails = np.empty((len(self.rows), n), dtype=np.intp)
        counts = np.zeros(len(self.rows), dtype=np.intp)
        if len(self.rows):
            _lookup_rows(u, out, self.rows, self.x, self.slope, self.logit, self.ty, self.loc,
                         self.scale, self.lo, self.hi, tails, counts)
        for p in np.flatnonzero(counts):
            j, t = self.rows[p], self.tables[p]
            t.table.fill_tails(u[j], out[j], tails[p, :counts[p]], t.loc, t.scale, self.lo[p], self.hi[p])
        for j in self.others:
            x = self.fams[j].ppf_into(u[j], out[j])
            lo, hi = self.fams[j].support()
            spec = self.specs[j]
            if lo < spec.lower or hi > spec.upper:
                np.clip(x, spec.lower, spec.upper, out=x)
        return out


def _stack(rows: list[np.ndarray]) -> np.ndarray:
    return np.array(rows) if rows else np.zeros((0, 1))


@_jit.njit(nogil=True)
def _lookup_rows(u, out, rows, x, slope, logit, ty, loc, scale, lo, hi, tails, counts):  # pragma: no cover
    for p in range(rows.shape[0]):
        j = rows[p]
        counts[p] = lookup(u[j], x[p], slope[p], logit[p], ty[p], loc[p], scale[p], lo[p], hi[p],
                           out[j], tails[p])
