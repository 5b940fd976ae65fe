"""Summaries of draws with their Monte Carlo standard errors.

Plain Monte Carlo draws are independent, so the MCSE has closed forms (checked against
arviz's `mcse` in tests). Latin hypercube and Sobol draws are not independent within a
chunk, but chunks are independent randomisations, so their MCSE is the spread of the
per-chunk estimates (batch means).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

PROBS = {"p5": 0.05, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p95": 0.95}
STATS = ("mean", "sd", *PROBS)
# +-1 standard deviation of a normal, as arviz uses for quantile MCSE.
_ONE_SIGMA = stats.norm.cdf([-1.0, 1.0])


def _quantile_mcse_iid(sorted_x: np.ndarray, p: float) -> float:
    """Half the width of the central 68% interval of the p-quantile's order statistic."""
    n = len(sorted_x)
    a, b = stats.beta.ppf(_ONE_SIGMA, n * p + 1, n * (1 - p) + 1)
    lo, hi = np.quantile(sorted_x, [a, b], method="linear")
    return float(hi - lo) / 2


def _estimate(x: np.ndarray) -> dict[str, float]:
    q = np.quantile(x, list(PROBS.values()))
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)) if len(x) > 1 else 0.0,
            **{k: float(v) for k, v in zip(PROBS, q)}}


def summarize(x: np.ndarray, chunk_sizes: list[int], sampler: str) -> dict[str, dict[str, float]]:
    """Mean, sd and quantiles of one variable, each as {"value", "mcse"}."""
    x = np.asarray(x, dtype=float)
    est = _estimate(x)
    n = len(x)
    mcse: dict[str, float] = {}
    if sampler == "mc":
        sd = est["sd"]
        mcse["mean"] = sd / np.sqrt(n)
        dev2 = (x - est["mean"]) ** 2
        mcse["sd"] = float(np.std(dev2, ddof=1) / (2 * sd * np.sqrt(n))) if sd > 0 else 0.0
        xs = np.sort(x)
        for k, p in PROBS.items():
            mcse[k] = _quantile_mcse_iid(xs, p)
    else:
        per_chunk = [_estimate(c) for c in np.split(x, np.cumsum(chunk_sizes)[:-1])
                     if len(c) == chunk_sizes[0]]
        k = len(per_chunk)
        for s in STATS:
            vals = np.array([c[s] for c in per_chunk])
            mcse[s] = float(vals.std(ddof=1) / np.sqrt(k)) if k > 1 else float("nan")
    return {s: {"value": est[s], "mcse": float(mcse[s])} for s in STATS}


def probability(hit: np.ndarray, chunk_sizes: list[int], sampler: str) -> dict[str, float]:
    """The probability of an event (boolean per draw) with its MCSE."""
    hit = np.asarray(hit, dtype=float)
    p = float(hit.mean())
    if sampler == "mc":
        se = float(np.sqrt(p * (1 - p) / len(hit)))
    else:
        per = [c.mean() for c in np.split(hit, np.cumsum(chunk_sizes)[:-1]) if len(c) == chunk_sizes[0]]
        se = float(np.std(per, ddof=1) / np.sqrt(len(per))) if len(per) > 1 else float("nan")
    return {"value": p, "mcse": se}
