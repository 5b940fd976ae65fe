"""The posterior by importance sampling: the prior's draws, weighted by the evidence.

Every draw's weight is its likelihood, exp(loglik) <= 1 (riskmc.kernel.likelihood). A chunk
adds weighted sums, weighted histograms (of w and w^2, on the prior's bins) and weighted
claim hits, exactly as the prior's reduction adds counts; it also keeps its largest
weights with the draws that carry them. At the end the largest tail_length(S) weights
of the whole run are Pareto-smoothed (riskmc.inference.psis) and the sums corrected for the
change, so the estimates are PSIS estimates without the run ever holding every draw.

Monte Carlo errors follow from the self-normalised estimator's delta method: for an
estimate sum(w f) / sum(w), Var ~ sum(w^2 (f - estimate)^2) / (sum w)^2, which is why
sums of w^2 times powers of the values are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..kernel.finalize import _cdf_points, _quantile
from ..kernel.reduce import PROBS, Binning
from ..kernel.weighted import Tail, WeightedSums, tail_length
from ..numeric.fused_weighted import reduce_weighted
from ..results import Estimate, Stats
from .psis import Smoothed, khat_limit, smooth_tail

# Below this many effective draws a weighted quantile is too rough to report
# (Vehtari et al. 2021 ask for 400 before trusting tail quantiles).
MIN_ESS = 400


@dataclass(frozen=True)
class Importance:
    """The importance-sampling posterior: per-variable statistics and claim probabilities,
    each {"value", "mcse"}, and the diagnostics that say whether to believe them."""

    stats: dict[str, Stats]
    claims: list[Estimate]
    khat: float
    khat_limit: float
    ess: float
    tail: int
    draws: int
    carrying: int
    reliable: bool
    why: str | None
    view: object          # the weighted CDFs, for histograms


class _View:
    """A weighted histogram seen as reduce's Totals: counts, atoms, total, range."""

    def __init__(self, hist, atoms, n, vmin, vmax):
        self.hist, self.atoms, self.n, self.vmin, self.vmax = hist, atoms, n, vmin, vmax


@dataclass(frozen=True)
class Correction:
    """What Pareto smoothing changes: the smoothed draws (their indices, and inputs as
    inputs x m), and the change of each one's weight and squared weight."""

    index: np.ndarray
    inputs: np.ndarray
    dw: np.ndarray
    dw2: np.ndarray
    smoothed: Smoothed


def correction(tail: Tail, draws: int, carrying: int) -> Correction | None:
    """Smooth the largest tail_length(draws) weights of a run (its `tail`, of which
    `carrying` draws weigh more than 0); None when too few draws carry weight to fit."""
    m = tail_length(draws)
    if not (carrying > m and m >= 5):
        return None
    order = tail.order()
    sm = smooth_tail(tail.ll[order][-(m + 1):], draws)
    pick = order[-m:]
    old = np.exp(tail.ll[pick])
    new = np.exp(sm.log_weights)
    return Correction(tail.index[pick], tail.inputs[:, pick], new - old, new * new - old * old, sm)


def finish(ws: WeightedSums, b: Binning, totals, names: list[str], rows_of, claims=None) -> Importance:
    """Smooth the tail, correct the sums for it, and finalise every statistic.

    `totals` is the prior's (for the draw count and each variable's range); `rows_of`
    gives the rows of the tail's draws from their inputs (the model again); `claims` the
    ClaimCounter, to move the tail draws' claim weights too.
    """
    s = totals.n
    limit = khat_limit(s)
    # Work on copies: a snapshot (--target-mcse) must leave the running sums alone.
    w, w2 = ws.w, ws.w2
    sums, hist, atom_w, hits = ws.sums.copy(), ws.hist.copy(), ws.atom_w.copy(), ws.hits.copy()
    fix = correction(ws.tail, s, ws.carrying)
    sm = fix.smoothed if fix is not None else None
    if fix is not None and np.any(fix.dw != 0):
        rows = rows_of(fix.inputs)
        reduce_weighted(rows, fix.dw, fix.dw2, b.lo, b.inv_width, b.center, b.bins, b.atom_var, b.atom_val,
                        hist, sums, atom_w, np.empty(rows.shape[1], dtype=np.int64))
        if claims is not None and len(hits):
            claims.weighted(rows, fix.dw, fix.dw2, hits)
        w += float(np.sum(fix.dw))
        w2 += float(np.sum(fix.dw2))
    khat = sm.khat if sm is not None else math.inf
    ess = w * w / w2 if w2 > 0 else 0.0
    why = None
    if w2 <= 0:  # every weight is 0, or so small its square underflows
        why = "no draw of the prior carries any weight: the evidence lies beyond everything it drew"
    elif sm is None:
        why = f"only {ws.carrying:,} of {s:,} draws carry weight, too few to check the weights' tail"
    elif math.isfinite(khat) and khat > limit or khat == math.inf:
        why = (f"the weights' Pareto k-hat is {khat:.2f}, above {limit:.2f}: importance sampling's "
               "error is unbounded here")
    elif ess < MIN_ESS:
        why = f"only {ess:,.0f} effective draws of {s:,}, below {MIN_ESS}"
    view = _View(hist[:, :, 0], atom_w[:, 0], w, totals.vmin, totals.vmax)
    stats = _stats(view, _View(hist[:, :, 1], atom_w[:, 1], w2, totals.vmin, totals.vmax),
                   sums, w, w2, b, names) if w2 > 0 else {}
    probs = [_probability(h, h2, w, w2, ess) for h, h2 in hits] if w2 > 0 else []
    return Importance(stats=stats, claims=probs, khat=float(khat), khat_limit=limit, ess=float(ess),
                     tail=tail_length(s), draws=s, carrying=ws.carrying, reliable=why is None, why=why, view=view)


