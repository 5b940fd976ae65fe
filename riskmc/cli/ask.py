"""`riskmc ask`: questions of a finished run, answered from its draws, re-created from its seed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import Json, Quiet, RunDir, Workers, command_app, print_json, run_inputs, text, user_errors

app = command_app()


@app.command("ask", short_help="Ask a run: an event's chance, --given, --stress")
def ask(
    run_dir: RunDir,
    event: Annotated[text | None, typer.Argument(metavar="EVENT", parser=text, help='An event, e.g. '
                                                 '"aws_revenue[2026] > 160 and nvidia_share[2030] < 0.5": its '
                                                 "probability.")] = None,
    given: Annotated[str | None, typer.Option(metavar="EVENT", help="Condition on this event: the conditional "
                                              "probability, and what else holds under it.")] = None,
    stress: Annotated[str | None, typer.Option(metavar="STRESS", help='"P(EVENT) = q" or "mean(output[year]) = x": '
                                               "the least reweighting of the draws that makes it hold, and the "
                                               "beliefs it moves.")] = None,
    out: Annotated[Path | None, typer.Option(file_okay=False, metavar="DIR", help="Also write ask.json and "
                                             "ask.html into this folder.")] = None,
    as_json: Json = False,
    workers: Workers = None,
    quiet: Quiet = False,
) -> None:
    """Ask a run: an event's probability, what holds given a condition, or a reverse stress.

    The run's draws are re-created from its seed (its priors files and model must be
    unchanged: their SHA-256 are checked), or read from draws.parquet when saved.
    Events: comparisons of output[year] or an input with numbers, joined by and, or,
    not; output[y1:y2] rises (or falls).
    """
    from ..ask.query import ask as do_ask
    from ..store.io import dumps_json

    with user_errors(out):
        tx = None
        if out is not None:
            from ..store.commit import Transaction
            tx = Transaction(out, kind="ask", inputs=run_inputs(run_dir))
        res = do_ask(run_dir, event, given=given, stress=stress, workers=workers)
        if tx is not None:
            from ..report import render_ask
            with tx.begin():
                tx.write("ask.json", dumps_json(res))
                tx.write("ask.html", render_ask(res).encode())
                tx.commit()
    if as_json:
        print_json(res)
    elif not quiet:
        from . import show
        show.ask(res, out / "ask.html" if out is not None else None)
