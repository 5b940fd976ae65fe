"""Compare two runs: shifts in each output with their errors, claims before and after,
and exactly which priors differ (a readable diff of the priors, not of the files).

Runs made with the same seed, draws and sampler use common random numbers: draw i of
both runs comes from the same uniforms, so their difference varies far less than
either run. When both runs saved their draws, the paired error of each mean shift is
computed from them and shown beside the independent-runs error.
"""

from __future__ import annotations

import math

import numpy as np

STATS = ("mean", "p5", "p50", "p95")


def _meta(s: dict, path: str) -> dict:
    return {"path": path, "title": s["title"], "seed": s["seed"], "draws": s["draws"],
            "sampler": s["sampler"], "scenario": s["scenario"], "priors_files": s["priors_files"]}


def priors_diff(a: dict, b: dict) -> list[dict]:
    """Priors added, removed, or whose distribution changed, with implied quantiles."""
    rows = []
    for name in sorted(set(a) | set(b), key=lambda n: (list(a) + list(b)).index(n)):
        pa, pb = a.get(name), b.get(name)
        if pa is None or pb is None:
            rows.append({"prior": name, "change": "added" if pa is None else "removed",
                         "a": pa and pa["distribution"]["text"], "b": pb and pb["distribution"]["text"]})
            continue
        if pa["distribution"] != pb["distribution"]:
            rows.append({"prior": name, "change": "changed",
                         "a": pa["distribution"]["text"], "b": pb["distribution"]["text"],
                         "a_implied": pa["implied"], "b_implied": pb["implied"],
                         "a_stated": pa["stated"], "b_stated": pb["stated"],
                         "source_changed": pa["source"] != pb["source"]})
    return rows


def compare(a: dict, b: dict, path_a: str, path_b: str, draws_a=None, draws_b=None) -> dict:
    """Everything compare.json holds; `draws_*` (polars frames) add paired errors."""
    crn = a["seed"] == b["seed"] and a["draws"] == b["draws"] and a["sampler"] == b["sampler"]
    paired = crn and draws_a is not None and draws_b is not None
    outputs = {}
    for name, oa in a["outputs"].items():
        ob = b["outputs"].get(name)
        if ob is None:
            continue
        years = {}
        for y, sa in oa["years"].items():
            sb = ob["years"][y]
            row = {}
            for k in STATS:
                shift = sb[k]["value"] - sa[k]["value"]
                row[k] = {"a": sa[k]["value"], "b": sb[k]["value"], "shift": shift,
                          "mcse_independent": math.hypot(sa[k]["mcse"] or 0.0, sb[k]["mcse"] or 0.0)}
            if paired:
                col = f"{name}_y{y}"
                diff = draws_b[col].to_numpy() - draws_a[col].to_numpy()
                row["mean"]["mcse_paired"] = float(np.std(diff, ddof=1) / np.sqrt(len(diff)))
            years[y] = row
        outputs[name] = {"label": oa["label"], "unit": oa["unit"], "headline": oa["headline"],
                         "years": years, "histograms": [oa.get("histogram"), ob.get("histogram")]}
    claims = {}
    for name, ca in a["claims"].items():
        cb = b["claims"].get(name)
        if cb is None:
            continue
        pa, pb = ca["probability"], cb["probability"]
        claims[name] = {"text": ca["text"], "a": pa, "b": pb, "shift": pb["value"] - pa["value"],
                        "mcse_independent": math.hypot(pa["mcse"] or 0.0, pb["mcse"] or 0.0)}
    return {
        "a": _meta(a, path_a), "b": _meta(b, path_b),
        "common_random_numbers": crn, "paired_errors": paired,
        "outputs": outputs, "claims": claims,
        "priors_diff": priors_diff(a["inputs"], b["inputs"]),
    }
