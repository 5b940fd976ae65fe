"""A priors table's numbers and units: plain numbers, the prior's unit checked against
the input's, and the commonest slip (a share written in percent) said plainly."""

from __future__ import annotations

import math
import re

from .priorset import _qkey


def _number(err, key, value) -> float:
    """value as a float; `err` builds the error (it names the prior, expert or claim)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise err(f"'{key}' must be a finite number, got {value!r}", key)
    return float(value)


# The keys whose numbers are in the input's unit, and so may be written with it.
IN_UNIT = ("value", "lower", "upper", "mode", "mean", "sd")
QUANTILE = re.compile(r"p\d\d")
# A number written with its unit, as events and claims read them: "30%", "$160B".
_WRITTEN = re.compile(r"-?(?:\d+\.?\d*|\.\d+)%|-?\$(?:\d+\.?\d*|\.\d+)[KMBT]?")


def _plain(spec, t: dict, err) -> dict:
    """The table with numbers written with a unit ("30%" for a share, "$160B" for money
    in $B) read in the model's unit for the input, as events and claims read them."""
    from ..errors import EventError
    from ..model.units import in_unit

    def one(key, v, said):
        if not (isinstance(v, str) and _WRITTEN.fullmatch(v.strip())):
            return v
        try:
            return in_unit(0.0, v.strip(), spec.unit, spec.name, said)
        except EventError as exc:
            raise err(exc.message, key, hint=exc.hint) from None

    def chance(key, v):
        # A probability (confidence, a Bernoulli's p) reads a percent whatever the unit.
        if isinstance(v, str) and re.fullmatch(r"(?:\d+\.?\d*|\.\d+)%", v.strip()):
            return float(v.strip()[:-1]) / 100
        return v

    out = dict(t)
    for key, v in t.items():
        if key == "range" and isinstance(v, list):
            out[key] = [one(key, x, f"{key} = [{', '.join(map(str, v))}]") for x in v]
        elif key in IN_UNIT or QUANTILE.fullmatch(key):
            out[key] = one(key, v, f"{key} = {v}")
        elif key in ("confidence", "p"):
            out[key] = chance(key, v)
    return out


def _check_unit(spec, t: dict, err) -> None:
    """A prior is stated in the unit the model reads its input in, where the model names
    one: $B for a share would be read as a share, whatever the file says. Refused: money
    or a share against another unit, and a slip of the model's unit ('percnt', 'fracton');
    a unit of the user's own words ("x", "index points") is taken as given."""
    import difflib

    from ..model.units import SHARE_UNITS
    unit = t["unit"].strip()
    if not spec.unit or unit == spec.unit:
        return
    shares = (*SHARE_UNITS, *PERCENT_UNITS)

    def kind(u: str) -> str | None:
        if u.startswith("$"):
            return "money"
        if u.lower() in shares or difflib.get_close_matches(u.lower(), shares, n=1, cutoff=0.85):
            return "share"
        return None

    slip = unit.lower() == spec.unit.lower() or difflib.get_close_matches(unit, [spec.unit], n=1, cutoff=0.75)
    if slip or kind(unit) is not None:   # a slip, or money or a share that is not the model's
        raise err(f"unit '{t['unit']}', but the model reads {spec.name} in '{spec.unit}'", "unit",
                  hint=f"state it in the model's unit: unit = \"{spec.unit}\"")


PERCENT_UNITS = ("percent", "%", "pct", "percentage")


def _check_percent(spec, t: dict, quantiles: dict, err) -> None:
    """A share written in percent (the commonest slip): say what it should read."""
    if not (spec.unit == "fraction" or (spec.lower >= 0 and spec.upper <= 1)):
        return
    numbers = {}
    if isinstance(t.get("range"), list) and all(isinstance(v, (int, float)) for v in t["range"]):
        numbers["range"] = list(t["range"])
    elif quantiles:
        numbers.update({_qkey(p): v for p, v in sorted(quantiles.items())})
    elif isinstance(t.get("value"), (int, float)) and not isinstance(t.get("value"), bool):
        numbers["value"] = t["value"]
    flat = [v for v in numbers.values() for v in (v if isinstance(v, list) else [v])]
    in_percent = bool(flat) and all(1 < v <= 100 for v in flat)
    if not (in_percent or str(t.get("unit", "")).strip().lower() in PERCENT_UNITS):
        return
    percent_unit = str(t.get("unit", "")).strip().lower() in PERCENT_UNITS
    if not in_percent:
        fix, unit = 'unit = "fraction"', ""
    elif "range" in numbers:
        fix = f"range = [{numbers['range'][0] / 100:.2f}, {numbers['range'][1] / 100:.2f}]"
    else:
        fix = ", ".join(f"{k} = {v / 100:.4g}" for k, v in numbers.items())
    unit = ' and unit = "fraction"' if percent_unit and in_percent else ""
    key = next(iter(numbers), None) if in_percent else ("unit" if "unit" in t else None)
    raise err(f"{spec.name} is a fraction between 0 and 1, not a percentage", key, hint=f"did you mean {fix}{unit}?")
