"""`make validate`: do riskmc's error bars mean what they say? Coverage over many seeds.

Each study runs a case whose answer is known exactly, many times with different seeds,
and counts how often the reported value lies within 2 reported MCSE of the truth: a
fair 95% error bar covers about 95% of the time (94.6% for errors from 32 replicates, a
t with 31 degrees of freedom). Each coverage is printed with its 95% Wilson interval over
the seeds, and the ratio of the estimates' spread over seeds to the MCSE they report
(1 when the error bars are the right size; above 1 they are too small).

Studies:
  prior    the sum of two normals and one of them alone, every sampler (mc, lhs, sobol),
           from 2,048 to 131,072 draws: mean, sd, p5, p50, p95, two claims;
  importance   a conjugate normal posterior that importance sampling answers;
  tempered  posteriors that make importance sampling fail, so tempered SMC answers:
           aws136 (the base case with AWS's 2025 revenue observed at 136 +- 0.3: the
           exact posterior of aws_revenue[2025] is normal, mean 135.7188, sd 0.2943),
           toy31 (y = x1 + x2 observed at 4 +- 0.2, with 29 more inputs no output uses),
           beta-binomial (a beta(2, 5) share, 1,500 of 2,500 trials succeeded), and the
           test suite's linear model (a = 8 +- 0.5);
  ask      questions of finished runs: of a conjugate posterior (a ~ N(1, 2^2) observed at
           4 +- 1) an event, a conditional probability, means given a condition, a
           probability stress and a mean stress; of a prior run, a mean stress (tilting
           a normal keeps its sd; the other inputs do not move);
  compare  paired shifts between runs of one seed: y = 2a + b with a ~ N(1, 2^2) against
           a ~ N(1.5, 2.5^2) (mc, lhs, sobol) or against a's posterior (weighted draws):
           the shifts of y's mean, p5, p50, p95 and P(y > 5).

Too slow for CI (about half an hour here); the test suite keeps fast fixed-seed
versions of each. VALIDATE_SEEDS sets the seeds per case (default: 400 prior, 200
importance, 60 tempered, 400 ask and compare); VALIDATE_ONLY=prior|importance|tempered|ask|compare runs one
study.
The latest table is in docs/validation.md.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import riskmc  # noqa: E402

ONLY = os.environ.get("VALIDATE_ONLY")
SEEDS = os.environ.get("VALIDATE_SEEDS")


def seeds(default: int) -> range:
    return range(int(SEEDS) if SEEDS else default)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


ROWS: list[tuple] = []


def record(study: str, case: str, draws: int, stat: str, values, errors, truth: float) -> None:
    v, e = np.asarray(values, dtype=float), np.asarray(errors, dtype=float)
    inside = np.abs(v - truth) <= 2 * e
    lo, hi = wilson(int(inside.sum()), len(v))
    ratio = float(np.std(v, ddof=1) / np.sqrt(np.mean(e ** 2))) if np.all(e > 0) else float("nan")
    bias = float((v.mean() - truth) / (np.std(v, ddof=1) / math.sqrt(len(v)))) if len(v) > 1 else 0.0
    ROWS.append((study, case, draws, stat, len(v), float(inside.mean()), lo, hi, ratio, bias))
    print(f"{study:<10} {case:<14} {draws:>8,} {stat:<18} {len(v):>5} {inside.mean():>7.1%} "
          f"[{lo:.1%}, {hi:.1%}]  spread/MCSE {ratio:4.2f}  bias z {bias:+5.2f}", flush=True)


# ------------------------------------------------------------------ the prior: every sampler
PRIOR_PRIORS = """
[priors.a]
description = "a"
unit = "x"
source = "assumption"
family = "normal"
mean = 1.0
sd = 2.0

