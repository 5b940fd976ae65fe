"""Build one prior from its table: the distribution it states (or its experts' pool), fitted and
checked against the model input it feeds (its unit, its support, values it can compute with)."""

from __future__ import annotations

import datetime as dt
import difflib
import math
from dataclasses import replace

import numpy as np

from ..errors import PriorsError
from .compose import (
    PARAM_KEYS,
    QUANTILE_KEY,
    SPEC_KEYS,
    _check_name,
    _did_you_mean,
    _Entry,
    _is_spec_key,
    _Where,
)
from .families import FAMILIES, Family, make
from .fit import Fit, fit, fit_unstated
from .numbers import _check_percent, _check_unit, _number, _plain
from .priorset import Expert, Prior, implied3

META_KEYS = ("description", "unit", "source", "owner", "reviewed")
REQUIRED_META = ("description", "unit", "source")
POOL_KEYS = ("experts", "pool")
EXPERT_KEYS = ("weight", "source", "reviewed", "description")
DEFAULT_CONFIDENCE = 0.9
# A prior may reach past the model's support only by this much probability (a normal for a
# revenue with a tiny sd, say); the sampler clips the rare draw back inside.
OUTSIDE_MASS = 1e-9
# No prior may reach further than this from zero, even one draw in 2^53: a model must be
# able to add, multiply and square such values without overflowing to infinity.
HUGE = 1e100


# --------------------------------------------------------------------------- one prior
def _build_prior(spec, e: _Entry, notes: list[str] | None = None) -> Prior:
    """One prior, checked against `spec`, the riskmc.Input it feeds (name, unit, support).

    A prior states one distribution, or several experts' (`[priors.NAME.experts.WHO]`),
    pooled; `notes` collects what the user should hear about but need not fix."""
    w = _Where(e.doc)
    t = e.table
    name = spec.name
    where = f"prior '{name}'"

    def err(message, key=None, hint=None):
        return w.error(f"{where}: {message}", *e.path, *((key,) if key else ()), hint=hint)

    pooled = "experts" in t or "pool" in t
    allowed = set(META_KEYS) | (set(POOL_KEYS) if pooled else set(SPEC_KEYS) | set(PARAM_KEYS))
    for key in t:
        if pooled and (_is_spec_key(key) or key == "family"):
            raise err(f"give the distribution in each expert's table, not here ('{key}')", key,
                      hint=f"move it under [priors.{name}.experts.NAME], or remove [priors.{name}.experts]")
        if key not in allowed and not QUANTILE_KEY.match(key):
            raise err(f"unknown key '{key}'", key,
                      hint=_did_you_mean(key, sorted(allowed) + ([] if pooled else ["p05", "p50", "p95"])))
    for key in REQUIRED_META:
        if key == "source" and pooled and key not in t:
            continue  # each expert cites their own
        if key not in t:
            hint = ("cite where the figure comes from, or write source = \"assumption\""
                    if key == "source" else f"add {key} = \"...\"")
            raise err(f"missing '{key}'", hint=hint)
        if not isinstance(t[key], str) or not t[key].strip():
            raise err(f"'{key}' must be non-empty text", key)
    if "owner" in t and not isinstance(t["owner"], str):
        raise err("'owner' must be text in quotes", "owner")
    reviewed = _reviewed(t, err)
    if pooled:
        experts, kind, fam = _build_experts(spec, e, t, err, notes if notes is not None else [])
        _check_unit(spec, t, err)
        source = t.get("source") or "; ".join(f"{x.name}: {x.source}" for x in experts)
        return Prior(name=name, family=fam, description=t["description"], unit=t["unit"], source=source,
                     owner=t.get("owner"), reviewed=reviewed, stated={}, fit_error=None,
                     file=str(e.doc.path), line=e.doc.lines.line(*e.path), experts=experts, pool=kind)
    fam, stated, fit_result = _state(spec, t, err)
    _check_unit(spec, t, err)
    _check_reach(fam, spec, err)
    if fit_result is not None and fit_result.note and notes is not None:
        notes.append(f"{e.doc.path}:{e.doc.lines.line(*e.path)}: prior '{name}': {fit_result.note}")
    return Prior(name=name, family=fam, description=t["description"], unit=t["unit"],
                 source=t["source"], owner=t.get("owner"), reviewed=reviewed, stated=stated,
                 fit_error=fit_result.error if fit_result else None,
                 file=str(e.doc.path), line=e.doc.lines.line(*e.path))


