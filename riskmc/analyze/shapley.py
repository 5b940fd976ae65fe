"""Shapley effects from given draws: each input's fair share of an output's variance,
correlated inputs included (Owen 2014; Song, Nelson and Staum 2016).

The game's value of a set u of inputs is c(u) = Var(E[Y | X_u]) = Var(Y) - E[Var(Y | X_u)];
input i's Shapley effect is the average, over the orders in which inputs could join, of
what it adds: sum over u without i of |u|! (p - |u| - 1)! / p! (c(u + i) - c(u)). Effects
sum to c(all) = Var(Y), and a correlated input that the model never reads still earns a
share through the inputs it moves with. E[Var(Y | X_u)] is the nearest-neighbour
given-data estimator of Broto, Bachoc and Depecker (2020, SIAM/ASA J. Uncertainty
Quantification 8(2)): for each draw, the variance of Y over its NEIGHBOURS nearest draws in
the ranks of X_u; no model runs beyond the draws'. The interval is a bootstrap over
blocks of draws of those per-draw variances.

Every subset of the players is valued (2^p nearest-neighbour searches), so the players are
every varying input when there are at most MAX_PLAYERS, else the inputs of largest index
(total Sobol indices from the Saltelli design, else the first-order indices reported beside
the effects, both riskmc.analyze.sensitivity's) with every input correlated to one of
them. When the inputs left out have total indices summing below SCREEN the output is taken
as a function of the players (c(players) = Var(Y)); otherwise c(players) is estimated too,
the effects sum to it, and the share left to the other inputs is said (it also holds the
estimator's bias, which grows with the players' number).
"""

from __future__ import annotations

import math
from collections import namedtuple
from itertools import combinations

import numpy as np

NEIGHBOURS = 3
MAX_PLAYERS = 5
BOOTSTRAP = 200
SCREEN = 0.005         # a first-order share below this does not make an input a player
_Alone = namedtuple("_Alone", "members")   # one input as a factor of first_order_given


