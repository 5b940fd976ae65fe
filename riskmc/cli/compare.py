"""`riskmc compare`: what changed between runs, and which priors changed it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import Json, Quiet, Workers, command_app, print_json, run_inputs, user_errors

app = command_app()


@app.command("compare", short_help="Compare runs: claims, shifted outputs, differing priors")
def compare(
    runs: Annotated[list[Path], typer.Argument(exists=True, file_okay=False, metavar="RUN_DIR...",
                                               help="Two or more run folders; the first is the baseline.")],
    out: Annotated[Path | None, typer.Option(file_okay=False, metavar="DIR", help="Folder for compare.html and "
                                             "compare.json (default: reports/compare-A-B...).")] = None,
    workers: Workers = None,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Compare runs: claims before and after, shifted distributions, the priors that differ.

    Two runs read as before -> after; more (a scenario grid: base, bull, bear) as columns
    beside the first. Runs with the same seed, draws and sampler are paired draw by draw
    (their draws re-created): every shift carries its paired error.
    """
    from ..analyze.compare import compare as do_compare
    from ..analyze.compare import open_runs
    from ..errors import SamplingError
    from ..report import render_compare
    from ..settings import check_workers
    from ..store.commit import Transaction
    from ..store.io import dumps_json, read_summary

    with user_errors(out):
        if len(runs) < 2:
            raise SamplingError("compare needs two or more run folders", hint="riskmc compare RUN_A RUN_B")
        out = out or Path("reports") / ("compare-" + "-".join(r.name for r in runs))
        tx = Transaction(out, kind="compare", inputs=run_inputs(*runs))
        summaries = [read_summary(r) for r in runs]
        opened, notes = open_runs(runs, summaries)
        res = do_compare(summaries, [str(r) for r in runs], opened, workers=check_workers(workers), notes=notes)
        with tx.begin():
            tx.write("compare.json", dumps_json(res))
            tx.write("compare.html", render_compare(res).encode())
            tx.commit()
    if as_json:
        print_json(res)   # compare.json's figures
    elif not quiet:
        from . import show
        show.compare(res, out / "compare.html")
