"""The posterior of a run with evidence, and what the evidence changed.

Importance sampling of the run's own draws first (riskmc.inference.weighted, Pareto-smoothed);
when its diagnostics say the weights cannot be trusted (k-hat above the limit, too few
effective draws, or no weight at all), tempered sequential Monte Carlo (riskmc.inference.smc)
instead, and the posterior says which ran and why.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import PriorsError
from ..kernel.finalize import _cdf_points, _quantile, display_histogram
from ..results import Estimate, Stats


@dataclass(frozen=True)
class Posterior:
    """Statistics (name -> {"mean", "sd", "p5".."p95"} with MCSE), claim probabilities,
    display histograms of chosen rows, and how they were obtained."""

    method: str                  # "importance" or "tempered"
    why: str | None              # why tempering ran instead of importance sampling
    stats: dict[str, Stats]
    claims: list[Estimate]
    diagnostics: dict
    histogram: Callable[[int], dict]   # row index -> display histogram
    warnings: tuple[str, ...] = ()     # what the reader should know before trusting it


# A final population with fewer distinct particles than this share is a point mass, not a
# posterior; below UNIQUE_WARN it is said on the terminal and in the report.
UNIQUE_FLOOR = 0.05
UNIQUE_WARN = 0.5


def infer(kernel, totals, binning, names: list[str], *, claims, workers: int = 1,
          progress=None) -> Posterior:
    """The posterior from a finished run: importance sampling, or tempering if it fails."""
    from .weighted import finish
    _check_reachable(kernel, totals)
    imp = finish(totals.weighted, binning.weighted, totals, names, kernel.rows_of, claims)
    diag = {"draws": imp.draws, "khat": _num(imp.khat), "khat_limit": imp.khat_limit,
            "ess": imp.ess, "tail": imp.tail, "carrying": imp.carrying}
    if imp.reliable:
        return Posterior("importance", None, imp.stats, imp.claims, {"importance": diag},
                         lambda j: display_histogram(imp.view, binning.weighted, j))
    hard = [e for e in kernel.likelihood.evidence if e.kind == "bound" and e.sd is None]
    from .replicates import estimates
    from .smc import REPLICATES, Tempering, particles_per_replicate
    n = particles_per_replicate(kernel.plan.draws)
    try:
        sampler = Tempering(kernel, kernel.root, n, workers)
        stages = []
        for st in sampler.stages():
            stages.append(st)
            if progress:
                progress(st)
    except PriorsError as exc:
        if hard and imp.carrying < 1000:
            e = hard[0]
            raise PriorsError(f"evidence '{e.name}' ({e.describe()}): only {imp.carrying:,} of {imp.draws:,} "
                              "prior draws meet the evidence, too few to weigh", file=e.file, line=e.line,
                              hint="give the bound its measurement error (sd = ...) so it can be approached "
                                   "gradually, or run more draws") from exc
        raise
    unique = sampler.unique
    if unique < UNIQUE_FLOOR:
        e = sampler._blame()
        raise PriorsError(f"evidence '{e.name}' ({e.describe()}): the tempered posterior collapsed onto a few points "
                          f"({unique:.1%} of the particles distinct): the evidence and the prior barely overlap",
                          file=e.file, line=e.line, hint="check the evidence's value and unit, or widen the priors "
                                                         "it contradicts")
    warnings = []
    if unique < UNIQUE_WARN:
        warnings.append(f"the tempered posterior's particles are only {unique:.0%} distinct: its error bars may be "
                        "too small; run more draws, or check the evidence against the prior")
    if sampler.undecorrelated:
        warnings.append(f"in {sampler.undecorrelated} of {len(stages)} tempering stages the particles had not "
                        "forgotten where they began after the most moves a stage makes: the posterior may lag "
                        "behind the evidence; run more draws")
    rows = sampler.rows
    stats, probs = estimates(rows, names, claims)
    pooled = rows.transpose(1, 0, 2).reshape(rows.shape[1], -1)
    diag_t = {"replicates": REPLICATES, "particles": REPLICATES * n, "stages": len(stages),
              "acceptance": float(np.mean([s.acceptance for s in stages])) if stages else None,
              "evaluations": sampler.evaluations, "moves": int(sum(s.steps for s in stages)),
              "decorrelated": not sampler.undecorrelated, "unique": unique}
    return Posterior("tempered", imp.why, stats, probs, {"importance": diag, "tempered": diag_t},
                     lambda j: _particle_histogram(pooled[j]), tuple(warnings))


def _check_reachable(kernel, totals) -> None:
    """Hard bounds no prior draw met: the prior gives them no probability. Say so plainly,
    with the range the prior's draws spanned."""
    from ..report import fmt
    lik = kernel.likelihood
    for e, row in zip(lik.evidence, lik.row):
        if e.kind != "bound" or e.sd is not None:
            continue
        lo, hi = float(totals.vmin[row]), float(totals.vmax[row])
        if (e.above is not None and e.above > hi) or (e.below is not None and e.below < lo):
            raise PriorsError(f"evidence '{e.name}' ({e.describe()}): none of the {totals.n:,} prior draws meets "
                              f"it, so the prior gives it no probability; the prior predictive spans "
                              f"{fmt.value(lo, e.unit)} to {fmt.value(hi, e.unit)}", file=e.file, line=e.line,
                              hint="check the bound and its unit, or widen the priors that drive "
                                   f"{e.label}")
    if totals.weighted.carrying == 0 and all(e.kind == "bound" and e.sd is None for e in lik.evidence):
        e = lik.evidence[0]
        raise PriorsError(f"none of the {totals.n:,} prior draws meets all the evidence at once: the prior gives "
                          "it no probability", file=e.file, line=e.line,
                          hint="check the bounds against each other and the prior predictive ranges")


