"""The riskmc command: its subcommands, one file each, joined into one typer app."""

from __future__ import annotations

import sys

import typer
from typer._click import exceptions as click  # typer vendors click: its exceptions are raised here
from typer.core import TyperGroup

from .. import __version__
from . import ask, compare, export, ledger, priors, report, run, seek, sensitivity, verify
from .common import EXIT_TABLE, say


class OneLineGroup(TyperGroup):
    """Usage mistakes end like every other error: one line and exit 2, not a panel."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                              standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except click.NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help())
            code = 0
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "riskmc"
            message = exc.format_message()
            say(f"riskmc: error: {message[:1].lower() + message[1:]} (see '{where} --help')")
            code = exc.exit_code
        except click.ClickException as exc:
            say(f"riskmc: error: {exc.format_message()}")
            code = exc.exit_code
        except typer.Abort:
            say("riskmc: interrupted")
            code = 130
        except Exception as exc:  # a bug: one line, and the traceback on request
            import os
            if os.environ.get("RISKMC_DEBUG"):
                raise
            what = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            say(f"riskmc: internal error (a bug): {type(exc).__name__}: {what} (please report it with the "
                "command line; RISKMC_DEBUG=1 shows the traceback)")
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=OneLineGroup,
    name="riskmc",
    help="Monte Carlo risk analysis: turn an essay's point figures into distributions.\n\n"
         f"Exit codes:\n\n{EXIT_TABLE}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(run.app)
app.add_typer(report.app)
app.add_typer(sensitivity.app)
app.add_typer(compare.app)
app.add_typer(verify.app)
app.add_typer(export.app)
app.add_typer(ask.app)
app.add_typer(seek.app)
app.add_typer(priors.app, name="priors")
app.add_typer(ledger.app, name="ledger")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"riskmc {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """Monte Carlo risk analysis: turn an essay's point figures into distributions."""


def run_app() -> None:
    """Run the app; a signal that arrived once the work was done still ends in 130/143."""
    from .common import finish
    try:
        app()
    except SystemExit as exc:
        raise SystemExit(finish(exc.code)) from None
