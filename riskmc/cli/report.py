"""`riskmc report`: re-render a run's report from its saved files, without sampling."""

from __future__ import annotations

import typer

from .common import Quiet, RunDir, command_app, user_errors

app = command_app()


@app.command("report", short_help="Re-render a run folder's report.html, without sampling")
def report(
    run_dir: RunDir,
    quiet: Quiet = False,
) -> None:
    """Re-render report.html from a run folder's summary.json, without sampling again."""
    from ..report import render
    from ..store.commit import Transaction
    from ..store.io import extras, read_summary

    with user_errors():
        tx = Transaction(run_dir, replace_run=False)
        summary = read_summary(run_dir)
        sens, voi = extras(run_dir)
        with tx.begin():
            tx.write("report.html", render(summary, sens, voi).encode())
            tx.commit()
    if not quiet:
        typer.echo(run_dir / "report.html")
