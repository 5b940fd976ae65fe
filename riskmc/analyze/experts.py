"""Whom you believe: for a prior whose experts are pooled linearly, what each output and
claim would be if each expert were right, from a run's own draws.
"""

from __future__ import annotations

import numpy as np

from ..model import Model
from ..priors import PriorSet

BOOTSTRAP_WHOM = 300  # resamples for the interval of 'whom you believe' S1


def whom(ps: PriorSet, m: Model, inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray],
         column: dict[str, np.ndarray], seed: int) -> list[dict]:
    """Which expert is right, for each prior with linearly pooled experts, from a run's
    draws: each headline output's mean and each claim's probability if each expert is
    right, and the share of each output's variance that hangs on which one is (S1).

    A linear pool is a mixture: a draw comes from expert k with probability w_k, so
    given its value x it came from k with probability r_k(x) = w_k f_k(x) / pool(x)
    (Bayes; the other inputs depend on the expert only through x, through the copula on
    the pool's ranks). Weighing the draws by r_k gives E[Y | k] exactly, for the run's
    own joint distribution, and S1 = sum_k w_k (E[Y | k] - E[Y])^2 / Var(Y). Errors: the
    self-normalised estimator's for the means and probabilities, a bootstrap over draws
    for S1."""
    from ..model.events import claim_event
    pooled = [n for n, p in ps.priors.items() if len(p.experts) > 1 and p.pool == "linear"]
    if not pooled:
        return []
    n = len(next(iter(inputs.values())))
    k, t = len(m.outputs), m.width
    rows = np.empty((k * t + len(m.inputs), n))
    for i, o in enumerate(m.outputs):
        rows[i * t:(i + 1) * t] = np.asarray(outputs[o.name]).reshape(n, t).T
    for i, name in enumerate(m.input_names):
        rows[k * t + i] = inputs[name]
    hits = {c: claim_event(claim, m).mask(rows).astype(float) for c, claim in ps.claims.items()}
    ys = {o: np.asarray(v, dtype=float) for o, v in column.items()}
    boot = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(2 ** 32 + 1,))))
    picks = [boot.integers(0, n, n) for _ in range(BOOTSTRAP_WHOM)]
    out = []
    for name in pooled:
        p = ps.priors[name]
        x = inputs[name]
        pool = p.family.pdf(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.array([np.where(pool > 0, w * part.pdf(x) / pool, 0.0)
                          for w, part in zip(p.family.weights, p.family.parts)])
        experts = []
        for expert, rk in zip(p.experts, r):
            total = float(rk.sum())
            experts.append({
                "expert": expert.name, "weight": expert.weight,
                "draws": int(round(total ** 2 / float(np.sum(rk * rk)))) if total > 0 else 0,
                "if_right": {o: _ratio(rk, y, "mean") for o, y in ys.items()},
                "claims_if_right": {c: _ratio(rk, h, "value") for c, h in hits.items()},
            })
        s1 = {}
        for o, y in ys.items():
            draws = [_s1(r[:, idx], y[idx]) for idx in picks]
            lo, hi = np.quantile(draws, [0.025, 0.975])
            s1[o] = {"value": finite_or_none(_s1(r, y)), "ci": [finite_or_none(lo), finite_or_none(hi)]}
        out.append({"prior": name, "S1": s1, "experts": experts})
    return out



def _ratio(r: np.ndarray, v: np.ndarray, key: str) -> dict:
    """sum r v / sum r, with the self-normalised estimator's error."""
    total = float(r.sum())
    if not total > 0:
        return {key: None, "mcse": None}
    est = float(np.dot(r, v) / total)
    return {key: finite_or_none(est), "mcse": finite_or_none(float(np.sqrt(np.sum((r * (v - est)) ** 2)) / total))}


def _s1(r: np.ndarray, y: np.ndarray) -> float:
    """Share of Var(y) explained by the expert: sum_k w_k (E[y | k] - E[y])^2 / Var(y)."""
    w = r.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = (r @ y) / w
        return float(np.sum(w / len(y) * (means - y.mean()) ** 2) / y.var())


def finite_or_none(v) -> float | None:
    """A Sobol index for JSON: None where it is undefined (an output that does not vary)."""
    v = float(v)
    return v if np.isfinite(v) else None


