"""Inverse CDFs as tables, looked up by the compiled marginals (riskmc.numeric.lookup).

For u in [1/64, 63/64], linear interpolation on a uniform grid of 2^14 steps costs a few
nanoseconds a point; outside it the curve bends too sharply for the grid, and normal
and lognormal rows get the exact inverse (AS241) while beta rows get a table in logit
space, where their power-law tails are nearly straight. Accuracy, h^2/8 times the
curve's bend, stays within 1e-6 of the spread (tests/test_families.py checks against
SciPy). Every normal and lognormal prior shares one standard normal table; a beta's
table is built once for its shape (a, b) and kept in riskmc.numeric.cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from . import cache as disk
from . import normal
from .lookup import BULK, EDGE, LOGIT_HI, LOGIT_LO, LOGIT_STEPS, TAILS_LOGIT, TAILS_NORMAL, TAILS_PLAIN


@dataclass(frozen=True)
class Table:
    x: np.ndarray      # the inverse CDF on the bulk grid (NaN where never read)
    tails: int         # TAILS_NORMAL, TAILS_LOGIT (beta) or TAILS_PLAIN (pooled experts)
    ty: np.ndarray     # on the logit grid: logit(x) (beta), x itself (pool), else zeros


@dataclass(frozen=True)
class Lookup:
    """One prior's inverse CDF: loc + scale * table(u), or exp of that (lognormal)."""

    table: Table
    loc: float
    scale: float
    exp: bool = False


def _bulk(exact) -> np.ndarray:
    grid = np.linspace(0.0, 1.0, BULK + 1)
    lo, hi = int(EDGE * BULK) - 1, BULK - int(EDGE * BULK) + 2
    x = np.full(BULK + 1, np.nan)
    x[lo:hi] = exact(grid[lo:hi])
    return x


@cache
def standard_normal() -> Table:
    return Table(_bulk(normal.ndtri), TAILS_NORMAL, np.zeros(LOGIT_STEPS + 1))


@cache
def beta(a: float, b: float) -> Table:
    """The standard beta(a, b)'s table: from the disk cache, or built with SciPy once."""
    k = disk.key("beta-table", "x, ty", a, b, BULK, EDGE, LOGIT_LO, LOGIT_HI, LOGIT_STEPS)
    got = disk.load_arrays("tables", k)
    if got is not None and set(got) == {"x", "ty"}:
        return Table(got["x"], TAILS_LOGIT, got["ty"])
    from scipy import special
    x = _bulk(lambda g: special.betaincinv(a, b, g))
    t = np.linspace(LOGIT_LO, LOGIT_HI, LOGIT_STEPS + 1)
    with np.errstate(divide="ignore"):
        ty = special.logit(special.betaincinv(a, b, special.expit(t)))
    disk.save_arrays("tables", k, {"x": x, "ty": ty})
    return Table(x, TAILS_LOGIT, ty)


def pooled(fam) -> Table:
    """A pool of experts' table (riskmc.priors.families.pool): its CDF inverted on the bulk grid and
    on the logit(u) grid of the tails; kept in riskmc.numeric.cache, as a beta's."""
    k = disk.key("pool-table", "x, ty", fam.key(), BULK, EDGE, LOGIT_LO, LOGIT_HI, LOGIT_STEPS)
    got = disk.load_arrays("tables", k)
    if got is not None and set(got) == {"x", "ty"}:
        return Table(got["x"], TAILS_PLAIN, got["ty"])
    x = _bulk(fam.ppf)
    t = np.linspace(LOGIT_LO, LOGIT_HI, LOGIT_STEPS + 1)
    ty = fam.ppf(1.0 / (1.0 + np.exp(-t)))
    disk.save_arrays("tables", k, {"x": x, "ty": ty})
    return Table(x, TAILS_PLAIN, ty)
