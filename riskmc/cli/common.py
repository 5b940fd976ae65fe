"""What every command shares: turning library errors into one line and an exit code."""

from __future__ import annotations

import contextlib
import sys

import typer

from .. import interrupt
from ..errors import EXIT_CODES, RiskmcError

EXIT_TABLE = "\n\n".join(f"{code}: {text}" for code, text in EXIT_CODES.items())


def say(message: str) -> None:
    """One line on stderr, the only way commands talk besides their results."""
    typer.echo(message, err=True)


@contextlib.contextmanager
def user_errors(out=None):
    """Turn a library error into `riskmc: error: ...` on stderr and its exit code.

    A recorded Ctrl-C or SIGTERM (riskmc.interrupt) stops the command at a safe point:
    one line saying nothing of this command was written, and exit 130 or 143.
    """
    where = f" to {out}" if out is not None else ""
    try:
        yield
    except RiskmcError as exc:
        say(f"riskmc: error: {exc}")
        raise typer.Exit(code=exc.exit_code) from None
    except interrupt.Interrupted as exc:
        say(f"riskmc: {exc.words}: nothing of this run was written{where}")
        raise typer.Exit(code=exc.exit_code) from None
    except KeyboardInterrupt:  # in-process callers (tests) that did not install the handlers
        say(f"riskmc: interrupted (Ctrl-C): nothing of this run was written{where}")
        raise typer.Exit(code=130) from None


def finish(code) -> int:
    """The process's exit code: a signal recorded after the work was done still says so."""
    code = 0 if code is None else code if isinstance(code, int) else 1
    jit = sys.modules.get("riskmc._jit")
    for note in jit.NOTES if jit else ():
        say(f"riskmc: note: {note}")
    signum = interrupt.received()
    if signum is not None and code == 0:
        say(f"riskmc: {interrupt.NAMES[signum]} as the command ended: its files are complete")
        return 128 + signum
    return code


def is_terminal() -> bool:
    return sys.stderr.isatty()
