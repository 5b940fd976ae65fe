"""The library's front door: `run` a priors file and `write` what it produced.

The CLI is a thin layer over these calls; a notebook can use them directly:

    >>> import riskmc
    >>> result = riskmc.run("priors/base.toml", draws=20_000, seed=1)
    >>> result.summary["outputs"]["nvidia_share"]["years"]["2030"]["p50"]["value"]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__, interrupt
from .analyze import ClaimCounter, rank_drivers
from .errors import SamplingError
from .kernel.engine import CHUNK_SIZE, Kernel, sample
from .kernel.finalize import display_histogram, finalize, probabilities
from .kernel.reduce import Totals
from .kernel.streams import SeedLike
from .loading import load
from .model import Model
from .priors import PriorSet
from .settings import DEFAULT_DRAWS, MAX_DRAWS, SAVE_DRAWS_BYTES, Plan, RunSettings, resolve  # noqa: F401 (re-exported)
from .store.timestamp import created

# Rank correlations for "what drives it" come from the first draws only: exact Spearman
# needs every draw at once, and 16,384 draws give a standard error under 0.008, enough
# to rank the priors (riskmc sensitivity measures what drives the output properly).
DRIVER_DRAWS = CHUNK_SIZE
BOOTSTRAP_WHOM = 300  # resamples for the interval of 'whom you believe' S1


def draws_file_bytes(model: Model, draws: int) -> int:
    """Rough size of draws.parquet: float64 draws barely compress."""
    return draws * 8 * (2 + len(model.inputs) + len(model.outputs) * model.width)


@dataclass
class RunResult:
    """A finished run: its priors, settings and summaries (and draws, if kept)."""

    priors: PriorSet
    settings: RunSettings
    draws: int        # draws actually run
    summary: dict = field(default_factory=dict)
    inputs: dict[str, np.ndarray] | None = None
    outputs: dict[str, np.ndarray] | None = None
    converged: bool | None = None  # None: no --target-mcse was asked for

    @property
    def plan(self) -> Plan:
        return self.settings.plan

    @property
    def seed(self) -> int:
        return self.settings.seed

    @property
    def first_draws(self) -> int:
        """Draws asked for (with target_mcse: the first checkpoint)."""
        return self.settings.first.draws

    @property
    def target_mcse(self) -> float | None:
        return self.settings.target_mcse

    @property
    def model(self) -> Model:
        return self.priors.model

    @property
    def years(self) -> tuple[int, ...] | None:
        return self.model.years

    @property
    def command(self) -> str:
        """The one-line command that reproduces this run."""
        s = self.settings
        parts = ["riskmc", "run", self.priors.path, "--seed", str(s.seed), "--draws", str(s.first.draws),
                 "--sampler", s.sampler]
        if s.target_mcse is not None:
            parts += ["--target-mcse", repr(s.target_mcse), "--max-draws", str(s.plan.draws)]
        if self.priors.scenario:
            parts += ["--scenario", self.priors.scenario]
        return shlex.join(parts)


def settings_for(ps: PriorSet, **given) -> RunSettings:
    """The run's settings: `given` over the priors file's [run] table over the defaults."""
    return resolve(ps.run, evidence=bool(ps.evidence), **given)


def check_settings(ps: PriorSet, **given) -> RunSettings:
    """Every setting checked against the priors file's `[run]` table and defaults, before
    any work: a command that fails here has made no folder and drawn nothing."""
    return settings_for(ps, **given)


class Running:
    """A run in progress: iterate it for its states (the caller shows progress, or stops
    caring), then read `result`. The loop is here, in plain code: the convergence check,
    the picture of the estimates converging, the drivers, the draws kept or streamed."""

    def __init__(self, ps: PriorSet, settings: RunSettings, *, keep_draws: bool = False,
                 draws_path: str | Path | None = None, draws_shown: str | Path | None = None) -> None:
        self.ps, self.settings = ps, settings
        self.keep_draws, self.draws_path, self.draws_shown = keep_draws, draws_path, draws_shown
        self.result: RunResult | None = None

    def __iter__(self):
        ps, s = self.ps, self.settings
        m = ps.model
        claims = list(ps.claims.values())
        hits = ClaimCounter(claims, m.output_names, m.years) if claims else None
        likelihood = None
        if ps.evidence:
            from .kernel.likelihood import Likelihood
            likelihood = Likelihood(list(ps.evidence.values()), m)
        kernel = Kernel(ps, m, s.root, s.plan, hits, likelihood, inputs_rows=bool(hits and hits.uses_inputs))
        names = list(kernel.labels)
        driver_chunks_n = -(-DRIVER_DRAWS // s.plan.chunk_size)
        keep_all = self.keep_draws or self.draws_path is not None
        trace = Trace(m)
        drivers = Drivers(m, driver_chunks_n)
        kept = []
        converged = None
        stops = _checkpoints(s.first.n_chunks, s.plan.n_chunks) if s.target_mcse is not None else None
        with contextlib.ExitStack() as stack:
            writer = None
            if self.draws_path is not None:
                from .store.io import DrawsWriter
                writer = stack.enter_context(DrawsWriter(self.draws_path, m, self.draws_shown))
            drivers.pool = stack.enter_context(ThreadPoolExecutor(max_workers=1))
            for state in sample(kernel, s.workers, stops=stops,
                                keep_below=s.plan.n_chunks if keep_all else driver_chunks_n,
                                backend=s.backend, scheduler=s.scheduler):
                for c in state.chunks:
                    drivers.take(c)
                    if writer is not None:
                        writer.write(c, s.plan.chunk_size)
                    if self.keep_draws:
                        kept.append(c)
                if state.snapshot:
                    trace.add(state.totals, state.binning, s.sampler, names)
                yield state
                if state.checkpoint and s.target_mcse is not None:
                    converged = _converged(kernel, state, names, hits, s)
                    if converged:
                        break
            totals, binning = state.totals, state.binning
            result = RunResult(ps, s, totals.n, converged=converged)
            if self.keep_draws:
                result.inputs = {k: np.concatenate([c.inputs[k] for c in kept]) for k in m.input_names}
                result.outputs = {k: np.concatenate([c.outputs[k] for c in kept]) for k in m.output_names}
                if m.years is None:
                    result.outputs = {k: v[:, 0] for k, v in result.outputs.items()}
            if trace.last != totals.n:
                trace.add(totals, binning, s.sampler, names)  # the trace ends at the run's last draw
            ranked = drivers.result()
        post = None
        if likelihood is not None:
            from .inference.posterior import infer
            post = infer(kernel, totals, binning, names, claims=hits, workers=s.workers)
        result.summary = _summary(result, totals, binning, names, ranked, post)
        result.summary["convergence_trace"] = {"year": m.years[-1] if m.years else None, "outputs": trace.points}
        self.result = result


def run(priors: str | Path | PriorSet, *, model: Model | str | None = None, settings: RunSettings | None = None,
        draws: int | None = None, seed: SeedLike = None, sampler: str | None = None, workers: int | None = None,
        scenario: str | None = None, allow_unused: bool = False, keep_draws: bool = False,
        draws_path: str | Path | None = None, draws_shown: str | Path | None = None,
        target_mcse: float | None = None, max_draws: int | None = None, backend: str | None = None,
        scheduler: str | None = None) -> RunResult:
    """Sample the priors, evaluate their model and summarise every output.

    The model is the one the priors file names, or `model` (see `load`). Settings are
    `settings` (riskmc.settings.resolve), or the keywords given, over the file's `[run]`
    table, over defaults (100,000 draws, plain Monte Carlo, fresh entropy recorded as the
    seed). `workers` changes only the speed, never the numbers. `keep_draws` returns
    every draw in `result.inputs`/`result.outputs` (memory grows with draws); `draws_path`
    streams them to a Parquet file instead (`draws_shown`: the folder to name if it
    cannot be written). With `target_mcse`, chunks are added (doubling from `draws`)
    until every headline statistic's MCSE is below it or `max_draws` is reached.
    `backend="dask"` sends the same chunks with the same streams to a Dask cluster
    (`scheduler` address, or a LocalCluster on loopback): the numbers do not change.
    """
    ps = priors if isinstance(priors, PriorSet) else load(priors, model=model, scenario=scenario,
                                                          allow_unused=allow_unused)
    if settings is None:
        settings = settings_for(ps, draws=draws, seed=seed, sampler=sampler, workers=workers,
                                target_mcse=target_mcse, max_draws=max_draws, backend=backend, scheduler=scheduler)
    running = Running(ps, settings, keep_draws=keep_draws, draws_path=draws_path, draws_shown=draws_shown)
    for _ in running:
        pass
    return running.result


class Trace:
    """The picture of the headline estimates converging: their p5, p50 and p95 in the last
    year, at the run's snapshot points."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.rows = _headline_rows(model, every_year=False)
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


