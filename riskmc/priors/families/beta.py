"""The beta distribution, scaled to [lower, upper]: shares and probabilities."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...numeric import normal
from .base import Family, fmt, in_support, least_squares, make, need, register, special, stats

BETA_MAX = 1e9


@register
@dataclass(frozen=True)
class Beta(Family):
    """Beta(a, b) scaled to [lower, upper] (default [0, 1])."""

    name: ClassVar[str] = "beta"
    params: ClassVar[tuple[str, ...]] = ("a", "b")
    fittable: ClassVar[bool] = True
    optional: ClassVar[dict[str, float]] = {"lower": 0.0, "upper": 1.0}

    def check(self):
        need(self.a > 0 and self.b > 0,
              f"a and b must be positive, got a={fmt(self.a)}, b={fmt(self.b)}")
        # Beyond this the beta is a constant in all but name (its sd below 3e-5 of its range)
        # and its quantiles are no longer computable (a = b = 1e308 gave NaN for every one).
        need(self.a <= BETA_MAX and self.b <= BETA_MAX,
              f"a and b must be at most {BETA_MAX:.0e}, got a={fmt(self.a)}, b={fmt(self.b)}: such a beta is "
              "a constant in all but name (use value = ... for a constant)")
        need(self.upper > self.lower,
              f"upper must be greater than lower, got lower={fmt(self.lower)}, upper={fmt(self.upper)}")

    def support(self):
        return (self.lower, self.upper)

    def scipy(self):
        return stats().beta(self.a, self.b, loc=self.lower, scale=self.upper - self.lower)

    def ppf(self, u):
        return self.lower + (self.upper - self.lower) * special().betaincinv(self.a, self.b, np.asarray(u))

    def cdf(self, x):
        y = np.clip((np.asarray(x, dtype=float) - self.lower) / (self.upper - self.lower), 0.0, 1.0)
        return special().betainc(self.a, self.b, y)

    def pdf(self, x):
        w = self.upper - self.lower
        y = (np.asarray(x, dtype=float) - self.lower) / w
        a, b = self.a, self.b
        log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        inside = (y > 0) & (y < 1)
        yc = np.clip(y, 1e-300, 1 - 1e-16)
        with np.errstate(all="ignore"):
            d = np.exp(log_norm + (a - 1) * np.log(yc) + (b - 1) * np.log1p(-yc)) / w
        return np.where(inside, d, 0.0)

    def logpdf(self, x):
        w = self.upper - self.lower
        y = (np.asarray(x, dtype=float) - self.lower) / w
        a, b = self.a, self.b
        log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) - math.log(w)
        with np.errstate(all="ignore"):
            d = log_norm + (a - 1) * np.log(y) + (b - 1) * np.log1p(-y)
        return np.where((y > 0) & (y < 1), d, -np.inf)

    def lookup(self):
        from ...numeric import tables
        return tables.Lookup(tables.beta(self.a, self.b), self.lower, self.upper - self.lower)

    @classmethod
    def fit(cls, probs, qs, bounds):
        lo, hi = bounds.get("lower", 0.0), bounds.get("upper", 1.0)
        in_support(cls.name, qs, lo, hi)
        y = (np.asarray(qs) - lo) / (hi - lo)

        def build(theta):
            return make(cls.name, {"a": math.exp(theta[0]), "b": math.exp(theta[1]), "lower": lo, "upper": hi})

        # Start from the normal that matches the quantiles, by method of moments.
        sd, m = np.polyfit(normal.ndtri(np.asarray(probs)), y, 1)
        m = min(max(m, 1e-3), 1 - 1e-3)
        v = min(max(sd, 1e-4) ** 2, m * (1 - m) * 0.9)
        k = m * (1 - m) / v - 1
        theta0 = np.log([max(m * k, 1e-2), max((1 - m) * k, 1e-2)])
        return least_squares(build, theta0, probs, qs)
