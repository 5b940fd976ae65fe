"""Several experts' distributions for one prior, pooled into one.

A linear pool is the weighted mixture sum_k w_k F_k: it keeps every expert's view (two
experts who disagree give two humps), the honest default when they disagree (SHELF's
choice). A logarithmic pool is proportional to prod_k f_k^w_k: a compromise narrower
than the mixture, for experts who share information. Weights are normalised to sum to one.

Sampling inverts the pool's CDF on a grid built once per pool: for a linear pool, every
expert's own quantiles (fine wherever any of them puts mass), its CDF exact there; for a
log pool, a grid uniform in logit, log or x as the support is bounded on two, one or no
sides, the density integrated there. Interpolation stays within about 1e-6 of the spread
(tests/test_experts.py: bisection for linear pools, closed forms for log pools).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

from .base import Family, need, rebuild, record, register

POOLS = ("linear", "log")
# Each part's quantiles at logit(u) from -T to T in STEPS steps (u from 1e-15 to 1 - 1e-15).
T = 34.5
STEPS = 2 ** 14
BISECT = 64  # halvings of the bracket: past double precision for any bracket


@dataclass(frozen=True)
class Pool(Family):
    """The pool of continuous `parts` with `weights` (summing to one), `kind` linear or log."""

    name: ClassVar[str] = "pool"
    params: ClassVar[tuple[str, ...]] = ()
    parts: tuple[Family, ...] = ()
    weights: tuple[float, ...] = ()
    kind: str = "linear"

    def check(self):
        need(self.kind in POOLS, f"pool must be linear or log, got '{self.kind}'")
        need(len(self.parts) >= 1 and len(self.parts) == len(self.weights), "a pool needs its experts")
        need(abs(sum(self.weights) - 1.0) < 1e-9 and min(self.weights) > 0,
              "pool weights must be positive and sum to one")
        if self.kind == "log":
            lo, hi = self.support()
            need(lo < hi, "the experts' distributions share no values, so a log pool is empty; "
                           "use pool = \"linear\"")

    def support(self):
        ends = [p.support() for p in self.parts]
        if self.kind == "linear":
            return (min(lo for lo, _ in ends), max(hi for _, hi in ends))
        return (max(lo for lo, _ in ends), min(hi for _, hi in ends))

    def scipy(self):
        raise NotImplementedError("a pool has no SciPy counterpart")

    # --- densities and CDFs
    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        if self.kind == "linear":
            return sum(w * p.pdf(x) for w, p in zip(self.weights, self.parts))
        g = self._log_grid
        return np.interp(x, g.x, g.density, left=0.0, right=0.0)

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        if self.kind == "linear":
            return sum(w * p.cdf(x) for w, p in zip(self.weights, self.parts))
        g = self._log_grid
        return np.interp(x, g.x, g.cdf, left=0.0, right=1.0)

    # --- quantiles
    def quantiles(self, probs) -> np.ndarray:
        """Exact quantiles (bisection on the CDF), for reports and fitting checks."""
        u = np.asarray(probs, dtype=float)
        if self.kind == "log":
            g = self._log_grid
            return np.interp(u, g.cdf, g.x)
        lo = np.min([p.ppf(u) for p in self.parts], axis=0)
        hi = np.max([p.ppf(u) for p in self.parts], axis=0)
        # The mixture's u-quantile lies between its parts' u-quantiles: a tight bracket.
        for _ in range(BISECT):
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid) < u
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    def ppf(self, u):
        g = self._grid
        return np.interp(np.asarray(u, dtype=float), g.cdf, g.x)

    def ppf_into(self, u, out):
        g = self._grid
        out[:] = np.interp(u, g.cdf, g.x)
        return out

    @cached_property
    def _grid(self) -> _Grid:
        if self.kind == "log":
            return self._log_grid
        # Every part's own quantiles on a grid in logit(u): the pool's quantiles lie among
        # them, so the grid is fine wherever any expert puts mass, whatever their scales.
        u = 1.0 / (1.0 + np.exp(-np.linspace(-T, T, STEPS + 1)))
        x = np.concatenate([np.asarray(p.ppf(u), dtype=float) for p in self.parts])
        x = np.unique(x[np.isfinite(x)])
        return _Grid(x, self.pdf(x), self.cdf(x))

    @cached_property
    def _log_grid(self) -> _Grid:
        return _log_pool_grid(self.parts, self.weights, self.support())

    def lookup(self):
        from ...numeric import tables
        return tables.Lookup(tables.pooled(self), 0.0, 1.0)

    def record_extra(self):
        return {"kind": self.kind, "weights": list(self.weights), "parts": [record(p) for p in self.parts]}

    @classmethod
    def from_record(cls, params: dict, extra: dict) -> Pool:
        return make_pool([rebuild(p) for p in extra["parts"]], extra["weights"], extra["kind"])

    def key(self) -> list:
        """Everything the pool's numbers depend on, for riskmc.numeric.cache keys."""
        return [self.kind, list(self.weights),
                [[p.name, sorted(p.values.items()), list(getattr(p, "probs", ())), list(getattr(p, "qs", ()))]
                 for p in self.parts]]

    def describe(self) -> str:
        n = len(self.parts)
        return f"{self.kind} pool of {n} expert{'s' if n != 1 else ''}"


