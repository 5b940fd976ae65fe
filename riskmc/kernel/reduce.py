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
import math
from dataclasses import dataclass

import numpy as np

from ..numeric.fused import count_below, reduce_block

PROBS = {"p5": 0.05, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p95": 0.95}
STATS = ("mean", "sd", *PROBS)
BINS = 2 ** 13
# Draws reduced at a time: 84 outputs x 4096 draws stay in a core's L2 cache. Two
# workers each streaming whole 16,384-draw chunks through L3 slowed each other by ~20%.
SUB_BLOCK = 2 ** 12
MAX_ATOMS = 4       # per variable
ATOM_SHARE = 0.002  # a value holding this share of the pilot's draws is an atom
_PLEVELS = np.array(list(PROBS.values()))
DENSITY_DRAWS = 80


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
                     np.empty(x.shape[1], dtype=np.int64))  # the bins' scratch
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


# ----------------------------------------------------------------------------- finalize
def _cdf_points(t: Totals, b: Binning, j: int):
    """The CDF of variable j as knots (x, F): bin edges, plus a vertical step at each atom.

    Draws in a bin are spread evenly across it, except those exactly at an atom;
    under- and overflow are folded into the first and last edge.
    """
    counts = t.hist[j].astype(float)
    nb = t.hist.shape[1] - 2
    edges = b.lo[j] + b.width[j] * np.arange(nb + 1)
    cum = np.concatenate([[counts[0]], counts[0] + np.cumsum(counts[1:-1])])
    sel = np.flatnonzero(b.atom_var == j)
    if len(sel) and t.atoms is not None:
        xs, fs = list(edges), list(cum)
        inserts = []
        for a, m in zip(b.atom_val[sel], t.atoms[sel]):
            k = int(np.clip((a - b.lo[j]) // b.width[j], 0, nb - 1))
            if not edges[k] <= a <= edges[k + 1] or m == 0:
                continue
            inserts.append((k, a, m))
        for k in sorted({k for k, _, _ in inserts}):
            here = sorted((a, m) for kk, a, m in inserts if kk == k)
            total = cum[k + 1] - cum[k]
            cont = total - sum(m for _, m in here)
            before = 0.0
            for a, m in here:
                f_left = cum[k] + cont * (a - edges[k]) / b.width[j] + before
                xs += [a, a]
                fs += [f_left, f_left + m]
                before += m
        order = np.lexsort((np.asarray(fs), np.asarray(xs)))
        edges, cum = np.asarray(xs)[order], np.asarray(fs)[order]
    return edges, cum / t.n


def _quantile(edges, cum, p, vmin, vmax) -> float:
    """Invert the piecewise-linear CDF; clamp to the observed range."""
    if vmin == vmax:
        return float(vmin)
    # Called thousands of times per run: the array's own method and Python's min/max on
    # scalars, not numpy's function wrappers (the same bits, a fifth of the time).
    k = int(np.asarray(cum).searchsorted(p, side="left"))
    if k == 0:
        # In the underflow: below the pilot's range (flagged by the caller).
        return float(max(vmin, edges[0]) if cum[0] >= p else edges[0])
    if k >= len(cum):
        return float(min(vmax, edges[-1]))
    c0, c1 = cum[k - 1], cum[k]
    frac = 0.0 if c1 == c0 else (p - c0) / (c1 - c0)
    return float(min(max(edges[k - 1] + frac * (edges[k] - edges[k - 1]), vmin), vmax))


def finalize(t: Totals, b: Binning, sampler: str, names: list[str],
             only: list[int] | None = None) -> tuple[dict, list[str]]:
    """Per variable: {"mean", "sd", "p5".."p95"} each as {"value", "mcse"}; and notes.

    `only` limits the work to those variable indices (running snapshots of a few).
    """
    n = t.n
    notes = []
    c = b.center
    m1 = t.sums[0] / n
    mean = c + m1
    mu2 = np.maximum(t.sums[1] / n - m1 ** 2, 0.0)
    # The fourth moment about the centre, not the mean: the centre is the pilot's mean,
    # so the difference is O(MCSE^2) and only enters the sd's MCSE.
    mu4 = t.sums[2] / n
    sd = np.sqrt(mu2 * n / max(n - 1, 1))
    # The order statistics' one-sigma band for each level: the same for every variable.
    band = {key: _one_sigma_band(n, p) for key, p in PROBS.items()}
    reps = _replicates(t) if sampler != "mc" else None
    out = {}
    for j, name in enumerate(names):
        if only is not None and j not in only:
            continue
        edges, cum = _cdf_points(t, b, j)
        res = {"mean": {"value": float(mean[j])}, "sd": {"value": float(sd[j])}}
        constant = t.vmin[j] == t.vmax[j]
        for key, p in PROBS.items():
            q = _quantile(edges, cum, p, t.vmin[j], t.vmax[j])
            if not constant and ((cum[0] > 0 and cum[0] >= p) or cum[-1] < p):
                notes.append(f"{name}: {key} lies outside the pilot chunk's range; its value is a bound")
            res[key] = {"value": q}
        if constant:
            for key in STATS:
                res[key]["mcse"] = 0.0
        elif reps is None:
            res["mean"]["mcse"] = float(sd[j] / np.sqrt(n))
            var4 = max(mu4[j] - mu2[j] ** 2, 0.0)
            res["sd"]["mcse"] = float(np.sqrt(var4 / n) / (2 * sd[j])) if sd[j] > 0 else 0.0
            for key in PROBS:
                a, bb = band[key]
                # The order statistics' one-sigma band, read over a window holding at
                # least DENSITY_DRAWS draws and scaled back: the band alone spans ten draws
                # at p95 of 2,048, and its noise made the error bar cover 92% not 95%.
                mid, sigma = (a + bb) / 2, (bb - a) / 2
                h = min(max(sigma, DENSITY_DRAWS / (2 * n)), 0.045, mid, 1 - mid)
                lo = _quantile(edges, cum, mid - h, t.vmin[j], t.vmax[j])
                hi = _quantile(edges, cum, mid + h, t.vmin[j], t.vmax[j])
                res[key]["mcse"] = float((hi - lo) / 2 * (sigma / h)) if h > 0 else 0.0
        else:
            # Batch means: each batch is made of independent randomisations (whole chunks).
            bn, g = reps
            m = c[j] + t.b_sum[g, j] / bn
            v = np.maximum(t.b_sq[g, j] / bn - (t.b_sum[g, j] / bn) ** 2, 0.0) * bn / (bn - 1)
            res["mean"]["mcse"] = _batch_se(m)
            res["sd"]["mcse"] = _batch_se(np.sqrt(v))
            # The density at a quantile, from the histogram over a window of probability
            # holding at least DENSITY_DRAWS draws (1% in a large run): over 1% of a small
            # run's draws its noise (1 / sqrt(draws in the window)) made the MCSE itself
            # too noisy, and a fair error bar covered 90% instead of 95%.
            half = min(max(0.005, DENSITY_DRAWS / (2 * n)), 0.045)
            for i, (key, p) in enumerate(PROBS.items()):
                q = res[key]["value"]
                h = max(b.width[j], _quantile(edges, cum, min(p + half, 1), t.vmin[j], t.vmax[j])
                        - _quantile(edges, cum, max(p - half, 0), t.vmin[j], t.vmax[j]))
                dens = (np.interp(q + h / 2, edges, cum) - np.interp(q - h / 2, edges, cum)) / h
                # A stratified sample can count exactly as many draws below a level in every
                # batch (an output of one input): its error is then below a stratum's width,
                # not zero. The floor is that width's sd, 1 / (m sqrt(6)) per batch of m draws.
                floor = 1.0 / (t.full * np.sqrt(6.0 * t.chunks))
                se_f = max(_batch_se(t.b_below[g, j, i] / bn), floor)
                res[key]["mcse"] = float(se_f / dens) if dens > 0 else float(b.width[j])
        out[name] = res
    return out, notes


def _one_sigma_band(n: int, p: float) -> np.ndarray:
    """The central 68% of the order-statistic fraction at level p, Beta(np + 1, n(1 - p) + 1),
    as its mean +- one sd: at +-1 sd the skewness term of the Cornish-Fisher expansion
    vanishes, so this equals the beta's own 16% and 84% quantiles to O(1/n)."""
    a, b = n * p + 1.0, n * (1 - p) + 1.0
    m = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    return np.array([m - sd, m + sd])


def _replicates(t: Totals) -> tuple[np.ndarray, np.ndarray]:
    """The batches of whole chunks (draws per batch, their indices): independent replicates."""
    g = t.batches()
    if len(g) < 2:
        raise ValueError("batch-means MCSE needs at least two whole batches")  # the plan prevents it
    return t.b_n[g].astype(float), g


def _batch_se(values: np.ndarray) -> float:
    """The standard error of the mean of independent replicate estimates."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values)))


def probabilities(t: Totals, sampler: str) -> list[dict[str, float]]:
    """Each claim's probability and MCSE from its hit counts.

    Plain Monte Carlo: the sd of Beta(hits + 1, misses + 1), the binomial error for any
    but the rarest events, and not zero when no draw (or every draw) hit. LHS and Sobol:
    batch means over whole chunks.
    """
    out = []
    reps = _replicates(t) if sampler != "mc" else None
    for i in range(len(t.hits)):
        h = int(t.hits[i])
        p = h / t.n
        if reps is None:
            a, bb = h + 1.0, t.n - h + 1.0
            se = float(np.sqrt(a * bb / ((a + bb) ** 2 * (a + bb + 1))))
        else:
            bn, g = reps
            se = max(_batch_se(t.b_hits[g, i] / bn), 1.0 / (t.full * np.sqrt(6.0 * t.chunks)))
        out.append({"value": float(p), "mcse": se})
    return out


def display_histogram(t: Totals, b: Binning, j: int, bins: int = 60) -> dict:
    """A coarse histogram of variable j for pictures, over its 0.5%-99.5% quantiles."""
    edges, cum = _cdf_points(t, b, j)
    lo = _quantile(edges, cum, 0.005, t.vmin[j], t.vmax[j])
    hi = _quantile(edges, cum, 0.995, t.vmin[j], t.vmax[j])
    if hi <= lo:
        hi = lo + max(abs(lo), 1.0) * 1e-6
    grid = np.linspace(lo, hi, bins + 1)
    mass = np.diff(np.interp(grid, edges, cum))
    cdf = np.interp(grid, edges, cum)
    return {"edges": [float(e) for e in grid], "density": [float(m / (grid[1] - grid[0])) for m in mass],
            "cdf": [float(c) for c in cdf]}
