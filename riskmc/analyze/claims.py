"""Claims as events on the model's outputs: per draw, does each one hold?"""

from __future__ import annotations

import numpy as np

from ..priors import Claim


def hits(claim: Claim, outputs: dict[str, np.ndarray], years: np.ndarray) -> np.ndarray:
    """Per draw: does the claim hold?"""
    cols = [int(np.flatnonzero(years == y)[0]) for y in claim.years]
    v = outputs[claim.output][:, cols]
    if claim.rises:
        return np.all(np.diff(v, axis=1) > 0, axis=1)
    ok = np.ones(v.shape, dtype=bool)
    if claim.above is not None:
        ok &= v > claim.above
    if claim.below is not None:
        ok &= v < claim.below
    return np.all(ok, axis=1)


def claim_hits(claims: list[Claim], outputs: dict[str, np.ndarray], years: np.ndarray) -> np.ndarray:
    """How many draws of a chunk satisfy each claim, in order: the per-chunk reduction."""
    return np.array([int(hits(c, outputs, years).sum()) for c in claims], dtype=np.int64)
