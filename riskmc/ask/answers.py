"""From a question's merged sums to its answers, each value with its Monte Carlo error.

Two kinds of sample answer the same questions: draws of equal weight (a prior run, or
one replicate of a tempered posterior) and weighted draws (an importance-sampled
posterior). For equal weights a probability's error is the sd of Beta(h + 1, n - h + 1)
(LHS and Sobol: batch means over whole chunks) and a quantile's the order statistics'
band; for weights, the self-normalised estimator's delta method, as the run's own
posterior reports (riskmc.inference.weighted).

Reverse stress is exponential tilting, the reweighting of the run's draws closest to them
in Kullback-Leibler divergence that makes the stress hold: for P(A) = q, the mixture
q (given A) + (1 - q) (given not A); for mean(y) = x, weights exp(lambda y) with lambda
solved from the draws (binned finely in y).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SamplingError
from ..kernel.finalize import _cdf_points, _one_sigma_band, _quantile, binomial_se, stratum_floor
from ..kernel.reduce import PROBS, Binning
from ..numeric.samplers import SAMPLERS
from ..results import Estimate, Moments, Stats
from ..store.io import jsonable

# Fewer (effective) draws than this meeting a condition give no conditional answer.
MIN_GIVEN = 100
# A stress whose weights are worth fewer draws than this is answered with a warning: a
# probability's error bar is then 2.5 pp or more, and rests on the few heaviest draws.
MIN_STRESS_ESS = 400


class _View:
    """A group's histogram seen as the kernel's Totals (what _cdf_points reads)."""

    def __init__(self, hist, atoms, n, vmin=None, vmax=None):
        self.hist, self.atoms, self.n, self.vmin, self.vmax = hist, atoms, n, vmin, vmax


constant = Stats.constant


def binomial(h: float, n: float) -> Estimate:
    """A proportion and its MCSE (the sd of Beta(h + 1, n - h + 1), as runs report claims)."""
    return Estimate(h / n if n else float("nan"), binomial_se(h, n))


class Counted:
    """Draws of equal weight: counts, and the order statistics' errors."""

    weighted = False

    def __init__(self, red, b: Binning, sampler: str = "mc", full: int = 0) -> None:
        self.red, self.b, self.iid, self.full = red, b, SAMPLERS[sampler].iid, full
        self.groups = red.groups

    def size(self, g: str) -> float:
        return self.red.n if g == "all" else self.groups[g]["n"]

    def ess(self, g: str) -> float:
        return self.size(g)

    def prob(self, num: str, den: str = "all") -> dict:
        """P(group num | group den): the share of den's draws in num."""
        if self.iid:
            return binomial(self.groups[num]["n"], self.size(den))
        return self.batch(lambda c: c[1][num], den)

    def claim(self, k: int, g: str = "all") -> dict:
        if self.iid:
            return binomial(int(self.groups[g]["claims"][k]), self.size(g))
        return self.batch(lambda c: c[2][g][k], g)

    def claim_binomial(self, k: int, g: str) -> Estimate:
        return binomial(int(self.groups[g]["claims"][k]), self.size(g))

    def batch(self, num, group: str) -> Estimate:
        """A ratio's batch-means MCSE over whole chunks (LHS and Sobol: chunks are the replicates)."""
        per_chunk, full = self.red.per_chunk, self.full
        vals = [num(c) / c[1][group] for c in per_chunk if c[0] == full and c[1][group] > 0]
        tot_n = sum(c[1][group] for c in per_chunk)
        est = sum(num(c) for c in per_chunk) / tot_n
        se = float(np.std(vals, ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else float("nan")
        return Estimate(est, max(se, stratum_floor(full, len(per_chunk))))

    def complement(self, g: str) -> dict:
        """The draws of "all" not in group g."""
        a, s = self.groups["all"], self.groups[g]
        return {"n": self.red.n - s["n"], "sums": a["sums"] - s["sums"], "hist": a["hist"] - s["hist"],
                "claims": a["claims"] - s["claims"], "atoms": a["atoms"] - s["atoms"]}

    def distribution(self, g: dict, j: int) -> tuple[np.ndarray, np.ndarray, float]:
        """Row j's histogram, atoms and total in group g."""
        return g["hist"][j], g["atoms"][self.b.atom_var == j], g["n"]

    def stats(self, g: dict, j: int, vmin, vmax) -> Stats:
        """Mean, sd and quantiles of tracked row j in a group, with MCSE (order-statistic
        bands). A row that is one value in the group (a constant) is that value, with no error."""
        b = self.b
        n = g["n"]
        if "min" in g:
            vmin, vmax = g["min"], g["max"]
        if vmin[j] == vmax[j]:
            return constant(vmin[j])
        m1 = g["sums"][0, j] / n
        var = max(g["sums"][1, j] / n - m1 * m1, 0.0)
        sd = math.sqrt(var * n / max(n - 1, 1))
        edges, cum = _cdf_points(_View(g["hist"], g.get("atoms"), n), b, j)
        out = {"mean": Estimate(float(b.center[j] + m1), sd / math.sqrt(n)),
               "sd": Estimate(sd, sd / math.sqrt(2 * max(n - 1, 1)))}
        for key, p in PROBS.items():
            q = _quantile(edges, cum, p, vmin[j], vmax[j])
            lo, hi = _one_sigma_band(n, p)
            out[key] = Estimate(q, (_quantile(edges, cum, hi, vmin[j], vmax[j])
                                    - _quantile(edges, cum, lo, vmin[j], vmax[j])) / 2)
        return Stats(**out)


class Weighted:
    """Weighted draws (importance sampling): the delta method's errors."""

    weighted = True

    def __init__(self, red, b: Binning) -> None:
        self.red, self.b = red, b
        self.groups = red.groups

    def size(self, g: str) -> float:
        return self.groups[g]["w"]

    def ess(self, g: str) -> float:
        grp = self.groups[g]
        return grp["w"] ** 2 / grp["w2"] if grp["w2"] > 0 else 0.0

    def prob(self, num: str, den: str = "all") -> dict:
        from ..inference.weighted import _probability
        a, d = self.groups[num], self.groups[den]
        return _probability(a["w"], a["w2"], d["w"], d["w2"], self.ess(den))

    def claim(self, k: int, g: str = "all") -> dict:
        from ..inference.weighted import _probability
        grp = self.groups[g]
        h, h2 = grp["claims"][k]
        return _probability(h, h2, grp["w"], grp["w2"], self.ess(g))

    claim_binomial = claim

    def complement(self, g: str) -> dict:
        a, s = self.groups["all"], self.groups[g]
        return {"n": a["n"] - s["n"], "w": a["w"] - s["w"], "w2": a["w2"] - s["w2"], "sums": a["sums"] - s["sums"],
                "hist": a["hist"] - s["hist"], "claims": a["claims"] - s["claims"], "atoms": a["atoms"] - s["atoms"]}

    def distribution(self, g: dict, j: int) -> tuple[np.ndarray, np.ndarray, float]:
        return g["hist"][j, :, 0], g["atoms"][self.b.atom_var == j, 0], g["w"]

    def stats(self, g: dict, j: int, vmin, vmax) -> Stats:
        """Weighted mean, sd and quantiles of tracked row j in a group (the run's own
        posterior formulas, riskmc.inference.weighted)."""
        from ..inference.weighted import _stats
        if "min" in g:
            vmin, vmax = g["min"], g["max"]
        if vmin[j] == vmax[j]:
            return constant(vmin[j])
        b = self.b
        one = _one(b, j)
        hist, atoms = g["hist"][j:j + 1], g["atoms"][b.atom_var == j]
        view = _View(hist[:, :, 0], atoms[:, 0], g["w"], vmin[j:j + 1], vmax[j:j + 1])
        view2 = _View(hist[:, :, 1], atoms[:, 1], g["w2"], vmin[j:j + 1], vmax[j:j + 1])
        return _stats(view, view2, g["sums"][:, j:j + 1], g["w"], g["w2"], one, ["x"])["x"]


def answer(summary: dict, sample, st: dict, strict: bool = True) -> dict:
    """The answer from a sample of merged sums, made JSON-ready here from its typed
    estimates. `strict`: refuse a condition
    too few draws meet (a tempered replicate's own answer is only read for its spread)."""
    labels, units, claims = st["labels"], st["units"], st["claims"]
    groups = sample.groups
    g_all = groups["all"]
    # The observed range bounds every quantile.
    vmin, vmax = g_all["min"], g_all["max"]
    out = {"run": {"title": summary["title"], "seed": summary["seed"], "draws": summary["draws"],
                   "sampler": summary["sampler"], "priors": summary["priors_files"][0]["path"],
                   "scenario": summary["scenario"]}}
    if st["ev"] is not None:
        out["event"] = st["ev"].text
        out["probability"] = sample.prob("event")
    out["claims"] = {name: {"event": e.text, "probability": sample.claim(k)} for k, (name, e) in enumerate(claims)}
    stats_all = {lab: sample.stats(g_all, j, vmin, vmax) for j, lab in enumerate(labels)}
    if st["gv"] is not None:
        g = groups["given"]
        n_c = g["n"]
        out["given"] = {"event": st["gv"].text, "draws": n_c, "probability": sample.prob("given")}
        effective = sample.ess("given")
        if sample.weighted:
            out["given"]["effective_draws"] = effective
        if strict and effective < MIN_GIVEN:
            need = int(math.ceil(summary["draws"] * MIN_GIVEN / max(effective, 1) / 10 ** 5) * 10 ** 5)
            what = f"{n_c:,} of {summary['draws']:,} draws" if not sample.weighted else \
                f"{effective:,.0f} effective draws of {summary['draws']:,}"
            raise SamplingError(f"only {what} meet \"{st['gv'].text}\": too few for a conditional answer (at least "
                                f"{MIN_GIVEN})", hint=f"run more draws (about {need:,}) and ask that run")
        if st["ev"] is not None:
            out["conditional"] = sample.prob("event_given", "given")
        for k, (name, _) in enumerate(claims):
            out["claims"][name]["given"] = sample.claim(k, "given")
        out["moved"] = moved({lab: sample.stats(g, j, vmin, vmax) for j, lab in enumerate(labels)},
                             stats_all, units)
    if st["st"] is not None:
        out["stress"] = stressed(st["st"], sample, labels, units, claims, stats_all, vmin, vmax)
    return jsonable(out)


def moved(cond: dict, base: dict, units: list[str]) -> list[dict]:
    """Each tracked quantity, conditional against unconditional, ranked by the shift of
    its mean in unconditional sds."""
    rows = []
    for (lab, c), unit in zip(cond.items(), units):
        a = base[lab]
        sd = a.sd.value
        shift = (c.mean.value - a.mean.value) / sd if sd > 0 else 0.0
        rows.append({"name": lab, "unit": unit, "shift_sd": shift, "before": a, "after": c})
    rows.sort(key=lambda r: -abs(r["shift_sd"]))
    return rows


def stressed(s, sample, labels, units, claims, stats_all, vmin, vmax) -> dict:
    """The least reweighting of the sample that makes stress `s` hold, and what it moves."""
    if s.kind == "probability":
        out = _stressed_probability(s, sample, labels, units, claims, stats_all, vmin, vmax)
    else:
        out = _stressed_mean(s, sample, labels, units, claims, stats_all)
    if out["ess"] < MIN_STRESS_ESS:
        out["warning"] = (f"the stressed answer rests on {out['ess']:,.0f} effective draws (fewer than "
                          f"{MIN_STRESS_ESS}): its figures and error bars are unreliable; run more draws, "
                          "or ask a milder stress")
    return out


def _stressed_probability(s, sample, labels, units, claims, stats_all, vmin, vmax) -> dict:
    b = sample.b
    gA = sample.groups["stress"]
    nA, n = gA["n"], sample.groups["all"]["n"] if sample.weighted else sample.red.n
    if nA == 0 or nA == n or (sample.weighted and not 0 < sample.size("stress") < sample.size("all")):
        raise SamplingError(f"no draw {'meets' if nA == 0 else 'misses'} \"{s.event.text}\": no reweighting "
                            "of this run's draws can make the stress hold", hint="ask a run with more draws")
    notA = sample.complement("stress")
    p = sample.size("stress") / sample.size("all")
    wa, wb = s.value / p, (1 - s.value) / (1 - p)
    essA, essB = (nA, n - nA) if not sample.weighted else (sample.ess("stress"), notA["w"] ** 2 / notA["w2"])
    ess = 1.0 / (s.value ** 2 / essA + (1 - s.value) ** 2 / essB)
    # The stressed distribution: the mixture q (given A) + (1 - q) (given not A).
    after = {}
    for j, lab in enumerate(labels):
        if vmin[j] == vmax[j]:
            after[lab] = constant(vmin[j])
            continue
        sa, sb = sample.stats(gA, j, vmin, vmax), sample.stats(notA, j, vmin, vmax)
        ha, aa, _ = sample.distribution(gA, j)
        hb, ab, _ = sample.distribution(notA, j)
        total = sample.size("all")
        m = {"n": total, "hist": (wa * ha + wb * hb)[None, :], "atoms": wa * aa + wb * ab}
        edges, cum = _cdf_points(_View(m["hist"], m["atoms"], m["n"]), _one(b, j), 0)
        mean = s.value * sa.mean.value + (1 - s.value) * sb.mean.value
        ex2 = s.value * (sa.sd.value ** 2 + sa.mean.value ** 2) + (1 - s.value) * (
            sb.sd.value ** 2 + sb.mean.value ** 2)
        sd = math.sqrt(max(ex2 - mean * mean, 0.0))
        res = {"mean": Estimate(mean, math.hypot(s.value * sa.mean.mcse, (1 - s.value) * sb.mean.mcse)),
               "sd": Estimate(sd, sd / math.sqrt(2 * max(ess - 1, 1)))}
        for key, pr in PROBS.items():
            q = _quantile(edges, cum, pr, vmin[j], vmax[j])
            se = math.sqrt(pr * (1 - pr) / ess)
            res[key] = Estimate(q, (_quantile(edges, cum, min(pr + se, 1), vmin[j], vmax[j])
                                    - _quantile(edges, cum, max(pr - se, 0), vmin[j], vmax[j])) / 2)
        after[lab] = Stats(**res)
    stressed_claims = {}
    groups = sample.groups
    groups["not stress"] = notA
    for k, (name, _) in enumerate(claims):
        pa, pb = sample.claim_binomial(k, "stress"), sample.claim_binomial(k, "not stress")
        stressed_claims[name] = Estimate(s.value * pa.value + (1 - s.value) * pb.value,
                                         math.hypot(s.value * pa.mcse, (1 - s.value) * pb.mcse))
    del groups["not stress"]
    return {"stress": s.text, "from": p, "ess": ess, "weights": [wa, wb],
            "claims": stressed_claims, "moved": moved(after, stats_all, units)}


def _stressed_mean(s, sample, labels, units, claims, stats_all) -> dict:
    t = sample.red.tilt
    vmin, vmax = sample.groups["all"]["min"], sample.groups["all"]["max"]
    keep = t["n"] > 0
    nb, yb = t["n"][keep], t["y"][keep] / t["n"][keep]
    lo, hi = yb.min(), yb.max()
    if not lo < s.value < hi:
        raise SamplingError(f"no reweighting of this run's draws gives mean({s.label}) = {s.value:g}: its draws "
                            f"range over {lo:.6g} to {hi:.6g}", hint="choose a mean inside that range")
    scale = max(abs(hi - lo), 1e-300)

    def tilted_mean(lam):
        a = lam * (yb - yb.mean()) / scale
        w = nb * np.exp(a - a.max())
        return float(np.sum(w * yb) / np.sum(w)), w

    a_, b_ = -1.0, 1.0
    while tilted_mean(a_)[0] > s.value:
        a_ *= 2
    while tilted_mean(b_)[0] < s.value:
        b_ *= 2
    for _ in range(200):
        mid = 0.5 * (a_ + b_)
        if tilted_mean(mid)[0] < s.value:
            a_ = mid
        else:
            b_ = mid
    lam = 0.5 * (a_ + b_)
    _, w = tilted_mean(lam)
    tb = w / nb                      # the tilt of one draw in each bin
    k = {name: v[..., keep] for name, v in t.items()}
    W = float(np.sum(w))
    tt = tb * tb
    ess = W * W / float(np.sum(k["n2"] * tt))
    # The tilt is solved so that the stressed mean holds exactly; an estimate's error is
    # the delta method's with that constraint: each draw's influence is its weight times
    # (f - theta) less its regression on y (Owen 2013, ch. 9, on regression-adjusted
    # self-normalised estimates). E below: tilted means of the sums kept about centres.
    def e(v):
        return float(np.sum(tb * v) / W)
    ey = e(k["yc"])
    vy = max(e(k["ycc"]) - ey * ey, 1e-300)
    n2, n2y, n2yy = k["n2"], k["n2y"], k["n2yy"]

    def spread(terms) -> float:
        return math.sqrt(max(float(np.sum(tt * terms)), 0.0)) / W
    after = {}
    for j, lab in enumerate(labels):
        if vmin[j] == vmax[j]:
            after[lab] = Moments(Estimate(float(vmin[j]), 0.0), Estimate(0.0, 0.0))
            continue
        m = e(k["d"][j])
        v = max(e(k["dd"][j]) - m * m, 0.0)
        sd = math.sqrt(v)
        q1, q2, q3, q4, qy, q2y = (k[name][j] for name in ("q1", "q2", "q3", "q4", "qy", "q2y"))
        # The mean: u = d - beta yc - c0.
        beta = (e(k["dy"][j]) - m * ey) / vy
        c0 = m - beta * ey
        se_mean = spread(q2 + beta * beta * n2yy + c0 * c0 * n2 - 2 * beta * qy - 2 * c0 * q1 + 2 * beta * c0 * n2y)
        # The variance: u = d^2 - 2 m d - beta_v yc + kk.
        bv = (e(k["ddy"][j]) - 2 * m * e(k["dy"][j]) + m * m * ey - v * ey) / vy
        kk = m * m - v + bv * ey
        var_v = spread(q4 + 4 * m * m * q2 + bv * bv * n2yy + kk * kk * n2 - 4 * m * q3 - 2 * bv * q2y
                       + 2 * kk * q2 + 4 * m * bv * qy - 4 * m * kk * q1 - 2 * kk * bv * n2y)
        after[lab] = Moments(Estimate(float(sample.b.center[j] + m), se_mean),
                             Estimate(sd, var_v / (2 * sd) if sd > 0 else 0.0))
    stressed_claims = {}
    floor = math.sqrt((ess + 1) / ((ess + 2) ** 2 * (ess + 3)))
    for c, (name, _) in enumerate(claims):
        pr = e(k["claims"][c])
        beta = (e(k["cy"][c]) - pr * ey) / vy
        c0 = pr - beta * ey
        qc, qcy = k["qc"][c], k["qcy"][c]
        se = spread(qc + beta * beta * n2yy + c0 * c0 * n2 - 2 * beta * qcy - 2 * c0 * qc + 2 * beta * c0 * n2y)
        stressed_claims[name] = Estimate(pr, max(se, floor))
    rows = []
    for lab, unit in zip(labels, units):
        a = stats_all[lab]
        sd = a.sd.value
        rows.append({"name": lab, "unit": unit, "before": a, "after": after[lab],
                     "shift_sd": (after[lab].mean.value - a.mean.value) / sd if sd > 0 else 0.0})
    rows.sort(key=lambda r: -abs(r["shift_sd"]))
    return {"stress": s.text, "unit": s.unit, "from": float(np.sum(nb * yb) / np.sum(nb)), "ess": ess,
            "lambda": lam / scale, "claims": stressed_claims, "moved": rows}


def _one(b: Binning, j: int) -> Binning:
    """Row j's bins (and atoms) alone."""
    mine = b.atom_var == j
    return Binning(lo=b.lo[j:j + 1], width=b.width[j:j + 1], center=b.center[j:j + 1], pilot_q=b.pilot_q[j:j + 1],
                   atom_var=np.zeros(int(mine.sum()), dtype=np.intp), atom_val=b.atom_val[mine], bins=b.bins)
