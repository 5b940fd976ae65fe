"""Goal seek: how far must one belief move for a target to hold?

The prior named by `vary` keeps its shape and moves its median: every draw of it is
shifted in the space natural to its support (added to on the whole line, multiplied
for a positive quantity, shifted in log-odds between two bounds), so its spread stays the
same in those terms and it never leaves its support. Every step re-runs the model with
the same seed (common random numbers), so the target is a smooth, deterministic function
of the median and a bracketing search (regula falsi, Illinois variant) finds it in a few
runs. The answer carries its Monte Carlo error: the target's error over the slope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..errors import PriorsError, SamplingError
from ..kernel.finalize import binomial_se
from ..priors.families import Family

MAX_STEPS = 30


@dataclass(frozen=True)
class Moved(Family):
    """A prior family moved in its natural space: x -> back(forth(x) + shift)."""

    name = "moved"
    params = ()
    base: Family = None
    space: str = "line"         # "line", "log" (above `lo`), "logit" (between `lo` and `hi`)
    lo: float = 0.0
    hi: float = 1.0
    shift: float = 0.0

    def support(self):
        return self.base.support()

    def ppf(self, u):
        return self.move(np.asarray(self.base.ppf(u), dtype=float))

    def ppf_into(self, u, out):
        self.base.ppf_into(u, out)
        out[:] = self.move(out)
        return out

    def move(self, x):
        return back(forth(x, self.space, self.lo, self.hi) + self.shift, self.space, self.lo, self.hi)

    def describe(self) -> str:
        return f"{self.base.describe()} moved by {self.shift:+.4g} ({self.space} scale)"


def space_of(lo: float, hi: float) -> str:
    if math.isfinite(lo) and math.isfinite(hi):
        return "logit"
    if math.isfinite(lo):
        return "log"
    if math.isfinite(hi):
        return "neglog"
    return "line"


def forth(x, space, lo, hi):
    with np.errstate(divide="ignore", invalid="ignore"):
        if space == "line":
            return x
        if space == "log":
            return np.log(x - lo)
        if space == "neglog":
            return -np.log(hi - x)
        z = (x - lo) / (hi - lo)
        return np.log(z) - np.log1p(-z)


def back(y, space, lo, hi):
    if space == "line":
        return y
    if space == "log":
        return lo + np.exp(y)
    if space == "neglog":
        return hi - np.exp(-y)
    return lo + (hi - lo) / (1.0 + np.exp(-y))


def seek(priors, *, vary: str, target: str, draws: int | None = None, seed=None, sampler: str | None = None,
         workers: int | None = None, scenario: str | None = None) -> dict:
    """Find the median of prior `vary` at which `target` ("P(EVENT) = q" or
    "mean(output[year]) = x") holds, everything else as the priors say (JSON-ready)."""
    import difflib

    from ..loading import load
    from ..settings import resolve
    from .query import parse_stress
    ps = load(priors, scenario=scenario)
    if vary not in ps.priors:
        close = difflib.get_close_matches(vary, list(ps.priors), n=1, cutoff=0.6)
        raise SamplingError(f"unknown prior '{vary}'", hint=f"did you mean '{close[0]}'?" if close
                            else f"the priors are {', '.join(ps.priors)}")
    prior = ps.priors[vary]
    fam = prior.family
    if fam.discrete or not fam.varies:
        raise SamplingError(f"prior '{vary}' is {fam.describe()}: seek moves a continuous prior's median")
    goal = parse_stress(target, ps.model)
    s = resolve(ps.run, evidence=bool(ps.evidence), draws=draws, seed=seed, sampler=sampler, workers=workers)
    spec = next(i for i in ps.model.inputs if i.name == vary)
    lo, hi = fam.support()
    lo, hi = max(lo, spec.lower), min(hi, spec.upper)
    space = space_of(lo, hi)
    q05, m0, q95 = (float(v) for v in prior.implied((0.05, 0.5, 0.95)))
    spread = float(forth(q95, space, lo, hi) - forth(q05, space, lo, hi)) / 3.29
    if not (math.isfinite(spread) and spread > 0):
        raise SamplingError(f"prior '{vary}' has no spread to move")

    steps = []

    def f(shift: float) -> tuple[float, float]:
        moved = replace(prior, family=Moved(base=fam, space=space, lo=lo, hi=hi, shift=shift))
        est, se = _estimate(replace(ps, priors={**ps.priors, vary: moved}), goal, s)
        median = float(back(forth(m0, space, lo, hi) + shift, space, lo, hi))
        steps.append({"median": median, "value": est, "mcse": se})
        return est - goal.value, se

    # A coarse grid first: the target need not be monotone in the median (a claim that
    # an output lies in a band rises, then falls), so look for the sign change nearest
    # today's median on both sides.
    reach = 6.0 * spread
    grid = [0.0] + [k * reach / 3 for k in (-1, 1, -2, 2, -3, 3)]
    vals = {}
    for g in grid:
        vals[g] = f(g)[0]
    order = sorted(vals)
    brackets = [(a_, b_) for a_, b_ in zip(order, order[1:]) if vals[a_] == 0 or np.sign(vals[a_]) != np.sign(vals[b_])]
    if not brackets:
        from ..report import fmt
        got = [st["value"] for st in steps]
        def said(v):
            return f"{100 * v:.4g}%" if goal.kind == "probability" else fmt.value(v, goal.unit)
        raise SamplingError(f"no median of {vary} reaches {goal.text}: from {fmt.value(min(st['median'] for st in steps), prior.unit)} "
                            f"to {fmt.value(max(st['median'] for st in steps), prior.unit)} it gives "
                            f"{said(min(got))} to {said(max(got))}",
                            hint="the target lies beyond what this belief alone can move; vary another prior")
    a, b = min(brackets, key=lambda ab: min(abs(ab[0]), abs(ab[1])))
    fa_, fb_ = vals[a], vals[b]
    se0 = steps[0]["mcse"]
    if fa_ == 0:
        b, fb_ = a, fa_
    side = 0
    x, fx, se = (a, fa_, se0) if a == b else (None, None, None)
    for _ in range(MAX_STEPS if a != b else 0):
        x = (a * fb_ - b * fa_) / (fb_ - fa_) if fb_ != fa_ else 0.5 * (a + b)
        fx, se = f(x)
        if abs(fx) <= 0.25 * se or abs(b - a) < 1e-9 * spread:
            break
        if np.sign(fx) == np.sign(fa_):
            a, fa_ = x, fx
            if side == -1:
                fb_ /= 2
            side = -1
        else:
            b, fb_ = x, fx
            if side == 1:
                fa_ /= 2
            side = 1
    median = float(back(forth(m0, space, lo, hi) + x, space, lo, hi))
    # The answer's error: the target's Monte Carlo error over its slope in the median.
    pts = sorted(steps, key=lambda r: r["median"])
    near = sorted(steps, key=lambda r: abs(r["median"] - median))[:3]
    ms = np.array([r["median"] for r in near])
    vs = np.array([r["value"] for r in near])
    slope = float(np.polyfit(ms, vs, 1)[0]) if np.ptp(ms) > 0 else float("nan")
    err = abs(se / slope) if slope and math.isfinite(slope) else float("nan")
    return {"priors": str(priors), "scenario": scenario, "vary": vary, "unit": prior.unit,
            "target": goal.text, "target_unit": "probability" if goal.kind == "probability" else goal.unit,
            "posterior": bool(ps.evidence), "seed": s.seed, "draws": s.plan.draws, "sampler": s.plan.sampler,
            "space": space, "from": {"median": m0, "value": steps[0]["value"], "mcse": steps[0]["mcse"]},
            "to": {"median": median, "mcse": err, "value": fx + goal.value, "value_mcse": se},
            "steps": steps, "path": pts}


def _estimate(ps, goal, s) -> tuple[float, float]:
    """The target's estimate and MCSE from one run of `ps` (same seed every time)."""
    if ps.evidence:
        return _posterior_estimate(ps, goal, s)
    from ..kernel.engine import Kernel, map_chunks
    m = ps.model
    uses_inputs = goal.kind == "probability" and goal.event.uses_inputs or (
        goal.kind == "mean" and goal.row >= len(m.outputs) * m.width)
    kernel = Kernel(ps, m, s.root, s.plan, None, None, inputs_rows=uses_inputs)

    def one(i):
        rows = kernel.finite_chunk(i, scratch=True).rows
        v = goal.event.mask(rows).astype(float) if goal.kind == "probability" else rows[goal.row]
        return len(v), float(v.sum()), float((v * v).sum())

    parts = list(map_chunks(one, range(s.plan.n_chunks), s.workers))
    n = sum(p[0] for p in parts)
    mean = sum(p[1] for p in parts) / n
    if not s.plan.batch_means:
        var = max(sum(p[2] for p in parts) / n - mean * mean, 0.0)
        se = math.sqrt(var / n)
        if goal.kind == "probability":
            se = binomial_se(mean * n, n)
    else:  # batch means over whole chunks
        full = [p[1] / p[0] for p in parts if p[0] == s.plan.chunk_size]
        se = float(np.std(full, ddof=1) / math.sqrt(len(full))) if len(full) > 1 else float("nan")
    if not math.isfinite(mean):
        raise PriorsError("the target's value is not finite for this prior")
    return mean, se


