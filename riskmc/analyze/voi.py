"""The value of information: what a decision would gain from knowing an uncertainty first.

EVPI, the expected value of perfect information, is E[max_k payoff_k] - max_k E[payoff_k]:
what knowing everything before choosing is worth. EVPPI, of partial information about a
group of inputs X, is E_X[max_k E[payoff_k | X]] - max_k E[payoff_k]; E[payoff_k | X] is
estimated by regressing each option's payoff on X over the run's own draws (Strong, Oakley
and Brennan 2014, Med Decis Making 34(3):311-326, doi:10.1177/0272989X13505910), with no
model evaluations beyond the run's. The regression:

- one input: a cubic B-spline with knots at its quantiles (a discrete input, or one of
  few values: a mean per value, exact);
- two inputs: the tensor product of two such splines;
- three or more: an additive spline in each, plus every pairwise product of the inputs
  (a GAM without higher interactions; the table says which inputs each group holds).

Its Monte Carlo error is a bootstrap over blocks of draws (whole chunks for LHS and
Sobol, whose draws are not independent within a chunk): each block's Gram matrix is made
once, so a resample costs a solve and the fitted values, not a new regression over all
draws. The plug-in max_k E[payoff_k] is biased up where options nearly tie (by about the
estimate's own error), so EVPI and EVPPI carry the bootstrap's bias correction,
2 x estimate - mean of the resamples (scripts/validate.py checks their coverage). Without a decision, a claim's value of learning an input is the expected drop in
its Brier score, Var(P(claim | X)), by the same regression of the claim's indicator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..results import Estimate
from .sample import Sample

BOOTSTRAP = 60         # resamples of blocks for each figure's error (its own error about 9%)
BLOCKS = 100           # blocks of i.i.d. draws resampled
KNOTS = 12             # interior knots of one input's spline
KNOTS_PAIR = 5         # of each input in a two-input tensor product
KNOTS_GROUP = 6        # of each input in an additive group of three or more
DISCRETE = 32          # an input with at most this many values: a mean per value
# The draws the regressions read: a run's first whole chunks holding this many. More would
# only narrow errors already a few percent of each figure, and memory and time grow with them.
VOI_DRAWS = 2 ** 17


@dataclass(frozen=True)
class Learning:
    """The value of information of one decision (or the claims): EVPI and each group's EVPPI."""

    evpi: Estimate | None
    evppi: dict[str, Estimate]


def groups_of(names: list[str], pairs: list[tuple[str, str]], asked: list[list[str]]) -> dict[str, list[str]]:
    """Each input alone, each set of correlated inputs (connected by `pairs`), and each
    group the user asked for, named by its members joined with '+'."""
    out = {n: [n] for n in names}
    parent = {n: n for n in names}

    def root(n):
        while parent[n] != n:
            n = parent[n]
        return n
    for a, b in pairs:
        if a in parent and b in parent:
            parent[root(a)] = root(b)
    comps: dict[str, list[str]] = {}
    for n in names:
        comps.setdefault(root(n), []).append(n)
    for members in [*[c for c in comps.values() if len(c) > 1], *asked]:
        out["+".join(members)] = list(members)
    return out


def _spline(x: np.ndarray, knots: int) -> np.ndarray:
    """A cubic B-spline basis of x with interior knots at its quantiles; a discrete x (few
    values) gets one indicator per value."""
    from scipy.interpolate import BSpline
    values = np.unique(x)
    if len(values) <= DISCRETE:
        return (x[:, None] == values[None, :]).astype(float)
    lo, hi = float(values[0]), float(values[-1])
    inner = np.unique(np.quantile(x, np.linspace(0, 1, knots + 2)[1:-1]))
    inner = inner[(inner > lo) & (inner < hi)]
    t = np.r_[[lo] * 4, inner, [hi] * 4]
    return BSpline.design_matrix(np.clip(x, lo, hi), t, 3).toarray()


def design(xs: list[np.ndarray]) -> np.ndarray:
    """The regression's columns for a group of inputs (draws x columns)."""
    if len(xs) == 1:
        return _spline(xs[0], KNOTS)
    if len(xs) == 2:
        a, b = _spline(xs[0], KNOTS_PAIR), _spline(xs[1], KNOTS_PAIR)
        return (a[:, :, None] * b[:, None, :]).reshape(len(xs[0]), -1)
    z = [(x - x.mean()) / (x.std() or 1.0) for x in xs]
    cols = [_spline(x, KNOTS_GROUP) for x in xs]
    cols += [(z[i] * z[j])[:, None] for i in range(len(z)) for j in range(i + 1, len(z))]
    return np.hstack(cols)


