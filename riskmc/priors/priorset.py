"""The data types the priors loader returns: a PriorSet of validated priors, experts and claims,
kept apart from reading and checking files so that runs, reports and analyses can use them alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .copula import Dependence
from .evidence import Evidence
from .families import Family, record


@dataclass(frozen=True)
class Expert:
    """One expert's view of a prior: their distribution, its weight in the pool, and where."""

    name: str
    family: Family
    weight: float  # normalised: the experts' weights sum to one
    source: str
    reviewed: str | None
    description: str | None
    stated: dict[float, float]
    fit_error: float | None
    line: int | None
    # weight = "record": the record it was weighted by (riskmc.store.cooke.ExpertRecord), and
    # the ledger it was read from (a run of these priors depends on that file too)
    record: Any = None
    ledger: str | None = None

    def as_dict(self) -> dict:
        out = {"name": self.name, "weight": self.weight, "source": self.source, "reviewed": self.reviewed,
               "description": self.description, "line": self.line,
               "distribution": record(self.family),
               "stated": {_qkey(k): v for k, v in sorted(self.stated.items())},
               "implied": {_qkey(q): float(v) for q, v in zip(IMPLIED, implied3(self.family))},
               "fit_error": self.fit_error}
        if self.record is not None:
            out["record"] = self.record.as_dict()
        return out


@dataclass(frozen=True)
class Prior:
    """One validated prior: its distribution, what the expert stated, and where."""

    name: str
    family: Family
    description: str
    unit: str
    source: str
    owner: str | None
    reviewed: str | None
    stated: dict[float, float]  # quantile level -> stated value ({} when given by parameters)
    fit_error: float | None
    file: str
    line: int | None
    experts: tuple[Expert, ...] = ()  # several experts' views, pooled into `family`
    pool: str | None = None           # "linear" or "log", with experts

    def implied(self, probs) -> np.ndarray:
        if tuple(probs) == IMPLIED:
            return implied3(self.family)
        return self.family.quantiles(probs)

    def as_dict(self) -> dict:
        """The prior as the expert wrote it and as riskmc understood it (JSON-ready)."""
        dist = record(self.family)
        return {
            "description": self.description, "unit": self.unit, "source": self.source,
            "owner": self.owner, "reviewed": self.reviewed, "file": self.file, "line": self.line,
            "distribution": dist,
            "stated": {_qkey(k): v for k, v in sorted(self.stated.items())},
            "implied": {_qkey(q): float(v) for q, v in zip(IMPLIED, self.implied(IMPLIED))},
            "fit_error": self.fit_error,
            **({"pool": self.pool, "experts": [x.as_dict() for x in self.experts],
                "disagreement": self.disagreement()} if self.experts else {}),
        }

    def disagreement(self) -> list[dict]:
        """Each pair of experts and how much their 90% intervals overlap (0: not at all)."""
        from .families.pool import overlap
        ends = {x.name: tuple(float(v) for v in implied3(x.family)[[0, 2]]) for x in self.experts}
        names = [x.name for x in self.experts]
        return [{"a": a, "b": b, "overlap": overlap(ends[a], ends[b])}
                for i, a in enumerate(names) for b in names[i + 1:]]


IMPLIED = (0.05, 0.5, 0.95)


def implied3(fam: Family) -> np.ndarray:
    """The family's p05, p50 and p95, exactly; a beta's (which need SciPy) kept in riskmc.numeric.cache."""
    if fam.name not in ("beta", "pert", "pool"):
        return fam.quantiles(IMPLIED)
    from ..numeric import cache
    k = cache.key("implied", fam.name, fam.key() if fam.name == "pool" else sorted(fam.values.items()), IMPLIED)
    hit = cache.load_json("implied", k)
    if hit is not None and len(hit.get("q", ())) == 3:
        return np.asarray(hit["q"], dtype=float)
    q = fam.quantiles(IMPLIED)
    cache.save_json("implied", k, {"q": [float(v) for v in q]})
    return q


def _qkey(p: float) -> str:
    return f"p{round(100 * p):02d}"


@dataclass(frozen=True)
class Claim:
    """A thesis stated as an event on a model output."""

    name: str
    text: str
    output: str
    years: tuple[int, ...]
    above: float | None = None
    below: float | None = None
    rises: bool = False
    event: Any = None  # a riskmc.model.events.Event, for a claim written as `event = "..."`

    def describe(self) -> str:
        if self.event is not None:
            return self.event.text
        if not self.years:  # a model without years
            if self.above is not None and self.below is not None:
                return f"{self.above:g} <= {self.output} <= {self.below:g}"
            return f"{self.output} > {self.above:g}" if self.above is not None else f"{self.output} < {self.below:g}"
        yrs = f"{self.years[0]}" if len(self.years) == 1 else f"{self.years[0]}-{self.years[-1]}"
        if self.rises:
            return f"{self.output} rises every year {yrs}"
        if self.above is not None and self.below is not None:
            return f"{self.above:g} <= {self.output}[{yrs}] <= {self.below:g}"
        if self.above is not None:
            return f"{self.output}[{yrs}] > {self.above:g}"
        return f"{self.output}[{yrs}] < {self.below:g}"


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str


@dataclass(frozen=True)
class ModelRef:
    """The model a priors file names: `market`, or a path relative to `base`."""

    ref: Any
    base: Path
    file: str | None
    line: int | None


@dataclass(frozen=True)
class PriorSet:
    """Everything a run needs from the priors files, validated against their model."""

    title: str
    priors: dict[str, Prior]
    dependence: Dependence
    claims: dict[str, Claim]
    run: dict[str, Any]
    files: tuple[SourceFile, ...]
    scenario: str | None
    scenarios: tuple[str, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)
    model: Any = None  # the riskmc.Model these priors were checked against and feed
    evidence: dict[str, Evidence] = field(default_factory=dict)  # what was observed, by name
    decisions: dict[str, Any] = field(default_factory=dict)      # riskmc.priors.decisions.Decision, by name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.priors)

    @property
    def path(self) -> str:
        return self.files[0].path

    @property
    def sources(self) -> list[str]:
        """Every file a run of these priors reads: the priors files, then a model file, then
        the ledgers experts weighted by their record were read from."""
        out = [f.path for f in self.files]
        if self.model is not None and self.model.source is not None:
            out.append(str(self.model.source))
        return out + sorted({x.ledger for p in self.priors.values() for x in p.experts if x.ledger})
