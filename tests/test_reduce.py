"""Streamed reductions against numpy on all the draws: quantiles within a tenth of their MCSE."""

import numpy as np
import pytest

import riskmc
from riskmc.kernel.reduce import PROBS
from riskmc.kernel.summarize import probability, summarize


@pytest.mark.parametrize("dist", ["normal", "lognormal", "beta", "mixture"])
def test_quantiles_within_a_tenth_of_mcse(dist):
    rng = np.random.default_rng(9)
    n = 2 ** 20
    x = {"normal": lambda: rng.normal(3, 2, n),
         "lognormal": lambda: rng.lognormal(0, 1, n),
         "beta": lambda: rng.beta(2, 30, n),
         "mixture": lambda: np.where(rng.random(n) < 0.3, 1.0, rng.normal(0.8, 0.05, n))}[dist]()
    s = summarize(x, [2 ** 14] * 64, "mc")
    exact = np.quantile(x, list(PROBS.values()))
    for k, q in zip(PROBS, exact):
        assert abs(s[k].value - q) <= 0.1 * s[k].mcse, (k, s[k], q)
    assert s.mean.value == pytest.approx(x.mean(), rel=1e-12)
    assert s.sd.value == pytest.approx(x.std(ddof=1), rel=1e-9)


def test_base_run_quantiles_match_the_draws():
    from tests.conftest import BASE
    r = riskmc.run(BASE, draws=200_000, seed=5, keep_draws=True)
    for name in ("nvidia_share", "amazon_eps_upside", "aws_revenue", "gpu_price_index"):
        for j, y in enumerate(r.years):
            s = r.stats[f"{name}[{y}]"]
            exact = np.quantile(r.outputs[name][:, j], list(PROBS.values()))
            for (k, _), q in zip(PROBS.items(), exact):
                assert abs(s[k].value - q) <= max(0.1 * s[k].mcse, 1e-12), (name, y, k)


def test_constant_is_exact():
    s = summarize(np.full(50_000, 0.25), [25_000, 25_000], "mc")
    assert all(e.value == 0.25 and e.mcse == 0.0 for k, e in s.items() if k != "sd")


def test_probability_mcse():
    hit = np.random.default_rng(1).random(100_000) < 0.3
    p = probability(hit, [50_000, 50_000], "mc")
    assert p.value == hit.mean()
    assert p.mcse == pytest.approx(np.sqrt(0.3 * 0.7 / 100_000), rel=0.01)