[priors.b]
description = "b"
unit = "x"
source = "assumption"
family = "normal"
mean = 3.0
sd = 4.0
"""


def prior_study(folder: Path) -> None:
    from riskmc.analyze import ClaimCounter
    from riskmc.kernel.engine import Kernel, execute, plan
    from riskmc.kernel.finalize import finalize, probabilities
    from riskmc.kernel.streams import handle_seed
    from riskmc.model import Input, Model, Output
    from riskmc.priors import Claim, load

    model = Model("cov", inputs=(Input("a", "x", "a"), Input("b", "x", "b")),
                  outputs=[Output("sum", headline=True), Output("one")],
                  vectorised=lambda x, y: {"sum": x["a"] + x["b"], "one": x["a"]})
    path = folder / "cov.toml"
    path.write_text(PRIOR_PRIORS)
    ps = load(path, model=model)
    truth = {"sum": stats.norm(4.0, math.sqrt(20.0)), "one": stats.norm(1.0, 2.0)}
    claims = [Claim("up", "", "sum", (), above=8.0), Claim("down", "", "one", (), below=0.0)]
    claim_truth = {"up": truth["sum"].sf(8.0), "down": truth["one"].cdf(0.0)}
    for sampler in ("mc", "lhs", "sobol"):
        for draws in (2_048, 8_192, 32_768, 131_072):
            runs = []
            for seed in seeds(400 if draws <= 8_192 else 200):
                counter = ClaimCounter(claims, ("sum", "one"), None)
                kernel = Kernel(ps, model, handle_seed(seed), plan(draws, sampler), counter)
                b, t = execute(kernel, 1)
                out = finalize(t, b, sampler, ["sum", "one"])[0]
                for c, pr in zip(claims, probabilities(t, sampler)):
                    out[c.name] = pr
                runs.append(out)
            for o in ("sum", "one"):
                d = truth[o]
                exact = {"mean": d.mean(), "sd": d.std(), "p5": d.ppf(0.05), "p50": d.ppf(0.5), "p95": d.ppf(0.95)}
                for stat, e in exact.items():
                    record("prior", sampler, draws, f"{o} {stat}", [r[o][stat].value for r in runs],
                           [r[o][stat].mcse for r in runs], e)
            for c in ("up", "down"):
                record("prior", sampler, draws, f"P({c})", [r[c].value for r in runs],
                       [r[c].mcse for r in runs], claim_truth[c])


# ------------------------------------------------------------------ posteriors
LIN_MODEL = '''
import riskmc


def lin(x, years):
    return {"y": 2.0 * x["a"] + x["b"], "s": x["p"]}


MODEL = riskmc.Model(
    "lin",
    inputs=[riskmc.Input("a", "x"), riskmc.Input("b", "x"), riskmc.Input("p", "fraction", lower=0.0, upper=1.0)],
    outputs=[riskmc.Output("y", "x", headline=True), riskmc.Output("s", "fraction", lower=0.0, upper=1.0)],
    vectorised=lin,
)
'''

LIN_PRIORS = '''
model = "lin.py"
title = "lin"
[priors.a]
description = "a"
unit = "x"
source = "test"
family = "normal"
mean = 1.0
sd = 2.0
[priors.b]
description = "b"
unit = "x"
source = "test"
family = "normal"
mean = 0.0
sd = 1.0
[priors.p]
description = "p"
unit = "fraction"
source = "test"
family = "beta"
a = 2.0
b = 3.0
[evidence.obs]
input = "a"
value = {value}
sd = {sd}
source = "test"
'''

TOY31_MODEL = '''
import riskmc


def f(x, years):
    return {"y": x["x1"] + x["x2"]}


MODEL = riskmc.Model("toy31", inputs=[riskmc.Input(f"x{i}") for i in range(1, 32)],
                     outputs=[riskmc.Output("y", headline=True)], vectorised=f)
'''

SHARE_MODEL = '''
import riskmc


def f(x, years):
    return {"rate": x["s"], "other": x["u1"] + x["u2"]}


MODEL = riskmc.Model("share", inputs=[riskmc.Input("s", "fraction", lower=0.0, upper=1.0), riskmc.Input("u1"),
                                      riskmc.Input("u2")],
                     outputs=[riskmc.Output("rate", "fraction", headline=True, lower=0.0, upper=1.0),
                              riskmc.Output("other")], vectorised=f)
'''

SHARE_PRIORS = '''
model = "share.py"
title = "beta-binomial"
[priors.s]
description = "s"
unit = "fraction"
source = "toy"
family = "beta"
a = 2.0
b = 5.0
[priors.u1]
description = "u"
unit = "x"
source = "toy"
family = "normal"
mean = 0.0
sd = 1.0
[priors.u2]
description = "u"
unit = "x"
source = "toy"
family = "uniform"
lower = 0.0
upper = 1.0
[evidence.count]
output = "rate"
successes = 1500
trials = 2500
source = "toy"
'''


def posterior_cases(folder: Path) -> dict:
    """name -> (priors file, where the truth is read, {stat: exact value}, method expected)."""
    (folder / "lin.py").write_text(textwrap.dedent(LIN_MODEL).lstrip())
    (folder / "lin-is.toml").write_text(LIN_PRIORS.format(value=4.0, sd=1.0))
    (folder / "lin-smc.toml").write_text(LIN_PRIORS.format(value=8.0, sd=0.5))
    (folder / "toy31.py").write_text(textwrap.dedent(TOY31_MODEL).lstrip())
    toy = ['model = "toy31.py"', 'title = "toy31"']
    for i in range(1, 32):
        toy += [f"[priors.x{i}]", 'description = "x"', 'unit = "x"', 'source = "toy"', 'family = "normal"',
                "mean = 0.0", "sd = 1.0"]
    toy += ["[evidence.y]", 'output = "y"', "value = 4.0", "sd = 0.2", 'source = "toy"']
    (folder / "toy31.toml").write_text("\n".join(toy) + "\n")
    (folder / "share.py").write_text(textwrap.dedent(SHARE_MODEL).lstrip())
    (folder / "betabin.toml").write_text(SHARE_PRIORS)
    (folder / "aws136.toml").write_text(
        f'extends = "{ROOT / "priors" / "base.toml"}"\ntitle = "aws136"\n[evidence.aws]\noutput = "aws_revenue"\n'
        'year = 2025\nvalue = 136.0\nsd = 0.3\nsource = "validation"\n')

    def normal(mean, sd, stats_=("mean", "sd", "p5", "p50", "p95")):
        d = stats.norm(mean, sd)
        return {k: {"mean": d.mean(), "sd": d.std(), "p5": d.ppf(0.05), "p50": d.ppf(0.5), "p95": d.ppf(0.95)}[k]
                for k in stats_}

    def conj(mu0, sd0, value, sd):
        prec = 1 / sd0 ** 2 + 1 / sd ** 2
        return (mu0 / sd0 ** 2 + value / sd ** 2) / prec, prec ** -0.5

    aws_mean, aws_sd = conj(128.5, 2.5 / stats.norm.ppf(0.95), 136.0, 0.3)
    toy_prec = 0.5 + 1 / 0.04
    bb = stats.beta(2 + 1500, 5 + 1000)
    return {
        "lin (a=4+-1)": (folder / "lin-is.toml", ("input", "a"), normal(*conj(1.0, 2.0, 4.0, 1.0)), "importance"),
        "lin (a=8+-.5)": (folder / "lin-smc.toml", ("input", "a"), normal(*conj(1.0, 2.0, 8.0, 0.5)), "tempered"),
        "aws136": (folder / "aws136.toml", ("output", "aws_revenue", "2025"), normal(aws_mean, aws_sd), "tempered"),
        "toy31": (folder / "toy31.toml", ("output", "y", None), normal(4.0 / 0.04 / toy_prec, toy_prec ** -0.5),
                  "tempered"),
        "beta-binomial": (folder / "betabin.toml", ("output", "rate", None),
                          {"mean": bb.mean(), "sd": bb.std(), "p5": bb.ppf(0.05), "p50": bb.ppf(0.5),
                           "p95": bb.ppf(0.95)}, "tempered"),
    }


def _read(summary: dict, where) -> dict:
    if where[0] == "input":
        return summary["evidence"]["inputs"][where[1]]["posterior"]
    o = summary["outputs"][where[1]]
    return o["stats"] if where[2] is None else o["years"][where[2]]


def posterior_study(folder: Path, study: str) -> None:
    for name, (path, where, exact, method) in posterior_cases(folder).items():
        if (method == "importance") != (study == "importance"):
            continue
        for draws in ((4_096, 20_000) if study == "importance" else (20_000, 100_000)):
            got, methods = [], set()
            t = time.perf_counter()
            n = seeds(200 if study == "importance" else (60 if draws == 20_000 else 50))
            for seed in n:
                s = riskmc.run(path, draws=draws, seed=seed + 1, workers=2).summary
                methods.add(s["evidence"]["method"])
                got.append(_read(s, where))
            per = (time.perf_counter() - t) / len(n)
            # More draws can let importance sampling answer what needed tempering at fewer.
            label = name if methods == {method} else f"{name} [{'/'.join(sorted(methods))}]"
            for stat, e in exact.items():
                record(study, label, draws, f"{stat} ({per:.1f} s/run)" if stat == "mean" else stat,
                       [g[stat]["value"] for g in got], [g[stat]["mcse"] for g in got], e)
            inside = [abs(g[stat]["value"] - e) <= 2 * g[stat]["mcse"] for g in got for stat, e in exact.items()]
            lo, hi = wilson(sum(inside), len(inside))
            print(f"{study:<10} {label:<14} {draws:>8,} {'all five, pooled':<18} {len(inside):>5} "
                  f"{np.mean(inside):>7.1%} [{lo:.1%}, {hi:.1%}]", flush=True)


# ------------------------------------------------------------------ ask: questions of finished runs
def ask_study(folder: Path) -> None:
    from scipy import integrate

    from riskmc.ask.query import ask
    from riskmc.runs import Run
    (folder / "lin.py").write_text(LIN_MODEL)
    base = textwrap.dedent(LIN_PRIORS).split("[evidence.obs]")[0] + '[claims.big]\noutput = "y"\nabove = 5.0\n'
    (folder / "ask-prior.toml").write_text(base)
    (folder / "ask-post.toml").write_text(base + '[evidence.obs]\ninput = "a"\nvalue = 4.0\nsd = 1.0\n'
                                          'source = "test"\n')
    mu, sd = 3.4, 1.25 ** -0.5
    q = stats.norm.sf(0.5)
    za = (4 - mu) / sd
    post = {"event": stats.norm.sf(4, mu, sd),
            "conditional": integrate.quad(lambda b: stats.norm.pdf(b) * stats.norm.sf((8 - b) / 2, mu, sd),
                                          0.5, np.inf)[0] / q,
            "b given": stats.norm.pdf(0.5) / q, "a given": mu,
            "stressed mean": 0.5 * (mu + sd * stats.norm.pdf(za) / stats.norm.sf(za))
            + 0.5 * (mu - sd * stats.norm.pdf(za) / stats.norm.cdf(za)),
            "stressed p95": mu + sd * stats.norm.isf(0.1 * stats.norm.sf(za)),
            "tilted sd": sd, "tilted claim": stats.norm.sf(5, 6, math.sqrt(4 * sd * sd + 1))}
    prior = {"tilted a sd": 2.0, "tilted b mean": 0.0, "tilted p mean": 0.4, "tilted y mean": 6.0,
             "tilted claim": stats.norm.sf(5, 6, math.sqrt(17))}

    def after(res):
        return {m["name"]: m["after"] for m in res["moved"]}

    def post_questions(run):
        a1 = ask(run, "y > 8", given="b > 0.5", workers=1)
        a2 = ask(run, stress="P(a > 4) = 0.5", workers=1)
        a3 = ask(run, "a > 4", stress="mean(a) = 3.0", workers=1)
        g, s2, s3 = after(a1), after(a2["stress"]), after(a3["stress"])
        return {"event": a3["probability"], "conditional": a1["conditional"], "b given": g["b"]["mean"],
                "a given": g["a"]["mean"], "stressed mean": s2["a"]["mean"], "stressed p95": s2["a"]["p95"],
                "tilted sd": s3["a"]["sd"], "tilted claim": a3["stress"]["claims"]["big"]}

    def prior_questions(run):
        a = ask(run, stress="mean(a) = 3.0", workers=1)
        m = after(a["stress"])
        return {"tilted a sd": m["a"]["sd"], "tilted b mean": m["b"]["mean"], "tilted p mean": m["p"]["mean"],
                "tilted y mean": m["y"]["mean"], "tilted claim": a["stress"]["claims"]["big"]}
    for case, path, exact, questions, sizes in (
            ("posterior", "ask-post.toml", post, post_questions, (4_096, 20_000)),
            ("prior, mc", "ask-prior.toml", prior, prior_questions, (4_096, 16_384))):
        for draws in sizes:
            got = []
            for seed in seeds(400):
                r = riskmc.run(str(folder / path), draws=draws, seed=seed + 1, workers=1)
                got.append(questions(Run.of(r.summary, r.priors)))
            for stat, e in exact.items():
                record("ask", case, draws, stat, [g[stat]["value"] for g in got], [g[stat]["mcse"] for g in got], e)


# ------------------------------------------------------------------ compare: paired shifts
def compare_study(folder: Path) -> None:
    from riskmc.analyze.compare import compare
    from riskmc.runs import Run
    (folder / "lin.py").write_text(LIN_MODEL)
    base = textwrap.dedent(LIN_PRIORS).split("[evidence.obs]")[0] + '[claims.big]\noutput = "y"\nabove = 5.0\n'
    (folder / "cmp-a.toml").write_text(base)
    (folder / "cmp-wider.toml").write_text(base.replace("mean = 1.0\nsd = 2.0", "mean = 1.5\nsd = 2.5"))
    (folder / "cmp-post.toml").write_text(base + '[evidence.obs]\ninput = "a"\nvalue = 4.0\nsd = 1.0\n'
                                          'source = "test"\n')
    z = stats.norm.ppf(0.95)
    ya = (2.0, math.sqrt(17))
    for case, other, yb, samplers in (("wider", "cmp-wider.toml", (3.0, math.sqrt(26)), ("mc", "lhs", "sobol")),
                                       ("posterior", "cmp-post.toml", (6.8, math.sqrt(4 / 1.25 + 1)), ("mc",))):
        exact = {"mean": yb[0] - ya[0], "p5": (yb[0] - z * yb[1]) - (ya[0] - z * ya[1]), "p50": yb[0] - ya[0],
                 "p95": (yb[0] + z * yb[1]) - (ya[0] + z * ya[1]),
                 "claim": stats.norm.sf(5, *yb) - stats.norm.sf(5, *ya)}
        for sampler in samplers:
            for draws in (4_096, 32_768):
                got = []
                for seed in seeds(400):
                    ra = riskmc.run(str(folder / "cmp-a.toml"), draws=draws, seed=seed + 1, workers=1, sampler=sampler)
                    rb = riskmc.run(str(folder / other), draws=draws, seed=seed + 1, workers=1, sampler=sampler)
                    res = compare([ra.summary, rb.summary], ["a", "b"],
                                  [Run.of(ra.summary, ra.priors), Run.of(rb.summary, rb.priors)])
                    row = res["outputs"]["y"]["years"]["all"]
                    got.append({k: row[k]["shifts"][1] for k in ("mean", "p5", "p50", "p95")}
                               | {"claim": res["claims"]["big"]["shifts"][1]})
                for stat, e in exact.items():
                    record("compare", f"{case}, {sampler}", draws, stat, [g[stat]["value"] for g in got],
                           [g[stat]["mcse"] for g in got], e)


# ------------------------------------------------------------------ decisions and VOI
def voi_study(folder: Path) -> None:
    """Decision prices and the value of information on the linear toy (issue's known
    answers): each figure's error bar against the truth over many seeds."""
    from scipy import stats

    from riskmc.analyze.voi import value_of_information
    from riskmc.runs import Run
    examples = Path(__file__).resolve().parents[1] / "examples"
    (folder / "linear.py").write_text((examples / "linear.py").read_text())
    (folder / "voi.toml").write_text((examples / "linear.toml").read_text())
    r = 2 * math.sin(math.pi / 12)
    phi = stats.norm.pdf(0.0)
    a2 = (1 + r) ** 2 / (3 + 2 * r - (1 + r) ** 2)
    truths = {"evpi": math.sqrt(3 + 2 * r) * phi, "evppi x1": (1 + r) * phi, "evppi x3": phi,
              "evppi x1+x2": math.sqrt(2 + 2 * r) * phi, "brier x1": math.asin(a2 / (1 + a2)) / (2 * math.pi)}
    got: dict[str, list] = {k: [] for k in (*truths, "E[take]", "P(take best)")}
    draws = 20_000
    for seed in seeds(100):
        res = riskmc.run(folder / "voi.toml", draws=draws, seed=seed)
        bet = res.decisions["bet"]
        got["E[take]"].append(bet.options["take"].expected)
        got["P(take best)"].append(bet.options["take"].best)
        v = value_of_information(Run.of(res.summary, res.priors), 2)
        d = v["decisions"]["bet"]
        got["evpi"].append(d["evpi"])
        for g in ("x1", "x3", "x1+x2"):
            got[f"evppi {g}"].append(d["evppi"][g])
        got["brier x1"].append(v["claims"]["up"]["value"]["x1"])
    for stat, truth in (*truths.items(), ("E[take]", 0.0), ("P(take best)", 0.5)):
        record("voi", "linear toy", draws, stat, [e.value for e in got[stat]], [e.mcse for e in got[stat]], truth)


