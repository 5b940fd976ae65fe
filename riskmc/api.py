"""The library's front door: `run` a priors file and `write` what it produced.

The CLI is a thin layer over these calls; a notebook can use them directly:

    >>> import riskmc
    >>> result = riskmc.run("priors/base.toml", draws=20_000, seed=1)
    >>> result.stats["nvidia_share[2030]"].p50  # doctest: +SKIP
    Estimate(value=0.5..., mcse=...)
    >>> result.summary["outputs"]["nvidia_share"]["years"]["2030"]["p50"]["value"]  # summary.json's shape  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import interrupt
from .analyze import ClaimCounter
from .analyze.summary import (
    DRIVER_DRAWS,
    HEADLINE_STATS,
    Drivers,
    Trace,
    headline_mcse,
    headline_rows,
    summary_of,
)
from .errors import SamplingError
from .kernel.engine import Kernel, sample
from .kernel.streams import SeedLike
from .loading import load
from .model import Model
from .numeric.samplers import SAMPLERS
from .priors import PriorSet
from .results import DecisionPrice, Estimate, Stats
from .settings import (  # noqa: F401 (re-exported)
    DEFAULT_DRAWS,
    MAX_DRAWS,
    NUMBERS,
    SAVE_DRAWS_BYTES,
    Plan,
    RunSettings,
    resolve,
)
from .store.io import jsonable

# Rank correlations for "what drives it" come from the first draws only: exact Spearman
# needs every draw at once, and 16,384 draws give a standard error under 0.008, enough
# to rank the priors (riskmc sensitivity measures what drives the output properly).
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
    summary: dict = field(default_factory=dict)   # summary.json's content
    # The same figures typed: each variable's Stats by its row label ("output[year]", an
    # input's name) and each claim's probability; the posterior's under evidence.
    stats: dict[str, Stats] = field(default_factory=dict)
    claims: dict[str, Estimate] = field(default_factory=dict)
    decisions: dict[str, DecisionPrice] = field(default_factory=dict)
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
        """The one-line command that reproduces this run, its role included: the settings
        given beside the priors file, and the seed when the file fixes none (given so, it
        keeps the run's role); a run of a file with its seed is `riskmc run FILE`."""
        s = self.settings
        parts = ["riskmc", "run", self.priors.path]
        if "seed" in s.given or self.priors.run.get("seed") is None:
            parts += ["--seed", str(s.seed)]
        if "draws" in s.given:
            parts += ["--draws", str(s.first.draws)]
        if "sampler" in s.given:
            parts += ["--sampler", s.sampler]
        if s.target_mcse is not None and ("target_mcse" in s.given or "max_draws" in s.given):
            parts += ["--target-mcse", repr(s.target_mcse), "--max-draws", str(s.plan.draws)]
        if s.role == "scratch" and not any(k in s.given for k in NUMBERS):
            parts += ["--scratch"]
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
        # A prior run prices its decisions as the chunks pass (their sums only); a
        # posterior's weights are known at the end, and it prices its re-created draws.
        pricing = None
        if ps.decisions and likelihood is None:
            from .analyze.decisions import Pricing
            pricing = Pricing(ps.decisions, batch=not SAMPLERS[s.plan.sampler].iid)
        stops = _checkpoints(s.first.n_chunks, s.plan.n_chunks) if s.target_mcse is not None else None
        with contextlib.ExitStack() as stack:
            writer = None
            if self.draws_path is not None:
                from .store.io import DrawsWriter
                writer = stack.enter_context(DrawsWriter(self.draws_path, m, self.draws_shown))
            drivers.pool = stack.enter_context(ThreadPoolExecutor(max_workers=1))
            for state in sample(kernel, s.workers, stops=stops,
                                keep_below=s.plan.n_chunks if keep_all or pricing is not None else driver_chunks_n,
                                backend=s.backend, scheduler=s.scheduler):
                for c in state.chunks:
                    drivers.take(c)
                    if writer is not None:
                        writer.write(c, s.plan.chunk_size)
                    if self.keep_draws:
                        kept.append(c)
                    if pricing is not None:
                        pricing.add(_payoff_rows(kernel, c))
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
        result.summary, result.stats, probs = summary_of(result, totals, binning, names, ranked, post)
        result.claims = dict(zip(ps.claims, probs))
        if pricing is not None:
            iid = SAMPLERS[s.plan.sampler].iid
            result.decisions = pricing.prices("iid" if iid else "batch", s.plan.chunk_size)
        elif ps.decisions:
            # A posterior: its draws re-created once more from the seed and weighed as it
            # weighed them.
            from .analyze.decisions import price_all
            from .runs import Run
            result.decisions = price_all(Run.of(result.summary, ps), ps.decisions, s.workers)
        if ps.decisions:
            result.summary["decisions"] = {k: d.to_json() for k, d in result.decisions.items()}
        result.summary["convergence_trace"] = jsonable(
            {"year": m.years[-1] if m.years else None, "outputs": trace.points})
        self.result = result


def _payoff_rows(kernel: Kernel, c) -> np.ndarray:
    """A chunk's rows as payoffs read them: outputs by year, then every input."""
    if kernel.with_inputs:
        return c.rows
    k, t = kernel.out_shape
    return np.concatenate([c.rows[:k * t], np.array([c.inputs[n] for n in kernel.model.input_names])])


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


def _converged(kernel, state, names, hits, s: RunSettings) -> bool:
    """Whether every headline statistic's MCSE (the posterior's, with evidence) is below
    the target: the caller's stopping rule for --target-mcse."""
    m = kernel.model
    if kernel.likelihood is not None:
        from .inference.weighted import finish
        post = finish(state.totals.weighted, state.binning.weighted, state.totals, names, kernel.rows_of, hits)
        return post.reliable and max(
            post.stats[names[j]][st].mcse for j in headline_rows(m, every_year=True)
            for st in HEADLINE_STATS) <= s.target_mcse
    return headline_mcse(m, state.totals, state.binning, s.sampler, names) <= s.target_mcse


def _checkpoints(first: int, last: int) -> list[int]:
    """Chunk counts at which --target-mcse is checked: the first plan, then doubling."""
    out, k = [], first
    while k < last:
        out.append(k)
        k *= 2
    return out + [last]


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


