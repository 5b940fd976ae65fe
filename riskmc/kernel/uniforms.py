"""Uniforms per chunk: plain Monte Carlo, Latin hypercube or scrambled Sobol.

Every sampler returns a (d, n) array of uniforms in the open interval (0, 1), one
contiguous row per prior; the copula and each prior's inverse CDF turn them into inputs,
so all samplers honour dependence.
"""

from __future__ import annotations

import numpy as np

from ..errors import SamplingError
from ..settings import SAMPLERS

# Keeps inverse CDFs finite: no double is closer to 0 or 1 than a sampler could mean.
_EPS = 2.0 ** -53


def sample(sampler: str, n: int, d: int, rng: np.random.Generator,
           out: np.ndarray | None = None) -> np.ndarray:
    """n points in the d-dimensional unit cube from `sampler`, as (d, n), using only `rng`.

    `out`, a C-contiguous (d, n) buffer, is filled by plain Monte Carlo instead of a new
    array (the same numbers); the other samplers return their own.
    """
    if sampler == "mc":
        u = rng.random((d, n)) if out is None else rng.random(out=out)
    elif sampler == "lhs":
        from scipy.stats import qmc
        u = np.ascontiguousarray(qmc.LatinHypercube(d, rng=rng).random(n).T)
    elif sampler == "sobol":
        if n & (n - 1):
            raise SamplingError(f"a Sobol chunk needs a power-of-two size, got {n}")
        from scipy.stats import qmc
        u = np.ascontiguousarray(qmc.Sobol(d, scramble=True, rng=rng).random_base2(int(np.log2(n))).T)
    else:
        raise SamplingError(f"unknown sampler '{sampler}'", hint=f"use one of {', '.join(SAMPLERS)}")
    # Random and scrambled points can be exactly 0 (never 1): keep inverse CDFs finite.
    np.maximum(u, _EPS, out=u)
    return u