def _converged(kernel, state, names, hits, s: RunSettings) -> bool:
    """Whether every headline statistic's MCSE (the posterior's, with evidence) is below
    the target: the caller's stopping rule for --target-mcse."""
    m = kernel.model
    if kernel.likelihood is not None:
        from .inference.weighted import finish
        post = finish(state.totals.weighted, state.binning.weighted, state.totals, names, kernel.rows_of, hits)
        return post.reliable and max(
            post.stats[names[j]][st]["mcse"] for j in _headline_rows(m, every_year=True)
            for st in HEADLINE_STATS) <= s.target_mcse
    return _headline_mcse(m, state.totals, state.binning, s.sampler, names) <= s.target_mcse


def _checkpoints(first: int, last: int) -> list[int]:
    """Chunk counts at which --target-mcse is checked: the first plan, then doubling."""
    out, k = [], first
    while k < last:
        out.append(k)
        k *= 2
    return out + [last]


HEADLINE_STATS = ("mean", "p5", "p50", "p95")


def _headline_rows(model: Model, every_year: bool) -> list[int]:
    """Where the headline outputs sit among the (output, year) rows: in every year, or in
    the last year only."""
    t = model.width
    years = range(t) if every_year else [t - 1]
    return [i * t + y for i, o in enumerate(model.outputs) if o.headline for y in years]


