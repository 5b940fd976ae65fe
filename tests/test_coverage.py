"""Error bars that mean what they say: over many seeds, +-2 MCSE covers the known answer
about 95% of the time, for every sampler, at small and large draw counts.

The model is known in closed form: the sum of two independent normals (a normal), and one
input alone (where Latin hypercube and Sobol stratify so well that every chunk counts the
same number of draws below a quantile: the case that used to report an MCSE of zero).
Seeds are fixed, so the figures below are the same on every run of the suite; the
tolerances say how far a fair 95% interval may stray over this many seeds.
"""

import numpy as np
import pytest
from scipy import stats

from riskmc.analyze import ClaimCounter
from riskmc.kernel.engine import Kernel, execute, plan
from riskmc.kernel.finalize import finalize, probabilities
from riskmc.kernel.streams import handle_seed
from riskmc.model import Input, Model, Output
from riskmc.priors import Claim, load
from tests.conftest import NORMAL_A, NORMAL_B, toy_priors

SPECS = (Input("a", "x", "a"), Input("b", "x", "b"))
PRIORS = toy_priors(a=NORMAL_A, b=NORMAL_B)
TRUTH = {
    "sum": stats.norm(4.0, np.sqrt(20.0)),  # a + b
    "one": stats.norm(1.0, 2.0),            # a alone
}
SEEDS = range(300)


def fn(x, years):
    return {"sum": x["a"] + x["b"], "one": x["a"]}


MODEL = Model("cov", inputs=SPECS, outputs=[Output("sum", headline=True), Output("one")], vectorised=fn)


CLAIMS = [Claim("up", "", "sum", (), above=8.0), Claim("down", "", "one", (), below=0.0)]
CLAIM_TRUTH = {"up": TRUTH["sum"].sf(8.0), "down": TRUTH["one"].cdf(0.0)}


def estimates(ps, sampler, draws, seed):
    counter = ClaimCounter(CLAIMS, ("sum", "one"), None)
    kernel = Kernel(ps, MODEL, handle_seed(seed), plan(draws, sampler), counter)
    b, t = execute(kernel, 1)
    out = finalize(t, b, sampler, ["sum", "one"])[0]
    for c, pr in zip(CLAIMS, probabilities(t, sampler)):
        out[c.name] = {"probability": pr}
    return out


@pytest.fixture(scope="module")
def priors(tmp_path_factory):
    path = tmp_path_factory.mktemp("cov") / "p.toml"
    path.write_text(PRIORS)
    return load(path, model=MODEL)


def truth(output, stat):
    if stat == "probability":
        return CLAIM_TRUTH[output]
    d = TRUTH[output]
    return {"mean": d.mean(), "sd": d.std(), "p5": d.ppf(0.05), "p25": d.ppf(0.25), "p50": d.ppf(0.5),
            "p75": d.ppf(0.75), "p95": d.ppf(0.95)}[stat]


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["mc", "lhs", "sobol"])
@pytest.mark.parametrize("draws", [20_000, 131_072], ids=["small", "large"])
def test_two_mcse_covers_the_known_answer(priors, sampler, draws):
    runs = [estimates(priors, sampler, draws, seed) for seed in SEEDS]
    report = []
    cases = [(o, st) for o in ("sum", "one") for st in ("mean", "sd", "p5", "p50", "p95")]
    for output, stat in cases + [("up", "probability"), ("down", "probability")]:
        v = np.array([r[output][stat].value for r in runs])
        e = np.array([r[output][stat].mcse for r in runs])
        assert np.all(np.isfinite(e)) and np.all(e > 0), (output, stat)
        cover = np.mean(np.abs(v - truth(output, stat)) <= 2 * e)
        # The spread of the estimates over seeds against the error each run reports.
        ratio = np.std(v, ddof=1) / np.sqrt(np.mean(e ** 2))
        report.append((output, stat, cover, ratio))
        # 95.4% nominal (94.8% for batch means over 32-40 batches); over 300 seeds a
        # fair interval covers 90% or more with probability above 0.9999. Stratified
        # samplers may be conservative (ratio < 1) where the floor holds, never
        # overconfident.
        assert cover >= 0.90, report[-1]
        assert ratio <= 1.2, report[-1]
        if sampler == "mc" or output in ("sum", "up"):
            assert ratio >= 0.8, report[-1]


@pytest.mark.parametrize("sampler", ["mc", "lhs"])
def test_quantiles_cover_at_the_smallest_run(priors, sampler):
    """At LHS's minimum of 2,048 draws: over 400 seeds each quantile's +-2 MCSE covers
    within 95% +- 2% (LHS was 88.5-93% with 32 blocks of 64 draws, now blocks of 32; plain
    MC's tail quantiles 91.8-92.2%, their order-statistic band spanning ten draws: both now
    read the quantile's slope over a window of at least 80 draws).
    One input alone is stratified exactly (every block counts the same draws below most
    quantiles), so its error bars rest on their floor: conservative, never short."""
    runs = [estimates(priors, sampler, 2_048, seed) for seed in range(400)]
    for output in ("sum", "one"):
        for stat in ("p5", "p25", "p50", "p75", "p95"):
            v = np.array([r[output][stat].value for r in runs])
            e = np.array([r[output][stat].mcse for r in runs])
            cover = np.mean(np.abs(v - truth(output, stat)) <= 2 * e)
            if output == "one" and sampler == "lhs":
                assert cover >= 0.93, (output, stat, cover)
            else:
                assert 0.93 <= cover <= 0.97, (output, stat, cover)
