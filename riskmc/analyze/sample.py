"""A run's draws as arrays, weighed as the run weighed them: what decisions and the value
of information read.

Prior runs give their draws at equal weight (re-created from the seed, or read from
draws.parquet); importance-sampled posteriors add each draw's Pareto-smoothed weight; a
tempered posterior gives its replicates' final particles. A mean's Monte Carlo error
follows the sample: sd / sqrt(n) for i.i.d. draws, batch means over whole chunks for LHS
and Sobol (the run's own rule), the self-normalised estimator's delta method for weights,
and the spread of the replicates' means for a tempered posterior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..kernel.finalize import binomial_se, stratum_floor
from ..numeric.samplers import SAMPLERS
from ..results import Estimate


@dataclass
class Sample:
    """Draws (rows x draws) with their weights (None: equal) and groups (chunk or replicate
    per draw, for batch means; None: i.i.d.)."""

    rows: np.ndarray
    labels: tuple[str, ...]
    weights: np.ndarray | None = None
    groups: np.ndarray | None = None
    full: int = 0                 # a whole chunk's draws (batch means), else 0

    @property
    def n(self) -> int:
        return self.rows.shape[1]

    @property
    def ess(self) -> float:
        """The draws the sample is worth (Kish's effective sample size under weights)."""
        w = self.weights
        return float(self.n) if w is None else float(w.sum() ** 2 / np.sum(w * w))

    def row(self, label: str) -> np.ndarray:
        return self.rows[self.labels.index(label)]

    def mean(self, v: np.ndarray, indicator: bool = False) -> Estimate:
        """The mean of per-draw values v, with its Monte Carlo error; `indicator` marks a
        0/1 v, whose i.i.d. error is the binomial one the run's claims carry."""
        v = np.asarray(v, dtype=float)
        w = self.weights
        if w is not None:
            total = float(w.sum())
            est = float(np.dot(w, v) / total)
            return Estimate(est, float(math.sqrt(np.sum((w * (v - est)) ** 2)) / total))
        est = float(v.mean())
        if self.groups is None:
            if indicator:
                return Estimate(est, binomial_se(float(v.sum()), len(v)))
            return Estimate(est, float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan"))
        sizes = np.bincount(self.groups)
        sums = np.bincount(self.groups, weights=v)
        keep = sizes == (self.full or sizes.max())
        means = sums[keep] / sizes[keep]
        se = float(np.std(means, ddof=1) / math.sqrt(len(means))) if len(means) > 1 else float("nan")
        if indicator and self.full:
            se = max(se, stratum_floor(self.full, len(sizes)))
        return Estimate(est, se)


def sample_of(run, workers: int, labels: list[str] | None = None, draws: int | None = None) -> Sample:
    """The run's draws of `labels` (every row when None), as the run weighed them; with
    `draws`, its first whole chunks holding at least that many (a tempered posterior's
    particles are all taken: there are few)."""
    every = list(run.labels)
    picked = every if labels is None else list(labels)
    idx = [every.index(x) for x in picked]
    if run.method == "tempered":
        parts = run.particles(workers)                            # (R, V, n)
        r, _, n = parts.shape
        rows = parts[:, idx, :].transpose(1, 0, 2).reshape(len(idx), r * n)
        return Sample(rows, tuple(picked), groups=np.repeat(np.arange(r), n))
    count = None if draws is None else -(-draws // run.plan.chunk_size)
    chunks = list(run.chunks(lambda i, rows: rows[idx].copy(), workers, count))
    rows = np.concatenate(chunks, axis=1) if chunks else np.empty((len(idx), 0))
    if run.method == "importance":
        return Sample(rows, tuple(picked), weights=run.posterior_weights(workers, rows.shape[1]))
    if SAMPLERS[run.plan.sampler].iid:
        return Sample(rows, tuple(picked))
    groups = np.repeat(np.arange(len(chunks)), [c.shape[1] for c in chunks])
    return Sample(rows, tuple(picked), groups=groups, full=run.plan.chunk_size)
