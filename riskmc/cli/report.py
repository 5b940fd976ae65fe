"""`riskmc report`: re-render a run's report from its saved files, without sampling."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import user_errors

app = typer.Typer()


@app.command("report")
def report(
    run_dir: Annotated[Path, typer.Argument(exists=True, file_okay=False,
                                            help="A run folder holding summary.json.")],
) -> None:
    """Re-render report.html from a run folder's summary.json, without sampling again."""
    from ..io import read_summary, write_bytes
    from ..report import render

    with user_errors():
        summary = read_summary(run_dir / "summary.json")
        sens = run_dir / "sensitivity.json"
        sens = read_summary(sens) if sens.exists() else None
        write_bytes(run_dir / "report.html", render(summary, sens).encode())
    typer.echo(run_dir / "report.html")
