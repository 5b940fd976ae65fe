"""Dependence: marginals stay exactly as stated; rank correlations come out as stated."""

import numpy as np
import pytest
from scipy import stats

from riskmc.kernel.engine import draw_inputs
from riskmc.model import Input
from riskmc.priors import load
from riskmc.priors.copula import nearest_correlation, pearson_to_spearman, spearman_to_pearson
from tests.conftest import spec_model

SPECS = (Input("s", "fraction", "s", 0, 1), Input("g", "$B", "g", 0), Input("n", "x", "n"))
FILE = """
[priors.s]
description = "d"
unit = "fraction"
source = "assumption"
range = [0.3, 0.5]

[priors.g]
description = "d"
unit = "$B"
source = "assumption"
range = [2.0, 8.0]

[priors.n]
description = "d"
unit = "x"
source = "assumption"
family = "normal"
mean = 0.0
sd = 1.0

[correlations]
"s ~ g" = 0.6
"g ~ n" = -0.4
"""


@pytest.mark.parametrize("sampler", ["mc", "lhs", "sobol"])
def test_marginals_and_rank_correlations(write_toml, sampler):
    from riskmc.numeric.samplers import SAMPLERS
    ps = load(write_toml(FILE), model=spec_model(SPECS))
    n = 2 ** 16
    x = draw_inputs(ps, SPECS, SAMPLERS[sampler].draw(n, 3, np.random.default_rng(0)))
    # Marginals: Kolmogorov-Smirnov against each prior's SciPy distribution, at the 0.1% level.
    for name in ("s", "g", "n"):
        assert stats.kstest(x[name], ps.priors[name].family.scipy().cdf).pvalue > 1e-3, name
    # Rank correlations within 4 standard errors (sqrt(1.06 / (n - 3)) on Fisher's z scale).
    se = np.sqrt(1.06 / (n - 3))
    for a, b, rho in (("s", "g", 0.6), ("g", "n", -0.4), ("s", "n", 0.0)):
        r = stats.spearmanr(x[a], x[b]).statistic
        assert abs(np.arctanh(r) - np.arctanh(rho)) < 4 * se, (a, b, r)


def test_spearman_pearson_roundtrip():
    rho = np.linspace(-1, 1, 21)
    np.testing.assert_allclose(pearson_to_spearman(spearman_to_pearson(rho)), rho, atol=1e-12)


def test_nearest_correlation_is_valid_and_close():
    a = np.array([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1.0]])
    c = nearest_correlation(a)
    assert np.linalg.eigvalsh(c).min() > -1e-9
    np.testing.assert_allclose(np.diag(c), 1.0)
    assert np.abs(c - a).max() < 0.7