register(Pool, stated=False)


@dataclass(frozen=True)
class _Grid:
    x: np.ndarray
    density: np.ndarray
    cdf: np.ndarray


GRID = 2 ** 16


class _Space:
    """Where a log pool is integrated: y = logit, log or x itself, as the support is
    bounded on both sides, one side or none; a grid uniform in y is fine both for a
    lognormal spanning decades and for a beta piled against an end."""

    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi
        self.kind = ("both" if math.isfinite(lo) and math.isfinite(hi) else "low" if math.isfinite(lo)
                     else "high" if math.isfinite(hi) else "none")

    def y(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == "both":
                return np.log(x - self.lo) - np.log(self.hi - x)
            if self.kind == "low":
                return np.log(x - self.lo)
            if self.kind == "high":
                return -np.log(self.hi - x)
            return x

    def x(self, y):
        y = np.asarray(y, dtype=float)
        if self.kind == "both":
            return self.lo + (self.hi - self.lo) / (1.0 + np.exp(-y))
        if self.kind == "low":
            return self.lo + np.exp(y)
        if self.kind == "high":
            return self.hi - np.exp(-y)
        return y

    def log_jacobian(self, y):
        """log dx/dy."""
        y = np.asarray(y, dtype=float)
        if self.kind == "both":
            return math.log(self.hi - self.lo) - np.logaddexp(0.0, y) - np.logaddexp(0.0, -y)
        if self.kind == "low":
            return y
        if self.kind == "high":
            return -y
        return np.zeros_like(y)


def _log_pool_grid(parts, weights, support) -> _Grid:
    """The log pool's CDF on a grid: sum_k w_k log f_k, normalised numerically, in the
    space where the pool's support is the whole line (_Space). A first pass over every
    part's range finds where the pool's mass lies; a second resolves that stretch."""
    space = _Space(*support)
    with np.errstate(all="ignore"):
        ends = space.y(np.concatenate([np.asarray(p.ppf(np.array([1e-13, 1 - 1e-13])), dtype=float)
                                       for p in parts]))
    # A part's extreme quantile may round onto the support's end (a beta(0.5, 0.5) at
    # 1 - 1e-13 is 1.0 in double precision): there, y stops where doubles still resolve.
    reach = {"both": (-40.0, 40.0), "low": (-50.0, 700.0), "high": (-700.0, 50.0), "none": (-np.inf, np.inf)}
    ends = np.clip(np.nan_to_num(ends, nan=0.0, neginf=-np.inf, posinf=np.inf), *reach[space.kind])
    ends = ends[np.isfinite(ends)]
    lo, hi = float(np.min(ends)), float(np.max(ends))
    for _ in range(3):
        y = np.linspace(lo, hi, GRID + 1)
        x = space.x(y)
        with np.errstate(all="ignore"):
            logd = sum(w * p.logpdf(x) for w, p in zip(weights, parts)) + space.log_jacobian(y)
        logd = np.where(np.isfinite(logd), logd, -np.inf)
        top = np.max(logd)
        d = np.exp(logd - top)
        c = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(y))])
        total = c[-1]
        c = c / total
        keep = np.flatnonzero((c > 1e-15) & (c < 1 - 1e-15))
        if len(keep) == 0:
            break
        new_lo, new_hi = y[max(keep[0] - 1, 0)], y[min(keep[-1] + 1, GRID)]
        if new_hi - new_lo > 0.5 * (hi - lo):
            break  # already resolved
        lo, hi = new_lo, new_hi
    # The density in x: the density in y over dx/dy, normalised as the CDF was.
    with np.errstate(all="ignore"):
        dens = np.exp(np.where(np.isfinite(logd), logd - space.log_jacobian(y), -np.inf) - top) / total
    return _Grid(x, np.nan_to_num(dens), c)


def make_pool(parts, weights, kind: str = "linear") -> Pool:
    """A checked pool; weights are used in proportion (normalised here)."""
    total = float(sum(weights))
    pool = Pool(parts=tuple(parts), weights=tuple(float(w) / total for w in weights), kind=kind)
    pool.check()
    return pool


def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """How much two intervals share: |a & b| / |a | b| (0 disjoint, 1 the same)."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 1.0
