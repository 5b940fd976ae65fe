"""The market model: AI capex -> NVIDIA's share of accelerator spend; AWS -> Amazon EPS upside.

Every equation is in docs/model.md with its reasoning. The model is a pure function of
arrays (one value per draw); it knows nothing of files, samplers or reports.
"""

from __future__ import annotations

import numpy as np

from .spec import Input, Output

YEARS = np.arange(2025, 2031)
_T = (YEARS - YEARS[0]).astype(float)  # years since 2025: 0..5

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
    """Growth factor g with c0 * (1 + g + ... + g^(years-1)) = cum, per draw (Newton on log g)."""
    ratio = np.maximum(cum / c0, 1e-9)
    logg = np.log(np.maximum(ratio / years, 1e-9)) / (years / 2)  # rough start
    n = np.arange(years, dtype=float)
    for _ in range(40):
        g = np.exp(logg)
        pw = g[:, None] ** n
        f = pw.sum(axis=1) - ratio
        df = (n * pw).sum(axis=1)  # d/dlog g of sum g^n
        step = f / df
        logg = logg - np.clip(step, -1.0, 1.0)
        if np.all(np.abs(step) < 1e-13):
            break
    return np.exp(logg)


def _ramp(start, end, midpoint):
    """Logistic path from `start` in 2025 to `end` in 2030, half-way at `midpoint`.

    The logistic is rescaled so both end points hold exactly whatever the midpoint.
    """
    x = 1 / (1 + np.exp(-(YEARS[None, :] - midpoint[:, None])))
    x0 = 1 / (1 + np.exp(-(YEARS[0] - midpoint)))
    x1 = 1 / (1 + np.exp(-(YEARS[-1] - midpoint)))
    frac = (x - x0[:, None]) / (x1 - x0)[:, None]
    return start[:, None] + (end - start)[:, None] * frac


def _linear(start, end):
    return start[:, None] + (end - start)[:, None] * (_T / _T[-1])[None, :]


def evaluate(x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map inputs (name -> array[draw]) to outputs (name -> array[draw, year], 2025..2030)."""
    # ---- NVIDIA side (docs/model.md, section 1)
    g = capex_growth(x["ai_capex_2025"], x["ai_capex_cum_2030"])
    capex = x["ai_capex_2025"][:, None] * g[:, None] ** _T[None, :]
    accel = capex * x["accelerator_fraction"][:, None]

    mid = x["custom_ramp_midpoint"] + x["ramp_slip"]
    w = _ramp(x["custom_share_2025"], x["custom_share_2030"], mid)

    years_past_peak = np.maximum(0.0, YEARS[None, :] - x["gpu_asp_peak_year"][:, None])
    price = (1 - x["gpu_asp_decline"][:, None]) ** years_past_peak

    custom_cost = w * (1 - x["custom_cost_advantage"][:, None])
    gpu_cost = (1 - w) * price
    sigma = custom_cost / (custom_cost + gpu_cost)

    h = x["hyperscaler_fraction"][:, None]
    merchant = h * (1 - sigma) + (1 - h)
    other = _linear(x["other_merchant_share_2025"], x["other_merchant_share_2030"])
    nvidia_share = merchant * (1 - other)
    nvidia_rev = accel * nvidia_share

    # ---- Amazon side (docs/model.md, section 2)
    t = _T[None, :]
    base = x["aws_revenue_2025"][:, None] * (1 + x["aws_core_growth"][:, None]) ** t
    gw = x["aws_capacity_add_gw"][:, None]
    f = x["aws_first_year_utilisation"][:, None]
    # Capacity added from 2026 on: full years of earlier additions plus f of this year's.
    effective_gw = gw * np.maximum(t - 1 + f, 0) * (t >= 1)
    ai_list = x["aws_revenue_per_gw"][:, None] * effective_gw

    advantage = np.maximum(0.0, 1 - (1 - x["custom_cost_advantage"][:, None]) / price)
    saving = x["aws_accelerator_cost_fraction"][:, None] * w * advantage
    k = x["savings_kept_as_margin"][:, None]
    cut = (1 - k) * saving
    volume = ai_list * (1 + x["ai_price_elasticity"][:, None] * cut)
    ai_revenue = volume * (1 - cut)
    factory = x["ai_factory_revenue_2030"][:, None] * (t / _T[-1])

    m0 = x["aws_margin_2025"][:, None]
    aws_revenue = base + ai_revenue + factory
    aws_oi = m0 * (base + factory) + volume * (m0 + k * saving)
    aws_margin = aws_oi / aws_revenue

    s = x["aws_share_of_amazon_oi_2025"][:, None]
    aws_oi_2025 = aws_oi[:, :1]
    non_aws_oi = aws_oi_2025 * (1 - s) / s * (1 + x["non_aws_oi_growth"][:, None]) ** t
    amazon_oi = aws_oi + non_aws_oi

    tax = _linear(x["tax_rate_2025"], x["tax_rate_2030"])
    net = amazon_oi * (1 - tax)
    shares = (1 + x["share_dilution"][:, None]) ** t
    # EPS grows with operating net income per share from the reported 2025 anchor.
    eps = x["amazon_eps_2025"][:, None] * (net / shares) / net[:, :1]

    consensus = np.empty_like(eps)
    consensus[:, 0] = x["amazon_eps_2025"]
    consensus[:, 1:] = x["consensus_eps_2026"][:, None] * (
        1 + x["consensus_eps_growth"][:, None]) ** (_T[None, 1:] - 1)
    upside = eps / consensus - 1
    price_upside = (eps * x["amazon_pe_rerated"][:, None]) / (consensus * x["amazon_pe_now"][:, None]) - 1

    return {
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
