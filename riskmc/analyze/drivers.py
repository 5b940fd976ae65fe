"""Which priors move an output most: Spearman rank correlations from an ordinary run."""

from __future__ import annotations

import numpy as np


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties given their average rank (SciPy's default), in numpy alone."""
    x = np.asarray(x)
    order = np.argsort(x)
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], len(xs)]
    avg = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def rank_drivers(inputs: dict[str, np.ndarray], ys: dict[str, np.ndarray]) -> dict[str, list[dict]]:
    """For each output in `ys`: Spearman correlation of each varying input with it,
    largest magnitude first. Inputs are ranked once for all outputs.

    The standard error is Fieller's approximation sqrt(1.06 / (n - 3)) on Fisher's z,
    carried back to rho (times 1 - rho^2). An output that does not vary, or one of fewer
    than four draws, gets no rows.
    """
    ranked = {name: rankdata(x) for name, x in inputs.items() if np.ptp(x) > 0}
    out = {}
    for yname, y in ys.items():
        n = len(y)
        if n < 4 or not np.ptp(y) > 0:
            # An output that does not vary has no drivers, and three draws rank nothing.
            out[yname] = []
            continue
        ry = rankdata(y)
        rows = []
        for name, rx in ranked.items():
            rho = float(np.corrcoef(rx, ry)[0, 1])
            se = float(np.sqrt(1.06 / (n - 3)) * (1 - rho ** 2))
            rows.append({"input": name, "spearman": rho, "mcse": se})
        rows.sort(key=lambda r: (-abs(r["spearman"]), r["input"]))
        out[yname] = rows
    return out
