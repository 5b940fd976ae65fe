"""The lognormal: log(x) is normal(mu, sigma), sampled from the standard normal's table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...numeric import normal
from .base import Family, fmt, in_support, make, need, register, stats


@register
@dataclass(frozen=True)
class LogNormal(Family):
    """Log-space parameters: log(x) ~ normal(mu, sigma); the median is exp(mu)."""

    name: ClassVar[str] = "lognormal"
    params: ClassVar[tuple[str, ...]] = ("mu", "sigma")
    fittable: ClassVar[bool] = True

    def check(self):
        need(self.sigma > 0, f"sigma must be positive, got {fmt(self.sigma)}")

    def support(self):
        return (0.0, math.inf)

    def scipy(self):
        return stats().lognorm(s=self.sigma, scale=math.exp(self.mu))

    def ppf(self, u):
        with np.errstate(over="ignore"):
            return np.exp(self.mu + self.sigma * normal.ndtri(u))

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, normal.ndtr((np.log(np.maximum(x, 1e-300)) - self.mu) / self.sigma), 0.0)

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(np.maximum(x, 1e-300)) - self.mu) / self.sigma
            return np.where(x > 0, normal.pdf(z) / (self.sigma * np.maximum(x, 1e-300)), 0.0)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            lx = np.log(np.maximum(x, 1e-300))
            z = (lx - self.mu) / self.sigma
            return np.where(x > 0, -0.5 * z * z - lx - math.log(self.sigma * math.sqrt(2 * math.pi)), -np.inf)

    def lookup(self):
        from ...numeric import tables
        return tables.Lookup(tables.standard_normal(), self.mu, self.sigma, exp=True)

    @classmethod
    def fit(cls, probs, qs, bounds):
        in_support(cls.name, qs, 0.0, math.inf)
        sigma, mu = np.polyfit(normal.ndtri(np.asarray(probs)), np.log(np.asarray(qs)), 1)
        return make(cls.name, {"mu": mu, "sigma": sigma})
