"""Evidence: what was observed, as `[evidence.NAME]` tables in a priors file.

A reported figure (an output in a year, or an input) with its measurement error, a bound
("at least"), or a count of successes in trials. Each becomes a likelihood that weighs
the prior's draws (riskmc.kernel.likelihood); the checks here catch what can be caught before a
single draw: unknown outputs, years, units, values the target can never take, and
pieces of evidence that cannot all hold.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from ..errors import PriorsError
from ..numeric import normal

EVIDENCE_KEYS = ("output", "input", "year", "value", "sd", "range", "confidence", "distribution", "df",
                 "above", "below", "successes", "trials", "unit", "description", "source", "date")
DISTRIBUTIONS = ("normal", "student_t")
DEFAULT_DF = 4.0
DEFAULT_CONFIDENCE = 0.9
MAX_TRIALS = 2 ** 53


@dataclass(frozen=True)
class Evidence:
    """One observation and its likelihood.

    `kind` is "normal" or "student_t" (value with error `sd`, a scale for student_t),
    "bound" (`above` and/or `below`, inclusive; soft when `sd` is given: the bound is
    itself measured with that error), or "binomial" (`successes` of `trials`, on a
    fraction between 0 and 1).
    """

    name: str
    target: str            # an output's or an input's name
    on: str                # "output" or "input"
    year: int | None
    kind: str
    value: float | None = None
    sd: float | None = None
    df: float | None = None
    above: float | None = None
    below: float | None = None
    successes: int | None = None
    trials: int | None = None
    unit: str = ""
    description: str = ""
    source: str = ""
    date: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def label(self) -> str:
        """What was observed: `aws_revenue[2025]`, or an input's name."""
        return f"{self.target}[{self.year}]" if self.year is not None else self.target

    def describe(self) -> str:
        """The observation and its likelihood in one line, e.g. `aws_revenue[2025] = 128.7 ± 0.5 (normal)`."""
        if self.kind == "binomial":
            return f"{self.successes} of {self.trials} trials succeeded, at rate {self.label} (binomial)"
        if self.kind == "bound":
            parts = []
            if self.above is not None:
                parts.append(f"{self.label} >= {self.above:g}")
            if self.below is not None:
                parts.append(f"{self.label} <= {self.below:g}")
            soft = f" (soft: measured with sd {self.sd:g})" if self.sd else ""
            return " and ".join(parts) + soft
        t = f", df {self.df:g}" if self.kind == "student_t" else ""
        return f"{self.label} = {self.value:.6g} ± {self.sd:.3g} ({self.kind.replace('_', '-')}{t})"

    def as_dict(self) -> dict:
        return {"target": self.target, "on": self.on, "year": self.year, "kind": self.kind,
                "value": self.value, "sd": self.sd, "df": self.df, "above": self.above, "below": self.below,
                "successes": self.successes, "trials": self.trials, "unit": self.unit,
                "description": self.description, "source": self.source, "date": self.date,
                "file": self.file, "line": self.line, "text": self.describe()}


