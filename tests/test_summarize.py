"""Monte Carlo standard errors: against arviz, and calibrated over many seeds."""

import arviz as az
import numpy as np
import pytest

from riskmc.kernel.summarize import PROBS, summarize


def test_iid_mcse_matches_arviz():
    rng = np.random.default_rng(5)
    x = rng.gamma(2.0, size=(8, 25_000))  # 8 chunks as chains
    s = summarize(x.ravel(), [25_000] * 8, "mc")
    # Tolerance 5%: arviz estimates the ESS, our closed forms assume iid (true here).
    assert s.mean.mcse == pytest.approx(float(az.mcse(x, method="mean")), rel=0.05)
    assert s.sd.mcse == pytest.approx(float(az.mcse(x, method="sd")), rel=0.05)
    for k, p in PROBS.items():
        assert s[k].mcse == pytest.approx(float(az.mcse(x, method="quantile", prob=p)), rel=0.05), k


@pytest.mark.parametrize("sampler", ["mc", "lhs"])
def test_mcse_is_calibrated_over_seeds(sampler):
    """Over 200 seeds the spread of each estimate matches its mean reported MCSE within 20%."""
    from riskmc.numeric.samplers import SAMPLERS
    n, chunks = 4096, 16
    est = {k: [] for k in ("mean", "p50", "p95")}
    rep = {k: [] for k in est}
    for seed in range(200):
        rng = np.random.default_rng(seed)
        u = np.concatenate([SAMPLERS[sampler].draw(n, 2, rng) for _ in range(chunks)], axis=1)
        y = np.exp(u[0]) + u[1] ** 2  # a smooth nonlinear function
        s = summarize(y, [n] * chunks, sampler)
        for k in est:
            est[k].append(s[k].value)
            rep[k].append(s[k].mcse)
    for k in est:
        assert np.std(est[k], ddof=1) == pytest.approx(np.mean(rep[k]), rel=0.2), k


