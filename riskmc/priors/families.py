"""Distribution families a prior can take, each with the same verbs.

Every family maps uniforms to values by its inverse CDF (`ppf`), so one path serves
plain Monte Carlo, Latin hypercube, Sobol and the copula alike. Densities and CDFs are
numpy (and the normal functions of riskmc.numeric.normal); only a beta's exact quantiles and
CDF ask SciPy, imported then: reading priors and drawing a report need no SciPy.
`scipy()` gives each family's SciPy distribution, the reference the tests hold it to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..errors import PriorsError
from ..numeric import normal


def _special():
    from scipy import special
    return special


def _stats():
    from scipy import stats
    return stats


@dataclass(frozen=True)
class Family:
    """A family: its parameter names, support and inverse CDF."""

    name: ClassVar[str]
    params: ClassVar[tuple[str, ...]]
    optional: ClassVar[dict[str, float]] = {}
    discrete: ClassVar[bool] = False
    values: dict[str, float] = field(default_factory=dict)

    def __getattr__(self, key: str) -> float:
        try:
            return self.__dict__["values"][key]
        except KeyError:
            raise AttributeError(key) from None

    # --- the verbs every family has
    def check(self) -> None:
        """Raise PriorsError(message) when the parameters are not legal."""

    def support(self) -> tuple[float, float]:
        raise NotImplementedError

    def scipy(self):
        """The SciPy distribution: the reference for pdf, cdf and quantiles in the tests."""
        raise NotImplementedError

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF, vectorised and exact (sampling uses riskmc.numeric.tables instead)."""
        return self.scipy().ppf(u)

    def ppf_into(self, u: np.ndarray, out: np.ndarray) -> np.ndarray:
        """`ppf(u)` written into `out` (a row of the kernel's inputs block); returns out."""
        out[:] = self.ppf(u)
        return out

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return self.scipy().cdf(x)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        return self.scipy().pdf(x)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """log pdf, -inf outside the support; exact far into the tails where the family
        has it in closed form (a log pool of experts far apart needs that)."""
        with np.errstate(divide="ignore"):
            return np.log(self.pdf(x))

    def quantiles(self, probs) -> np.ndarray:
        """Exact quantiles at a few levels (fitting, reports)."""
        return np.asarray(self.ppf(np.asarray(probs, dtype=float)), dtype=float)

    def describe(self) -> str:
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in self.values.items())
        return f"{self.name}({args})"


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise PriorsError(message)


@dataclass(frozen=True)
class Normal(Family):
    name: ClassVar[str] = "normal"
    params: ClassVar[tuple[str, ...]] = ("mean", "sd")

    def check(self):
        _need(self.sd > 0, f"sd must be positive, got {_fmt(self.sd)}")

    def support(self):
        return (-math.inf, math.inf)

    def scipy(self):
        return _stats().norm(self.mean, self.sd)

    def ppf(self, u):
        return self.mean + self.sd * normal.ndtri(u)

    def cdf(self, x):
        return normal.ndtr((np.asarray(x, dtype=float) - self.mean) / self.sd)

    def pdf(self, x):
        return normal.pdf((np.asarray(x, dtype=float) - self.mean) / self.sd) / self.sd

    def logpdf(self, x):
        z = (np.asarray(x, dtype=float) - self.mean) / self.sd
        return -0.5 * z * z - math.log(self.sd * math.sqrt(2 * math.pi))


@dataclass(frozen=True)
class LogNormal(Family):
    """Log-space parameters: log(x) ~ normal(mu, sigma); the median is exp(mu)."""

    name: ClassVar[str] = "lognormal"
    params: ClassVar[tuple[str, ...]] = ("mu", "sigma")

    def check(self):
        _need(self.sigma > 0, f"sigma must be positive, got {_fmt(self.sigma)}")

    def support(self):
        return (0.0, math.inf)

    def scipy(self):
        return _stats().lognorm(s=self.sigma, scale=math.exp(self.mu))

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


@dataclass(frozen=True)
class Uniform(Family):
    name: ClassVar[str] = "uniform"
    params: ClassVar[tuple[str, ...]] = ("lower", "upper")

    def check(self):
        _need(self.upper > self.lower,
              f"upper must be greater than lower, got lower={_fmt(self.lower)}, upper={_fmt(self.upper)}")

    def support(self):
        return (self.lower, self.upper)

    def scipy(self):
        return _stats().uniform(self.lower, self.upper - self.lower)

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


