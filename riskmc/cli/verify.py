"""`riskmc verify`: is this folder one whole run, exactly as riskmc committed it?"""

from __future__ import annotations

import typer

from .common import Json, Quiet, RunDir, command_app, print_json, user_errors

app = command_app()


@app.command("verify", short_help="Check a run folder is whole and its inputs unchanged")
def verify(
    run_dir: RunDir,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Check a run folder against its manifest.json (every file's SHA-256; exit 4 if it
    differs), then the run against its inputs: a priors file, its model file or riskmc
    changed since the run makes it stale (exit 7)."""
    from ..errors import StaleError
    from ..runs import staleness
    from ..store.folders import verify as check
    from ..store.io import read_summary

    with user_errors():
        doc = check(run_dir)
        summary = read_summary(run_dir) if "summary.json" in doc["files"] else None
        changed = staleness(summary) if summary else None
        if changed:
            raise StaleError(f"stale: {changed}", file=run_dir, hint="run it again")
    what = (f"seed {summary['seed']}, {summary['draws']:,} draws" if summary else "no run summary")
    if as_json:   # only when it is whole and current: otherwise the exit code and one line say why
        print_json({"run": str(run_dir), "complete": True, "stale": False, "files": sorted(doc["files"]),
                    "seed": summary["seed"] if summary else None, "draws": summary["draws"] if summary else None})
    elif not quiet:
        typer.echo(f"{run_dir}: complete: {len(doc['files'])} files match manifest.json ({what})")
