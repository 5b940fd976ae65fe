"""Each family's fast inverse CDF against SciPy's (known answers)."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

from riskmc.errors import PriorsError
from riskmc.priors.families import make

U = np.concatenate([np.linspace(1e-9, 1e-3, 50), np.linspace(1e-3, 1 - 1e-3, 999),
                    np.linspace(1 - 1e-3, 1 - 1e-9, 50)])

CASES = [
    ("normal", {"mean": 1.5, "sd": 0.3}, stats.norm(1.5, 0.3)),
    ("lognormal", {"mu": 1.0, "sigma": 0.4}, stats.lognorm(0.4, scale=np.exp(1.0))),
    ("uniform", {"lower": -2.0, "upper": 3.0}, stats.uniform(-2, 5)),
    ("beta", {"a": 2.5, "b": 7.0}, stats.beta(2.5, 7.0)),
    ("beta", {"a": 0.6, "b": 0.8, "lower": 10.0, "upper": 20.0}, stats.beta(0.6, 0.8, 10, 10)),
    ("triangular", {"lower": 0.0, "mode": 1.0, "upper": 3.0}, stats.triang(1 / 3, 0, 3)),
    ("pert", {"lower": 0.0, "mode": 1.0, "upper": 3.0}, stats.beta(1 + 4 / 3, 1 + 8 / 3, 0, 3)),
    ("truncnormal", {"mean": 0.2, "sd": 0.1, "lower": 0.0, "upper": 1.0},
     stats.truncnorm(-2, 8, 0.2, 0.1)),
]


@pytest.mark.parametrize("name,params,ref", CASES, ids=[c[0] for c in CASES])
def test_ppf_matches_scipy(name, params, ref):
    fam = make(name, params)
    lo, hi = ref.ppf([1e-9, 1 - 1e-9])
    # Tolerance: 1e-6 of the 1e-9..1-1e-9 range (the beta table's documented accuracy).
    np.testing.assert_allclose(fam.ppf(U), ref.ppf(U), rtol=0, atol=1e-6 * (hi - lo))


@settings(max_examples=60, deadline=None)
@given(a=st.floats(0.3, 400), b=st.floats(0.3, 400))
@example(a=0.3, b=0.3)
@example(a=351.3, b=638.7)
def test_beta_table_accuracy(a, b):
    fam = make("beta", {"a": a, "b": b})
    ref = stats.beta(a, b).ppf(U)
    assert np.max(np.abs(fam.ppf(U) - ref)) < 1e-6


def test_bernoulli_frequency():
    u = np.random.default_rng(3).random(200_000)
    x = make("bernoulli", {"p": 0.25}).ppf(u)
    # 5 standard errors of a binomial proportion.
    assert abs(x.mean() - 0.25) < 5 * np.sqrt(0.25 * 0.75 / len(u))


@pytest.mark.parametrize("name,params,message", [
    ("normal", {"mean": 0, "sd": -1}, "sd must be positive, got -1"),
    ("beta", {"a": 0, "b": 1}, "a and b must be positive, got a=0, b=1"),
    ("uniform", {"lower": 2, "upper": 1}, "upper must be greater than lower, got lower=2, upper=1"),
    ("pert", {"lower": 0, "mode": 5, "upper": 3}, "need lower < mode < upper, got 0, 5, 3"),
    ("bernoulli", {"p": 1.5}, "p must be in [0, 1], got 1.5"),
])
def test_illegal_parameters(name, params, message):
    with pytest.raises(PriorsError) as exc:
        make(name, params)
    assert str(exc.value) == message


def test_discrete_frequencies_and_scipy():
    fam = make("discrete", {}, points=(0.0, 1.0, 2.0), weights=(0.5, 0.3, 0.2))
    u = np.random.default_rng(4).random(300_000)
    x = fam.ppf(u)
    for v, w in zip(fam.points, fam.weights):
        # 5 binomial standard errors.
        assert abs((x == v).mean() - w) < 5 * np.sqrt(w * (1 - w) / len(u))
    np.testing.assert_array_equal(fam.quantiles([0.1, 0.6, 0.9]), fam.scipy().ppf([0.1, 0.6, 0.9]))


def test_discrete_probs_must_add_up():
    with pytest.raises(PriorsError) as exc:
        make("discrete", {}, points=(0.0, 1.0), weights=(0.5, 0.6))
    assert str(exc.value) == "discrete probs must add up to 1, got 1.1"