BETA_MAX = 1e9


@dataclass(frozen=True)
class Beta(Family):
    """Beta(a, b) scaled to [lower, upper] (default [0, 1])."""

    name: ClassVar[str] = "beta"
    params: ClassVar[tuple[str, ...]] = ("a", "b")
    optional: ClassVar[dict[str, float]] = {"lower": 0.0, "upper": 1.0}

    def check(self):
        _need(self.a > 0 and self.b > 0,
              f"a and b must be positive, got a={_fmt(self.a)}, b={_fmt(self.b)}")
        # Beyond this the beta is a constant in all but name (its sd below 3e-5 of its range)
        # and its quantiles are no longer computable (a = b = 1e308 gave NaN for every one).
        _need(self.a <= BETA_MAX and self.b <= BETA_MAX,
              f"a and b must be at most {BETA_MAX:.0e}, got a={_fmt(self.a)}, b={_fmt(self.b)}: such a beta is "
              "a constant in all but name (use value = ... for a constant)")
        _need(self.upper > self.lower,
              f"upper must be greater than lower, got lower={_fmt(self.lower)}, upper={_fmt(self.upper)}")

    def support(self):
        return (self.lower, self.upper)

    def scipy(self):
        return _stats().beta(self.a, self.b, loc=self.lower, scale=self.upper - self.lower)

    def ppf(self, u):
        return self.lower + (self.upper - self.lower) * _special().betaincinv(self.a, self.b, np.asarray(u))

    def cdf(self, x):
        y = np.clip((np.asarray(x, dtype=float) - self.lower) / (self.upper - self.lower), 0.0, 1.0)
        return _special().betainc(self.a, self.b, y)

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


@dataclass(frozen=True)
class Pert(Family):
    """PERT(lower, mode, upper): a beta with shape set by the mode (lambda = 4)."""

    name: ClassVar[str] = "pert"
    params: ClassVar[tuple[str, ...]] = ("lower", "mode", "upper")

    def check(self):
        _need(self.lower < self.mode < self.upper,
              f"need lower < mode < upper, got {_fmt(self.lower)}, {_fmt(self.mode)}, {_fmt(self.upper)}")

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


@dataclass(frozen=True)
class Triangular(Family):
    name: ClassVar[str] = "triangular"
    params: ClassVar[tuple[str, ...]] = ("lower", "mode", "upper")

    def check(self):
        _need(self.lower <= self.mode <= self.upper and self.lower < self.upper,
              f"need lower <= mode <= upper and lower < upper, got {_fmt(self.lower)}, "
              f"{_fmt(self.mode)}, {_fmt(self.upper)}")

    def support(self):
        return (self.lower, self.upper)

    def scipy(self):
        w = self.upper - self.lower
        return _stats().triang((self.mode - self.lower) / w, loc=self.lower, scale=w)

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


@dataclass(frozen=True)
class TruncNormal(Family):
    """Normal(mean, sd) cut to [lower, upper]; mean and sd are the uncut parent's."""

    name: ClassVar[str] = "truncnormal"
    params: ClassVar[tuple[str, ...]] = ("mean", "sd")
    optional: ClassVar[dict[str, float]] = {"lower": -math.inf, "upper": math.inf}

    def check(self):
        _need(self.sd > 0, f"sd must be positive, got {_fmt(self.sd)}")
        _need(self.upper > self.lower,
              f"upper must be greater than lower, got lower={_fmt(self.lower)}, upper={_fmt(self.upper)}")

    def support(self):
        return (self.lower, self.upper)

    def _ab(self):
        return (self.lower - self.mean) / self.sd, (self.upper - self.mean) / self.sd

    def scipy(self):
        a, b = self._ab()
        return _stats().truncnorm(a, b, loc=self.mean, scale=self.sd)

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


@dataclass(frozen=True)
class Fixed(Family):
    name: ClassVar[str] = "fixed"
    params: ClassVar[tuple[str, ...]] = ("value",)

    def support(self):
        return (self.value, self.value)

    def scipy(self):
        return _stats().randint(0, 1, loc=self.value) if float(self.value).is_integer() else _PointMass(self.value)

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


