"""The market model: AI capex -> NVIDIA's share of accelerator spend; AWS -> Amazon EPS upside.

Every equation is in docs/model.md with its reasoning. The model is a pure function of
arrays (one value per draw); it knows nothing of files, samplers or reports.
"""

from __future__ import annotations

import numpy as np

from .spec import Input, Output

YEARS = np.arange(2025, 2031)
_T = (YEARS - YEARS[0]).astype(float)  # years since 2025: 0..5
_Y = YEARS.astype(float)
_F = (_T / _T[-1])[:, None]  # fraction of the way from 2025 to 2030, as a column

INPUTS: tuple[Input, ...] = (
    # --- NVIDIA side
    Input("ai_capex_2025", "$B", "AI-infrastructure capex in 2025 (all buyers)", 1),
    Input("ai_capex_cum_2030", "$B", "cumulative AI-infrastructure capex 2025-2030 (F6)", 1),
    Input("accelerator_fraction", "fraction", "share of AI capex spent on accelerators", 0, 1),
    Input("hyperscaler_fraction", "fraction", "hyperscalers' share of accelerator demand", 0, 1),
    Input("custom_share_2025", "fraction", "custom-silicon share of hyperscaler AI workloads, 2025", 0, 1),
    Input("custom_share_2030", "fraction", "custom-silicon share of hyperscaler AI workloads, 2030 (F4)", 0, 1),
    Input("custom_ramp_midpoint", "year", "year the custom-silicon ramp is half done", 2024, 2032),
    Input("ramp_slip", "event", "1 if the custom-silicon ramp slips a year", 0, 1),
    Input("custom_cost_advantage", "fraction", "custom silicon's cost saving per workload vs GPUs at 2025 prices (F2)", 0, 0.99),
    Input("other_merchant_share_2025", "fraction", "AMD and other merchant vendors' share of merchant spend, 2025", 0, 1),
    Input("other_merchant_share_2030", "fraction", "AMD and other merchant vendors' share of merchant spend, 2030", 0, 1),
    Input("gpu_asp_peak_year", "year", "year NVIDIA's GPU price per unit peaks (F7)", 2024, 2032),
    Input("gpu_asp_decline", "fraction/yr", "yearly fall in GPU price after the peak (F7)", 0, 0.99),
    # --- Amazon side
    Input("aws_revenue_2025", "$B", "AWS revenue in 2025 (F9)", 1),
    Input("aws_core_growth", "fraction/yr", "growth of AWS revenue not tied to new AI capacity", -1),
    Input("aws_capacity_add_gw", "GW/yr", "AWS power capacity added per year, 2026-2030 (F11)", 0),
    Input("aws_revenue_per_gw", "$B/GW/yr", "annual revenue one GW of new capacity supports (F12)", 0),
    Input("aws_first_year_utilisation", "fraction", "share of a year's new capacity revenue earned in that year", 0, 1),
    Input("aws_margin_2025", "fraction", "AWS operating margin, 2025", 0.01, 0.99),
    Input("aws_accelerator_cost_fraction", "fraction", "accelerator cost as a share of AI-capacity revenue", 0, 1),
    Input("savings_kept_as_margin", "fraction", "share of custom-silicon savings kept as margin, not passed on (F14)", 0, 1),
    Input("ai_price_elasticity", "ratio", "% rise in AI compute demand per % price cut", 0),
    Input("ai_factory_revenue_2030", "$B/yr", "sovereign 'AI Factory' revenue in 2030 (F8)", 0),
    Input("aws_share_of_amazon_oi_2025", "fraction", "AWS share of Amazon operating income, 2025 (F10)", 0.01, 0.99),
    Input("non_aws_oi_growth", "fraction/yr", "growth of Amazon's non-AWS operating income", -1),
    Input("tax_rate_2025", "fraction", "Amazon's effective tax rate, 2025", 0, 0.9),
    Input("tax_rate_2030", "fraction", "Amazon's effective tax rate, 2030", 0, 0.9),
    Input("share_dilution", "fraction/yr", "yearly growth of Amazon's diluted share count", -1),
    Input("amazon_eps_2025", "$", "Amazon's 2025 diluted EPS (the anchor year)", 0.01),
    Input("consensus_eps_2026", "$", "consensus Amazon EPS for 2026", 0.01),
    Input("consensus_eps_growth", "fraction/yr", "consensus EPS growth per year after 2026", -1),
    Input("amazon_pe_now", "ratio", "Amazon's trailing P/E today (F15)", 1),
    Input("amazon_pe_rerated", "ratio", "Amazon's P/E once custom-silicon margins are priced in (F15)", 0),
)

