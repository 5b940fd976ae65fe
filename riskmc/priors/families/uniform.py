"""The uniform distribution between two bounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Family, fmt, make, need, register, stats


@register
@dataclass(frozen=True)
class Uniform(Family):
    name: ClassVar[str] = "uniform"
    params: ClassVar[tuple[str, ...]] = ("lower", "upper")
    fittable: ClassVar[bool] = True

    def check(self):
        need(self.upper > self.lower,
              f"upper must be greater than lower, got lower={fmt(self.lower)}, upper={fmt(self.upper)}")

    def support(self):
        return (self.lower, self.upper)

    def scipy(self):
        return stats().uniform(self.lower, self.upper - self.lower)

    def ppf(self, u):
        return self.lower + (self.upper - self.lower) * np.asarray(u)

    def ppf_into(self, u, out):
        np.multiply(u, self.upper - self.lower, out=out)
        out += self.lower
        return out

    def cdf(self, x):
        return np.clip((np.asarray(x, dtype=float) - self.lower) / (self.upper - self.lower), 0.0, 1.0)

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.where((x >= self.lower) & (x <= self.upper), 1.0 / (self.upper - self.lower), 0.0)

    @classmethod
    def fit(cls, probs, qs, bounds):
        slope, lower = np.polyfit(np.asarray(probs), np.asarray(qs), 1)
        return make(cls.name, {"lower": lower, "upper": lower + slope})
