"""The normal distribution: mean and sd, sampled from the standard normal's table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...errors import PriorsError
from ...numeric import normal
from .base import Family, fmt, make, need, register, stats


@register
@dataclass(frozen=True)
class Normal(Family):
    name: ClassVar[str] = "normal"
    params: ClassVar[tuple[str, ...]] = ("mean", "sd")
    fittable: ClassVar[bool] = True

    def check(self):
        need(self.sd > 0, f"sd must be positive, got {fmt(self.sd)}")

    def support(self):
        return (-math.inf, math.inf)

    def scipy(self):
        return stats().norm(self.mean, self.sd)

    def ppf(self, u):
        return self.mean + self.sd * normal.ndtri(u)

    def cdf(self, x):
        return normal.ndtr((np.asarray(x, dtype=float) - self.mean) / self.sd)

    def pdf(self, x):
        return normal.pdf((np.asarray(x, dtype=float) - self.mean) / self.sd) / self.sd

    def logpdf(self, x):
        z = (np.asarray(x, dtype=float) - self.mean) / self.sd
        return -0.5 * z * z - math.log(self.sd * math.sqrt(2 * math.pi))

    def lookup(self):
        from ...numeric import tables
        return tables.Lookup(tables.standard_normal(), self.mean, self.sd)

    @classmethod
    def fit(cls, probs, qs, bounds):
        sd, mean = np.polyfit(normal.ndtri(np.asarray(probs)), np.asarray(qs), 1)
        if sd <= 0:
            raise PriorsError("quantiles imply a non-positive sd")
        return make(cls.name, {"mean": mean, "sd": sd})
