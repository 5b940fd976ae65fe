"""Ask a finished run: an event's probability, what else holds given a condition, and the
least change of beliefs that makes a stress hold, without a new run.

The run is opened again (riskmc.runs.Run): its draws re-created chunk by chunk from its
seed, or read from draws.parquet, and each chunk reduced to a few sums and histograms
(riskmc.ask.reduction), so memory stays bounded and the answer is the same for any number
of workers. A run with evidence is asked about its posterior: an importance-sampled one
through the run's own Pareto-smoothed weights, a tempered one through its particles, with
the replicates' spread as the error (riskmc.ask.answers).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SamplingError
from ..kernel.reduce import Binning
from ..model.events import Event, EventError, claim_event, resolve
from .answers import Counted, Weighted, answer, binomial
from .reduction import Asker, Reduction

Y_BINS = 2048
Q_BINS = 2 ** 12


@dataclass(frozen=True)
class Stress:
    """A stress to impose: P(event) = q, or mean(row) = x."""

    kind: str                   # "probability" or "mean"
    value: float
    event: Event | None = None
    row: int | None = None
    label: str = ""
    unit: str = ""              # a mean stress: its variable's unit

    @property
    def text(self) -> str:
        return f"P({self.event.text}) = {self.value:g}" if self.kind == "probability" else \
            f"mean({self.label}) = {self.value:g}"


_STRESS = re.compile(r"^\s*(?:(P)\s*\((?P<event>.*)\)|mean\s*\(\s*(?P<var>[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])?)\s*\))"
                     r"\s*=\s*(?P<value>-?\$?[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[%KMBT]?)\s*$")


def parse_stress(text: str, model) -> Stress:
    """`P(EVENT) = q` or `mean(output[year]) = x` (or `mean(input) = x`); q may be written
    in percent, x with its unit as events allow ("55%", "$165B")."""
    m = _STRESS.match(text or "")
    if not m:
        raise EventError(f"a stress reads P(EVENT) = q or mean(output[year]) = x, not \"{text}\"",
                         hint='e.g. --stress "P(amazon_eps_upside[2027] > 0) = 0.2"')
    written = m.group("value")
    if m.group("event") is not None:
        if "$" in written or written[-1] in "KMBT":
            raise EventError(f"a stressed probability is a number between 0 and 1 or a percent, not {written}")
        value = float(written[:-1]) / 100 if written.endswith("%") else float(written)
        if not 0 < value < 1:
            slip = not written.endswith("%") and 1 < value < 100
            raise EventError(f"a stressed probability must lie strictly between 0 and 1, got {value:g}",
                             hint=f"did you mean {value / 100:g} or {value:g}%?" if slip else None)
        return Stress("probability", value, event=resolve(m.group("event"), model))
    var = m.group("var")
    # Resolves the name and year (with did-you-mean) and reads the number in its unit.
    ev = resolve(f"{var} > {written}", model)
    name = ev.tree.var.name
    specs = model.outputs if name in model.output_names else model.inputs
    return Stress("mean", ev.tree.value, row=ev.rows[0], label=var, unit=next(s.unit for s in specs if s.name == name))


def track_rows(model) -> tuple[list[int], list[str], list[str]]:
    """Rows a question reports on: every input, then each headline output in the last year."""
    t = model.width
    n_out = len(model.outputs) * t
    rows, labels, units = [], [], []
    for j, i in enumerate(model.inputs):
        rows.append(n_out + j)
        labels.append(i.name)
        units.append(i.unit)
    for k, o in enumerate(model.outputs):
        if o.headline:
            rows.append(k * t + t - 1)
            labels.append(o.name if model.years is None else f"{o.name}[{model.years[-1]}]")
            units.append(o.unit)
    return rows, labels, units




def ask(run, event: str | None = None, *, given: str | None = None, stress: str | None = None,
        workers: int | None = None) -> dict:
    """Answer questions of a finished run (a folder, or a riskmc.runs.Run), JSON-ready:
    P(event); with `given`, the conditional probability and what else holds; with
    `stress`, the least reweighting of the draws that makes it hold and which beliefs it
    moves. A run with evidence answers from its posterior."""
    from ..runs import Run
    from ..settings import check_workers
    run = run if isinstance(run, Run) else Run.open(Path(run))
    if event is None and given is None and stress is None:
        raise SamplingError("ask for something: an EVENT, --given EVENT or --stress")
    workers = check_workers(workers)
    m = run.model
    track, labels, units = track_rows(m)
    claims = run.priors.claims

    def event_of(text: str):
        # A claim's name stands for its event (ask RUN C1, --given C2).
        name = text.strip()
        return claim_event(claims[name], m) if name in claims else resolve(text, m)

    st = {"labels": labels, "units": units,
          "ev": event_of(event) if event else None, "gv": event_of(given) if given else None,
          "st": parse_stress(stress, m) if stress else None,
          "claims": [(n, claim_event(c, m)) for n, c in run.priors.claims.items()]}
    if run.method == "tempered":
        return _tempered(run, st, track, workers)
    first = np.array(run.rows(0), copy=True)
    w0 = run.weights(first)[0] if run.method == "importance" else None
    asker = _asker(m, st, track, first, w0)
    red = run.reduce(asker.reduce, workers)
    if w0 is None:
        return answer(run.summary, Counted(red, asker.b, run.plan.sampler, run.plan.chunk_size), st)
    sample = Weighted(red, asker.b)
    out = answer(run.summary, sample, st)
    out["posterior"] = {"method": "importance", "effective_draws": sample.ess("all")}
    return out


def _asker(m, st: dict, track, rows: np.ndarray, w: np.ndarray | None) -> Asker:
    """The question's reducer, its bins fixed by a first block of draws (and weights)."""
    x = rows[track]
    b = Binning.from_pilot(x)
    if w is None:
        b = Binning(lo=b.lo, width=b.width * (b.bins / Q_BINS), center=b.center, pilot_q=b.pilot_q,
                    atom_var=b.atom_var, atom_val=b.atom_val, bins=Q_BINS)
    else:
        from ..kernel.weighted import posterior_binning
        b = posterior_binning(b, x, w)
    y_edges, y_center = None, 0.0
    s = st["st"]
    if s is not None and s.kind == "mean":
        lo, hi = _range(rows[s.row], w)
        span = (hi - lo) or max(abs(lo), 1.0) * 1e-9
        y_edges = np.concatenate([[-np.inf], np.linspace(lo - span, hi + span, Y_BINS - 1), [np.inf]])
        y_center = 0.5 * (lo + hi)
    return Asker(m, st["claims"], track, b, event=st["ev"], given=st["gv"], stress=s, y_edges=y_edges,
                 y_center=y_center)


