"""Per-chunk reductions: what a run keeps instead of its draws, so memory stays bounded.

For each tracked variable (every output in every year) a chunk contributes:
  - power sums of (x - c) for k = 1, 2, 4 about a centre c fixed by the pilot chunk,
    which merge by addition and give the mean, the sd and their MCSE;
  - counts in a fine histogram over a range fixed by the pilot chunk; integer counts
    merge exactly in any order, and the quantiles interpolated from 2^13 bins are
    within a small fraction of their MCSE (tests/test_reduce.py checks against
    numpy's exact quantiles);
  - for Latin hypercube and Sobol runs (not independent within a chunk, independent
    across chunks), sums and counts below each pilot quantile per batch of whole chunks,
    for batch-means MCSE.
Floating-point sums are added in chunk order, so results do not depend on how chunks
were spread over workers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..numeric.fused import count_below, reduce_block
from ..results import QUANTILES, STATISTICS

PROBS = QUANTILES
STATS = STATISTICS
BINS = 2 ** 13
# Draws reduced at a time: 84 outputs x 4096 draws stay in a core's L2 cache. Two
# workers each streaming whole 16,384-draw chunks through L3 slowed each other by ~20%.
SUB_BLOCK = 2 ** 12
MAX_ATOMS = 4       # per variable
ATOM_SHARE = 0.002  # a value holding this share of the pilot's draws is an atom
_PLEVELS = np.array(list(PROBS.values()))


@dataclass(frozen=True)
class Binning:
    """Histogram ranges and moment centres for V variables, fixed by the pilot chunk."""

    lo: np.ndarray        # (V,)
    width: np.ndarray     # (V,) bin width
    center: np.ndarray    # (V,)
    pilot_q: np.ndarray   # (V, 5) pilot quantiles at PROBS
    atom_var: np.ndarray  # (A,) variable of each atom
    atom_val: np.ndarray  # (A,) its value
    bins: int = BINS
    weighted: Binning | None = None  # the posterior's, with evidence (riskmc.inference.weighted)

    @functools.cached_property
    def inv_width(self) -> np.ndarray:
        """1 / width, worked out once rather than for every sub-block."""
        return 1.0 / self.width

    @classmethod
    def from_pilot(cls, x: np.ndarray) -> Binning:
        """x: (V, n) pilot draws. The range spans the pilot's 0.1%-99.9% quantiles, doubled.

        Values the pilot repeats often are atoms (a GPU price index of exactly 1 before the
        peak, a bound a model clips to): they are counted exactly, so a quantile that
        falls on one is that value, not an interpolation across its bin.
        """
        xs = np.sort(x, axis=1)  # one sort gives every quantile and every run of ties
        n = xs.shape[1]
        qlo, qhi = _sorted_quantiles(xs, [0.001, 0.999]).T
        span = qhi - qlo
        scale = np.maximum(np.abs(qlo), np.abs(qhi))
        span = np.where(span > 0, span, np.maximum(scale, 1.0) * 1e-9)
        lo = qlo - span
        width = 3 * span / BINS
        atom_var, atom_val = [], []
        for j in range(xs.shape[0]):
            starts = np.flatnonzero(np.r_[True, xs[j, 1:] != xs[j, :-1]])
            counts = np.diff(np.r_[starts, n])
            big = np.argsort(-counts, kind="stable")[:MAX_ATOMS]
            for k in sorted(big[counts[big] >= max(5, ATOM_SHARE * n)]):
                atom_var.append(j)
                atom_val.append(xs[j, starts[k]])
        return cls(lo=lo, width=width, center=x.mean(axis=1),
                   pilot_q=_sorted_quantiles(xs, _PLEVELS),
                   atom_var=np.array(atom_var, dtype=np.intp), atom_val=np.array(atom_val, dtype=float))


def _sorted_quantiles(xs: np.ndarray, probs) -> np.ndarray:
    """(V, len(probs)) quantiles of rows already sorted: numpy's default (linear) method."""
    pos = np.asarray(probs, dtype=float) * (xs.shape[1] - 1)
    i = np.floor(pos).astype(np.intp)
    j = np.minimum(i + 1, xs.shape[1] - 1)
    t = pos - i
    a, b = xs[:, i], xs[:, j]
    return a + (b - a) * t


# Batch means (LHS, Sobol) keep per-batch sums for at most this many batches: when a
# run outgrows it, neighbouring batches merge pairwise, so memory stays bounded.
MAX_BATCHES = 1024


