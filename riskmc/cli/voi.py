"""`riskmc voi`: what is worth learning before deciding, from a run's own draws."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import Json, Quiet, RunDir, Workers, command_app, print_json, run_inputs, user_errors

app = command_app()


@app.command("voi", short_help="Value of information: what is worth learning first")
def voi(
    run_dir: RunDir,
    group: Annotated[list[str] | None, typer.Option(metavar="A,B", help="A group of inputs to value together "
                                                    "(repeatable), beside each input and each correlated "
                                                    "group.")] = None,
    out: Annotated[Path | None, typer.Option(file_okay=False, metavar="DIR", help="Write voi.json and voi.html "
                                             "into this folder instead of voi.json into the run's folder (whose "
                                             "report then gains \"What is worth learning\").")] = None,
    as_json: Json = False,
    workers: Workers = None,
    quiet: Quiet = False,
) -> None:
    """The value of information: for each decision in the run's priors file, EVPI and the
    EVPPI of each input and group of inputs; for each claim, the expected drop in its Brier
    score from learning each. From the run's own (weighted) draws, re-created from its seed:
    no new design of model runs (the run's draws are re-created once).
    """
    from ..analyze.voi import value_of_information
    from ..runs import Run
    from ..settings import default_workers
    from ..store.commit import Transaction
    from ..store.io import dumps_json, jsonable

    with user_errors(out):
        groups = [[x.strip() for x in g.split(",") if x.strip()] for g in group or ()]
        run = Run.open(run_dir)   # a folder that holds no run is said so before anything else
        if out is not None:
            tx = Transaction(out, kind="voi", inputs=run_inputs(run_dir))
        else:
            tx = Transaction(run_dir, replace_run=False)
        res = value_of_information(run, workers or default_workers(), groups)
        with tx.begin():
            if out is not None:
                from ..report import render_voi
                tx.write("voi.json", dumps_json(res))
                tx.write("voi.html", render_voi(res).encode())
            else:
                import json

                from ..report import render
                from ..store.io import read_sensitivity
                sens = read_sensitivity(run_dir) if (run_dir / "sensitivity.json").exists() else None
                # The report is made from the file as written, as `riskmc report` reads it.
                tx.write("voi.json", dumps_json(res))
                tx.write("report.html", render(run.summary, sens, json.loads(dumps_json(res))).encode())
            tx.commit()
    page = out / "voi.html" if out is not None else run_dir / "report.html"
    if as_json:
        print_json(res)
    elif not quiet:
        from . import show
        show.voi(jsonable(res), page)
