"""The command line: one file per command, joined here. The only place that prints or exits."""

from __future__ import annotations

import typer

from .. import __version__
from . import compare, priors, report, run, sensitivity
from .common import EXIT_TABLE

app = typer.Typer(
    name="riskmc",
    help="Monte Carlo risk analysis: turn an essay's point figures into distributions.\n\n"
         f"Exit codes:\n\n{EXIT_TABLE}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(run.app)
app.add_typer(report.app)
app.add_typer(sensitivity.app)
app.add_typer(compare.app)
app.add_typer(priors.app, name="priors")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"riskmc {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """Monte Carlo risk analysis: turn an essay's point figures into distributions."""


def entry() -> None:
    app()
