"""Numbers as a reader says them, the same way in the report, on the terminal and in
comparisons: 52.1%, $184B, $7.12; a probability as 63.1% ± 0.15 pp."""

from __future__ import annotations

import math

from ..model.units import SHARE_UNITS  # noqa: F401  (re-exported: the report reads it here)


def finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def value(v: float, unit: str) -> str:
    """One value in its unit: shares in percent, money with its sign and scale."""
    if not finite(v):
        return "n/a"
    if unit in SHARE_UNITS:
        return f"{round(100 * v, 1) + 0.0:.1f}%"   # + 0.0: a rounded -0.0 reads as 0.0
    sign = "-" if v < 0 and unit.startswith("$") else ""   # -$11.3B, never $-11.3B
    a = abs(v) if sign else v
    if unit.startswith("$B"):
        return f"{sign}${a:,.0f}B" if abs(v) >= 100 else f"{sign}${a:,.1f}B"
    if unit == "$":
        return f"{sign}${a:,.2f}"
    if unit == "year":
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return f"{v:,.3g}"


def gain(v: float, unit: str) -> str:
    """A payoff or a value of information: in percentage points for a payoff in shares
    (a difference of shares), else as a value of its unit."""
    if unit in SHARE_UNITS:
        return f"{round(100 * v, 2) + 0.0:.2f} pp" if finite(v) else "n/a"
    return value(v, unit)


def exact(v: float, unit: str) -> str:
    """A stated or fitted value to four significant digits, in the unit's terms: 39.71%,
    $128.7B, 2027.5 (a prior as its expert would read it back)."""
    if not finite(v):
        return "n/a"
    if unit in SHARE_UNITS:
        return f"{100 * v:.4g}%"
    if unit.startswith("$B"):
        return f"${v:,.4g}B" if v >= 0 else f"-${-v:,.4g}B"
    if unit == "$":
        return f"${v:,.4g}" if v >= 0 else f"-${-v:,.4g}"
    if unit == "year":
        return value(v, "year")
    return f"{v:.4g}"


def sig(v: float, digits: int = 2) -> str:
    """v to `digits` significant digits, in fixed notation (0.000094, never 9.4e-05)."""
    if not finite(v) or v == 0:
        return "0"
    d = max(0, digits - 1 - math.floor(math.log10(abs(v))))
    return f"{v:.{d}f}"


def money(v: float, sign: str = "") -> str:
    """An amount in $B at the scale that reads best: $12B, $340M, $94K."""
    a = abs(v)
    for scale, suffix in ((1.0, "B"), (1e-3, "M"), (1e-6, "K")):
        if a >= scale or suffix == "K":
            return f"{sign}${sig(a / scale, 2 if a / scale < 100 else 3)}{suffix}"
    return f"{sign}${sig(a)}B"  # pragma: no cover


def mcse(v: float, unit: str) -> str:
    """A Monte Carlo error in the unit's terms: percentage points for shares. An error
    at floating point's noise (a figure that is exact but for rounding) is 0."""
    if not finite(v):
        return "n/a"
    if abs(v) < 1e-12:
        v = 0.0
    if unit in SHARE_UNITS:
        return f"{sig(100 * v)} pp"
    if unit.startswith("$B"):
        return money(v)
    if unit == "$":
        return f"${sig(v)}"
    return sig(v)


def shift(v: float, unit: str) -> str:
    """A change in the unit's terms, signed: +2.3 pp, -$4.1B, +0.12."""
    if not finite(v):
        return "n/a"
    sign = "+" if v >= 0 else "-"
    a = abs(v)
    if unit in SHARE_UNITS:
        return f"{sign}{sig(100 * a)} pp" if 100 * a < 1 else f"{sign}{100 * a:.1f} pp"
    if unit.startswith("$B"):
        return money(a, sign) if a < 100 else f"{sign}${a:,.0f}B"
    if unit == "$":
        return f"{sign}${a:,.2f}" if a >= 0.01 else f"{sign}${sig(a)}"
    return f"{sign}{sig(a, 3)}"


