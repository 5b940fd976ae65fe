"""`riskmc priors check|show|fit`: validate priors and show what riskmc understood."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import say, user_errors

app = typer.Typer(help="Check, show and fit priors.", no_args_is_help=True)

PathArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


@app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True,
                                                help="Priors files to validate.")],
    allow_unused: Annotated[bool, typer.Option(help="Warn instead of failing on priors the model does not use.")] = False,
) -> None:
    """Validate priors files; exit 0 when all are valid."""
    from ..api import load
    with user_errors():
        for f in files:
            ps = load(f, allow_unused=allow_unused)
            for name in ps.scenarios:
                load(f, scenario=name, allow_unused=allow_unused)
            for w in ps.warnings:
                say(f"riskmc: warning: {w}")
            typer.echo(f"{f}: ok ({len(ps.priors)} priors, {len(ps.claims)} claims, "
                       f"{len(ps.scenarios)} scenarios)")


@app.command("show")
def show(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="Priors file.")],
    scenario: Annotated[str | None, typer.Option(help="Apply the file's [scenarios.NAME] overlay.")] = None,
    html: Annotated[Path | None, typer.Option(dir_okay=False, help="Also write a page with a density picture per prior.")] = None,
) -> None:
    """Show each prior: family, parameters, stated vs implied quantiles, fit error, source."""
    from ..api import load
    with user_errors():
        ps = load(file, scenario=scenario)
        if html is not None:
            from ..commit import write_file
            from ..errors import OutputError
            from ..report import render_priors
            if not (html.parent if str(html.parent) else Path(".")).is_dir():
                raise OutputError("cannot write the page: its folder does not exist", file=html)
            write_file(html, render_priors(ps).encode())
    for name, p in ps.priors.items():
        implied = p.implied([0.05, 0.5, 0.95])
        typer.echo(f"{name}  [{p.unit}]")
        typer.echo(f"  {p.family.describe()}")
        if p.stated:
            stated = ", ".join(f"p{round(100 * k):02d}={v:.4g}" for k, v in sorted(p.stated.items()))
            typer.echo(f"  stated:  {stated}   fit error {100 * (p.fit_error or 0):.2g}% of range")
        typer.echo(f"  implied: p05={implied[0]:.4g}, p50={implied[1]:.4g}, p95={implied[2]:.4g}")
        typer.echo(f"  source:  {p.source}")
    for a, b, v in ps.dependence.pairs:
        typer.echo(f"correlation {a} ~ {b}: {v:+.2f} (Spearman)")


@app.command("fit")
def fit_cmd(
    p05: Annotated[float | None, typer.Option(help="Value you are 95% sure it is above.")] = None,
    p50: Annotated[float | None, typer.Option(help="Median.")] = None,
    p95: Annotated[float | None, typer.Option(help="Value you are 95% sure it is below.")] = None,
    family: Annotated[str | None, typer.Option(help="Family (default: beta in [0,1], lognormal if positive, else normal).")] = None,
) -> None:
    """Fit a family to quantiles; print parameters, implied quantiles and a TOML snippet."""
    from ..priors.fit import fit

    given = {p: v for p, v in ((0.05, p05), (0.5, p50), (0.95, p95)) if v is not None}
    with user_errors():
        f = fit(list(given), list(given.values()), family)
    fam = f.family
    typer.echo(fam.describe())
    typer.echo("implied: " + ", ".join(f"p{round(100 * p):02d}={q:.6g}" for p, q in zip(f.probs, f.implied))
               + f"   (fit error {100 * f.error:.2g}% of range)")
    typer.echo("\n# paste into a [priors.NAME] table:")
    typer.echo(f'family = "{fam.name}"')
    for k, v in fam.values.items():
        if v == v and abs(v) != float("inf"):
            typer.echo(f"{k} = {v:.6g}")
