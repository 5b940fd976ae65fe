"""The one-pass marginals give each prior's own inverse CDF, clipped to the model's bounds."""

import numpy as np
from scipy import stats

from riskmc.api import load as load_bound
from riskmc.kernel.marginals import Marginals
from riskmc.model import Input
from riskmc.numeric import blocks
from riskmc.priors import load
from tests.conftest import BASE, spec_model


def test_marginals_equal_each_priors_ppf_tails_included():
    ps = load_bound(BASE)
    inputs = ps.model.inputs
    u = np.random.default_rng(2).random((len(inputs), 50_000))
    u[:, :4] = np.array([1e-12, 1e-9, 1 - 1e-9, 0.5])  # far tails (a beta's logit table spans 1e-13) and the middle
    out = Marginals(ps, inputs)(u, blocks.empty(u.shape))
    for j, spec in enumerate(inputs):
        fam = ps.priors[spec.name].family
        want = np.clip(fam.ppf(u[j].copy()), spec.lower, spec.upper)
        # Tables in the bulk are within 1e-6 of the central 90% (their stated accuracy);
        # the tails are exact (the same AS241 for normals, a logit table for betas).
        spread = np.subtract(*fam.quantiles([0.95, 0.05])) or 1.0
        if fam.name == "lognormal":  # interpolated in log space: relative accuracy
            np.testing.assert_allclose(out[j], want, rtol=1e-6 * fam.sigma * 4, err_msg=spec.name)
        else:
            np.testing.assert_allclose(out[j], want, rtol=0, atol=1e-6 * spread, err_msg=spec.name)


def test_tabulated_beta_tails_match_scipy_to_the_stated_accuracy():
    ps = load_bound(BASE)
    j = ps.model.input_names.index("custom_share_2030")
    fam = ps.priors["custom_share_2030"].family
    u = np.zeros((len(ps.model.inputs), 4)) + 0.5
    u[j] = [1e-12, 1e-4, 1 - 1e-4, 1 - 1e-12]
    out = Marginals(ps, ps.model.inputs)(u, np.empty(u.shape))
    ref = stats.beta(fam.a, fam.b, loc=fam.lower, scale=fam.upper - fam.lower).ppf(u[j])
    assert np.max(np.abs(out[j] - ref)) < 1e-6 * (fam.upper - fam.lower)


def test_priors_without_tables_still_work(write_toml):
    ps = load(write_toml("""
[priors.a]
description = "a"
unit = "x"
source = "assumption"
family = "truncnormal"
mean = 7.0
sd = 1.0
lower = -1.0
upper = 10.0
"""), model=spec_model((Input("a", "x", "a", 0.0),)))
    out = Marginals(ps, (Input("a", "x", "a", 0.0),))(np.array([[1e-15, 0.5]]), np.empty((1, 2)))
    assert out[0, 0] == 0.0  # clipped at the model's lower bound
    assert out[0, 1] == ps.priors["a"].family.ppf(np.array([0.5]))[0]


def test_each_table_is_stored_once_and_read_exactly():
    """Priors of one shape read one table (every normal and lognormal prior the standard
    normal's), and the bulk is that table's linear interpolation to the last bit."""
    from riskmc.numeric.lookup import BULK, EDGE
    ps = load_bound(BASE)
    inputs = ps.model.inputs
    m = Marginals(ps, inputs)
    looks = [look for look in (ps.priors[s.name].family.lookup() for s in inputs) if look]
    assert len(m.x) == len({id(look.table) for look in looks}) < len(looks)
    u = np.random.default_rng(3).uniform(EDGE, 1 - EDGE, (len(inputs), 20_000))
    out = m(u, blocks.empty(u.shape))
    for p, (j, look) in enumerate(zip(m.rows, looks, strict=True)):
        x = m.x[m.which[p]]
        assert np.array_equal(x, look.table.x, equal_nan=True), inputs[j].name
        pos = u[j] * BULK
        i = pos.astype(np.intp)
        v = look.loc + look.scale * (x[i] + (pos - i) * np.diff(x)[i])
        want = np.clip(np.exp(v) if look.exp else v, inputs[j].lower, inputs[j].upper)
        if look.exp:  # numpy's exp and the compiled one may differ in the last bit
            np.testing.assert_allclose(out[j], want, rtol=4e-16, err_msg=inputs[j].name)
        else:
            assert np.array_equal(out[j], want), inputs[j].name