def _decimals(err: float) -> int:
    """Decimals of a percentage so its error shows two significant digits (1 to 3)."""
    if not finite(err) or err <= 0:
        return 1
    err = float(f"{100 * err:.2g}")  # the error as shown, two significant digits
    return max(1, min(3, 1 - math.floor(math.log10(err))))


def fit_error(e: float) -> str:
    """How far a fitted family misses the stated quantiles, as a share of their range:
    below 0.01% it is exact for any reader, not 9.7e-13%."""
    return "< 0.01%" if e < 1e-4 else f"{100 * e:.2g}%"


def prob(p: float, err: float) -> str:
    """A probability with its Monte Carlo error: 63.08% ± 0.15 pp, 0.490% ± 0.022 pp."""
    d = _decimals(err)
    return f"{100 * p:.{d}f}% ± {100 * err:.{d}f} pp"


def prob_value(p: float, err: float) -> str:
    """A probability alone, to the precision its error allows: 63.08%."""
    return f"{100 * p:.{_decimals(err)}f}%"


def tick(unit: str):
    """A formatter for axis ticks (round numbers) in the unit's terms."""
    if unit in SHARE_UNITS:
        return lambda v: f"{100 * v:.3g}%"
    if unit.startswith("$B"):
        return lambda v: f"${v:,.0f}B" if abs(v) >= 10 else f"${v:.3g}B"
    if unit == "$":
        return lambda v: f"${v:.3g}"
    if unit == "year":
        return lambda v: f"{v:.6g}"
    return lambda v: f"{v:.3g}"


# Words a label writes as their readers do.
ACRONYMS = {"gpu": "GPU", "asp": "ASP", "aws": "AWS", "eps": "EPS", "ai": "AI", "nvidia": "NVIDIA", "oi": "OI",
            "pe": "P/E", "amd": "AMD", "amazon": "Amazon", "microsoft": "Microsoft", "google": "Google", "tpu": "TPU", "capex": "capex", "gw": "GW", "mw": "MW", "us": "US"}


def label(name: str) -> str:
    """A name as words: custom_share_2030 -> custom share 2030, gpu_asp_decline -> GPU ASP
    decline; a group of correlated priors, group(a, b), names each."""
    if name.startswith("group(") and name.endswith(")"):
        return "group(" + ", ".join(label(part.strip()) for part in name[6:-1].split(",")) + ")"
    return " ".join(ACRONYMS.get(w, w) for w in name.split("_"))


def disagreement(pairs: list[dict]) -> str:
    """How far experts disagree, as the overlap of their 90% intervals, least first."""
    if not pairs:
        return "one expert"
    worst = min(pairs, key=lambda d: d["overlap"])
    who = f"the 90% intervals of {worst['a']} and {worst['b']}"
    if len(pairs) > 1:
        who = f"{who}, the two experts furthest apart,"
    head = (f"{who} overlap by {100 * worst['overlap']:.0f}%" if worst["overlap"] > 0
            else f"{who} do not overlap")
    return head + " (100% would be the same interval, 0% no value both find plausible)"


def whom(entry: dict, sensitivity: dict) -> str:
    """How much of each output's variance hangs on which expert is right (S1)."""
    parts = []
    for name, o in sensitivity["outputs"].items():
        s1 = entry["S1"].get(name)
        if s1 is not None and s1["value"] is not None:
            lo, hi = s1["ci"]
            parts.append(f"{100 * max(s1['value'], 0):.0f}% of the variance of {o['label']} "
                         f"(95% interval {100 * max(lo or 0, 0):.0f}-{100 * max(hi or 0, 0):.0f}%)")
    return ("Which expert is right explains " + "; ".join(parts) + ".") if parts else ""
