"""# The vendors model

AI-accelerator spend, 2025–2030, split by who sells the chips: NVIDIA, the other
merchant vendors (AMD and the rest), and each hyperscaler's own silicon (Google TPU,
AWS Trainium, Microsoft Maia, Meta MTIA). Each vendor's share and revenue is an output.

**Spend.** AI-infrastructure capex grows from `ai_capex_2025` at the one yearly rate that
makes 2025–2030 sum to `ai_capex_cum_2030`; a fraction `accelerator_fraction` of it buys
accelerators: `A_t`.

**Custom silicon.** Each custom vendor `v` takes a share `s_v` of all accelerator spend,
moving from its 2025 to its 2030 prior along one logistic ramp, half done in
`custom_ramp_midpoint` (rescaled so both end points hold exactly):

    s_v,t = s_v,2025 + (s_v,2030 − s_v,2025) · r_t,      custom_t = Σ_v s_v,t

**Merchant silicon** is the rest, `1 − custom_t`. Each other merchant vendor `m` (AMD,
others) takes a share `q_m` of merchant spend, linear from 2025 to 2030; NVIDIA has what
is left:

    NVIDIA share_t = (1 − custom_t) · (1 − Σ_m q_m,t)
    vendor revenue_t = vendor share_t · A_t

Should a draw's custom shares add up to more than 1 (or merchant shares), they are
scaled down to 1 and NVIDIA's share is 0.

**To add a vendor**, add a line to `CUSTOM` (its own silicon) or `MERCHANT` (sold to
anyone) below, and give its two priors in the priors file: `NAME_share_2025` and
`NAME_share_2030` (share of all accelerator spend, custom) or `NAME_merchant_share_2025`
and `NAME_merchant_share_2030` (share of merchant spend). Its share and revenue then
appear in the report.
"""

import numpy as np

import riskmc

YEARS = range(2025, 2031)

# Custom silicon: a hyperscaler's own chips, each a share of all AI-accelerator spend.
CUSTOM = {
    "google_tpu": "Google TPU",
    "aws_trainium": "AWS Trainium",
    "microsoft_maia": "Microsoft Maia",
    "meta_mtia": "Meta MTIA",
}
# Merchant silicon other than NVIDIA, each a share of merchant spend.
MERCHANT = {
    "amd": "AMD",
    "others": "other merchant vendors",
}


def share_inputs():
    for v, label in CUSTOM.items():
        for year in (2025, 2030):
            yield riskmc.Input(f"{v}_share_{year}", "fraction", f"{label}'s share of all AI-accelerator spend, {year}",
                               0, 1)
    for v, label in MERCHANT.items():
        for year in (2025, 2030):
            yield riskmc.Input(f"{v}_merchant_share_{year}", "fraction",
                               f"{label}'s share of merchant (non-custom) accelerator spend, {year}", 0, 1)


INPUTS = [
    riskmc.Input("ai_capex_2025", "$B", "AI-infrastructure capex in 2025 (all buyers)", 1),
    riskmc.Input("ai_capex_cum_2030", "$B", "cumulative AI-infrastructure capex 2025-2030", 1),
    riskmc.Input("accelerator_fraction", "fraction", "share of AI capex spent on accelerators", 0, 1),
    riskmc.Input("custom_ramp_midpoint", "year", "year the custom-silicon ramp is half done", 2024, 2032),
    *share_inputs(),
]

OUTPUTS = [
    riskmc.Output("nvidia_share", "fraction", "NVIDIA's share of AI-accelerator spend", headline=True),
    riskmc.Output("custom_share", "fraction", "custom silicon's share of AI-accelerator spend", headline=True),
    riskmc.Output("ai_accelerator_spend", "$B", "AI-accelerator spend"),
    riskmc.Output("nvidia_revenue", "$B", "NVIDIA accelerator revenue"),
]
for _v, _label in (CUSTOM | MERCHANT).items():
    OUTPUTS += [riskmc.Output(f"{_v}_share", "fraction", f"{_label}'s share of AI-accelerator spend"),
                riskmc.Output(f"{_v}_revenue", "$B", f"{_label} accelerator revenue")]


def capex_path(c0, cum, n):
    """Capex per year (draws x n): c0 * g^t, with g solved per draw so the n years sum to cum."""
    ratio = cum / c0
    lo, hi = np.full_like(ratio, 1e-6), np.full_like(ratio, 10.0)
    for _ in range(100):  # bisection on 1 + g + ... + g^(n-1) = ratio: monotone in g > 0
        g = 0.5 * (lo + hi)
        total = (g[:, None] ** np.arange(n)).sum(axis=1)
        lo, hi = np.where(total < ratio, g, lo), np.where(total < ratio, hi, g)
    g = 0.5 * (lo + hi)
    return c0[:, None] * g[:, None] ** np.arange(n)


def logistic_ramp(midpoint, years):
    """0 in the first year, 1 in the last, half way at `midpoint` (draws x years)."""
    lam = 1.0 / (1.0 + np.exp(-(years[None, :] - midpoint[:, None])))
    return np.clip((lam - lam[:, :1]) / (lam[:, -1:] - lam[:, :1]), 0.0, 1.0)


def vendors(x, years):
    """Every vendor's share and revenue, draws x years."""
    years = np.asarray(years, dtype=float)
    f = (years - years[0]) / (years[-1] - years[0])  # 0 in 2025, 1 in 2030
    spend = capex_path(x["ai_capex_2025"], x["ai_capex_cum_2030"], len(years)) * x["accelerator_fraction"][:, None]
    ramp = logistic_ramp(x["custom_ramp_midpoint"], years)

    custom = {v: x[f"{v}_share_2025"][:, None] + (x[f"{v}_share_2030"] - x[f"{v}_share_2025"])[:, None] * ramp
              for v in CUSTOM}
    total = sum(custom.values())
    scale = np.where(total > 1.0, 1.0 / np.maximum(total, 1e-300), 1.0)
    custom = {v: s * scale for v, s in custom.items()}
    merchant_total = 1.0 - total * scale

    merchant = {m: x[f"{m}_merchant_share_2025"][:, None] * (1 - f)
                + x[f"{m}_merchant_share_2030"][:, None] * f for m in MERCHANT}
    taken = sum(merchant.values())
    mscale = np.where(taken > 1.0, 1.0 / np.maximum(taken, 1e-300), 1.0)

    out = {"nvidia_share": merchant_total * (1.0 - taken * mscale),
           "custom_share": total * scale,
           "ai_accelerator_spend": spend}
    out["nvidia_revenue"] = out["nvidia_share"] * spend
    for v, s in custom.items():
        out[f"{v}_share"], out[f"{v}_revenue"] = s, s * spend
    for m, q in merchant.items():
        out[f"{m}_share"] = merchant_total * q * mscale
        out[f"{m}_revenue"] = out[f"{m}_share"] * spend
    return out


MODEL = riskmc.Model("vendors", inputs=INPUTS, outputs=OUTPUTS, years=YEARS, vectorised=vendors, doc=__doc__)
