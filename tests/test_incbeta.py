"""riskmc.numeric.incbeta against SciPy's betainc, stdtr and bdtr (known answers), and its
limits: the normal as df grows, the ends of [0, 1]."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from riskmc.numeric import incbeta
from riskmc.numeric.normal import ndtr


@pytest.mark.parametrize("a,b", [(0.5, 0.5), (0.5, 2.5), (2.5, 0.5), (1.0, 1.0), (3.0, 7.0),
                                 (50.0, 0.5), (0.5, 400.0), (1e-3, 2.0), (200.0, 300.0)])
def test_betainc_matches_scipy(a, b):
    x = np.concatenate([np.linspace(0, 1, 2001), np.geomspace(1e-12, 1e-3, 50), 1 - np.geomspace(1e-12, 1e-3, 50)])
    ref = special.betainc(a, b, x)
    # Near an end where the density is steep, one unit in the last place of x moves the
    # answer by the density times that unit: both functions are right within it.
    with np.errstate(all="ignore"):
        density = np.nan_to_num(np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - special.betaln(a, b)))
    tol = 1e-12 * np.abs(ref) + 1e-14 + 4 * np.spacing(x) * density
    assert np.all(np.abs(incbeta.betainc(a, b, x) - ref) <= tol)


@pytest.mark.parametrize("df", [0.7, 1.0, 2.0, 5.0, 30.0, 1e4])
def test_t_cdf_matches_scipy(df):
    t = np.concatenate([np.linspace(-60, 60, 4001), [-1e6, 1e6, 0.0]])
    assert np.allclose(incbeta.t_cdf(df, t), special.stdtr(df, t), rtol=1e-11, atol=1e-14)


def test_t_cdf_is_the_normal_for_large_df():
    """The t's CDF differs from the normal's by about z phi(z) (z^2 + 1) / (4 df): 1e-10
    at df = 1e9, where subtracting lgamma values of 1e10 would leave errors of 1e-6."""
    z = np.linspace(-5, 5, 101)
    assert np.max(np.abs(incbeta.t_cdf(1e9, z) - ndtr(z))) < 5e-9


@pytest.mark.parametrize("k,n", [(0, 1), (0, 10), (3, 10), (9, 10), (10, 10), (40, 200)])
def test_binomial_cdf_matches_scipy(k, n):
    p = np.linspace(0, 1, 501)
    assert np.allclose(incbeta.binomial_cdf(k, n, p), special.bdtr(k, n, p), rtol=1e-11, atol=1e-14)