def _stats(view: _View, view2: _View, sums, w, w2, b: Binning, names) -> dict[str, Stats]:
    """Weighted mean, sd and quantiles of every variable, each with its MCSE."""
    m = sums[0] / w                      # weighted mean of d = x - centre
    mean = b.center + m
    s2 = np.maximum(sums[1] / w - m * m, 0.0)
    ess = w * w / w2
    sd = np.sqrt(s2 * ess / max(ess - 1, 1.0))
    t0, t1, t2, t3, t4 = w2, sums[2], sums[3], sums[4], sums[5]
    var_mean = np.maximum(t2 - 2 * m * t1 + m * m * t0, 0.0) / (w * w)
    c2 = t2 - 2 * m * t1 + m * m * t0                               # sum w^2 (d - m)^2
    c4 = t4 - 4 * m * t3 + 6 * m * m * t2 - 4 * m ** 3 * t1 + m ** 4 * t0
    var_s2 = np.maximum(c4 - 2 * s2 * c2 + s2 * s2 * t0, 0.0) / (w * w)
    ratio = w2 / (w * w)                 # 1 / ESS
    out = {}
    for j, name in enumerate(names):
        edges, cum = _cdf_points(view, b, j)
        edges2, cum2 = _cdf_points(view2, b, j)
        lo, hi = view.vmin[j], view.vmax[j]
        res = {"mean": Estimate(float(mean[j]), float(math.sqrt(var_mean[j]))),
               "sd": Estimate(float(sd[j]), float(math.sqrt(var_s2[j]) / (2 * sd[j])) if sd[j] > 0 else 0.0)}
        for key, p in PROBS.items():
            q = _quantile(edges, cum, p, lo, hi)
            if lo == hi:
                res[key] = Estimate(q, 0.0)
                continue
            # The weighted CDF's error at q, from the share of w^2 below it (G):
            # Var F(q) ~ (sum w^2 / W^2) (G (1 - p)^2 + (1 - G) p^2).
            g = float(np.interp(q, edges2, cum2))
            se = math.sqrt(max(ratio * (g * (1 - p) ** 2 + (1 - g) * p * p), 0.0))
            qa = _quantile(edges, cum, max(p - se, 0.0), lo, hi)
            qb = _quantile(edges, cum, min(p + se, 1.0), lo, hi)
            res[key] = Estimate(q, (qb - qa) / 2)
        out[name] = Stats(**res)
    return out


def _probability(h: float, h2: float, w: float, w2: float, ess: float) -> Estimate:
    """A claim's weighted probability and MCSE: the delta method, and never below the sd
    of a Beta(1, ESS + 1), about 1 / ESS: a claim no weighted draw meets (or every one
    does) is not reported as certain, while elsewhere the delta method stands."""
    p = h / w
    g = h2 / w2
    se = math.sqrt(max((w2 / (w * w)) * (g * (1 - p) ** 2 + (1 - g) * p * p), 0.0))
    floor = math.sqrt((ess + 1) / ((ess + 2) ** 2 * (ess + 3)))
    return Estimate(float(p), max(se, floor))