def _posterior_estimate(ps, goal, s) -> tuple[float, float]:
    """The target under the evidence: the whole run of `ps`, its posterior weighed as every
    run weighs it (importance sampling, or tempering when the weights fail), the goal's
    event counted as a claim; its estimate and MCSE are the posterior's own."""
    from ..inference.posterior import infer
    from ..kernel.claims import ClaimCounter
    from ..kernel.engine import Kernel, sample
    from ..kernel.likelihood import Likelihood
    from ..priors.priorset import Claim
    m = ps.model
    hits = None
    if goal.kind == "probability":
        hits = ClaimCounter([Claim(name=_GOAL, text=goal.text, output="", years=(), event=goal.event)],
                            m.output_names, m.years)
    kernel = Kernel(ps, m, s.root, s.plan, hits, Likelihood(list(ps.evidence.values()), m),
                    inputs_rows=goal.kind == "mean" and goal.row >= len(m.outputs) * m.width
                    or bool(hits and hits.uses_inputs))
    state = None
    for state in sample(kernel, s.workers, backend=s.backend, scheduler=s.scheduler):  # noqa: B007 (the last is kept)
        pass
    post = infer(kernel, state.totals, state.binning, list(kernel.labels), claims=hits, workers=s.workers)
    est = post.claims[0] if goal.kind == "probability" else post.stats[goal.label].mean
    if not math.isfinite(est.value):
        raise PriorsError("the target's value is not finite for this prior")
    return est.value, est.mcse


_GOAL = "(seek's target)"
