"""A run's chunks: what each one needs (the Kernel: priors, model, seed, plan, claims and
evidence) and how one is made and reduced, from its own stream only.

Chunk i always uses stream i of the run's SeedSequence, so a chunk's draws never depend
on which worker makes it, or when. The pilot chunks fix the histograms' ranges.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import ModelError
from ..model.spec import Model
from ..numeric import blocks
from ..numeric.samplers import sampler
from ..priors import PriorSet
from ..settings import Plan
from .likelihood import Likelihood
from .marginals import Marginals
from .reduce import Binning, ChunkReduction, ChunkSums, sub_blocks
from .streams import chunk_stream
from .weighted import WeightedSums, posterior_binning, tail_capacity


def draw_inputs(priors: PriorSet, specs, u: np.ndarray,
                out: np.ndarray | None = None, marginals: Marginals | None = None) -> dict[str, np.ndarray]:
    """Uniforms (priors x draws) -> inputs: the copula, then each marginal's inverse CDF.

    The inputs are rows of one block (`out`, if given: see blocks). A prior may reach
    past the model's support with negligible probability (the loader checks); such
    draws are clipped back inside. `specs` are the model's inputs, in its order.
    """
    u = priors.dependence.apply(u)
    block = blocks.empty((len(specs), u.shape[1])) if out is None else out
    (marginals or Marginals(priors, specs))(u, block)
    return {spec.name: block[j] for j, spec in enumerate(specs)}


class _Scratch(threading.local):
    """Each worker thread's blocks, reused chunk after chunk.

    Handing the model the same warm blocks every chunk instead of fresh ones measured
    about 2.5 ms faster a chunk (of about 15).
    """

    def block(self, name: str, shape: tuple[int, ...], padded: bool = True) -> np.ndarray:
        store = self.__dict__.setdefault("store", {})
        key = (name, shape)
        if key not in store:
            if len(store) > 8:  # a thread that saw many sizes: start again
                store.clear()
            store[key] = blocks.empty(shape) if padded else np.empty(shape)
        return store[key]


_SCRATCH = _Scratch()


@dataclass(frozen=True)
class Chunk:
    """One chunk's draws: inputs by name, outputs by name (draws x years), and the
    (outputs x years, draws) rows the reductions read."""

    index: int
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    rows: np.ndarray

    def detached(self) -> Chunk:
        """A copy that owns its arrays: a scratch chunk's are overwritten by the next."""
        rows = self.rows.copy()
        width = next(iter(self.outputs.values())).shape[1]
        outs = {k: rows[j * width:(j + 1) * width].T for j, k in enumerate(self.outputs)}
        return Chunk(self.index, {k: v.copy() for k, v in self.inputs.items()}, outs, rows)


