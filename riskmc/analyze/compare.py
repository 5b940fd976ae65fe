"""Compare runs: claims before and after, shifts in each output with their errors, and
exactly which priors differ (a readable diff of the priors, not of the files).

The first run is the baseline; every other run is compared with it, so two runs read as
"before -> after" and a scenario grid (base, bull, bear) as columns. Runs made with the
same seed, draws and sampler use common random numbers: draw i of each comes from the same
uniforms, so their difference varies far less than either run. When runs saved their
draws, the paired error of each mean shift is computed from them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

STATS = ("mean", "p5", "p50", "p95")


# Longer titles do not fit a column: the priors file's name is used instead.
LABEL_WIDTH = 24


def labels(summaries: list[dict], paths: list[str]) -> list[str]:
    """A short name per run: its title; where titles repeat or are too long for a column,
    the priors file's name and scenario; failing both, the run folder's name."""
    titles = [s["title"] for s in summaries]
    names = [Path(s["priors_files"][0]["path"]).stem + (f" · {s['scenario']}" if s["scenario"] else "")
             for s in summaries]
    unique = [t for t in (titles, names) if len(set(t)) == len(t)]
    short = [t for t in unique if all(len(x) <= LABEL_WIDTH for x in t)]
    if short or unique:
        return (short or unique)[0]
    return [Path(p).name for p in paths]


def evidence_diff(a: dict, b: dict) -> list[dict]:
    """Pieces of evidence one run weighed and the other did not, or weighed differently."""
    ea, eb = a.get("evidence", {}).get("items", {}), b.get("evidence", {}).get("items", {})
    rows = []
    for name in list(ea) + [n for n in eb if n not in ea]:
        x, y = ea.get(name), eb.get(name)
        if x is None or y is None or x["text"] != y["text"]:
            rows.append({"evidence": name, "change": "added" if x is None else "removed" if y is None else "changed",
                         "a": x and x["text"], "b": y and y["text"]})
    return rows


def _meta(s: dict, path: str, label: str) -> dict:
    return {"label": label, "path": path, "title": s["title"], "seed": s["seed"], "draws": s["draws"],
            "sampler": s["sampler"], "scenario": s["scenario"], "model": s["model"]["name"],
            "priors_files": s["priors_files"]}


def priors_diff(a: dict, b: dict) -> list[dict]:
    """Priors added, removed, or whose distribution changed, with implied quantiles."""
    rows = []
    for name in sorted(set(a) | set(b), key=lambda n: (list(a) + list(b)).index(n)):
        pa, pb = a.get(name), b.get(name)
        if pa is None or pb is None:
            # Runs of different models, or of files that add a prior: one side has none.
            rows.append({"prior": name, "change": "added" if pa is None else "removed",
                         "a": pa and pa["distribution"]["text"], "b": pb and pb["distribution"]["text"],
                         "unit": (pa or pb)["unit"], "a_implied": pa and pa["implied"],
                         "b_implied": pb and pb["implied"], "a_stated": pa and pa["stated"],
                         "b_stated": pb and pb["stated"], "source_changed": False})
            continue
        if pa["distribution"] != pb["distribution"]:
            rows.append({"prior": name, "change": "changed", "unit": pb["unit"],
                         "a": pa["distribution"]["text"], "b": pb["distribution"]["text"],
                         "a_implied": pa["implied"], "b_implied": pb["implied"],
                         "a_stated": pa["stated"], "b_stated": pb["stated"],
                         "source_changed": pa["source"] != pb["source"]})
    return rows


def _at(o: dict, y):
    return o["stats"] if y is None else o["years"][y]


def compare(summaries: list[dict], paths: list[str], draws: list | None = None) -> dict:
    """Everything compare.json holds; `draws` (polars frames or None, one per run) add
    paired errors for runs with common random numbers."""
    base = summaries[0]
    draws = draws or [None] * len(summaries)
    names = labels(summaries, paths)
    crn = [s["seed"] == base["seed"] and s["draws"] == base["draws"] and s["sampler"] == base["sampler"]
           for s in summaries]
    paired = [c and draws[0] is not None and d is not None for c, d in zip(crn, draws)]
    years = [str(y) for y in base["years"]] if base["years"] else [None]

    outputs = {}
    for name, o0 in base["outputs"].items():
        if not all(name in s["outputs"] for s in summaries[1:]):
            continue
        per_year = {}
        for y in years:
            try:
                stats = [_at(s["outputs"][name], y) for s in summaries]
            except KeyError:
                continue
            row = {}
            for k in STATS:
                vals = [st[k]["value"] for st in stats]
                shifts = [None]
                for j in range(1, len(summaries)):
                    sh = {"value": vals[j] - vals[0],
                          "mcse_independent": math.hypot(stats[0][k]["mcse"], stats[j][k]["mcse"])}
                    if k == "mean" and paired[j]:
                        col = name if y is None else f"{name}_y{y}"
                        diff = draws[j][col].to_numpy() - draws[0][col].to_numpy()
                        sh["mcse_paired"] = float(np.std(diff, ddof=1) / np.sqrt(len(diff)))
                    shifts.append(sh)
                row[k] = {"values": vals, "shifts": shifts}
            per_year["all" if y is None else y] = row
        outputs[name] = {"label": o0["label"], "unit": o0["unit"], "headline": o0["headline"],
                         "years": per_year,
                         "histograms": [s["outputs"][name].get("histogram") for s in summaries]}

    claims = {}
    for name, c0 in base["claims"].items():
        ps = [s["claims"].get(name, {}).get("probability") for s in summaries]
        shifts = [None] + [None if p is None else {"value": p["value"] - ps[0]["value"],
                                                   "mcse": math.hypot(ps[0]["mcse"], p["mcse"])}
                           for p in ps[1:]]
        claims[name] = {"text": c0["text"], "event": c0["event"], "probabilities": ps, "shifts": shifts}

    return {
        "runs": [_meta(s, p, n) for s, p, n in zip(summaries, paths, names)],
        "common_random_numbers": all(crn), "paired_errors": all(paired[1:]),
        "claims": claims, "outputs": outputs,
        "priors_diff": [[]] + [priors_diff(base["inputs"], s["inputs"]) for s in summaries[1:]],
        "evidence_diff": [[]] + [evidence_diff(base, s) for s in summaries[1:]],
    }
