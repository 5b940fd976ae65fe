"""What every command shares: turning library errors into one line and an exit code."""

from __future__ import annotations

import contextlib
import sys

import typer

from ..errors import EXIT_CODES, RiskmcError

EXIT_TABLE = "\n\n".join(f"{code}: {text}" for code, text in EXIT_CODES.items())


def say(message: str) -> None:
    """One line on stderr, the only way commands talk besides their results."""
    typer.echo(message, err=True)


@contextlib.contextmanager
def user_errors():
    """Turn a library error into `riskmc: error: ...` on stderr and its exit code."""
    try:
        yield
    except RiskmcError as exc:
        say(f"riskmc: error: {exc}")
        raise typer.Exit(code=exc.exit_code) from None
    except KeyboardInterrupt:
        say("riskmc: interrupted; no output was left half-written")
        raise typer.Exit(code=130) from None


def is_terminal() -> bool:
    return sys.stderr.isatty()