@dataclass(frozen=True)
class Kernel:
    """What every chunk needs: the priors, the model they feed, the seed, the plan, the
    claims to count and the evidence to weigh. Every chunk is made from its own stream,
    and every row of every output is reduced: with evidence, the inputs' rows too (the
    posterior moves them) and each draw's weight."""

    priors: PriorSet
    model: Model
    root: np.random.SeedSequence
    plan: Plan
    hits: Callable[[np.ndarray], np.ndarray] | None = None  # output rows -> (claims,) hit counts
    likelihood: Likelihood | None = None                     # rows -> each draw's log-likelihood
    inputs_rows: bool = False                                # reduce the inputs' rows too
    marginals: Marginals = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "marginals", Marginals(self.priors, self.model.inputs))

    @property
    def with_inputs(self) -> bool:
        """Whether the inputs' rows follow the outputs': for evidence, and for events that
        name inputs."""
        return self.likelihood is not None or self.inputs_rows

    @property
    def labels(self) -> tuple[str, ...]:
        """Each row as `output[year]` (then each input's name, when they are rows), for
        messages and summaries."""
        extra = self.model.input_names if self.with_inputs else ()
        return (*self.model.labels(), *extra)

    @property
    def out_shape(self) -> tuple[int, int]:
        return len(self.model.outputs), self.model.width

    @property
    def n_rows(self) -> int:
        """Rows reduced per draw: every output in every year, and with evidence the inputs."""
        k, t = self.out_shape
        return k * t + (len(self.model.inputs) if self.with_inputs else 0)

    @property
    def tail_size(self) -> int:
        """Largest weights a chunk keeps for Pareto smoothing (none without evidence)."""
        return tail_capacity(self.plan.draws) if self.likelihood is not None else 0

    def rows_block(self, n: int, scratch: bool) -> np.ndarray:
        return _SCRATCH.block("rows", (self.n_rows, n)) if scratch else blocks.empty((self.n_rows, n))

    def fill_rows(self, chunk: int, first: int, x: np.ndarray, rows: np.ndarray) -> None:
        """The model on inputs block x into the first rows of `rows`; with evidence the
        inputs follow, copied."""
        k, t = self.out_shape
        self.evaluate(chunk, first, x, rows[:k * t].reshape(k, t, rows.shape[1]))
        if self.with_inputs:
            rows[k * t:] = x

    def chunk(self, i: int, scratch: bool = False) -> Chunk:
        """Everything about chunk i, from its own stream only.

        With `scratch` the chunk lives in this thread's reused blocks, valid until the
        thread's next scratch chunk (`detached()` keeps one).
        """
        block, x = self._inputs(i, scratch)
        n = self.plan.size(i)
        rows = self.rows_block(n, scratch)
        self.fill_rows(i, 0, block, rows)
        k, t = self.out_shape
        y = rows[:k * t].reshape(k, t, n)
        outs = {o.name: y[j].T for j, o in enumerate(self.model.outputs)}
        return Chunk(i, x, outs, rows)

    def finite_chunk(self, i: int, scratch: bool = False) -> Chunk:
        """chunk(i), refused as a ModelError naming the first draw whose outputs are not
        finite: what a run would have said of the same draws."""
        c = self.chunk(i, scratch)
        if not np.isfinite(c.rows).all():
            _check_finite(self, c, c.rows)
        return c

    def _inputs(self, i: int, scratch: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Chunk i's inputs block (inputs x draws) and its rows by name."""
        specs = self.model.inputs
        n, d = self.plan.size(i), len(specs)
        u = sampler(self.plan.sampler).draw(n, d, chunk_stream(self.root, i),
                   out=_SCRATCH.block("u", (d, n), padded=False) if scratch else None)
        block = _SCRATCH.block("x", (d, n)) if scratch else blocks.empty((d, n))
        return block, draw_inputs(self.priors, specs, u, out=block, marginals=self.marginals)

    def evaluate(self, chunk: int, first: int, x: np.ndarray, y: np.ndarray) -> None:
        """The model on inputs block x into outputs block y; a failure of the user's
        function becomes a ModelError naming the first draw it fails on."""
        self.model.guarded_fill(x, y, chunk * self.plan.chunk_size + first)

    def reduce(self, i: int, b: Binning, hist: np.ndarray, batch_means: bool,
               whist: np.ndarray | None = None, chunk: Chunk | None = None) -> ChunkReduction:
        """Reduce chunk i a sub-block at a time: simulated here, so its outputs never leave
        the cache, or read from `chunk` (one kept whole); the same bits either way. With
        evidence the weighted sums go along, their histograms into `whist`."""
        block = self._inputs(i, scratch=True)[0] if chunk is None else None
        acc = ChunkSums(b, len(b.lo), batch_means)
        ws = None
        if self.likelihood is not None:
            ws = WeightedSums(len(b.lo), self.claims, len(b.atom_var), self.tail_size, len(self.model.inputs))
        first = i * self.plan.chunk_size
        for a, e in sub_blocks(self.plan.size(i)):
            if chunk is None:
                rows = self.rows_block(e - a, scratch=True)
                self.fill_rows(i, a, block[:, a:e], rows)
            else:
                rows = chunk.rows[:, a:e]
            acc.add(rows, hist, self.count_hits(rows))
            if ws is not None:
                ll = self.likelihood(rows, _SCRATCH.block("ll", (e - a,), padded=False))
                ws.add(rows, ll, first + a, b.weighted, whist, self.hits)
        red = acc.finish()
        if ws is not None:
            k, t = self.out_shape
            ws.close(first, block if chunk is None else chunk.rows[k * t:])
            red.weighted = ws
        return red

    def rows_of(self, inputs: np.ndarray) -> np.ndarray:
        """Every row (outputs, then inputs) of draws given by their inputs (inputs x draws):
        the model again, for the few draws a posterior's tail needs."""
        x = blocks.empty(inputs.shape)
        x[:] = inputs
        rows = blocks.empty((self.n_rows, inputs.shape[1]))
        self.fill_rows(0, 0, x, rows)
        return rows

    @property
    def claims(self) -> int:
        return len(self.hits.count) if self.hits else 0

    def count_hits(self, rows: np.ndarray) -> np.ndarray:
        """Each claim's hits among the draws of output rows (variables x draws)."""
        return self.hits(rows) if self.hits else np.zeros(0, dtype=np.int64)


def pilot(kernel: Kernel) -> tuple[Binning, dict[int, Chunk]]:
    """The first chunks (plan.pilot_chunks) fix the histogram ranges; they are reduced like
    every other chunk afterwards, from these copies."""
    chunks = {i: kernel.chunk(i) for i in range(kernel.plan.pilot_chunks)}
    parts = []
    for c in chunks.values():
        _check_finite(kernel, c, c.rows)
        parts.append(c.rows)
    x = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
    b = Binning.from_pilot(x)
    if kernel.likelihood is not None:
        b = replace(b, weighted=posterior_binning(b, x, np.exp(kernel.likelihood(x))))
    return b, chunks


def _check_finite(kernel: Kernel, c: Chunk, rows: np.ndarray) -> None:
    """A ModelError naming the first non-finite output of chunk c: output, year, draw, inputs."""
    bad = ~np.isfinite(rows)
    if not bad.any():
        return
    draws = np.flatnonzero(bad.any(axis=0))
    i = int(draws[0])
    v = int(np.flatnonzero(bad[:, i])[0])
    label = kernel.labels[v]
    inputs = ", ".join(f"{k}={float(x[i]):.6g}" for k, x in c.inputs.items())
    draw = c.index * kernel.plan.chunk_size + i
    raise ModelError(f"the model gave {float(rows[v, i])} for {label} at draw {draw:,} "
                     f"({int(draws.size):,} draws of this chunk are not finite); the draw's inputs: {inputs}",
                     file=kernel.model.source,
                     hint="check the model's equations at these inputs, or the priors that reach them")


def check_chunk_finite(kernel: Kernel, i: int) -> None:
    """Re-simulate chunk i, whose sums came back non-finite, to name the first bad draw."""
    c = kernel.chunk(i)
    _check_finite(kernel, c, c.rows)
    raise ModelError(f"the model's outputs in chunk {i} do not sum to a finite number "
                     "(values too large to add up)",
                     hint="state the priors in a larger unit (e.g. $B, not $) so outputs stay moderate")


