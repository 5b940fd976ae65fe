"""Fit a family to the quantiles an expert states ("30% to 50%, 90% sure")."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..errors import FitError, PriorsError
from ..numeric import cache
from .families import FAMILIES, Family, make

# The fitted distribution must reproduce each stated quantile to within this
# fraction of the stated interval's width (issue 3).
TOLERANCE = 0.005

QUANTILE_FAMILIES = tuple(name for name, cls in FAMILIES.items() if cls.fittable)


@dataclass(frozen=True)
class Fit:
    """A fitted family with the quantiles it implies and how far they miss."""

    family: Family
    probs: tuple[float, ...]
    stated: tuple[float, ...]
    implied: tuple[float, ...]
    error: float  # largest miss as a fraction of the stated interval's width
    note: str | None = None  # when riskmc chose another family than the default: which, and why

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
        raise Incomputable(f"{family} cannot be fitted to these quantiles: they are too small or too close together "
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


class Incomputable(FitError):
    """Quantiles too small or too close together for any family's arithmetic: no other
    family is tried (one would 'meet' them in numbers that have lost their digits)."""


def fit_unstated(probs, qs, bounds: dict[str, float] | None = None) -> Fit:
    """A fit when the priors file names no family: the default for the quantities'
    support; when it cannot meet the quantiles, the first family that can (suggest's
    order, e.g. a metalog bounded to [0, 1] for a share), with a note saying so. Only
    quantiles no family meets are refused."""
    try:
        return fit(probs, qs, None, bounds)
    except Incomputable:
        raise
    except FitError as exc:
        first = _first_fitting(tuple(map(float, probs)), tuple(map(float, qs)), dict(bounds or {}),
                               exclude=default_family(min(qs), max(qs)))
        if first is None:
            raise
        name, used = first
        f = fit(probs, qs, name, used)
        where = "".join(f", {k} = {v:g}" for k, v in used.items()) if name == "metalog" else ""
        return replace(f, note=f"{exc.message.split(':')[0]}; riskmc used family = \"{name}\"{where}, which "
                               "meets them (state a family to choose another)")


def suggest(probs, qs, bounds, exclude: str | None = None) -> str | None:
    """TOML for the first family (simplest first) that reproduces the quantiles."""
    first = _first_fitting(probs, qs, bounds, exclude)
    if first is None:
        return None
    name, used = first
    return f'family = "{name}"' + ("".join(f", {k} = {v:g}" for k, v in used.items()) if name == "metalog" else "")


def _first_fitting(probs, qs, bounds, exclude: str | None = None) -> tuple[str, dict] | None:
    """The first family (simplest first) that reproduces the quantiles, and its bounds."""
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
                return name, (bounds if name == "metalog" else {})
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


def _fit_unchecked(name: str, probs, qs, bounds) -> Fit:
    cls = FAMILIES.get(name)
    if cls is None or not cls.fittable:
        raise PriorsError(f"family '{name}' cannot be fitted to quantiles")
    return _result(cls.fit(probs, qs, bounds), probs, qs)