def _reviewed(t: dict, err) -> str | None:
    reviewed = t.get("reviewed")
    if isinstance(reviewed, dt.datetime) or (reviewed is not None and not isinstance(reviewed, (dt.date, str))):
        raise err("'reviewed' must be a date such as 2025-12-02", "reviewed")
    return str(reviewed) if reviewed is not None else None


def _build_experts(spec, e: _Entry, t: dict, err, notes: list[str]):
    """The experts of a pooled prior, each stated as a prior can be, and their pool."""
    from .families.pool import POOLS, make_pool
    name = spec.name
    w = _Where(e.doc)
    kind = t.get("pool", "linear")
    if kind not in POOLS:
        raise err(f"pool must be \"linear\" (a mixture of the experts: the default) or \"log\" (a "
                  f"compromise between them), got {kind!r}", "pool")
    table = t.get("experts")
    if not isinstance(table, dict) or not table:
        raise err("'experts' needs at least one expert's table", "experts" if "experts" in t else "pool",
                  hint=f"add [priors.{name}.experts.NAME] with the expert's range and source")
    experts = []
    for xname, xt in table.items():
        path = (*e.path, "experts", xname)
        _check_name(w, "expert", xname, path)

        def xerr(message, key=None, hint=None, xname=xname, path=path):
            return w.error(f"prior '{name}', expert '{xname}': {message}", *path, *((key,) if key else ()),
                           hint=hint)

        if not isinstance(xt, dict):
            raise xerr(f"must be a table: [priors.{name}.experts.{xname}]")
        allowed = set(EXPERT_KEYS) | set(SPEC_KEYS) | set(PARAM_KEYS)
        for key in xt:
            if key not in allowed and not QUANTILE_KEY.match(key):
                raise xerr(f"unknown key '{key}'", key, hint=_did_you_mean(key, sorted(allowed)))
        if not any(_is_spec_key(k) or k == "family" for k in xt):
            others = [x for x in table if x != xname]
            close = difflib.get_close_matches(xname, others, n=1, cutoff=0.6)
            if close:
                raise xerr(f"is not one of this prior's experts ({', '.join(others)}): did you mean '{close[0]}'?",
                           hint="a new expert needs a range or quantiles, and a source")
            raise xerr("states no distribution", hint="give range = [low, high] (90% sure) or quantiles")
        if not isinstance(xt.get("source"), str) or not xt["source"].strip():
            raise xerr("missing 'source'" if "source" not in xt else "'source' must be non-empty text",
                       "source" if "source" in xt else None,
                       hint="cite where this view comes from, or write source = \"assumption\"")
        if "description" in xt and not isinstance(xt["description"], str):
            raise xerr("'description' must be text in quotes", "description")
        weight = 1.0
        if xt.get("weight") == "record":
            pass  # weighed below, from the ledger, once every expert is read
        elif "weight" in xt:
            if isinstance(xt["weight"], bool) or not isinstance(xt["weight"], (int, float)):
                raise xerr(f"weight must be a number, got {xt['weight']!r}", "weight",
                           hint="e.g. weight = 2 counts this expert twice as much as one with weight = 1; "
                                "weight = \"record\" weighs them by their track record")
            weight = _number(xerr, "weight", xt["weight"])
            if not weight > 0:
                raise xerr(f"weight must be positive, got {weight:g}", "weight",
                           hint="to leave this expert out, delete or comment out their table")
        fam, stated, fit_result = _state(spec, {"unit": t.get("unit"), **xt}, xerr)
        if fit_result is not None and fit_result.note:
            notes.append(f"{e.doc.path}:{e.doc.lines.line(*path)}: prior '{name}', expert '{xname}': "
                         f"{fit_result.note}")
        if fam.discrete or fam.name == "fixed":
            raise xerr(f"states {fam.describe()}; experts are pooled as continuous distributions",
                       hint="state a range or quantiles")
        _check_reach(fam, spec, xerr)
        experts.append(Expert(name=xname, family=fam, weight=weight, source=xt["source"],
                              reviewed=_reviewed(xt, xerr), description=xt.get("description"),
                              stated=stated, fit_error=fit_result.error if fit_result else None,
                              line=e.doc.lines.line(*path)))
    given = [x for x, xt in table.items() if "weight" in xt]
    if given and len(given) != len(table):
        lacking = next(x for x in table if x not in given)
        raise w.error(f"prior '{name}': expert '{lacking}' has no weight, though "
                      f"{', '.join(repr(g) for g in given)} {'has' if len(given) == 1 else 'have'} one",
                      *e.path, "experts", lacking, hint="give every expert a weight, or none (equal weights)")
    if any(xt.get("weight") == "record" for xt in table.values()):
        experts = _by_record(e, t, name, experts)
    total = sum(x.weight for x in experts)
    where = f"{e.doc.path}:{e.doc.lines.line(*e.path, 'experts') or e.doc.lines.line(*e.path)}"
    if len(experts) == 1:
        notes.append(f"{where}: prior '{name}' has one expert, so there is nothing to pool: "
                     f"add another as [priors.{name}.experts.NAME]")
    elif given and not experts[0].record and abs(total - 1.0) > 1e-9 and len({x.weight for x in experts}) > 1:
        shares = ", ".join(f"{x.name} {x.weight / total:.3g}" for x in experts)
        notes.append(f"{where}: prior '{name}': the experts' weights sum to {total:g}, so they count in "
                     f"proportion: {shares}")
    try:
        pool = make_pool([x.family for x in experts], [x.weight for x in experts], kind)
    except PriorsError as exc:
        raise err(exc.message, "pool" if "pool" in t else "experts") from None
    if kind == "log":
        ends = {x.name: implied3(x.family)[[0, 2]] for x in experts}
        apart = [(a, b) for i, a in enumerate(ends) for b in list(ends)[i + 1:]
                 if ends[a][1] < ends[b][0] or ends[b][1] < ends[a][0]]
        if apart:
            a, b = apart[0]
            notes.append(f"{where}: prior '{name}': experts {a} and {b} share no value in their 90% intervals; a log "
                         "pool finds a compromise that neither of them believes: pool = \"linear\" keeps both views")
    experts = tuple(replace(x, weight=x.weight / total) for x in experts)
    return experts, kind, pool


