"""A tempered posterior's statistics from its replicate populations: pooled values, each
with its Monte Carlo error, the spread of the replicates' own estimates over sqrt(R).
"""

from __future__ import annotations

import math

import numpy as np

from ..kernel.finalize import beta_sd
from ..results import Estimate, Stats

# A variable with this few distinct values among the particles is discrete: its quantiles
# are values it takes (a 0/1 input's are 0 or 1).
DISCRETE = 16


def estimates(rows: np.ndarray, names: list[str], claims=None) -> tuple[dict[str, Stats], list[Estimate]]:
    """Statistics of every variable and each claim's probability from the replicates'
    final particles (R x V x n): pooled values, MCSE from the replicates' spread. A
    variable with few distinct values (a 0/1 input) has quantiles that are values it
    takes; a constant is itself, with no error."""
    from ..kernel.reduce import PROBS
    r, v, n = rows.shape
    pooled = rows.transpose(1, 0, 2).reshape(v, r * n)
    levels = list(PROBS.values())
    lo, hi = pooled.min(axis=1), pooled.max(axis=1)
    discrete = np.array([lo[j] == hi[j] or len(np.unique(pooled[j])) <= DISCRETE for j in range(v)])
    q_pool = np.quantile(pooled, levels, axis=1)              # (5, V)
    q_rep = np.quantile(rows, levels, axis=2)                 # (5, R, V)
    if discrete.any():
        d = np.flatnonzero(discrete)
        q_pool[:, d] = np.quantile(pooled[d], levels, axis=1, method="inverted_cdf")
        q_rep[:, :, d] = np.quantile(rows[:, d], levels, axis=2, method="inverted_cdf")
    m_rep = rows.mean(axis=2)                                 # (R, V)
    s_rep = rows.std(axis=2, ddof=1)
    root = math.sqrt(r)
    out = {}
    for j, name in enumerate(names):
        if lo[j] == hi[j]:
            out[name] = Stats.constant(float(lo[j]))
            continue
        res = {"mean": Estimate(float(pooled[j].mean()), float(m_rep[:, j].std(ddof=1) / root)),
               "sd": Estimate(float(pooled[j].std(ddof=1)), float(s_rep[:, j].std(ddof=1) / root))}
        for i, key in enumerate(PROBS):
            res[key] = Estimate(float(q_pool[i, j]), float(q_rep[i, :, j].std(ddof=1) / root))
        out[name] = Stats(**res)
    probs = []
    if claims is not None and claims.count.size:
        hits = np.stack([claims(np.ascontiguousarray(rows[k])) for k in range(r)]) / n   # (R, C)
        for c in range(hits.shape[1]):
            p = float(hits[:, c].mean())
            # Never below a binomial's error for the pooled particles: no claim is certain.
            floor = beta_sd(p * r * n + 1.0, (1 - p) * r * n + 1.0)
            probs.append(Estimate(p, max(float(hits[:, c].std(ddof=1) / root), floor)))
    return out, probs


