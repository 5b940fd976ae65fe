"""`riskmc verify`: is this folder one whole run, exactly as riskmc committed it?"""

from __future__ import annotations

import typer

from .common import Quiet, RunDir, command_app, user_errors

app = command_app()


@app.command("verify")
def verify(
    run_dir: RunDir,
    quiet: Quiet = False,
) -> None:
    """Check a run folder against its manifest.json (every file's SHA-256); exit 4 if it differs."""
    from ..store.folders import verify as check
    from ..store.io import read_summary

    with user_errors():
        doc = check(run_dir)
        summary = read_summary(run_dir) if "summary.json" in doc["files"] else None
    what = (f"seed {summary['seed']}, {summary['draws']:,} draws" if summary else "no run summary")
    if not quiet:
        typer.echo(f"{run_dir}: complete: {len(doc['files'])} files match manifest.json ({what})")