def _range(y: np.ndarray, w: np.ndarray | None) -> tuple[float, float]:
    """The 0.1% and 99.9% points of y (weighted by w)."""
    if w is None or not w.sum() > 0:
        lo, hi = np.quantile(y, [0.001, 0.999])
        return float(lo), float(hi)
    order = np.argsort(y, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    ys = y[order]
    return float(ys[min(np.searchsorted(cum, 0.001), len(ys) - 1)]), \
        float(ys[min(np.searchsorted(cum, 0.999), len(ys) - 1)])


# ---------------------------------------------------------------------------- tempered runs
def _tempered(run, st: dict, track, workers: int) -> dict:
    """A tempered posterior's answer: every estimate from the pooled particles, its error
    the spread of the replicates' own estimates over sqrt(R), as the run reports its
    posterior (riskmc.inference.replicates)."""
    rows = run.particles(workers)                          # (R, V, n)
    r, v, n = rows.shape
    pooled = np.ascontiguousarray(rows.transpose(1, 0, 2).reshape(v, r * n))
    asker = _asker(run.model, st, track, pooled, None)
    parts = [asker.reduce(np.ascontiguousarray(rows[k])) for k in range(r)]
    total = Reduction()
    for p in parts:
        total.merge(p)
    out = answer(run.summary, Counted(total, asker.b), st)
    reps = []
    with np.errstate(all="ignore"):
        for p in parts:
            try:
                reps.append(answer(run.summary, Counted(p, asker.b), st, strict=False))
            except (SamplingError, ZeroDivisionError, ValueError):
                reps.append(None)
    usable = sum(x is not None for x in reps)
    if usable < r // 2:
        raise SamplingError(f"only {usable} of the tempered posterior's {r} replicates can answer this on their own: "
                            "its error cannot be told", hint="ask about a condition more of the posterior meets")
    out = _spread(out, reps, (), r * n)
    out["posterior"] = {"method": "tempered", "replicates": r, "particles": r * n}
    return out


_PROBABILITIES = ("probability", "conditional", "given", "claims")


def _spread(pooled, reps: list, path: tuple, particles: int):
    """`pooled` with every estimate's MCSE replaced by the replicates' spread over sqrt(R)
    (never below a binomial's error for a probability); lists of named rows are matched
    by name."""
    if isinstance(pooled, dict):
        if set(pooled) == {"value", "mcse"}:
            vals = np.array([x["value"] for x in reps if x is not None], dtype=float)
            vals = vals[np.isfinite(vals)]
            se = float(np.std(vals, ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else math.inf
            if any(k in _PROBABILITIES for k in path) and 0 <= pooled["value"] <= 1 and path[:1] != ("moved",):
                se = max(se, binomial(pooled["value"] * particles, particles).mcse)
            return {"value": pooled["value"], "mcse": se}
        return {k: _spread(x, [y.get(k) if isinstance(y, dict) else None for y in reps], path + (k,), particles)
                for k, x in pooled.items()}
    if isinstance(pooled, list) and pooled and all(isinstance(x, dict) and "name" in x for x in pooled):
        def match(y, name):
            return next((z for z in y if z["name"] == name), None) if isinstance(y, list) else None
        return [_spread(x, [match(y, x["name"]) for y in reps], path, particles) for x in pooled]
    return pooled
