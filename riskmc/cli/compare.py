"""`riskmc compare`: what changed between two runs, and which priors changed it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import user_errors

app = typer.Typer()

RunDir = Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A run folder (holds summary.json).")]


@app.command("compare")
def compare(
    run_a: RunDir,
    run_b: RunDir,
    out: Annotated[Path | None, typer.Option(file_okay=False, help="Folder for compare.html and compare.json (default: reports/compare-A-B/).")] = None,
) -> None:
    """Compare two runs: shifted distributions, claims before and after, the priors that differ."""
    from ..analyze.compare import compare as do_compare
    from ..commit import Transaction
    from ..io import dumps_json, read_draws, read_summary
    from ..report import render_compare

    out = out or Path("reports") / f"compare-{run_a.name}-{run_b.name}"
    with user_errors(out):
        tx = Transaction(out)
        a, b = read_summary(run_a), read_summary(run_b)
        da = read_draws(run_a, a) if (run_a / "draws.parquet").exists() else None
        db = read_draws(run_b, b) if (run_b / "draws.parquet").exists() else None
        res = do_compare(a, b, str(run_a), str(run_b), da, db)
        with tx.begin():
            tx.write("compare.json", dumps_json(res))
            tx.write("compare.html", render_compare(res).encode())
            tx.commit()
    typer.echo(out / "compare.html")
