"""Fitting families to stated quantiles: known answers, tolerances, and clear failures."""

import numpy as np
import pytest
from hypothesis import example, given, note, settings
from hypothesis import strategies as st
from scipy import stats

from riskmc.errors import FitError, PriorsError
from riskmc.priors.fit import TOLERANCE, default_family, fit
from tests.conftest import ROOT


def test_normal_closed_form():
    f = fit([0.05, 0.95], [10.0, 20.0], "normal")
    z = stats.norm.ppf(0.95)
    assert f.family.mean == pytest.approx(15.0)
    assert f.family.sd == pytest.approx(5.0 / z)


def test_beta_reproduces_quantiles_against_scipy():
    f = fit([0.05, 0.95], [0.30, 0.50])
    assert f.family.name == "beta"
    ref = stats.beta(f.family.a, f.family.b).ppf([0.05, 0.95])
    np.testing.assert_allclose(ref, [0.30, 0.50], atol=TOLERANCE * 0.2 * 0.01)


def test_lognormal_for_positive_quantities():
    f = fit([0.05, 0.95], [2200.0, 4000.0])
    assert f.family.name == "lognormal"
    np.testing.assert_allclose(stats.lognorm(f.family.sigma, scale=np.exp(f.family.mu)).ppf([0.05, 0.95]),
                               [2200, 4000], rtol=1e-9)


def test_metalog_through_three_quantiles():
    f = fit([0.05, 0.5, 0.95], [0.30, 0.36, 0.50], "metalog", {"lower": 0.0, "upper": 1.0})
    np.testing.assert_allclose(f.family.ppf(np.array([0.05, 0.5, 0.95])), [0.30, 0.36, 0.50], atol=1e-12)


def test_three_quantiles_two_parameter_family_misses_and_suggests():
    with pytest.raises(FitError) as exc:
        fit([0.05, 0.5, 0.95], [0.30, 0.36, 0.50], "beta")
    assert str(exc.value) == (
        "beta misses the stated quantiles by 12.1% of the stated range (tolerance 0.5%): implied "
        "p05=0.2867, p50=0.3842, p95=0.4884 (try family = \"metalog\", lower = 0, upper = 1)")


def test_out_of_order():
    with pytest.raises(PriorsError) as exc:
        fit([0.05, 0.95], [0.5, 0.3])
    assert str(exc.value) == "quantiles out of order: p05 = 0.5 must be less than p95 = 0.3"


def test_outside_support():
    with pytest.raises(PriorsError) as exc:
        fit([0.05, 0.95], [0.8, 1.2], "beta")
    assert str(exc.value) == ("stated quantiles 0.8, 1.2 lie outside the support of beta (0 to 1); "
                              "choose another family or widen its bounds")


@pytest.mark.parametrize("lo,hi,family", [(0.3, 0.5, "beta"), (3.0, 5.0, "lognormal"),
                                          (-0.1, 0.2, "normal"), (0.0, 1.0, "beta")])
def test_default_family(lo, hi, family):
    assert default_family(lo, hi) == family


@settings(max_examples=80, deadline=None)
@given(lo=st.floats(0.01, 0.9), width=st.floats(0.02, 0.5), conf=st.sampled_from([0.5, 0.8, 0.9, 0.98]))
@example(lo=0.01, width=0.02, conf=0.98)
@example(lo=0.3, width=0.2, conf=0.9)
def test_two_quantile_fits_roundtrip(lo, width, conf):
    """Any interval inside (0, 1) fits a beta that reproduces it within the tolerance."""
    hi = min(lo + width, 0.99)
    tail = (1 - conf) / 2
    note(f"range [{lo}, {hi}] at {conf}")
    f = fit([tail, 1 - tail], [lo, hi])
    assert f.error <= TOLERANCE
    # Round trip through the family's own (SciPy) quantiles.
    implied = f.family.quantiles([tail, 1 - tail])
    assert np.max(np.abs(implied - [lo, hi])) <= TOLERANCE * (hi - lo)


@settings(max_examples=60, deadline=None)
@given(family=st.sampled_from(["normal", "lognormal", "truncnormal"]),
       lo=st.floats(0.5, 100), ratio=st.floats(1.05, 10))
def test_positive_fits_roundtrip(family, lo, ratio):
    hi = lo * ratio
    f = fit([0.05, 0.95], [lo, hi], family)
    assert f.error <= TOLERANCE


def test_without_a_family_the_one_that_meets_three_quantiles_is_used_and_said():
    """The README's own example: three quantiles of a share that no beta meets. With no
    family stated, riskmc uses the bounded metalog that meets them, and says so."""
    from riskmc.priors.fit import fit_unstated
    f = fit_unstated([0.05, 0.5, 0.95], [0.30, 0.38, 0.50])
    assert f.family.name == "metalog" and f.ok
    np.testing.assert_allclose(f.family.ppf(np.array([0.05, 0.5, 0.95])), [0.30, 0.38, 0.50], atol=1e-12)
    assert f.note == ('beta misses the stated quantiles by 5.6% of the stated range (tolerance 0.5%); riskmc used '
                      'family = "metalog", lower = 0, upper = 1, which meets them (state a family to choose another)')
    assert fit_unstated([0.05, 0.95], [0.30, 0.50]).note is None  # the default meets two quantiles


def test_a_priors_file_gets_the_family_that_meets_its_quantiles(write_toml):
    import riskmc
    p = write_toml(f'''
        extends = "{ROOT / "priors" / "base.toml"}"
        [priors.custom_share_2030]
        p05 = 0.30
        p50 = 0.38
        p95 = 0.50
        ''')
    ps = riskmc.load(p)
    assert ps.priors["custom_share_2030"].family.name == "metalog"
    assert any(w.startswith(f"{p}:2: prior 'custom_share_2030': beta misses the stated quantiles by 5.6%")
               for w in ps.warnings)
