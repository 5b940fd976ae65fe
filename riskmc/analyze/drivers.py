"""Which priors move an output most: Spearman rank correlations from an ordinary run."""

from __future__ import annotations

import numpy as np
from scipy import stats


def rank_drivers(inputs: dict[str, np.ndarray], y: np.ndarray) -> list[dict]:
    """Spearman correlation of each varying input with `y`, largest magnitude first.

    The standard error is Fieller's approximation sqrt(1.06 / (n - 3)) on Fisher's z.
    """
    n = len(y)
    ry = stats.rankdata(y)
    rows = []
    for name, x in inputs.items():
        if np.ptp(x) == 0:
            continue
        rho = float(np.corrcoef(stats.rankdata(x), ry)[0, 1])
        se = float(np.sqrt(1.06 / (n - 3)) * (1 - rho ** 2)) if n > 3 else float("nan")
        rows.append({"input": name, "spearman": rho, "mcse": se})
    rows.sort(key=lambda r: (-abs(r["spearman"]), r["input"]))
    return rows