def local_variance(cols: np.ndarray, y: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Per draw, the variance of y (targets x draws) over the draw and its NEIGHBOURS - 1
    nearest draws in `cols` (draws x dims, ranks): E[Var(Y | X)] is its mean. One
    dimension is a sort (`order`, if known: neighbours are adjacent); more, a k-d tree."""
    n = cols.shape[0]
    if cols.shape[1] == 1:
        order = np.argsort(cols[:, 0], kind="stable") if order is None else order
        ys = y[:, order]
        # Windows of NEIGHBOURS consecutive sorted draws, centred where they can be.
        start = np.clip(np.arange(n) - NEIGHBOURS // 2, 0, n - NEIGHBOURS)
        parts = [ys[:, start + j] for j in range(NEIGHBOURS)]
        mean = sum(parts) / NEIGHBOURS
        out = np.empty((len(y), n))
        out[:, order] = sum((p - mean) ** 2 for p in parts) / (NEIGHBOURS - 1)
        return out
    from scipy.spatial import cKDTree
    _, idx = cKDTree(cols).query(cols, k=NEIGHBOURS, workers=-1)
    return y[:, idx].var(axis=2, ddof=1)


BLOCKS = 64  # the bootstrap resamples blocks of consecutive (independent) draws


def _resamples(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Each draw's block, and the blocks' counts in the draws as drawn (a column of ones)
    and in BOOTSTRAP resamples of the blocks (blocks x (1 + BOOTSTRAP))."""
    block = np.arange(n) * BLOCKS // n
    m = int(block[-1]) + 1
    counts = np.column_stack([np.ones(m)] + [np.bincount(rng.integers(0, m, m), minlength=m)
                                              for _ in range(BOOTSTRAP)]).astype(float)
    return block, counts


def _means(v: np.ndarray, block: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The mean of each row of v (rows x draws) in the draws as drawn and in each resample."""
    sums = np.stack([np.bincount(block, weights=row) for row in v])      # rows x blocks
    sizes = np.bincount(block).astype(float)
    return (sums @ counts) / (sizes @ counts)


def ranks(x: np.ndarray) -> np.ndarray:
    """Each draw's rank over the draws, in (0, 1): the scale nearest neighbours are found on."""
    return np.argsort(np.argsort(x, kind="stable"), kind="stable") / len(x)


def players_of(inputs: dict[str, np.ndarray], pairs: list[tuple[str, str]], score: dict[str, float],
               total: bool) -> tuple[list[str], bool]:
    """The inputs whose Shapley effects are estimated, and whether the output is a function
    of them alone (then c(players) = Var(Y) exactly): every varying input when there are
    at most MAX_PLAYERS; else those of largest `score` (by input: total Sobol indices with
    `total`, else first-order ones), each with its correlated partners. The others are
    left out as negligible only when their total indices sum below SCREEN (first-order
    indices miss interactions: then c(players) is estimated)."""
    varying = [n for n, x in inputs.items() if np.ptp(x) > 0]
    if len(varying) <= MAX_PLAYERS:
        return varying, True
    chosen: list[str] = []
    for n in sorted(varying, key=lambda k: -score.get(k, 0.0)):
        group = [n] + [b if a == n else a for a, b in pairs if n in (a, b)]
        group = [g for g in group if g in varying and g not in chosen]
        if score.get(n, 0.0) < SCREEN or len(chosen) + len(group) > MAX_PLAYERS:
            break
        chosen += group
    left = sum(v for k, v in score.items() if k not in chosen) if total else 1.0
    return chosen, left < SCREEN


def shapley(inputs: dict[str, np.ndarray], y: np.ndarray, pairs: list[tuple[str, str]], seed: int,
            score: dict[str, float] | None = None, total: bool = False) -> dict:
    """Each player's Shapley effect as a share of Var(y), with a 95% bootstrap interval;
    and what the players leave to the other inputs (JSON-ready). `score` ranks the inputs
    when there are more than MAX_PLAYERS (total indices with `total`; by default each
    input's first-order index, first_order_given on these draws)."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    var = float(y.var())
    if not var > 0 or n < 4 * NEIGHBOURS:
        return {"effects": {}, "players": [], "rest": None}
    if score is None and sum(np.ptp(x) > 0 for x in inputs.values()) > MAX_PLAYERS:
        alone = [_Alone((k,)) for k, x in inputs.items() if np.ptp(x) > 0]
        s1 = first_order_given(inputs, y[None, :], alone, seed)[0][0]
        score, total = {f.members[0]: float(v) for f, v in zip(alone, s1)}, False
    players, every = players_of(inputs, pairs, score or {}, total)
    p = len(players)
    cols = np.column_stack([ranks(inputs[k]) for k in players]) if p else np.empty((n, 0))
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(2 ** 32 + 11,))))
    # Per draw, the variance of y among its nearest neighbours in X_u: a row per subset u
    # (by bitmask); the empty set's and (when the players are every input) the full set's
    # values are exact, 0 and Var(Y).
    full = (1 << p) - 1
    local = np.zeros((1 << p, n))
    for size in range(1, p + 1):
        for members in combinations(range(p), size):
            mask = sum(1 << j for j in members)
            if mask == full and every:
                continue
            local[mask] = local_variance(cols[:, members], y[None, :])[0]
    # sh = M c: each subset's value enters each player's effect with the Shapley weight.
    m = np.zeros((p, 1 << p))
    for mask in range(1 << p):
        size = bin(mask).count("1")
        for i in range(p):
            if not mask >> i & 1:
                w = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
                m[i, mask | 1 << i] += w
                m[i, mask] -= w
    # The draws as drawn, then BOOTSTRAP resamples of blocks of draws.
    block, counts = _resamples(n, rng)
    mean, sq = _means(np.array([y, y * y]), block, counts)
    v = sq - mean * mean
    c = v[None, :] - _means(local, block, counts)
    c[0] = 0.0
    if every:
        c[full] = v
    shares = (m @ c) / v[None, :]
    covered = c[full] / v
    effects = {}
    for i, name in enumerate(players):
        lo, hi = np.quantile(shares[i, 1:], [0.025, 0.975])
        effects[name] = {"value": float(shares[i, 0]), "ci": [float(lo), float(hi)]}
    return {"effects": dict(sorted(effects.items(), key=lambda kv: -kv[1]["value"])), "players": players,
            "rest": None if every else float(1.0 - covered[0])}


def first_order_given(inputs: dict[str, np.ndarray], ys: np.ndarray, factors, seed: int,
                      confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """First-order Sobol indices of each factor (an input, or a group of correlated inputs)
    for each output (ys: outputs x draws), from given draws: S1 = 1 - E[Var(Y | X_f)] /
    Var(Y), the same nearest-neighbour estimator as the Shapley effects' (for one factor
    alone, its Shapley game's c({f}) / Var(Y)). Returns S1 (outputs x factors) and its
    bootstrap interval (2 x outputs x factors)."""
    ys = np.asarray(ys, dtype=float)
    k, n = ys.shape
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(2 ** 32 + 13,))))
    block, counts = _resamples(n, rng)
    moments = _means(np.vstack([ys, ys * ys]), block, counts)
    var = moments[k:] - moments[:k] ** 2                                 # (k, 1 + B)
    s1 = np.full((k, len(factors)), np.nan)
    ci = np.full((2, k, len(factors)), np.nan)
    for g, f in enumerate(factors):
        if len(f.members) == 1:
            order = np.argsort(inputs[f.members[0]], kind="stable")
            local = local_variance(np.empty((n, 1)), ys, order)
        else:
            local = local_variance(np.column_stack([ranks(inputs[x]) for x in f.members]), ys)
        local = _means(local, block, counts)                             # (k, 1 + B)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(var > 0, 1.0 - local / var, np.nan)
        s1[:, g] = share[:, 0]
        ci[:, :, g] = np.quantile(share[:, 1:], [(1 - confidence) / 2, (1 + confidence) / 2], axis=1)
    return s1, ci
