"""Compare runs: claims before and after, shifts in each output with their errors, and
exactly which priors differ (a readable diff of the priors, not of the files).

The first run is the baseline; every other run is compared with it, so two runs read as
"before -> after" and a scenario grid (base, bull, bear) as columns. Runs made with the
same seed, draws and sampler use common random numbers: draw i of each comes from the same
uniforms, so their difference varies far less than either run. Their draws are re-created
(or read from draws.parquet) and every shift, quantiles and claims included, gets its
paired error (riskmc.analyze.paired); other runs get the independent runs' error, and
compare.json and the page say which each shift carries.
"""

from __future__ import annotations

from pathlib import Path

from ..results import Estimate, Stats

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


def _at(o: dict, y) -> Stats:
    """An output's statistics in year y (None: a model without years), read from summary.json."""
    return Stats.from_json(o["stats"] if y is None else o["years"][y])


def open_runs(paths: list, summaries: list[dict]) -> tuple[list, list[str]]:
    """Each run opened for pairing with the first (riskmc.runs.Run), or None, and why not:
    a run of another seed, draws or sampler, a tempered posterior, or one whose priors or
    model files changed since it ran keeps the independent error (a damaged run folder
    is refused, as everywhere)."""
    from ..errors import ModelError, PriorsError, StaleError
    from ..runs import Run
    from ..store.io import read_draws
    from .paired import common_random_numbers, pairable
    base = summaries[0]
    want = [j == 0 or (common_random_numbers(base, s) and pairable(s) and pairable(base))
            for j, s in enumerate(summaries)]
    if not any(want[1:]):
        want = [False] * len(paths)
    runs, notes = [], []
    for p, s, w in zip(paths, summaries, want):
        if not w:
            if (Path(p) / "draws.parquet").exists():
                read_draws(p, s)  # not read for pairing, but checked as every file a verb finds
            runs.append(None)
            continue
        try:
            runs.append(Run.open(p))
        except (PriorsError, ModelError, StaleError) as exc:  # sources changed or gone; a damaged folder is an error
            if (Path(p) / "draws.parquet").exists():
                read_draws(p, s)
            runs.append(None)
            why = exc.message if "cannot be re-created" in exc.message else (
                f"its draws cannot be re-created ({exc.message})")
            notes.append(f"{p}: {why}, so its shifts carry the independent runs' error")
    if runs[0] is None:
        runs = [None] * len(paths)
    return runs, notes


def compare(summaries: list[dict], paths: list[str], runs: list | None = None, *, workers: int = 1,
            notes: list[str] | None = None) -> dict:
    """Everything compare.json holds. `runs` (riskmc.runs.Run or None, one per run; see
    open_runs) pair the draws of runs with common random numbers with the first's."""
    from .paired import Quantity, common_random_numbers, paired_errors
    base = summaries[0]
    runs = runs or [None] * len(summaries)
    names = labels(summaries, paths)
    crn = [s["seed"] == base["seed"] and s["draws"] == base["draws"] and s["sampler"] == base["sampler"]
           for s in summaries]
    paired = [j > 0 and runs[0] is not None and runs[j] is not None and common_random_numbers(base, summaries[j])
              for j in range(len(summaries))]
    years = [str(y) for y in base["years"]] if base["years"] else [None]

    # The figures both runs report, and their paired errors.
    errors: list[dict] = [{}]
    for j in range(1, len(summaries)):
        if not paired[j]:
            errors.append({})
            continue
        a, b, sb = runs[0], runs[j], summaries[j]
        qs = []
        for name in base["outputs"]:
            if name not in sb["outputs"]:
                continue
            for y in years:
                try:
                    sa_, sb_ = _at(base["outputs"][name], y), _at(sb["outputs"][name], y)
                except KeyError:
                    continue
                ya = None if y is None else int(y)
                for k in STATS:
                    qs.append(Quantity((name, y, k), (a.row(name, ya), b.row(name, ya)),
                                       (sa_[k].value, sb_[k].value), k))
        order_a, order_b = list(a.priors.claims), list(b.priors.claims)
        for name in base["claims"]:
            if name in sb["claims"] and name in order_a and name in order_b:
                qs.append(Quantity(("claim", name), (order_a.index(name), order_b.index(name)),
                                   (base["claims"][name]["probability"]["value"],
                                    sb["claims"][name]["probability"]["value"]), "claim"))
        errors.append(paired_errors(a, b, qs, a.claim_events(), b.claim_events(), workers))

    def shift(j: int, key: tuple, d: Estimate) -> dict:
        """Run j's shift from the first, with the independent runs' error and, where the
        draws pair, the paired one (which it then carries)."""
        sh = {"value": d.value, "mcse": d.mcse, "mcse_independent": d.mcse, "paired": False}
        if key in errors[j]:
            sh.update(mcse=errors[j][key], mcse_paired=errors[j][key], paired=True)
        return sh

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
                row[k] = {"values": [st[k].value for st in stats], "shifts": [None] + [
                    shift(j, (name, y, k), stats[j][k].minus(stats[0][k]))
                    for j in range(1, len(summaries))]}
            per_year["all" if y is None else y] = row
        outputs[name] = {"label": o0["label"], "unit": o0["unit"], "headline": o0["headline"],
                         "years": per_year,
                         "histograms": [s["outputs"][name].get("histogram") for s in summaries]}

    claims = {}
    for name, c0 in base["claims"].items():
        ps = [s["claims"].get(name, {}).get("probability") for s in summaries]
        p0 = Estimate.from_json(ps[0])
        shifts = [None] + [None if p is None else shift(j + 1, ("claim", name), Estimate.from_json(p).minus(p0))
                           for j, p in enumerate(ps[1:])]
        claims[name] = {"text": c0["text"], "event": c0["event"], "probabilities": ps, "shifts": shifts}

    return {
        "runs": [_meta(s, p, n) for s, p, n in zip(summaries, paths, names)],
        "common_random_numbers": all(crn), "paired_errors": all(paired[1:]),
        "errors": ["baseline"] + ["paired" if paired[j] else "independent" for j in range(1, len(summaries))],
        "notes": list(notes or []),
        "claims": claims, "outputs": outputs,
        "priors_diff": [[]] + [priors_diff(base["inputs"], s["inputs"]) for s in summaries[1:]],
        "evidence_diff": [[]] + [evidence_diff(base, s) for s in summaries[1:]],
    }
