"""`riskmc sensitivity`: which priors the answer hinges on (Sobol, tornado, rank correlations)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import say, user_errors

app = typer.Typer()


@app.command("sensitivity")
def sensitivity(
    priors: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="Priors file.")],
    output: Annotated[str | None, typer.Option(help="One output (default: the headline outputs).")] = None,
    year: Annotated[int | None, typer.Option(help="Year (default: 2030).")] = None,
    draws: Annotated[int, typer.Option(min=64, help="Base rows; the model runs draws x (factors + 2) times.")] = 2 ** 14,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed (default: the file's [run] seed).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker threads; never changes the numbers.")] = None,
    scenario: Annotated[str | None, typer.Option(help="Apply the file's [scenarios.NAME] overlay.")] = None,
    out: Annotated[Path | None, typer.Option(file_okay=False, help="Run folder to write sensitivity.json into (default: reports/<stem>/); its report is re-rendered.")] = None,
) -> None:
    """Sobol indices with bootstrap intervals, a tornado and rank correlations per output."""
    from ..api import sensitivity as api_sensitivity
    from ..commit import Transaction
    from ..io import dumps_json, read_summary
    from ..report import render

    out = out or Path("reports") / (priors.stem + (f"-{scenario}" if scenario else ""))
    with user_errors(out):
        tx = Transaction(out, replace_run=False)
        summary = read_summary(out) if (out / "summary.json").exists() else None
        res = api_sensitivity(priors, output=output, year=year, draws=draws, seed=seed,
                              workers=workers, scenario=scenario)
        with tx.begin():
            tx.write("sensitivity.json", dumps_json(res))
            if summary is not None:
                tx.write("report.html", render(summary, res).encode())
            tx.commit()
    if res["note"]:
        say(f"riskmc: note: {res['note']}")
    for o in res["outputs"].values():
        at = f", {res['year']}" if res["year"] is not None else ""
        typer.echo(f"{o['label']}{at}: factor, first-order S1 [95% CI], total ST [95% CI]")
        for r in o["sobol"][:8]:
            if r["S1"] is None:
                typer.echo(f"  {r['factor']:<60} (the output does not vary)")
                continue
            typer.echo(f"  {r['factor']:<60} S1 {r['S1']:+.3f} [{r['S1_ci'][0]:+.3f}, {r['S1_ci'][1]:+.3f}]"
                       f"  ST {r['ST']:.3f} [{r['ST_ci'][0]:.3f}, {r['ST_ci'][1]:.3f}]")
    typer.echo(out / "sensitivity.json")