def _by_record(e: _Entry, t: dict, name: str, experts: list[Expert]) -> list[Expert]:
    """Experts weighted by their record in the ledger beside the file that states them
    (Cooke's classical model, riskmc.store.cooke): every expert of the pool must have
    resolved views there, and every one must be weighted so."""
    from ..errors import LedgerUsageError, RiskmcError
    from ..store import cooke
    from ..store.ledger import Ledger
    w = _Where(e.doc)
    table = t["experts"]
    numbered = [x for x, xt in table.items() if xt.get("weight") != "record"]
    if numbered:
        raise w.error(f"prior '{name}': expert '{numbered[0]}' has a number for a weight while others are "
                      "weighted by their record", *e.path, "experts", numbered[0], "weight", hint="give every expert weight = \"record\", or numbers")
    path = e.doc.path.parent / "ledger.sqlite"
    first = (*e.path, "experts", experts[0].name, "weight")
    try:
        with Ledger(path, create=False, write=False) as led:
            got = cooke.records(cooke.resolved_views(led))
    except LedgerUsageError:
        raise w.error(f"prior '{name}': weight = \"record\" reads the experts' track record from {path}, and "
                      "there is no ledger there yet", *first,
                      hint="record runs that state these experts' views and resolve what they spoke to "
                           "(riskmc ledger record, riskmc ledger resolve NAME --value V), or give numbers") from None
    except RiskmcError as exc:
        raise w.error(f"prior '{name}': weight = \"record\" cannot read {path}: {exc.message}", *first,
                      hint=exc.hint) from None
    lacking = [x.name for x in experts if x.name not in got]
    if lacking:
        raise w.error(f"prior '{name}', expert '{lacking[0]}': weight = \"record\", but {path} holds no "
                      "resolved view of theirs", *e.path, "experts", lacking[0], "weight",
                      hint="resolve a quantity they stated a view on (riskmc ledger resolve NAME --value V), "
                           "or give every expert a number")
    return [replace(x, weight=got[x.name].weight, record=got[x.name], ledger=str(path)) for x in experts]


