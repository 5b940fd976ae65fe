"""A finite set of outcomes with their probabilities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Family, fmt, need, register, stats


@register
@dataclass(frozen=True)
class Discrete(Family):
    """A finite set of outcomes with their probabilities (e.g. 0, 1 or 2 new fabs)."""

    name: ClassVar[str] = "discrete"
    params: ClassVar[tuple[str, ...]] = ()
    discrete: ClassVar[bool] = True
    points: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()

    def check(self):
        need(len(self.points) >= 1 and len(self.points) == len(self.weights),
              "discrete needs 'values' and 'probs' lists of the same length")
        need(all(w >= 0 for w in self.weights), "discrete probs must not be negative")
        need(abs(sum(self.weights) - 1) < 1e-9,
              f"discrete probs must add up to 1, got {sum(self.weights):g}")
        need(all(a < b for a, b in zip(self.points, self.points[1:])),
              "discrete values must be listed in increasing order")

    def support(self):
        return (self.points[0], self.points[-1])

    def scipy(self):
        return stats().rv_discrete(values=(self.points, self.weights))

    def ppf(self, u):
        cum = np.cumsum(self.weights)
        cum[-1] = 1.0
        idx = np.searchsorted(cum, np.asarray(u), side="left")
        return np.asarray(self.points, dtype=float)[np.minimum(idx, len(self.points) - 1)]

    def quantiles(self, probs):
        return self.ppf(np.asarray(probs, dtype=float))

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        out = np.zeros_like(x)
        for v, w in zip(self.points, self.weights):
            out[x == v] = w
        return out

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.sum([w * (x >= v) for v, w in zip(self.points, self.weights)], axis=0)

    def describe(self):
        pairs = ", ".join(f"{fmt(v)}: {fmt(w)}" for v, w in zip(self.points, self.weights))
        return f"discrete({pairs})"

    def atoms(self):
        return tuple(self.points)

    def record_extra(self):
        return {"points": list(self.points), "weights": list(self.weights)}