class _Blocks:
    """A regression's sufficient statistics per block of draws (blocks are runs of
    consecutive draws): X'WX, X'WY and X'W1, so that a bootstrap over blocks is a weighted
    sum of blocks and a solve, and the fitted values' weighted moments need no pass over
    the draws."""

    def __init__(self, x: np.ndarray, y: np.ndarray, w: np.ndarray, block: np.ndarray) -> None:
        self.x = x
        starts = np.r_[0, np.flatnonzero(np.diff(block)) + 1, len(block)]
        xw = x * w[:, None]
        self.gram = np.stack([xw[a:b].T @ x[a:b] for a, b in zip(starts, starts[1:])])
        self.xy = np.stack([xw[a:b].T @ y[:, a:b].T for a, b in zip(starts, starts[1:])])
        self.xw = np.stack([xw[a:b].sum(axis=0) for a, b in zip(starts, starts[1:])])
        self.w = np.array([w[a:b].sum() for a, b in zip(starts, starts[1:])])

    def solve(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The coefficients (columns x targets), the blocks counted `counts` times, and
        that resample's X'WX."""
        g = np.tensordot(counts, self.gram, axes=1)
        xy = np.tensordot(counts, self.xy, axes=1)
        # A whisker of ridge: the basis may hold a column no draw of a resample reaches, or
        # (additive groups) columns that sum to the same constant.
        ridged = g.copy()
        ridged[np.diag_indices_from(g)] += 1e-10 * max(float(np.trace(g)) / len(g), 1e-300)
        return np.linalg.solve(ridged, xy), g

    def fitted(self, counts: np.ndarray, targets: slice = slice(None)) -> np.ndarray:
        """These targets' fitted values (targets x draws), the blocks counted `counts` times."""
        return (self.x @ self.solve(counts)[0][:, targets]).T

    def variance(self, counts: np.ndarray, targets: slice = slice(None)) -> np.ndarray:
        """These targets' fitted values' variance under the resample's weights, from its
        X'WX and X'W1: b'X'WXb / W - (X'W1 b / W)^2, without the draws."""
        beta, g = self.solve(counts)
        beta = beta[:, targets]
        total = float(counts @ self.w)
        mean = (counts @ self.xw) @ beta / total
        v = np.einsum("pk,pq,qk->k", beta, g, beta) / total - mean * mean
        # Rounding of the two moments (a claim that always holds: 1 - 1) is not learning.
        return np.where(v > 1e-9 * mean * mean, v, 0.0)


def _gain(fit: np.ndarray, w: np.ndarray) -> float:
    """E[max(0, max_k fit_k)] - max(0, max_k E[fit_k]), means weighted by w: the value of
    choosing after seeing, for payoffs measured from the first option's."""
    total = w.sum()
    return float(np.dot(w, np.maximum(fit.max(axis=0), 0.0)) / total - max(0.0, float(np.max(fit @ w)) / total))


def learning(sample: Sample, payoffs: np.ndarray | None, indicators: np.ndarray | None,
             groups: dict[str, list[str]], seed: int) -> tuple[Learning | None, dict[str, dict[str, Estimate]]]:
    """EVPI and EVPPI of each group for the options' `payoffs` (options x draws; None for
    no decision), and each claim's Brier value of learning each group (`indicators`,
    claims x draws). Errors by a bootstrap over blocks of draws seeded from `seed`."""
    n = sample.n
    w = sample.weights if sample.weights is not None else np.ones(n)
    block = sample.groups if sample.groups is not None else np.arange(n) * BLOCKS // n
    m = int(block.max()) + 1
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(2 ** 32 + 7,))))
    counts = [rng.multinomial(m, np.full(m, 1.0 / m)).astype(float) for _ in range(BOOTSTRAP)]
    wb = [c[block] * w for c in counts]        # each resample's weight per draw
    ones = np.ones(m)
    # Differences from the first option: the same choice, one regression fewer.
    diffs = payoffs[1:] - payoffs[0] if payoffs is not None else np.empty((0, n))
    hits = indicators if indicators is not None else np.empty((0, n))
    y = np.vstack([diffs, hits])
    k = len(diffs)

    def corrected(value, reps) -> Estimate:
        # max_k of estimated means is biased up (most where options tie), so EVPI and
        # EVPPI are biased down by about their own MCSE: the bootstrap's bias is taken off.
        reps = np.asarray(reps, dtype=float)
        return Estimate(float(2 * value - reps.mean()), float(np.std(reps, ddof=1)))

    evppi: dict[str, Estimate] = {}
    claims: dict[str, dict[str, Estimate]] = {}
    for name, members in groups.items():
        b = _Blocks(design([sample.row(x) for x in members]), y, w, block)
        if k:   # a decision's gain needs each draw's fitted payoffs (a max per draw)
            fit = b.fitted(ones, slice(0, k))
            evppi[name] = corrected(_gain(fit, w), [_gain(b.fitted(c, slice(0, k)), wr) for c, wr in zip(counts, wb)])
        if len(hits):   # a claim's only their variance: from the regression's moments
            value = b.variance(ones, slice(k, None))
            sd = np.std([b.variance(c, slice(k, None)) for c in counts], axis=0, ddof=1)
            for j in range(len(hits)):
                claims.setdefault(str(j), {})[name] = Estimate(float(value[j]), float(sd[j]))
    decision = None
    if k:
        decision = Learning(corrected(_gain(diffs, w), [_gain(diffs, wr) for wr in wb]), evppi)
    return decision, claims