def _state(spec, t: dict, err):
    """The distribution a table states (parameters, quantiles, a range or a value), fitted."""
    t = _plain(spec, t, err)
    quantiles = {}
    for key, value in t.items():
        m = QUANTILE_KEY.match(key)
        if m:
            level = int(m.group(1))
            if not 1 <= level <= 99:
                raise err(f"quantile key '{key}' must be between p01 and p99", key)
            quantiles[level / 100] = _number(err, key, value)
    family = t.get("family")
    if family is not None and (not isinstance(family, str) or family not in FAMILIES):
        raise err(f"unknown family '{family}'", "family", hint=_did_you_mean(str(family), FAMILIES))
    _check_percent(spec, t, quantiles, err)
    # With quantiles or a range, lower and upper bound the fitted family (beta, truncnormal,
    # metalog): they are not a second way of stating the distribution.
    fitted = bool(quantiles) or "range" in t
    params = [k for k in PARAM_KEYS if k in t and not (fitted and k in ("lower", "upper"))]
    ways = [n for n, given in (("parameters", (bool(params) or family == "discrete") and family is not None),
                               ("quantiles", bool(quantiles)), ("range", "range" in t),
                               ("value", "value" in t)) if given]
    if not ways:
        if params and family is None:
            raise err(f"parameters {', '.join(params)} given without a family", hint="add family = \"...\"")
        raise err("no distribution given",
                  hint="give range = [low, high] (90% sure), quantiles such as p05/p95, "
                       "family with its parameters, or value")
    if len(ways) > 1:
        raise err(f"give the distribution one way only, not {' and '.join(ways)}")
    bounds = {k: _number(err, k, t[k]) for k in ("lower", "upper") if k in t}

    stated: dict[float, float] = {}
    fit_result: Fit | None = None
    try:
        if ways == ["value"]:
            fam = make("fixed", {"value": _number(err, "value", t["value"])})
        elif ways == ["parameters"] and family == "discrete":
            vals, probs = t.get("values"), t.get("probs")
            if not (isinstance(vals, list) and isinstance(probs, list)):
                raise err("family discrete needs values = [...] and probs = [...]", "family")
            fam = make("discrete", {}, points=tuple(_number(err, "values", v) for v in vals),
                       weights=tuple(_number(err, "probs", v) for v in probs))
        elif ways == ["parameters"]:
            cls = FAMILIES[family]
            missing = [p for p in cls.params if p not in t]
            if missing:
                raise err(f"family {family} needs {', '.join(missing)}", missing[0])
            extra = [p for p in params if p not in cls.params and p not in cls.optional]
            if extra:
                raise err(f"family {family} has no parameter '{extra[0]}'", extra[0],
                          hint=f"its parameters are {', '.join((*cls.params, *cls.optional))}")
            values = {p: _number(err, p, t[p]) for p in cls.params}
            values.update(bounds)
            fam = make(family, values)
        else:
            if ways == ["range"]:
                rng = t["range"]
                if (not isinstance(rng, list) or len(rng) != 2):
                    raise err("'range' must be two numbers: [low, high]", "range")
                lo, hi = (_number(err, "range", v) for v in rng)
                if not lo < hi:
                    raise err(f"range low ({lo:g}) must be less than high ({hi:g})", "range",
                              hint=f"did you mean range = [{hi:g}, {lo:g}]?" if lo > hi else None)
                conf = _number(err, "confidence", t.get("confidence", DEFAULT_CONFIDENCE))
                if not 0 < conf < 1:
                    raise err(f"confidence must be between 0 and 1 (0.9 means 90% sure), got {conf:g}",
                              "confidence")
                tail = round((1 - conf) / 2, 12)  # 0.05, not 0.04999...
                quantiles = {tail: lo, 1 - tail: hi}
            elif "confidence" in t:
                raise err("'confidence' goes with 'range'", "confidence")
            probs = sorted(quantiles)
            qs = [quantiles[p] for p in probs]
            key = "range" if "range" in t else f"p{round(probs[0] * 100):02d}"
            try:
                fit_result = fit(probs, qs, family, bounds) if family is not None else \
                    fit_unstated(probs, qs, bounds)
            except PriorsError as exc:
                raise err(exc.message, "family" if "family" in t else key, hint=exc.hint) from exc
            fam = fit_result.family
            stated = dict(zip(probs, qs))
    except PriorsError as exc:
        if exc.file is not None:
            raise
        raise err(exc.message, hint=exc.hint) from exc

    return fam, stated, fit_result


