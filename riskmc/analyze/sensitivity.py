"""Global sensitivity: Sobol indices by Saltelli sampling, a tornado, and their caveats.

First-order indices use Saltelli's (2010) estimator, total indices Jansen's (1999):

    S_g  = mean( f(B) * (f(AB_g) - f(A)) ) / Var(Y)
    ST_g = mean( (f(A) - f(AB_g))^2 ) / (2 Var(Y))

where A and B are independent sample matrices and AB_g is A with factor g's columns
taken from B. A factor is one prior, or, when priors are correlated, a whole correlated
group: Sobol indices assume independent factors, and grouping keeps each group's
dependence intact (all its columns come from the same row) while groups stay
independent. Rows are drawn chunk by chunk from the run's SeedSequence streams, so the
indices are the same for any worker count. Confidence intervals: a bootstrap over rows.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .. import interrupt
from ..kernel.engine import CHUNK_SIZE, draw_inputs
from ..kernel.marginals import Marginals
from ..kernel.streams import chunk_stream, handle_seed, seed_entropy
from ..kernel.uniforms import sample
from ..priors import PriorSet

BOOTSTRAP = 300
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Factor:
    """One factor of the analysis: a prior, or a group of correlated priors."""

    name: str
    members: tuple[str, ...]


def factors(priors: PriorSet, specs) -> list[Factor]:
    """Varying priors as factors; correlated priors merged into groups (connected pairs)."""
    varying = [s.name for s in specs if priors.priors[s.name].family.name != "fixed"]
    parent = {n: n for n in varying}

    def root(n):
        while parent[n] != n:
            n = parent[n]
        return n

    for a, b, _ in priors.dependence.pairs:
        parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for n in varying:
        groups.setdefault(root(n), []).append(n)
    out = []
    for members in groups.values():
        name = members[0] if len(members) == 1 else "group(" + ", ".join(members) + ")"
        out.append(Factor(name, tuple(members)))
    return out


def _chunk(priors, specs, evaluate, pick, root, i, n, facs, col_of, marginals):
    interrupt.check()
    """f(A), f(B) and f(AB_g) for one chunk's rows, from stream i alone."""
    d = len(specs)
    u = sample("mc", n, 2 * d, chunk_stream(root, i))
    ua, ub = u[:d], u[d:]

    def f(u):
        return pick(evaluate(draw_inputs(priors, specs, u.copy(), marginals=marginals)))

    fa, fb = f(ua), f(ub)
    fab = np.empty((len(facs),) + fa.shape)
    for g, fac in enumerate(facs):
        u = ua.copy()
        rows = [col_of[m] for m in fac.members]
        u[rows] = ub[rows]
        fab[g] = f(u)
    return fa, fb, fab


def sobol(priors: PriorSet, model, pick, *, draws: int = 2 ** 14,
          seed=None, workers: int = 1, grouped: bool = True) -> dict:
    """Sobol indices of the outputs `pick(model's outputs)` returns, shape (n, k): k outputs.

    Returns {"factors": [...], "S1": (k, factors), "ST": ..., "*_ci": (2, k, factors),
    "evaluations": int, "seed": int}.
    """
    root = handle_seed(seed)
    specs, evaluate = model.inputs, model.evaluate
    facs = factors(priors, specs) if grouped else [Factor(s.name, (s.name,)) for s in specs
                                                    if priors.priors[s.name].family.name != "fixed"]
    col_of = {s.name: j for j, s in enumerate(specs)}
    n_chunks = -(-draws // CHUNK_SIZE)
    sizes = [min(CHUNK_SIZE, draws - i * CHUNK_SIZE) for i in range(n_chunks)]

    marginals = Marginals(priors, specs)

    def one(i):
        return _chunk(priors, specs, evaluate, pick, root, i, sizes[i], facs, col_of, marginals)

    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(one, range(n_chunks)))
    else:
        parts = [one(i) for i in range(n_chunks)]
    fa = np.concatenate([p[0] for p in parts])
    fb = np.concatenate([p[1] for p in parts])
    fab = np.concatenate([p[2] for p in parts], axis=1)
    s1, st = _indices(fa, fb, fab)
    # Bootstrap over rows, from a stream of its own (spawn key beyond every chunk's).
    boot = np.random.Generator(np.random.PCG64(np.random.SeedSequence(root.entropy, spawn_key=(2 ** 32,))))
    b1, bt = [], []
    for _ in range(BOOTSTRAP):
        idx = boot.integers(0, len(fa), len(fa))
        x1, xt = _indices(fa[idx], fb[idx], fab[:, idx])
        b1.append(x1)
        bt.append(xt)
    q = [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2]
    return {"factors": facs, "S1": s1, "ST": st,
            "S1_ci": np.quantile(b1, q, axis=0), "ST_ci": np.quantile(bt, q, axis=0),
            "evaluations": draws * (len(facs) + 2), "seed": seed_entropy(root), "draws": draws}


def _indices(fa, fb, fab):
    """Saltelli (2010) first-order and Jansen (1999) total indices; arrays (n, k)."""
    both = np.concatenate([fa, fb])
    # Centring leaves the estimators' expectations alone and cuts their variance a lot
    # when the output's mean is large against its spread.
    mu = both.mean(axis=0)
    fa, fb, fab = fa - mu, fb - mu, fab - mu
    var = np.var(both, axis=0, ddof=1)
    var = np.where(var > 0, var, np.nan)
    s1 = np.mean(fb[None] * (fab - fa[None]), axis=1) / var
    st = 0.5 * np.mean((fa[None] - fab) ** 2, axis=1) / var
    return s1.T, st.T  # (k, factors)


def tornado(priors: PriorSet, model, pick) -> list[dict]:
    """Each prior alone from its p05 to its p95, the others at their medians.

    Returns rows sorted by swing: output at p05, at p95, and the swing, per output.
    """
    specs, evaluate = model.inputs, model.evaluate
    med = {s.name: np.array([float(priors.priors[s.name].family.quantiles([0.5])[0])]) for s in specs}
    base = pick(evaluate(dict(med)))[0]
    rows = []
    for s in specs:
        fam = priors.priors[s.name].family
        if fam.name == "fixed":
            continue
        lo, hi = fam.quantiles([0.05, 0.95])
        y_lo = pick(evaluate({**med, s.name: np.array([lo])}))[0]
        y_hi = pick(evaluate({**med, s.name: np.array([hi])}))[0]
        rows.append({"input": s.name, "low": float(lo), "high": float(hi),
                     "at_low": y_lo.tolist(), "at_high": y_hi.tolist(),
                     "swing": (y_hi - y_lo).tolist()})
    return [{"base": base.tolist()}] + rows
