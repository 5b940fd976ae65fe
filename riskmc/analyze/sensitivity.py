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

from dataclasses import dataclass

import numpy as np

from .. import __version__, interrupt
from ..errors import SamplingError
from ..kernel.engine import CHUNK_SIZE, draw_inputs, map_chunks
from ..kernel.marginals import Marginals
from ..kernel.streams import chunk_stream, handle_seed, seed_entropy
from ..numeric.samplers import sampler
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
    varying = [s.name for s in specs if priors.priors[s.name].family.varies]
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
    u = sampler("mc").draw(n, 2 * d, chunk_stream(root, i))
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
                                                    if priors.priors[s.name].family.varies]
    col_of = {s.name: j for j, s in enumerate(specs)}
    n_chunks = -(-draws // CHUNK_SIZE)
    sizes = [min(CHUNK_SIZE, draws - i * CHUNK_SIZE) for i in range(n_chunks)]

    marginals = Marginals(priors, specs)

    def one(i):
        return _chunk(priors, specs, evaluate, pick, root, i, sizes[i], facs, col_of, marginals)

    parts = list(map_chunks(one, range(n_chunks), workers))
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
    # Each prior's 5%, 50% and 95% quantiles through the sampler's own inverse CDFs (its
    # tables), as every draw is made: no special functions to load for three points.
    q = Marginals(priors, specs)(np.tile([0.05, 0.5, 0.95], (len(specs), 1)), np.empty((len(specs), 3)))
    med = {s.name: q[j, 1:2].copy() for j, s in enumerate(specs)}
    base = pick(evaluate(dict(med)))[0]
    rows = []
    for j, s in enumerate(specs):
        fam = priors.priors[s.name].family
        if not fam.varies:
            continue
        lo, hi = q[j, 0], q[j, 2]
        y_lo = pick(evaluate({**med, s.name: np.array([lo])}))[0]
        y_hi = pick(evaluate({**med, s.name: np.array([hi])}))[0]
        rows.append({"input": s.name, "low": float(lo), "high": float(hi),
                     "at_low": y_lo.tolist(), "at_high": y_hi.tolist(),
                     "swing": (y_hi - y_lo).tolist()})
    return [{"base": base.tolist()}] + rows



GIVEN_DRAWS = 2 ** 14     # draws of the ordinary run the given-data indices read
SHAPLEY_DRAWS = 2 ** 13   # of which the Shapley effects' nearest-neighbour searches use


def given(ps: PriorSet, inputs: dict, column: dict, names: list[str], seed: int) -> dict:
    """First-order indices of each factor from an ordinary run's draws (no model
    evaluations beyond them), in sobol()'s form; total indices need the Saltelli design."""
    from .shapley import first_order_given
    facs = factors(ps, ps.model.inputs)
    ys = np.array([column[n] for n in names])
    s1, ci = first_order_given(inputs, ys, facs, seed, CONFIDENCE)
    n = ys.shape[1]
    return {"factors": facs, "S1": s1, "ST": np.full_like(s1, np.nan), "S1_ci": ci, "ST_ci": np.full_like(ci, np.nan),
            "evaluations": n, "seed": seed, "draws": n}


def sensitivity(priors, *, model=None, output: str | None = None, year: int | None = None, draws: int | None = None,
                seed=None, workers: int | None = None, scenario: str | None = None, allow_unused: bool = False,
                saltelli: bool = False) -> dict:
    """What drives the outputs: first-order indices, Shapley effects, a tornado and rank
    correlations (JSON-ready).

    By default the headline outputs in the last year; `output`/`year` pick one. Every
    figure comes from one ordinary run of `draws` (default GIVEN_DRAWS) draws and the
    tornado's few evaluations; with `saltelli`, first-order and total Sobol indices come
    from the Saltelli design instead, `draws` base rows (default 2^14) x (factors + 2)
    model evaluations.
    """
    import difflib

    from ..loading import load
    from ..settings import resolve
    from .drivers import rank_drivers
    from .experts import finite_or_none, whom
    from .summary import DRIVER_DRAWS

    ps = priors if isinstance(priors, PriorSet) else load(priors, model=model, scenario=scenario,
                                                          allow_unused=allow_unused)
    m = ps.model
    st = resolve(ps.run, seed=seed, workers=workers)
    seed, workers = st.seed, st.workers
    if m.years is None:
        if year is not None:
            raise SamplingError(f"model '{m.name}' has no years: drop --year")
        j = 0
    else:
        year = m.years[-1] if year is None else int(year)
        if year not in m.years:
            raise SamplingError(f"year must be one of {m.years[0]}-{m.years[-1]}, got {year}")
        j = m.years.index(year)
    names = [o.name for o in m.outputs if o.headline] if output is None else [output]
    for n in names:
        if n not in m.output_names:
            close = difflib.get_close_matches(n, m.output_names, n=1)
            raise SamplingError(f"unknown output '{n}'", hint=f"did you mean '{close[0]}'?" if close
                                else f"model '{m.name}' has {', '.join(m.output_names)}")

    def pick(out):
        return np.column_stack([out[n][:, j] if out[n].ndim == 2 else out[n] for n in names])

    tor = tornado(ps, m, pick)
    if saltelli:
        res = sobol(ps, m, pick, draws=draws or 2 ** 14, seed=seed, workers=workers)
        inputs, outputs = _ordinary(ps, st.with_(seed=res["seed"], draws=DRIVER_DRAWS))
    else:
        inputs, outputs = _ordinary(ps, st.with_(draws=draws or GIVEN_DRAWS))
    column = {n: outputs[n][:, j] if m.years is not None else outputs[n][:, 0] for n in names}
    if not saltelli:
        res = given(ps, inputs, column, names, seed)
    grouped = [f for f in res["factors"] if len(f.members) > 1]
    note = ("Sobol indices assume independent factors; correlated priors are analysed as groups: "
            + "; ".join(f.name for f in grouped)) if grouped else None
    logs = [n for n, p in ps.priors.items() if len(p.experts) > 1 and p.pool == "log"]
    if logs:
        note = ((note + ". ") if note else "") + (
            f"{', '.join(logs)} pool{'s' if len(logs) == 1 else ''} experts logarithmically, into one consensus "
            "view: no draw comes from one expert, so there is no 'whom you believe' (pool = \"linear\" has it)")
    out = {
        "riskmc_version": __version__,
        "priors_files": [{"path": f.path, "sha256": f.sha256} for f in ps.files],
        "scenario": ps.scenario, "seed": res["seed"], "draws": res["draws"],
        "evaluations": res["evaluations"], "year": year, "outputs": {}, "note": note,
        "method": ("Saltelli (2010) first-order, Jansen (1999) total; 95% bootstrap intervals" if saltelli else
                   "first-order indices from the run's draws (nearest-neighbour given-data estimator); 95% "
                   "bootstrap intervals; total indices with --saltelli"),
        "shapley_method": ("Shapley effects from the run's draws: nearest-neighbour given-data estimator "
                           "(Broto, Bachoc and Depecker 2020), 95% bootstrap intervals"),
        "factors": [{"name": f.name, "members": list(f.members)} for f in res["factors"]],
    }
    out["experts"] = whom(ps, m, inputs, outputs, column, res["seed"])
    spearman = rank_drivers(inputs, column)
    from .shapley import shapley
    pairs = [(a, b) for a, b, _ in ps.dependence.pairs]
    shap = {}
    for k, n in enumerate(names):
        # The players are screened by the indices reported beside them: each input's total
        # index with --saltelli, else its first-order one (a correlated group's members
        # share their factor's).
        index = res["ST"] if saltelli else res["S1"]
        score = {x: float(index[k, g]) for g, f in enumerate(res["factors"]) for x in f.members
                 if np.isfinite(index[k, g])}
        few = {x: v[:SHAPLEY_DRAWS] for x, v in inputs.items()}
        shap[n] = shapley(few, column[n][:SHAPLEY_DRAWS], pairs, res["seed"], score, total=saltelli)
    by_name = {o.name: o for o in m.outputs}
    for k, n in enumerate(names):
        rows = [{"factor": f.name, "S1": finite_or_none(res["S1"][k, g]), "ST": finite_or_none(res["ST"][k, g]),
                 "S1_ci": [finite_or_none(v) for v in res["S1_ci"][:, k, g]],
                 "ST_ci": [finite_or_none(v) for v in res["ST_ci"][:, k, g]]} for g, f in enumerate(res["factors"])]
        rows.sort(key=lambda r: -((r["ST"] if saltelli else r["S1"]) or 0.0))
        trows = [{"input": r["input"], "low": r["low"], "high": r["high"], "at_low": r["at_low"][k],
                  "at_high": r["at_high"][k], "swing": r["swing"][k]} for r in tor[1:]]
        trows.sort(key=lambda r: -abs(r["swing"]))
        out["outputs"][n] = {
            "label": by_name[n].label, "unit": by_name[n].unit,
            "sobol": rows,
            "tornado": {"base": tor[0]["base"][k], "rows": trows},
            "spearman": spearman[n],
            "shapley": shap[n],
        }
    return out




def _ordinary(ps: PriorSet, s) -> tuple[dict, dict]:
    """The first DRIVER_DRAWS draws of a plain run of these priors (the run's own draws, for
    the rank correlations and for whom-you-believe): inputs and outputs by name."""
    from ..kernel.engine import Kernel, sample
    m = ps.model
    kernel = Kernel(ps, m, s.root, s.plan)
    chunks = [c for state in sample(kernel, s.workers, keep_below=s.plan.n_chunks) for c in state.chunks]
    inputs = {k: np.concatenate([c.inputs[k] for c in chunks]) for k in m.input_names}
    outputs = {k: np.concatenate([c.outputs[k] for c in chunks]) for k in m.output_names}
    if m.years is None:
        outputs = {k: v.reshape(len(v), -1) for k, v in outputs.items()}
    return inputs, outputs