@dataclass
class Totals:
    """Everything merged so far: additive, so a run can stop, check and go on."""

    v: int
    c: int = 0                       # claims
    batch_means: bool = False        # LHS and Sobol: keep per-batch sums for their MCSE
    n: int = 0
    chunks: int = 0                  # chunks merged
    full: int = 0                    # size of a whole chunk (the first one's)
    sums: np.ndarray = None          # (3, V) sums of d, d^2, d^4 with d = x - centre
    hist: np.ndarray = None          # (V, BINS + 2) with under- and overflow
    vmin: np.ndarray = None
    vmax: np.ndarray = None
    hits: np.ndarray = None          # (C,) claim hits
    atoms: np.ndarray = None         # (A,) draws exactly at each atom
    # Per batch of `per` consecutive whole chunks (each chunk an independent randomisation):
    # draws, sums of d and d^2, draws below each pilot quantile, claim hits.
    per: int = 1
    b_n: np.ndarray = None           # (MAX_BATCHES,)
    b_sum: np.ndarray = None         # (MAX_BATCHES, V)
    b_sq: np.ndarray = None          # (MAX_BATCHES, V)
    b_below: np.ndarray = None       # (MAX_BATCHES, V, 5)
    b_hits: np.ndarray = None        # (MAX_BATCHES, C)
    b_chunks: np.ndarray = None      # (MAX_BATCHES,) whole chunks in each batch
    weighted: object = None          # riskmc.inference.weighted.WeightedSums, with evidence

    def __post_init__(self):
        self.sums = np.zeros((3, self.v))
        self.hist = np.zeros((self.v, BINS + 2), dtype=np.int64)
        self.vmin = np.full(self.v, np.inf)
        self.vmax = np.full(self.v, -np.inf)
        self.hits = np.zeros(self.c, dtype=np.int64)
        if self.batch_means:
            self.b_n = np.zeros(MAX_BATCHES, dtype=np.int64)
            self.b_sum = np.zeros((MAX_BATCHES, self.v))
            self.b_sq = np.zeros((MAX_BATCHES, self.v))
            self.b_below = np.zeros((MAX_BATCHES, self.v, len(PROBS)), dtype=np.int64)
            self.b_hits = np.zeros((MAX_BATCHES, self.c), dtype=np.int64)
            self.b_chunks = np.zeros(MAX_BATCHES, dtype=np.int64)

    def _halve(self) -> None:
        """Merge neighbouring batches pairwise: exact, since every field is a sum."""
        for a in (self.b_n, self.b_sum, self.b_sq, self.b_below, self.b_hits, self.b_chunks):
            half = a[0::2] + a[1::2]
            a[:] = 0
            a[: len(half)] = half
        self.per *= 2

    def batches(self) -> np.ndarray:
        """Indices of the batches made of `per` whole chunks: the independent replicates."""
        k = self.chunks // self.per
        return np.flatnonzero(self.b_chunks[:k] == self.per)


@dataclass
class ChunkReduction:
    """One chunk's contribution (its histogram may already be summed with its batch's)."""

    n: int
    sums: np.ndarray
    vmin: np.ndarray
    vmax: np.ndarray
    below: np.ndarray | None  # only for batch-means MCSE
    hits: np.ndarray
    atoms: np.ndarray
    weighted: object = None  # riskmc.inference.weighted.WeightedSums, with evidence


class ChunkSums:
    """One chunk's reduction, built a sub-block of draws at a time, always in the same
    sub-blocks: a chunk reduced whole (`reduce_chunk`) and one simulated a sub-block at
    a time (the kernel's fast path) give the same bits."""

    def __init__(self, b: Binning, v: int, batch_means: bool) -> None:
        self.b = b
        self.n = 0
        self.sums = np.zeros((3, v))
        self.vmin = np.full(v, np.inf)
        self.vmax = np.full(v, -np.inf)
        self.atoms = np.zeros(len(b.atom_var), dtype=np.int64)
        self.below = np.zeros(b.pilot_q.shape, dtype=np.int64) if batch_means else None
        self.hits = None

    def add(self, x: np.ndarray, hist: np.ndarray, hits: np.ndarray | None = None) -> None:
        """Add a sub-block x (V, m) and its claim hits; histogram counts go into `hist`."""
        b = self.b
        reduce_block(x, b.lo, b.inv_width, b.center, BINS, b.atom_var, b.atom_val,
                     hist, self.sums, self.vmin, self.vmax, self.atoms,
                     np.empty(x.shape[1], dtype=np.int32))  # the bins' scratch
        if self.below is not None:
            count_below(x, b.pilot_q, self.below)
        self.n += x.shape[1]
        if hits is not None:
            self.hits = hits if self.hits is None else self.hits + hits

    def finish(self) -> ChunkReduction:
        return ChunkReduction(n=self.n, sums=self.sums, vmin=self.vmin, vmax=self.vmax,
                              below=self.below, hits=self.hits, atoms=self.atoms)


def sub_blocks(n: int) -> list[tuple[int, int]]:
    """The fixed sub-blocks [a, e) a chunk of n draws is reduced in."""
    return [(a, min(a + SUB_BLOCK, n)) for a in range(0, n, SUB_BLOCK)]


def reduce_chunk(x: np.ndarray, b: Binning, hist: np.ndarray, hits: np.ndarray,
                 batch_means: bool) -> ChunkReduction:
    """Reduce one chunk x (V, n); its histogram counts are added into `hist` in place.

    `batch_means` also counts draws below each pilot quantile (for LHS and Sobol MCSE).
    """
    acc = ChunkSums(b, x.shape[0], batch_means)
    for a, e in sub_blocks(x.shape[1]):
        acc.add(x[:, a:e], hist, hits if a == 0 else None)
    return acc.finish()


def merge(t: Totals, r: ChunkReduction) -> None:
    """Add the next chunk's reduction, in chunk order (histograms are added separately)."""
    i = t.chunks
    if i == 0:
        t.full = r.n
    t.n += r.n
    t.chunks += 1
    t.sums += r.sums
    np.minimum(t.vmin, r.vmin, out=t.vmin)
    np.maximum(t.vmax, r.vmax, out=t.vmax)
    if r.hits is not None and len(r.hits):
        t.hits += r.hits
    t.atoms = r.atoms.astype(np.int64) if t.atoms is None else t.atoms + r.atoms
    if r.weighted is not None:
        t.weighted.merge(r.weighted)
    if t.batch_means:
        if i // t.per >= MAX_BATCHES:
            t._halve()
        g = i // t.per
        t.b_n[g] += r.n
        t.b_sum[g] += r.sums[0]
        t.b_sq[g] += r.sums[1]
        t.b_below[g] += r.below
        if r.hits is not None and len(r.hits):
            t.b_hits[g] += r.hits
        t.b_chunks[g] += r.n == t.full
