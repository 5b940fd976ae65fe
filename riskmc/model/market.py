"""The market model: AI capex -> NVIDIA's share of accelerator spend; AWS -> Amazon EPS upside.

Every equation is in the model's documentation (market.md, shown in every report) with
its reasoning. It is written with the public API any user has (riskmc.Model, riskmc.Input,
riskmc.Output): one draw at a time, equation by equation, compiled by riskmc with
numba, which costs one pass per draw instead of some sixty numpy passes over temporaries.
"""

from __future__ import annotations

import math
from importlib import resources

from riskmc import Input, Model, Output

YEARS = range(2025, 2031)
_INV_E = math.exp(-1.0)

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
    Output("nvidia_share", "fraction", "NVIDIA's share of AI-accelerator spend", True, "share", 0.0, 1.0),
    Output("amazon_eps_upside", "fraction", "Amazon EPS upside vs consensus", True, "share"),
    Output("ai_accelerator_spend", "$B", "AI-accelerator spend", lower=0.0),
    Output("nvidia_dc_revenue", "$B", "NVIDIA accelerator (datacenter) revenue", lower=0.0),
    Output("custom_workload_share", "fraction", "custom-silicon share of hyperscaler workloads", kind="share",
           lower=0.0, upper=1.0),
    Output("custom_spend_share", "fraction", "custom-silicon share of hyperscaler accelerator spend", kind="share",
           lower=0.0, upper=1.0),
    Output("gpu_price_index", "2025 = 1", "GPU price per unit (index)", kind="ratio", lower=0.0),
    Output("aws_revenue", "$B", "AWS revenue", lower=0.0),
    Output("aws_operating_margin", "fraction", "AWS operating margin", kind="share", upper=1.0),
    Output("aws_share_of_amazon_oi", "fraction", "AWS share of Amazon operating income", kind="share"),
    Output("amazon_operating_income", "$B", "Amazon operating income"),
    Output("amazon_eps", "$", "Amazon diluted EPS"),
    Output("consensus_eps", "$", "consensus Amazon EPS"),
    Output("amazon_price_upside", "fraction", "Amazon implied price upside (EPS x P/E)", kind="share"),
)


# Output rows, in OUTPUTS order: numba reads these module constants as literals.
(NVIDIA_SHARE, AMAZON_EPS_UPSIDE, AI_ACCELERATOR_SPEND, NVIDIA_DC_REVENUE, CUSTOM_WORKLOAD_SHARE,
 CUSTOM_SPEND_SHARE, GPU_PRICE_INDEX, AWS_REVENUE, AWS_OPERATING_MARGIN, AWS_SHARE_OF_AMAZON_OI,
 AMAZON_OPERATING_INCOME, AMAZON_EPS, CONSENSUS_EPS, AMAZON_PRICE_UPSIDE) = range(len(OUTPUTS))
assert OUTPUTS[NVIDIA_SHARE].name == "nvidia_share" and OUTPUTS[AMAZON_PRICE_UPSIDE].name == "amazon_price_upside"


def capex_growth(ratio: float, years: int) -> float:
    """g with 1 + g + ... + g^(years-1) = ratio: Newton's method on the polynomial.

    It starts from the rate a straight line through the average would need; the sum
    is convex and increasing in g > 0, so the iteration converges monotonically.
    """
    g = max(1.0 + 2.0 * (ratio / years - 1.0) / (years - 1), 0.05)
    for _ in range(60):
        f, df = 1.0, 0.0
        for _k in range(years - 1):
            df = df * g + f
            f = f * g + 1.0
        step = (f - ratio) / df
        g = max(g - step, 0.5 * g)
        if abs(step) < 1e-12:
            break
    return g