def worth(est: Estimate) -> bool:
    """Whether a value of information is clearly above zero (two errors)."""
    return est.value > 2 * est.mcse and est.value > 0 and math.isfinite(est.value)


def value_of_information(run, workers: int, asked: list[list[str]] = ()) -> dict:
    """What is worth learning before the next decision, from a run's own (weighted) draws:
    for each of its decisions, EVPI and the EVPPI of each input and group; for its claims,
    the expected drop in each claim's Brier score from learning each (JSON-ready but for
    the Estimates, which io writes)."""
    from ..errors import UsageError
    from ..model.events import claim_event
    from .decisions import payoffs
    from .sample import sample_of
    ps, m = run.priors, run.model
    names = [n for n in m.input_names if ps.priors[n].family.varies]
    asked = [list(dict.fromkeys(g)) for g in asked]          # each input once, in the order named
    for group in asked:
        if not group:
            raise UsageError("--group needs the inputs to value together, e.g. --group a,b")
        for x in group:
            if x not in m.input_names:
                import difflib
                close = difflib.get_close_matches(x, m.input_names, n=1, cutoff=0.6)
                raise UsageError(f"--group names '{x}', which is not one of the model's inputs",
                                 hint=f"did you mean '{close[0]}'?" if close else "name inputs, e.g. --group a,b")
    groups = groups_of(names, [(a, b) for a, b, _ in ps.dependence.pairs], [g for g in asked if len(g) > 1])
    # LHS and Sobol draws are bootstrapped by whole chunks: at least MIN_REPLICATES of them.
    from ..numeric.samplers import MIN_REPLICATES, SAMPLERS
    iid = SAMPLERS[run.plan.sampler].iid or run.method is not None
    sample = sample_of(run, workers, draws=VOI_DRAWS if iid else max(VOI_DRAWS, MIN_REPLICATES * run.plan.chunk_size))
    seed = int(run.summary["seed"])
    out = {"run": str(run.folder) if run.folder is not None else None, "title": run.summary["title"],
           # A tempered posterior's particles are all read: they are not the run's first draws.
           "draws": sample.n, "run_draws": sample.n if run.method == "tempered" else int(run.summary["draws"]),
           "effective_draws": sample.ess, "posterior": run.method,
           "bootstrap": BOOTSTRAP, "groups": groups, "decisions": {}, "claims": {}}
    claims = list(ps.claims)
    hits = np.array([claim_event(ps.claims[c], m).mask(sample.rows).astype(float) for c in claims]) \
        if claims else None
    w = sample.weights if sample.weights is not None else np.ones(sample.n)
    by: dict = {}
    for i, (name, d) in enumerate(ps.decisions.items()):
        got, got_claims = learning(sample, payoffs(d, sample), hits if i == 0 else None, groups, seed)
        by = by or got_claims
        out["decisions"][name] = {"description": d.description, "unit": d.unit, "evpi": got.evpi,
                                  "evppi": dict(sorted(got.evppi.items(), key=lambda kv: -kv[1].value))}
    if hits is not None and not by:
        _, by = learning(sample, None, hits, groups, seed)
    for j, c in enumerate(claims):
        p = float(hits[j] @ w / w.sum())
        out["claims"][c] = {"text": ps.claims[c].text, "probability": p, "brier": p * (1 - p),
                            "value": dict(sorted(by[str(j)].items(), key=lambda kv: -kv[1].value))}
    return out
