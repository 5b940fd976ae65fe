"""A run's summary (summary.json's content) from its merged reductions: per output and
year the statistics with their errors, the claims, what drives the headline outputs, the
convergence picture; with evidence, the posterior's beside the prior's.
"""

from __future__ import annotations

import numpy as np

from .. import __version__
from ..kernel.finalize import display_histogram, finalize, probabilities
from ..kernel.reduce import Totals
from ..model import Model
from ..results import Estimate, Stats
from ..settings import CHUNK_SIZE
from ..store.io import jsonable
from ..store.timestamp import created
from .drivers import rank_drivers

# Rank correlations for "what drives it" come from the first draws only: exact Spearman
# needs every draw at once, and 16,384 draws give a standard error under 0.008, enough
# to rank the priors (riskmc sensitivity measures what drives the output properly).
DRIVER_DRAWS = CHUNK_SIZE

HEADLINE_STATS = ("mean", "p5", "p50", "p95")


def worst_headline(model: Model, stats: dict[str, Stats]) -> tuple[str, str, float]:
    """The headline statistic with the largest MCSE (its row label, statistic and MCSE):
    what kept a --target-mcse run from its target."""
    labels = [f"{o.name}[{y}]" if model.years is not None else o.name
              for o in model.outputs for y in (model.years or [None])]
    return max(((labels[j], s, stats[labels[j]][s].mcse) for j in headline_rows(model, every_year=True)
                for s in HEADLINE_STATS), key=lambda t: t[2])


def headline_rows(model: Model, every_year: bool) -> list[int]:
    """Where the headline outputs sit among the (output, year) rows: in every year, or in
    the last year only."""
    t = model.width
    years = range(t) if every_year else [t - 1]
    return [i * t + y for i, o in enumerate(model.outputs) if o.headline for y in years]


def headline_mcse(model, totals, binning, sampler, names) -> float:
    """The largest MCSE among the headline outputs' mean, p5, p50 and p95, in any year."""
    rows = headline_rows(model, every_year=True)
    stats, _ = finalize(totals, binning, sampler, names, only=rows)
    return max(stats[names[j]][s].mcse for j in rows for s in HEADLINE_STATS)



class Trace:
    """The picture of the headline estimates converging: their p5, p50 and p95 in the last
    year, at the run's snapshot points."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.rows = headline_rows(model, every_year=False)
        self.points = {model.outputs[i // model.width].name: [] for i in self.rows}
        self.last = None

    def add(self, totals: Totals, binning, sampler: str, names: list[str]) -> None:
        stats, _ = finalize(totals, binning, sampler, names, only=self.rows)
        for i in self.rows:
            st = stats[names[i]]
            self.points[self.model.outputs[i // self.model.width].name].append(
                {"draws": totals.n, **{k: st[k] for k in ("p5", "p50", "p95")}})
        self.last = totals.n


class Drivers:
    """What drives the headline outputs: rank correlations from the run's first chunks,
    sorted on a side thread while the rest of the run goes on."""

    def __init__(self, model: Model, chunks: int) -> None:
        self.model, self.chunks = model, chunks
        self.taken: list = []
        self.pool = None
        self.pending = None

    def take(self, chunk) -> None:
        if chunk.index >= self.chunks:
            return
        self.taken.append(chunk)
        if chunk.index == self.chunks - 1 and self.pool is not None:
            self.pending = self.pool.submit(_drivers, self.model, self.taken)

    def result(self) -> dict:
        return self.pending.result() if self.pending is not None else _drivers(self.model, self.taken)



def _drivers(model: Model, chunks) -> dict:
    """Spearman correlations of every input with each headline output in the last year."""
    dins = {k: np.concatenate([c.inputs[k] for c in chunks]) for k in model.input_names}
    ys = {o.name: np.concatenate([c.outputs[o.name][:, -1] for c in chunks])
          for o in model.outputs if o.headline}
    return {"method": "spearman", "year": model.years[-1] if model.years else None,
            "draws": len(dins[model.input_names[0]]), "outputs": rank_drivers(dins, ys)}



def _outputs(m: Model, stats: dict[str, Stats], histogram) -> dict:
    """summary.json's outputs: per output (and year) statistics, a histogram of the headlines."""
    years = list(m.years) if m.years is not None else None
    outputs = {}
    for i, spec in enumerate(m.outputs):
        entry = {"label": spec.label, "unit": spec.unit, "kind": spec.kind, "headline": spec.headline}
        if years is None:
            entry["stats"] = stats[spec.name]
        else:
            entry["years"] = {str(y): stats[f"{spec.name}[{y}]"] for y in years}
        if spec.headline:
            entry["histogram"] = {"year": years[-1] if years else None, **histogram((i + 1) * m.width - 1)}
        outputs[spec.name] = entry
    return outputs


