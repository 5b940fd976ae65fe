"""A normal cut to [lower, upper]."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...numeric import normal
from .base import Family, fmt, in_support, least_squares, make, need, register, stats


@register
@dataclass(frozen=True)
class TruncNormal(Family):
    """Normal(mean, sd) cut to [lower, upper]; mean and sd are the uncut parent's."""

    name: ClassVar[str] = "truncnormal"
    params: ClassVar[tuple[str, ...]] = ("mean", "sd")
    fittable: ClassVar[bool] = True
    optional: ClassVar[dict[str, float]] = {"lower": -math.inf, "upper": math.inf}

    def check(self):
        need(self.sd > 0, f"sd must be positive, got {fmt(self.sd)}")
        need(self.upper > self.lower,
              f"upper must be greater than lower, got lower={fmt(self.lower)}, upper={fmt(self.upper)}")

    def support(self):
        return (self.lower, self.upper)

    def _ab(self):
        return (self.lower - self.mean) / self.sd, (self.upper - self.mean) / self.sd

    def scipy(self):
        a, b = self._ab()
        return stats().truncnorm(a, b, loc=self.mean, scale=self.sd)

    def ppf(self, u):
        a, b = self._ab()
        lo, hi = normal.ndtr(a), normal.ndtr(b)
        x = self.mean + self.sd * normal.ndtri(lo + (hi - lo) * np.asarray(u))
        return np.clip(x, self.lower, self.upper)

    def cdf(self, x):
        a, b = self._ab()
        lo, hi = normal.ndtr(a), normal.ndtr(b)
        z = (np.clip(np.asarray(x, dtype=float), self.lower, self.upper) - self.mean) / self.sd
        return (normal.ndtr(z) - lo) / (hi - lo)

    def pdf(self, x):
        a, b = self._ab()
        mass = normal.ndtr(b) - normal.ndtr(a)
        x = np.asarray(x, dtype=float)
        d = normal.pdf((x - self.mean) / self.sd) / (self.sd * mass)
        return np.where((x < self.lower) | (x > self.upper), 0.0, d)

    def logpdf(self, x):
        a, b = self._ab()
        mass = normal.ndtr(b) - normal.ndtr(a)
        x = np.asarray(x, dtype=float)
        z = (x - self.mean) / self.sd
        d = -0.5 * z * z - math.log(self.sd * mass * math.sqrt(2 * math.pi))
        return np.where((x < self.lower) | (x > self.upper), -np.inf, d)

    @classmethod
    def fit(cls, probs, qs, bounds):
        lo, hi = bounds.get("lower", -math.inf), bounds.get("upper", math.inf)
        in_support(cls.name, qs, lo, hi)
        sd0, m0 = np.polyfit(normal.ndtri(np.asarray(probs)), np.asarray(qs), 1)

        def build(theta):
            return make(cls.name, {"mean": theta[0], "sd": math.exp(theta[1]), "lower": lo, "upper": hi})

        return least_squares(build, np.array([m0, math.log(max(sd0, 1e-9))]), probs, qs)
