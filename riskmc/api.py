"""The library's front door: `run` a priors file and `write` what it produced.

The CLI is a thin layer over these calls; a notebook can use them directly:

    >>> import riskmc
    >>> result = riskmc.run("priors/base.toml", draws=20_000, seed=1)
    >>> result.summary["outputs"]["nvidia_share"]["years"]["2030"]["p50"]["value"]  # doctest: +SKIP
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .analyze import price_claims, rank_drivers
from .engine import Plan, plan, run_chunks
from .model import market
from .priors import PriorSet, load
from .rng import SeedLike, handle_seed, seed_entropy
from .summarize import summarize

DEFAULT_DRAWS = 100_000
SAVE_DRAWS_LIMIT = 100_000


@dataclass
class RunResult:
    """A finished run: its priors, plan, seed, draws and summaries."""

    priors: PriorSet
    plan: Plan
    seed: int
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    years: np.ndarray
    chunk_sizes: list[int]
    summary: dict = field(default_factory=dict)

    @property
    def command(self) -> str:
        """The one-line command that reproduces this run."""
        parts = ["riskmc", "run", self.priors.path, "--seed", str(self.seed),
                 "--draws", str(self.plan.draws), "--sampler", self.plan.sampler]
        if self.priors.scenario:
            parts += ["--scenario", self.priors.scenario]
        return shlex.join(parts)


def run(priors: str | Path | PriorSet, *, draws: int | None = None, seed: SeedLike = None,
        sampler: str | None = None, workers: int | None = None, scenario: str | None = None,
        allow_unused: bool = False, progress: Callable[[int], None] | None = None) -> RunResult:
    """Sample the priors, evaluate the market model for 2025-2030 and summarise.

    Settings not given come from the file's `[run]` table, then from defaults
    (100,000 draws, plain Monte Carlo, fresh entropy recorded as the seed).
    `workers` changes only the speed, never the numbers.
    """
    ps = priors if isinstance(priors, PriorSet) else load(priors, scenario=scenario,
                                                          allow_unused=allow_unused)
    draws = draws if draws is not None else ps.run.get("draws", DEFAULT_DRAWS)
    sampler = sampler or ps.run.get("sampler", "mc")
    seed = seed if seed is not None else ps.run.get("seed")
    root = handle_seed(seed)
    p = plan(draws, sampler)

    inputs = {i.name: [] for i in market.INPUTS}
    outputs = {o.name: [] for o in market.OUTPUTS}
    sizes = []
    for chunk in run_chunks(ps, market.INPUTS, market.evaluate, root, p, workers, progress):
        sizes.append(p.size(chunk.index))
        for k, v in chunk.inputs.items():
            inputs[k].append(v)
        for k, v in chunk.outputs.items():
            outputs[k].append(v)
    inputs = {k: np.concatenate(v) for k, v in inputs.items()}
    outputs = {k: np.concatenate(v) for k, v in outputs.items()}
    result = RunResult(ps, p, seed_entropy(root), inputs, outputs, market.YEARS, sizes)
    result.summary = _summary(result)
    return result


def write(result: RunResult, out: str | Path, *, save_draws: bool | None = None) -> dict[str, Path]:
    """Write summary.json, draws.parquet (optional) and report.html into `out`.

    `save_draws=None` saves the draws only up to SAVE_DRAWS_LIMIT draws: beyond that the
    file grows by about 1 KB a draw and few readers want it.

    Each file appears under its final name only once complete; the report is written
    last, so its presence means the run's files are all in place.
    """
    from . import io
    from .report import render

    if save_draws is None:
        save_draws = result.plan.draws <= SAVE_DRAWS_LIMIT
    out = io.prepare_dir(out)
    paths = {"summary": out / "summary.json", "report": out / "report.html"}
    frame = io.draws_frame(result.inputs, result.outputs, result.years, result.chunk_sizes)
    io.write_summary(paths["summary"], result.summary)
    if save_draws:
        paths["draws"] = out / "draws.parquet"
        io.write_draws(paths["draws"], frame)
    elif (out / "draws.parquet").exists():
        # A stale draws file from another run would contradict this summary.
        (out / "draws.parquet").unlink()
    io.write_bytes(paths["report"], render(result.summary, frame).encode())
    return paths


def _summary(r: RunResult) -> dict:
    """summary.json's content: metadata, per-output per-year statistics, claims, drivers."""
    ps = r.priors
    outputs = {}
    for spec in market.OUTPUTS:
        arr = r.outputs[spec.name]
        outputs[spec.name] = {
            "label": spec.label, "unit": spec.unit, "headline": spec.headline,
            "years": {str(y): summarize(arr[:, j], r.chunk_sizes, r.plan.sampler)
                      for j, y in enumerate(r.years)},
        }
    inputs = {name: {**_prior_entry(p),
                     "sampled": summarize(r.inputs[name], r.chunk_sizes, r.plan.sampler)}
              for name, p in ps.priors.items()}
    last = len(r.years) - 1
    drivers = {o.name: rank_drivers(r.inputs, r.outputs[o.name][:, last])
               for o in market.OUTPUTS if o.headline}
    return {
        "riskmc_version": __version__,
        "title": ps.title,
        "priors_files": [{"path": f.path, "sha256": f.sha256} for f in ps.files],
        "scenario": ps.scenario,
        "seed": r.seed,
        "draws": r.plan.draws,
        "sampler": r.plan.sampler,
        "chunk_size": r.plan.chunk_size,
        "command": r.command,
        "notes": list(r.plan.notes) + list(ps.warnings),
        "years": [int(y) for y in r.years],
        "outputs": outputs,
        "claims": price_claims(ps.claims, r.outputs, r.years, r.chunk_sizes, r.plan.sampler),
        "drivers": {"method": "spearman", "year": int(r.years[last]), "outputs": drivers},
        "inputs": inputs,
        "correlations": [{"between": [a, b], "spearman": v} for a, b, v in ps.dependence.pairs],
    }


IMPLIED = (0.05, 0.5, 0.95)


def _qkey(p: float) -> str:
    return f"p{round(100 * p):02d}"


def _prior_entry(p) -> dict:
    """A prior as the expert wrote it and as riskmc understood it."""
    fam = p.family
    dist = {"family": fam.name, "text": fam.describe(),
            "params": {k: v for k, v in fam.values.items() if np.isfinite(v)}}
    if fam.name == "metalog":
        dist["probs"], dist["qs"] = list(fam.probs), list(fam.qs)
    return {
        "description": p.description, "unit": p.unit, "source": p.source,
        "owner": p.owner, "reviewed": p.reviewed, "file": p.file, "line": p.line,
        "distribution": dist,
        "stated": {_qkey(k): v for k, v in sorted(p.stated.items())},
        "implied": {_qkey(q): float(v) for q, v in zip(IMPLIED, p.implied(IMPLIED))},
        "fit_error": p.fit_error,
    }
