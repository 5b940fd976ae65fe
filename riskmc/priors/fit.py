"""Fit a family to the quantiles an expert states ("30% to 50%, 90% sure")."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import FitError, PriorsError
from ..numeric import cache, normal
from .families import Family, make

# The fitted distribution must reproduce each stated quantile to within this
# fraction of the stated interval's width (issue 3).
TOLERANCE = 0.005

QUANTILE_FAMILIES = ("normal", "lognormal", "beta", "uniform", "truncnormal",
                     "triangular", "pert", "metalog")


@dataclass(frozen=True)
class Fit:
    """A fitted family with the quantiles it implies and how far they miss."""

    family: Family
    probs: tuple[float, ...]
    stated: tuple[float, ...]
    implied: tuple[float, ...]
    error: float  # largest miss as a fraction of the stated interval's width

    @property
    def ok(self) -> bool:
        return self.error <= TOLERANCE


def default_family(lo: float, hi: float) -> str:
    """Beta for quantities in [0, 1], lognormal for positive ones, normal otherwise."""
    if 0.0 <= lo and hi <= 1.0:
        return "beta"
    if lo > 0.0:
        return "lognormal"
    return "normal"


def fit(probs, qs, family: str | None = None, bounds: dict[str, float] | None = None) -> Fit:
    """Fit `family` (chosen from the support when None) so that ppf(probs) ~ qs.

    Raises FitError saying by how much the best fit misses, and which family fits,
    when no parameters of `family` reproduce the quantiles within TOLERANCE. A fit is
    kept in riskmc.numeric.cache, so the same statement is fitted once, not at every run.
    """
    probs = tuple(float(p) for p in probs)
    qs = tuple(float(q) for q in qs)
    check_quantiles(probs, qs)
    bounds = dict(bounds or {})
    family = family or default_family(min(qs), max(qs))
    if family not in QUANTILE_FAMILIES:
        raise PriorsError(f"family '{family}' cannot be fitted to quantiles; give its parameters "
                          f"or use one of {', '.join(QUANTILE_FAMILIES)}")
    k = cache.key("fit", family, probs, qs, sorted(bounds.items()))
    hit = cache.load_json("fits", k)
    if hit is not None:
        try:
            extra = {n: tuple(v) for n, v in hit.get("extra", {}).items()}
            return Fit(make(hit["family"], hit["values"], **extra), probs, qs, tuple(hit["implied"]), hit["error"])
        except (KeyError, TypeError, ValueError, PriorsError):
            pass  # a damaged entry: fit again
    try:
        with np.errstate(all="ignore"):
            result = _fit_unchecked(family, probs, qs, bounds)
    except (ValueError, ArithmeticError) as exc:
        # SciPy's optimiser refuses a start it cannot evaluate: quantiles so small or so
        # close (1e-320 and 2e-320) that no family's arithmetic can tell them apart.
        raise FitError(f"{family} cannot be fitted to these quantiles: they are too small or too close together "
                       f"to compute with ({str(exc).splitlines()[0]})",
                       hint="state the quantity in another unit, so its values are moderate") from None
    if result.ok:
        fam = result.family
        extra = {n: list(getattr(fam, n)) for n in ("probs", "qs", "points", "weights") if hasattr(fam, n)
                 and n in type(fam).__dataclass_fields__}
        cache.save_json("fits", k, {"family": fam.name, "values": fam.values, "extra": extra,
                                    "implied": list(result.implied), "error": result.error})
    if not result.ok:
        better = suggest(probs, qs, bounds, exclude=family)
        hint = f"try {better}" if better else "check the stated quantiles"
        raise FitError(
            f"{family} misses the stated quantiles by {100 * result.error:.1f}% of the stated "
            f"range (tolerance {100 * TOLERANCE:.1f}%): implied "
            + ", ".join(f"p{round(100 * p):02d}={q:.4g}" for p, q in zip(probs, result.implied)),
            hint=hint,
        )
    return result


def suggest(probs, qs, bounds, exclude: str | None = None) -> str | None:
    """TOML for the first family (simplest first) that reproduces the quantiles."""
    lo, hi = min(qs), max(qs)
    natural = default_family(lo, hi)
    # For a share, a metalog bounded to [0, 1] before the unbounded families: a normal or
    # lognormal that fits would then be refused for reaching past 1 (or below 0).
    order = ([natural, "metalog", "normal", "lognormal", "beta"] if natural == "beta"
             else [natural, "normal", "lognormal", "beta", "metalog"])
    if not bounds and natural != "normal":
        # A metalog kept inside the quantity's natural support.
        bounds = {"lower": 0.0, "upper": 1.0} if natural == "beta" else {"lower": 0.0}
    seen = []
    for name in order:
        if name in seen or name == exclude:
            continue
        seen.append(name)
        try:
            if _fit_unchecked(name, probs, qs, bounds).ok:
                extra = "".join(f", {k} = {v:g}" for k, v in bounds.items()) if name == "metalog" else ""
                return f'family = "{name}"{extra}'

        except PriorsError:
            continue
    return None


def check_quantiles(probs, qs) -> None:
    if len(probs) < 2:
        raise PriorsError("give at least two quantiles (for example p05 and p95)")
    if any(not 0 < p < 1 for p in probs):
        raise PriorsError("quantile levels must lie strictly between 0 and 1")
    if any(not math.isfinite(q) for q in qs):
        raise PriorsError("quantile values must be finite numbers")
    order = np.argsort(probs)
    ps, xs = np.asarray(probs)[order], np.asarray(qs)[order]
    for i in range(len(ps) - 1):
        if not xs[i] < xs[i + 1]:
            a, b = f"p{round(100 * ps[i]):02d}", f"p{round(100 * ps[i + 1]):02d}"
            raise PriorsError(f"quantiles out of order: {a} = {xs[i]:g} must be less than "
                              f"{b} = {xs[i + 1]:g}")


def _result(fam: Family, probs, qs) -> Fit:
    implied = fam.quantiles(probs)
    width = max(qs) - min(qs)
    err = float(np.max(np.abs(implied - np.asarray(qs))) / width)
    return Fit(fam, tuple(probs), tuple(qs), tuple(float(v) for v in implied), err)


def _in_support(name: str, qs, lo: float, hi: float) -> None:
    if not all(lo < q < hi for q in qs):
        raise PriorsError(f"stated quantiles {', '.join(f'{q:g}' for q in qs)} lie outside the "
                          f"support of {name} ({lo:g} to {hi:g}); choose another family or widen "
                          "its bounds")


def _fit_unchecked(name: str, probs, qs, bounds) -> Fit:
    p = np.asarray(probs)
    x = np.asarray(qs)
    z = normal.ndtri(p)
    if name == "normal":
        sd, mean = np.polyfit(z, x, 1)
        if sd <= 0:
            raise PriorsError("quantiles imply a non-positive sd")
        return _result(make("normal", {"mean": mean, "sd": sd}), probs, qs)
    if name == "lognormal":
        _in_support(name, qs, 0.0, math.inf)
        sigma, mu = np.polyfit(z, np.log(x), 1)
        return _result(make("lognormal", {"mu": mu, "sigma": sigma}), probs, qs)
    if name == "uniform":
        slope, lower = np.polyfit(p, x, 1)
        return _result(make("uniform", {"lower": lower, "upper": lower + slope}), probs, qs)
    if name == "metalog":
        lo, hi = bounds.get("lower", -math.inf), bounds.get("upper", math.inf)
        _in_support(name, qs, lo, hi)
        if len(probs) < 3:
            raise PriorsError("metalog needs at least three quantiles")
        if len(probs) > 5:
            raise PriorsError("metalog takes at most five quantiles")
        fam = make("metalog", {"lower": lo, "upper": hi}, probs=tuple(probs), qs=tuple(qs))
        return _result(fam, probs, qs)
    if name == "beta":
        lo, hi = bounds.get("lower", 0.0), bounds.get("upper", 1.0)
        _in_support(name, qs, lo, hi)
        y = (x - lo) / (hi - lo)

        def build(theta):
            return make("beta", {"a": math.exp(theta[0]), "b": math.exp(theta[1]),
                                 "lower": lo, "upper": hi})

        # Start from the normal that matches the quantiles, by method of moments.
        sd, m = np.polyfit(z, y, 1)
        m = min(max(m, 1e-3), 1 - 1e-3)
        v = min(max(sd, 1e-4) ** 2, m * (1 - m) * 0.9)
        k = m * (1 - m) / v - 1
        theta0 = np.log([max(m * k, 1e-2), max((1 - m) * k, 1e-2)])
        return _least_squares(build, theta0, probs, qs)
    if name == "truncnormal":
        lo, hi = bounds.get("lower", -math.inf), bounds.get("upper", math.inf)
        _in_support(name, qs, lo, hi)
        sd0, m0 = np.polyfit(z, x, 1)

        def build(theta):
            return make("truncnormal", {"mean": theta[0], "sd": math.exp(theta[1]),
                                        "lower": lo, "upper": hi})

        return _least_squares(build, np.array([m0, math.log(max(sd0, 1e-9))]), probs, qs)
    if name in ("triangular", "pert"):
        if len(probs) < 3:
            raise PriorsError(f"{name} needs lower, mode and upper, or at least three quantiles")
        w = x.max() - x.min()

        def build(theta):
            lo = theta[0]
            hi = lo + math.exp(theta[1])
            mode = lo + (hi - lo) / (1.0 + math.exp(-theta[2]))
            return make(name, {"lower": lo, "mode": mode, "upper": hi})

        theta0 = np.array([x.min() - 0.5 * w, math.log(2 * w), 0.0])
        return _least_squares(build, theta0, probs, qs)
    raise PriorsError(f"family '{name}' cannot be fitted to quantiles")


def _least_squares(build, theta0, probs, qs) -> Fit:
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
    return _result(build(sol.x), probs, qs)