def _num(v: float):
    """A float for JSON: None for nan and infinities."""
    return float(v) if math.isfinite(v) else None


def _particle_histogram(x: np.ndarray, bins: int = 60) -> dict:
    """display_histogram's shape from equally weighted particles."""
    lo, hi = np.quantile(x, [0.005, 0.995])
    if hi <= lo:
        hi = lo + max(abs(lo), 1.0) * 1e-6
    grid = np.linspace(lo, hi, bins + 1)
    counts, _ = np.histogram(np.clip(x, lo, hi), bins=grid)
    dens = counts / (len(x) * (grid[1] - grid[0]))
    cdf = np.searchsorted(np.sort(x), grid, side="right") / len(x)
    return {"edges": [float(e) for e in grid], "density": [float(d) for d in dens], "cdf": [float(c) for c in cdf]}


# ----------------------------------------------------------------------------- surprise
def surprise(evidence, row: int, totals, binning) -> dict:
    """Where an observation fell in the prior predictive: for a value, its percentile
    (the prior's distribution of the target, plus the measurement's error); for a bound,
    the prior probability that it holds; for a count, the percentile of the successes."""
    edges, cum = _cdf_points(totals, binning, row)
    # The prior as masses at the midpoints between CDF knots.
    mass = np.diff(cum)
    mid = 0.5 * (edges[1:] + edges[:-1])
    keep = mass > 0
    mass, mid = mass[keep], mid[keep]
    lo = _quantile(edges, cum, 0.005, totals.vmin[row], totals.vmax[row])
    hi = _quantile(edges, cum, 0.995, totals.vmin[row], totals.vmax[row])
    out = {"prior_range_99": [lo, hi], "prior_median": _quantile(edges, cum, 0.5, totals.vmin[row],
                                                                 totals.vmax[row])}
    e = evidence
    if e.kind in ("normal", "student_t"):
        z = (e.value - mid) / e.sd
        if e.kind == "normal":
            from ..numeric.normal import ndtr
            f = ndtr(z)
        else:
            from ..numeric.incbeta import t_cdf
            f = t_cdf(e.df, z)
        out["percentile"] = float(np.sum(mass * f))
    elif e.kind == "bound":
        a = -np.inf if e.above is None else e.above
        b = np.inf if e.below is None else e.below
        if e.sd is None:
            p = float(np.sum(mass[(mid >= a) & (mid <= b)]))
        else:
            from ..numeric.normal import ndtr
            p = float(np.sum(mass * ndtr((mid - a) / e.sd) * ndtr((b - mid) / e.sd)))
        out["probability"] = p
    else:
        from ..numeric.incbeta import binomial_cdf
        out["percentile"] = float(np.sum(mass * binomial_cdf(e.successes, e.trials, np.clip(mid, 0, 1))))
    return out


def moved(prior: dict[str, Stats], post: dict[str, Stats], inputs: list[str]) -> list[tuple[str, float]]:
    """Inputs ranked by how far the evidence moved them: the shift of the mean in prior
    sds, plus how much the sd shrank or grew (on a log scale)."""
    out = []
    for n in inputs:
        p, q = prior[n], post[n]
        sd = p.sd.value
        if not sd > 0:
            continue
        shift = abs(q.mean.value - p.mean.value) / sd
        spread = abs(math.log(max(q.sd.value, 1e-300) / sd))
        out.append((n, shift + spread))
    out.sort(key=lambda t: -t[1])
    return out