# Inputs the evidence moved most that the report pictures, prior against posterior.
MOVED_SHOWN = 6


def _evidence(r, totals, binning, names, stats, post) -> dict:
    """summary.json's evidence: what was observed, how the posterior was found, where each
    observation fell in the prior predictive, and the inputs that moved most."""
    from ..inference.posterior import moved, surprise
    ps = r.priors
    m = ps.model
    lik_rows = {}
    t = m.width
    for e in ps.evidence.values():
        if e.on == "output":
            lik_rows[e.name] = m.output_names.index(e.target) * t + (
                m.years.index(e.year) if m.years is not None else 0)
        else:
            lik_rows[e.name] = len(m.outputs) * t + m.input_names.index(e.target)
    items = {name: {**e.as_dict(), "prior_predictive": surprise(e, lik_rows[name], totals, binning)}
             for name, e in ps.evidence.items()}
    n_out = len(m.outputs) * t
    ranked = moved(stats, post.stats, list(m.input_names))
    inputs = {}
    for k, (name, score) in enumerate(ranked):
        j = n_out + m.input_names.index(name)
        entry = {"moved": score, "prior": stats[name], "posterior": post.stats[name]}
        if k < MOVED_SHOWN:
            entry["histograms"] = {"prior": display_histogram(totals, binning, j), "posterior": post.histogram(j)}
        inputs[name] = entry
    return {"method": post.method, "why": post.why, "diagnostics": post.diagnostics,
            "items": items, "inputs": inputs}


def summary_of(r, totals: Totals, binning, names, drivers, post=None) -> tuple[dict, dict[str, Stats], list[Estimate]]:
    """summary.json's content: metadata, per-output (per-year) statistics, claims, drivers;
    with evidence, the posterior's, and the prior's beside them. Also the typed results it
    was made from: every variable's Stats and each claim's probability (the posterior's,
    with evidence)."""
    ps = r.priors
    m = ps.model
    sampler = r.plan.sampler
    stats, notes = finalize(totals, binning, sampler, names)
    years = list(m.years) if m.years is not None else None
    outputs = _outputs(m, stats, lambda j: display_histogram(totals, binning, j))
    probs = probabilities(totals, sampler)
    claims = {name: {"text": c.text, "event": c.describe(), "probability": pr}
              for (name, c), pr in zip(ps.claims.items(), probs)}
    prior = None
    if post is not None:
        prior = {"outputs": outputs, "claims": claims}
        outputs = _outputs(m, post.stats, post.histogram)
        claims = {name: {"text": c.text, "event": c.describe(), "probability": pr}
                  for (name, c), pr in zip(ps.claims.items(), post.claims)}
    summary = {
        "riskmc_version": __version__,
        "created": created(),
        "title": ps.title,
        "model": m.describe(),
        "priors_files": [{"path": f.path, "sha256": f.sha256} for f in ps.files],
        "scenario": ps.scenario,
        "role": r.settings.role_of(ps.scenario),
        "seed": r.seed,
        "draws": r.draws,
        "sampler": sampler,
        "chunk_size": r.plan.chunk_size,
        "command": r.command,
        "notes": list(r.plan.notes) + list(ps.warnings) + notes + list(post.warnings if post is not None else ()),
        "years": years,
        "outputs": outputs,
        "claims": claims,
        "drivers": drivers,
        "inputs": {name: p.as_dict() for name, p in ps.priors.items()},
        "correlations": [{"between": [a, b], "spearman": v} for a, b, v in ps.dependence.pairs],
    }
    if post is not None:
        summary["prior"] = prior
        summary["evidence"] = _evidence(r, totals, binning, names, stats, post)
    if r.target_mcse is not None:
        summary["convergence"] = {"target_mcse": r.target_mcse, "converged": r.converged,
                                  "max_draws": r.plan.draws}
    if post is not None:
        stats, probs = post.stats, post.claims
    return jsonable(summary), stats, probs
