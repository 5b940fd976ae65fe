"""PERT(lower, mode, upper): a beta whose shape the mode sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .base import Family, fit_three_points, fmt, need, register
from .beta import Beta


@register
@dataclass(frozen=True)
class Pert(Family):
    """PERT(lower, mode, upper): a beta with shape set by the mode (lambda = 4)."""

    name: ClassVar[str] = "pert"
    params: ClassVar[tuple[str, ...]] = ("lower", "mode", "upper")
    fittable: ClassVar[bool] = True

    def check(self):
        need(self.lower < self.mode < self.upper,
              f"need lower < mode < upper, got {fmt(self.lower)}, {fmt(self.mode)}, {fmt(self.upper)}")

    def as_beta(self) -> Beta:
        w = self.upper - self.lower
        a = 1 + 4 * (self.mode - self.lower) / w
        b = 1 + 4 * (self.upper - self.mode) / w
        return Beta(dict(a=a, b=b, lower=self.lower, upper=self.upper))

    def support(self):
        return (self.lower, self.upper)

    def scipy(self):
        return self.as_beta().scipy()

    def ppf(self, u):
        return self.as_beta().ppf(u)

    def cdf(self, x):
        return self.as_beta().cdf(x)

    def pdf(self, x):
        return self.as_beta().pdf(x)

    def logpdf(self, x):
        return self.as_beta().logpdf(x)

    def lookup(self):
        return self.as_beta().lookup()

    @classmethod
    def fit(cls, probs, qs, bounds):
        return fit_three_points(cls.name, probs, qs)
