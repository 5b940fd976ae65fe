"""`riskmc priors check|show|fit`: validate priors and show what riskmc understood."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import AllowUnused, PriorsFile, Quiet, Scenario, command_app, say, user_errors

app = command_app(help="Check, show and fit priors.", no_args_is_help=True)


@app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True, metavar="PRIORS...",
                                                help="Priors files to validate.")],
    allow_unused: AllowUnused = False,
    quiet: Quiet = False,
) -> None:
    """Validate priors files (and each of their scenarios); exit 0 when all are valid.

    Every file is checked, and each bad one gets its line: the exit code is that of the
    first.
    """
    from ..errors import RiskmcError
    from ..loading import load
    codes = []
    for f in files:
        try:
            with user_errors():
                ps = load(f, allow_unused=allow_unused)
                for name in ps.scenarios:
                    load(f, scenario=name, allow_unused=allow_unused)
        except typer.Exit as exc:
            codes.append(exc.exit_code)
            continue
        except RiskmcError:  # pragma: no cover - user_errors turns these into Exit
            raise
        for w in ps.warnings:
            say(f"riskmc: warning: {w}")
        if not quiet:
            ev = f", {len(ps.evidence)} pieces of evidence" if ps.evidence else ""
            n = len(ps.decisions)
            ev += f", {n} decision{'s' if n != 1 else ''}" if n else ""
            typer.echo(f"{f}: ok ({len(ps.priors)} priors for model {ps.model.name}, {len(ps.claims)} claims{ev}, "
                       f"{len(ps.scenarios)} scenarios)")
    if codes:
        raise typer.Exit(code=codes[0])


@app.command("show")
def show(
    file: PriorsFile,
    scenario: Scenario = None,
    html: Annotated[Path | None, typer.Option(dir_okay=False, metavar="FILE",
                                              help="Also write a page with a density picture per prior.")] = None,
    quiet: Quiet = False,
) -> None:
    """Show each prior: family, parameters, stated vs implied quantiles, fit error, source;
    then each piece of evidence and its likelihood."""
    from ..loading import load
    from ..report import fmt
    with user_errors():
        ps = load(file, scenario=scenario)
        if html is not None:
            from ..errors import OutputError
            from ..report import render_priors
            from ..store.commit import write_file
            from ..store.folders import check_file_output
            if not (html.parent if str(html.parent) else Path(".")).is_dir():
                raise OutputError("cannot write the page: its folder does not exist", file=html)
            check_file_output(html, ps.sources, option="--html")
            write_file(html, render_priors(ps).encode())
    if quiet:
        return
    for name, p in ps.priors.items():
        implied = p.implied((0.05, 0.5, 0.95))

        def num(v, unit=p.unit):
            return fmt.exact(v, unit)

        typer.echo(f"{name}  [{p.unit}]")
        typer.echo(f"  {p.family.describe()}")
        if p.stated:
            stated = ", ".join(f"p{round(100 * k):02d}={num(v)}" for k, v in sorted(p.stated.items()))
            typer.echo(f"  stated:  {stated}   fit error {fmt.fit_error(p.fit_error or 0)} of range")
        for x in p.experts:
            q = x.family.quantiles((0.05, 0.5, 0.95))
            typer.echo(f"    expert {x.name} ({100 * x.weight:.0f}%): {x.family.describe()}")
            if x.record is not None:
                r = x.record
                typer.echo(f"      weighted by record: {r.items} resolved view{'s' if r.items != 1 else ''}, "
                           f"calibration {r.calibration:.3g}, information {r.information:.3g} "
                           f"(equal weights: {100 / len(p.experts):.0f}%)")
            typer.echo(f"      p05={num(q[0])}, p50={num(q[1])}, p95={num(q[2])}; source: {x.source}")
        if len(p.experts) > 1:
            typer.echo(f"  disagreement: {fmt.disagreement(p.disagreement())}")
        typer.echo(f"  implied: p05={num(implied[0])}, p50={num(implied[1])}, p95={num(implied[2])}")
        if not p.experts:
            typer.echo(f"  source:  {p.source}")
    for a, b, v in ps.dependence.pairs:
        typer.echo(f"correlation {a} ~ {b}: {v:+.2f} (Spearman)")
    for name, e in ps.evidence.items():
        typer.echo(f"evidence {name}: {e.describe()}")
        typer.echo(f"  source:  {e.source}{f' ({e.date})' if e.date else ''}")


@app.command("fit")
def fit_cmd(
    p05: Annotated[float | None, typer.Option(metavar="X", help="The value you are 95% sure it is above.")] = None,
    p50: Annotated[float | None, typer.Option(metavar="X", help="The median.")] = None,
    p95: Annotated[float | None, typer.Option(metavar="X", help="The value you are 95% sure it is below.")] = None,
    family: Annotated[str | None, typer.Option(metavar="NAME", help="A family (default: beta in [0, 1], lognormal "
                                               "if positive, else normal).")] = None,
    lower: Annotated[float | None, typer.Option(metavar="X", help="Lower bound (beta, truncnormal, metalog).")] = None,
    upper: Annotated[float | None, typer.Option(metavar="X", help="Upper bound (beta, truncnormal, metalog).")] = None,
    quiet: Quiet = False,
) -> None:
    """Fit a family to quantiles; print parameters, implied quantiles and a TOML snippet.

    The snippet, pasted into a [priors.NAME] table, gives exactly this prior; when the
    family cannot reproduce the quantiles the error says which one does, and that
    suggestion, followed, is accepted.
    """
    from ..errors import PriorsError, UsageError
    from ..priors.fit import fit, fit_unstated
    from ..report import fmt

    given = {p: v for p, v in ((0.05, p05), (0.5, p50), (0.95, p95)) if v is not None}
    bounds = {k: v for k, v in (("lower", lower), ("upper", upper)) if v is not None}
    with user_errors():
        try:
            # As a priors file without a family fits them: the default, else the first that can.
            f = (fit(list(given), list(given.values()), family, bounds) if family is not None else
                 fit_unstated(list(given), list(given.values()), bounds))
        except PriorsError as exc:  # the values came from the command line: a usage error
            raise UsageError(exc.message, hint=exc.hint) from None
    if quiet:
        return
    if f.note:
        say(f"riskmc: note: {f.note}")
        # The family riskmc chose may be bounded (a metalog in [0, 1]): the snippet says so.
        bounds = {**{k: f.family.values[k] for k in ("lower", "upper") if k in f.family.values}, **bounds}
    fam = f.family
    typer.echo(fam.describe())
    typer.echo("implied: " + ", ".join(f"p{round(100 * p):02d}={q:.6g}" for p, q in zip(f.probs, f.implied))
               + f"   (fit error {fmt.fit_error(f.error)} of range)")
    typer.echo("\n# paste into a [priors.NAME] table:")
    for line in snippet(f, given, bounds):
        typer.echo(line)


def snippet(f, given: dict, bounds: dict) -> list[str]:
    """TOML that gives this prior: the quantiles as stated with the family (and bounds), so
    riskmc fits the same thing again; parameters where the family has them."""
    return f.family.toml_lines(given, bounds)
