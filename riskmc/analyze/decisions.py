"""Decisions priced by a run: each option's expected payoff and the probability that it
is the best, with their Monte Carlo errors, from the run's own (weighted) draws.

The draws pass once, in chunk order, and only sums stay (constant memory at any number
of draws): a prior run prices the chunks as its engine hands them over; a posterior is
priced over its re-created draws with Run.reduce, the largest weights moved to their
Pareto-smoothed values as the run moved them. The errors are those of
riskmc.analyze.sample.Sample.mean: sd / sqrt(n) and the binomial error for i.i.d. draws,
batch means over whole chunks (LHS, Sobol) or replicates (tempered), the delta method
under weights.
"""

from __future__ import annotations

import math

import numpy as np

from ..kernel.finalize import binomial_se, stratum_floor
from ..results import DecisionPrice, Estimate, OptionPrice
from .sample import Sample


def payoffs(decision, sample: Sample) -> np.ndarray:
    """Each option's payoff per draw: (options x draws)."""
    return np.array([p.values(sample.rows) for _, p in decision.options])


class Pricing:
    """The sums that price every decision of a priors file over draws added in order.

    Per option (all decisions' options side by side): the payoff about a centre c (the
    first draws' mean, weighted as the run weighs them: no digits lost to a large mean)
    summed at weight w and w^2, and whether it is the best; with `batch` (batch means),
    the same per part. A prior part has w = 1."""

    def __init__(self, decisions: dict, centers: np.ndarray | None = None, batch: bool = False) -> None:
        self.decisions = decisions
        self.centers = centers
        self.batch = batch
        k = sum(len(d.options) for d in decisions.values())
        self.n = 0
        self.w = np.zeros(2)                          # sum of w, of w^2
        self.s = np.zeros((5, k))                     # w v, w^2 v, w^2 v^2, w best, w^2 best
        self.parts: list[tuple[int, np.ndarray, np.ndarray]] = []  # (n, sum v, sum best) per part

    def values(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every option's payoff about its centre, and whether it is its decision's best
        (ties to the option listed first): (options x draws) each. The first rows priced
        fix the centres. A payoff that is not a finite number for some draw stops the
        run, naming the decision's line."""
        v, best = [], []
        for d in self.decisions.values():
            got = np.array([p.values(rows) for _, p in d.options])
            if not np.all(np.isfinite(got)):
                from ..errors import ModelError
                k = int(np.flatnonzero(~np.all(np.isfinite(got), axis=1))[0])
                option, p = d.options[k]
                raise ModelError(f"decision '{d.name}': option '{option}': the payoff \"{p.text}\" is not a "
                                 "finite number for every draw", file=d.file, line=d.line,
                                 hint="a division by zero? guard it, e.g. with max(x, 0.001)")
            top = np.argmax(got, axis=0)
            v.append(got)
            best.append(np.arange(len(d.options))[:, None] == top[None, :])
        v = np.concatenate(v)
        return v - self.centers[:, None], np.concatenate(best).astype(float)

    def part(self, rows: np.ndarray, w: np.ndarray | None = None, w2: np.ndarray | None = None,
             index: np.ndarray | None = None) -> Pricing:
        """A new part with these draws, at this pricing's centres (a Run.reduce function:
        `index` marks the smoothed tail's weight changes, which add no draws). Sums run in
        a fixed order, without BLAS, so the bits do not depend on threads. The centres are
        set before (center), never here: parts made on several threads share them."""
        if self.centers is None:
            raise RuntimeError("Pricing.part before its centres are set (Pricing.center)")
        p = Pricing(self.decisions, self.centers, self.batch)
        v, best = p.values(rows)
        if w is None:
            n = rows.shape[1]
            p.w[:] = n
            sv, sb = v.sum(axis=1), best.sum(axis=1)
            p.s[:] = sv, sv, np.einsum("kn,kn->k", v, v), sb, sb
            p.n = n
            if self.batch:
                p.parts.append((n, sv, sb))
            return p
        p.w[:] = w.sum(), w2.sum()
        p.s[:] = (np.einsum("kn,n->k", v, w), np.einsum("kn,n->k", v, w2), np.einsum("kn,kn,n->k", v, v, w2),
                  np.einsum("kn,n->k", best, w), np.einsum("kn,n->k", best, w2))
        if index is None:
            p.n = rows.shape[1]
        return p

    def center(self, rows: np.ndarray, w: np.ndarray | None = None) -> None:
        """Fix the centres: the payoffs' mean over these draws (weighted by w)."""
        self.centers = np.zeros(self.s.shape[1])
        v, _ = self.values(rows)
        weighted = w is not None and w.sum() > 0   # a first chunk the evidence gives no weight: its mean
        self.centers = np.einsum("kn,n->k", v, w) / w.sum() if weighted else v.mean(axis=1)

    def add(self, rows: np.ndarray) -> None:
        """Add a part of equally weighted draws (a prior run's next chunk; the first fixes
        the centres)."""
        if self.centers is None:
            self.center(rows)
        self.merge(self.part(rows))

    def merge(self, other: Pricing) -> None:
        self.n += other.n
        self.w += other.w
        self.s += other.s
        self.parts += other.parts

    def prices(self, kind: str, full: int = 0) -> dict[str, DecisionPrice]:
        """Each decision's prices. `kind`: "iid" draws, "weighted" (importance sampling),
        or "batch" (each part an independent randomisation: whole chunks of `full` draws,
        or replicates of any size when `full` is 0)."""
        c = self.centers if self.centers is not None else np.zeros(self.s.shape[1])
        expected, best = [], []
        for k in range(self.s.shape[1]):
            expected.append(self._estimate(k, c[k], kind, full, indicator=False))
            best.append(self._estimate(k, 0.0, kind, full, indicator=True))
        out, k = {}, 0
        for name, d in self.decisions.items():
            options = {}
            for option, p in d.options:
                options[option] = OptionPrice(p.text, expected[k], best[k])
                k += 1
            top = max(options, key=lambda o: options[o].expected.value)
            out[name] = DecisionPrice(d.description, d.unit, options, top)
        return out

    def _estimate(self, k: int, c: float, kind: str, full: int, indicator: bool) -> Estimate:
        w1, w2 = self.w
        s1, t1, t2 = (self.s[3, k], self.s[4, k], self.s[4, k]) if indicator else self.s[:3, k]
        e = s1 / w1
        spread = max(t2 - 2 * e * t1 + e * e * w2, 0.0)     # sum of w^2 (v - e)^2
        if kind == "weighted":
            return Estimate(float(c + e), math.sqrt(spread) / w1)
        n = self.n
        if kind == "iid":
            if indicator:
                return Estimate(float(e), binomial_se(float(s1), n))
            return Estimate(float(c + e), math.sqrt(spread / (n - 1) / n) if n > 1 else float("nan"))
        sizes = np.array([m for m, _, _ in self.parts])
        sums = np.array([(b if indicator else v)[k] for _, v, b in self.parts])
        keep = sizes == (full or sizes.max())
        means = sums[keep] / sizes[keep]
        se = float(np.std(means, ddof=1) / math.sqrt(len(means))) if len(means) > 1 else float("nan")
        if indicator and full:
            se = max(se, stratum_floor(full, len(sizes)))
        return Estimate(float(c + e), se)


def price_all(run, decisions: dict, workers: int) -> dict[str, DecisionPrice]:
    """Every decision priced on a run's draws, re-created once for all of them (the path
    of posteriors; a prior run prices as it samples, in riskmc.api)."""
    if not decisions:
        return {}
    from ..numeric.samplers import SAMPLERS
    if run.method == "tempered":
        parts = run.particles(workers)                      # (R, V, n): replicates
        total = Pricing(decisions, batch=True)
        for rows in parts:
            total.add(rows)
        return total.prices("batch")
    iid = SAMPLERS[run.plan.sampler].iid
    first = Pricing(decisions, batch=not iid)
    rows = np.array(run.rows(0), copy=True)
    # The centres before the threads start: the first chunk's mean, as the run weighs it.
    first.center(rows, run.weights(rows)[0] if run.method == "importance" else None)
    total = run.reduce(first.part, workers)
    if run.method == "importance":
        return total.prices("weighted")
    return total.prices("iid" if iid else "batch", run.plan.chunk_size)