def _headline_mcse(model, totals, binning, sampler, names) -> float:
    """The largest MCSE among the headline outputs' mean, p5, p50 and p95, in any year."""
    rows = _headline_rows(model, every_year=True)
    stats, _ = finalize(totals, binning, sampler, names, only=rows)
    return max(stats[names[j]][s]["mcse"] for j in rows for s in HEADLINE_STATS)


def write(result: RunResult, out, *, netcdf: bool = False) -> list[Path]:
    """Write summary.json and report.html (and draws.nc with `netcdf`) into `out`.

    `out` is a folder, or a riskmc.store.commit.Transaction that the caller commits itself (the
    CLI stages draws.parquet during the run and commits everything at once). The files
    reach the folder together, by one atomic swap, only once all are complete.
    """
    from .report import render
    from .store.commit import Transaction
    from .store.io import dumps_json, netcdf_bytes

    if netcdf and result.outputs is None:
        raise SamplingError("draws.nc needs the draws: run with keep_draws=True")
    own = not isinstance(out, Transaction)
    tx = Transaction(out) if own else out
    with tx if own else contextlib.nullcontext():
        tx.write("summary.json", dumps_json(result.summary))
        interrupt.check()
        if netcdf:
            tx.write("draws.nc", netcdf_bytes(result, result.summary.get("created")))
            interrupt.check()
        tx.write("report.html", render(result.summary).encode())
        return tx.commit() if own else []


