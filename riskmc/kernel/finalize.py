"""From a run's merged reductions to its statistics: mean, sd and quantiles, each with its
Monte Carlo error, and the claims' probabilities.

Quantiles are read off the fine histogram's piecewise-linear CDF (atoms as vertical
steps). Their errors: plain Monte Carlo, the order statistics' one-sigma band; LHS and
Sobol, batch means over whole chunks (each an independent randomisation), divided by the
density at the quantile. Both are read over a window of at least DENSITY_DRAWS draws:
over fewer the error bar is itself noisy, and covers less than it says.
"""

from __future__ import annotations

import math

import numpy as np

from ..numeric.samplers import SAMPLERS
from ..results import Estimate, Stats
from .reduce import PROBS, STATS, Binning, Totals

DENSITY_DRAWS = 80


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
             only: list[int] | None = None) -> tuple[dict[str, Stats], list[str]]:
    """Per variable its Stats (mean, sd, p5..p95, each a value and its MCSE); and notes.

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
    reps = None if SAMPLERS[sampler].iid else _replicates(t)
    out = {}
    for j, name in enumerate(names):
        if only is not None and j not in only:
            continue
        edges, cum = _cdf_points(t, b, j)
        res = {"mean": float(mean[j]), "sd": float(sd[j])}
        err = {}
        constant = t.vmin[j] == t.vmax[j]
        for key, p in PROBS.items():
            q = _quantile(edges, cum, p, t.vmin[j], t.vmax[j])
            if not constant and ((cum[0] > 0 and cum[0] >= p) or cum[-1] < p):
                notes.append(f"{name}: {key} lies outside the pilot chunk's range; its value is a bound")
            res[key] = q
        if constant:
            err = dict.fromkeys(STATS, 0.0)
        elif reps is None:
            err["mean"] = float(sd[j] / np.sqrt(n))
            var4 = max(mu4[j] - mu2[j] ** 2, 0.0)
            err["sd"] = float(np.sqrt(var4 / n) / (2 * sd[j])) if sd[j] > 0 else 0.0
            for key in PROBS:
                a, bb = band[key]
                # The order statistics' one-sigma band, read over a window holding at
                # least DENSITY_DRAWS draws and scaled back: the band alone spans ten draws
                # at p95 of 2,048, and its noise made the error bar cover 92% not 95%.
                mid, sigma = (a + bb) / 2, (bb - a) / 2
                h = min(max(sigma, DENSITY_DRAWS / (2 * n)), 0.045, mid, 1 - mid)
                lo = _quantile(edges, cum, mid - h, t.vmin[j], t.vmax[j])
                hi = _quantile(edges, cum, mid + h, t.vmin[j], t.vmax[j])
                err[key] = float((hi - lo) / 2 * (sigma / h)) if h > 0 else 0.0
        else:
            # Batch means: each batch is made of independent randomisations (whole chunks).
            bn, g = reps
            m = c[j] + t.b_sum[g, j] / bn
            v = np.maximum(t.b_sq[g, j] / bn - (t.b_sum[g, j] / bn) ** 2, 0.0) * bn / (bn - 1)
            err["mean"] = _batch_se(m)
            err["sd"] = _batch_se(np.sqrt(v))
            # The density at a quantile, from the histogram over a window of probability
            # holding at least DENSITY_DRAWS draws (1% in a large run): over 1% of a small
            # run's draws its noise (1 / sqrt(draws in the window)) made the MCSE itself
            # too noisy, and a fair error bar covered 90% instead of 95%.
            half = min(max(0.005, DENSITY_DRAWS / (2 * n)), 0.045)
            for i, (key, p) in enumerate(PROBS.items()):
                q = res[key]
                h = max(b.width[j], _quantile(edges, cum, min(p + half, 1), t.vmin[j], t.vmax[j])
                        - _quantile(edges, cum, max(p - half, 0), t.vmin[j], t.vmax[j]))
                dens = (np.interp(q + h / 2, edges, cum) - np.interp(q - h / 2, edges, cum)) / h
                se_f = max(_batch_se(t.b_below[g, j, i] / bn), stratum_floor(t.full, t.chunks))
                err[key] = float(se_f / dens) if dens > 0 else float(b.width[j])
        out[name] = Stats.of(res, err)
    return out, notes


def beta_sd(a: float, b: float) -> float:
    """The sd of Beta(a, b)."""
    return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))


def binomial_se(hits: float, n: float) -> float:
    """A proportion's MCSE from i.i.d. draws: the sd of Beta(hits + 1, n - hits + 1), the
    binomial error for any but the rarest events, and not zero when no draw (or every
    draw) hit."""
    return beta_sd(hits + 1.0, n - hits + 1.0)


def stratum_floor(full: int, chunks: int) -> float:
    """The least batch-means MCSE of a proportion from a stratified sampler. It can count
    exactly as many draws below a level in every batch (an output of one input): its
    error is then below a stratum's width, not zero; that width's sd is 1 / (m sqrt(6))
    per batch of m draws, over `chunks` batches."""
    return 1.0 / (full * math.sqrt(6.0 * chunks))


def _one_sigma_band(n: int, p: float) -> np.ndarray:
    """The central 68% of the order-statistic fraction at level p, Beta(np + 1, n(1 - p) + 1),
    as its mean +- one sd: at +-1 sd the skewness term of the Cornish-Fisher expansion
    vanishes, so this equals the beta's own 16% and 84% quantiles to O(1/n)."""
    a, b = n * p + 1.0, n * (1 - p) + 1.0
    m = a / (a + b)
    sd = beta_sd(a, b)
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


def probabilities(t: Totals, sampler: str) -> list[Estimate]:
    """Each claim's probability and MCSE from its hit counts.

    Plain Monte Carlo: `binomial_se`. LHS and Sobol: batch means over whole chunks, never
    below `stratum_floor`.
    """
    out = []
    reps = None if SAMPLERS[sampler].iid else _replicates(t)
    for i in range(len(t.hits)):
        h = int(t.hits[i])
        p = h / t.n
        if reps is None:
            se = binomial_se(h, t.n)
        else:
            bn, g = reps
            se = max(_batch_se(t.b_hits[g, i] / bn), stratum_floor(t.full, t.chunks))
        out.append(Estimate(float(p), se))
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
