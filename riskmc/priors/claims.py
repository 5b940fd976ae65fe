"""Build a claim from its `[claims.NAME]` table: a thesis stated as an event on a model output."""

from __future__ import annotations

import re

from .compose import _did_you_mean, _Where
from .numbers import _number
from .priorset import Claim

CLAIM_KEYS = ("text", "event", "output", "year", "years", "above", "below", "between", "rises")
# A threshold written with its unit, as in events: a percent ("45%") or money ("$160B").
_WRITTEN = re.compile(r"^-?(?:\d+\.?\d*|\.\d+)%$|^-?\$(?:\d+\.?\d*|\.\d+)[KMBT]?$")


def _shown(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _build_claim(name: str, t: dict, w: _Where, outputs: set[str], model_years: tuple[int, ...] | None,
                 model=None) -> Claim:
    path = ("claims", name)

    def err(message, key=None, hint=None):
        return w.error(f"claim '{name}': {message}", *path, *((key,) if key else ()), hint=hint)

    if not isinstance(t, dict):
        raise err("must be a table")
    for key in t:
        if key not in CLAIM_KEYS:
            raise err(f"unknown key '{key}'", key, hint=_did_you_mean(key, CLAIM_KEYS))
    if "event" in t:
        from ..model.events import EventError, resolve
        others = [k for k in t if k not in ("event", "text")]
        if others:
            raise err(f"give the event one way: event = \"...\", or output with a condition, not both "
                      f"('{others[0]}')", others[0])
        if not isinstance(t["event"], str):
            raise err("'event' must be text in quotes, e.g. event = \"nvidia_share[2030] < 0.5\"", "event")
        try:
            ev = resolve(t["event"], model)
        except EventError as exc:
            raise err(exc.message, "event", hint=exc.hint) from None
        text = t.get("text", "")
        if not isinstance(text, str):
            raise err("'text' must be text", "text")
        return Claim(name=name, text=text, output="", years=(), event=ev)
    out = t.get("output")
    if not isinstance(out, str):
        raise err("'output' must name one output in quotes", "output",
                  hint=f"one of: {', '.join(sorted(outputs))}")
    if out not in outputs:
        raise err(f"unknown output '{out}'", "output", hint=_did_you_mean(str(out), outputs))
    if model_years is None:
        if "year" in t or "years" in t:
            raise err("this model has no years: drop 'year' and 'years'", "year" if "year" in t else "years")
        years = ()
    elif ("year" in t) == ("years" in t):
        raise err("give exactly one of 'year' or 'years'")
    elif "year" in t:
        if isinstance(t["year"], bool) or not isinstance(t["year"], int):
            raise err("'year' must be one year, e.g. year = 2030", "year")
        years = (t["year"],)
    else:
        if not isinstance(t["years"], list) or not t["years"]:
            raise err("'years' must be a list of years, e.g. years = [2025, 2026, 2027]", "years")
        years = tuple(t["years"])
    if years and any(isinstance(y, bool) or not isinstance(y, int) or y not in model_years for y in years):
        raise err(f"years must lie in {model_years[0]}-{model_years[-1]}", "year" if "year" in t else "years")
    if len(set(years)) != len(years):
        raise err("'years' names a year twice", "years")
    kinds = [k for k in ("above", "below", "between", "rises") if k in t]
    if len(kinds) != 1 or (kinds == ["above", "below"]):
        raise err("give exactly one condition: above, below, between or rises")
    above = below = None
    rises = False
    unit = next((o.unit for o in model.outputs if o.name == out), "") if model is not None else ""

    def threshold(key, v, said):
        # In the output's unit, as events read theirs: "45%" and "$160B" converted, and a
        # share compared with 45 refused as the percent slip it is.
        from ..errors import EventError
        from ..model.units import in_unit
        written = v if isinstance(v, str) and _WRITTEN.match(v.strip()) else None
        value = 0.0 if written is not None else _number(err, key, v)
        try:
            return in_unit(value, written and written.strip(), unit, out, said)
        except EventError as exc:
            raise err(exc.message, key, hint=exc.hint) from None

    if "between" in t:
        b = t["between"]
        if not (isinstance(b, list) and len(b) == 2):
            raise err("'between' must be [low, high]", "between")
        said = f"between = [{', '.join(_shown(v) for v in b)}]"
        above, below = (threshold("between", v, said) for v in b)
        if not above < below:
            raise err("'between' low must be less than high", "between")
    elif "above" in t:
        above = threshold("above", t["above"], f"above = {_shown(t['above'])}")
    elif "below" in t:
        below = threshold("below", t["below"], f"below = {_shown(t['below'])}")
    else:
        rises = t["rises"] is True
        if not rises:
            raise err("'rises' must be true", "rises")
        if len(years) < 2:
            raise err("'rises' needs two or more years", "years")
    text = t.get("text", "")
    if not isinstance(text, str):
        raise err("'text' must be text", "text")
    return Claim(name=name, text=text, output=out, years=tuple(sorted(years)),
                 above=above, below=below, rises=rises)
