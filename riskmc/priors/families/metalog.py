"""Keelin's metalog through three to five stated quantiles."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...errors import PriorsError
from .base import Family, fmt, in_support, make, need, register


@register
@dataclass(frozen=True)
class Metalog(Family):
    """Keelin's metalog through 3 to 5 stated quantiles, optionally bounded.

    Parameters are the stated quantile pairs themselves (`probs`, `qs`); the
    coefficients are solved exactly, so the stated quantiles reproduce to rounding.
    """

    name: ClassVar[str] = "metalog"
    params: ClassVar[tuple[str, ...]] = ()
    fittable: ClassVar[bool] = True
    optional: ClassVar[dict[str, float]] = {"lower": -math.inf, "upper": math.inf}
    probs: tuple[float, ...] = ()
    qs: tuple[float, ...] = ()

    def _transform(self, x):
        lo, hi = self.lower, self.upper
        x = np.asarray(x, dtype=float)
        if math.isfinite(lo) and math.isfinite(hi):
            return np.log((x - lo) / (hi - x))
        if math.isfinite(lo):
            return np.log(x - lo)
        if math.isfinite(hi):
            return -np.log(hi - x)
        return x

    def _inverse(self, y):
        lo, hi = self.lower, self.upper
        if math.isfinite(lo) and math.isfinite(hi):
            return lo + (hi - lo) / (1.0 + np.exp(-y))
        if math.isfinite(lo):
            return lo + np.exp(y)
        if math.isfinite(hi):
            return hi - np.exp(-y)
        return y

    @staticmethod
    def _basis(p, k):
        p = np.asarray(p, dtype=float)
        with np.errstate(divide="ignore"):
            L = np.log(p / (1.0 - p))
        c = p - 0.5
        cols = [np.ones_like(p), L, c * L, c, c * c, c * c * L][:k]
        return np.stack(cols, axis=-1)

    def coefficients(self) -> np.ndarray:
        p = np.asarray(self.probs)
        y = self._transform(np.asarray(self.qs))
        return np.linalg.solve(self._basis(p, len(p)), y)

    def check(self):
        n = len(self.probs)
        need(3 <= n <= 5, f"metalog takes 3 to 5 quantiles, got {n}")
        lo, hi = self.lower, self.upper
        need(all(lo < q < hi for q in self.qs),
              f"metalog quantiles must lie strictly inside [{fmt(lo)}, {fmt(hi)}]")
        grid = np.linspace(1e-4, 1 - 1e-4, 4001)
        y = self._basis(grid, n) @ self.coefficients()
        need(bool(np.all(np.diff(y) > 0)),
              "these quantiles give a metalog that is not increasing (not a valid "
              "distribution); space them more evenly or give fewer")

    def support(self):
        return (self.lower, self.upper)

    def ppf(self, u):
        u = np.clip(np.asarray(u, dtype=float), 1e-12, 1 - 1e-12)
        return self._inverse(self._basis(u, len(self.probs)) @ self.coefficients())

    def cdf(self, x):
        grid = np.linspace(1e-6, 1 - 1e-6, 20001)
        return np.interp(x, self.ppf(grid), grid, left=0.0, right=1.0)

    def pdf(self, x):
        grid = np.linspace(1e-5, 1 - 1e-5, 20001)
        q = self.ppf(grid)
        dens = np.gradient(grid, q)
        return np.interp(x, q, dens, left=0.0, right=0.0)

    def scipy(self):
        raise NotImplementedError("metalog has no SciPy counterpart")

    def describe(self):
        pts = ", ".join(f"p{round(p * 100):02d}={fmt(q)}" for p, q in zip(self.probs, self.qs))
        bounds = "".join(f", {k}={fmt(v)}" for k, v in self.values.items() if math.isfinite(v))
        return f"metalog({pts}{bounds})"

    def record_extra(self):
        return {"probs": list(self.probs), "qs": list(self.qs)}

    @classmethod
    def fit(cls, probs, qs, bounds):
        lo, hi = bounds.get("lower", -math.inf), bounds.get("upper", math.inf)
        in_support(cls.name, qs, lo, hi)
        if len(probs) < 3:
            raise PriorsError("metalog needs at least three quantiles")
        if len(probs) > 5:
            raise PriorsError("metalog takes at most five quantiles")
        return make(cls.name, {"lower": lo, "upper": hi}, probs=tuple(probs), qs=tuple(qs))

    def toml_lines(self, given, bounds):
        """The stated quantiles themselves: the metalog runs through them."""
        lines = ['family = "metalog"'] + [f"p{round(100 * p):02d} = {v:.6g}" for p, v in given.items()]
        return lines + [f"{k} = {v:g}" for k, v in bounds.items()]
