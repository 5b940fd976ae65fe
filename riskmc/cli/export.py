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
    xlsx: Annotated[bool, typer.Option("--xlsx", help="Write run.xlsx: a sheet each for the summary, the claims "
                                       "and the draws.")] = False,
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
                    interrupt.check()
                    _workbook(tables, tx.path("run.xlsx"))
            except OSError as exc:
                raise OutputError(f"cannot write the export: {os_words(exc)}", file=out,
                                  hint="free some space or choose another folder with --out") from exc
            tx.commit()
    if not quiet:
        for name in tx.written:
            typer.echo(out / name)


def _workbook(tables: dict, path: Path) -> None:
    """One workbook, a sheet per table (polars writes it through xlsxwriter). Text is
    stored as text, never as a formula or a link (OWASP's advice on CSV injection: a
    claim's thesis could read =HYPERLINK(...))."""
    import xlsxwriter
    with xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False}) as wb:
        for name, frame in tables.items():
            frame.write_excel(wb, worksheet=name, autofit=True)