def sensitivity(priors: str | Path | PriorSet, *, model: Model | str | None = None, output: str | None = None,
                year: int | None = None, draws: int = 2 ** 14, seed: SeedLike = None,
                workers: int | None = None, scenario: str | None = None, allow_unused: bool = False) -> dict:
    """What drives the outputs: Sobol indices, a tornado and rank correlations (JSON-ready).

    By default the headline outputs in the last year; `output`/`year` pick one. Sobol
    indices take draws x (factors + 2) model evaluations.
    """
    import difflib

    from .analyze.sensitivity import sobol, tornado

    ps = priors if isinstance(priors, PriorSet) else load(priors, model=model, scenario=scenario,
                                                          allow_unused=allow_unused)
    m = ps.model
    st = settings_for(ps, seed=seed, workers=workers)
    seed, workers = st.seed, st.workers
    if m.years is None:
        if year is not None:
            raise SamplingError(f"model '{m.name}' has no years: drop --year")
        j = 0
    else:
        year = m.years[-1] if year is None else int(year)
        if year not in m.years:
            raise SamplingError(f"year must be one of {m.years[0]}-{m.years[-1]}, got {year}")
        j = m.years.index(year)
    names = [o.name for o in m.outputs if o.headline] if output is None else [output]
    for n in names:
        if n not in m.output_names:
            close = difflib.get_close_matches(n, m.output_names, n=1)
            raise SamplingError(f"unknown output '{n}'", hint=f"did you mean '{close[0]}'?" if close
                                else f"model '{m.name}' has {', '.join(m.output_names)}")

    def pick(out):
        return np.column_stack([out[n][:, j] if out[n].ndim == 2 else out[n] for n in names])

    res = sobol(ps, m, pick, draws=draws, seed=seed, workers=workers)
    tor = tornado(ps, m, pick)
    ordinary = run(ps, draws=DRIVER_DRAWS, seed=res["seed"], workers=workers, keep_draws=True)
    grouped = [f for f in res["factors"] if len(f.members) > 1]
    note = ("Sobol indices assume independent factors; correlated priors are analysed as groups: "
            + "; ".join(f.name for f in grouped)) if grouped else None
    logs = [n for n, p in ps.priors.items() if len(p.experts) > 1 and p.pool == "log"]
    if logs:
        note = ((note + ". ") if note else "") + (
            f"{', '.join(logs)} pool{'s' if len(logs) == 1 else ''} experts logarithmically, into one consensus "
            "view: no draw comes from one expert, so there is no 'whom you believe' (pool = \"linear\" has it)")
    out = {
        "riskmc_version": __version__,
        "priors_files": [{"path": f.path, "sha256": f.sha256} for f in ps.files],
        "scenario": ps.scenario, "seed": res["seed"], "draws": draws,
        "evaluations": res["evaluations"], "year": year, "outputs": {}, "note": note,
        "method": "Saltelli (2010) first-order, Jansen (1999) total; 95% bootstrap intervals",
        "factors": [{"name": f.name, "members": list(f.members)} for f in res["factors"]],
    }
    column = {n: (ordinary.outputs[n][:, j] if ordinary.outputs[n].ndim == 2 else ordinary.outputs[n])
              for n in names}
    out["experts"] = _whom(ps, m, ordinary, column, res["seed"])
    spearman = rank_drivers(ordinary.inputs, column)
    by_name = {o.name: o for o in m.outputs}
    for k, n in enumerate(names):
        rows = [{"factor": f.name, "S1": _index(res["S1"][k, g]), "ST": _index(res["ST"][k, g]),
                 "S1_ci": [_index(v) for v in res["S1_ci"][:, k, g]],
                 "ST_ci": [_index(v) for v in res["ST_ci"][:, k, g]]} for g, f in enumerate(res["factors"])]
        rows.sort(key=lambda r: -(r["ST"] or 0.0))
        trows = [{"input": r["input"], "low": r["low"], "high": r["high"], "at_low": r["at_low"][k],
                  "at_high": r["at_high"][k], "swing": r["swing"][k]} for r in tor[1:]]
        trows.sort(key=lambda r: -abs(r["swing"]))
        out["outputs"][n] = {
            "label": by_name[n].label, "unit": by_name[n].unit,
            "sobol": rows,
            "tornado": {"base": tor[0]["base"][k], "rows": trows},
            "spearman": spearman[n],
        }
    return out


