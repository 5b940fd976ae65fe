"""The Monte Carlo kernel: a chunk plan, per-chunk streams, workers, and the draws.

Chunk i always uses stream i of the run's SeedSequence, and chunks are gathered in
order, so a run's numbers are bit-identical for any worker count.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .errors import SamplingError
from .model.spec import Input
from .priors import PriorSet
from .rng import chunk_stream
from .sample import SAMPLERS, sample

# Fixed, not tuned to the worker count: results must not depend on it. A power of two
# so every chunk is a whole Sobol block.
CHUNK_SIZE = 2 ** 14


@dataclass(frozen=True)
class Plan:
    """How many draws, in which chunks, from which sampler."""

    draws: int
    chunk_size: int
    sampler: str
    notes: tuple[str, ...] = ()

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.draws / self.chunk_size)

    def size(self, chunk: int) -> int:
        return min(self.chunk_size, self.draws - chunk * self.chunk_size)


def plan(draws: int, sampler: str = "mc", chunk_size: int = CHUNK_SIZE) -> Plan:
    """Validate the run's size and sampler; Sobol rounds up to whole chunks and says so."""
    if sampler not in SAMPLERS:
        raise SamplingError(f"unknown sampler '{sampler}'", hint=f"use one of {', '.join(SAMPLERS)}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise SamplingError(f"draws must be a positive whole number, got {draws!r}")
    notes = ()
    if sampler == "sobol" and draws % chunk_size:
        rounded = math.ceil(draws / chunk_size) * chunk_size
        notes = (f"sobol needs whole blocks of {chunk_size} draws: ran {rounded} draws "
                 f"instead of {draws}",)
        draws = rounded
    return Plan(draws, chunk_size, sampler, notes)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def draw_inputs(priors: PriorSet, specs: tuple[Input, ...], u: np.ndarray) -> dict[str, np.ndarray]:
    """Uniforms (n x priors) -> inputs: the copula first, then each marginal's inverse CDF."""
    u = priors.dependence.apply(u)
    out = {}
    for j, spec in enumerate(specs):
        x = priors.priors[spec.name].family.ppf(u[:, j])
        out[spec.name] = np.clip(x, spec.lower, spec.upper)
    return out


@dataclass(frozen=True)
class Chunk:
    index: int
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]


def simulate_chunk(priors: PriorSet, specs: tuple[Input, ...], evaluate: Callable,
                   root: np.random.SeedSequence, p: Plan, i: int) -> Chunk:
    """Everything about chunk i, from its own stream only."""
    u = sample(p.sampler, p.size(i), len(specs), chunk_stream(root, i))
    x = draw_inputs(priors, specs, u)
    return Chunk(i, x, evaluate(x))


def run_chunks(priors: PriorSet, specs, evaluate, root, p: Plan, workers: int | None = None,
               on_chunk: Callable[[int], None] | None = None):
    """Yield chunks in order, computed on `workers` threads (numpy releases the GIL)."""
    workers = default_workers() if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SamplingError(f"workers must be a positive whole number, got {workers!r}")

    def one(i):
        return simulate_chunk(priors, specs, evaluate, root, p, i)

    if workers == 1:
        for i in range(p.n_chunks):
            c = one(i)
            if on_chunk:
                on_chunk(p.size(i))
            yield c
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Submit a bounded window ahead so memory stays bounded too.
        window = 2 * workers
        futures = [pool.submit(one, i) for i in range(min(window, p.n_chunks))]
        nxt = len(futures)
        for i in range(p.n_chunks):
            c = futures[i].result()
            futures[i] = None
            if nxt < p.n_chunks:
                futures.append(pool.submit(one, nxt))
                nxt += 1
            if on_chunk:
                on_chunk(p.size(i))
            yield c