def _check_reach(fam: Family, spec, err) -> None:
    """A family the model can compute with, inside what the model accepts for its input."""
    name = spec.name
    lo, hi = fam.support()
    if math.isfinite(lo) and math.isfinite(hi):
        ends = np.array([lo, hi])
    else:
        with np.errstate(all="ignore"):
            ends = np.asarray(fam.ppf(np.array([2.0 ** -53, 1 - 2.0 ** -53])), dtype=float)
    if not np.all(np.isfinite(ends)) or np.max(np.abs(ends)) > HUGE:
        raise err(f"{fam.describe()} reaches values too large to compute with "
                  f"(beyond {HUGE:.0e} in its far tails)",
                  hint=f"state {name} in a smaller unit, or narrow its range")
    if _mass_outside(fam, spec.lower, spec.upper) > OUTSIDE_MASS:
        span = f"[{spec.lower:g}, {spec.upper:g}]"
        lo, hi = fam.support()
        raise err(f"{fam.describe()} puts {100 * _mass_outside(fam, spec.lower, spec.upper):.2g}% "
                  f"of its draws outside what the model accepts for {name}, {span} ({spec.unit})",
                  hint="choose a family bounded to that range (beta with lower/upper, truncnormal)")


def _mass_outside(fam: Family, lower: float, upper: float) -> float:
    lo, hi = fam.support()
    if lo >= lower and hi <= upper:
        return 0.0
    if fam.name in ("beta", "pert"):  # SciPy's incomplete beta: kept in riskmc.numeric.cache
        from ..numeric import cache
        k = cache.key("outside", fam.name, sorted(fam.values.items()), lower, upper)
        hit = cache.load_json("implied", k)
        if hit is not None and isinstance(hit.get("mass"), float):
            return hit["mass"]
    below = float(fam.cdf(np.array(lower))) if lo < lower else 0.0
    above = 1.0 - float(fam.cdf(np.array(upper))) if hi > upper else 0.0
    if fam.name in ("beta", "pert"):
        cache.save_json("implied", k, {"mass": below + above})
    return below + above
