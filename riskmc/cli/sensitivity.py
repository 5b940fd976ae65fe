"""`riskmc sensitivity`: which priors the answer hinges on (Sobol, tornado, rank correlations)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import (
    Json,
    PriorsFile,
    Quiet,
    Scenario,
    Seed,
    Workers,
    command_app,
    default_out,
    print_json,
    user_errors,
)

app = command_app()


@app.command("sensitivity", short_help="Sobol indices, Shapley effects, a tornado")
def sensitivity(
    priors: PriorsFile,
    output: Annotated[str | None, typer.Option(metavar="NAME", help="One output (default: the headline "
                                               "outputs).")] = None,
    year: Annotated[int | None, typer.Option(metavar="YEAR", help="Year (default: the model's last).")] = None,
    draws: Annotated[int | None, typer.Option(metavar="N", help="Draws of the run the indices read (default "
                                              "16,384; Shapley effects read the first 8,192); with --saltelli, "
                                              "base rows (default 16,384) and the model runs N x (factors + 2) "
                                              "times.")] = None,
    saltelli: Annotated[bool, typer.Option("--saltelli", help="Also total indices, from the Saltelli design "
                                           "(slower: the model runs N x (factors + 2) times).")] = False,
    seed: Seed = None,
    workers: Workers = None,
    scenario: Scenario = None,
    out: Annotated[Path | None, typer.Option(file_okay=False, metavar="DIR", help="Run folder to write "
                                             "sensitivity.json into (default: reports/PRIORS_NAME); its report "
                                             "is re-rendered.")] = None,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """What drives each output: first-order Sobol indices and Shapley effects (correlated
    inputs share fairly), each with bootstrap intervals, from one run's draws; a tornado and
    rank correlations. --saltelli adds total indices from the Saltelli design."""
    from ..analyze.sensitivity import sensitivity as api_sensitivity
    from ..errors import SamplingError
    from ..loading import load
    from ..report import render
    from ..store.commit import Transaction
    from ..store.io import dumps_json, read_summary

    with user_errors(out):
        if draws is not None and draws < 64:
            raise SamplingError(f"--draws must be at least 64 for Sobol indices, got {draws}")
        out = out or default_out(priors, scenario)
        ps = load(priors, scenario=scenario)
        tx = Transaction(out, replace_run=False, inputs=ps.sources)
        summary = read_summary(out) if (out / "summary.json").exists() else None
        res = api_sensitivity(ps, output=output, year=year, draws=draws, seed=seed, workers=workers,
                              saltelli=saltelli)
        if summary is not None:
            _same_priors(summary, res, out)
        with tx.begin():
            tx.write("sensitivity.json", dumps_json(res))
            if summary is not None:
                from ..store.io import read_voi
                voi = read_voi(out) if (out / "voi.json").exists() else None
                tx.write("report.html", render(summary, res, voi).encode())
            tx.commit()
    if as_json:
        print_json(res)   # sensitivity.json's figures
    elif not quiet:
        from . import show
        show.sensitivity(res, out / "sensitivity.json")


def _same_priors(summary: dict, res: dict, out: Path) -> None:
    """A run folder's report joins its run and this analysis: refuse when they come from
    different priors (another file, a changed one, or another scenario)."""
    from ..errors import SamplingError, StaleError
    ran = [(f["path"], f["sha256"]) for f in summary["priors_files"]]
    now = [(f["path"], f["sha256"]) for f in res["priors_files"]]
    if [p for p, _ in ran] == [p for p, _ in now] and ran != now and summary.get("scenario") == res.get("scenario"):
        changed = next(p for (p, a), (_, b) in zip(ran, now) if a != b)
        raise StaleError(f"the run in {out} is stale: {changed} changed since it ran, and its report would mix "
                         "two sets of priors; nothing was written", hint="run the priors into that folder again")
    if [h for _, h in ran] != [h for _, h in now] or summary.get("scenario") != res.get("scenario"):
        what = "another scenario of them" if [h for _, h in ran] == [h for _, h in now] else (
            f"{ran[0][0]} as it was then" if ran[0][0] == now[0][0] else ran[0][0])
        raise SamplingError(f"{out} holds a run of {what}: its report would mix two sets of priors; nothing "
                            "was written", hint="run these priors into that folder first, or give another --out")