OUTPUTS: tuple[Output, ...] = (
    Output("nvidia_share", "fraction", "NVIDIA's share of AI-accelerator spend", True, "share"),
    Output("amazon_eps_upside", "fraction", "Amazon EPS upside vs consensus", True, "share"),
    Output("ai_accelerator_spend", "$B", "AI-accelerator spend"),
    Output("nvidia_dc_revenue", "$B", "NVIDIA accelerator (datacenter) revenue"),
    Output("custom_workload_share", "fraction", "custom-silicon share of hyperscaler workloads", kind="share"),
    Output("custom_spend_share", "fraction", "custom-silicon share of hyperscaler accelerator spend", kind="share"),
    Output("gpu_price_index", "2025 = 1", "GPU price per unit (index)", kind="ratio"),
    Output("aws_revenue", "$B", "AWS revenue"),
    Output("aws_operating_margin", "fraction", "AWS operating margin", kind="share"),
    Output("aws_share_of_amazon_oi", "fraction", "AWS share of Amazon operating income", kind="share"),
    Output("amazon_operating_income", "$B", "Amazon operating income"),
    Output("amazon_eps", "$", "Amazon diluted EPS"),
    Output("consensus_eps", "$", "consensus Amazon EPS"),
    Output("amazon_price_upside", "fraction", "Amazon implied price upside (EPS x P/E)", kind="share"),
)

INPUT_NAMES = tuple(i.name for i in INPUTS)
OUTPUT_NAMES = tuple(o.name for o in OUTPUTS)


def capex_growth(c0: np.ndarray, cum: np.ndarray, years: int = 6) -> np.ndarray:
    """Growth factor g with c0 * (1 + g + ... + g^(years-1)) = cum, per draw.

    Newton's method on the polynomial (Horner form) from the rate that a straight line
    through the average would need; the sum is convex and increasing in g > 0, so the
    iteration converges monotonically after the first step.
    """
    ratio = cum / c0
    g = np.maximum(1.0 + 2.0 * (ratio / years - 1.0) / (years - 1), 0.05)
    for _ in range(60):
        f = np.ones_like(g)
        df = np.zeros_like(g)
        for _k in range(years - 1):
            df = df * g + f
            f = f * g + 1.0
        step = (f - ratio) / df
        g = np.maximum(g - step, 0.5 * g)
        if np.max(np.abs(step)) < 1e-12:
            break
    return g


def _ramp(start, end, midpoint):
    """Logistic path from `start` in 2025 to `end` in 2030, half-way at `midpoint`.

    The logistic is rescaled so both end points hold exactly whatever the midpoint.
    Arrays here are year-major (year, draw), so each year's values are contiguous.
    """
    x = 1 / (1 + np.exp(-(_Y[:, None] - midpoint[None, :])))
    frac = (x - x[0]) / (x[-1] - x[0])
    return start + (end - start) * frac


def _linear(start, end):
    return start + (end - start) * _F


def _powers(base):
    """base ** t for t = 0..5 by repeated multiplication (year-major)."""
    out = np.empty((len(_T), len(base)))
    out[0] = 1.0
    for k in range(1, len(_T)):
        np.multiply(out[k - 1], base, out=out[k])
    return out


