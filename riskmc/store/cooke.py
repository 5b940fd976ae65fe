"""Experts weighted by their record: Cooke's classical model.

Every recorded run keeps each expert's stated view of each prior they speak to (a quantile
grid, as quantities are kept). When a prior's true value resolves (`riskmc ledger resolve
NAME --value V`), every expert's latest view of it recorded on or before that date is
scored by where the value fell among the view's 5%, 50% and 95% quantiles. Over an
expert's N resolved views, with s the share of values in each of the four bins and
p = (0.05, 0.45, 0.45, 0.05) the shares a calibrated expert would see:

- calibration C = P(chi2 with 3 df >= 2 N I(s, p)), I(s, p) = sum s_i ln(s_i / p_i): the
  p-value of the hypothesis that the expert's quantiles are right;
- information = the mean over the views of sum p_i ln(p_i / r_i), r_i each bin's share of
  the item's intrinsic range (every expert's 5% and 95% quantiles and the value, widened
  by 10% on each side): how much narrower than a uniform background the view is;
- weight = C x information, normalised over a pool's experts: Cooke's "global" weights
  without a cutoff (Cooke 1991, Experts in Uncertainty, ch. 12; Colson and Cooke 2018,
  Review of Environmental Economics and Policy 12(1):113-132).

Calibration dominates: an overconfident expert (narrow views the values keep missing) loses
its weight however informative its views look.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

P = np.array([0.05, 0.45, 0.45, 0.05])   # the share of values in each bin of a calibrated expert
OVERSHOOT = 0.1                            # the intrinsic range widened by this share on each side
# A weight an expert's record all but rules out is kept this far above zero, so the pool
# keeps every expert as a part (the report shows the calibration that put it there).
FLOOR = 1e-12


@dataclass(frozen=True)
class ExpertRecord:
    """One expert's record: how many resolved views it rests on, their calibration and
    information, and the (unnormalised) weight C x information."""

    expert: str
    items: int
    calibration: float
    information: float

    @property
    def weight(self) -> float:
        return max(self.calibration * self.information, FLOOR)

    def as_dict(self) -> dict:
        return {"resolved": self.items, "calibration": self.calibration, "information": self.information,
                "weight": self.weight}


def three(grid, levels) -> np.ndarray:
    """A quantile grid's 5%, 50% and 95% quantiles."""
    return np.interp([0.05, 0.5, 0.95], levels, np.asarray(grid, dtype=float))


def resolved_views(led) -> dict[str, tuple[float, dict[str, np.ndarray]]]:
    """Each resolved quantity that experts spoke to: its value, and each expert's latest
    view of it (5/50/95% quantiles) recorded in a forecast on or before it resolved."""
    from .quantities import LEVELS
    out = {}
    done = led._read("SELECT name, value, date FROM quantity_outcomes ORDER BY name")
    for name, value, date in done:
        rows = led._read("SELECT v.expert, v.grid FROM expert_views v JOIN runs r ON r.id = v.run_id "
                         "WHERE v.name = ? AND r.role = 'forecast' AND r.created <= ? ORDER BY r.created, r.id",
                         (name, date))
        latest = {expert: three(json.loads(grid), LEVELS) for expert, grid in rows}   # later rows win
        if latest:
            out[name] = (float(value), latest)
    return out


def records(items: dict[str, tuple[float, dict[str, np.ndarray]]]) -> dict[str, ExpertRecord]:
    """Every expert's record over `items` (resolved_views' form)."""
    from scipy.stats import chi2
    bins: dict[str, np.ndarray] = {}
    info: dict[str, list[float]] = {}
    for value, views in items.values():
        qs = np.array(list(views.values()))
        lo = min(qs[:, 0].min(), value)
        hi = max(qs[:, 2].max(), value)
        span = (hi - lo) or max(abs(value), 1.0)
        lo, hi = lo - OVERSHOOT * span, hi + OVERSHOOT * span
        for expert, q in views.items():
            k = int(np.searchsorted(q, value, side="right"))   # the bin the value fell in: 0..3
            bins.setdefault(expert, np.zeros(4))[k] += 1
            r = np.diff(np.concatenate([[lo], q, [hi]])) / (hi - lo)
            info.setdefault(expert, []).append(float(np.sum(P * np.log(P / np.maximum(r, 1e-300)))))
    out = {}
    for expert, counts in bins.items():
        n = int(counts.sum())
        s = counts / n
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = float(np.sum(np.where(s > 0, s * np.log(s / P), 0.0)))
        out[expert] = ExpertRecord(expert, n, float(chi2.sf(2 * n * kl, 3)), float(np.mean(info[expert])))
    return out


def weights_of(records_: dict[str, ExpertRecord], experts: list[str]) -> list[float]:
    """The named experts' weights in a pool, normalised to sum to one."""
    raw = [records_[x].weight for x in experts]
    total = math.fsum(raw)
    return [w / total for w in raw]
