"""Scoring the ledger's forecasts once their claims resolve: Brier and log scores with
their Monte Carlo errors, means over claims, and the calibration diagram.

A resolved claim is scored on the last forecast dated on or before its outcome (later
ones knew the answer). Brier score (p - o)^2, lower is better; log score ln p(o), higher
is better, 0 perfect. A probability of exactly 0 or 1 from N draws is not certainty: the
log score reads it as 0.5/N or 1 - 0.5/N. Each score carries its Monte Carlo error (the
delta method on each probability's MCSE) and, over several claims, its sampling error
across claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import quantities
from .ledger import Forecast, Ledger, Outcome
from .ledger_schema import SCHEMA

# A calibration diagram needs this many resolved claims.
MIN_CALIBRATION = 10
BINS = 5
INTERVAL = 0.9


@dataclass(frozen=True)
class Score:
    """One resolved claim scored on the forecast on record when it resolved."""

    claim: str
    outcome: bool
    date: str
    forecast: Forecast
    brier: float
    brier_mcse: float
    log: float
    log_mcse: float


@dataclass(frozen=True)
class Estimate:
    value: float
    mcse: float        # Monte Carlo error, from the probabilities' MCSE
    se: float | None   # sampling error across claims (None for fewer than two)


@dataclass(frozen=True)
class Bin:
    lo: float
    hi: float
    n: int
    forecast: float    # mean forecast probability in the bin
    observed: float    # share that came true
    interval: tuple[float, float]  # INTERVAL Jeffreys interval of the true rate


def scored(ledger: Ledger) -> tuple[list[Score], list[str]]:
    """Each resolved claim's score; and the claims resolved before any forecast of them."""
    out, unscored = [], []
    for claim, o in ledger.outcomes().items():
        # Scenarios are context beside the forecasts: never scored.
        before = [f for f in ledger.history(claim) if f.created <= o.date and f.role == "forecast"]
        if not before:
            unscored.append(claim)
            continue
        out.append(score(claim, o, before[-1]))
    return out, unscored


def score(claim: str, o: Outcome, f: Forecast) -> Score:
    """Brier and log score of forecast f for outcome o, each with its Monte Carlo error."""
    y = 1.0 if o.outcome else 0.0
    p = f.probability
    brier = (p - y) ** 2
    q = min(max(p, 0.5 / f.draws), 1 - 0.5 / f.draws)
    q_true = q if o.outcome else 1 - q
    return Score(claim, o.outcome, o.date, f, brier, 2 * abs(p - y) * f.mcse, math.log(q_true), f.mcse / q_true)


def mean_score(scores: list[Score], attr: str) -> Estimate | None:
    if not scores:
        return None
    v = [getattr(s, attr) for s in scores]
    m = [getattr(s, attr + "_mcse") for s in scores]
    n = len(v)
    mean = sum(v) / n
    se = math.sqrt(sum((x - mean) ** 2 for x in v) / (n - 1) / n) if n > 1 else None
    # Claims of one run share its draws, so their errors may move together: the sum of
    # the errors, an upper bound whatever their correlation, not the root sum of squares.
    return Estimate(mean, sum(abs(x) for x in m) / n, se)


def calibration(scores: list[Score]) -> list[Bin] | None:
    """Forecasts in BINS equal bins of probability: mean forecast against the observed rate
    with its Jeffreys interval; None below MIN_CALIBRATION resolved claims."""
    if len(scores) < MIN_CALIBRATION:
        return None
    from scipy import stats
    out = []
    for k in range(BINS):
        lo, hi = k / BINS, (k + 1) / BINS
        inside = [s for s in scores if lo <= s.forecast.probability < hi or (k == BINS - 1 and s.forecast.probability == 1)]
        if not inside:
            continue
        n, hits = len(inside), sum(s.outcome for s in inside)
        a = (1 - INTERVAL) / 2
        ci = stats.beta(hits + 0.5, n - hits + 0.5).ppf([a, 1 - a])
        out.append(Bin(lo, hi, n, sum(s.forecast.probability for s in inside) / n, hits / n,
                       (float(ci[0]) if hits > 0 else 0.0, float(ci[1]) if hits < n else 1.0)))
    return out


def report_data(ledger: Ledger) -> dict:
    """Everything `riskmc ledger report` shows, JSON-ready: each claim's history, the
    outcomes, the scores with their errors, and the calibration bins."""
    outcomes = ledger.outcomes()
    texts = ledger.texts()
    scores, unscored = scored(ledger)
    by_claim = {s.claim: s for s in scores}

    def est(e: Estimate | None):
        return None if e is None else {"value": e.value, "mcse": e.mcse, "se": e.se}

    claims = {}
    for c in ledger.claims():
        o = outcomes.get(c)
        s = by_claim.get(c)
        claims[c] = {
            "text": texts[c][0], "event": texts[c][1],
            "history": [{"date": f.created, "probability": f.probability, "mcse": f.mcse, "draws": f.draws,
                         "title": f.title, "run_dir": f.run_dir, "role": f.role} for f in ledger.history(c)],
            "outcome": None if o is None else {"value": o.outcome, "date": o.date, "source": o.source},
            "score": None if s is None else {"forecast_date": s.forecast.created, "run_dir": s.forecast.run_dir,
                                             "probability": s.forecast.probability,
                                             "brier": s.brier, "brier_mcse": s.brier_mcse, "log": s.log,
                                             "log_mcse": s.log_mcse},
        }
    bins = calibration(scores)
    return {
        "schema": SCHEMA, "runs": ledger.runs(), "claims": claims, "resolved": len(outcomes),
        "scored": len(scores), "unscored": unscored,
        "brier": est(mean_score(scores, "brier")), "log": est(mean_score(scores, "log")),
        "calibration": None if bins is None else [
            {"lo": b.lo, "hi": b.hi, "n": b.n, "forecast": b.forecast, "observed": b.observed,
             "interval": list(b.interval)} for b in bins],
        "min_calibration": MIN_CALIBRATION,
        **quantities.report(ledger),
    }
