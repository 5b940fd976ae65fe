"""The market model: sanity anywhere in the support, directions, and the essay's arithmetic."""

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmc.model import market

MODEL = market.MODEL

# Wide but finite stand-ins for unbounded supports.
WIDE = {"$B": (1e-3, 1e5), "GW/yr": (0.0, 100.0), "$B/GW/yr": (0.0, 50.0), "$B/yr": (0.0, 1e3),
        "$": (0.01, 1e3), "ratio": (0.0, 200.0), "fraction/yr": (-0.5, 1.0)}


@functools.cache
def _medians() -> dict[str, float]:
    from riskmc.api import load
    from tests.conftest import BASE
    return {n: float(p.family.quantiles([0.5])[0]) for n, p in load(BASE).priors.items()}


def point(**over) -> dict[str, np.ndarray]:
    """Inputs at their base-case medians (one draw), with some overridden."""
    x = {n: np.array([v]) for n, v in _medians().items()}
    x["ramp_slip"] = np.array([0.0])
    x.update({k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in over.items()})
    return x


def _strategy(spec):
    lo, hi = WIDE.get(spec.unit, (spec.lower, spec.upper))
    lo, hi = max(lo, spec.lower), min(hi, spec.upper)
    if spec.unit == "year":
        lo, hi = spec.lower, spec.upper
    if spec.unit == "event":
        return st.sampled_from([0.0, 1.0])
    return st.floats(lo, hi, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({s.name: _strategy(s) for s in MODEL.inputs}))
def test_sane_anywhere_in_support(values):
    x = {k: np.array([v]) for k, v in values.items()}
    out = MODEL.evaluate(x)
    for name, arr in out.items():
        assert arr.shape == (1, 6), name
        assert np.all(np.isfinite(arr)), (name, arr)
    for name in ("nvidia_share", "custom_workload_share", "custom_spend_share", "aws_share_of_amazon_oi"):
        assert np.all((out[name] >= 0) & (out[name] <= 1)), (name, out[name])
    for name in ("ai_accelerator_spend", "nvidia_dc_revenue", "aws_revenue", "gpu_price_index", "consensus_eps"):
        assert np.all(out[name] >= 0), (name, out[name])


@settings(max_examples=100, deadline=None)
@given(lo=st.floats(0.0, 0.9), step=st.floats(0.01, 0.1))
def test_more_custom_silicon_lowers_nvidia_share(lo, step):
    a = MODEL.evaluate(point(custom_share_2030=lo))["nvidia_share"][0, -1]
    b = MODEL.evaluate(point(custom_share_2030=min(lo + step, 1.0)))["nvidia_share"][0, -1]
    assert b < a


@settings(max_examples=100, deadline=None)
@given(adv=st.floats(0.05, 0.9), step=st.floats(0.01, 0.1))
def test_larger_advantage_kept_as_margin_raises_eps(adv, step):
    # With GPU prices flat, custom silicon stays cheaper, so the saving is positive.
    def eps(a, decline=0.0):
        x = point(custom_cost_advantage=a, savings_kept_as_margin=1.0, gpu_asp_decline=decline)
        return MODEL.evaluate(x)["amazon_eps"][0, -1]
    assert eps(min(adv + step, 0.99)) > eps(adv)
    # Once GPU prices fall below custom silicon's cost the saving is nil: never a loss.
    assert eps(min(adv + step, 0.99), 0.3) >= eps(adv, 0.3)


def test_capex_path_sums_to_the_cumulative_prior():
    c0, cum = np.array([400.0, 500.0, 600.0]), np.array([3000.0, 2500.0, 3600.0])
    g = np.array([market.capex_growth(b / a, 6) for a, b in zip(c0, cum)])
    np.testing.assert_allclose((c0[:, None] * g[:, None] ** np.arange(6)).sum(axis=1), cum, rtol=1e-10)


def test_essay_aws_arithmetic_with_point_priors():
    """F11 x F12 from the 2025 base: the essay's $175B (F13) does not follow (docs/market.md)."""
    x = point(aws_revenue_2025=128.5, aws_core_growth=0.0, aws_capacity_add_gw=3.8,
              aws_revenue_per_gw=3.0, aws_first_year_utilisation=1.0, ai_factory_revenue_2030=0.0,
              savings_kept_as_margin=1.0)
    out = MODEL.evaluate(x)
    # 128.5 + 3.8 GW x $3B/GW = 139.9: capacity alone adds $11.4B a year.
    assert out["aws_revenue"][0, 1] == pytest.approx(128.5 + 3.8 * 3.0)
    # Reaching $175B in 2026 needs (175 - 128.5) / 3 = 15.5 GW of new capacity in a year.
    x2 = dict(x, aws_capacity_add_gw=np.array([(175 - 128.5) / 3.0]))
    assert MODEL.evaluate(x2)["aws_revenue"][0, 1] == pytest.approx(175.0)


def test_nvidia_share_formula_by_hand():
    x = point(hyperscaler_fraction=0.6, custom_share_2025=0.2, custom_cost_advantage=0.35,
              other_merchant_share_2025=0.08, gpu_asp_peak_year=2028.0)
    s = MODEL.evaluate(x)["nvidia_share"][0, 0]
    sigma = 0.2 * 0.65 / (0.2 * 0.65 + 0.8 * 1.0)
    assert s == pytest.approx((0.6 * (1 - sigma) + 0.4) * (1 - 0.08))


def test_model_doc_is_current():
    """The inputs table in the market model's doc lists today's inputs, and docs/base-case.md
    was made from today's priors/base.toml."""
    import hashlib
    import re

    from tests.conftest import BASE, ROOT
    doc = MODEL.doc
    for spec in MODEL.inputs:
        assert re.search(rf"\| `{spec.name}` \| {re.escape(spec.unit)} \|", doc), spec.name
    base = (ROOT / "docs" / "base-case.md").read_text()
    sha = hashlib.sha256(BASE.read_bytes()).hexdigest()
    assert f"(priors SHA-256 `{sha}`)" in base, "run `make model-doc` after editing priors/base.toml"
