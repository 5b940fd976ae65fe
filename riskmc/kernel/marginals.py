"""Every prior's inverse CDF over a block of uniforms: the marginals of the joint draw.

Priors whose family has a table (normal, lognormal, beta, PERT, pools: `Family.lookup`) are looked up in one
compiled pass over all their rows, clipped to the model's bounds on the way; the rest
use their own `ppf_into`. One pass instead of a Python call per prior per chunk: the
calls held the GIL, so two workers queued for it.
"""

from __future__ import annotations

import numpy as np

from ..numeric.lookup import lookup_rows
from ..priors import PriorSet


class Marginals:
    """The inverse CDFs of `specs`' priors (the model's inputs, in order), ready for blocks."""

    def __init__(self, priors: PriorSet, specs) -> None:
        self.fams = [priors.priors[s.name].family for s in specs]
        self.specs = specs
        found = [(j, f.lookup()) for j, f in enumerate(self.fams)]
        found = [(j, t) for j, t in found if t is not None]
        self.rows = np.array([j for j, _ in found], dtype=np.intp)
        looks = [t for _, t in found]
        # Each table once: every normal and lognormal prior reads the one standard normal
        # table, which then stays in the core's cache from one prior to the next.
        shared = list({id(t.table): t.table for t in looks}.values())
        index = {id(table): k for k, table in enumerate(shared)}
        self.which = np.array([index[id(t.table)] for t in looks], dtype=np.intp)
        self.x = _stack([t.x for t in shared])
        self.tails = np.array([t.table.tails for t in looks], dtype=np.intp)
        self.ty = _stack([t.ty for t in shared])
        self.loc = np.array([t.loc for t in looks], dtype=float)
        self.scale = np.array([t.scale for t in looks], dtype=float)
        self.exp = np.array([t.exp for t in looks], dtype=np.bool_)
        self.lo = np.array([specs[j].lower for j in self.rows], dtype=float)
        self.hi = np.array([specs[j].upper for j in self.rows], dtype=float)
        done = set(self.rows.tolist())
        self.others = [j for j in range(len(specs)) if j not in done]

    def __call__(self, u: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out[j] = prior j's inverse CDF at u[j], inside the model's bounds; returns out."""
        if len(self.rows):
            lookup_rows(u, out, self.rows, self.which, self.x, self.tails, self.ty, self.loc, self.scale,
                        self.exp, self.lo, self.hi)
        for j in self.others:
            x = self.fams[j].ppf_into(u[j], out[j])
            lo, hi = self.fams[j].support()
            spec = self.specs[j]
            if lo < spec.lower or hi > spec.upper:
                np.clip(x, spec.lower, spec.upper, out=x)
        return out


def _stack(rows: list[np.ndarray]) -> np.ndarray:
    return np.array(rows) if rows else np.zeros((0, 1))
