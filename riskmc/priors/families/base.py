"""The family every prior's distribution is: the verbs each one has, and the registry.

A family is one class in one module of this package (normal.py, beta.py, ...): how it
is checked, sampled (its inverse CDF, and the kernel's table for it), recorded in
summary.json, fitted to stated quantiles, and written back as TOML. `register` adds it
to FAMILIES, the names a priors file may give; riskmc.priors.families.pool's pools of experts are
recorded alongside (RECORDED) but never named in a file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ...errors import PriorsError


def special():
    from scipy import special
    return special


def stats():
    from scipy import stats
    return stats


FAMILIES: dict[str, type[Family]] = {}   # what a priors file may name, in the order shown in messages
RECORDED: dict[str, type[Family]] = {}   # what summary.json may record (FAMILIES and pools)


def register(cls: type[Family], *, stated: bool = True) -> type[Family]:
    """Add a family class to the registry (as a decorator, once, where it is defined)."""
    RECORDED[cls.name] = cls
    if stated:
        FAMILIES[cls.name] = cls
    return cls


@dataclass(frozen=True)
class Family:
    """A family: its parameter names, support and inverse CDF."""

    name: ClassVar[str]
    params: ClassVar[tuple[str, ...]]
    optional: ClassVar[dict[str, float]] = {}
    discrete: ClassVar[bool] = False
    fittable: ClassVar[bool] = False   # may a priors file give it by quantiles (`fit`)
    varies: ClassVar[bool] = True      # False: a constant, which moves nothing downstream
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
        args = ", ".join(f"{k}={fmt(v)}" for k, v in self.values.items())
        return f"{self.name}({args})"

    # --- what the rest of riskmc asks of a family, each answered here
    def lookup(self):
        """The kernel's sampling table for this family (a riskmc.numeric.tables.Lookup), or
        None: its `ppf_into` is called on each block instead."""
        return None

    def atoms(self) -> tuple[float, ...] | None:
        """A discrete family's values (drawn as spikes in the report); None if continuous."""
        return None

    def record_extra(self) -> dict | None:
        """What summary.json records beyond the parameters to rebuild it (`from_record`)."""
        return None

    @classmethod
    def from_record(cls, params: dict, extra: dict) -> Family:
        """The family a record describes (the inverse of `record_extra`)."""
        return make(cls.name, params, **{k: tuple(v) for k, v in extra.items()})

    @classmethod
    def fit(cls, probs, qs, bounds: dict) -> Family:
        """The family whose quantiles at `probs` come closest to `qs` (fittable families)."""
        raise PriorsError(f"family '{cls.name}' cannot be fitted to quantiles")

    def toml_lines(self, given: dict, bounds: dict) -> list[str]:
        """The lines of a [priors.NAME] table that give this family again."""
        lines = [f'family = "{self.name}"']
        for k, v in self.values.items():
            if v == v and abs(v) != float("inf"):
                lines.append(f"{k} = {v:.6g}")
        return lines


def fmt(v: float) -> str:
    return f"{v:.6g}"


def need(cond: bool, message: str) -> None:
    if not cond:
        raise PriorsError(message)




def record(fam: Family) -> dict:
    """A family as summary.json records it: enough to rebuild it exactly (`rebuild`)."""
    d = {"family": fam.name, "text": fam.describe(),
         "params": {k: v for k, v in fam.values.items() if math.isfinite(v)}}
    extra = fam.record_extra()
    if extra is not None:
        d["extra"] = extra
    return d


def rebuild(d: dict) -> Family:
    """The family `record` recorded: how a report redraws a prior it did not fit."""
    return RECORDED[d["family"]].from_record(d["params"], d.get("extra", {}))


def make(name: str, values: dict[str, float], **extra) -> Family:
    """Build and check a family from its parameters (PriorsError when illegal)."""
    cls = FAMILIES[name]
    full = {**cls.optional, **values}
    fam = cls(values=full, **extra)
    fam.check()
    return fam


# ---------------------------------------------------------------------------- fitting helpers
def in_support(name: str, qs, lo: float, hi: float) -> None:
    if not all(lo < q < hi for q in qs):
        raise PriorsError(f"stated quantiles {', '.join(f'{q:g}' for q in qs)} lie outside the "
                          f"support of {name} ({lo:g} to {hi:g}); choose another family or widen "
                          "its bounds")


def least_squares(build, theta0, probs, qs) -> Family:
    """build(theta) at the theta whose quantiles at `probs` are closest to `qs` (relative
    to their spread), by SciPy's least squares."""
    x = np.asarray(qs)
    width = x.max() - x.min()

    def resid(theta):
        try:
            fam = build(theta)
        except PriorsError:
            return np.full(len(x), 1e3)
        return (fam.quantiles(probs) - x) / width

    from scipy import optimize
    sol = optimize.least_squares(resid, theta0, method="lm" if len(x) >= len(theta0) else "trf",
                                 xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=4000)
    return build(sol.x)


def fit_three_points(name: str, probs, qs) -> Family:
    """A lower-mode-upper family (triangular, PERT) through three or more quantiles."""
    if len(probs) < 3:
        raise PriorsError(f"{name} needs lower, mode and upper, or at least three quantiles")
    x = np.asarray(qs)
    w = x.max() - x.min()

    def build(theta):
        lo = theta[0]
        hi = lo + math.exp(theta[1])
        mode = lo + (hi - lo) / (1.0 + math.exp(-theta[2]))
        return make(name, {"lower": lo, "mode": mode, "upper": hi})

    return least_squares(build, np.array([x.min() - 0.5 * w, math.log(2 * w), 0.0]), probs, qs)