def evaluate(x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map inputs (name -> array[draw]) to outputs (name -> array[draw, year], 2025..2030).

    Computed year-major, (year, draw); the outputs are transposed views, so a caller
    that wants one year's draws gets them contiguous.
    """
    # ---- NVIDIA side (docs/model.md, section 1)
    g = capex_growth(x["ai_capex_2025"], x["ai_capex_cum_2030"])
    capex = x["ai_capex_2025"] * _powers(g)
    accel = capex * x["accelerator_fraction"]

    w = _ramp(x["custom_share_2025"], x["custom_share_2030"], x["custom_ramp_midpoint"] + x["ramp_slip"])

    years_past_peak = np.maximum(0.0, _Y[:, None] - x["gpu_asp_peak_year"])
    price = np.exp(years_past_peak * np.log1p(-x["gpu_asp_decline"]))

    custom_cost = w * (1 - x["custom_cost_advantage"])
    sigma = custom_cost / (custom_cost + (1 - w) * price)

    h = x["hyperscaler_fraction"]
    merchant = h * (1 - sigma) + (1 - h)
    other = _linear(x["other_merchant_share_2025"], x["other_merchant_share_2030"])
    nvidia_share = merchant * (1 - other)
    nvidia_rev = accel * nvidia_share

    # ---- Amazon side (docs/model.md, section 2)
    base = x["aws_revenue_2025"] * _powers(1 + x["aws_core_growth"])
    f = x["aws_first_year_utilisation"]
    # Capacity added from 2026 on: full years of earlier additions plus f of this year's.
    effective_gw = x["aws_capacity_add_gw"] * np.maximum(_T[:, None] - 1 + f, 0) * (_T[:, None] >= 1)
    ai_list = x["aws_revenue_per_gw"] * effective_gw

    advantage = np.maximum(0.0, 1 - (1 - x["custom_cost_advantage"]) / price)
    saving = x["aws_accelerator_cost_fraction"] * w * advantage
    k = x["savings_kept_as_margin"]
    cut = (1 - k) * saving
    volume = ai_list * (1 + x["ai_price_elasticity"] * cut)
    ai_revenue = volume * (1 - cut)
    factory = x["ai_factory_revenue_2030"] * _F

    m0 = x["aws_margin_2025"]
    aws_revenue = base + ai_revenue + factory
    aws_oi = m0 * (base + factory) + volume * (m0 + k * saving)
    aws_margin = aws_oi / aws_revenue

    s = x["aws_share_of_amazon_oi_2025"]
    non_aws_oi = aws_oi[0] * (1 - s) / s * _powers(1 + x["non_aws_oi_growth"])
    amazon_oi = aws_oi + non_aws_oi

    tax = _linear(x["tax_rate_2025"], x["tax_rate_2030"])
    net = amazon_oi * (1 - tax)
    # EPS grows with operating net income per share from the reported 2025 anchor.
    eps = x["amazon_eps_2025"] * (net / _powers(1 + x["share_dilution"])) / net[0]

    consensus = np.empty_like(eps)
    consensus[0] = x["amazon_eps_2025"]
    consensus[1:] = x["consensus_eps_2026"] * _powers(1 + x["consensus_eps_growth"])[:-1]
    upside = eps / consensus - 1
    price_upside = (eps * x["amazon_pe_rerated"]) / (consensus * x["amazon_pe_now"]) - 1

    out = {
        "nvidia_share": nvidia_share,
        "amazon_eps_upside": upside,
        "ai_accelerator_spend": accel,
        "nvidia_dc_revenue": nvidia_rev,
        "custom_workload_share": w,
        "custom_spend_share": sigma,
        "gpu_price_index": price,
        "aws_revenue": aws_revenue,
        "aws_operating_margin": aws_margin,
        "aws_share_of_amazon_oi": aws_oi / amazon_oi,
        "amazon_operating_income": amazon_oi,
        "amazon_eps": eps,
        "consensus_eps": consensus,
        "amazon_price_upside": price_upside,
    }
    return {k: v.T for k, v in out.items()}
