"""Each prior's picture: its density over its central range, the stated quantiles marked,
drawn from what summary.json records (the report never reads the priors file again)."""

from __future__ import annotations

import json
import sys

import numpy as np

from . import fmt, svg


def prior_picture(name: str, entry: dict) -> str:
    """The prior's density over its central range, the stated quantiles marked."""
    from ..priors.families import rebuild
    d = entry["distribution"]
    fam = rebuild(d)
    if not fam.varies:
        return ""
    stated = list(entry["stated"].values())
    unit = entry["unit"]
    if fam.discrete:
        xs = np.array(fam.atoms())
        return svg.density(xs, fam.pdf(xs), [], True, fmt.tick(unit), fmt.label(name))
    lo, hi = fam.support()
    p05, p95 = entry["implied"]["p05"], entry["implied"]["p95"]
    span = (p95 - p05) or abs(p05) or 1.0
    a, b = max(lo, p05 - 0.75 * span), min(hi, p95 + 0.75 * span)
    xs = np.linspace(a, b, 160)
    with np.errstate(all="ignore"):
        ys = np.nan_to_num(fam.pdf(xs), nan=0.0, posinf=0.0)
        # Pooled experts: each one's density, drawn at its weight in the pool.
        parts = [np.nan_to_num(w * p.pdf(xs), nan=0.0, posinf=0.0) for w, p in zip(fam.weights, fam.parts)
                 ] if d["family"] == "pool" and d["extra"]["kind"] == "linear" else []
        # Experts weighted by their record: the equal-weight pool beside it, for comparison.
        equal = None
        if d["family"] == "pool" and any("record" in x for x in entry.get("experts", ())):
            from ..priors.families.pool import make_pool
            even = make_pool(fam.parts, [1.0] * len(fam.parts), d["extra"]["kind"])
            equal = np.nan_to_num(even.pdf(xs), nan=0.0, posinf=0.0)
    return svg.density(xs, ys, stated, False, fmt.tick(unit), fmt.label(name), parts, equal)


def _prior_pictures(entries: dict) -> list[str]:
    """Each prior's picture. They depend on the priors alone, not on the run, so they are
    kept in riskmc's cache, keyed by what they are drawn from and the code that draws
    them: drawing 33 took half the time of writing a run's files."""
    from ..numeric import cache, normal
    from ..priors.families import RECORDED, base, pool
    drawn = [(n, p["distribution"], p.get("stated"), p.get("unit"), p.get("implied"),
              any("record" in x for x in p.get("experts", ()))) for n, p in entries.items()]
    family_modules = sorted({sys.modules[c.__module__] for c in RECORDED.values()}, key=lambda m: m.__name__)
    code = cache.sources(sys.modules[__name__], svg, fmt, base, pool, normal, *family_modules)
    # As JSON: a fit fresh from SciPy and one read back from the cache hold the same
    # numbers in different types (numpy floats, tuples), whose repr differs.
    k = cache.key("prior-svg", code, json.dumps(drawn, default=repr))
    kept = cache.load_json("prior-svg", k)
    pictures = kept.get("svg") if isinstance(kept, dict) else None
    if isinstance(pictures, list) and len(pictures) == len(entries) and all(isinstance(x, str) for x in pictures):
        return pictures
    # Missing, or damaged by something other than riskmc: drawn again.
    out = [prior_picture(n, p) for n, p in entries.items()]
    cache.save_json("prior-svg", k, {"svg": out})
    return out


def prior_rows(entries: dict) -> list[dict]:
    pictures = _prior_pictures(entries)
    return [{"name": n, "p": p, "svg": pic,
             "disagreement": fmt.disagreement(p["disagreement"]) if len(p.get("experts", ())) > 1 else ""}
            for (n, p), pic in zip(entries.items(), pictures)]
