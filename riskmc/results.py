"""Typed results: an estimate is a value and its Monte Carlo error, a variable's statistics
are seven estimates. The kernel, the posteriors and the questions make these; JSON is
made from them at the edge (riskmc.store.io.jsonable, for summary.json and the other
files; each `to_json` gives the shape the shipped schema describes) and read back into
them (`from_json`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

# The statistics every variable gets: its mean, sd and these quantiles.
QUANTILES = {"p5": 0.05, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p95": 0.95}
STATISTICS = ("mean", "sd", *QUANTILES)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A figure and its Monte Carlo standard error."""

    value: float
    mcse: float

    def to_json(self) -> dict:
        return {"value": self.value, "mcse": self.mcse}

    @classmethod
    def from_json(cls, doc: Mapping) -> Estimate:
        return cls(float(doc["value"]), float(doc["mcse"]))

    def minus(self, other: Estimate) -> Estimate:
        """self - other, as from independent runs: the errors add in quadrature."""
        return Estimate(self.value - other.value, math.hypot(self.mcse, other.mcse))

    def within(self, truth: float, k: float = 2.0) -> bool:
        """Whether the truth lies within k MCSE."""
        return abs(self.value - truth) <= k * self.mcse

    def __str__(self) -> str:
        return f"{self.value:.6g} ± {self.mcse:.2g}"


@dataclass(frozen=True, slots=True)
class Moments:
    """A mean and an sd, each an Estimate: what a reweighting that moves moments only
    (a mean stress) can say of a variable."""

    mean: Estimate
    sd: Estimate

    def to_json(self) -> dict:
        return {"mean": self.mean.to_json(), "sd": self.sd.to_json()}


@dataclass(frozen=True, slots=True)
class Stats:
    """A variable's mean, sd and quantiles, each an Estimate. `stats["p50"]` names a
    statistic as summary.json does."""

    mean: Estimate
    sd: Estimate
    p5: Estimate
    p25: Estimate
    p50: Estimate
    p75: Estimate
    p95: Estimate

    def __getitem__(self, key: str) -> Estimate:
        if key not in STATISTICS:
            raise KeyError(key)
        return getattr(self, key)

    def items(self) -> Iterator[tuple[str, Estimate]]:
        return ((k, getattr(self, k)) for k in STATISTICS)

    def to_json(self) -> dict:
        return {k: getattr(self, k).to_json() for k in STATISTICS}

    @classmethod
    def from_json(cls, doc: Mapping) -> Stats:
        return cls(**{k: Estimate.from_json(doc[k]) for k in STATISTICS})

    @classmethod
    def of(cls, values: Mapping[str, float], errors: Mapping[str, float]) -> Stats:
        return cls(**{k: Estimate(float(values[k]), float(errors[k])) for k in STATISTICS})

    @classmethod
    def constant(cls, c: float) -> Stats:
        """A value that does not vary: itself, exactly, with no error."""
        return cls(**{k: Estimate(float(c) if k != "sd" else 0.0, 0.0) for k in STATISTICS})


@dataclass(frozen=True, slots=True)
class OptionPrice:
    """One option of a decision: its expected payoff and the probability that it pays the
    most of all the options (ties go to the option listed first), each with its MCSE."""

    payoff: str
    expected: Estimate
    best: Estimate

    def to_json(self) -> dict:
        return {"payoff": self.payoff, "expected": self.expected.to_json(), "p_best": self.best.to_json()}


@dataclass(frozen=True, slots=True)
class DecisionPrice:
    """A decision priced by a run: each option, and the one of highest expected payoff."""

    description: str
    unit: str
    options: dict[str, OptionPrice]
    best: str

    def to_json(self) -> dict:
        return {"description": self.description, "unit": self.unit, "best": self.best,
                "options": {k: o.to_json() for k, o in self.options.items()}}