def _whom(ps: PriorSet, m: Model, result: RunResult, column: dict[str, np.ndarray], seed: int) -> list[dict]:
    """Which expert is right, for each prior with linearly pooled experts, from a run's
    draws: each headline output's mean and each claim's probability if each expert is
    right, and the share of each output's variance that hangs on which one is (S1).

    A linear pool is a mixture: a draw comes from expert k with probability w_k, so
    given its value x it came from k with probability r_k(x) = w_k f_k(x) / pool(x)
    (Bayes; the other inputs depend on the expert only through x, through the copula on
    the pool's ranks). Weighing the draws by r_k gives E[Y | k] exactly, for the run's
    own joint distribution, and S1 = sum_k w_k (E[Y | k] - E[Y])^2 / Var(Y). Errors: the
    self-normalised estimator's for the means and probabilities, a bootstrap over draws
    for S1."""
    from .ask.query import claim_event
    pooled = [n for n, p in ps.priors.items() if len(p.experts) > 1 and p.pool == "linear"]
    if not pooled:
        return []
    n = len(next(iter(result.inputs.values())))
    k, t = len(m.outputs), m.width
    rows = np.empty((k * t + len(m.inputs), n))
    for i, o in enumerate(m.outputs):
        rows[i * t:(i + 1) * t] = np.asarray(result.outputs[o.name]).reshape(n, t).T
    for i, name in enumerate(m.input_names):
        rows[k * t + i] = result.inputs[name]
    hits = {c: claim_event(claim, m).mask(rows).astype(float) for c, claim in ps.claims.items()}
    ys = {o: np.asarray(v, dtype=float) for o, v in column.items()}
    boot = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(2 ** 32 + 1,))))
    picks = [boot.integers(0, n, n) for _ in range(BOOTSTRAP_WHOM)]
    out = []
    for name in pooled:
        p = ps.priors[name]
        x = result.inputs[name]
        pool = p.family.pdf(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.array([np.where(pool > 0, w * part.pdf(x) / pool, 0.0)
                          for w, part in zip(p.family.weights, p.family.parts)])
        experts = []
        for expert, rk in zip(p.experts, r):
            total = float(rk.sum())
            experts.append({
                "expert": expert.name, "weight": expert.weight,
                "draws": int(round(total ** 2 / float(np.sum(rk * rk)))) if total > 0 else 0,
                "if_right": {o: _ratio(rk, y, "mean") for o, y in ys.items()},
                "claims_if_right": {c: _ratio(rk, h, "value") for c, h in hits.items()},
            })
        s1 = {}
        for o, y in ys.items():
            draws = [_s1(r[:, idx], y[idx]) for idx in picks]
            lo, hi = np.quantile(draws, [0.025, 0.975])
            s1[o] = {"value": _index(_s1(r, y)), "ci": [_index(lo), _index(hi)]}
        out.append({"prior": name, "S1": s1, "experts": experts})
    return out



def _ratio(r: np.ndarray, v: np.ndarray, key: str) -> dict:
    """sum r v / sum r, with the self-normalised estimator's error."""
    total = float(r.sum())
    if not total > 0:
        return {key: None, "mcse": None}
    est = float(np.dot(r, v) / total)
    return {key: _index(est), "mcse": _index(float(np.sqrt(np.sum((r * (v - est)) ** 2)) / total))}


def _s1(r: np.ndarray, y: np.ndarray) -> float:
    """Share of Var(y) explained by the expert: sum_k w_k (E[y | k] - E[y])^2 / Var(y)."""
    w = r.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = (r @ y) / w
        return float(np.sum(w / len(y) * (means - y.mean()) ** 2) / y.var())


def _index(v) -> float | None:
    """A Sobol index for JSON: None where it is undefined (an output that does not vary)."""
    v = float(v)
    return v if np.isfinite(v) else None


def _drivers(model: Model, chunks) -> dict:
    """Spearman correlations of every input with each headline output in the last year."""
    dins = {k: np.concatenate([c.inputs[k] for c in chunks]) for k in model.input_names}
    ys = {o.name: np.concatenate([c.outputs[o.name][:, -1] for c in chunks])
          for o in model.outputs if o.headline}
    return {"method": "spearman", "year": model.years[-1] if model.years else None,
            "draws": len(dins[model.input_names[0]]), "outputs": rank_drivers(dins, ys)}


def _outputs(m: Model, stats: dict, histogram) -> dict:
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


def _evidence(r: RunResult, totals, binning, names, stats, post) -> dict:
    """summary.json's evidence: what was observed, how the posterior was found, where each
    observation fell in the prior predictive, and the inputs that moved most."""
    from .inference.posterior import moved, surprise
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


def _summary(r: RunResult, totals: Totals, binning, names, drivers, post=None) -> dict:
    """summary.json's content: metadata, per-output (per-year) statistics, claims, drivers;
    with evidence, the posterior's, and the prior's beside them."""
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
    return summary
