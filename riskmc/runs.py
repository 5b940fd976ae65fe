"""A finished run, opened again: what every verb that reads a run (ask, compare, export,
report) starts from.

A run is reproducible from its seed, so its draws need not have been saved: they are
re-created chunk by chunk, each chunk from its own stream as the run made it, after
checking that the priors files and the model are the ones the run used (or read from its
draws.parquet). A run with evidence is a weighted sample and is re-created as one:
importance sampling's weights are each draw's likelihood with the largest Pareto-smoothed,
exactly as the run weighed them; a tempered run's posterior is its particles, re-created
from the same seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import OutputError, PriorsError, StaleError
from .model import events
from .priors import PriorSet
from .settings import Plan

# The draws a recorded run's quantile grids are read from (its first whole chunks).
GRID_DRAWS = 2 ** 17


class Reducible(Protocol):
    """What `Run.reduce` merges: an additive reduction, merged in chunk order."""

    def merge(self, other) -> None: ...


@dataclass
class Run:
    """A run's identity (summary, priors, model, seed, plan) and the way back to its
    draws: `reduce` maps a reduction over them, weighted as the run weighed them."""

    summary: dict
    priors: PriorSet
    kernel: object                      # riskmc.kernel.chunks.Kernel, with the evidence's likelihood
    folder: Path | None = None
    _saved: np.ndarray | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, folder: str | Path) -> Run:
        """The run in `folder`: its summary.json read and checked, its priors files and
        model checked unchanged (their SHA-256), its draws.parquet used when saved."""
        from .loading import load
        from .store.io import read_summary
        folder = Path(folder)
        summary = read_summary(folder)
        verify_sources(summary, folder)
        ps = load(summary["priors_files"][0]["path"], scenario=summary["scenario"], allow_unused=True)
        m = ps.model
        if summary["model"].get("sha256") and m.sha256 != summary["model"]["sha256"]:
            raise StaleError(f"model '{m.name}' changed since this run (its SHA-256 differs from summary.json's): "
                              "the run's draws cannot be re-created", file=folder,
                              hint="run again and ask the new run, or restore the model file")
        run = cls.of(summary, _as_recorded(ps, summary), folder)
        if (folder / "draws.parquet").exists():
            run._saved = _saved_rows(summary, folder, m)
        return run

    @classmethod
    def of(cls, summary: dict, priors: PriorSet, folder: Path | None = None) -> Run:
        """A run from its summary and its loaded priors (riskmc.run's result: Run.of(r.summary, r.priors))."""
        from .kernel.engine import Kernel
        from .kernel.streams import handle_seed
        likelihood = None
        if "evidence" in summary and priors.evidence:
            from .kernel.likelihood import Likelihood
            likelihood = Likelihood(list(priors.evidence.values()), priors.model)
        p = Plan(summary["draws"], summary["chunk_size"], summary["sampler"])
        kernel = Kernel(priors, priors.model, handle_seed(summary["seed"]), p, None, likelihood, inputs_rows=True)
        return cls(summary, priors, kernel, Path(folder) if folder is not None else None)

    # ------------------------------------------------------------------ identity
    @property
    def model(self):
        return self.priors.model

    @property
    def plan(self) -> Plan:
        return self.kernel.plan

    @property
    def method(self) -> str | None:
        """How the run weighed its evidence: "importance", "tempered", or None (a prior run)."""
        ev = self.summary.get("evidence")
        return ev["method"] if ev else None

    @property
    def labels(self) -> tuple[str, ...]:
        """Each row of `rows`: outputs as output[year], then the inputs."""
        return self.kernel.labels

    def row(self, output: str, year=None) -> int:
        """The row of `output` in year `year` (None without years) in `rows`."""
        m = self.model
        return m.output_names.index(output) * m.width + (m.years.index(int(year)) if m.years is not None else 0)

    def claim_events(self) -> list:
        """The run's claims as events over its rows, in the priors file's order."""
        return [events.claim_event(c, self.model) for c in self.priors.claims.values()]

    # ------------------------------------------------------------------ the draws
    def rows(self, i: int) -> np.ndarray:
        """Chunk i's rows (outputs by year, then inputs; variables x draws), re-created or
        read from draws.parquet. A re-created chunk lives in this thread's scratch blocks
        until its next chunk."""
        if self._saved is not None:
            a = i * self.plan.chunk_size
            return self._saved[:, a:a + self.plan.size(i)]
        return self.kernel.finite_chunk(i, scratch=True).rows

    def weights(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw importance weights w = likelihood and w^2 of the draws in `rows` (before
        the tail is smoothed): what a pilot sizes its bins by."""
        from .numeric.fused_weighted import weights
        ll = self.kernel.likelihood(rows)
        w, w2 = np.empty_like(ll), np.empty_like(ll)
        weights(ll, w, w2)
        return w, w2

    def reduce(self, fn: Callable[..., Reducible], workers: int) -> Reducible:
        """fn(rows, w, w2, None) over every chunk, merged in chunk order; w and w2 are
        None for a prior run's equally weighted draws. For importance sampling they are
        each draw's weight and its square, and a last part fn(tail_rows, dw, dw2, index)
        moves the largest weights (draws `index`, already counted) to their
        Pareto-smoothed values: the same PSIS weights the run used."""
        from .kernel.engine import map_chunks
        weighted = self.method == "importance"
        p = self.plan

        def one(i: int):
            rows = self.rows(i)
            if not weighted:
                return fn(rows, None, None, None), None, 0
            from .kernel.weighted import Tail, tail_capacity
            ll = self.kernel.likelihood(rows)
            from .numeric.fused_weighted import weights
            w, w2 = np.empty_like(ll), np.empty_like(ll)
            weights(ll, w, w2)
            tail = Tail(tail_capacity(p.draws), len(self.model.inputs))
            k = len(self.model.outputs) * self.model.width
            tail.take(ll, i * p.chunk_size, rows[k:])
            return fn(rows, w, w2, None), tail, int(np.count_nonzero(w))

        total, tail, carrying = None, None, 0
        for red, t, c in map_chunks(one, range(p.n_chunks), workers):
            if total is None:
                total, tail = red, t
            else:
                total.merge(red)
                if t is not None:
                    tail.merge(t)
            carrying += c
        if weighted:
            from .inference.weighted import correction
            fix = correction(tail, p.draws, carrying)
            if fix is not None and np.any(fix.dw != 0):
                total.merge(fn(self.kernel.rows_of(fix.inputs), fix.dw, fix.dw2, fix.index))
        return total

    def posterior_weights(self, workers: int, draws: int | None = None) -> np.ndarray:
        """Each draw's importance weight as the run used it (the largest Pareto-smoothed),
        scaled to a mean of 1: a draw weighs as many draws. With `draws`, only the first
        that many draws' (all are weighed: the smoothing reads every weight)."""
        keep = self.plan.draws if draws is None else min(draws, self.plan.draws)
        got = self.reduce(lambda rows, w, w2, index: _Weights(w, index, keep), workers)
        w = np.concatenate(got.parts)[:keep]
        for index, dw in got.fixes:
            inside = index < keep
            w[index[inside]] += dw[inside]
        return w * (len(w) / w.sum())

    def particles(self, workers: int) -> np.ndarray:
        """A tempered run's posterior: each replicate's final particles, (R, V, n), as the
        run reached them (the same seed, the same stages and moves)."""
        from .inference.smc import Tempering, particles_per_replicate
        sampler = Tempering(self.kernel, self.kernel.root, particles_per_replicate(self.plan.draws), workers)
        for _ in sampler.stages():
            pass
        return sampler.rows

    def quantile_grids(self, levels: np.ndarray, workers: int) -> tuple[dict[str, np.ndarray], float]:
        """Every output-year's and input's quantiles at `levels` (the posterior's with
        evidence: weighted by the run's own PSIS weights, or a tempered run's particles),
        by its label (output[year], or the input's name); and the draws they are worth (the
        effective sample size). From the run's first whole chunks holding GRID_DRAWS draws:
        memory stays bounded, and a grid of 1,000 levels needs no more."""
        labels = list(self.labels)
        k = len(labels)
        if self.method == "tempered":
            rows = self.particles(workers)                      # (R, V, n)
            pooled = rows.transpose(1, 0, 2).reshape(rows.shape[1], -1)[:k]
            return dict(zip(labels, np.quantile(pooled, levels, axis=1).T)), float(pooled.shape[1])
        count = -(-GRID_DRAWS // self.plan.chunk_size)
        rows = np.concatenate(list(self.chunks(lambda i, r: r[:k].copy(), workers, count)), axis=1)
        if self.method != "importance":
            return dict(zip(labels, np.quantile(rows, levels, axis=1).T)), float(rows.shape[1])
        w = self.posterior_weights(workers, rows.shape[1])
        grids = {}
        for label, x in zip(labels, rows):
            order = np.argsort(x, kind="stable")
            cum = (np.cumsum(w[order]) - 0.5 * w[order]) / w.sum()   # each draw at its weight's middle
            grids[label] = np.interp(levels, cum, x[order])
        return grids, float(w.sum() ** 2 / np.sum(w * w))

    def expert_views(self, levels: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        """Each pooled prior's experts' stated views as quantiles at `levels`: prior ->
        expert -> quantiles (what the ledger scores the experts by)."""
        return {name: {x.name: np.asarray(x.family.ppf(np.asarray(levels)), dtype=float) for x in p.experts}
                for name, p in self.priors.priors.items() if p.experts}

    def chunks(self, fn: Callable[[int, np.ndarray], object], workers: int, count: int | None = None) -> Iterator:
        """fn(i, rows) for every chunk i (the first `count`), in order (prior draws, unweighted)."""
        from .kernel.engine import map_chunks
        n = self.plan.n_chunks if count is None else min(count, self.plan.n_chunks)
        return map_chunks(lambda i: fn(i, self.rows(i)), range(n), workers)


class _Weights:
    """Each chunk's weights, in chunk order, up to `keep` draws; and the tail's changes."""

    def __init__(self, w: np.ndarray, index: np.ndarray | None, keep: int) -> None:
        self.parts = [w.copy()] if index is None else []
        self.fixes = [] if index is None else [(index, w.copy())]
        self.keep, self.held = keep, len(w) if index is None else 0

    def merge(self, other: _Weights) -> None:
        if self.held < self.keep:
            self.parts += other.parts
            self.held += sum(len(p) for p in other.parts)
        self.fixes += other.fixes


def _as_recorded(ps: PriorSet, summary: dict) -> PriorSet:
    """Experts weighted by their record, weighted as the run weighted them: the ledger may
    have resolved more since, and the run's draws are re-created from the pool it drew."""
    from dataclasses import replace

    from .priors.families.pool import Pool
    fixed = {}
    for name, p in ps.priors.items():
        if not (p.experts and p.experts[0].record is not None and isinstance(p.family, Pool)):
            continue
        was = summary["inputs"].get(name, {})
        weights = tuple(float(v) for v in was.get("distribution", {}).get("extra", {}).get("weights", ()))
        if len(weights) != len(p.experts) or weights == p.family.weights:
            continue
        shares = {x["name"]: x["weight"] for x in was.get("experts", ())}
        fixed[name] = replace(p, family=replace(p.family, weights=weights),
                              experts=tuple(replace(x, weight=shares.get(x.name, x.weight)) for x in p.experts))
    return replace(ps, priors={**ps.priors, **fixed}) if fixed else ps


def staleness(summary: dict) -> str | None:
    """What changed since the run, or None: its priors files and model file (by SHA-256,
    at the paths it recorded) and riskmc's version."""
    from . import __version__
    files = [(f["path"], f["sha256"]) for f in summary["priors_files"]]
    model = summary["model"]
    if model.get("path") and model.get("sha256"):
        files.append((model["path"], model["sha256"]))
    for path, sha in files:
        try:
            now = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            return f"{path} is gone since the run"
        if now != sha:
            return f"{path} changed since the run"
    if summary["riskmc_version"] != __version__:
        return f"riskmc is {__version__} now, the run was made by {summary['riskmc_version']}"
    return _record_changed(summary)


def _record_changed(summary: dict) -> str | None:
    """For experts weighted by their record: whether the ledger now weighs them otherwise."""
    pooled = [n for n, i in summary["inputs"].items() if any("record" in x for x in i.get("experts") or ())]
    if not pooled:
        return None
    from .errors import RiskmcError
    from .loading import load
    try:
        ps = load(summary["priors_files"][0]["path"], scenario=summary["scenario"], allow_unused=True)
    except RiskmcError as exc:
        return f"the experts' record cannot be read now ({exc.message})"
    for name in pooled:
        was = [x["weight"] for x in summary["inputs"][name]["experts"]]
        now = [x.weight for x in ps.priors[name].experts] if name in ps.priors else []
        if len(now) != len(was) or any(abs(a - b) > 1e-9 for a, b in zip(now, was)):
            return (f"the experts of {name} are weighted by their record, and the ledger weighs them "
                    "otherwise since the run")
    return None


def verify_sources(summary: dict, folder: Path) -> None:
    """Refuse when the priors files differ from those the run used."""
    for f in summary["priors_files"]:
        p = Path(f["path"])
        try:
            sha = hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError:
            raise PriorsError(f"the run's priors file {p} is gone: its draws cannot be re-created",
                              file=folder, hint="run it again, or ask from the folder where it ran") from None
        if sha != f["sha256"]:
            raise StaleError(f"{p} changed since this run (its SHA-256 differs from summary.json's): the run's "
                              "draws cannot be re-created", file=folder,
                              hint="run again and ask the new run, or restore the file")


def _saved_rows(summary: dict, folder: Path, model) -> np.ndarray:
    """draws.parquet as the kernel's rows (outputs by year, then inputs)."""
    from .store.io import output_column, read_draws
    frame = read_draws(folder, summary)
    cols = [output_column(o, y) for o in model.output_names for y in (model.years or [None])]
    cols += list(model.input_names)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise OutputError(f"draws.parquet lacks the column {missing[0]}", file=folder,
                          hint="re-run the command that wrote it")
    return np.vstack([frame[c].to_numpy() for c in cols])
