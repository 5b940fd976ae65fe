"""`riskmc export`: a run's numbers for colleagues in spreadsheets, as CSV files or one workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import Quiet, RunDir, command_app, run_inputs, user_errors

app = command_app()


@app.command("export", short_help="A run's numbers as CSV files or one workbook")
def export(
    run_dir: RunDir,
    csv: Annotated[bool, typer.Option("--csv", help="Write summary.csv, claims.csv (evidence.csv for a run with evidence, draws.csv when the run "
                                      "saved its draws).")] = False,
    xlsx: Annotated[bool, typer.Option("--xlsx", help="Write run.xlsx: outputs by year (and their errors), "
                                       "claims, inputs, evidence and saved draws, a sheet each, formatted.")] = False,
    out: Annotated[Path | None, typer.Option(file_okay=False, metavar="DIR", help="Folder for the files "
                                             "(default: RUN_DIR-export, beside the run folder).")] = None,
    quiet: Quiet = False,
) -> None:
    """Export a run's summary per output and year, its claims, and its draws when saved.

    A run weighed by importance sampling exports each draw's posterior weight beside it
    (the run's own Pareto-smoothed weights, scaled to a mean of 1).
    """
    from .. import interrupt
    from ..errors import OutputError, SamplingError
    from ..store.commit import Transaction
    from ..store.io import defused, export_tables, os_words, read_draws, read_summary

    with user_errors(out):
        if not (csv or xlsx):
            raise SamplingError("say which: --csv, --xlsx, or both")
        out = out or run_dir.parent / f"{run_dir.name}-export"
        tx = Transaction(out, kind="export", inputs=run_inputs(run_dir))
        summary = read_summary(run_dir)
        draws = read_draws(run_dir, summary) if (run_dir / "draws.parquet").exists() else None
        weights = None
        if draws is not None and summary.get("evidence", {}).get("method") == "importance":
            # The draws are the prior's: their posterior weights go beside them.
            from ..runs import Run
            weights = Run.open(run_dir).posterior_weights(workers=1)
        tables = export_tables(summary, draws, weights)
        with tx.begin():
            try:
                if csv:
                    for name, frame in tables.items():
                        interrupt.check()
                        defused(frame).write_csv(tx.path(f"{name}.csv"))
                if xlsx:
                    from ..report.workbook import write_workbook
                    interrupt.check()
                    write_workbook(tx.path("run.xlsx"), summary, draws, weights, check=interrupt.check)
            except OSError as exc:
                raise OutputError(f"cannot write the export: {os_words(exc)}", file=out,
                                  hint="free some space or choose another folder with --out") from exc
            tx.commit()
    if not quiet:
        for name in tx.written:
            typer.echo(out / name)
