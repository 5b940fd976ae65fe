"""A family as summary.json records it, and back: how a report redraws a prior it did not fit."""

from __future__ import annotations

import math

from .families import Family, make
from .pool import make_pool


def to_dict(fam: Family) -> dict:
    """A family as summary.json records it: enough to rebuild it exactly (`from_dict`)."""
    d = {"family": fam.name, "text": fam.describe(),
         "params": {k: v for k, v in fam.values.items() if math.isfinite(v)}}
    if fam.name == "metalog":
        d["extra"] = {"probs": list(fam.probs), "qs": list(fam.qs)}
    if fam.name == "discrete":
        d["extra"] = {"points": list(fam.points), "weights": list(fam.weights)}
    if fam.name == "pool":
        d["extra"] = {"kind": fam.kind, "weights": list(fam.weights), "parts": [to_dict(p) for p in fam.parts]}
    return d


def from_dict(d: dict) -> Family:
    """The family `to_dict` recorded."""
    extra = d.get("extra", {})
    if d["family"] == "pool":
        return make_pool([from_dict(p) for p in extra["parts"]], extra["weights"], extra["kind"])
    return make(d["family"], d["params"], **{k: tuple(v) for k, v in extra.items()})
