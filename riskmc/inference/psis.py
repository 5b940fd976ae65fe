"""Pareto-smoothed importance sampling (Vehtari, Simpson, Gelman, Yao and Gabry, 2024).

The largest importance weights are replaced by expected order statistics of a generalized
Pareto distribution fitted to them; its shape k-hat says whether the weighted estimates
can be trusted (k-hat <= 0.7; above it the variance is effectively infinite).

The same algorithm as arviz (arviz_stats' `psislw`, which the tests hold this to), but on
the tail alone: a run keeps only its largest weights and the draws that carry them, never
every weight, so memory stays bounded however many draws a run makes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..kernel.weighted import tail_length  # noqa: F401 (the kernel keeps this many)

# Vehtari et al. (2024): above this k-hat importance sampling is unreliable at any size.
KHAT_LIMIT = 0.7


def khat_limit(draws: int) -> float:
    """The k-hat above which S draws are too few: min(1 - 1/log10(S), 0.7)."""
    return min(1 - 1 / math.log10(draws), KHAT_LIMIT) if draws > 10 else 0.0


@dataclass(frozen=True)
class Smoothed:
    """The tail's smoothed log-weights (in the order given) and the fitted shape."""

    log_weights: np.ndarray
    khat: float          # nan when the tail is flat (tied weights: nothing to smooth)
    tail: int            # weights smoothed


def smooth_tail(top: np.ndarray, draws: int) -> Smoothed:
    """Smooth the largest weights of a run of `draws` draws.

    `top` holds the largest tail_length(draws) + 1 log-weights, sorted ascending; the
    first is the cut-off below the tail. Returns the tail's smoothed log-weights (the
    last tail_length(draws) of `top`, same order). Like arviz, the fit is made on
    weights scaled by the largest, and no smoothed weight exceeds the largest raw one.
    """
    m = tail_length(draws)
    top = np.asarray(top, dtype=float)
    tail = top[len(top) - m:] if m else top[:0]
    if m < 5 or not np.isfinite(top[-1]):
        return Smoothed(tail.copy(), math.inf, m)
    peak = top[-1]
    x = np.exp(tail - peak)
    cutoff = math.exp(top[len(top) - m - 1] - peak) if len(top) > m else 0.0
    if x[-1] - x[0] < np.finfo(float).tiny:
        return Smoothed(tail.copy(), math.nan, m)   # all tied: bounded weights, nothing to fit
    k, sigma = gpdfit(x - cutoff)
    if not np.isfinite(k):
        return Smoothed(tail.copy(), k, m)
    p = np.arange(0.5, m) / m
    smoothed = gpinv(p, k, sigma, cutoff)
    smoothed = np.minimum(smoothed, x[-1])
    with np.errstate(divide="ignore"):
        return Smoothed(np.log(smoothed) + peak, float(k), m)


def gpdfit(x: np.ndarray) -> tuple[float, float]:
    """Empirical-Bayes estimate of a generalized Pareto's shape and scale (Zhang and
    Stephens, 2009) with the weak prior on the shape of Vehtari et al.: `x` sorted."""
    prior_bs, prior_k = 3, 10
    n = len(x)
    m_est = 30 + int(n ** 0.5)
    xstar = x[int((n / 4 + 0.5) - 1)]
    if xstar <= x[0]:
        return math.nan, math.nan
    b = 1 - np.sqrt(m_est / (np.arange(1, m_est + 1, dtype=float) - 0.5))
    b /= prior_bs * xstar
    b += 1 / x[-1]
    k = np.mean(np.log1p(-b[:, None] * x), axis=1)
    len_scale = n * (np.log(-b / k) - k - 1)
    w = np.exp(len_scale - _logsumexp(len_scale))
    keep = w >= 10 * np.finfo(float).eps
    w, b = w[keep], b[keep]
    w /= w.sum()
    b_post = np.sum(b * w)
    kappa = np.mean(np.log1p(-b_post * x))
    sigma = -kappa / b_post
    kappa = (n * kappa + prior_k * 0.5) / (n + prior_k)
    if math.isnan(kappa):
        return math.inf, math.nan
    return float(kappa), float(sigma)


def gpinv(p: np.ndarray, k: float, sigma: float, mu: float) -> np.ndarray:
    """The generalized Pareto's quantiles."""
    if not sigma > 0:
        return np.full_like(p, np.nan)
    if k == 0:
        return mu - sigma * np.log1p(-p)
    return mu + sigma * np.expm1(-k * np.log1p(-p)) / k


def _logsumexp(a: np.ndarray) -> float:
    m = np.max(a)
    return float(m + np.log(np.sum(np.exp(a - m))))


def psis(log_weights: np.ndarray) -> tuple[np.ndarray, float]:
    """Smoothed, normalised log-weights of a whole sample, and k-hat (for small samples and
    tests; a run smooths its tail only)."""
    lw = np.asarray(log_weights, dtype=float).copy()
    n = len(lw)
    m = tail_length(n)
    order = np.argsort(lw, kind="stable")
    top = order[n - m - 1:] if m + 1 <= n else order
    s = smooth_tail(lw[top], n)
    if m:
        lw[top[len(top) - m:]] = s.log_weights
    return lw - _logsumexp(lw), s.khat
