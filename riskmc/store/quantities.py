"""Quantities (an output in a year, or an input) resolved to the numbers they turned out to be, and
every recorded forecast of them scored from its distribution, as forecasting platforms
score: CRPS, the log score of its predictive density, and the PIT value.

A recorded run keeps each quantity as a grid of K = 1,000 quantiles at levels
(k + 0.5) / K (its posterior's, under evidence), the draws that grid is worth beside it.
CRPS is the quantile score integrated over the levels, CRPS(F, y) = 2 ∫ ρ_τ(y − F⁻¹(τ)) dτ
(Gneiting and Raftery 2007), read at the grid's levels; its MCSE is that of the draws'
estimator, sd(|X − y| − E|X − X'|) / sqrt(draws) with X from the grid. The log score is
log f(y), f the slope of the piecewise-linear CDF through the grid over the WINDOW levels
around y (undefined beyond the grid's range); PIT is F(y) on that same CDF.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from ..errors import LedgerUsageError
from .ledger import Ledger, _now, not_after_today, parse_date

K = 1000
LEVELS = (np.arange(K) + 0.5) / K
WINDOW = 10  # grid levels spanned by the density's slope: 1% of probability


def resolve_quantity(led: Ledger, name: str, value: float, date: str, source: str, *, replace: bool = False) -> bool:
    """Record the number a quantity (output[year], or an input) turned out to be; False when the same
    is already recorded. Refused: a quantity no recorded run forecasts, a value that is
    not a finite number, a date before every forecast of it."""
    date = parse_date(date)
    if not source.strip():
        raise LedgerUsageError("--source must say where the value is reported")
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LedgerUsageError(f"--value must be a finite number, got {value!r}")
    dates = [r[0] for r in led._read("SELECT created FROM runs WHERE id IN (SELECT run_id FROM quantities WHERE "
                                      "name = ? UNION SELECT run_id FROM expert_views WHERE name = ?) "
                                      "ORDER BY created", (name, name))]
    if not dates:
        known = [r[0] for r in led._read("SELECT DISTINCT name FROM quantities ORDER BY name")]
        close = [k for k in known if k.split("[")[0] == name.split("[")[0]]
        raise LedgerUsageError(f"no recorded run forecasts '{name}'", file=led.path,
                               hint=f"recorded: {', '.join(close[:8])}" if close else
                               "record a run of this ledger's model first (it records every output, year and input)")
    not_after_today(name, date, led.path)
    if date < dates[0]:
        raise LedgerUsageError(f"'{name}' resolved on {date}, before its first recorded forecast ({dates[0]}): "
                               "nothing would be scored", file=led.path, hint="check --date")

    def put(db):
        old = db.execute("SELECT value, date, source FROM quantity_outcomes WHERE name = ?", (name,)).fetchone()
        if old is not None:
            if (old[0], old[1], old[2]) == (float(value), date, source):
                return False
            if not replace:
                raise LedgerUsageError(f"'{name}' is already resolved at {old[0]:g} on {old[1]} ({old[2]}); "
                                       "nothing was changed", file=led.path,
                                       hint="pass --replace to change the recorded value")
        db.execute("INSERT OR REPLACE INTO quantity_outcomes VALUES (?, ?, ?, ?, ?)",
                   (name, float(value), date, source, _now()))
        return True

    return led._write(put)

def outcomes(led: Ledger) -> dict[str, tuple[float, str, str]]:
    """Each resolved quantity: (value, date, source)."""
    return {r[0]: (r[1], r[2], r[3]) for r in
            led._read("SELECT name, value, date, source FROM quantity_outcomes ORDER BY name")}

def forecasts(led: Ledger, name: str) -> list[tuple[str, str, str, list[float], float]]:
    """A quantity's recorded forecasts, oldest first: (date, run_dir, role, grid, draws)."""
    rows = led._read("SELECT r.created, r.run_dir, r.role, q.grid, q.draws FROM quantities q "
                      "JOIN runs r ON r.id = q.run_id WHERE q.name = ? ORDER BY r.created, r.id", (name,))
    return [(d, run_dir, role, json.loads(grid), draws) for d, run_dir, role, grid, draws in rows]


@dataclass(frozen=True)
class QuantityScore:
    date: str          # the forecast's
    run_dir: str
    crps: float
    crps_mcse: float
    log_score: float | None   # None: the value lies beyond the forecast's grid
    pit: float


def score(grid, draws: float, y: float, date: str = "", run_dir: str = "") -> QuantityScore:
    """One forecast (its quantile grid, worth `draws` draws) scored against the value y."""
    q = np.asarray(grid, dtype=float)
    u = y - q
    crps = float(np.mean(2 * u * (LEVELS - (u < 0))))
    spread = np.abs(q[:, None] - q[None, :]).mean(axis=1)      # E|x - X'| for each grid point
    se = float(np.std(np.abs(q - y) - spread) / math.sqrt(draws))
    k = int(np.searchsorted(q, y))
    log_score = None
    if 0 < k < K:
        lo, hi = max(k - WINDOW // 2, 0), min(k + WINDOW // 2, K - 1)
        width = q[hi] - q[lo]
        log_score = math.log((hi - lo) / K / width) if width > 0 else math.inf
    pit = float(np.interp(y, q, LEVELS, left=0.0, right=1.0))
    return QuantityScore(date, run_dir, crps, se, log_score, pit)


def scored(led: Ledger) -> dict[str, dict]:
    """Each resolved quantity, its value, and the score of every recorded forecast of it
    dated on or before it resolved (scenarios are context: never scored)."""
    out = {}
    for name, (value, date, source) in outcomes(led).items():
        scores = [score(grid, draws, value, d, run_dir) for d, run_dir, role, grid, draws in forecasts(led, name)
                  if role == "forecast" and d <= date]
        out[name] = {"value": value, "date": date, "source": source, "scores": scores}
    return out


# With this many resolved quantities, their PITs say something about calibration.
MIN_PIT = 10


def report(led: Ledger) -> dict:
    """ledger.json's quantities: each one's value and forecasts' scores; with MIN_PIT or
    more resolved, a PIT histogram (10 bins) of the latest forecast of each and how often
    the value fell in its central 50% and 90% intervals."""
    done = scored(led)
    out = {"quantities": {name: {"value": q["value"], "date": q["date"], "source": q["source"],
                                 "scores": [vars(s) for s in q["scores"]]} for name, q in done.items()},
           "min_pit": MIN_PIT, "pit": None}
    last = [q["scores"][-1].pit for q in done.values() if q["scores"]]
    if len(last) >= MIN_PIT:
        pits = np.asarray(last)
        out["pit"] = {"n": len(last), "histogram": np.histogram(pits, bins=10, range=(0, 1))[0].tolist(),
                      "in_50": float(np.mean((pits >= 0.25) & (pits <= 0.75))),
                      "in_90": float(np.mean((pits >= 0.05) & (pits <= 0.95)))}
    return out
