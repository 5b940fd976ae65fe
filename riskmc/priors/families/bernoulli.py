"""An event that happens with probability p: 1, else 0."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Family, fmt, need, register, stats


@register
@dataclass(frozen=True)
class Bernoulli(Family):
    """An event: 1 with probability p, else 0 (e.g. 'the Trainium3 ramp slips a year')."""

    name: ClassVar[str] = "bernoulli"
    params: ClassVar[tuple[str, ...]] = ("p",)
    discrete: ClassVar[bool] = True

    def check(self):
        need(0 <= self.p <= 1, f"p must be in [0, 1], got {fmt(self.p)}")

    def support(self):
        return (0.0, 1.0)

    def scipy(self):
        return stats().bernoulli(self.p)

    def ppf(self, u):
        return (np.asarray(u) > 1 - self.p).astype(float)

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x == 1.0, self.p, np.where(x == 0.0, 1 - self.p, 0.0))

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x < 0, 0.0, np.where(x < 1, 1 - self.p, 1.0))

    def atoms(self):
        return (0.0, 1.0)