def build(name: str, t, err, model, support) -> Evidence:
    """One `[evidence.NAME]` table, checked against the model. `err(message, key, hint)`
    makes a PriorsError at the table's (or key's) line; `support(input)` is the range an
    input's prior can reach."""
    if not isinstance(t, dict):
        raise err(f"must be a table: [evidence.{name}]")
    for key in t:
        if key not in EVIDENCE_KEYS:
            import difflib
            close = difflib.get_close_matches(key, EVIDENCE_KEYS, n=1, cutoff=0.6)
            raise err(f"unknown key '{key}'", key, f"did you mean '{close[0]}'?" if close
                      else f"expected one of: {', '.join(EVIDENCE_KEYS)}")

    def number(key) -> float:
        v = t[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise err(f"'{key}' must be a finite number, got {v!r}", key)
        return float(v)

    def text(key, required=False) -> str:
        v = t.get(key, "")
        if not isinstance(v, str) or (required and not v.strip()):
            hint = ("cite where the figure comes from (a filing, a call, a report), or write "
                    "source = \"illustrative\"" if key == "source" else None)
            raise err(f"'{key}' must be non-empty text" if key in t else f"missing '{key}'", key if key in t else None,
                      hint)
        return v

    source = text("source", required=True)
    description = text("description")
    date = t.get("date")
    if date is not None and (isinstance(date, (dt.datetime, dt.time)) or not isinstance(date, (dt.date, str))):
        raise err("'date' must be a date such as 2026-02-05", "date")

    # --- what was observed
    if ("output" in t) == ("input" in t):
        raise err("name what was observed: output = \"NAME\" (with year) or input = \"NAME\"")
    on = "output" if "output" in t else "input"
    target = t[on]
    names = model.output_names if on == "output" else model.input_names
    if not isinstance(target, str) or target not in names:
        import difflib
        close = difflib.get_close_matches(str(target), names, n=1, cutoff=0.6)
        raise err(f"unknown {on} '{target}'", on, f"did you mean '{close[0]}'?" if close
                  else f"model '{model.name}' has {', '.join(names)}")
    year = t.get("year")
    if on == "input" or model.years is None:
        if year is not None:
            why = "an input has one value per draw, not one a year" if on == "input" else \
                f"model '{model.name}' has no years"
            raise err(f"drop 'year': {why}", "year")
    else:
        if year is None:
            raise err(f"say which year was observed: year = {model.years[0]} (the model runs "
                      f"{model.years[0]}-{model.years[-1]})")
        if isinstance(year, bool) or not isinstance(year, int) or year not in model.years:
            raise err(f"year must lie in {model.years[0]}-{model.years[-1]}, got {year!r}", "year")
    if on == "output":
        spec = next(o for o in model.outputs if o.name == target)
        lo, hi, unit = spec.lower, spec.upper, spec.unit
    else:
        spec = next(i for i in model.inputs if i.name == target)
        lo, hi = support(target)
        unit = spec.unit
    label = f"{target}[{year}]" if year is not None else target
    given_unit = text("unit")
    if given_unit and unit and given_unit != unit:
        raise err(f"{label} is in {unit}, not {given_unit}", "unit", f"state the value in {unit}")

    # --- how it was observed
    kinds = [k for k, keys in (("binomial", ("successes", "trials")), ("bound", ("above", "below")),
                               ("value", ("value", "range"))) if any(x in t for x in keys)]
    if len(kinds) != 1:
        raise err("give one observation: value (with sd or range), above/below, or successes and trials"
                  if not kinds else f"give one kind of observation, not {' and '.join(kinds)}")
    kind = kinds[0]
    common = dict(name=name, target=target, on=on, year=year, unit=unit, description=description,
                  source=source, date=None if date is None else str(date))
    for key in ("distribution", "df", "confidence"):
        if key in t and kind != "value":
            raise err(f"'{key}' goes with value = ...", key)

    if kind == "binomial":
        if "successes" not in t or "trials" not in t:
            raise err("give both successes and trials")
        k, n = t["successes"], t["trials"]
        for key, v in (("successes", k), ("trials", n)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise err(f"'{key}' must be a whole number, 0 or more, got {v!r}", key)
        if n < 1 or k > n:
            raise err(f"successes ({k}) must be between 0 and trials ({n}), and trials at least 1", "successes")
        if n > MAX_TRIALS:
            raise err(f"trials must be at most {MAX_TRIALS:,} (2^53: counts beyond it are not exact in floating "
                      f"point), got {n:,}", "trials", "state the rate as a value with its sd instead")
        if "sd" in t:
            raise err("'sd' does not go with successes and trials: the count's own error is binomial", "sd")
        if lo < 0 or hi > 1:
            raise err(f"successes and trials measure a rate between 0 and 1; {label} ranges over "
                      f"{_span(lo, hi)}", on)
        return Evidence(kind="binomial", successes=k, trials=n, **common)

    if kind == "bound":
        above = number("above") if "above" in t else None
        below = number("below") if "below" in t else None
        sd = None
        if "sd" in t:
            sd = number("sd")
            if sd <= 0:
                raise err(f"sd must be positive, got {sd:g}", "sd")
        if above is not None and below is not None and not above < below:
            raise err(f"above ({above:g}) and below ({below:g}) cannot both hold", "above",
                      "above must be less than below")
        _percent_slip(err, unit, lo, hi, {k: v for k, v in (("above", above), ("below", below)) if v is not None})
        if sd is None and ((above is not None and above > hi) or (below is not None and below < lo)):
            raise err(f"the prior gives this evidence no probability: {label} never goes "
                      f"{'above ' + format(above, 'g') if above is not None and above > hi else 'below ' + format(below, 'g')}"
                      f" (it ranges over {_span(lo, hi)})", "above" if above is not None and above > hi else "below")
        return Evidence(kind="bound", above=above, below=below, sd=sd, **common)

    # A value with its error.
    dist = t.get("distribution", "normal")
    if dist not in DISTRIBUTIONS:
        raise err(f"unknown distribution '{dist}'", "distribution", f"use {' or '.join(DISTRIBUTIONS)}")
    df = None
    if dist == "student_t":
        df = number("df") if "df" in t else DEFAULT_DF
        if df <= 0:
            raise err(f"df must be positive, got {df:g}", "df")
    elif "df" in t:
        raise err("'df' goes with distribution = \"student_t\"", "df")
    if ("sd" in t) == ("range" in t):
        raise err("give the measurement's error one way: sd = ..., or range = [low, high] (90% sure)",
                  "sd" if "sd" in t else None)
    if "sd" in t:
        if "confidence" in t:
            raise err("'confidence' goes with 'range'", "confidence")
        sd = number("sd")
        if sd <= 0:
            raise err(f"sd must be positive, got {sd:g}", "sd", "a measurement with no error at all cannot "
                      "be weighed: give its reporting precision (e.g. half the last digit)")
        if "value" not in t:
            raise err("give the observed value: value = ...")
        value = number("value")
    else:
        rng = t["range"]
        if not (isinstance(rng, list) and len(rng) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in rng)):
            raise err("'range' must be two numbers: [low, high]", "range")
        a, b = float(rng[0]), float(rng[1])
        if not a < b:
            raise err(f"range low ({a:g}) must be less than high ({b:g})", "range")
        conf = number("confidence") if "confidence" in t else DEFAULT_CONFIDENCE
        if not 0 < conf < 1:
            raise err(f"confidence must be between 0 and 1 (0.9 means 90% sure), got {conf:g}", "confidence")
        value = number("value") if "value" in t else (a + b) / 2
        if abs(value - (a + b) / 2) > 1e-9 * max(1.0, abs(value)):
            raise err(f"the range [{a:g}, {b:g}] must be centred on the value ({value:g}): a measurement "
                      "error is symmetric", "range", "drop 'value', or use sd = ...")
        z = _t_quantile((1 + conf) / 2, df) if df else normal.ndtri_scalar((1 + conf) / 2)
        sd = (b - a) / (2 * z)
    _percent_slip(err, unit, lo, hi, {"value": value})
    if not lo <= value <= hi:
        raise err(f"value {value:g} lies outside what {label} can take, {_span(lo, hi)}", "value",
                  "check the figure and its unit")
    return Evidence(kind=dist, value=value, sd=sd, df=df, **common)


def _span(lo: float, hi: float) -> str:
    return f"[{lo:g}, {hi:g}]"


def _percent_slip(err, unit, lo, hi, numbers: dict) -> None:
    """A fraction's evidence written in percent: say what it should read."""
    if not (unit == "fraction" or (lo >= 0 and hi <= 1)):
        return
    if numbers and all(1 < v <= 100 for v in numbers.values()):
        fix = ", ".join(f"{k} = {v / 100:.4g}" for k, v in numbers.items())
        raise err("this is a fraction between 0 and 1, not a percentage", next(iter(numbers)),
                  f"did you mean {fix}?")


def _t_quantile(p: float, df: float) -> float:
    """Student's t quantile; SciPy's, kept in riskmc.numeric.cache (importing SciPy for it took
    0.4 s of every run with evidence given as an interval)."""
    from ..numeric import cache
    k = cache.key("t-quantile", p, df)
    hit = cache.load_json("implied", k)
    if hit is not None:
        return hit["q"]
    from scipy.special import stdtrit
    q = float(stdtrit(df, p))
    cache.save_json("implied", k, {"q": q})
    return q


def contradictions(items: list[Evidence], locate) -> None:
    """Hard bounds on one target that cannot all hold: one line naming both pieces.
    `locate(evidence)` gives (file, line)."""
    seen: dict[str, list[Evidence]] = {}
    for e in items:
        if e.kind == "bound" and e.sd is None:
            seen.setdefault(e.label, []).append(e)
    for label, es in seen.items():
        lows = [e for e in es if e.above is not None]
        highs = [e for e in es if e.below is not None]
        for a in lows:
            for b in highs:
                if a is not b and not a.above < b.below:
                    file, line = locate(b)
                    raise PriorsError(f"evidence '{a.name}' and '{b.name}' cannot both hold: {label} >= "
                                      f"{a.above:g} and {label} <= {b.below:g}", file=file, line=line,
                                      hint="correct one of them, or give a bound its measurement error (sd)")