def voi_nested(folder: Path) -> None:
    """EVPPI of one input on the market model (priors/decide.toml) against nested Monte
    Carlo: the input at 200 quantiles (midpoint rule), 50,000 draws of the rest at each,
    so riskmc's 100,000 draws are 1/100 of the nested model evaluations."""
    from dataclasses import replace

    from scipy import stats  # noqa: F401

    from riskmc.analyze.decisions import payoffs, price
    from riskmc.analyze.sample import sample_of
    from riskmc.analyze.voi import value_of_information
    from riskmc.loading import load
    from riskmc.priors.families import make
    from riskmc.runs import Run
    path = Path(__file__).resolve().parents[1] / "priors" / "decide.toml"
    x = "other_merchant_share_2030"
    res = riskmc.run(path, draws=100_000, seed=1)
    v = value_of_information(Run.of(res.summary, res.priors), 2)
    got = v["decisions"]["nvidia_weight"]["evppi"][x]
    ps = load(path)
    d = ps.decisions["nvidia_weight"]
    base = price(d, sample_of(Run.of(res.summary, res.priors), 2))
    prior = ps.priors[x]
    outer = 200
    best = []
    for j in range(outer):
        value = float(prior.family.ppf(np.array([(j + 0.5) / outer]))[0])
        fixed = replace(ps, priors={**ps.priors, x: replace(prior, family=make("fixed", {"value": value}))})
        inner = riskmc.run(fixed, draws=50_000, seed=1000 + j)
        best.append(max(o.expected.value for o in inner.decisions["nvidia_weight"].options.values()))
    nested = float(np.mean(best)) - max(o.expected.value for o in base.options.values())
    print(f"voi        nested EVPPI({x}): riskmc {got.value:.5f} ± {got.mcse:.5f} (100,000 evaluations), "
          f"nested {nested:.5f} ({outer} x 50,000 = {outer * 50_000:,} evaluations): "
          f"{100 * (got.value / nested - 1):+.1f}%", flush=True)
    del payoffs


def main() -> None:
    print("study      case              draws statistic          seeds  cover2 [95% interval]")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if ONLY in (None, "prior"):
            prior_study(folder)
        if ONLY in (None, "importance"):
            posterior_study(folder, "importance")
        if ONLY in (None, "tempered"):
            posterior_study(folder, "tempered")
        if ONLY in (None, "ask"):
            ask_study(folder)
        if ONLY in (None, "compare"):
            compare_study(folder)
        if ONLY in (None, "voi"):
            voi_study(folder)
        if ONLY in (None, "voi-nested"):
            voi_nested(folder)
    bad = [r for r in ROWS if not r[6] <= 0.95 <= r[7] and not (r[0] != "prior" and r[7] >= 0.946)]
    print(f"\n{len(ROWS)} coverages; {len(ROWS) - len(bad)} hold 95% (94.6% for replicates) inside their interval")
    for r in bad:
        print(f"  outside: {r[0]} {r[1]} {r[2]:,} {r[3]}: {r[5]:.1%} [{r[6]:.1%}, {r[7]:.1%}]")


if __name__ == "__main__":
    main()
