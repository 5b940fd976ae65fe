"""Paired errors for the shifts between runs made with common random numbers.

Runs with the same seed, sampler and draws use the same uniforms for draw i, so their
difference varies far less than either run: the error of a shift is the error of the
difference of two estimates made from the same draws. Each estimate is, to first order,
the mean of a per-draw influence function (Hampel 1974; for quantiles Bahadur's
representation):

    mean      x - mean
    sd        ((x - mean)^2 - sd^2) / (2 sd)
    quantile  (p - 1{x <= q}) / f(q)       (f the density at q)
    claim     1{claim holds} - P

times each draw's normalised weight in a run with evidence (n w / sum w). The shift's
variance is that of the difference of the two runs' influences, draw by draw: over the
draws for plain Monte Carlo, over whole chunks (batch means) for LHS and Sobol, whose
chunks are the independent replicates. Draws identical in both runs cancel exactly: an
output the changed priors cannot reach shifts by 0 with an error of 0.

The values are the runs' own (summary.json); only their errors are made here, from the
draws re-created (or read from draws.parquet). Importance weights enter raw: the few
largest, which the runs Pareto-smooth, are not smoothed in the error's estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..kernel.finalize import DENSITY_DRAWS, _cdf_points, _quantile
from ..kernel.reduce import PROBS, Binning

BINS = 2 ** 12


@dataclass(frozen=True)
class Quantity:
    """One compared figure: its rows in each run, and the values each run reported."""

    key: tuple                 # (output, year key, statistic) or ("claim", name)
    rows: tuple[int, int]      # row in run A, row in run B (claims: their index)
    values: tuple[float, float]
    stat: str                  # "mean", "sd", "p5".., or "claim"
    means: tuple[float, float] = (0.0, 0.0)   # for an sd: each run's mean


def common_random_numbers(a: dict, b: dict) -> bool:
    """Whether draw i of both runs comes from the same uniforms."""
    return all(a[k] == b[k] for k in ("seed", "draws", "sampler", "chunk_size"))


def pairable(summary: dict) -> bool:
    """A tempered posterior's particles are not the run's draws: they do not pair."""
    return summary.get("evidence", {}).get("method") != "tempered"


class _Side:
    """One run's part of the pass: its rows, weights, claims' events, histograms."""

    def __init__(self, run, rows_idx: np.ndarray, claims: list) -> None:
        self.run, self.idx, self.claims = run, rows_idx, claims
        self.weighted = run.method == "importance"

    def chunk(self, i: int):
        rows = np.array(self.run.rows(i), copy=True)
        w = self.run.weights(rows)[0] if self.weighted else None
        hits = np.stack([e.mask(rows) for e in self.claims]) if self.claims else np.zeros((0, rows.shape[1]), bool)
        return rows, w, hits


def paired_errors(run_a, run_b, quantities: list[Quantity], claims_a: list, claims_b: list,
                  workers: int = 1) -> dict[tuple, float]:
    """Each quantity's shift (B - A) error from the paired draws: key -> MCSE. `claims_a`
    and `claims_b` are each run's claim events, which a claim quantity's rows index."""
    from ..kernel.engine import map_chunks
    rowq = [q for q in quantities if q.stat != "claim"]
    ordered = rowq + [q for q in quantities if q.stat == "claim"]
    # Each run's rows once (a row's statistics share its draws and its histogram).
    uniq = [sorted({q.rows[k] for q in rowq}) for k in (0, 1)]
    at = [np.array([uniq[k].index(q.rows[k]) for q in rowq], dtype=np.intp) for k in (0, 1)]
    sides = [_Side(run, np.array(uniq[k], dtype=np.intp), claims)
             for k, (run, claims) in enumerate(((run_a, claims_a), (run_b, claims_b)))]
    # Each run's bins for its densities, from its first chunk.
    bins = []
    for s in sides:
        b = Binning.from_pilot(s.chunk(0)[0][s.idx])
        bins.append(Binning(lo=b.lo, width=b.width * (b.bins / BINS), center=b.center, pilot_q=b.pilot_q,
                            atom_var=np.zeros(0, dtype=np.intp), atom_val=np.zeros(0), bins=BINS))
    plan = run_a.plan

    def one(i: int):
        # Quantity by quantity, both runs' influences side by side: a chunk holds two
        # rows of influences at a time, not one per quantity.
        data = [s.chunk(i) for s in sides]
        xs = [rows[s.idx] for (rows, _, _), s in zip(data, sides)]
        sums = np.empty((5, len(ordered)))
        for j, q in enumerate(ordered):
            g = []
            for k, (_, w, hits) in enumerate(data):
                v = _influence(q, xs[k][at[k][j]], k) if q.stat != "claim" else hits[q.rows[k]] - q.values[k]
                g.append(v if w is None else v * w)
            ga, gb = g
            sums[:, j] = (ga.sum(), gb.sum(), np.einsum("i,i->", ga, ga), np.einsum("i,i->", gb, gb),
                          np.einsum("i,i->", ga, gb))
        n = float(xs[0].shape[1])
        ws = [(float(w.sum()), float((w * w).sum())) if w is not None else (n, n) for _, w, _ in data]
        return _Part(*sums, tuple(_histogram(x, b, w) for x, b, (_, w, _) in zip(xs, bins, data)),
                     (ws[0][0], ws[1][0]), (ws[0][1], ws[1][1]), xs[0].shape[1])

    # Chunks folded in as they come, in chunk order (the sums' bits as before): only the
    # totals and each whole chunk's two sums stay, so memory does not grow with the draws.
    n, w, w2, hist, sums, full = 0, [0, 0], [0, 0], [0, 0], {"aa": 0, "bb": 0, "ab": 0}, []
    for c in map_chunks(one, range(plan.n_chunks), workers):
        n += c.n
        for k in (0, 1):
            w[k] += c.w[k]
            w2[k] += c.w2[k]
            hist[k] = hist[k] + c.hist[k]
        for a in sums:
            sums[a] = sums[a] + getattr(c, a)
        if plan.batch_means and c.n == plan.chunk_size:
            full.append((c.a, c.b, c.n))
    # Each influence's scale: n / W (normalised weights), over the density for a quantile.
    scale = np.ones((2, len(ordered)))
    for k in (0, 1):
        ess = w[k] * w[k] / w2[k]
        scale[k] *= n / w[k]
        for j, q in enumerate(rowq):
            if q.stat in PROBS:
                f = _density(hist[k][at[k][j]], bins[k], int(at[k][j]), PROBS[q.stat], ess)
                scale[k, j] = scale[k, j] / f if math.isfinite(f) and f > 0 else 0.0
    ka, kb = scale
    if not plan.batch_means:
        var = (kb * kb * sums["bb"] + ka * ka * sums["aa"] - 2 * ka * kb * sums["ab"]) / (n * n)
    else:
        d = np.array([(kb * b - ka * a) / m for a, b, m in full])   # each chunk's own shift
        var = np.var(d, axis=0, ddof=1) / len(full)
    return {q.key: float(math.sqrt(max(var[j], 0.0))) for j, q in enumerate(ordered)}


@dataclass(frozen=True)
class _Part:
    """One chunk's sums for both runs: influences (a, b), their squares and products,
    histograms, weights and squared weights, draws."""

    a: np.ndarray
    b: np.ndarray
    aa: np.ndarray
    bb: np.ndarray
    ab: np.ndarray
    hist: tuple
    w: tuple
    w2: tuple
    n: int


def _influence(q: Quantity, v: np.ndarray, side: int) -> np.ndarray:
    """The per-draw influence of quantity q in one run, up to the density of a quantile."""
    value = q.values[side]
    if q.stat == "mean":
        return v - value
    if q.stat == "sd":
        mean, sd = q.means[side], value
        return ((v - mean) ** 2 - sd * sd) / (2 * sd) if sd > 0 else np.zeros_like(v)
    p = PROBS[q.stat]
    return p - (v <= value)


def _histogram(x: np.ndarray, b: Binning, w: np.ndarray | None) -> np.ndarray:
    """(Weighted) counts of each row in the bins (under- and overflow at the ends)."""
    v, n = x.shape
    k = np.floor((x - b.lo[:, None]) * b.inv_width[:, None])
    k = np.clip(np.nan_to_num(k, nan=-1.0), -1, b.bins).astype(np.int64) + 1
    flat = (k + (b.bins + 2) * np.arange(v)[:, None]).ravel()
    weights = None if w is None else np.broadcast_to(w, (v, n)).ravel()
    return np.bincount(flat, weights=weights, minlength=v * (b.bins + 2)).reshape(v, b.bins + 2).astype(float)


class _Counts:
    def __init__(self, hist: np.ndarray) -> None:
        self.hist = hist[None, :]
        self.atoms = None
        self.n = float(hist.sum())


def _density(hist: np.ndarray, b: Binning, j: int, p: float, n: float) -> float:
    """The density at quantile q (level p) from a histogram: the probability of a window
    about p holding at least DENSITY_DRAWS draws (as the runs read their quantiles'
    errors, riskmc.kernel.finalize), over the width it spans. An atom at q: infinite (a
    quantile on an atom does not move with the draws)."""
    one = Binning(lo=b.lo[j:j + 1], width=b.width[j:j + 1], center=b.center[j:j + 1], pilot_q=b.pilot_q[j:j + 1],
                  atom_var=np.zeros(0, dtype=np.intp), atom_val=np.zeros(0), bins=b.bins)
    edges, cum = _cdf_points(_Counts(hist), one, 0)
    sigma = math.sqrt(p * (1 - p) / max(n, 1.0))
    h = min(max(sigma, DENSITY_DRAWS / (2 * max(n, 1.0))), 0.045, p, 1 - p)
    lo = _quantile(edges, cum, p - h, -math.inf, math.inf)
    hi = _quantile(edges, cum, p + h, -math.inf, math.inf)
    return 2 * h / (hi - lo) if hi > lo else math.inf
