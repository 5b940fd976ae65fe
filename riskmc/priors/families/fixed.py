"""A constant: a prior that does not vary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Family, register, stats


@register
@dataclass(frozen=True)
class Fixed(Family):
    name: ClassVar[str] = "fixed"
    params: ClassVar[tuple[str, ...]] = ("value",)
    varies: ClassVar[bool] = False

    def support(self):
        return (self.value, self.value)

    def scipy(self):
        return stats().randint(0, 1, loc=self.value) if float(self.value).is_integer() else _PointMass(self.value)

    def ppf(self, u):
        return np.full(np.shape(u), float(self.value))

    def cdf(self, x):
        return (np.asarray(x) >= self.value).astype(float)

    def pdf(self, x):
        return np.zeros(np.shape(x))


class _PointMass:
    """Minimal stand-in for a SciPy point mass at a non-integer value."""

    def __init__(self, v):
        self.v = v

    def ppf(self, u):
        return np.full(np.shape(u), float(self.v))

    def mean(self):
        return self.v

    def std(self):
        return 0.0

    def atoms(self):
        return (float(self.value),)