@dataclass(frozen=True)
class Bernoulli(Family):
    """An event: 1 with probability p, else 0 (e.g. 'the Trainium3 ramp slips a year')."""

    name: ClassVar[str] = "bernoulli"
    params: ClassVar[tuple[str, ...]] = ("p",)
    discrete: ClassVar[bool] = True

    def check(self):
        _need(0 <= self.p <= 1, f"p must be in [0, 1], got {_fmt(self.p)}")

    def support(self):
        return (0.0, 1.0)

    def scipy(self):
        return _stats().bernoulli(self.p)

    def ppf(self, u):
        return (np.asarray(u) > 1 - self.p).astype(float)

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x == 1.0, self.p, np.where(x == 0.0, 1 - self.p, 0.0))

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x < 0, 0.0, np.where(x < 1, 1 - self.p, 1.0))


@dataclass(frozen=True)
class Discrete(Family):
    """A finite set of outcomes with their probabilities (e.g. 0, 1 or 2 new fabs)."""

    name: ClassVar[str] = "discrete"
    params: ClassVar[tuple[str, ...]] = ()
    discrete: ClassVar[bool] = True
    points: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()

    def check(self):
        _need(len(self.points) >= 1 and len(self.points) == len(self.weights),
              "discrete needs 'values' and 'probs' lists of the same length")
        _need(all(w >= 0 for w in self.weights), "discrete probs must not be negative")
        _need(abs(sum(self.weights) - 1) < 1e-9,
              f"discrete probs must add up to 1, got {sum(self.weights):g}")
        _need(all(a < b for a, b in zip(self.points, self.points[1:])),
              "discrete values must be listed in increasing order")

    def support(self):
        return (self.points[0], self.points[-1])

    def scipy(self):
        return _stats().rv_discrete(values=(self.points, self.weights))

    def ppf(self, u):
        cum = np.cumsum(self.weights)
        cum[-1] = 1.0
        idx = np.searchsorted(cum, np.asarray(u), side="left")
        return np.asarray(self.points, dtype=float)[np.minimum(idx, len(self.points) - 1)]

    def quantiles(self, probs):
        return self.ppf(np.asarray(probs, dtype=float))

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        out = np.zeros_like(x)
        for v, w in zip(self.points, self.weights):
            out[x == v] = w
        return out

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.sum([w * (x >= v) for v, w in zip(self.points, self.weights)], axis=0)

    def describe(self):
        pairs = ", ".join(f"{_fmt(v)}: {_fmt(w)}" for v, w in zip(self.points, self.weights))
        return f"discrete({pairs})"


@dataclass(frozen=True)
class Metalog(Family):
    """Keelin's metalog through 3 to 5 stated quantiles, optionally bounded.

    Parameters are the stated quantile pairs themselves (`probs`, `qs`); the
    coefficients are solved exactly, so the stated quantiles reproduce to rounding.
    """

    name: ClassVar[str] = "metalog"
    params: ClassVar[tuple[str, ...]] = ()
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
        _need(3 <= n <= 5, f"metalog takes 3 to 5 quantiles, got {n}")
        lo, hi = self.lower, self.upper
        _need(all(lo < q < hi for q in self.qs),
              f"metalog quantiles must lie strictly inside [{_fmt(lo)}, {_fmt(hi)}]")
        grid = np.linspace(1e-4, 1 - 1e-4, 4001)
        y = self._basis(grid, n) @ self.coefficients()
        _need(bool(np.all(np.diff(y) > 0)),
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
        pts = ", ".join(f"p{round(p * 100):02d}={_fmt(q)}" for p, q in zip(self.probs, self.qs))
        bounds = "".join(f", {k}={_fmt(v)}" for k, v in self.values.items() if math.isfinite(v))
        return f"metalog({pts}{bounds})"


FAMILIES: dict[str, type[Family]] = {
    cls.name: cls
    for cls in (Normal, LogNormal, Beta, Uniform, Triangular, Pert, TruncNormal, Fixed, Bernoulli,
                Discrete, Metalog)
}


def make(name: str, values: dict[str, float], **extra) -> Family:
    """Build and check a family from its parameters (PriorsError when illegal)."""
    cls = FAMILIES[name]
    full = {**cls.optional, **values}
    fam = cls(values=full, **extra)
    fam.check()
    return fam