def market(ai_capex_2025, ai_capex_cum_2030, accelerator_fraction, hyperscaler_fraction,
           custom_share_2025, custom_share_2030, custom_ramp_midpoint, ramp_slip, custom_cost_advantage,
           other_merchant_share_2025, other_merchant_share_2030, gpu_asp_peak_year, gpu_asp_decline,
           aws_revenue_2025, aws_core_growth, aws_capacity_add_gw, aws_revenue_per_gw,
           aws_first_year_utilisation, aws_margin_2025, aws_accelerator_cost_fraction,
           savings_kept_as_margin, ai_price_elasticity, ai_factory_revenue_2030,
           aws_share_of_amazon_oi_2025, non_aws_oi_growth, tax_rate_2025, tax_rate_2030, share_dilution,
           amazon_eps_2025, consensus_eps_2026, consensus_eps_growth, amazon_pe_now,
           amazon_pe_rerated, years, out):  # pragma: no cover - compiled
    """One draw: every output in every year, into out[output, year]."""
    n_years = years.shape[0]
    last = n_years - 1
    first_year = years[0]
    # Three exp/log calls a draw and a few divisions; each year is products and sums.
    # Powers and exponentials of t are running products: exp() or pow() per draw-year
    # cost more than the rest of the model together.
    # ---- NVIDIA side (section 1)
    g = capex_growth(ai_capex_cum_2030 / ai_capex_2025, n_years)
    mid = custom_ramp_midpoint + ramp_slip
    # The logistic, rescaled so both end points hold exactly whatever the midpoint.
    e = math.exp(mid - first_year)  # e^-(year - mid), times 1/e a year
    lam0 = 1.0 / (1.0 + e)
    e_last = e
    for _t in range(last):
        e_last *= _INV_E
    ramp_scale = 1.0 / (1.0 / (1.0 + e_last) - lam0)
    keep = 1.0 - gpu_asp_decline
    peak = gpu_asp_peak_year
    price = inv_price = 1.0
    c = custom_cost_advantage
    h = hyperscaler_fraction
    # ---- Amazon side (section 2)
    m0 = aws_margin_2025
    k = savings_kept_as_margin
    s = aws_share_of_amazon_oi_2025
    pe_ratio = amazon_pe_rerated / amazon_pe_now
    non_aws_0 = 0.0
    eps_per_net = 0.0
    capex_growth_t = base_growth_t = non_aws_growth_t = 1.0
    inv_dilution_t = 1.0
    inv_dilution = 1.0 / (1.0 + share_dilution)
    consensus = 0.0
    for t in range(n_years):
        year = first_year + t
        f = t / last
        capex = ai_capex_2025 * capex_growth_t
        accel = capex * accelerator_fraction
        ramp = min(max((1.0 / (1.0 + e) - lam0) * ramp_scale, 0.0), 1.0)
        e *= _INV_E
        w = custom_share_2025 * (1.0 - ramp) + custom_share_2030 * ramp
        # Flat until the peak, then (1 - decline) a year: P = keep^(year - peak).
        if year > peak:
            if price == 1.0:
                price = math.exp((year - peak) * math.log(keep))
                inv_price = 1.0 / price
            else:
                price *= keep
                inv_price /= keep
        custom_cost = w * (1.0 - c)
        sigma = custom_cost / (custom_cost + (1.0 - w) * price)
        merchant = h * (1.0 - sigma) + (1.0 - h)
        other = other_merchant_share_2025 * (1.0 - f) + other_merchant_share_2030 * f
        nvidia_share = merchant * (1.0 - other)

        base = aws_revenue_2025 * base_growth_t
        effective_gw = aws_capacity_add_gw * max(t - 1 + aws_first_year_utilisation, 0.0) if t >= 1 else 0.0
        ai_list = aws_revenue_per_gw * effective_gw
        advantage = max(0.0, 1.0 - (1.0 - c) * inv_price)
        saving = aws_accelerator_cost_fraction * w * advantage
        cut = (1.0 - k) * saving
        volume = ai_list * (1.0 + ai_price_elasticity * cut)
        ai_revenue = volume * (1.0 - cut)
        factory = ai_factory_revenue_2030 * f
        aws_revenue = base + ai_revenue + factory
        aws_oi = m0 * (base + factory) + volume * (m0 + k * saving)
        if t == 0:
            non_aws_0 = aws_oi * (1.0 - s) / s
        non_aws_oi = non_aws_0 * non_aws_growth_t
        amazon_oi = aws_oi + non_aws_oi
        tax = tax_rate_2025 * (1.0 - f) + tax_rate_2030 * f
        net = amazon_oi * (1.0 - tax)
        # EPS grows with operating net income per share from the reported 2025 anchor.
        if t == 0:
            eps_per_net = amazon_eps_2025 / net
            eps = amazon_eps_2025
            consensus = amazon_eps_2025
        else:
            eps = net * eps_per_net * inv_dilution_t
            consensus = consensus_eps_2026 if t == 1 else consensus * (1.0 + consensus_eps_growth)
        eps_ratio = eps / consensus

        out[NVIDIA_SHARE, t] = nvidia_share
        out[AMAZON_EPS_UPSIDE, t] = eps_ratio - 1.0
        out[AI_ACCELERATOR_SPEND, t] = accel
        out[NVIDIA_DC_REVENUE, t] = accel * nvidia_share
        out[CUSTOM_WORKLOAD_SHARE, t] = w
        out[CUSTOM_SPEND_SHARE, t] = sigma
        out[GPU_PRICE_INDEX, t] = price
        out[AWS_REVENUE, t] = aws_revenue
        out[AWS_OPERATING_MARGIN, t] = aws_oi / aws_revenue
        out[AWS_SHARE_OF_AMAZON_OI, t] = aws_oi / amazon_oi
        out[AMAZON_OPERATING_INCOME, t] = amazon_oi
        out[AMAZON_EPS, t] = eps
        out[CONSENSUS_EPS, t] = consensus
        out[AMAZON_PRICE_UPSIDE, t] = eps_ratio * pe_ratio - 1.0
        capex_growth_t *= g
        base_growth_t *= 1.0 + aws_core_growth
        non_aws_growth_t *= 1.0 + non_aws_oi_growth
        inv_dilution_t *= inv_dilution


def _doc() -> str:
    return resources.files("riskmc.model").joinpath("market.md").read_text(encoding="utf-8")


MODEL = Model("market", inputs=INPUTS, outputs=OUTPUTS, years=YEARS, compiled=market, doc=_doc())
