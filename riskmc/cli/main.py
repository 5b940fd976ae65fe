"""The riskmc command: its subcommands, one file each, joined into one typer app."""

from __future__ import annotations

import errno
import importlib
import sys
from collections.abc import MutableMapping

import typer
from typer._click import exceptions as click  # typer vendors click: its exceptions are raised here
from typer.core import TyperGroup
from typer.main import get_command

from .. import __version__
from .common import EXIT_TABLE, say

# The commands, in the order help lists them: each the `app` of the module of that name.
COMMANDS = ("run", "report", "sensitivity", "voi", "compare", "verify", "export", "ask", "seek", "priors", "ledger")


class Commands(MutableMapping):
    """The commands by name, each module imported and its command built when first asked
    for: building all ten took ~25 ms of every command's start, for the one it runs.
    Commands given ready-made (registered on the root app, or added later) are kept as is."""

    def __init__(self, names, ready=None):
        self.built = dict(ready or {})
        self.names = [*names, *(n for n in self.built if n not in names)]

    def __getitem__(self, name):
        if name not in self.built:
            if name not in self.names:
                raise KeyError(name)
            command = get_command(importlib.import_module(f"{__package__}.{name}").app)
            command.name = name
            _plain_usage(command)
            self.built[name] = command
        return self.built[name]

    def __setitem__(self, name, command):
        if name not in self.names:
            self.names.append(name)
        self.built[name] = command

    def __delitem__(self, name):
        if name not in self.names:
            raise KeyError(name)
        self.names.remove(name)
        self.built.pop(name, None)

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return len(self.names)


def _plain_usage(command) -> None:
    """Usage lines as Unix tools write them, `riskmc ask [OPTIONS] RUN_DIR [EVENT]`: typer
    marks a required argument {RUN_DIR}, which reads like a set to choose from."""
    if not hasattr(command, "collect_usage_pieces"):
        return
    pieces = command.collect_usage_pieces

    def plain(ctx):
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces(ctx)]
    command.collect_usage_pieces = plain
    for sub in getattr(command, "commands", {}).values():
        _plain_usage(sub)


class OneLineGroup(TyperGroup):
    """Usage mistakes end like every other error: one line and exit 2, not a panel. The
    commands are built as they are needed (Commands)."""

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self.commands = Commands(COMMANDS, self.commands)

    def list_commands(self, ctx) -> list[str]:
        return list(self.commands)

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
        except BrokenPipeError:
            # The reader went away (| head -1): end quietly, as Unix tools do on SIGPIPE.
            _quiet_stdout()
            code = 128 + 13
        except SystemExit as exc:
            # typer's own answer to a closed pipe is exit 1, indistinguishable from a bug.
            if exc.code == 1 and isinstance(exc.__context__, OSError) and exc.__context__.errno == errno.EPIPE:
                _quiet_stdout()
                code = 128 + 13
            else:
                raise
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


def _quiet_stdout() -> None:
    """Point stdout at /dev/null: nothing more can reach the closed pipe, and nothing at
    exit complains that it could not."""
    import os
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    except OSError:
        pass


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
