"""The triangular distribution: lower, mode, upper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Family, fit_three_points, fmt, need, register, stats


@register
@dataclass(frozen=True)
class Triangular(Family):
    name: ClassVar[str] = "triangular"
    params: ClassVar[tuple[str, ...]] = ("lower", "mode", "upper")
    fittable: ClassVar[bool] = True

    def check(self):
        need(self.lower <= self.mode <= self.upper and self.lower < self.upper,
              f"need lower <= mode <= upper and lower < upper, got {fmt(self.lower)}, "
              f"{fmt(self.mode)}, {fmt(self.upper)}")

    def support(self):
        return (self.lower, self.upper)

    def scipy(self):
        w = self.upper - self.lower
        return stats().triang((self.mode - self.lower) / w, loc=self.lower, scale=w)

    def ppf(self, u):
        u = np.asarray(u, dtype=float)
        lo, m, hi = self.lower, self.mode, self.upper
        fc = (m - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (m - lo))
        right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - m))
        return np.where(u < fc, left, right)

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        lo, m, hi = self.lower, self.mode, self.upper
        with np.errstate(all="ignore"):
            left = (x - lo) ** 2 / ((hi - lo) * (m - lo)) if m > lo else np.zeros_like(x)
            right = 1 - (hi - x) ** 2 / ((hi - lo) * (hi - m)) if hi > m else np.ones_like(x)
        return np.where(x <= lo, 0.0, np.where(x >= hi, 1.0, np.where(x < m, left, right)))

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        lo, m, hi = self.lower, self.mode, self.upper
        with np.errstate(all="ignore"):
            left = 2 * (x - lo) / ((hi - lo) * (m - lo)) if m > lo else np.zeros_like(x)
            right = 2 * (hi - x) / ((hi - lo) * (hi - m)) if hi > m else np.zeros_like(x)
        return np.where((x < lo) | (x > hi), 0.0, np.where(x < m, left, right))

    @classmethod
    def fit(cls, probs, qs, bounds):
        return fit_three_points(cls.name, probs, qs)
