"""Price each claim of a priors file as a probability with its Monte Carlo error."""

from __future__ import annotations

import numpy as np

from ..priors import Claim
from ..summarize import probability


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


def price_claims(claims: dict[str, Claim], outputs, years, chunk_sizes, sampler) -> dict[str, dict]:
    return {
        name: {"text": c.text, "event": c.describe(),
               "probability": probability(hits(c, outputs, years), chunk_sizes, sampler)}
        for name, c in claims.items()
    }
